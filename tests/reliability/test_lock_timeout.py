"""A statement that waits for another session's lock gives up after lock_timeout and names who holds it."""

import pytest

from harness.backfill import BackfillOptions, lock, run_backfill
from harness.errors import HarnessError
from harness.profile import load_profile
from harness.provider import OllamaProvider
from harness.settings import resolve

from ..conftest import TEST_MODEL


@pytest.fixture
def short_lock_timeout(monkeypatch):
    monkeypatch.setattr(lock, "LOCK_TIMEOUT_MS", 300)


def test_a_write_blocked_by_another_session_stops_naming_it(embedded_db, demo_profile, embed_server, short_lock_timeout):
    embedded_db.execute("UPDATE document_chunks SET content = content || ' (revised)' WHERE collection = 'tenant_globex'")
    profile = load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL})
    with embedded_db.connect() as blocker:
        blocker.execute("SET application_name = 'nightly-reindex'")
        blocker.execute("LOCK TABLE document_embeddings IN SHARE MODE")  # reads pass, writes wait
        pid = blocker.info.backend_pid
        with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
            with pytest.raises(HarnessError, match=rf"waited 0.3 s for a lock held by nightly-reindex \(backend pid {pid}, "
                                                   r"in a transaction since"):
                run_backfill(resolve(profile, database_url=embedded_db.dsn, provider_url=provider.url),
                             BackfillOptions("tenant_globex", progress=False), provider=provider)
        blocker.rollback()


def test_swap_blocked_by_another_session_stops_naming_it(embedded_db, demo_profile, demo_env, cli, short_lock_timeout):
    env = {**demo_env, "DATABASE_URL": embedded_db.dsn}
    assert cli("backfill", "--profile", demo_profile, "--collection", "tenant_globex", "--into", "v2", env=env).code == 0
    with embedded_db.connect() as blocker:
        blocker.execute("SET application_name = 'report-job'")
        blocker.execute("LOCK TABLE document_chunks IN SHARE MODE")
        result = cli("swap", "--profile", demo_profile, "--from", "v2", "--to", "tenant_globex", env=env)
        blocker.rollback()
    assert result.code == 1 and "lock held by report-job" in result.err
    assert embedded_db.scalar("SELECT count(*) FROM document_chunks WHERE collection = 'v2'") == 29
