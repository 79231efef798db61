"""A column the engine writes with each vector that the database generates (GENERATED ALWAYS AS ..., or an identity
GENERATED ALWAYS) can be set by no write: every command refuses it, naming the profile key, before anything is
written (the input hash's own rule, ``introspect.missing_names``, for every column the engine writes)."""

from __future__ import annotations

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.errors import HarnessError
from harness.profile import parse_profile
from harness.settings import resolve

PROFILE = """
name: generated
provider: {model: hash-embed:384}
chunks: {table: notes, id: id, text: body, collection_name: notes}
embeddings: {table: note_vectors, key: note_id, vector: VECTOR, model: model}
"""


def _tables(db, model: str = "model text", extra: str = "") -> None:
    db.execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)")
    db.execute(f"CREATE TABLE note_vectors (note_id int PRIMARY KEY REFERENCES notes, embedding vector(384), {model}"
               f"{extra})")
    db.execute("INSERT INTO notes SELECT i, 'note number ' || i FROM generate_series(1, 8) i")


def _refusal(db, url, vector: str = "embedding") -> str:
    settings = resolve(parse_profile(PROFILE.replace("VECTOR", vector), env={}), database_url=db.dsn,
                       env={"OLLAMA_HOST": url})
    with pytest.raises(HarnessError) as refused:
        run_backfill(settings, BackfillOptions(collection="notes", batch_size=4, progress=False))
    assert db.scalar("SELECT count(*) FROM note_vectors") == 0
    return str(refused.value)


def test_a_model_column_the_database_generates_is_refused_naming_the_key(empty_db, embed_server):
    # A constant the database writes whatever model made the vector: the run stopped at its first batch with
    # 'column "model" is a generated column', and verify's model check passed on it for any vector.
    _tables(empty_db, model="model text GENERATED ALWAYS AS ('hash-embed:384') STORED")
    refusal = _refusal(empty_db, embed_server.url)
    assert "profile key 'embeddings.model' names column 'model', which the database generates" in refusal, refusal


def test_a_generated_halfvec_copy_named_as_the_vector_is_refused_naming_the_key(empty_db, embed_server):
    _tables(empty_db, extra=", embedding_half halfvec(384) GENERATED ALWAYS AS (embedding::halfvec(384)) STORED")
    refusal = _refusal(empty_db, embed_server.url, vector="embedding_half")
    assert "profile key 'embeddings.vector' names column 'embedding_half', which the database generates" in refusal, \
        refusal
