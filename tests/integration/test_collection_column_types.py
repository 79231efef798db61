"""A collection column of a type the run's own name is not a value of in Python (a uuid: R2R's and many apps'
collection ids): the run sends it as text, cast to the column's type in the statement."""

from __future__ import annotations

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.profile import parse_profile
from harness.settings import resolve

PROFILE = """
name: uuid-collections
provider: {model: hash-embed:384}
chunks: {table: notes, id: id, text: body, collection: collection_id}
embeddings: {table: note_vectors, key: note_id, vector: embedding, model: model, collection: collection_id}
"""


@pytest.mark.parametrize("sqltype, collection", [("uuid", "11111111-1111-1111-1111-111111111111"), ("int", "7")])
def test_vectors_are_filed_under_a_collection_id_not_a_crash_of_the_copy(sqltype, collection, empty_db, embed_server):
    # The binary COPY asked psycopg's uuid dumper to send the collection's name, a str: the run crashed with
    # "AttributeError: 'str' object has no attribute 'int'" at its first batch.
    empty_db.execute(f"CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL, collection_id {sqltype} NOT NULL)")
    empty_db.execute("INSERT INTO notes SELECT i, 'note number ' || i, %s::text::" + sqltype
                     + " FROM generate_series(1, 8) i", (collection,))
    empty_db.execute(f"CREATE TABLE note_vectors (note_id int PRIMARY KEY REFERENCES notes, collection_id {sqltype}, "
                     "embedding vector(384), model text)")
    settings = resolve(parse_profile(PROFILE, env={}), database_url=empty_db.dsn, env={"OLLAMA_HOST": embed_server.url})
    summary = run_backfill(settings, BackfillOptions(collection=collection, batch_size=4, progress=False))
    assert (summary.ok, summary.embedded, summary.after.needed) == (True, 8, 0), summary.line()
    assert empty_db.scalar("SELECT count(*) FROM note_vectors WHERE collection_id::text = %s", (collection,)) == 8
