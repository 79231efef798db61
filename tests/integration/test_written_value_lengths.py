"""The run's own strings (the model's name, the collection's) must fit the columns they are written to: a
``varchar(n)`` too short stopped the run at its first batch with a bare 'value too long for type character
varying(10)', naming neither the column nor the value. Refused before anything is written, naming both."""

from __future__ import annotations

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.errors import RefusedError
from harness.profile import parse_profile
from harness.settings import resolve

PROFILE = """
name: short-columns
provider: {model: hash-embed:384}
chunks: {table: notes, id: id, text: body, collection: corpus}
embeddings: {table: note_vectors, key: note_id, vector: embedding, model: model, collection: corpus}
"""


def _refusal(db, server, model: str, corpus: str) -> str:
    """Six notes of collection handbook, a vector table with ``model`` and ``corpus`` columns of those types: why the
    engine refuses to backfill them."""
    db.execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL, corpus text NOT NULL)")
    db.execute("INSERT INTO notes SELECT i, 'note number ' || i, 'handbook' FROM generate_series(1, 6) i")
    db.execute(f"CREATE TABLE note_vectors (note_id int PRIMARY KEY REFERENCES notes, corpus {corpus}, "
               f"embedding vector(384), model {model})")
    settings = resolve(parse_profile(PROFILE, env={}), database_url=db.dsn, env={"OLLAMA_HOST": server.url})
    with pytest.raises(RefusedError) as refused:
        run_backfill(settings, BackfillOptions(collection="handbook", batch_size=3, progress=False))
    return str(refused.value)


@pytest.mark.parametrize("model, corpus, said", [
    ("varchar(10)", "text", "embeddings.model: 'hash-embed:384' (14 characters) does not fit note_vectors.model "
                            "(character varying(10))"),
    ("text", "varchar(4)", "embeddings.collection: 'handbook' (8 characters) does not fit note_vectors.corpus "
                           "(character varying(4))"),
], ids=["model", "collection"])
def test_a_name_longer_than_its_column_holds_is_refused_naming_both(model, corpus, said, empty_db, embed_server):
    assert said in _refusal(empty_db, embed_server, model, corpus)
    assert empty_db.scalar("SELECT count(*) FROM note_vectors") == 0


@pytest.mark.parametrize("types, model, corpus, said", [
    ("CREATE TYPE embed_model AS ENUM ('nomic-embed-text', 'mxbai-embed-large')", "embed_model", "text",
     "embeddings.model: 'hash-embed:384' is no value of note_vectors.model (embed_model): invalid input value for enum "
     "embed_model"),
    ("CREATE DOMAIN corpus_name AS text CHECK (VALUE ~ '^tenant_')", "text", "corpus_name",
     "embeddings.collection: 'handbook' is no value of note_vectors.corpus (corpus_name): value for domain corpus_name "
     "violates check constraint"),
], ids=["enum", "domain"])
def test_a_name_that_is_no_value_of_its_columns_type_is_refused_naming_both(types, model, corpus, said, empty_db,
                                                                            embed_server):
    # An enum of the application's models, a domain checking a collection's form: the run stopped at its first batch
    # ('invalid input value for enum embed_model') after scope said ok.
    empty_db.execute(types)
    assert said in _refusal(empty_db, embed_server, model, corpus)
    assert empty_db.scalar("SELECT count(*) FROM note_vectors") == 0


def test_into_a_new_collection_that_is_no_label_of_the_chunks_enum_is_refused_naming_it(empty_db, embed_server):
    # --into copies the chunks under the new name: a Prisma enum of collections has no label for it, and the copy
    # stopped with a bare 'invalid input value for enum' after scope said ok.
    empty_db.execute("CREATE TYPE corpus_t AS ENUM ('handbook', 'wiki')")
    empty_db.execute("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL, corpus corpus_t NOT NULL)")
    empty_db.execute("INSERT INTO notes (body, corpus) SELECT 'note number ' || i, 'handbook' FROM generate_series(1, 6) i")
    empty_db.execute("CREATE TABLE note_vectors (note_id int PRIMARY KEY, corpus text, embedding vector(384), model text)")
    settings = resolve(parse_profile(PROFILE, env={}), database_url=empty_db.dsn, env={"OLLAMA_HOST": embed_server.url})
    with pytest.raises(RefusedError) as refused:
        run_backfill(settings, BackfillOptions(collection="handbook", into="handbook_v2", progress=False))
    assert ("chunks.collection: 'handbook_v2' is no value of notes.corpus (corpus_t): invalid input value for enum "
            "corpus_t") in str(refused.value), str(refused.value)
    assert empty_db.scalar("SELECT count(*) FROM notes") == 6
