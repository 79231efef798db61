"""The provider fails during a backfill, in every way the fault proxy knows, transiently and permanently.

Transient faults are retried and the result is exact; permanent ones end with a
clear one-line error, a non-zero exit, and no partial batch in the database.
"""

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.errors import ProviderError, ProviderUnavailable
from harness.profile import load_profile
from harness.settings import resolve

from ..conftest import DEMO_PROFILE, TEST_MODEL
from . import faultproxy as fp
from .invariants import assert_complete, assert_exact, state, stored

COLLECTION = "tenant_globex"  # 29 chunks: six batches of five
BATCH = 5
# The provider could not be reached or sent no usable JSON: after the retries the run stops.
TRANSPORT_FAULTS = [fp.DROP, fp.STALL, fp.HTTP_500, fp.NOT_JSON, fp.JSON_ARRAY, fp.TRUNCATED]
# Well-formed JSON that is unusable as a whole: after the retries that batch is refused, named with the problem.
ANSWER_FAULTS = {
    fp.WRONG_SHAPE: "provider answered /api/embed without an 'embeddings' list",
    fp.WRONG_COUNT: "provider returned 4 vectors for 5 inputs",
    fp.WRONG_DIM: "provider returned vectors of dimension 383, expected 384",
    fp.OTHER_MODEL: "provider answered for model 'nomic-embed-text:latest', expected 'hash-embed:384'",
}
WHOLE_ANSWER_FAULTS = TRANSPORT_FAULTS + list(ANSWER_FAULTS)
ROW_FAULTS = [fp.NAN, fp.INFINITE, fp.ZERO]
STALL_S = 1.0


def _profile():
    return load_profile(DEMO_PROFILE, env={"EMBED_MODEL": TEST_MODEL})


def _backfill(db, provider, **options):
    return run_backfill(resolve(_profile(), database_url=db.dsn, provider_url=provider.url),
                        BackfillOptions(collection=COLLECTION, batch_size=BATCH, progress=False, **options),
                        provider=provider)


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


@pytest.mark.parametrize("kind", TRANSPORT_FAULTS)
def test_permanent_transport_fault_ends_the_run_with_one_clear_line_and_whole_batches_only(
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


@pytest.mark.parametrize("kind", ANSWER_FAULTS)
def test_permanent_unusable_answer_is_refused_naming_the_problem_and_nothing_of_it_is_written(
        kind, demo_db, proxy, fault_env, cli, write_profile, reference):
    proxy.inject(kind, after=2)
    result = _cli_backfill(cli, write_profile, demo_db, fault_env)
    assert result.code == 1 and "Traceback" not in result.err
    assert f"answered unusably after 3 attempts; last answer: {ANSWER_FAULTS[kind]}" in result.out + result.err
    written = stored(demo_db.dsn, COLLECTION)
    assert len(written) % BATCH == 0 and len(written) <= 2 * BATCH
    assert_exact(demo_db.dsn, COLLECTION, reference)


@pytest.mark.parametrize("kind", ANSWER_FAULTS)
def test_provider_retries_an_unusable_answer_then_refuses_it_naming_the_problem(kind, proxy, fast_provider):
    fast_provider.dimensions()
    proxy.inject(kind)
    with pytest.raises(ProviderError, match=r"answered unusably after 3 attempts; last answer: ") as caught:
        fast_provider.embed([f"text {i}" for i in range(5)])
    assert ANSWER_FAULTS[kind] in str(caught.value)
    assert proxy.faults_served == 3


def test_provider_that_stays_unreachable_raises_unavailable(proxy, fast_provider):
    proxy.inject(fp.DROP)
    with pytest.raises(ProviderUnavailable, match=r"failed after 3 attempts; last error: RemoteProtocolError"):
        fast_provider.embed(["a", "b"])


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
