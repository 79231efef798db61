"""Bulk loads: vector indexes rebuilt after a load into an empty table; the provider kept busy while writing."""

from harness.backfill import BackfillOptions, run_backfill
from harness.embedserver import EmbeddingServer, Pace
from harness.profile import load_profile
from harness.provider import OllamaProvider
from harness.settings import resolve

from ..conftest import TEST_MODEL
from ._engine_servers import FaultyProxy

INDEXES = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'document_embeddings' ORDER BY 1"


def _run(db, profile_path, url, **options):
    profile = load_profile(profile_path, env={"EMBED_MODEL": TEST_MODEL})
    with OllamaProvider(url, TEST_MODEL) as provider:
        return run_backfill(resolve(profile, database_url=db.dsn, provider_url=provider.url),
                            BackfillOptions("global_corpus", progress=False, **options), provider=provider)


def _index_defs(db):
    with db.connect() as conn:
        return conn.execute(INDEXES).fetchall()


def test_a_load_into_an_empty_table_rebuilds_the_vector_index_after_it_exactly(demo_db, demo_profile, embed_server):
    before = _index_defs(demo_db)
    seen_during = []
    profile = load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL})
    with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
        summary = run_backfill(resolve(profile, database_url=demo_db.dsn, provider_url=provider.url),
                               BackfillOptions("global_corpus", progress=False, defer_index_min_rows=100),
                               provider=provider, on_batch=lambda s: seen_during.append(_index_defs(demo_db)))
    assert summary.ok and summary.indexes_rebuilt == ["document_embeddings_embedding_idx"]
    assert seen_during and all("document_embeddings_embedding_idx" not in {name for name, _ in defs} for defs in seen_during)
    assert _index_defs(demo_db) == before


def test_a_table_with_rows_keeps_its_index_during_the_load(embedded_db, demo_profile, embed_server):
    embedded_db.execute("DELETE FROM document_embeddings WHERE collection = 'global_corpus'")
    summary = _run(embedded_db, demo_profile, embed_server.url, defer_index_min_rows=100)
    assert summary.ok and summary.embedded == 256 and summary.indexes_rebuilt == []


def test_a_load_killed_before_the_rebuild_gets_its_index_back_on_the_next_run(demo_db, demo_profile, embed_server):
    before = _index_defs(demo_db)
    demo_db.execute("CREATE SCHEMA backfill_harness")
    demo_db.execute("CREATE TABLE backfill_harness.deferred_indexes (target text, name text, definition text, "
                    "dropped_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (target, name))")
    demo_db.execute("INSERT INTO backfill_harness.deferred_indexes (target, name, definition) "
                    "SELECT 'public.document_embeddings', indexname, indexdef FROM pg_indexes "
                    "WHERE indexname = 'document_embeddings_embedding_idx'")
    demo_db.execute("DROP INDEX document_embeddings_embedding_idx")
    _run(demo_db, demo_profile, embed_server.url, limit=5)
    assert _index_defs(demo_db) == before


def test_the_next_batch_is_being_embedded_while_the_previous_one_is_written(demo_db, demo_profile):
    # A statement trigger makes each write slow, so the embed thread's next request must arrive during it.
    demo_db.execute("CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.1); RETURN NULL; END $$")
    demo_db.execute("CREATE TRIGGER slow AFTER INSERT ON document_embeddings FOR EACH STATEMENT EXECUTE FUNCTION slow()")
    with EmbeddingServer(models=[TEST_MODEL], pace=Pace(per_request_s=0.02)) as server, FaultyProxy(server.url) as proxy:
        arrivals_at_land = []
        profile = load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL})
        with OllamaProvider(proxy.url, TEST_MODEL) as provider:
            summary = run_backfill(resolve(profile, database_url=demo_db.dsn, provider_url=provider.url),
                                   BackfillOptions("tenant_globex", batch_size=5, progress=False),
                                   provider=provider, on_batch=lambda s: arrivals_at_land.append((s.batches, proxy.embed_requests)))
    assert summary.batches == 6
    # When batch N has been written, request N+1 has already reached the server (except after the last batch).
    assert all(requests >= landed + 1 for landed, requests in arrivals_at_land[:-1])
