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


@pytest.mark.parametrize("model, corpus, said", [
    ("varchar(10)", "text", "embeddings.model: 'hash-embed:384' (14 characters) does not fit note_vectors.model "
                            "(character varying(10))"),
    ("text", "varchar(4)", "embeddings.collection: 'handbook' (8 characters) does not fit note_vectors.corpus "
                           "(character varying(4))"),
], ids=["model", "collection"])
def test_a_name_longer_than_its_column_holds_is_refused_naming_both(model, corpus, said, empty_db, embed_server):
    empty_db.execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL, corpus text NOT NULL)")
    empty_db.execute("INSERT INTO notes SELECT i, 'note number ' || i, 'handbook' FROM generate_series(1, 6) i")
    empty_db.execute(f"CREATE TABLE note_vectors (note_id int PRIMARY KEY REFERENCES notes, corpus {corpus}, "
                     f"embedding vector(384), model {model})")
    settings = resolve(parse_profile(PROFILE, env={}), database_url=empty_db.dsn, env={"OLLAMA_HOST": embed_server.url})
    with pytest.raises(RefusedError) as refused:
        run_backfill(settings, BackfillOptions(collection="handbook", batch_size=3, progress=False))
    assert said in str(refused.value), str(refused.value)
    assert empty_db.scalar("SELECT count(*) FROM note_vectors") == 0
