"""Against a server that serves several requests at once, the engine keeps several in flight; results stay exact."""

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.embedserver import EmbeddingServer, Pace
from harness.settings import resolve

from ..conftest import TEST_MODEL

COLLECTION = "global_corpus"


def _backfill(db, server, profile_path, **options):
    settings = resolve(profile_path, env={"EMBED_MODEL": TEST_MODEL, "DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url})
    return run_backfill(settings, BackfillOptions(COLLECTION, batch_size=10, progress=False, **options))


@pytest.fixture
def parallel_server():
    """A server that serves four requests at once, each taking 30 ms (a GPU server, or OLLAMA_NUM_PARALLEL=4)."""
    with EmbeddingServer(models=[TEST_MODEL], pace=Pace(per_request_s=0.03, parallel=4)) as server:
        yield server


def test_four_requests_are_in_flight_at_once_by_default(demo_db, parallel_server, demo_profile):
    summary = _backfill(demo_db, parallel_server, demo_profile)
    assert summary.ok and summary.embedded == summary.selected > 40
    assert parallel_server.peak_in_flight == 4


def test_one_request_at_a_time_with_concurrency_one(demo_db, parallel_server, demo_profile):
    summary = _backfill(demo_db, parallel_server, demo_profile, concurrency=1)
    assert summary.ok
    assert parallel_server.peak_in_flight == 1


def test_fail_fast_sends_one_request_at_a_time(demo_db, parallel_server, demo_profile):
    summary = _backfill(demo_db, parallel_server, demo_profile, on_failure="fail-fast")
    assert summary.ok
    assert parallel_server.peak_in_flight == 1


def test_concurrent_answers_land_on_their_own_rows(demo_db, parallel_server, embedded_db, demo_profile):
    _backfill(demo_db, parallel_server, demo_profile, concurrency=8)
    query = "SELECT chunk_id, embedding::text, input_hash FROM document_embeddings WHERE collection = %s ORDER BY 1"
    with demo_db.connect() as ours, embedded_db.connect() as reference:
        assert ours.execute(query, (COLLECTION,)).fetchall() == reference.execute(query, (COLLECTION,)).fetchall()


def test_a_row_edited_after_its_batch_landed_leaves_the_run_not_ok(demo_db, embed_server, demo_profile):
    """The engine walks keys once: a chunk edited behind it still needs a vector, and the run must not say ok."""
    edited = []

    def edit_first_row(summary):
        if not edited:
            edited.append(demo_db.scalar("SELECT min(id) FROM document_chunks WHERE collection = %s", (COLLECTION,)))
            demo_db.execute("UPDATE document_chunks SET content = content || ' (edited)' WHERE id = %s", (edited[0],))

    settings = resolve(demo_profile, env={"EMBED_MODEL": TEST_MODEL, "DATABASE_URL": demo_db.dsn,
                                          "OLLAMA_HOST": embed_server.url})
    summary = run_backfill(settings, BackfillOptions(COLLECTION, batch_size=10, progress=False), on_batch=edit_first_row)
    assert summary.after.needed == 1
    assert not summary.ok
    assert f"1 of {summary.after.chunks} rows of {COLLECTION} still need a vector" in (summary.stopped or "")
