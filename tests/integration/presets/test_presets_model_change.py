"""A model change on a store a library owns, done the library's way; afterwards the library's own search is right."""

import pytest

from .conftest import NEW_MODEL, fill_into, swap_in

pytestmark = pytest.mark.slow  # builds a store with the library, backfills and swaps through the CLI



def test_langchain_model_change_into_a_new_collection_then_swap_and_rollback(langchain_store, cli):
    env = {**langchain_store.env, "EMBED_DIMENSIONS": ""}
    result = fill_into(cli, "langchain", "licenses", "licenses_v2", env)
    assert result.json["copied"] == 12 and result.json["embedded"] == 12
    # the library's way: a new langchain_pg_collection row holding its own embeddings; the live one untouched
    assert langchain_store.db.scalar("SELECT count(*) FROM langchain_pg_collection") == 2
    doc = langchain_store.docs[4]
    query = doc.body[:120]
    assert doc.source in langchain_store.search(query, collection="licenses_v2", model=NEW_MODEL)

    swapped = swap_in(cli, "langchain", "licenses_v2", "licenses", env)
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
    result = fill_into(cli, "llamaindex", "licenses", "licenses_v2", env)
    assert result.json["copied"] == 12 and result.json["embedded"] == 12
    # the library's way: a new PGVectorStore table, shaped like the live one, its vector column typed for the new model
    assert db.scalar("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                     "WHERE attrelid = 'data_licenses_v2'::regclass AND attname = 'embedding'") == "vector(768)"
    assert db.scalar("SELECT count(*) FROM data_licenses WHERE vector_dims(embedding) = 384") == 12  # live untouched
    # the engine embedded what LlamaIndex embeds (metadata lines, a blank line, the text): its own retriever finds them
    doc = llamaindex_store.docs[4]
    query = doc.body[:120]
    assert doc.file_name in llamaindex_store.search(query, collection="licenses_v2", model=NEW_MODEL)

    swapped = swap_in(cli, "llamaindex", "licenses_v2", "licenses", env)
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

    again = swap_in(cli, "llamaindex", "licenses_v2", "licenses", env)
    dropped = cli("swap", "--profile", "llamaindex", "--drop-retired", "--to", "licenses", "--json", env=env)
    assert again.code == 0 and dropped.code == 0, dropped.out + dropped.err
    assert db.scalar("SELECT to_regclass('data_licenses__retired') IS NULL") is True
    assert doc.file_name in llamaindex_store.search(query, model=NEW_MODEL)


def test_llamaindex_swap_refuses_a_new_table_missing_a_live_node(llamaindex_store, cli):
    env = {**llamaindex_store.env, "EMBED_DIMENSIONS": ""}
    fill_into(cli, "llamaindex", "licenses", "licenses_v2", env)
    llamaindex_store.db.execute("DELETE FROM data_licenses_v2 WHERE id = (SELECT min(id) FROM data_licenses_v2)")
    swapped = swap_in(cli, "llamaindex", "licenses_v2", "licenses", env)
    assert swapped.code != 0 and "matches_live" in swapped.out + swapped.err, swapped.out + swapped.err
    assert "make it again with backfill --into NEW" in swapped.out + swapped.err  # not --sync: it cannot apply here
    assert llamaindex_store.db.scalar("SELECT count(*) FROM data_licenses WHERE vector_dims(embedding) = 384") == 12


def _pgai_backfill_into_v2(store, cli):
    env = {**store.env, "EMBED_DIMENSIONS": ""}
    result = fill_into(cli, "pgai", "blog", "blog_embeddings_v2", env)
    return env, result.json


def test_pgai_model_change_into_a_new_vectorizer_destination_then_swap_and_rollback(pgai_titled_store, cli):
    store, db = pgai_titled_store, pgai_titled_store.db
    chunks = db.scalar("SELECT count(*) FROM blog_embeddings_store")
    doc = store.docs[4]
    query = doc.body[:120]
    assert doc.source in store.search(doc.title)
    env, summary = _pgai_backfill_into_v2(store, cli)
    assert summary["copied"] == chunks and summary["embedded"] == chunks
    # pgai's way: a second vectorizer on the same source, destination blog_embeddings_v2 (store + view), the new model
    assert db.scalar("SELECT count(*) FROM ai.vectorizer WHERE config->'embedding'->>'model' = %s "
                     "AND config->'destination'->>'view_name' = 'blog_embeddings_v2'", (NEW_MODEL,)) == 1
    assert db.scalar("SELECT count(*) FROM blog_embeddings_v2_store WHERE vector_dims(embedding) = 768") == chunks
    assert db.scalar("SELECT attnotnull FROM pg_attribute WHERE attrelid = 'blog_embeddings_v2_store'::regclass "
                     "AND attname = 'embedding'") is True  # pgai's shape again once every row has its vector
    assert doc.source in store.search(query, collection="blog_embeddings_v2", model=NEW_MODEL)

    swapped = swap_in(cli, "pgai", "blog_embeddings_v2", "blog_embeddings", env)
    assert swapped.code == 0, swapped.out + swapped.err
    # what a pgai app queries, the view blog_embeddings (and its store), now holds the new model's vectors
    assert doc.source in store.search(query, model=NEW_MODEL)
    assert db.scalar("SELECT count(*) FROM blog_embeddings_store WHERE vector_dims(embedding) = 768") == chunks
    assert db.scalar("SELECT config->'embedding'->>'model' FROM ai.vectorizer "
                     "WHERE config->'destination'->>'target_table' = 'blog_embeddings_store'") == NEW_MODEL
    # pgai's worker keeps both destinations right after the swap: its triggers follow the renamed tables
    from .conftest import pgai_worker

    db.execute("UPDATE blog SET contents = 'Boiling pasta: salt the water, cook nine minutes.' WHERE id = 8")
    db.execute("DELETE FROM blog WHERE id = 9")
    pgai_worker(db.dsn)
    assert db.scalar("SELECT count(*) FROM blog_embeddings_store WHERE id = 9") == 0
    assert db.scalar("SELECT count(*) FROM blog_embeddings__retired_store WHERE id = 9") == 0
    assert db.scalar("SELECT vector_dims(embedding) FROM blog_embeddings_store WHERE id = 8") == 768
    assert db.scalar("SELECT chunk FROM blog_embeddings_store WHERE id = 8").endswith("cook nine minutes.")

    back = cli("swap", "--profile", "pgai", "--rollback", "--to", "blog_embeddings", "--json", env=env)
    assert back.code == 0, back.out + back.err
    # the old vectorizer kept its destination in step meanwhile (row 9 gone, row 8 re-chunked), with the old model
    assert db.scalar("SELECT count(*) FROM blog_embeddings_store WHERE id = 9 OR vector_dims(embedding) <> 384") == 0
    assert db.scalar("SELECT chunk FROM blog_embeddings_store WHERE id = 8").endswith("cook nine minutes.")
    assert doc.source in store.search(doc.title)  # the old model's vectors answer again

    again = swap_in(cli, "pgai", "blog_embeddings_v2", "blog_embeddings", env)
    dropped = cli("swap", "--profile", "pgai", "--drop-retired", "--to", "blog_embeddings", "--json", env=env)
    assert again.code == 0 and dropped.code == 0, again.out + dropped.out + dropped.err
    # pgai's own drop_vectorizer took the retired vectorizer with its store, view and queue
    assert db.scalar("SELECT count(*) FROM ai.vectorizer") == 1
    assert db.scalar("SELECT to_regclass('blog_embeddings__retired') IS NULL AND to_regclass('blog_embeddings__retired_store') IS NULL")
    assert doc.source in store.search(query, model=NEW_MODEL)


def test_pgai_swap_refuses_a_destination_with_a_pending_queue_item(pgai_titled_store, cli):
    db = pgai_titled_store.db
    env, _ = _pgai_backfill_into_v2(pgai_titled_store, cli)
    db.execute("UPDATE blog SET contents = contents || ' Edited.' WHERE id = 2")  # both vectorizers queue it
    swapped = swap_in(cli, "pgai", "blog_embeddings_v2", "blog_embeddings", env)
    assert swapped.code != 0 and "source_coverage" in swapped.out + swapped.err, swapped.out + swapped.err
    assert db.scalar("SELECT count(*) FROM blog_embeddings_store WHERE vector_dims(embedding) = 384") > 0  # nothing swapped


def test_pgai_new_destination_holds_exactly_what_pgais_worker_writes(pgai_titled_store, cli):
    from .conftest import pgai_worker

    db = pgai_titled_store.db
    _pgai_backfill_into_v2(pgai_titled_store, cli)
    with db.connect() as conn:
        engine = dict(((r[0], r[1]), (r[2], r[3])) for r in conn.execute(
            "SELECT id, chunk_seq, chunk, embedding::text FROM blog_embeddings_v2_store").fetchall())
        queue = conn.execute("SELECT format('%I.%I', queue_schema, queue_table) FROM ai.vectorizer "
                             "WHERE config->'destination'->>'view_name' = 'blog_embeddings_v2'").fetchone()[0]
    # pgai's own worker redoes the new destination from the source: every chunk and vector comes out the same
    db.execute("DELETE FROM blog_embeddings_v2_store")
    db.execute(f"INSERT INTO {queue} (id) SELECT id FROM blog")
    pgai_worker(db.dsn)
    with db.connect() as conn:
        worker = dict(((r[0], r[1]), (r[2], r[3])) for r in conn.execute(
            "SELECT id, chunk_seq, chunk, embedding::text FROM blog_embeddings_v2_store").fetchall())
    assert engine == worker and len(engine) > 12


@pytest.mark.parametrize("preset, live, into", [("llamaindex", "licenses", "licenses_v2"), ("pgai", "blog", "blog_embeddings_v2")])
def test_sync_into_a_library_table_of_its_own_is_refused_naming_it(preset, live, into, request, cli):
    store = request.getfixturevalue(f"{preset}_store")
    result = cli("backfill", "--profile", preset, "--collection", live, "--into", into, "--sync", "--model", NEW_MODEL,
                 "--json", env={**store.env, "EMBED_DIMENSIONS": ""})
    assert result.code == 2 and "--sync does not apply" in result.out + result.err, result.out + result.err
    assert store.db.scalar("SELECT to_regclass(%s) IS NULL", (f"data_{into}" if preset == "llamaindex" else f"{into}_store",))


def test_llamaindex_swap_refuses_a_live_edit_made_after_its_gate(llamaindex_store, cli, monkeypatch):
    import importlib

    library_swap = importlib.import_module("harness.backfill.library_swap")
    env = {**llamaindex_store.env, "EMBED_DIMENSIONS": ""}
    fill_into(cli, "llamaindex", "licenses", "licenses_v2", env)
    measured, edited = library_swap.matches_live_table, []

    def then_edit(*args, **kwargs):
        outcome = measured(*args, **kwargs)
        if not edited:  # the application writes on once the gate has compared the tables
            llamaindex_store.db.execute("UPDATE data_licenses SET text = text || ' (edited)' "
                                        "WHERE id = (SELECT min(id) FROM data_licenses)")
            edited.append(True)
        return outcome

    monkeypatch.setattr(library_swap, "matches_live_table", then_edit)
    swapped = swap_in(cli, "llamaindex", "licenses_v2", "licenses", env)
    assert swapped.code == 2 and "changed after the gate" in swapped.out + swapped.err, swapped.out + swapped.err
    assert llamaindex_store.db.scalar("SELECT count(*) FROM data_licenses WHERE vector_dims(embedding) = 384") == 12
