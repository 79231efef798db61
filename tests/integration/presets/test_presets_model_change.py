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


def test_llamaindex_model_change_into_a_new_table_then_swap_and_rollback(llamaindex_store, cli):
    db, env = llamaindex_store.db, {**llamaindex_store.env, "EMBED_DIMENSIONS": ""}
    result = cli("backfill", "--profile", "llamaindex", "--collection", "licenses", "--into", "licenses_v2",
                 "--model", NEW_MODEL, "--json", env=env)
    assert result.code == 0, result.out + result.err
    assert result.json["copied"] == 12 and result.json["embedded"] == 12
    # the library's way: a new PGVectorStore table, shaped like the live one, its vector column typed for the new model
    assert db.scalar("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                     "WHERE attrelid = 'data_licenses_v2'::regclass AND attname = 'embedding'") == "vector(768)"
    assert db.scalar("SELECT count(*) FROM data_licenses WHERE vector_dims(embedding) = 384") == 12  # live untouched
    # the engine embedded what LlamaIndex embeds (metadata lines, a blank line, the text): its own retriever finds them
    doc = llamaindex_store.docs[4]
    query = doc.body[:120]
    assert doc.file_name in llamaindex_store.search(query, collection="licenses_v2", model=NEW_MODEL)

    swapped = cli("swap", "--profile", "llamaindex", "--from", "licenses_v2", "--to", "licenses", "--model", NEW_MODEL,
                  "--json", env=env)
    assert swapped.code == 0, swapped.out + swapped.err
    # PGVectorStore(table_name="licenses") now reads the 768-dimensional vectors; the old table is kept for rollback
    assert doc.file_name in llamaindex_store.search(query, model=NEW_MODEL)
    assert db.scalar("SELECT count(*) FROM data_licenses WHERE vector_dims(embedding) = 768") == 12
    assert db.scalar("SELECT count(*) FROM data_licenses__retired WHERE vector_dims(embedding) = 384") == 12

    back = cli("swap", "--profile", "llamaindex", "--rollback", "--to", "licenses", "--json", env=env)
    assert back.code == 0, back.out + back.err
    assert doc.file_name in llamaindex_store.search(query)  # the old model's vectors are live again
    assert db.scalar("SELECT count(*) FROM data_licenses WHERE vector_dims(embedding) = 384") == 12
    assert db.scalar("SELECT to_regclass('data_licenses_v2') IS NOT NULL") is True

    again = cli("swap", "--profile", "llamaindex", "--from", "licenses_v2", "--to", "licenses", "--model", NEW_MODEL,
                "--json", env=env)
    dropped = cli("swap", "--profile", "llamaindex", "--drop-retired", "--to", "licenses", "--json", env=env)
    assert again.code == 0 and dropped.code == 0, dropped.out + dropped.err
    assert db.scalar("SELECT to_regclass('data_licenses__retired') IS NULL") is True
    assert doc.file_name in llamaindex_store.search(query, model=NEW_MODEL)


def test_llamaindex_swap_refuses_a_new_table_missing_a_live_node(llamaindex_store, cli):
    env = {**llamaindex_store.env, "EMBED_DIMENSIONS": ""}
    result = cli("backfill", "--profile", "llamaindex", "--collection", "licenses", "--into", "licenses_v2",
                 "--model", NEW_MODEL, "--json", env=env)
    assert result.code == 0, result.out + result.err
    llamaindex_store.db.execute("DELETE FROM data_licenses_v2 WHERE id = (SELECT min(id) FROM data_licenses_v2)")
    swapped = cli("swap", "--profile", "llamaindex", "--from", "licenses_v2", "--to", "licenses", "--model", NEW_MODEL,
                  "--json", env=env)
    assert swapped.code != 0 and "matches_live" in swapped.out + swapped.err, swapped.out + swapped.err
    assert llamaindex_store.db.scalar("SELECT count(*) FROM data_licenses WHERE vector_dims(embedding) = 384") == 12
