"""An embedding table partitioned by collection (a partition per tenant or corpus) that has no partition for the
collection a run writes: the run's error names the value that found no partition."""

from __future__ import annotations

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.errors import HarnessError
from harness.profile import parse_profile
from harness.settings import resolve

PROFILE = """
name: partitioned
provider: {model: hash-embed:384}
chunks: {table: notes, id: id, text: body, collection: corpus}
embeddings: {table: note_vectors, key: note_id, vector: embedding, model: model, collection: corpus}
"""


def test_a_collection_without_a_partition_of_the_embedding_table_is_an_error_naming_it(empty_db, embed_server):
    # The run stopped with 'no partition of relation "note_vectors" found for row' alone: which value found none
    # (Postgres's DETAIL says it) was cut off with the rest of the message.
    empty_db.execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL, corpus text NOT NULL)")
    empty_db.execute("INSERT INTO notes SELECT i, 'note number ' || i, 'handbook' FROM generate_series(1, 6) i")
    empty_db.execute("CREATE TABLE note_vectors (note_id int, corpus text, embedding vector(384), model text, "
                     "PRIMARY KEY (corpus, note_id)) PARTITION BY LIST (corpus)")
    empty_db.execute("CREATE TABLE note_vectors_wiki PARTITION OF note_vectors FOR VALUES IN ('wiki')")
    settings = resolve(parse_profile(PROFILE, env={}), database_url=empty_db.dsn, env={"OLLAMA_HOST": embed_server.url})
    with pytest.raises(HarnessError) as failed:
        run_backfill(settings, BackfillOptions(collection="handbook", batch_size=3, progress=False))
    message = str(failed.value)
    assert "\n" not in message and "(corpus) = (handbook)" in message, message
