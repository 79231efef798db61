"""The state count (before and after a run): its planner setting holds for the count alone."""

from harness.backfill import collection_state
from harness.db import connect
from harness.profile import load_profile
from harness.state import COUNT_WORK_MEM
from harness.target import Target

from ..conftest import TEST_MODEL


def _work_mem_after_count(db, demo_env, demo_profile, callers: str) -> str:
    profile = load_profile(demo_profile, env=demo_env)
    with connect(db.dsn) as conn, conn.transaction():
        conn.execute("SELECT set_config('work_mem', %s, true)", (callers,))
        collection_state(conn, Target(profile), "tenant_acme", TEST_MODEL)
        return conn.execute("SELECT current_setting('work_mem') AS w").fetchone()["w"]


def test_count_puts_a_smaller_work_mem_back_for_the_rest_of_the_callers_transaction(embedded_db, demo_env, demo_profile):
    assert _work_mem_after_count(embedded_db, demo_env, demo_profile, "1MB") == "1MB"


def test_count_keeps_a_larger_work_mem_than_its_own(embedded_db, demo_env, demo_profile):
    assert COUNT_WORK_MEM != "1GB"
    assert _work_mem_after_count(embedded_db, demo_env, demo_profile, "1GB") == "1GB"


def test_count_agrees_with_a_row_by_row_count_of_every_kind_of_row(embedded_db, demo_env, demo_profile):
    """Missing rows, rows without a vector, NULL hash or model, stale, other model, and combinations: each class as a
    plain per-row count of the join says (the count's CASE must not change what it counts)."""
    from psycopg import sql

    embedded_db.execute("ALTER TABLE document_embeddings ALTER embedding DROP NOT NULL, ALTER model_name DROP NOT NULL, "
                        "ALTER input_hash DROP NOT NULL")
    ids = [r[0] for r in embedded_db.connect().execute(
        "SELECT id FROM document_chunks WHERE collection = 'tenant_acme' ORDER BY id LIMIT 12").fetchall()]
    embedded_db.execute("DELETE FROM document_embeddings WHERE chunk_id = ANY(%s)", (ids[0:2],))
    embedded_db.execute("UPDATE document_embeddings SET embedding = NULL WHERE chunk_id = ANY(%s)", (ids[2:4],))
    embedded_db.execute("UPDATE document_embeddings SET embedding = NULL, model_name = 'old', input_hash = 'x' "
                        "WHERE chunk_id = %s", (ids[4],))
    embedded_db.execute("UPDATE document_embeddings SET input_hash = NULL WHERE chunk_id = ANY(%s)", (ids[5:7],))
    embedded_db.execute("UPDATE document_embeddings SET model_name = NULL WHERE chunk_id = %s", (ids[7],))
    embedded_db.execute("UPDATE document_embeddings SET model_name = 'old' WHERE chunk_id = ANY(%s)", (ids[8:10],))
    embedded_db.execute("UPDATE document_chunks SET content = content || ' (edited)' WHERE id = ANY(%s)", (ids[9:11],))
    profile = load_profile(demo_profile, env=demo_env)
    target = Target(profile)
    has = sql.SQL("e.embedding IS NOT NULL")
    stale = sql.SQL("{} AND e.input_hash IS DISTINCT FROM {}").format(has, target.text_hash)
    other = sql.SQL("{} AND e.model_name IS DISTINCT FROM %(model)s").format(has)
    reference = sql.SQL(
        "SELECT count(*) AS chunks, count(*) FILTER (WHERE {h}) AS embedded, count(*) FILTER (WHERE NOT coalesce({h}, false)) "
        "AS missing, count(*) FILTER (WHERE {s}) AS stale, count(*) FILTER (WHERE {o}) AS other_model, "
        "count(*) FILTER (WHERE NOT coalesce({h}, false) OR coalesce({s}, false) OR coalesce({o}, false)) AS needed "
        "FROM {j} WHERE {f}").format(h=has, s=stale, o=other, j=target.join(), f=target.chunk_filter())
    with connect(embedded_db.dsn, autocommit=True) as conn:
        state = collection_state(conn, target, "tenant_acme", TEST_MODEL)
        expected = conn.execute(reference, {"collection": "tenant_acme", "model": TEST_MODEL}).fetchone()
    assert {k: getattr(state, k) for k in expected} == dict(expected)
    assert (state.missing, state.stale, state.other_model, state.needed) == (5, 4, 3, 11)
