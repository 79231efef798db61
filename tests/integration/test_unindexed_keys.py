"""A key the run finds rows by that no index leads: every batch reads the whole table, so scope and run say so."""

from harness.backfill import BackfillOptions, run_backfill
from harness.profile import load_profile
from harness.settings import resolve

from ..conftest import TEST_MODEL

FILLER = ("INSERT INTO document_embeddings (chunk_id, collection, embedding, model_name, input_hash) "
          "SELECT k, 'filler', array_fill(0.5::real, ARRAY[384])::vector, %s, '' FROM generate_series(1000000, 1012000) AS k")


def _without_key_index(db):
    db.execute("ALTER TABLE document_embeddings DROP CONSTRAINT document_embeddings_pkey")
    db.execute(FILLER, (TEST_MODEL,))


def test_scope_warns_that_each_batch_reads_the_whole_table_where_no_index_leads_the_embedding_key(cli, demo_db, demo_profile,
                                                                                                 target_env):
    _without_key_index(demo_db)
    result = cli("scope", "--profile", demo_profile, "--collection", "tenant_acme", "--json",
                 env={**target_env, "DATABASE_URL": demo_db.dsn})
    warnings = [a for a in result.json["assumptions"] if "no index" in a]
    assert len(warnings) == 1, result.json["assumptions"]
    assert warnings[0].startswith("WARNING: document_embeddings.chunk_id leads no index")
    assert "CREATE INDEX CONCURRENTLY ON public.document_embeddings (chunk_id)" in warnings[0]


def test_scope_says_nothing_of_indexes_where_the_keys_lead_one(cli, demo_db, demo_profile, target_env):
    demo_db.execute(FILLER, (TEST_MODEL,))
    result = cli("scope", "--profile", demo_profile, "--collection", "tenant_acme", "--json",
                 env={**target_env, "DATABASE_URL": demo_db.dsn})
    assert not [a for a in result.json["assumptions"] if "no index" in a]


def test_a_run_notes_the_key_without_an_index(demo_db, demo_profile, demo_env):
    _without_key_index(demo_db)
    settings = resolve(load_profile(demo_profile, env=demo_env), database_url=demo_db.dsn, env=demo_env)
    summary = run_backfill(settings, BackfillOptions("tenant_acme", progress=False))
    assert summary.ok
    assert any(n.startswith("document_embeddings.chunk_id leads no index") for n in summary.notes), summary.notes
