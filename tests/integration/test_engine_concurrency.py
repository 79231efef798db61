"""Against a server that serves several requests at once, the engine keeps several in flight; results stay exact.

By default (--concurrency auto) the number in flight follows the server's latency: just above what it serves at once.
"""

import numpy as np
import psycopg
import pytest
from pgvector.psycopg import register_vector

from harness.backfill import BackfillOptions, run_backfill
from harness.embedserver import EmbeddingServer, Pace
from harness.settings import resolve

from ..conftest import TEST_MODEL
from .test_checks_sampling import execute, small_target  # noqa: F401 (fixture)

COLLECTION = "global_corpus"
QUERY = "SELECT chunk_id, embedding::text, input_hash FROM document_embeddings WHERE collection = %s ORDER BY 1"


def _backfill(db, server, profile_path, **options):
    options = {"batch_size": 10, **options}
    settings = resolve(profile_path, env={"EMBED_MODEL": TEST_MODEL, "DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url})
    return run_backfill(settings, BackfillOptions(COLLECTION, progress=False, **options))


def _server(parallel: int, seconds: float = 0.03):
    """A server that serves ``parallel`` requests at once, each taking ``seconds`` (a GPU server, OLLAMA_NUM_PARALLEL)."""
    return EmbeddingServer(models=[TEST_MODEL], pace=Pace(per_request_s=seconds, parallel=parallel))


@pytest.fixture
def parallel_server():
    with _server(4) as server:
        yield server


# For auto, requests slow enough that the server's time, not this process's (which serves them too), is what they wait
# for.
@pytest.fixture
def slow_parallel_server():
    with _server(4, 0.1) as server:
        yield server


@pytest.fixture
def serial_server():
    """One request at a time (Ollama with OLLAMA_NUM_PARALLEL=1, a CPU box): the rest wait in its queue."""
    with _server(1, 0.08) as server:
        yield server


def _exact(summary, db, reference) -> None:
    """Every row embedded once, each with its own vector: as the reference backfill left them."""
    assert summary.ok and summary.failed == 0
    assert summary.embedded == summary.selected == summary.after.chunks
    assert summary.requests == summary.batches
    with db.connect() as ours, reference.connect() as expected:
        assert ours.execute(QUERY, (COLLECTION,)).fetchall() == expected.execute(QUERY, (COLLECTION,)).fetchall()


def test_by_default_more_requests_are_in_flight_than_the_server_serves_at_once(demo_db, slow_parallel_server,
                                                                                embedded_db, demo_profile):
    summary = _backfill(demo_db, slow_parallel_server, demo_profile, batch_size=4)
    assert summary.concurrency == "auto"
    assert slow_parallel_server.peak_in_flight > 4
    assert summary.in_flight_peak <= 16
    _exact(summary, demo_db, embedded_db)
    assert slow_parallel_server.inputs_served == summary.embedded  # no row sent twice


def test_by_default_a_server_serving_one_at_a_time_gets_no_queue(demo_db, serial_server, embedded_db, demo_profile):
    summary = _backfill(demo_db, serial_server, demo_profile, batch_size=16)
    assert serial_server.peak_in_flight <= 3
    _exact(summary, demo_db, embedded_db)
    assert serial_server.inputs_served == summary.embedded


def test_a_fixed_concurrency_keeps_exactly_that_many_in_flight(demo_db, parallel_server, demo_profile):
    summary = _backfill(demo_db, parallel_server, demo_profile, concurrency=4)
    assert summary.ok
    assert parallel_server.peak_in_flight == summary.in_flight_peak == summary.in_flight_limit == 4


def test_one_request_at_a_time_with_concurrency_one(demo_db, parallel_server, demo_profile):
    summary = _backfill(demo_db, parallel_server, demo_profile, concurrency=1)
    assert summary.ok
    assert parallel_server.peak_in_flight == 1


def test_fail_fast_sends_one_request_at_a_time(demo_db, parallel_server, demo_profile):
    summary = _backfill(demo_db, parallel_server, demo_profile, on_failure="fail-fast")
    assert summary.ok
    assert parallel_server.peak_in_flight == 1


def test_concurrent_answers_land_on_their_own_rows(demo_db, parallel_server, embedded_db, demo_profile):
    summary = _backfill(demo_db, parallel_server, demo_profile, concurrency=8)
    _exact(summary, demo_db, embedded_db)


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


def test_a_text_edited_between_its_read_and_its_write_is_not_given_the_old_texts_vector(small_target, embed_server):  # noqa: F811
    """No input hash and no timestamps (a bare store): the engine read the texts of the collection, an application
    rewrote one before its batch was written, and the engine wrote the old text's vector onto it. No count can see
    that, and the run said ok; the vector must be of the text the row holds, or not written."""
    from harness.provider import OllamaProvider

    dsn, profile = small_target
    execute(dsn, "DELETE FROM note_vectors WHERE note_id <= 40")
    edited = []

    def rewrite_a_later_row(summary):
        if not edited:  # the first batch landed; note 35's batch was read with it and is not written yet
            edited.append(35)
            execute(dsn, "UPDATE notes SET body = 'rewritten while the backfill ran' WHERE id = 35")

    settings = resolve(profile, database_url=dsn, env={"OLLAMA_HOST": embed_server.url})
    summary = run_backfill(settings, BackfillOptions("notes", batch_size=10, concurrency=1, progress=False),
                           on_batch=rewrite_a_later_row)
    assert edited == [35]
    with psycopg.connect(dsn) as conn:
        register_vector(conn)
        stored = conn.execute("SELECT embedding FROM note_vectors WHERE note_id = 35").fetchone()
    with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
        now = provider.embed(["rewritten while the backfill ran"]).vectors[0]
    assert stored is None or np.allclose(stored[0], now, atol=1e-6), "the old text's vector was written"
    assert not summary.ok
    assert any(f.key == 35 and "edited while" in f.reason for f in summary.failures), summary.failures
