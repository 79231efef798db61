"""backfill --into copies the live collection in committed pieces; SIGKILL inside the copy never leaves a half copy
that a later step takes as complete, and the next run resumes the copy where it stopped.

Each piece's insert is slowed by a statement trigger (0.15 s), and the process copies 20 rows a piece, so kills land
inside the copy at seeded points; the rest of the run is the real CLI.
"""

import os
import random
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from harness.checks import FAIL, PER_COLLECTION, CheckOptions, open_session
from harness.profile import load_profile
from harness.settings import resolve

from ..conftest import DEMO_PROFILE, REPO

SEED = 20261126
LIVE, NEW = "global_corpus", "global_corpus_v2"
PIECE = 20

_SLOW_PIECES = """
CREATE FUNCTION slow_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM added WHERE collection = 'global_corpus_v2') THEN PERFORM pg_sleep(0.15); END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER slow_copy AFTER INSERT ON document_chunks REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION slow_copy();
"""

# The CLI, with the copy cut into pieces of PIECE rows (the demo corpus is smaller than one default piece).
_RUN = ("import sys; from harness.backfill import reuse; reuse.COPY_PIECE = {piece}; from harness.cli import main; "
        "sys.exit(main(sys.argv[1:]))")

_CHUNKS = ("SELECT document_id, chunk_index, encode(sha256(convert_to(content, 'UTF8')), 'hex') FROM document_chunks "
           "WHERE collection = %s ORDER BY 1, 2, 3")
_VECTORS = ("SELECT c.document_id, c.chunk_index, e.embedding::text, e.input_hash, e.model_name FROM document_chunks c "
            "JOIN document_embeddings e ON e.chunk_id = c.id WHERE c.collection = %s ORDER BY 1, 2")


def _coverage(dsn: str, env: dict):
    """The DONE check 'coverage' on NEW, as verify runs it."""
    session = open_session(resolve(load_profile(DEMO_PROFILE, env=env), database_url=dsn, env=env),
                           CheckOptions(collections=(NEW,)))
    try:
        return PER_COLLECTION["coverage"](session, NEW)
    finally:
        session.close()


def _command(*args: str) -> list[str]:
    return [sys.executable, "-c", _RUN.format(piece=PIECE), *args]


def _count(conn, collection: str) -> int:
    return conn.execute("SELECT count(*) FROM document_chunks WHERE collection = %s", (collection,)).fetchone()[0]


def _kill_inside_the_copy(command, env, watch, threshold: int) -> int:
    """Start a run, SIGKILL it once NEW holds at least ``threshold`` chunks; return how many it held."""
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while proc.poll() is None and _count(watch, NEW) < threshold and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, proc.communicate()[1].decode()
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    return _count(watch, NEW)


@pytest.mark.slow
def test_killed_inside_the_into_copy_it_resumes_and_the_copy_is_exact(embedded_db, demo_env, cli):
    embedded_db.execute(_SLOW_PIECES)
    env = {**os.environ, **demo_env, "DATABASE_URL": embedded_db.dsn}
    command = _command("backfill", "--profile", str(DEMO_PROFILE), "--collection", LIVE, "--into", NEW, "--json")
    watch = psycopg.connect(embedded_db.dsn, autocommit=True)
    live_chunks = watch.execute(_CHUNKS, (LIVE,)).fetchall()
    total = len(live_chunks)
    assert total > 4 * PIECE
    rng = random.Random(SEED)
    held = []
    for threshold in sorted(rng.randrange(1, total - PIECE) for _ in range(3)):
        copied = _kill_inside_the_copy(command, env, watch, max(threshold, held[-1] + 1 if held else 1))
        held.append(copied)
        assert 0 < copied < total and copied % PIECE == 0, held  # whole pieces only
        # No live chunk copied twice, whatever the kill interrupted.
        assert watch.execute("SELECT count(*) FROM (SELECT document_id, chunk_index FROM document_chunks WHERE "
                             "collection = %s GROUP BY 1, 2 HAVING count(*) > 1) d", (NEW,)).fetchone()[0] == 0
        # The half copy is not taken as complete: swap refuses it and leaves live alone, coverage fails it.
        swap = cli("swap", "--profile", DEMO_PROFILE, "--from", NEW, "--to", LIVE, env=env)
        assert swap.code != 0 and "copy" in swap.err and "stopped" in swap.err, swap.err
        assert _count(watch, LIVE) == total
        coverage = _coverage(embedded_db.dsn, demo_env)
        assert coverage.status == FAIL and "copy" in coverage.found, coverage.message()
    assert held == sorted(held) and len(set(held)) == len(held), held  # each rerun went on from where the last stopped
    final = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    assert watch.execute(_CHUNKS, (NEW,)).fetchall() == live_chunks
    assert watch.execute(_VECTORS, (NEW,)).fetchall() == watch.execute(_VECTORS, (LIVE,)).fetchall()
    assert watch.execute("SELECT complete FROM backfill_harness.copies WHERE copy = %s", (NEW,)).fetchone()[0] is True
    watch.close()
    assert _coverage(embedded_db.dsn, demo_env).passed
    swap = cli("swap", "--profile", DEMO_PROFILE, "--from", NEW, "--to", LIVE, "--json", env=env)
    assert swap.code == 0, swap.err
