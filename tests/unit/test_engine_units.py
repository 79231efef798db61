"""Pure pieces of the engine: the summary line, COPY stream framing, the workers' combined summary, the gate."""

import struct

import numpy as np

from harness.backfill import BackfillSummary, CollectionState
from harness.backfill.progress import Progress
from harness.backfill.workers import WorkersSummary
from harness.backfill.writer import Embedding, binary_copy_data

STATE = CollectionState("c", chunks=10, embedded=4, missing=6, stale=0, other_model=0, needed=6)
TYPES, NAMES = ["int8", "vector", "text", "text"], ["k", "v", "h", "m"]


def _batch(n):
    return [Embedding(i, np.full(3, i + 1, dtype=np.float32), "h" * 64, "c", None, False) for i in range(n)]


def test_summary_line_is_the_one_people_look_for():
    summary = BackfillSummary("c", "m", False, STATE, selected=6, embedded=5, failed=1)
    assert summary.line() == "Done. Embedded 5/6 rows. 1 failures."


def test_summary_line_says_how_many_vectors_were_reused():
    summary = BackfillSummary("c", "m", False, STATE, selected=2, embedded=2, reused=8)
    assert summary.line() == "Done. Embedded 2/2 rows. 0 failures. Reused 8 existing vectors."


def test_copy_stream_has_signature_rows_and_trailer():
    data = binary_copy_data(TYPES, NAMES, _batch(2), "m")
    assert data.startswith(b"PGCOPY\n\xff\r\n\x00") and data.endswith(struct.pack(">h", -1))
    row = struct.pack(">h", 4) + struct.pack(">iq", 8, 0) + struct.pack(">ihh", 16, 3, 0) + np.full(3, 1, ">f4").tobytes() \
        + struct.pack(">i", 64) + b"h" * 64 + struct.pack(">i", 1) + b"m"
    assert data[19:19 + len(row)] == row


def test_copy_stream_slices_concatenate_to_the_whole_stream():
    batch = _batch(5)
    whole = binary_copy_data(TYPES, NAMES, batch, "m")
    sliced = binary_copy_data(TYPES, NAMES, batch[:2], "m", trailer=False) + binary_copy_data(TYPES, NAMES, batch[2:], "m", header=False)
    assert sliced == whole


def test_fixed_width_and_row_by_row_encodings_agree():
    batch = [Embedding(i, np.full(3, i, dtype=np.float32), "x" * (i + 1), "c", None, False) for i in range(3)]
    varying = binary_copy_data(TYPES, NAMES, batch, "m")  # hashes of differing lengths: the per-row path
    same = [Embedding(b.key, b.vector, "x", "c", None, False) for b in batch]
    fixed = binary_copy_data(TYPES, NAMES, same, "m")
    assert len(varying) - len(fixed) == (0 + 1 + 2)


def test_workers_summary_adds_up_the_workers():
    summary = WorkersSummary("r1", [{"embedded": 3, "selected": 3, "failed": 0, "ok": True},
                                    {"embedded": 4, "selected": 5, "failed": 1, "ok": False}])
    assert summary.line().startswith("Done. Embedded 7/8 rows. 1 failures.") and not summary.ok


def test_workers_that_all_say_ok_are_not_ok_while_the_closing_count_says_rows_remain():
    ok = {"embedded": 3, "selected": 3, "failed": 0, "ok": True}
    left = WorkersSummary("r1", [ok, ok], after=CollectionState("c", 29, 26, 3, 0, 0, 3))
    assert not left.ok and left.problems == ["3 of 29 rows of c still need a vector after the run"]
    assert not WorkersSummary("r1", [ok, ok]).ok  # no closing count: unmeasured, never ok
    assert WorkersSummary("r1", [ok, ok], after=CollectionState("c", 29, 29, 0, 0, 0, 0)).ok


def test_progress_renders_rate_and_eta():
    progress = Progress(100, enabled=False)
    progress.done = 50
    text = progress.render(progress.started + 10)
    assert "50/100 rows" in text and "5.0 rows/s" in text and "ETA    10s" in text


def test_a_batch_padded_to_the_column_keeps_each_vector_and_adds_zeros_after_it():
    import numpy as np

    from harness.backfill.writer import Vectors

    batch = Vectors(["a", "b"], np.array([[1, 2], [3, 4]], np.float32), ["h", "h"], ["c", "c"], [None, None],
                    [True, True])
    wide = batch.padded(5)
    assert wide.vectors.tolist() == [[1, 2, 0, 0, 0], [3, 4, 0, 0, 0]] and wide.keys == ["a", "b"]
    assert batch.padded(None) is batch and batch.padded(2) is batch
