"""With --target-latency-ms the batch size follows the provider's latency; the rows written stay exact."""

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.embedserver import EmbeddingServer, Pace
from harness.settings import resolve

from ..conftest import TEST_MODEL

COLLECTION = "global_corpus"
QUERY = "SELECT chunk_id, embedding::text, input_hash FROM document_embeddings WHERE collection = %s ORDER BY 1"


@pytest.fixture
def quick_server():
    """A server whose requests take 20 ms whatever their size: far below a 400 ms target, so batches grow."""
    with EmbeddingServer(models=[TEST_MODEL], pace=Pace(per_request_s=0.02)) as server:
        yield server


def _backfill(db, server, profile_path, **options):
    settings = resolve(profile_path, env={"EMBED_MODEL": TEST_MODEL, "DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url})
    return run_backfill(settings, BackfillOptions(COLLECTION, batch_size=2, progress=False, concurrency=1, **options))


def test_a_fixed_batch_size_without_a_target_latency(demo_db, quick_server, demo_profile):
    summary = _backfill(demo_db, quick_server, demo_profile)
    assert summary.ok and summary.embedded > 40
    assert summary.batches == -(-summary.embedded // 2)


def test_batches_grow_toward_the_target_latency_and_land_exactly(demo_db, quick_server, embedded_db, demo_profile):
    summary = _backfill(demo_db, quick_server, demo_profile, target_latency_ms=400)
    assert summary.ok and summary.embedded > 40
    # 2, 2, 4, 8, 16, 16, ...: at most 2 x 8 rows a batch, far fewer batches than rows / 2
    assert summary.batches < summary.embedded // 4
    with demo_db.connect() as ours, embedded_db.connect() as reference:
        assert ours.execute(QUERY, (COLLECTION,)).fetchall() == reference.execute(QUERY, (COLLECTION,)).fetchall()
