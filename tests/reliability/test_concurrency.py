"""Two backfills of the same collection at once: one runs, the other refuses, naming the holder."""

import os
import subprocess
import sys

import pytest

from harness.embedserver import EmbeddingServer, Pace

from ..conftest import REPO, TEST_MODEL
from .faultproxy import wait_until
from .invariants import assert_complete, assert_exact, state

COLLECTION = "tenant_acme"  # 107 chunks


@pytest.fixture
def paced_server():
    # Slow enough, one request at a time, that a run lasts seconds: a second process started "together" on a loaded
    # machine (its interpreter alone may take a second to start) still meets the first one running.
    with EmbeddingServer(models=[TEST_MODEL], pace=Pace(per_request_s=0.15)) as server:
        yield server


def _command(collection: str = COLLECTION) -> list[str]:
    return [sys.executable, "-m", "harness", "backfill", "--profile", str(REPO / "examples/ragapp/profile.yaml"),
            "--collection", collection, "--batch-size", "5", "--concurrency", "1"]


def _env(db, server) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url, "EMBED_MODEL": TEST_MODEL}


def test_second_backfill_refuses_naming_the_running_one_and_writes_nothing(demo_db, paced_server, cli, reference):
    first = subprocess.Popen(_command(), cwd=REPO, env=_env(demo_db, paced_server), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert wait_until(lambda: state(demo_db.dsn, COLLECTION, TEST_MODEL)["rows"] > 0, timeout_s=30)
    rows_before = state(demo_db.dsn, COLLECTION, TEST_MODEL)["rows"]
    second = cli(*_command()[3:], env={"DATABASE_URL": demo_db.dsn, "OLLAMA_HOST": paced_server.url, "EMBED_MODEL": TEST_MODEL})
    assert second.code == 1
    line = second.err.strip()
    assert len(line.splitlines()) == 1
    assert f"another backfill of collection '{COLLECTION}' is running: held by backfill-harness" in line
    assert f":{first.pid} (backend pid " in line  # the holder's host:pid, as its application_name says
    assert state(demo_db.dsn, COLLECTION, TEST_MODEL)["rows"] >= rows_before
    _, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert_complete(demo_db.dsn, COLLECTION, TEST_MODEL)
    assert_exact(demo_db.dsn, COLLECTION, reference)


def test_two_backfills_started_together_one_runs_and_one_refuses(demo_db, paced_server, reference):
    procs = [subprocess.Popen(_command(), cwd=REPO, env=_env(demo_db, paced_server), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    refusal = next(err for code, err in results if code == 1)
    winner = next(p for p, (code, _) in zip(procs, results) if code == 0)
    assert "is running: held by backfill-harness" in refusal and f":{winner.pid} " in refusal
    assert_complete(demo_db.dsn, COLLECTION, TEST_MODEL)
    assert_exact(demo_db.dsn, COLLECTION, reference)


def test_backfills_of_different_collections_run_side_by_side(demo_db, paced_server, reference):
    procs = {c: subprocess.Popen(_command(c), cwd=REPO, env=_env(demo_db, paced_server), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for c in (COLLECTION, "tenant_globex")}
    for collection, proc in procs.items():
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert_complete(demo_db.dsn, collection, TEST_MODEL)
        assert_exact(demo_db.dsn, collection, reference)
