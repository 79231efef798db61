"""The provider fails during a backfill, in every way the fault proxy knows, transiently and permanently.

Transient faults are retried and the result is exact; permanent ones end with a
clear one-line error, a non-zero exit, and no partial batch in the database.
"""

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.errors import ProviderUnavailable
from harness.profile import load_profile

from ..conftest import DEMO_PROFILE, TEST_MODEL
from . import faultproxy as fp
from .invariants import assert_complete, assert_exact, state, stored

COLLECTION = "tenant_globex"  # 29 chunks: six batches of five
BATCH = 5
WHOLE_ANSWER_FAULTS = [fp.DROP, fp.STALL, fp.HTTP_500, fp.NOT_JSON, fp.WRONG_SHAPE, fp.JSON_ARRAY,
                       fp.WRONG_COUNT, fp.WRONG_DIM, fp.OTHER_MODEL, fp.TRUNCATED]
ROW_FAULTS = [fp.NAN, fp.INFINITE, fp.ZERO]
STALL_S = 1.0


def _profile():
    return load_profile(DEMO_PROFILE, env={"EMBED_MODEL": TEST_MODEL})


def _backfill(db, provider, **options):
    return run_backfill(_profile(), db.dsn, provider,
                        BackfillOptions(collection=COLLECTION, batch_size=BATCH, progress=False, **options))


def _cli_backfill(cli, write_profile, db, env, *extra):
    return cli("backfill", "--profile", write_profile(), "--collection", COLLECTION, "--batch-size", BATCH, *extra,
               env={**env, "DATABASE_URL": db.dsn})


@pytest.mark.parametrize("kind", WHOLE_ANSWER_FAULTS)
def test_transient_fault_is_retried_and_the_result_is_exact(kind, demo_db, proxy, fast_provider, reference):
    proxy.inject(kind, times=2, stall_s=STALL_S)
    summary = _backfill(demo_db, fast_provider)
    assert summary.ok and summary.embedded == summary.selected == 29
    assert proxy.faults_served == 2
    assert_complete(demo_db.dsn, COLLECTION, TEST_MODEL)
    assert_exact(demo_db.dsn, COLLECTION, reference)


@pytest.mark.parametrize("kind", WHOLE_ANSWER_FAULTS)
def test_permanent_fault_ends_with_one_clear_line_nonzero_exit_and_whole_batches_only(
        kind, demo_db, proxy, fault_env, cli, write_profile, reference):
    proxy.inject(kind, after=2, stall_s=STALL_S)
    result = _cli_backfill(cli, write_profile, demo_db, fault_env)
    assert result.code == 1
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "failed after 3 attempts" in lines[0], result.err
    written = stored(demo_db.dsn, COLLECTION)
    # Only batches that were embedded before the fault began, each whole and exact.
    assert len(written) % BATCH == 0 and len(written) <= 2 * BATCH
    assert_exact(demo_db.dsn, COLLECTION, reference)


def test_permanent_fault_error_names_the_last_problem(demo_db, proxy, fast_provider):
    proxy.inject(fp.WRONG_COUNT)
    with pytest.raises(ProviderUnavailable, match=r"after 3 attempts; last error: answer has 4 vectors for 5 inputs"):
        _backfill(demo_db, fast_provider)
    assert stored(demo_db.dsn, COLLECTION) == {}


def test_stall_is_cut_at_the_timeout_not_waited_out(demo_db, proxy, fast_provider):
    proxy.inject(fp.STALL, stall_s=30)
    with pytest.raises(ProviderUnavailable, match="timed out after 0.3s"):
        _backfill(demo_db, fast_provider)
    assert stored(demo_db.dsn, COLLECTION) == {}


@pytest.mark.parametrize("kind", ROW_FAULTS)
def test_bad_vector_is_never_written_and_a_later_run_fills_it(kind, demo_db, proxy, fast_provider, reference):
    proxy.inject(kind, times=1)
    first = _backfill(demo_db, fast_provider)
    assert not first.ok and first.failed >= 1
    assert "non-finite" in first.failures[0].reason or "all zeros" in first.failures[0].reason
    written = stored(demo_db.dsn, COLLECTION)
    assert first.failures[0].key not in written and len(written) == 29 - first.failed
    assert_exact(demo_db.dsn, COLLECTION, reference)
    second = _backfill(demo_db, fast_provider)
    assert second.ok and second.embedded == first.failed
    assert_complete(demo_db.dsn, COLLECTION, TEST_MODEL)
    assert_exact(demo_db.dsn, COLLECTION, reference)


@pytest.mark.parametrize("kind", ROW_FAULTS)
def test_permanent_bad_vectors_exit_1_naming_the_rows(kind, demo_db, proxy, fault_env, cli, write_profile, reference):
    proxy.inject(kind)
    result = _cli_backfill(cli, write_profile, demo_db, fault_env, "--json")
    assert result.code == 1
    out = result.json
    assert out["ok"] is False and out["failed"] >= 6  # at least the first row of each of the six batches
    assert all(f["key"] not in stored(demo_db.dsn, COLLECTION) for f in out["failures"])
    assert_exact(demo_db.dsn, COLLECTION, reference)
    assert state(demo_db.dsn, COLLECTION, TEST_MODEL)["missing"] == out["failed"]


def test_fail_fast_on_a_bad_vector_writes_nothing_of_its_batch(demo_db, proxy, fault_env, cli, write_profile, reference):
    proxy.inject(fp.NAN, after=2)
    result = _cli_backfill(cli, write_profile, demo_db, fault_env, "--fail-fast")
    assert result.code == 1 and "fail-fast" in result.out
    written = stored(demo_db.dsn, COLLECTION)
    assert len(written) == 2 * BATCH
    assert_exact(demo_db.dsn, COLLECTION, reference)
