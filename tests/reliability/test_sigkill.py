"""The backfill process is killed with SIGKILL at 22 points chosen by a seeded random generator.

Points are spread over the whole run: some while the process starts (imports,
connections, the lock), the rest once the database shows a random amount of
work left, plus a random few milliseconds so kills land inside embedding,
COPY and the delete/insert transaction. After every kill the database holds no
duplicate and no half-written batch; after each restart the run goes on; the
last one completes, and coverage, freshness and recompute hold.
"""

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import psycopg
import pytest

from harness.db import as_array
from harness.embedserver import EmbeddingServer, Pace
from harness.provider import OllamaProvider

from ..conftest import REPO, TEST_MODEL
from .invariants import assert_checks_pass, assert_complete, assert_recomputes

SEED = 20261124
STARTUP_KILLS = 4
PROGRESS_KILLS = 18
COLLECTION = "global_corpus"
BATCH = 8

_REMAINING = """
SELECT count(*) FROM document_chunks c LEFT JOIN document_embeddings e ON e.chunk_id = c.id
WHERE c.collection = %s AND (e.chunk_id IS NULL OR e.model_name <> %s
      OR e.input_hash <> encode(sha256(convert_to(c.content, 'UTF8')), 'hex'))
"""


@pytest.fixture
def paced_server():
    """An embedding server slowed to 30 ms a request, so a run lasts long enough to be killed inside."""
    with EmbeddingServer(models=[TEST_MODEL], pace=Pace(per_request_s=0.03)) as server:
        yield server


def _remaining(conn) -> int:
    return conn.execute(_REMAINING, (COLLECTION, TEST_MODEL)).fetchone()[0]


def _expected_vectors(dsn: str, url: str) -> dict[int, np.ndarray]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT id, content FROM document_chunks WHERE collection = %s ORDER BY id", (COLLECTION,)).fetchall()
    with OllamaProvider(url, TEST_MODEL) as provider:
        vectors = provider.embed([text for _, text in rows]).vectors
    return {key: vector for (key, _), vector in zip(rows, vectors)}


def _assert_nothing_half_written(db, expected: dict[int, np.ndarray], original: dict[int, str]) -> None:
    """Each row is either exactly the new vector for the current text, or exactly the row from before the run."""
    with db.connect() as conn:
        assert conn.execute("SELECT count(*) - count(DISTINCT chunk_id) FROM document_embeddings").fetchone()[0] == 0
        rows = conn.execute(
            "SELECT e.chunk_id, e.embedding, e.embedding::text, e.input_hash = encode(sha256(convert_to(c.content, 'UTF8')), 'hex') "
            "FROM document_embeddings e JOIN document_chunks c ON c.id = e.chunk_id WHERE e.collection = %s", (COLLECTION,),
        ).fetchall()
    for key, vector, text, fresh in rows:
        if fresh:
            assert np.array_equal(as_array(vector), expected[key]), key
        else:
            assert original[key] == text, key


@pytest.mark.slow
def test_killed_at_22_seeded_points_it_resumes_and_completes_exactly(embedded_db, paced_server, embed_server):
    # A mix of work: half the chunks revised (stale vectors), a third of the vectors gone (missing).
    embedded_db.execute("UPDATE document_chunks SET content = content || ' (revised)' WHERE collection = %s AND id %% 2 = 0",
                        (COLLECTION,))
    embedded_db.execute("DELETE FROM document_embeddings WHERE collection = %s AND chunk_id %% 3 = 0", (COLLECTION,))
    with embedded_db.connect() as conn:
        original = dict(conn.execute("SELECT chunk_id, embedding::text FROM document_embeddings").fetchall())
    expected = _expected_vectors(embedded_db.dsn, embed_server.url)
    env = {**os.environ, "DATABASE_URL": embedded_db.dsn, "OLLAMA_HOST": paced_server.url, "EMBED_MODEL": TEST_MODEL}
    command = [sys.executable, "-m", "harness", "backfill", "--profile", str(REPO / "examples/ragapp/profile.yaml"),
               "--collection", COLLECTION, "--batch-size", str(BATCH), "--json"]
    rng = random.Random(SEED)
    watch = psycopg.connect(embedded_db.dsn, autocommit=True)
    start_needed = _remaining(watch)
    assert start_needed > 150
    plan = [("startup", rng.uniform(0.0, 0.8)) for _ in range(STARTUP_KILLS)]
    plan += [("remaining", threshold) for threshold in sorted((rng.randrange(1, start_needed) for _ in range(PROGRESS_KILLS)),
                                                               reverse=True)]
    landed = []
    for kind, value in plan:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if kind == "startup":
            time.sleep(value)
        else:
            while proc.poll() is None and _remaining(watch) > value:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.04))
        alive = proc.poll() is None
        if alive:
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
        assert alive or proc.returncode == 0, err.decode()
        landed.append((kind, round(value, 3), _remaining(watch), alive))
        _assert_nothing_half_written(embedded_db, expected, original)
    print("kill points (kind, value, rows left after, killed):", landed)
    kills = sum(1 for *_, alive in landed if alive)
    assert kills >= 20, landed
    # Kills landed all along the run, not only at its start.
    assert max(left for _, _, left, _ in landed) > start_needed * 0.6 and min(left for _, _, left, _ in landed) < start_needed * 0.2, landed
    final = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    watch.close()
    assert_complete(embedded_db.dsn, COLLECTION, TEST_MODEL)
    _assert_nothing_half_written(embedded_db, expected, original)
    with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
        assert_recomputes(embedded_db.dsn, COLLECTION, provider)
    assert_checks_pass(embedded_db.dsn, COLLECTION, embed_server.url)
