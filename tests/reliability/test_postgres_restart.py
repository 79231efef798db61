"""Postgres restarts in the middle of a backfill: the run fails cleanly (one line, exit 1, no traceback),
nothing half-written remains, and the next run completes exactly."""

import os
import random
import subprocess
import sys
import time

import psycopg
import pytest

from examples.ragapp.app import load_corpus
from harness.embedserver import EmbeddingServer, Pace
from harness.stack import EmbeddedPostgres

from ..conftest import REPO, TEST_MODEL
from .invariants import assert_checks_pass, assert_complete, assert_exact, state

COLLECTION = "global_corpus"
SEED = 7
pytestmark = pytest.mark.slow  # its own Postgres takes seconds to start


@pytest.fixture(scope="module")
def own_pg():
    """A Postgres of this module's own, so restarting it disturbs no other test."""
    server = EmbeddedPostgres().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def paced_server():
    with EmbeddingServer(models=[TEST_MODEL], pace=Pace(per_request_s=0.05)) as server:
        yield server


def test_restart_mid_run_fails_cleanly_and_the_next_run_completes_exactly(own_pg, paced_server, embed_server, reference):
    dsn = own_pg.create_database("restarts")
    load_corpus(dsn)
    env = {**os.environ, "DATABASE_URL": dsn, "OLLAMA_HOST": paced_server.url, "EMBED_MODEL": TEST_MODEL}
    command = [sys.executable, "-m", "harness", "backfill", "--profile", str(REPO / "examples/ragapp/profile.yaml"),
               "--collection", COLLECTION, "--batch-size", "8"]
    rng = random.Random(SEED)
    total = state(dsn, COLLECTION, TEST_MODEL)["chunks"]
    outcomes = []
    for fraction in sorted((rng.uniform(0.1, 0.9) for _ in range(3))):
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while proc.poll() is None and state(dsn, COLLECTION, TEST_MODEL)["rows"] < fraction * total:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.05))
        own_pg.restart()
        out, err = proc.communicate(timeout=120)
        outcomes.append((proc.returncode, err.strip()))
        assert proc.returncode in (0, 1), err
        assert "Traceback" not in err and len(err.strip().splitlines()) <= 1, err
        s = state(dsn, COLLECTION, TEST_MODEL)
        assert s["duplicates"] == 0 and s["stale"] == 0 and s["other_model"] == 0, s
        assert_exact(dsn, COLLECTION, reference)
    # The server's goodbye reaches the client before the socket closes, or not (the restart's timing, the machine's
    # load): either way one run was cut off, said so in one line, and left nothing wrong.
    assert any(code == 1 and ("terminating connection" in err or "server closed the connection" in err)
               for code, err in outcomes), outcomes
    final = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    assert_complete(dsn, COLLECTION, TEST_MODEL)
    assert_exact(dsn, COLLECTION, reference)
    assert_checks_pass(dsn, COLLECTION, embed_server.url)


def test_lock_of_a_session_lost_in_a_restart_is_free_again(own_pg):
    from harness.backfill import lock
    from harness.db import connect

    dsn = own_pg.create_database("lock_restart")
    holder = connect(dsn, autocommit=True)
    lock.acquire(holder, "document_embeddings", COLLECTION)
    own_pg.restart()
    lock.release(holder, "document_embeddings", COLLECTION)  # the dead session: no error
    holder.close()
    with connect(dsn, autocommit=True) as fresh:
        lock.acquire(fresh, "document_embeddings", COLLECTION)
        lock.release(fresh, "document_embeddings", COLLECTION)
    with psycopg.connect(own_pg.dsn(), autocommit=True) as admin:
        admin.execute("DROP DATABASE lock_restart")
