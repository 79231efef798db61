"""plan times the real thing: the target's own command on a few rows, counted in the database, not the provider's
batched ceiling (which a one-text-per-request script never reaches)."""

import subprocess
import sys
import time

import pytest

from harness.embedserver import EmbeddingServer
from harness.embedserver.server import Pace

from ..conftest import TEST_MODEL

ONE_PER_REQUEST = '''
import json, os, sys, urllib.request
import psycopg

limit = int(sys.argv[sys.argv.index("--limit") + 1]) if "--limit" in sys.argv else None
with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    rows = conn.execute("SELECT id, body FROM notes WHERE embedding IS NULL ORDER BY id LIMIT %s", (limit,)).fetchall()
    for key, body in rows:
        request = urllib.request.Request(os.environ["OLLAMA_HOST"] + "/api/embed", headers={"Content-Type": "application/json"},
                                         data=json.dumps({"model": os.environ["EMBED_MODEL"], "input": body}).encode())
        vector = json.load(urllib.request.urlopen(request))["embeddings"][0]
        conn.execute("UPDATE notes SET embedding = %s::vector WHERE id = %s", (str(vector), key))
        conn.commit()
print(f"Done. Embedded {len(rows)}/{len(rows)} rows. 0 failures.")
'''

SCHEMA = """
CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL, embedding vector(384));
INSERT INTO notes (body) SELECT 'note number ' || g FROM generate_series(1, 150) g;
"""

PROFILE = """
name: one-per-request
provider: {{model: {model}, dimensions: 384}}
chunks: {{table: notes, text: body, collection_name: notes}}
backfill:
  command: "{python} {script}"
{probe}
"""


@pytest.fixture(scope="module")
def paced_server():
    # 20 ms per request whatever its size: one text per request costs 150 requests, a batch of 16 only one.
    with EmbeddingServer(models=[TEST_MODEL], pace=Pace(per_request_s=0.02)) as server:
        yield server


def _plan(cli, tmp_path, db, url, probe: bool):
    script = tmp_path / "embed_one_by_one.py"
    script.write_text(ONE_PER_REQUEST)
    profile = tmp_path / f"profile-{probe}.yaml"
    profile.write_text(PROFILE.format(model=TEST_MODEL, python=sys.executable, script=script,
                                      probe=f'  probe_command: "{sys.executable} {script} --limit {{limit}}"' if probe else ""))
    result = cli("plan", "--profile", profile, "--collection", "notes", "--run-dir", tmp_path / f"run-{probe}", "--json",
                 env={"DATABASE_URL": db.dsn, "OLLAMA_HOST": url, "EMBED_MODEL": TEST_MODEL})
    assert result.code == 0, result.err
    return result.json["estimate"], script


def _real_seconds(db, url, script):
    db.execute("UPDATE notes SET embedding = NULL")
    started = time.perf_counter()
    subprocess.run([sys.executable, str(script)], check=True, capture_output=True,
                   env={"DATABASE_URL": db.dsn, "OLLAMA_HOST": url, "EMBED_MODEL": TEST_MODEL, "PATH": "/usr/bin:/bin"})
    assert db.scalar("SELECT count(*) FROM notes WHERE embedding IS NULL") == 0
    return time.perf_counter() - started


@pytest.mark.slow
def test_probe_command_estimate_is_within_3x_of_a_one_text_per_request_run(cli, tmp_path, empty_db, paced_server):
    empty_db.execute(SCHEMA)
    estimate, script = _plan(cli, tmp_path, empty_db, paced_server.url, probe=True)
    assert estimate["method"] == "command" and estimate["probe_rows"] == 48
    assert empty_db.scalar("SELECT count(*) FROM notes WHERE embedding IS NOT NULL") == 48  # counted, for real
    real = _real_seconds(empty_db, paced_server.url, script)
    assert real / 3 <= estimate["seconds"] <= real * 3, (estimate, real)


def test_without_a_probe_command_the_estimate_says_it_is_the_providers_ceiling(cli, tmp_path, empty_db, paced_server):
    empty_db.execute(SCHEMA)
    estimate, _ = _plan(cli, tmp_path, empty_db, paced_server.url, probe=False)
    assert estimate["method"] == "provider"
    assert "provider's ceiling" in estimate["note"] and "one text per request" in estimate["note"]
    assert empty_db.scalar("SELECT count(*) FROM notes WHERE embedding IS NOT NULL") == 0
    text_plan = (tmp_path / "run-False" / "plan.md").read_text()
    assert "provider's ceiling" in text_plan
