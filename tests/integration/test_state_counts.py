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
