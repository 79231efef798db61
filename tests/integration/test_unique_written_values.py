"""A unique index of the table the vectors go to over values the run writes but not the chunk's key: an application
that keeps one vector per text (``UNIQUE (input_hash)``, ``UNIQUE (corpus, input_hash)``) refuses the second chunk of a
text it already holds. Scope predicts it (``unique keys``), naming the index, the values and how many chunks share
them, and the engine refuses before its first batch. Before, scope said ok and the run stopped at its first batch
with 'duplicate key value violates unique constraint'."""

from __future__ import annotations

import time

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.errors import RefusedError
from harness.profile import parse_profile
from harness.settings import resolve
from harness.steps.scope import scope

SEPARATE = """
name: one-vector-per-text
provider: {model: hash-embed:384}
chunks: {table: notes, id: id, text: body, collection: corpus}
embeddings: {table: note_vectors, key: note_id, vector: embedding, model: model, collection: corpus, input_hash: h}
"""
INLINE = """
name: one-vector-per-text-inline
provider: {model: hash-embed:384}
chunks: {table: notes, id: id, text: body, collection: corpus}
embeddings: {vector: embedding, model: model, input_hash: h}
"""


def _notes(db, *, inline: bool = False, index: str = "UNIQUE (h)") -> None:
    """Six handbook notes, the fifth and sixth of one text; one wiki note of the first handbook note's text."""
    extra = f", embedding vector(384), model text, h text, {index}" if inline else ""
    db.execute(f"CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL, corpus text NOT NULL{extra})")
    db.execute("INSERT INTO notes SELECT i, 'note number ' || least(i, 5), 'handbook' FROM generate_series(1, 6) i")
    if not inline:
        db.execute("CREATE TABLE note_vectors (note_id int PRIMARY KEY REFERENCES notes, corpus text, "
                   f"embedding vector(384), model text, h text, {index})")


def _settings(db, url, text=SEPARATE):
    return resolve(parse_profile(text, env={}), database_url=db.dsn, env={"OLLAMA_HOST": url})


def _unique(db, url, text=SEPARATE, collection="handbook"):
    result = scope(_settings(db, url, text), collection, check_contract=False)
    return result, next((c for c in result.checks if c.check == "unique keys"), None)


def test_scope_fails_two_chunks_of_one_text_under_a_unique_hash_naming_the_index(empty_db, embed_server):
    _notes(empty_db)
    result, check = _unique(empty_db, embed_server.url)
    assert check is not None and not result.ok and check.status.value == "failed", result.checks
    assert "note_vectors_h_key (h)" in check.found and "2 chunks of 'handbook'" in check.found, check.found


def test_the_engine_refuses_them_before_its_first_batch(empty_db, embed_server):
    _notes(empty_db)
    with pytest.raises(RefusedError) as refused:
        run_backfill(_settings(empty_db, embed_server.url), BackfillOptions(collection="handbook", progress=False))
    assert "note_vectors_h_key" in str(refused.value) and "nothing was written" in str(refused.value)
    assert empty_db.scalar("SELECT count(*) FROM note_vectors") == 0


def test_an_inline_table_with_a_unique_hash_is_predicted_the_same(empty_db, embed_server):
    _notes(empty_db, inline=True)
    result, check = _unique(empty_db, embed_server.url, INLINE)
    assert check is not None and check.status.value == "failed" and "notes_h_key (h)" in check.found, result.checks


def test_a_row_of_another_collection_holding_the_text_is_a_clash_too(empty_db, embed_server):
    _notes(empty_db)
    empty_db.execute("DELETE FROM notes WHERE id = 6; INSERT INTO notes VALUES (7, 'note number 1', 'wiki')")
    assert run_backfill(_settings(empty_db, embed_server.url), BackfillOptions(collection="wiki", progress=False)).ok
    result, check = _unique(empty_db, embed_server.url)
    assert check is not None and check.status.value == "failed", result.checks
    assert "a row of another chunk" in check.found, check.found


def test_a_unique_hash_within_each_collection_passes_texts_shared_across_collections(empty_db, embed_server):
    _notes(empty_db, index="UNIQUE (corpus, h)")
    empty_db.execute("DELETE FROM notes WHERE id = 6; INSERT INTO notes VALUES (7, 'note number 1', 'wiki')")
    assert run_backfill(_settings(empty_db, embed_server.url), BackfillOptions(collection="wiki", progress=False)).ok
    result, check = _unique(empty_db, embed_server.url)
    assert result.ok and check is not None and check.status.value == "passed", result.checks
    summary = run_backfill(_settings(empty_db, embed_server.url), BackfillOptions(collection="handbook", progress=False))
    assert summary.ok and summary.embedded + summary.reused == 5, summary.line()


def test_a_unique_index_holding_the_chunk_key_is_not_read(empty_db, embed_server):
    _notes(empty_db, index="UNIQUE (note_id, model)")
    _, check = _unique(empty_db, embed_server.url)
    assert check is None


def test_a_healthy_embedded_collection_is_read_in_linear_time(empty_db, embed_server):
    """Every chunk's row already holds its own text's hash (a run done before), each matched to its own row: a join of
    ROW(...) records and a NOT IN over the collection's keys past work_mem looped over every pair (20,000 chunks: 45 s;
    200,000: scope's statement was cancelled and 'unique keys' failed)."""
    empty_db.execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL, corpus text NOT NULL)")
    empty_db.execute("INSERT INTO notes SELECT i, 'note number ' || i, 'handbook' FROM generate_series(1, 20000) i")
    empty_db.execute("CREATE TABLE note_vectors (note_id int PRIMARY KEY REFERENCES notes, corpus text, "
                     "embedding vector(384), model text, h text UNIQUE)")
    empty_db.execute("INSERT INTO note_vectors SELECT id, corpus, NULL, 'hash-embed:384', "
                     "encode(sha256(convert_to(body, 'UTF8')), 'hex') FROM notes")
    empty_db.execute("ANALYZE notes; ANALYZE note_vectors")
    empty_db.execute(f"ALTER DATABASE {empty_db.name} SET work_mem = '64kB'")  # a million keys past the default's
    started = time.monotonic()
    result, check = _unique(empty_db, embed_server.url)
    assert check is not None and check.status.value == "passed", result.checks
    assert time.monotonic() - started < 10
