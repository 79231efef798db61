"""Index deferral only when its rebuild is sure; a failed rebuild is loud and repairable; least privilege works."""

import logging
import os
import uuid

import psycopg
import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.errors import HarnessError
from harness.profile import load_profile
from harness.provider import OllamaProvider
from harness.settings import resolve

from ..conftest import TEST_MODEL

INDEX = "document_embeddings_embedding_idx"
INDEXES = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'document_embeddings' ORDER BY 1"


def _backfill(dsn, profile_path, url, on_batch=None, **options):
    profile = load_profile(profile_path, env={"EMBED_MODEL": TEST_MODEL})
    with OllamaProvider(url, TEST_MODEL) as provider:
        return run_backfill(resolve(profile, database_url=dsn, provider_url=provider.url),
                            BackfillOptions("global_corpus", progress=False, defer_index_min_rows=100, **options),
                            provider=provider, on_batch=on_batch)


def _role(pg, db, *grants: str) -> str:
    """A login role with only the given grants; its DSN."""
    name = "r_" + uuid.uuid4().hex[:10]
    db.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'pw'")
    for grant in grants:
        db.execute(grant.format(role=name))
    return pg.dsn(db.name, user=name, password="pw")


def _defs(db):
    with db.connect() as conn:
        return conn.execute(INDEXES).fetchall()


def test_a_role_with_only_select_insert_update_delete_does_a_first_load(pg, demo_db, demo_profile, embed_server, caplog):
    before = _defs(demo_db)
    dsn = _role(pg, demo_db, "GRANT SELECT ON document_chunks TO {role}",
                "GRANT SELECT, INSERT, UPDATE, DELETE ON document_embeddings TO {role}")
    with caplog.at_level(logging.INFO, logger="harness.backfill"):
        summary = _backfill(dsn, demo_profile, embed_server.url)
    assert summary.ok and summary.embedded == 256 and summary.indexes_rebuilt == []
    assert "vector indexes kept during the bulk load" in caplog.text and "does not own" in caplog.text
    assert _defs(demo_db) == before
    assert demo_db.scalar("SELECT to_regnamespace('backfill_harness') IS NULL")


def test_an_owner_without_create_on_the_schema_keeps_its_index(pg, demo_db, demo_profile, embed_server, caplog):
    before = _defs(demo_db)
    dsn = _role(pg, demo_db, "GRANT SELECT ON document_chunks TO {role}", "ALTER TABLE document_embeddings OWNER TO {role}",
                "REVOKE CREATE ON SCHEMA public FROM PUBLIC", "GRANT CREATE ON DATABASE " + demo_db.name + " TO {role}")
    with caplog.at_level(logging.INFO, logger="harness.backfill"):
        summary = _backfill(dsn, demo_profile, embed_server.url)
    assert summary.ok and summary.embedded == 256
    assert "lacks CREATE on schema public" in caplog.text
    assert _defs(demo_db) == before


def test_a_failed_rebuild_fails_the_run_naming_the_index_and_restore_rebuilds_it(demo_db, demo_profile, embed_server,
                                                                                   cli, demo_env):
    before = _defs(demo_db)

    def obstruct(summary):  # something takes the index's name while it is dropped
        if summary.batches == 1:
            demo_db.execute(f"CREATE TABLE {INDEX} (x int)")

    with pytest.raises(HarnessError, match=f"{INDEX} .*MISSING.*indexes restore"):
        _backfill(demo_db.dsn, demo_profile, embed_server.url, on_batch=obstruct)
    assert demo_db.scalar("SELECT count(*) FROM document_embeddings") == 256
    assert demo_db.scalar("SELECT count(*) FROM backfill_harness.deferred_indexes") == 1
    env = {**demo_env, "DATABASE_URL": demo_db.dsn}
    scoped = cli("scope", "--profile", demo_profile, "--collection", "global_corpus", "--json", env=env)
    assert any(INDEX in a and "missing" in a for a in scoped.json["assumptions"])
    demo_db.execute(f"DROP TABLE {INDEX}")
    restored = cli("indexes", "restore", "--profile", demo_profile, "--json", env=env)
    assert restored.code == 0 and restored.json["rebuilt"] == [INDEX], restored.err
    assert _defs(demo_db) == before


def test_the_rebuilt_index_keeps_its_options_and_tablespace(pg, demo_db, demo_profile, embed_server):
    space = "ts_" + uuid.uuid4().hex[:8]
    place = pg.root / space  # a folder the server's OS user can reach
    place.mkdir()
    os.chown(place, os.stat(pg.pgdata).st_uid, -1)
    try:
        demo_db.execute(f"CREATE TABLESPACE {space} LOCATION '{place}'")
    except psycopg.Error as exc:
        pytest.skip(f"no tablespace on this server: {exc}")
    try:
        demo_db.execute(f"DROP INDEX {INDEX}")
        demo_db.execute(f"CREATE INDEX {INDEX} ON document_embeddings USING hnsw (embedding vector_cosine_ops) "
                        f"WITH (m = 8, ef_construction = 32) TABLESPACE {space}")
        summary = _backfill(demo_db.dsn, demo_profile, embed_server.url)
        assert summary.indexes_rebuilt == [INDEX]
        row = demo_db.connect().execute(
            "SELECT t.spcname, c.reloptions FROM pg_class c JOIN pg_tablespace t ON t.oid = c.reltablespace "
            "WHERE c.relname = %s", (INDEX,)).fetchone()
        assert row == (space, ["m=8", "ef_construction=32"])
    finally:
        demo_db.execute(f"DROP INDEX IF EXISTS {INDEX}")
        demo_db.execute(f"DROP TABLESPACE IF EXISTS {space}")


def test_a_role_lacking_a_privilege_is_refused_naming_privilege_and_table(pg, demo_db, demo_profile, embed_server):
    from harness.errors import RefusedError

    dsn = _role(pg, demo_db, "GRANT SELECT ON document_chunks TO {role}", "GRANT SELECT ON document_embeddings TO {role}")
    with pytest.raises(RefusedError, match=r"lacks INSERT on table public.document_embeddings, DELETE on table "
                                           r"public.document_embeddings; expected .*nothing was written"):
        _backfill(dsn, demo_profile, embed_server.url)
    assert demo_db.scalar("SELECT count(*) FROM document_embeddings") == 0


def test_swap_without_create_on_the_database_names_it(pg, embedded_db, demo_profile, demo_env, cli):
    dsn = _role(pg, embedded_db, "GRANT SELECT, INSERT, UPDATE, DELETE ON document_chunks, document_embeddings TO {role}",
                "REVOKE CREATE ON DATABASE " + embedded_db.name + " FROM PUBLIC")
    result = cli("swap", "--profile", demo_profile, "--from", "tenant_acme", "--to", "tenant_globex",
                 env={**demo_env, "DATABASE_URL": dsn})
    assert result.code == 2 and "expected CREATE on the database" in result.err, result.err
