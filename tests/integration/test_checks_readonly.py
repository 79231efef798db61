"""The checks never write: they pass as a SELECT-only role, and a write inside a check's transaction is refused."""

from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from harness import db as dbmod
from harness.checks import CheckOptions, custom, open_session
from harness.profile import load_profile
from harness.settings import resolve

from ..conftest import demo_profile_with
from .checks_run import run_checks

from ..conftest import finished_run


def test_the_whole_suite_passes_as_a_role_that_can_only_select(embedded_db, demo_env, demo_profile, tmp_path):
    embedded_db.execute("CREATE ROLE checker LOGIN PASSWORD 'checker-pw'")
    embedded_db.execute("GRANT USAGE ON SCHEMA public TO checker")
    embedded_db.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO checker")
    parts = urlsplit(embedded_db.dsn)
    dsn = urlunsplit(parts._replace(netloc=f"checker:checker-pw@{parts.hostname}:{parts.port}"))
    run_dir = tmp_path / "run"
    finished_run(run_dir, "tenant_globex")
    try:
        run = run_checks(tmp_path, "--bh-profile", str(demo_profile), "--bh-collection", "tenant_globex", "--bh-run-dir", str(run_dir),
                         env={**demo_env, "DATABASE_URL": dsn})
        assert run.code == 0 and run.failed == set(), run.output
        assert len(run.with_status("passed")) == 12  # eleven checks for the collection and the profile's custom check
        assert "checker-pw" not in run.output
    finally:
        embedded_db.execute("DROP OWNED BY checker")
        embedded_db.execute("DROP ROLE checker")


def test_a_write_inside_a_check_transaction_is_refused(embedded_db):
    with dbmod.connect(embedded_db.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            with dbmod.read_only(conn, 5_000):
                conn.execute("DELETE FROM document_embeddings")
    assert embedded_db.scalar("SELECT count(*) FROM document_embeddings") > 0


def test_a_custom_check_that_tries_to_write_fails_and_writes_nothing(embedded_db, demo_env, demo_profile, tmp_path):
    profile = tmp_path / "profile.yaml"
    profile.write_text(demo_profile_with("""
custom_checks:
  - name: sneaky_delete
    sql: WITH gone AS (DELETE FROM document_embeddings RETURNING 1) SELECT count(*) FROM gone
    expect: 0
"""))
    before = embedded_db.scalar("SELECT count(*) FROM document_embeddings")
    session = open_session(resolve(load_profile(profile, env=demo_env), database_url=embedded_db.dsn, env=demo_env),
                           CheckOptions(collections=("tenant_acme",)))
    try:
        outcome = custom(session, "sneaky_delete")
    finally:
        session.close()
    assert not outcome.passed
    assert "in a read-only transaction" in outcome.found
    assert embedded_db.scalar("SELECT count(*) FROM document_embeddings") == before


def test_the_session_connection_refuses_writes_even_outside_a_check_transaction(embedded_db, demo_env, demo_profile):
    session = open_session(resolve(load_profile(demo_profile, env=demo_env), database_url=embedded_db.dsn, env=demo_env),
                           CheckOptions(collections=("tenant_acme",)))
    try:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            session.conn.execute("UPDATE document_chunks SET content = ''")
    finally:
        session.close()
    assert embedded_db.scalar("SELECT count(*) FROM document_chunks WHERE content = ''") == 0
