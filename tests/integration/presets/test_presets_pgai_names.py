"""The pgai preset reads its store and view from pgai's catalog, so any ``destination_table`` naming works: here
``destination_table(target_table => 'post_vectors', view_name => 'post_search')`` built by pgai itself."""

import psycopg
import pytest

from harness.errors import ConfigError
from harness.profiles import pgai_names
from harness.settings import resolve

from ...conftest import TEST_MODEL, finished_run
from .conftest import NEW_MODEL, failed, fill_into, passed, swap_in

pytestmark = pytest.mark.slow  # runs the checks (recompute re-embeds every row) on a store pgai's worker wrote



def checks(store, tmp_path, **env):
    run_dir = tmp_path / "run"
    finished_run(run_dir, store.collections[0])
    return store.checks(run_dir, **env)


def test_the_preset_reads_the_store_and_view_pgai_named_from_its_catalog(pgai_named_store):
    settings = resolve("pgai", env={**pgai_named_store.env, "PGAI_DESTINATION": ""})  # only the source is named
    assert (settings.profile.chunks.schema, settings.profile.chunks.table) == ("public", "post_vectors")


def test_checks_pass_on_a_healthy_store_named_apart_from_its_view(pgai_named_store, tmp_path):
    outcomes = checks(pgai_named_store, tmp_path, PGAI_DESTINATION="")
    assert failed(outcomes) == set(), {n: o.message() for n, o in outcomes.items() if n in failed(outcomes)}
    assert {"coverage", "recompute", "source_coverage", "dimensions"} <= passed(outcomes), outcomes


def test_chunks_deleted_from_a_store_named_apart_fail_source_coverage_only(pgai_named_store, tmp_path):
    pgai_named_store.db.execute("DELETE FROM post_vectors WHERE id = 3")
    outcomes = checks(pgai_named_store, tmp_path)
    assert failed(outcomes) == {"source_coverage"}, {n: o.found for n, o in outcomes.items()}
    assert "id=3 " in outcomes["source_coverage"].message()


def test_model_change_on_a_store_named_apart_swaps_into_the_names_apps_query(pgai_named_store, cli):
    store, db = pgai_named_store, pgai_named_store.db
    env = {**store.env, "EMBED_DIMENSIONS": ""}
    chunks = db.scalar("SELECT count(*) FROM post_vectors")
    doc = store.docs[4]
    query = doc.body[:120]
    result = fill_into(cli, "pgai", "blog", "post_v2", env)
    assert result.json["embedded"] == chunks
    swapped = swap_in(cli, "pgai", "post_v2", "post_search", env)
    assert swapped.code == 0, swapped.out + swapped.err
    # pgai's own search (SQL over the view post_search) and the store post_vectors hold the new model's vectors
    assert doc.source in store.search(query, model=NEW_MODEL)
    assert db.scalar("SELECT count(*) FROM post_vectors WHERE vector_dims(embedding) = 768") == chunks
    assert db.scalar("SELECT config->'embedding'->>'model' FROM ai.vectorizer "
                     "WHERE config->'destination'->>'target_table' = 'post_vectors'") == NEW_MODEL
    assert db.scalar("SELECT count(*) FROM post_vectors__retired WHERE vector_dims(embedding) = 384") == chunks

    back = cli("swap", "--profile", "pgai", "--rollback", "--to", "post_search", "--json", env=env)
    assert back.code == 0, back.out + back.err
    assert doc.source in store.search(doc.title)  # the old model's vectors answer through post_search again
    assert db.scalar("SELECT count(*) FROM post_vectors WHERE vector_dims(embedding) <> 384") == 0
    assert db.scalar("SELECT count(*) FROM post_v2_store WHERE vector_dims(embedding) = 768") == chunks


def test_a_destination_column_vectorizer_is_refused_naming_what_is_supported(pgai_named_store):
    db = pgai_named_store.db
    db.execute("CREATE TABLE note (id int PRIMARY KEY, body text NOT NULL)")
    db.execute("SELECT ai.create_vectorizer('note'::regclass, loading => ai.loading_column('body'), "
               "chunking => ai.chunking_none(), embedding => ai.embedding_ollama(%s, 384, base_url => 'http://x'), "
               "destination => ai.destination_column('body_embedding'))", (TEST_MODEL,))
    with pytest.raises(ConfigError) as refused:
        resolve("pgai", env={**pgai_named_store.env, "PGAI_SOURCE": "note", "PGAI_DESTINATION": ""})
    message = str(refused.value)
    assert "\n" not in message
    assert "destination_column('body_embedding')" in message and "destination_table" in message


def test_a_named_destination_no_vectorizer_has_is_not_replaced_by_another():
    rows = [{"config": {"destination": {"view_name": "post_search"}}}]
    assert pgai_names.choose(rows, "blog_embeddings", named=True) is None
    assert pgai_names.choose(rows, "blog_embedding", named=False) == rows[0]


def test_a_store_in_a_schema_of_its_own_passes_the_checks_and_swaps_then_drops_retired(pgai_schemas_store, cli, tmp_path):
    store, db = pgai_schemas_store, pgai_schemas_store.db
    outcomes = checks(store, tmp_path, PGAI_DESTINATION="")  # vec.post_vectors, from the catalog
    assert failed(outcomes) == set(), {n: o.message() for n, o in outcomes.items() if n in failed(outcomes)}
    env = {**store.env, "EMBED_DIMENSIONS": ""}
    chunks = db.scalar("SELECT count(*) FROM vec.post_vectors")
    doc = store.docs[4]
    query = doc.body[:120]
    fill_into(cli, "pgai", "blog", "post_v2", env)
    # the new destination sits beside the live one: its store in vec
    assert db.scalar("SELECT count(*) FROM vec.post_v2_store WHERE vector_dims(embedding) = 768") == chunks
    assert doc.source in store.search(query, collection="post_v2", model=NEW_MODEL)
    swapped = swap_in(cli, "pgai", "post_v2", "post_search", env)
    assert swapped.code == 0, swapped.out + swapped.err
    assert doc.source in store.search(query, model=NEW_MODEL)
    assert db.scalar("SELECT count(*) FROM vec.post_vectors WHERE vector_dims(embedding) = 768") == chunks
    dropped = cli("swap", "--profile", "pgai", "--drop-retired", "--to", "post_search", "--json", env=env)
    assert dropped.code == 0, dropped.out + dropped.err
    assert db.scalar("SELECT to_regclass('vec.post_vectors__retired') IS NULL AND to_regclass('post_search__retired') IS NULL")
    assert db.scalar("SELECT count(*) FROM ai.vectorizer") == 1
    assert doc.source in store.search(query, model=NEW_MODEL)


def test_a_destination_pgais_catalog_does_not_name_is_refused_not_replaced_by_a_table_of_that_name(pgai_named_store):
    # a table at the derived name (a leftover copy) is not pgai's store: the checks must not quietly read it
    db = pgai_named_store.db
    db.execute("CREATE TABLE blog_embeddings_store AS SELECT * FROM post_vectors")
    with pytest.raises(ConfigError) as refused:
        resolve("pgai", env={**pgai_named_store.env, "PGAI_DESTINATION": "blog_embeddings"})
    message = str(refused.value)
    assert "\n" not in message
    assert "blog_embeddings" in message and "post_search" in message


def test_a_catalog_the_role_may_not_read_is_refused_not_replaced_by_derived_names(pgai_named_store):
    db = pgai_named_store.db
    db.execute("CREATE TABLE post_search_store AS SELECT * FROM post_vectors")
    db.execute("DROP ROLE IF EXISTS pgai_reader")
    db.execute("CREATE ROLE pgai_reader LOGIN PASSWORD 'pw'")
    db.execute("GRANT USAGE ON SCHEMA ai TO pgai_reader")
    db.execute("REVOKE ALL ON ai.vectorizer FROM PUBLIC")
    dsn = psycopg.conninfo.make_conninfo(db.dsn, user="pgai_reader", password="pw")
    with pytest.raises(ConfigError, match="ai.vectorizer"):
        resolve("pgai", env={**pgai_named_store.env, "DATABASE_URL": dsn})
