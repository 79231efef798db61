"""Each page of the selection reads only its own key range of the embedding table, not every vector before it."""

import json

from harness.backfill.selection import select_batch_sql
from harness.profile import load_profile
from harness.target import Target

from ..conftest import TEST_MODEL

COLLECTION = "global_corpus"


def _embedding_scans(plan: dict) -> list[dict]:
    found = [plan] if plan.get("Relation Name") == "document_embeddings" else []
    for child in plan.get("Plans", []):
        found += _embedding_scans(child)
    return found


def test_a_page_bounds_the_embedding_side_by_its_first_key(embedded_db, demo_profile):
    target = Target(load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL}))
    middle = embedded_db.scalar("SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY id) FROM document_chunks "
                                "WHERE collection = %s", (COLLECTION,))
    params = {"collection": COLLECTION, "model": TEST_MODEL, "start": False, "after": middle, "limit": 10,
              "lo": None, "hi": None, "lo_open": True, "hi_open": True, "keys": None}
    with embedded_db.connect() as conn, conn.transaction():
        # Whatever join the planner picks on a table this small, the scan must be able to start at the page.
        conn.execute("SET LOCAL enable_seqscan = off")
        query = select_batch_sql(target).as_string(conn)
        plan = conn.execute("EXPLAIN (FORMAT JSON) " + query, params).fetchone()[0]
    plan = plan if isinstance(plan, list) else json.loads(plan)
    conditions = " ".join(scan.get("Index Cond", "") + scan.get("Recheck Cond", "") for scan in _embedding_scans(plan[0]["Plan"]))
    assert "chunk_id >" in conditions, plan


def test_pages_are_planned_each_with_its_own_bounds_never_from_a_prepared_generic_plan(demo_db, demo_profile):
    """A prepared statement soon runs Postgres's generic plan, where "(start OR key > after)" bounds no index scan:
    every page would then scan both tables from their first key. The selection is never prepared."""
    from harness import db as dbmod
    from harness.backfill.selection import iter_batches

    target = Target(load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL}))
    with dbmod.connect(demo_db.dsn, autocommit=True) as conn:
        pages = list(iter_batches(conn, target, COLLECTION, TEST_MODEL, 4))
        prepared = conn.execute("SELECT statement FROM pg_prepared_statements").fetchall()
    assert len(pages) > 6  # psycopg prepares a statement on its sixth execution
    assert not [p for p in prepared if "AS key" in p["statement"]], prepared
