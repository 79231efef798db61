"""halfvec columns (Open WebUI above 2000 dimensions, any app halving its storage): the engine writes them, on the
numpy fast path (text and integer keys) and through psycopg's dumpers (a uuid key)."""

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.profile import parse_profile
from harness.provider import OllamaProvider
from harness.settings import resolve

PROFILE = """
name: halves
provider: {model: hash-embed:8, dimensions: 8}
chunks: {table: passage, id: id, text: body, collection: collection_name}
embeddings: {vector: embedding}
"""


@pytest.mark.parametrize("key", ["text", "uuid"])
def test_the_engine_fills_a_halfvec_column_with_the_models_vectors_as_halves(empty_db, embed_server, key):
    ids = "'p' || g" if key == "text" else "gen_random_uuid()"
    empty_db.execute(f"""
        CREATE TABLE passage (id {key} PRIMARY KEY, collection_name text NOT NULL, body text, embedding halfvec(8));
        INSERT INTO passage SELECT {ids}, 'kb', 'passage number ' || g || ' about leave' FROM generate_series(1, 10) g;
    """)
    settings = resolve(parse_profile(PROFILE, env={}), database_url=empty_db.dsn, provider_url=embed_server.url)
    summary = run_backfill(settings, BackfillOptions(collection="kb", batch_size=4, progress=False))
    assert summary.embedded == 10
    assert empty_db.scalar("SELECT count(*) FROM passage WHERE embedding IS NULL") == 0
    body = "passage number 3 about leave"
    stored = empty_db.scalar(f"SELECT embedding::text FROM passage WHERE body = '{body}'")
    with OllamaProvider(embed_server.url, "hash-embed:8") as provider:
        expected = provider.embed([body]).vectors[0].tolist()
    assert [float(x) for x in stored.strip("[]").split(",")] == pytest.approx(expected, abs=1e-3)
