"""The DONE checks never write: every check of every collection passes as a SELECT-only role and leaves every
table byte for byte as it was; writes attempted inside a check's transaction are refused, even as superuser and
even when a custom check's SQL tries to end the read-only transaction first."""

from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import yaml

from harness import db as dbmod
from harness.checks import PASS, SKIP, CheckOptions, custom, open_session, run_all
from harness.profile import load_profile
from harness.settings import resolve

from ..conftest import DEMO_PROFILE

TABLES = ("documents", "document_chunks", "document_embeddings")
_FINGERPRINT = "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} AS t"
_WRITES = ("SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables")


def _fingerprint(db) -> dict[str, str]:
    return {t: db.scalar(_FINGERPRINT.format(t)) for t in TABLES}


@pytest.fixture
def select_only_dsn(embedded_db):
    embedded_db.execute("CREATE ROLE reliability_reader LOGIN PASSWORD 'reader-pw-123'")
    embedded_db.execute("GRANT USAGE ON SCHEMA public TO reliability_reader")
    embedded_db.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO reliability_reader")
    parts = urlsplit(embedded_db.dsn)
    yield urlunsplit(parts._replace(netloc=f"reliability_reader:reader-pw-123@{parts.hostname}:{parts.port}"))
    embedded_db.execute("DROP OWNED BY reliability_reader")
    embedded_db.execute("DROP ROLE reliability_reader")


def test_every_check_of_every_collection_passes_select_only_and_changes_nothing(embedded_db, select_only_dsn, demo_env):
    before = _fingerprint(embedded_db)
    writes_before = embedded_db.scalar(_WRITES)
    session = open_session(resolve(load_profile(DEMO_PROFILE, env=demo_env), database_url=select_only_dsn, env=demo_env),
                           CheckOptions(collections=("all",)))
    try:
        outcomes = run_all(session)
    finally:
        session.close()
    assert len(session.collections) == 3
    bad = [o.message() for o in outcomes if o.status not in (PASS, SKIP)]
    assert not bad, bad
    assert sum(o.status == PASS for o in outcomes) >= 3 * 8
    assert _fingerprint(embedded_db) == before
    assert embedded_db.scalar(_WRITES) == writes_before


WRITES = [
    "INSERT INTO document_embeddings (chunk_id, collection, embedding, model_name, input_hash) "
    "SELECT chunk_id + 100000, collection, embedding, model_name, input_hash FROM document_embeddings LIMIT 1",
    "UPDATE document_embeddings SET model_name = 'x'",
    "DELETE FROM document_embeddings",
    "TRUNCATE document_embeddings",
    "DROP INDEX document_embeddings_embedding_idx",
    "CREATE TABLE sneaky (x int)",
    "SELECT nextval('documents_id_seq')",
    "SET TRANSACTION READ WRITE",
    "SELECT set_config('transaction_read_only', 'off', true)",
]


@pytest.mark.parametrize("statement", WRITES, ids=[w.split()[0].lower() + str(i) for i, w in enumerate(WRITES)])
def test_a_write_in_a_check_transaction_is_refused_even_as_superuser(statement, embedded_db):
    before = _fingerprint(embedded_db)
    with dbmod.connect(embedded_db.dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.Error, match="read-only|read-write"):
            with dbmod.read_only(conn, 5_000):
                conn.execute("SELECT 1")  # a check has always read something first
                conn.execute(statement)
    assert _fingerprint(embedded_db) == before


ESCAPES = [
    "COMMIT; DELETE FROM document_embeddings; SELECT 0",
    "SELECT 0; COMMIT; TRUNCATE document_embeddings; SELECT 0",
    "ROLLBACK; BEGIN READ WRITE; DELETE FROM document_embeddings; COMMIT; SELECT 0",
    "END; UPDATE document_embeddings SET model_name = 'x'; SELECT 0",
]


@pytest.mark.parametrize("sql", ESCAPES, ids=[f"escape{i}" for i in range(len(ESCAPES))])
def test_a_custom_check_that_tries_to_leave_the_read_only_transaction_writes_nothing(sql, embedded_db, demo_env, tmp_path):
    raw = yaml.safe_load(DEMO_PROFILE.read_text())
    raw["custom_checks"] = [{"name": "escape", "sql": sql, "expect": 0}]
    profile = tmp_path / "profile.yaml"
    profile.write_text(yaml.safe_dump(raw))
    before = _fingerprint(embedded_db)
    session = open_session(resolve(load_profile(profile, env=demo_env), database_url=embedded_db.dsn, env=demo_env),
                           CheckOptions(collections=("tenant_acme",)))
    try:
        outcome = custom(session, "escape")
    finally:
        session.close()
    assert not outcome.passed
    assert _fingerprint(embedded_db) == before
