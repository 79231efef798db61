"""Selection: exactly the missing, stale and other-model rows of one collection; --dry-run writes nothing."""

import pytest

from harness.backfill import BackfillOptions, collection_state, run_backfill
from harness.db import connect
from harness.profile import load_profile
from harness.provider import OllamaProvider
from harness.target import Target
from harness.settings import resolve

from ..conftest import TEST_MODEL
from .plans import hashed_sides, wide

FINGERPRINT = "SELECT md5(string_agg(chunk_id || model_name || input_hash || embedding::text, ',' ORDER BY chunk_id)) FROM document_embeddings"


def _damage(db) -> None:
    """3 missing, 2 stale, 4 from another model, all in tenant_acme."""
    ids = [r[0] for r in db.connect().execute(
        "SELECT id FROM document_chunks WHERE collection = 'tenant_acme' ORDER BY id LIMIT 9").fetchall()]
    db.execute("DELETE FROM document_embeddings WHERE chunk_id = ANY(%s)", (ids[:3],))
    db.execute("UPDATE document_chunks SET content = content || ' (edited)' WHERE id = ANY(%s)", (ids[3:5],))
    db.execute("UPDATE document_embeddings SET model_name = 'old-model' WHERE chunk_id = ANY(%s)", (ids[5:9],))


def test_collection_state_counts_missing_stale_and_other_model_rows(embedded_db, demo_env, demo_profile):
    _damage(embedded_db)
    profile = load_profile(demo_profile, env=demo_env)
    with connect(embedded_db.dsn, autocommit=True) as conn:
        state = collection_state(conn, Target(profile), "tenant_acme", TEST_MODEL)
    assert (state.missing, state.stale, state.other_model, state.needed) == (3, 2, 4, 9)


@pytest.mark.parametrize("measure", ["per_chunk", "dims"])
def test_a_closing_count_joined_by_hashing_carries_no_vector_into_the_join(embedded_db, demo_env, demo_profile, measure):
    """Without statistics (right after the run's load) the planner hashes the embedding rows: each vector's zero flag
    and dimension go into the hash, never the vector (counted per join row or per chunk) (#12: the zero flag, evaluated above the join, carried every
    vector into it: at 200,000 rows 800 MB of batch files and 1.3 s for a count of 0.4 s)."""
    from psycopg import sql

    target = Target(load_profile(demo_profile, env=demo_env))
    with connect(embedded_db.dsn, autocommit=True) as conn:
        conn.execute("SET enable_mergejoin = off")
        conn.execute("SET enable_nestloop = off")
        query = target.state_counts(**{measure: True})  # the zero flag is always counted
        plan = conn.execute(sql.SQL("EXPLAIN (VERBOSE, FORMAT JSON) ") + query,
                            {"collection": "tenant_acme", "model": TEST_MODEL, "dims": 384}).fetchone()["QUERY PLAN"][0]["Plan"]
    carried = hashed_sides(plan)
    assert carried, "with merge and nested-loop joins off the count hashes its join"
    assert not wide(c for c in carried if "embedding" in c), f"the vectors went into the join: {carried}"


def test_dry_run_prints_the_counts_and_writes_nothing(embedded_db, demo_env, demo_profile, cli):
    _damage(embedded_db)
    before = embedded_db.scalar(FINGERPRINT)
    result = cli("backfill", "--profile", demo_profile, "--collection", "tenant_acme", "--dry-run", "--json",
                 "--approve-model-change", env={**demo_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 0, result.err
    counts = result.json["before"]
    assert (counts["missing"], counts["stale"], counts["other_model"], counts["needed"]) == (3, 2, 4, 9)
    assert result.json["summary"].startswith("Dry run: 9 of ")
    assert embedded_db.scalar(FINGERPRINT) == before


def test_backfill_embeds_exactly_the_selected_rows(embedded_db, demo_env, demo_profile, embed_server):
    _damage(embedded_db)
    profile = load_profile(demo_profile, env=demo_env)
    served = embed_server.inputs_served
    with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
        summary = run_backfill(resolve(profile, database_url=embedded_db.dsn, provider_url=provider.url),
                               BackfillOptions("tenant_acme", progress=False, approve_model_change=True),
                               provider=provider)
    assert (summary.selected, summary.embedded, summary.failed) == (9, 9, 0)
    assert embed_server.inputs_served - served == 9
    assert summary.after.needed == 0 and summary.after.embedded == summary.after.chunks
    assert summary.line() == "Done. Embedded 9/9 rows. 0 failures."


def test_progress_lines_go_to_stderr_when_not_on_a_terminal(demo_db, demo_env, demo_profile, cli):
    result = cli("backfill", "--profile", demo_profile, "--collection", "tenant_globex",
                 env={**demo_env, "DATABASE_URL": demo_db.dsn})
    assert result.code == 0 and result.out.strip() == "Done. Embedded 29/29 rows. 0 failures."
    assert "progress: [" in result.err and "29/29 rows" in result.err and "rows/s" in result.err


def test_replacing_another_models_vectors_in_place_is_refused_without_approval(embedded_db, demo_env, demo_profile, cli):
    _damage(embedded_db)
    before = embedded_db.scalar(FINGERPRINT)
    result = cli("backfill", "--profile", demo_profile, "--collection", "tenant_acme",
                 env={**demo_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 2
    assert "holds 4 vectors of" in result.err and "--into NEW" in result.err
    assert embedded_db.scalar(FINGERPRINT) == before


def test_approved_model_change_replaces_the_other_models_vectors_in_place(embedded_db, demo_env, demo_profile, cli):
    _damage(embedded_db)
    result = cli("backfill", "--profile", demo_profile, "--collection", "tenant_acme", "--approve-model-change",
                 env={**demo_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 0, result.err
    assert embedded_db.scalar("SELECT count(*) FROM document_embeddings WHERE model_name = 'old-model'") == 0


@pytest.mark.parametrize("stored, model", [("registry.ollama.ai/library/nomic-embed-text:latest", "nomic-embed-text"),
                                           ("nomic-embed-text", "library/nomic-embed-text:latest"),
                                           ("jina/embed", "registry.ollama.ai/jina/embed")])
def test_vectors_stored_under_the_models_full_name_are_its_own(embedded_db, demo_env, demo_profile, stored, model):
    """Ollama fills in registry.ollama.ai, library and latest: the counts called every such vector another model's."""
    embedded_db.execute("UPDATE document_embeddings SET model_name = %s WHERE collection = 'tenant_acme'", (stored,))
    embedded_db.execute("UPDATE document_embeddings SET model_name = 'other' WHERE chunk_id = (SELECT min(chunk_id) "
                        "FROM document_embeddings WHERE collection = 'tenant_acme')")
    with connect(embedded_db.dsn, autocommit=True) as conn:
        state = collection_state(conn, Target(load_profile(demo_profile, env=demo_env)), "tenant_acme", model)
    assert (state.other_model, state.needed) == (1, 1)
