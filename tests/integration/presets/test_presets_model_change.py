"""A model change on a store a library owns, done the library's way; afterwards the library's own search is right."""

import pytest

pytestmark = pytest.mark.slow  # builds a store with the library, backfills and swaps through the CLI

NEW_MODEL = "hash-embed:768"


def test_langchain_model_change_into_a_new_collection_then_swap_and_rollback(langchain_store, cli):
    env = {**langchain_store.env, "EMBED_DIMENSIONS": ""}
    result = cli("backfill", "--profile", "langchain", "--collection", "licenses", "--into", "licenses_v2",
                 "--model", NEW_MODEL, "--json", env=env)
    assert result.code == 0, result.out + result.err
    assert result.json["copied"] == 12 and result.json["embedded"] == 12
    # the library's way: a new langchain_pg_collection row holding its own embeddings; the live one untouched
    assert langchain_store.db.scalar("SELECT count(*) FROM langchain_pg_collection") == 2
    doc = langchain_store.docs[4]
    query = doc.body[:120]
    assert doc.source in langchain_store.search(query, collection="licenses_v2", model=NEW_MODEL)

    swapped = cli("swap", "--profile", "langchain", "--from", "licenses_v2", "--to", "licenses", "--model", NEW_MODEL,
                  "--json", env=env)
    assert swapped.code == 0, swapped.out + swapped.err
    # PGVector(collection_name="licenses") now reads the 768-dimensional vectors
    assert doc.source in langchain_store.search(query, model=NEW_MODEL)
    assert langchain_store.db.scalar("SELECT count(*) FROM langchain_pg_embedding e JOIN langchain_pg_collection c "
                           "ON c.uuid = e.collection_id WHERE c.name = 'licenses' AND vector_dims(e.embedding) = 768") == 12

    back = cli("swap", "--profile", "langchain", "--rollback", "--to", "licenses", "--json", env=env)
    assert back.code == 0, back.out + back.err
    assert doc.source in langchain_store.search(query)  # the old model's vectors are live again
    assert langchain_store.db.scalar("SELECT count(*) FROM langchain_pg_embedding e JOIN langchain_pg_collection c "
                           "ON c.uuid = e.collection_id WHERE c.name = 'licenses' AND vector_dims(e.embedding) = 384") == 12


@pytest.mark.parametrize("preset", ["langchain", "llamaindex"])
def test_engine_refill_of_lost_vectors_matches_what_the_library_wrote(preset, request, cli):
    store = request.getfixturevalue(f"{preset}_store")
    table = {"langchain": "langchain_pg_embedding", "llamaindex": "data_licenses"}[preset]
    with store.db.connect() as conn:
        before = dict(conn.execute(f"SELECT id, embedding::text FROM {table}").fetchall())
    store.db.execute(f"UPDATE {table} SET embedding = NULL")  # a restore that lost every vector
    result = cli("backfill", "--profile", preset, "--collection", "licenses", "--json", env=store.env)
    assert result.code == 0, result.out + result.err
    assert result.json["embedded"] == len(before) > 0
    with store.db.connect() as conn:
        after = dict(conn.execute(f"SELECT id, embedding::text FROM {table}").fetchall())
    # the engine embeds exactly what the library embedded (LlamaIndex: metadata lines, a blank line, the text)
    assert after == before
    doc = store.docs[3]
    assert store.expect(doc) in store.search(doc.title)
