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


def _run(embedded_db, demo_profile, embed_server, collection="tenant_globex"):
    profile = load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL})
    with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
        return run_backfill(resolve(profile, database_url=embedded_db.dsn, provider_url=provider.url),
                            BackfillOptions(collection, progress=False), provider=provider)


def test_a_table_locked_access_exclusive_is_named_while_the_run_waits(embedded_db, demo_profile, embed_server,
                                                                       short_lock_timeout, caplog):
    """Even the first read waits: the holder is logged during the wait and named in the error, live from
    pg_blocking_pids (not from who else happens to hold the table)."""
    with embedded_db.connect() as blocker:
        blocker.execute("SET application_name = 'nightly-reindex'")
        blocker.execute("LOCK TABLE document_chunks IN ACCESS EXCLUSIVE MODE")
        pid = blocker.info.backend_pid
        with caplog.at_level("WARNING", logger="harness.backfill"):
            with pytest.raises(HarnessError, match=rf"waited 0.3 s for a lock held by nightly-reindex \(backend pid "
                                                   rf"{pid}, in a transaction since"):
                _run(embedded_db, demo_profile, embed_server)
        blocker.rollback()
    waiting = [r.getMessage() for r in caplog.records if r.getMessage().startswith("waiting for a lock held by")]
    assert waiting and f"nightly-reindex (backend pid {pid}," in waiting[0], caplog.text


def test_a_row_lock_names_the_session_holding_the_rows_not_every_reader_of_the_table(
        embedded_db, demo_profile, embed_server, short_lock_timeout):
    embedded_db.execute("UPDATE document_chunks SET content = content || ' (revised)' WHERE collection = 'tenant_globex'")
    with embedded_db.connect() as reader, embedded_db.connect() as editor:
        reader.execute("SET application_name = 'dashboard'")
        reader.execute("SELECT count(*) FROM document_embeddings")  # an open transaction holding ACCESS SHARE
        editor.execute("SET application_name = 'row-editor'")
        editor.execute("SELECT 1 FROM document_embeddings WHERE collection = 'tenant_globex' FOR UPDATE")
        pid = editor.info.backend_pid
        with pytest.raises(HarnessError) as raised:
            _run(embedded_db, demo_profile, embed_server)
        reader.rollback()
        editor.rollback()
    message = str(raised.value)
    assert f"lock held by row-editor (backend pid {pid}," in message, message
    assert "dashboard" not in message


def test_a_role_that_may_not_see_the_blockers_details_still_gets_its_name_and_pid(pg, embedded_db, demo_profile,
                                                                                   embed_server, short_lock_timeout):
    from ..integration.test_index_deferral import _role

    embedded_db.execute("UPDATE document_chunks SET content = content || ' (revised)' WHERE collection = 'tenant_globex'")
    dsn = _role(pg, embedded_db, "GRANT SELECT ON document_chunks TO {role}",
                "GRANT SELECT, INSERT, UPDATE, DELETE ON document_embeddings TO {role}")
    profile = load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL})
    with embedded_db.connect() as blocker:
        blocker.execute("SET application_name = 'nightly-reindex'")
        blocker.execute("LOCK TABLE document_embeddings IN SHARE MODE")
        pid = blocker.info.backend_pid
        with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
            with pytest.raises(HarnessError, match=rf"lock held by nightly-reindex \(backend pid {pid}, since when is "
                                                   r"hidden from this role\)"):
                run_backfill(resolve(profile, database_url=dsn, provider_url=provider.url),
                             BackfillOptions("tenant_globex", progress=False), provider=provider)
        blocker.rollback()
