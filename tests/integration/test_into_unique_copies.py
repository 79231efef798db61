"""--into copies every chunk under the new name with a new key: a unique index of the chunk table that holds neither
the key nor the collection column (a chunk's place in its document, ``UNIQUE (doc, idx)``) then holds each copy's
values twice, and the copy stopped at its first chunk with 'duplicate key value' after scope said ok. Scope's
``new collection copies`` fails naming the index, and the engine refuses before anything is copied."""

from __future__ import annotations

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.errors import RefusedError
from harness.profile import parse_profile
from harness.settings import resolve
from harness.steps.scope import scope

PROFILE = """
name: copies
provider: {model: hash-embed:384}
chunks: {table: notes, id: id, text: body, collection: corpus}
embeddings: {table: note_vectors, key: note_id, vector: embedding, model: model}
"""


def _tables(db, unique: str) -> None:
    db.execute(f"CREATE TABLE notes (id serial PRIMARY KEY, doc int, idx int, body text NOT NULL, corpus text NOT NULL, "
               f"{unique})")
    db.execute("INSERT INTO notes (doc, idx, body, corpus) SELECT i / 3, i % 3, 'note number ' || i, 'handbook' "
               "FROM generate_series(1, 6) i")
    db.execute("CREATE TABLE note_vectors (note_id int PRIMARY KEY, embedding vector(384), model text)")


def _settings(db, url):
    return resolve(parse_profile(PROFILE, env={}), database_url=db.dsn, env={"OLLAMA_HOST": url})


def _copies(db, url):
    result = scope(_settings(db, url), "handbook", into="handbook_v2", check_contract=False)
    return result, next((c for c in result.checks if c.check == "new collection copies"), None)


def test_a_unique_index_without_the_collection_fails_scope_naming_it(empty_db, embed_server):
    _tables(empty_db, "CONSTRAINT doc_place UNIQUE (doc, idx)")
    result, check = _copies(empty_db, embed_server.url)
    assert not result.ok and check is not None and check.status.value == "failed", check
    assert "doc_place" in check.found and "(doc, idx)" in check.found and "6 chunks" in check.found, check.found


def test_the_engine_refuses_it_before_anything_is_copied(empty_db, embed_server):
    _tables(empty_db, "CONSTRAINT doc_place UNIQUE (doc, idx)")
    with pytest.raises(RefusedError) as refused:
        run_backfill(_settings(empty_db, embed_server.url),
                     BackfillOptions(collection="handbook", into="handbook_v2", progress=False))
    assert "doc_place" in str(refused.value)
    assert empty_db.scalar("SELECT count(*) FROM notes") == 6


@pytest.mark.parametrize("unique", ["CONSTRAINT doc_place UNIQUE (corpus, doc, idx)", "UNIQUE (id, doc)"],
                         ids=["with the collection", "with the key"])
def test_a_unique_index_holding_the_collection_or_the_key_lets_copies_in(unique, empty_db, embed_server):
    _tables(empty_db, unique)
    result, check = _copies(empty_db, embed_server.url)
    assert check is None and result.ok, (check, result.reason)


def test_chunks_whose_indexed_values_are_null_are_copied_beside_them(empty_db, embed_server):
    # NULLs are distinct in a unique index (unless NULLS NOT DISTINCT): such chunks are copied without a clash.
    _tables(empty_db, "CONSTRAINT doc_place UNIQUE (doc, idx)")
    empty_db.execute("UPDATE notes SET doc = NULL")
    assert _copies(empty_db, embed_server.url)[1] is None


def test_nulls_not_distinct_clash_too(empty_db, embed_server):
    _tables(empty_db, "CONSTRAINT doc_place UNIQUE NULLS NOT DISTINCT (doc, idx)")
    empty_db.execute("UPDATE notes SET doc = NULL WHERE id = 1")  # its copy's (NULL, 1) is its own again
    check = _copies(empty_db, embed_server.url)[1]
    assert check is not None and "6 chunks" in check.found, check
