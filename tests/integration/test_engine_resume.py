"""Killed with SIGKILL mid-way and started again, the engine finishes exactly: none lost, none twice, all fresh."""

import os
import signal
import subprocess
import sys
import time

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.embedserver import EmbeddingServer, Pace
from harness.profile import load_profile
from harness.provider import OllamaProvider
from harness.settings import resolve

from ..conftest import REPO, TEST_MODEL
from ._engine_servers import FaultyProxy

COLLECTION = "global_corpus"


@pytest.fixture
def slow_server():
    with EmbeddingServer(models=[TEST_MODEL], pace=Pace(per_request_s=0.05)) as server:
        yield server


def _written(db) -> int:
    return db.scalar("SELECT count(*) FROM document_embeddings")


def test_a_run_killed_mid_way_resumes_to_an_exact_result(demo_db, demo_profile, slow_server):
    env = {**os.environ, "OLLAMA_HOST": slow_server.url, "EMBED_MODEL": TEST_MODEL, "DATABASE_URL": demo_db.dsn}
    proc = subprocess.Popen([sys.executable, "-m", "harness", "backfill", "--profile", str(demo_profile),
                             "--collection", COLLECTION, "--batch-size", "8"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while _written(demo_db) < 40 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    landed = _written(demo_db)
    total = demo_db.scalar("SELECT count(*) FROM document_chunks WHERE collection = %s", (COLLECTION,))
    assert proc.returncode == -signal.SIGKILL and 0 < landed < total and landed % 8 == 0  # whole batches only

    profile = load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL})
    with FaultyProxy(slow_server.url) as counter, OllamaProvider(counter.url, TEST_MODEL) as provider:
        summary = run_backfill(resolve(profile, database_url=demo_db.dsn, provider_url=provider.url),
                               BackfillOptions(COLLECTION, batch_size=8, progress=False), provider=provider)

    assert summary.ok and summary.embedded == total - landed
    assert counter.inputs == total - landed  # nothing that had landed was embedded again
    assert _written(demo_db) == total
    assert demo_db.scalar("SELECT count(DISTINCT chunk_id) FROM document_embeddings") == total
    assert demo_db.scalar(
        "SELECT count(*) FROM document_chunks c JOIN document_embeddings e ON e.chunk_id = c.id "
        "WHERE e.input_hash = encode(sha256(convert_to(c.content, 'UTF8')), 'hex') AND e.model_name = %s", (TEST_MODEL,)
    ) == total
