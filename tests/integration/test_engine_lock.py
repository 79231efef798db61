"""One backfill per collection: a second one names the holder and exits; workers of one run share the lock."""

import pytest

from harness.backfill import BackfillOptions, bookkeeping, lock, run_backfill
from harness.db import connect
from harness.errors import LockHeld
from harness.profile import load_profile
from harness.provider import OllamaProvider
from harness.settings import resolve

from ..conftest import TEST_MODEL


def test_a_second_backfill_of_the_same_collection_names_the_holder_and_exits(demo_db, demo_env, demo_profile, cli):
    with connect(demo_db.dsn, autocommit=True, application_name="nightly-backfill on host-7") as holder:
        lock.acquire(holder, "document_embeddings", "tenant_acme")
        result = cli("backfill", "--profile", demo_profile, "--collection", "tenant_acme",
                     env={**demo_env, "DATABASE_URL": demo_db.dsn})
    assert result.code == 1
    assert "another backfill of collection 'tenant_acme' is running" in result.err
    assert "held by nightly-backfill on host-7" in result.err
    assert demo_db.scalar("SELECT count(*) FROM document_embeddings") == 0


def test_another_collection_is_not_blocked(demo_db, demo_env, demo_profile, cli):
    with connect(demo_db.dsn, autocommit=True) as holder:
        lock.acquire(holder, "document_embeddings", "tenant_acme")
        result = cli("backfill", "--profile", demo_profile, "--collection", "tenant_globex",
                     env={**demo_env, "DATABASE_URL": demo_db.dsn})
    assert result.code == 0, result.err


def test_a_worker_of_the_same_run_joins_while_another_run_is_refused(demo_db):
    with connect(demo_db.dsn, autocommit=True) as first, connect(demo_db.dsn, autocommit=True) as same, \
            connect(demo_db.dsn, autocommit=True) as other, connect(demo_db.dsn, autocommit=True) as plain:
        bookkeeping.ensure(first)
        lock.join_run(first, "document_embeddings", "tenant_acme", "run-a", TEST_MODEL)
        lock.join_run(same, "document_embeddings", "tenant_acme", "run-a", TEST_MODEL)
        with pytest.raises(LockHeld, match="running as run 'run-a'"):
            lock.join_run(other, "document_embeddings", "tenant_acme", "run-b", TEST_MODEL)
        with pytest.raises(LockHeld, match="is running"):
            lock.acquire(plain, "document_embeddings", "tenant_acme")


def test_the_lock_is_released_when_the_run_ends(demo_db, embed_server, demo_profile):
    profile = load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL})
    with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
        run_backfill(resolve(profile, database_url=demo_db.dsn, provider_url=provider.url),
                     BackfillOptions("tenant_globex", progress=False), provider=provider)
    with connect(demo_db.dsn, autocommit=True) as conn:
        lock.acquire(conn, "document_embeddings", "tenant_globex")


def test_a_schema_an_earlier_version_made_is_given_the_columns_added_since(demo_db):
    with connect(demo_db.dsn, autocommit=True) as conn:
        bookkeeping.ensure(conn)
        conn.execute("ALTER TABLE backfill_harness.runs DROP COLUMN every")
        conn.execute("ALTER TABLE backfill_harness.copies DROP COLUMN done_through")
        bookkeeping.ensure(conn)
        columns = {r["attname"] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = ANY('{backfill_harness.runs,backfill_harness.copies}'"
            "::regclass[]) AND NOT attisdropped").fetchall()}
    assert {"every", "done_through"} <= columns
