"""Property: whatever a table, column or collection is called (quotes, spaces, SQL, unicode, emoji), the
backfill embeds exactly that collection and the state counts agree; nothing the names carry is executed."""

import re

import psycopg
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from psycopg import sql

import pytest

from harness.backfill import BackfillOptions, collection_state, run_backfill
from harness.db import connect
from harness.errors import ConfigError
from harness.profile import parse_profile
from harness.provider import OllamaProvider
from harness.target import Target
from harness.settings import resolve

from ..conftest import TEST_MODEL

_NASTY = list(" '\";-()%\\*/.$[]=`") + ["--", "/*", "*/", "DROP TABLE canary;", "%(collection)s", "{}", "é", "中", "🦙", "ا"]
_CHARS = st.one_of(st.sampled_from(_NASTY), st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")))


def _identifier_ok(name: str) -> bool:
    # The profile refuses empty/whitespace-only names and names past Postgres' 63-byte limit (tested elsewhere);
    # ${...} is the profile's environment reference syntax; '%' is refused (see the test below).
    return bool(name.strip()) and len(name.encode()) <= 63 and "${" not in name and "%" not in name


IDENTIFIER = st.lists(_CHARS, min_size=1, max_size=8).map("".join).filter(_identifier_ok)
COLLECTION = st.lists(_CHARS, min_size=1, max_size=12).map("".join).filter(
    lambda s: all(ord(ch) >= 32 for ch in s) and s != "other")
_schemas = iter(range(10_000))


def _text_item(column: str) -> str:
    """A ``chunks.text`` item naming the column: a name with a brace would read as a labelled part
    (harness.text_parts), so it is written as a quoted identifier in braces, which names any column."""
    if "{" not in column and "}" not in column:
        return column
    return '{"' + column.replace('"', '""') + '"}'


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(IDENTIFIER, min_size=8, max_size=8, unique=True), collection=COLLECTION)
@example(names=["'", ";", "-", "(", ")", "{}", " '", '"'], collection=" ")  # a text column named "{}"
@example(names=["'", ";", "-", "(", ")", "{", '"', "0"], collection=" ")  # and one named "{"
def test_any_identifiers_and_collection_name_backfill_exactly_that_collection(names, collection, empty_db, embed_server):
    schema, chunks, embeds, cid, ccoll, ctext, ekey, evec = names
    ehash, ecoll = cid + "#h", ccoll + "#c"  # distinct from the embedding table's other columns
    ident = sql.Identifier
    schema = f"{schema}{next(_schemas)}"[:40]
    with psycopg.connect(empty_db.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS canary (x int)")
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(ident(schema)))
        conn.execute(sql.SQL("CREATE TABLE {} ({} int PRIMARY KEY, {} text, {} text)").format(
            ident(schema, chunks), ident(cid), ident(ccoll), ident(ctext)))
        conn.execute(sql.SQL("CREATE TABLE {} ({} int PRIMARY KEY, {} vector(384), {} text, {} text)").format(
            ident(schema, embeds), ident(ekey), ident(evec), ident(ehash), ident(ecoll)))
        for key, coll in enumerate([collection] * 3 + ["other"] * 2):
            conn.execute(sql.SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(ident(schema, chunks)),
                         (key, coll, f"text {key} of {coll}"))
    profile = parse_profile(yaml.safe_dump({
        "name": "hostile",
        "provider": {"model": TEST_MODEL},
        "chunks": {"schema": schema, "table": chunks, "id": cid, "collection": ccoll, "text": _text_item(ctext)},
        "embeddings": {"schema": schema, "table": embeds, "key": ekey, "vector": evec, "input_hash": ehash,
                       "collection": ecoll},
    }, allow_unicode=True), env={})
    try:
        with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
            summary = run_backfill(resolve(profile, database_url=empty_db.dsn, provider_url=provider.url),
                                   BackfillOptions(collection=collection, batch_size=2, progress=False),
                                   provider=provider)
        assert summary.ok and summary.embedded == 3
        with connect(empty_db.dsn, autocommit=True) as conn:
            state = collection_state(conn, Target(profile), collection, TEST_MODEL)
            assert (state.chunks, state.embedded, state.needed) == (3, 3, 0)
            other = collection_state(conn, Target(profile), "other", TEST_MODEL)
            assert (other.chunks, other.embedded, other.needed) == (2, 0, 2)
            stored = conn.execute(sql.SQL("SELECT {}::text AS c FROM {}").format(ident(ecoll), ident(schema, embeds))).fetchall()
            assert [r["c"] for r in stored] == [collection] * 3
            assert conn.execute("SELECT to_regclass('public.canary') IS NOT NULL AS ok").fetchone()["ok"]
    finally:
        with psycopg.connect(empty_db.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(ident(schema)))


@settings(max_examples=30, deadline=None)
@given(key=st.sampled_from(["chunks.table", "chunks.id", "chunks.text", "embeddings.key", "embeddings.vector"]),
       name=st.builds(lambda a, b: f"{a}%{b}", *[st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=5)] * 2))
def test_identifier_with_a_percent_sign_is_refused_naming_the_key(key, name):
    # psycopg would read it as a placeholder in any query that also has parameters.
    section, field = key.split(".")
    raw = {"name": "p", "provider": {"model": "m"}, "chunks": {"table": "c", "collection": "k"},
           "embeddings": {"table": "e", "key": "id"}}
    raw[section][field] = name
    with pytest.raises(ConfigError, match=rf"profile key '{re.escape(key)}(\[0\])?' (names|is) .*which contains '%'"):
        parse_profile(yaml.safe_dump(raw, allow_unicode=True), env={})
