"""``chunks.text`` names what the application embeds: a column whose text form is Postgres's encoding of the value
(bytea's hex, a tsvector's lexemes, an array literal) is no such text. Embedded as is, every vector was of that
encoding, recompute re-embedded the same encoding and agreed, and verify said DONE over vectors of nothing the
application searches with: every command refuses it, naming the key."""

from __future__ import annotations

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.errors import HarnessError
from harness.profile import parse_profile
from harness.settings import resolve

PROFILE = """
name: encoded
provider: {model: hash-embed:384}
chunks: {table: notes, id: id, text: TEXT, collection_name: notes}
embeddings: {table: note_vectors, key: note_id, vector: embedding, model: model}
"""


@pytest.mark.parametrize("column, sqltype, value", [
    ("raw", "bytea", "convert_to('note number ' || i, 'UTF8')"),
    ("fts", "tsvector", "to_tsvector('english', 'note number ' || i)"),
    ("paragraphs", "text[]", "ARRAY['note', 'number ' || i]"),
])
@pytest.mark.parametrize("text", ["{column}", '["title: {{title}}", "{{{column}}}"]'], ids=["column", "labelled-part"])
def test_a_text_column_whose_text_form_is_an_encoding_is_refused_naming_the_key(column, sqltype, value, text, empty_db,
                                                                                 embed_server):
    empty_db.execute(f"CREATE TABLE notes (id int PRIMARY KEY, title text, {column} {sqltype})")
    empty_db.execute(f"INSERT INTO notes SELECT i, 'title ' || i, {value} FROM generate_series(1, 6) i")
    empty_db.execute("CREATE TABLE note_vectors (note_id int PRIMARY KEY REFERENCES notes, embedding vector(384), "
                     "model text)")
    profile = PROFILE.replace("TEXT", text.format(column=column))
    settings = resolve(parse_profile(profile, env={}), database_url=empty_db.dsn, env={"OLLAMA_HOST": embed_server.url})
    with pytest.raises(HarnessError) as refused:
        run_backfill(settings, BackfillOptions(collection="notes", batch_size=3, progress=False))
    assert f"names column {column!r}, which is of type {sqltype}" in str(refused.value), str(refused.value)
    assert empty_db.scalar("SELECT count(*) FROM note_vectors") == 0
