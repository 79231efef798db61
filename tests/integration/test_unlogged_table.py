"""An UNLOGGED table holding the vectors (the embedding table, one of its partitions, or the chunk table of an inline
vector) is emptied by a database crash and never reaches a standby: a written batch does not survive a crash there, as
the engine's commits otherwise promise. Scope says so as an unproven ``durability`` check naming the table (the target
stays valid: nothing is refused), and the run's summary says it beside its count."""

from __future__ import annotations

from harness.backfill import BackfillOptions, run_backfill
from harness.profile import parse_profile
from harness.settings import resolve
from harness.steps.scope import scope

PROFILE = """
name: unlogged
provider: {model: hash-embed:384}
chunks: {table: notes, id: id, text: body, collection_name: notes}
embeddings: {table: note_vectors, key: note_id, vector: embedding, model: model}
"""
INLINE = """
name: unlogged
provider: {model: hash-embed:384}
chunks: {table: notes, id: id, text: body, collection_name: notes}
embeddings: {vector: embedding, model: model}
"""


def _settings(db, url, text=PROFILE):
    return resolve(parse_profile(text, env={}), database_url=db.dsn, env={"OLLAMA_HOST": url})


def _durability(db, url, text=PROFILE):
    result = scope(_settings(db, url, text), "notes", check_contract=False)
    return result, next((c for c in result.checks if c.check == "durability"), None)


def _notes(db, unlogged_vectors: bool, inline: bool = False) -> None:
    extra = ", embedding vector(384), model text" if inline else ""
    db.execute(f"CREATE {'UNLOGGED ' if inline else ''}TABLE notes (id int PRIMARY KEY, body text NOT NULL{extra})")
    db.execute("INSERT INTO notes SELECT i, 'note number ' || i FROM generate_series(1, 5) i")
    if not inline:
        db.execute(f"CREATE {'UNLOGGED ' if unlogged_vectors else ''}TABLE note_vectors (note_id int PRIMARY KEY "
                   "REFERENCES notes, embedding vector(384), model text)")


def test_scope_says_an_unlogged_embedding_table_loses_its_vectors_in_a_crash(empty_db, embed_server):
    _notes(empty_db, unlogged_vectors=True)
    result, check = _durability(empty_db, embed_server.url)
    assert result.ok and check is not None and check.status.value == "unproven", check
    assert "note_vectors is UNLOGGED" in check.note and "crash" in check.note, check.note


def test_the_run_says_it_beside_its_count(empty_db, embed_server):
    _notes(empty_db, unlogged_vectors=True)
    summary = run_backfill(_settings(empty_db, embed_server.url), BackfillOptions(collection="notes", progress=False))
    assert summary.embedded == 5 and any("note_vectors is UNLOGGED" in n for n in summary.notes), summary.notes


def test_an_unlogged_chunk_table_holding_an_inline_vector_is_said(empty_db, embed_server):
    _notes(empty_db, unlogged_vectors=False, inline=True)
    check = _durability(empty_db, embed_server.url, INLINE)[1]
    assert check is not None and "notes is UNLOGGED" in check.note, check


def test_an_unlogged_partition_is_named(empty_db, embed_server):
    empty_db.execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)")
    empty_db.execute("INSERT INTO notes SELECT i, 'note number ' || i FROM generate_series(1, 5) i")
    empty_db.execute("CREATE TABLE note_vectors (note_id int, embedding vector(384), model text) PARTITION BY RANGE (note_id)")
    empty_db.execute("CREATE TABLE note_vectors_low PARTITION OF note_vectors FOR VALUES FROM (0) TO (3)")
    empty_db.execute("CREATE UNLOGGED TABLE note_vectors_high PARTITION OF note_vectors FOR VALUES FROM (3) TO (100)")
    check = _durability(empty_db, embed_server.url)[1]
    assert check is not None and "note_vectors_high is UNLOGGED" in check.note and "_low" not in check.note, check


def test_a_logged_table_has_no_durability_note(empty_db, embed_server):
    _notes(empty_db, unlogged_vectors=False)
    assert _durability(empty_db, embed_server.url)[1] is None
