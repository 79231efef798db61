"""A full ``procedure`` through a provider that demands a token and then fails for good: the run fails
cleanly, a failed historylog entry is written, the chain verifies, and no secret is in any artifact."""

import secrets
import sys

import pytest
import yaml

from harness import historylog

from ..conftest import TEST_MODEL
from . import faultproxy as fp
from .faultproxy import FaultProxy
from .invariants import assert_complete, stored

TOKEN = "tok-" + secrets.token_urlsafe(24)
API_KEY = "sk-" + secrets.token_urlsafe(24)
COLLECTION = "tenant_globex"


@pytest.fixture
def guarded(embed_server):
    with FaultProxy(embed_server.url, require_headers={"Authorization": f"Bearer {TOKEN}"}) as proxy:
        yield proxy


@pytest.fixture
def engine_profile(write_profile):
    """The demo profile with the token header and no backfill command of its own (the engine runs it)."""
    path = write_profile({"provider": {"headers": {"Authorization": "Bearer ${EMBED_API_TOKEN}"}}})
    raw = yaml.safe_load(path.read_text())
    del raw["backfill"]["command"]
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _procedure(cli, db, profile, proxy, tmp_path, name, checks_dir):
    env = {"DATABASE_URL": db.dsn, "OLLAMA_HOST": proxy.url, "EMBED_MODEL": TEST_MODEL, "PYTHON": sys.executable,
           "EMBED_API_TOKEN": TOKEN, "OPENAI_API_KEY": API_KEY}
    return cli("procedure", "--profile", profile, "--collection", COLLECTION, "--engine", "--batch-size", "5",
               "--run-dir", tmp_path / name, "--historylog", tmp_path / "historylog.md", "--checks", checks_dir, "--json",
               env=env)


def _artifacts(tmp_path):
    return [p for p in tmp_path.rglob("*") if p.is_file()]


def _assert_no_secret(texts, pg):
    for label, text in texts:
        for secret in (pg.password, TOKEN, API_KEY):
            assert secret not in text, f"a secret is in {label}"


@pytest.mark.slow
def test_full_procedure_then_a_failing_one_leave_no_secret_and_a_verifying_chain(
        cli, demo_db, engine_profile, guarded, tmp_path, pg, checks_dir):
    ok = _procedure(cli, demo_db, engine_profile, guarded, tmp_path, "run1", checks_dir)
    assert ok.code == 0, ok.out + ok.err
    assert any(s.headers.get("Authorization") == f"Bearer {TOKEN}" for s in guarded.seen)
    assert_complete(demo_db.dsn, COLLECTION, TEST_MODEL)
    # Revise every text so the next run has work, then let the provider fail for good after two batches.
    demo_db.execute("UPDATE document_chunks SET content = content || ' v2' WHERE collection = %s", (COLLECTION,))
    guarded.inject(fp.HTTP_500, after=2)
    failed = _procedure(cli, demo_db, engine_profile, guarded, tmp_path, "run2", checks_dir)
    assert failed.code == 1, failed.out + failed.err
    assert failed.json["stopped_at"] == "run"
    entries = historylog.read_entries(tmp_path / "historylog.md")
    assert [e.outcome for e in entries] == ["failed", "succeeded"]
    assert entries[0].exit_code == 1
    assert historylog.verify(tmp_path / "historylog.md").ok
    texts = [("stdout", ok.out + failed.out), ("stderr", ok.err + failed.err)]
    texts += [(str(p), p.read_text(errors="replace")) for p in _artifacts(tmp_path)]
    assert {p.name for p in _artifacts(tmp_path)} >= {"plan.json", "plan.md", "run.json", "historylog.md"}
    _assert_no_secret(texts, pg)
    # Only whole batches of the failing run landed: the rest still carry the first run's vectors.
    with demo_db.connect() as conn:
        fresh = conn.execute(
            "SELECT count(*) FROM document_embeddings e JOIN document_chunks c ON c.id = e.chunk_id "
            "WHERE c.collection = %s AND e.input_hash = encode(sha256(convert_to(c.content, 'UTF8')), 'hex')",
            (COLLECTION,)).fetchone()[0]
    assert fresh % 5 == 0 and fresh <= 10
    assert len(stored(demo_db.dsn, COLLECTION)) == 29
