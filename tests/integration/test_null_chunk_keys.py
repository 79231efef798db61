"""A chunk whose ``chunks.id`` is NULL names no chunk: no vector can be joined to it, and the engine's keyset pages
never pass it. Scope and the run refuse, in numbers, before anything is written."""

from __future__ import annotations

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.errors import RefusedError
from harness.profile import parse_profile
from harness.settings import resolve

PROFILE = """
name: null-keys
provider: {model: hash-embed:384}
chunks: {table: notes, id: uid, text: body, collection_name: notes}
embeddings: {table: note_vectors, key: note_uid, vector: embedding, model: model}
"""


@pytest.mark.parametrize("index", ["UNIQUE", ""], ids=["unique-index", "no-index"])
def test_chunks_without_a_key_are_refused_in_numbers_not_embedded_for_ever(index, empty_db, embed_server):
    # A key column added later and filled for some rows (uid uuid UNIQUE: a unique index lets NULLs repeat): the
    # run never ended, embedding the chunks without a key page after page.
    empty_db.execute(f"CREATE TABLE notes (id int PRIMARY KEY, uid uuid {index}, body text NOT NULL)")
    empty_db.execute("INSERT INTO notes SELECT i, CASE WHEN i > 3 THEN gen_random_uuid() END, 'note number ' || i "
                     "FROM generate_series(1, 8) i")
    empty_db.execute("CREATE TABLE note_vectors (note_uid uuid, embedding vector(384), model text)")
    settings = resolve(parse_profile(PROFILE, env={}), database_url=empty_db.dsn, env={"OLLAMA_HOST": embed_server.url})
    with pytest.raises(RefusedError) as refused:
        run_backfill(settings, BackfillOptions(collection="notes", batch_size=4, progress=False))
    assert "3 of the 8 chunks have no notes.uid (NULL)" in str(refused.value), str(refused.value)
    assert empty_db.scalar("SELECT count(*) FROM note_vectors") == 0
