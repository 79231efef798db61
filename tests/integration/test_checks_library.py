"""The checks library's pure parts: outcome messages, folding the one pass, presets, profile keys for presets."""

import pytest
from psycopg import sql

from harness.checks.outcome import Offender, verdict
from harness.checks.shape import source_expr
from harness.checks.stats import Group, fold
from harness.errors import ConfigError
from harness.profile import parse_profile
from harness.profiles import profile_path
from harness.target import Target
from harness.settings import resolve

BASE = """
name: t
provider: {model: m}
chunks: {table: chunks, collection: collection_id, collection_table: {table: colls}}
"""


def group(collection, emb_collection, tenant="a", emb_tenant="a", has_chunk=True, has_embedding=True, rows=1, **counts):
    values = {k: counts.get(k, 0) for k in ("other_model", "stale", "zero", "degenerate", "wrong_dims")}
    vectors = counts.get("vectors", rows if has_chunk and has_embedding else 0)
    return Group(collection, emb_collection, tenant, emb_tenant, has_chunk, has_embedding, rows, vectors, **values)


def test_a_failing_outcome_shows_expected_found_and_at_most_ten_rows():
    offenders = [Offender(i, "tenant_acme", "acme", "missing") for i in range(25)]
    message = verdict("coverage", "tenant_acme", False, "107 chunks", "82 embedded", offenders, total=25).message()
    lines = message.splitlines()
    assert lines[0] == "coverage [tenant_acme] failed: expected 107 chunks; found 82 embedded"
    assert lines[1] == "offending rows (showing 10 of 25):"
    assert lines[2] == "  id=0 collection=tenant_acme tenant=acme missing" and len(lines) == 12


def test_fold_counts_missing_orphans_and_misplaced_rows_per_collection():
    groups = [
        group("c1", "c1", rows=5),
        group("c1", None, has_embedding=False, rows=2),  # chunks without an embedding row
        group(None, "c1", tenant=None, has_chunk=False, rows=1),  # an orphan embedding
        group("c1", "c1", emb_tenant="b", rows=3),  # filed under another tenant
        group("c2", "c1", rows=4),  # c2's chunks filed under c1
    ]
    st = fold("c1", groups, has_emb_collection=True, has_emb_tenant=True)
    assert (st.chunks, st.embedded, st.missing, st.orphans, st.misplaced) == (10, 8, 2, 1, 7)
    assert fold("c2", groups, has_emb_collection=True, has_emb_tenant=True).missing == 4


def test_a_source_may_name_a_key_of_a_json_column():
    target = Target(parse_profile(BASE))
    rendered = sql.Composed([source_expr(target, "cmetadata->>source")]).as_string(None)
    assert rendered == "(\"c\".\"cmetadata\"->>'source')"


def test_a_collection_table_resolves_names_through_a_subquery():
    target = Target(parse_profile(BASE))
    assert "SELECT ct.\"name\"::text FROM \"public\".\"colls\"" in target.collection_of_chunk().as_string(None)
    assert "\"c\".\"collection_id\" IN (SELECT ct.\"uuid\"" in target.chunk_filter().as_string(None)


def test_a_collection_table_needs_the_chunk_column_holding_its_key():
    with pytest.raises(ConfigError, match="'chunks.collection' is required with 'chunks.collection_table'"):
        parse_profile(BASE.replace("collection: collection_id, ", "collection_name: x, "))


def test_an_unknown_preset_names_the_known_ones():
    with pytest.raises(ConfigError, match="neither a file nor a preset; expected a YAML path or one of: langchain, llamaindex, pgai"):
        profile_path("haystack")


def test_completed_skips_with_a_reason_while_the_historylog_reader_is_missing(monkeypatch, tmp_path):
    import sys

    from harness.checks.completed import from_historylog

    monkeypatch.setitem(sys.modules, "harness.historylog", None)  # import now raises ImportError
    outcome = from_historylog(tmp_path / "HISTORYLOG.md", "tenant_acme")
    assert outcome.status == "skipped"
    assert "harness.historylog.latest_entry is not available" in outcome.message()



def test_a_check_session_never_shows_the_database_password(embedded_db, demo_env, demo_profile):
    from harness.checks import CheckOptions, open_session
    from harness.profile import load_profile
    from harness.redact import dsn_password

    env = {**demo_env, "DATABASE_URL": embedded_db.dsn}
    session = open_session(resolve(load_profile(demo_profile, env=env), database_url=embedded_db.dsn, env=env),
                           CheckOptions(collections=("tenant_acme",)))
    try:
        assert dsn_password(embedded_db.dsn) not in repr(session)
        assert "postgres:***@" in repr(session)
    finally:
        session.close()


def test_a_profile_repr_hides_the_database_url_and_provider_headers():
    text = BASE.replace("provider: {model: m}", "provider: {model: m, headers: {Authorization: 'Bearer tok-abcdef12'}}")
    profile = parse_profile(text + "database: {url: 'postgresql://u:pw-123456@h/db'}\n")
    assert "pw-123456" not in repr(profile) and "tok-abcdef12" not in repr(profile)


def _open(embedded_db, demo_env, demo_profile, **options):
    from harness.checks import CheckOptions, open_session
    from harness.profile import load_profile

    env = {**demo_env, "DATABASE_URL": embedded_db.dsn}
    return open_session(resolve(load_profile(demo_profile, env=env), database_url=embedded_db.dsn, env=env),
                        CheckOptions(collections=("tenant_acme",), **options))


def test_the_default_statement_timeout_grows_with_the_tables_the_pass_reads_whole(embedded_db, demo_env, demo_profile):
    """A fixed minute would fail verify at some size on any server: the pass reads every row of both tables."""
    from harness.checks.session import DEFAULT_TIMEOUT_MS, TIMEOUT_MS_PER_GB

    with embedded_db.connect() as conn:
        size = conn.execute("SELECT pg_table_size('document_chunks') + pg_table_size('document_embeddings')").fetchone()[0]
    session = _open(embedded_db, demo_env, demo_profile)
    try:
        expected = DEFAULT_TIMEOUT_MS + round(TIMEOUT_MS_PER_GB * size / 2**30)
        assert session.statement_timeout_ms == expected > DEFAULT_TIMEOUT_MS
        with session.read_only() as conn:
            assert conn.execute("SELECT current_setting('statement_timeout') AS t").fetchone()["t"] == f"{expected}ms"
    finally:
        session.close()


def test_a_statement_timeout_given_is_kept_as_given(embedded_db, demo_env, demo_profile):
    session = _open(embedded_db, demo_env, demo_profile, statement_timeout_ms=900)
    try:
        with session.read_only() as conn:
            assert conn.execute("SELECT current_setting('statement_timeout') AS t").fetchone()["t"] == "900ms"
    finally:
        session.close()


def _grown(dsn, profile_text):
    from harness import db
    from harness.checks.session import _grown_timeout

    with db.connect(dsn) as conn:
        return _grown_timeout(conn, Target(parse_profile(profile_text)))


def _stored_bytes(dsn, *tables):
    import psycopg

    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT sum(pg_table_size(t::regclass)) FROM unnest(%s::text[]) AS t", (list(tables),)).fetchone()[0]


READS = """
name: t
provider: {model: m}
chunks: {table: chunks, id: id, text: body, collection_name: c}
embeddings: {table: vecs, key: chunk_id, vector: v}
"""


def test_the_statement_timeout_grows_with_the_partitions_of_a_partitioned_table(empty_db):
    """pg_table_size of a partitioned parent is 0: the pass reads its partitions, so they are what is measured."""
    import psycopg

    from harness.checks.session import DEFAULT_TIMEOUT_MS, TIMEOUT_MS_PER_GB

    with psycopg.connect(empty_db.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE chunks (id int, body text) PARTITION BY RANGE (id)")
        conn.execute("CREATE TABLE chunks_1 PARTITION OF chunks FOR VALUES FROM (0) TO (5000)")
        conn.execute("CREATE TABLE chunks_2 PARTITION OF chunks FOR VALUES FROM (5000) TO (10000)")
        conn.execute("INSERT INTO chunks SELECT i, repeat('x', 100) FROM generate_series(0, 9999) AS i")
        conn.execute("CREATE TABLE vecs (chunk_id int PRIMARY KEY, v vector(3))")
    size = _stored_bytes(empty_db.dsn, "chunks_1", "chunks_2", "vecs")
    assert _grown(empty_db.dsn, READS) == DEFAULT_TIMEOUT_MS + round(TIMEOUT_MS_PER_GB * size / 2**30) > DEFAULT_TIMEOUT_MS


def test_the_statement_timeout_grows_with_the_tables_a_view_reads(empty_db):
    """A view has no storage of its own (pg_table_size 0): the pass reads the tables under it."""
    import psycopg

    from harness.checks.session import DEFAULT_TIMEOUT_MS, TIMEOUT_MS_PER_GB

    with psycopg.connect(empty_db.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE raw_chunks (id int, body text)")
        conn.execute("INSERT INTO raw_chunks SELECT i, repeat('x', 100) FROM generate_series(0, 9999) AS i")
        conn.execute("CREATE VIEW chunks AS SELECT id, body FROM raw_chunks")
        conn.execute("CREATE TABLE vecs (chunk_id int PRIMARY KEY, v vector(3))")
    size = _stored_bytes(empty_db.dsn, "raw_chunks", "vecs")
    assert _grown(empty_db.dsn, READS) == DEFAULT_TIMEOUT_MS + round(TIMEOUT_MS_PER_GB * size / 2**30) > DEFAULT_TIMEOUT_MS


def test_the_grown_statement_timeout_stays_within_what_postgres_accepts(empty_db, monkeypatch):
    """statement_timeout takes at most 2147483647 ms (about 36 TB at 60 s per GB): past it, every check would error."""
    import psycopg

    from harness import db
    from harness.checks import session

    with psycopg.connect(empty_db.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE chunks (id int, body text)")
        conn.execute("INSERT INTO chunks VALUES (1, 'x')")
        conn.execute("CREATE TABLE vecs (chunk_id int PRIMARY KEY, v vector(3))")
    monkeypatch.setattr(session, "TIMEOUT_MS_PER_GB", 10**15)  # what 40 TB gives at the real rate
    grown = _grown(empty_db.dsn, READS)
    assert grown == 2**31 - 1
    with db.connect(empty_db.dsn) as conn, db.read_only(conn, grown):
        assert conn.execute("SELECT current_setting('statement_timeout') AS t").fetchone()["t"] == f"{2**31 - 1}ms"
