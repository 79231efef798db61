"""A model change on a store a library owns, done the library's way; afterwards the library's own search is right."""

import pytest

pytestmark = pytest.mark.slow  # builds a store with the library, backfills and swaps through the CLI

NEW_MODEL = "hash-embed:768"


def test_langchain_model_change_into_a_new_collection_then_swap_and_rollback(langchain_store, cli, empty_db):
    env = {**langchain_store.env, "EMBED_DIMENSIONS": ""}
    result = cli("backfill", "--profile", "langchain", "--collection", "licenses", "--into", "licenses_v2",
                 "--model", NEW_MODEL, "--json", env=env)
    assert result.code == 0, result.out + result.err
    assert result.json["copied"] == 12 and result.json["embedded"] == 12
    # the library's way: a new langchain_pg_collection row holding its own embeddings; the live one untouched
    assert empty_db.scalar("SELECT count(*) FROM langchain_pg_collection") == 2
    doc = langchain_store.docs[4]
    query = doc.body[:120]
    assert doc.source in langchain_store.search(query, collection="licenses_v2", model=NEW_MODEL)

    swapped = cli("swap", "--profile", "langchain", "--from", "licenses_v2", "--to", "licenses", "--model", NEW_MODEL,
                  "--json", env=env)
    assert swapped.code == 0, swapped.out + swapped.err
    # PGVector(collection_name="licenses") now reads the 768-dimensional vectors
    assert doc.source in langchain_store.search(query, model=NEW_MODEL)
    assert empty_db.scalar("SELECT count(*) FROM langchain_pg_embedding e JOIN langchain_pg_collection c "
                           "ON c.uuid = e.collection_id WHERE c.name = 'licenses' AND vector_dims(e.embedding) = 768") == 12

    back = cli("swap", "--profile", "langchain", "--rollback", "--to", "licenses", "--json", env=env)
    assert back.code == 0, back.out + back.err
    assert doc.source in langchain_store.search(query)  # the old model's vectors are live again
    assert empty_db.scalar("SELECT count(*) FROM langchain_pg_embedding e JOIN langchain_pg_collection c "
                           "ON c.uuid = e.collection_id WHERE c.name = 'licenses' AND vector_dims(e.embedding) = 384") == 12
