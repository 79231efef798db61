"""--into and swap on every shape: a chunk collection column is enough; shapes without one are refused up front
(scope and backfill alike) with the command that works there."""

import pytest

from harness.embedserver import EmbeddingServer

from ..conftest import TEST_MODEL

NEW_MODEL = "hash-embed-v2:384"

NO_EMBEDDING_COLLECTION = """
CREATE TABLE chunks (id bigserial PRIMARY KEY, corpus text NOT NULL, body text NOT NULL);
CREATE TABLE chunk_vectors (chunk_id bigint PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
                            embedding vector(384), model text, content_hash text);
INSERT INTO chunks (corpus, body) SELECT 'docs', 'chunk number ' || g FROM generate_series(1, 30) g;
"""
NO_EMBEDDING_COLLECTION_PROFILE = """
name: no-embedding-collection
provider: {model: "${EMBED_MODEL}"}
chunks: {table: chunks, text: body, collection: corpus}
embeddings: {table: chunk_vectors, key: chunk_id, model: model, input_hash: content_hash}
"""

FIXED_NAME = """
CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL, embedding vector(384), model text);
INSERT INTO notes (body) SELECT 'note ' || g FROM generate_series(1, 12) g;
"""
INLINE_PROFILE = """
name: inline-notes
provider: {model: "${EMBED_MODEL}"}
chunks: {table: notes, text: body, collection_name: notes}
embeddings: {model: model}
"""


@pytest.fixture(scope="module")
def v2_server():
    with EmbeddingServer(models=[TEST_MODEL], aliases={NEW_MODEL: TEST_MODEL}) as server:
        yield server


def _run(cli, tmp_path, profile_text, db, url, model, *args):
    path = tmp_path / "profile.yaml"
    path.write_text(profile_text)
    return cli(*args[:1], "--profile", path, *args[1:], "--json",
               env={"DATABASE_URL": db.dsn, "OLLAMA_HOST": url, "EMBED_MODEL": model})


def test_into_then_swap_without_an_embedding_collection_column(cli, tmp_path, empty_db, v2_server):
    empty_db.execute(NO_EMBEDDING_COLLECTION)
    run = lambda model, *args: _run(cli, tmp_path, NO_EMBEDDING_COLLECTION_PROFILE, empty_db, v2_server.url, model, *args)
    assert run(TEST_MODEL, "backfill", "--collection", "docs").code == 0
    scope = run(NEW_MODEL, "scope", "--collection", "docs", "--into", "docs_v2", "--approve-model-change")
    assert scope.code == 0, scope.json["reason"]
    result = run(NEW_MODEL, "backfill", "--collection", "docs", "--into", "docs_v2")
    assert result.code == 0, result.err
    assert (result.json["copied"], result.json["embedded"]) == (30, 30)
    swapped = run(NEW_MODEL, "swap", "--from", "docs_v2", "--to", "docs")
    assert swapped.code == 0, swapped.err
    assert empty_db.scalar("SELECT array_agg(DISTINCT v.model) FROM chunks c JOIN chunk_vectors v ON v.chunk_id = c.id "
                           "WHERE c.corpus = 'docs'") == [NEW_MODEL]
    assert empty_db.scalar("SELECT count(*) FROM chunks WHERE corpus = 'docs__retired'") == 30
    dropped = run(NEW_MODEL, "swap", "--drop-retired", "--to", "docs")
    assert dropped.code == 0, dropped.err
    assert empty_db.scalar("SELECT count(*) FROM chunk_vectors") == 30


def test_into_on_a_fixed_collection_name_is_refused_by_scope_with_the_command_that_works(cli, tmp_path, empty_db, v2_server):
    empty_db.execute(FIXED_NAME)
    scope = _run(cli, tmp_path, INLINE_PROFILE, empty_db, v2_server.url, NEW_MODEL,
                 "scope", "--collection", "notes", "--into", "notes_v2", "--approve-model-change")
    assert scope.code != 0 and "Scope ok" not in scope.out
    check = next(c for c in scope.json["checks"] if c["check"] == "new collection")
    assert check["status"] == "failed" and "inline column" in check["found"] and "collection_name" in check["found"]
    assert "--approve-model-change" in check["found"]


def test_into_on_a_fixed_collection_name_is_refused_by_backfill_before_writing(cli, tmp_path, empty_db, v2_server):
    empty_db.execute(FIXED_NAME)
    result = _run(cli, tmp_path, INLINE_PROFILE, empty_db, v2_server.url, NEW_MODEL,
                  "backfill", "--collection", "notes", "--into", "notes_v2")
    assert result.code == 2
    assert "new collection" in result.err and "--approve-model-change" in result.err
    assert empty_db.scalar("SELECT count(*) FROM notes WHERE embedding IS NOT NULL") == 0


def test_the_command_that_works_on_a_fixed_collection_name_works(cli, tmp_path, empty_db, v2_server):
    empty_db.execute(FIXED_NAME)
    run = lambda model, *args: _run(cli, tmp_path, INLINE_PROFILE, empty_db, v2_server.url, model, *args)
    assert run(TEST_MODEL, "backfill", "--collection", "notes").code == 0
    result = run(NEW_MODEL, "backfill", "--collection", "notes", "--approve-model-change")
    assert result.code == 0, result.err
    assert result.json["embedded"] == 12
    assert empty_db.scalar("SELECT array_agg(DISTINCT model) FROM notes") == [NEW_MODEL]


KEYED_BY_A_COLLECTION_TABLE = """
CREATE TABLE shelves (id text PRIMARY KEY, name text NOT NULL);
INSERT INTO shelves VALUES ('s1', 'docs');
CREATE TABLE chunks (id bigserial PRIMARY KEY, shelf text NOT NULL, body text NOT NULL);
CREATE TABLE chunk_vectors (chunk_id bigint PRIMARY KEY REFERENCES chunks(id), embedding vector(384), model text);
INSERT INTO chunks (shelf, body) SELECT 's1', 'chunk number ' || g FROM generate_series(1, 6) g;
"""
KEYED_PROFILE = """
name: shelved
provider: {model: "${EMBED_MODEL}"}
chunks: {table: chunks, text: body, collection: shelf, collection_table: {table: shelves, key: id, name: name}}
embeddings: {table: chunk_vectors, key: chunk_id, model: model}
"""


def test_into_where_chunks_key_a_collection_table_is_refused_before_writing(cli, tmp_path, empty_db, v2_server):
    """The copies would hold the new name in the key column, which no shelves row has: a collection of no chunks,
    'Done. Embedded 0/0 rows.', and six chunks left in no collection."""
    empty_db.execute(KEYED_BY_A_COLLECTION_TABLE)
    run = lambda model, *args: _run(cli, tmp_path, KEYED_PROFILE, empty_db, v2_server.url, model, *args)
    assert run(TEST_MODEL, "backfill", "--collection", "docs").code == 0
    result = run(NEW_MODEL, "backfill", "--collection", "docs", "--into", "docs_v2")
    assert result.code == 2 and "new collection" in result.err and "shelves" in result.err, result.out + result.err
    assert empty_db.scalar("SELECT count(*) FROM chunks") == 6


def test_a_swap_says_the_rows_other_tables_reference_stay_with_the_retired_vectors(cli, tmp_path, empty_db, v2_server):
    # 'Swapped: docs_v2 is now docs' and nothing more: the application's ratings still referenced the old vectors,
    # now docs__retired's, and swap --drop-retired would delete them with those (ON DELETE CASCADE)
    empty_db.execute(NO_EMBEDDING_COLLECTION)
    run = lambda model, *args: _run(cli, tmp_path, NO_EMBEDDING_COLLECTION_PROFILE, empty_db, v2_server.url, model, *args)
    assert run(TEST_MODEL, "backfill", "--collection", "docs").code == 0
    empty_db.execute("CREATE TABLE ratings (chunk_id bigint REFERENCES chunk_vectors (chunk_id) ON DELETE CASCADE, "
                     "stars int); INSERT INTO ratings SELECT chunk_id, 5 FROM chunk_vectors")
    assert run(NEW_MODEL, "backfill", "--collection", "docs", "--into", "docs_v2").code == 0
    swapped = run(NEW_MODEL, "swap", "--from", "docs_v2", "--to", "docs")
    assert swapped.code == 0, swapped.err
    assert any("other tables reference chunk_vectors's rows: theirs still reference the old vectors, now "
               "'docs__retired''s" in n for n in swapped.json["notes"]), swapped.json["notes"]
