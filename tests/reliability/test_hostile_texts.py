"""Texts that break naive pipelines: empty, whitespace, beyond the model's context, emoji, right-to-left,
NUL characters and bytes that are not UTF-8. Each is embedded exactly, truncated and counted, or refused."""

import psycopg
import pytest
from psycopg import sql

from harness.backfill import BackfillOptions, run_backfill
from harness.db import as_array
from harness.errors import DatabaseError
from harness.hashing import text_hash
from harness.profile import parse_profile
from harness.provider import OllamaProvider
from harness.settings import resolve

from ..conftest import TEST_MODEL

LONG = " ".join(f"word{i}" for i in range(3000))  # hash-embed's context is 2048 tokens
TEXTS = {
    1: "",
    2: "   \n\t  \u00a0\u2003 ",
    3: LONG,
    4: "🦙🚀 embeddings ✨ 👩‍👩‍👧‍👦 🏳️‍🌈",
    5: "مرحبا بالعالم: التضمين في قاعدة البيانات",
    6: "שלום עולם \u202e)RLO override( \u202c and back",
    7: "e\u0301 (combining) vs \u00e9, zero\u200bwidth, \ufeffBOM",
    8: "ordinary text for comparison",
}
PROFILE = """
name: texts
provider: {model: %s}
chunks: {table: chunks, collection: collection, text: body}
embeddings: {table: chunks, vector: embedding, model: model, input_hash: input_hash}
""" % TEST_MODEL


def _load(dsn: str, texts: dict[int, str]) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE chunks (id int PRIMARY KEY, collection text, body text, "
                     "embedding vector(384), model text, input_hash text)")
        with conn.cursor().copy("COPY chunks (id, collection, body) FROM STDIN") as copy:
            for key, text in texts.items():
                copy.write_row((key, "texts", text))


def _backfill(dsn: str, url: str):
    with OllamaProvider(url, TEST_MODEL) as provider:
        return run_backfill(resolve(parse_profile(PROFILE), database_url=dsn, provider_url=provider.url),
                            BackfillOptions(collection="texts", batch_size=4, progress=False), provider=provider)


def test_awkward_texts_are_embedded_exactly_with_hashes_python_agrees_with(empty_db, embed_server):
    """Whitespace, emoji, right-to-left marks, combining characters: each embedded as stored. The empty text is the one
    left out: there is nothing to embed (Target.no_text), so it is counted apart and holds no vector."""
    _load(empty_db.dsn, TEXTS)
    summary = _backfill(empty_db.dsn, embed_server.url)
    worded = {key: text for key, text in TEXTS.items() if text}
    assert summary.ok and summary.embedded == len(worded) and summary.after.no_text == 1
    with empty_db.connect() as conn:
        rows = dict((k, (v, h, m)) for k, v, h, m in conn.execute("SELECT id, embedding, input_hash, model FROM chunks"))
    assert rows[1] == (None, None, None)
    with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
        expected = provider.embed(list(worded.values()), truncate=True).vectors
    for (key, text), vector in zip(worded.items(), expected):
        stored, digest, model = rows[key]
        assert digest == text_hash(text) and model == TEST_MODEL
        assert (as_array(stored) == vector).all(), key


def test_text_beyond_the_context_is_truncated_as_the_provider_does_and_counted(empty_db, embed_server):
    _load(empty_db.dsn, TEXTS)
    summary = _backfill(empty_db.dsn, embed_server.url)
    assert summary.truncated == 1 and summary.as_dict()["truncated"] == 1
    assert summary.failed == 0


def test_postgres_text_cannot_hold_nul_so_no_chunk_carries_one(empty_db):
    _load(empty_db.dsn, {1: "fine"})
    with pytest.raises(psycopg.DataError, match="NUL"):
        empty_db.execute("INSERT INTO chunks (id, collection, body) VALUES (2, 'texts', %s)", ("a\x00b",))
    with pytest.raises(psycopg.errors.ProgramLimitExceeded, match="null character not permitted"):
        empty_db.execute("INSERT INTO chunks (id, collection, body) VALUES (2, 'texts', 'a' || chr(0))")
    assert empty_db.scalar("SELECT count(*) FROM chunks") == 1


def test_bytes_that_are_not_utf8_cannot_enter_a_utf8_database(empty_db):
    _load(empty_db.dsn, {1: "fine"})
    with pytest.raises(psycopg.errors.CharacterNotInRepertoire, match="invalid byte sequence"):
        empty_db.execute("INSERT INTO chunks (id, collection, body) VALUES (2, 'texts', convert_from('\\xff41'::bytea, 'UTF8'))")
    with pytest.raises(UnicodeEncodeError):
        empty_db.execute("INSERT INTO chunks (id, collection, body) VALUES (2, 'texts', %s)", ("\udcff",))


@pytest.fixture
def database_with_encoding(pg):
    made = []

    def make(encoding: str) -> str:
        name = f"enc_{encoding.lower()}_{len(made)}"
        with psycopg.connect(pg.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {} ENCODING {} LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0").format(
                sql.Identifier(name), sql.Literal(encoding)))
        made.append(name)
        with psycopg.connect(pg.dsn(name), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION vector")
        return pg.dsn(name)

    yield make
    for name in made:
        pg.drop_database(name)


def test_sql_ascii_database_holding_raw_bytes_is_refused_in_one_line(database_with_encoding, embed_server):
    dsn = database_with_encoding("SQL_ASCII")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE chunks (id int PRIMARY KEY, collection text, body text, "
                     "embedding vector(384), model text, input_hash text)")
        conn.execute("INSERT INTO chunks (id, collection, body) VALUES (1, 'texts', convert_from('\\x6869ff'::bytea, 'SQL_ASCII'))")
    with pytest.raises(DatabaseError, match="has encoding SQL_ASCII; expected UTF8") as caught:
        _backfill(dsn, embed_server.url)
    assert "\n" not in str(caught.value)
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM chunks WHERE embedding IS NOT NULL").fetchone()[0] == 0


def test_latin1_database_texts_are_converted_and_hashed_as_utf8(database_with_encoding, embed_server):
    dsn = database_with_encoding("LATIN1")
    texts = {1: "café crème brûlée", 2: "Größe ÿ ½"}
    _load(dsn, texts)
    summary = _backfill(dsn, embed_server.url)
    assert summary.ok and summary.embedded == 2
    with psycopg.connect(dsn) as conn:
        hashes = dict(conn.execute("SELECT id, input_hash FROM chunks").fetchall())
    assert hashes == {k: text_hash(v) for k, v in texts.items()}
