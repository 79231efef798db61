"""Damage to a store the library wrote makes exactly the check that guards against it fail (each test has its own copy)."""

import pytest
from psycopg import sql

from ...conftest import finished_run
from .conftest import failed, passed

pytestmark = pytest.mark.slow  # runs the checks (recompute re-embeds every row) on a store the library wrote

# (table, key, vector, text) of each library's store as the fixtures build it
STORES = {
    "langchain": ("langchain_pg_embedding", "id", "embedding", "document"),
    "llamaindex": ("data_licenses", "id", "embedding", "text"),
    "pgai": ("blog_embeddings_store", "embedding_uuid", "embedding", "chunk"),
}


def damage(store, statement: str) -> None:
    table, key, vector, text = STORES[store.preset]
    store.db.execute(sql.SQL(statement).format(t=sql.Identifier(table), k=sql.Identifier(key), v=sql.Identifier(vector),
                                               x=sql.Identifier(text)))


def checks(store, tmp_path):
    run_dir = tmp_path / "run"
    finished_run(run_dir, store.collections[0])
    return store.checks(run_dir)


def only_failure(outcomes, check):
    assert failed(outcomes) == {check}, {n: o.found for n, o in outcomes.items()}
    return outcomes[check].message()


def recompute_failure(outcomes):
    """recompute fails; citations may fail with it when it sampled a damaged chunk for its own-text search (LangChain's
    ids are random uuids, so which chunk that is varies): retrieval is then wrong too. Nothing else fails."""
    assert "recompute" in failed(outcomes), {n: o.found for n, o in outcomes.items()}
    assert failed(outcomes) <= {"recompute", "citations"}, {n: o.found for n, o in outcomes.items() if n in failed(outcomes)}
    return outcomes["recompute"].message()


def test_two_swapped_vectors_fail_recompute(library_store, tmp_path):
    damage(library_store, "WITH a AS (SELECT {k} AS k, {v} AS v FROM {t} ORDER BY {k} LIMIT 2) "
                          "UPDATE {t} AS e SET {v} = (SELECT a.v FROM a WHERE a.k <> e.{k}) "
                          "WHERE e.{k} IN (SELECT k FROM a)")
    assert "2 of" in recompute_failure(checks(library_store, tmp_path))


def test_text_edited_after_embedding_fails_recompute(library_store, tmp_path):
    damage(library_store, "UPDATE {t} SET {x} = 'pasta recipes: boil water, add salt, cook for nine minutes' "
                          "WHERE {k} = (SELECT {k} FROM {t} ORDER BY {k} LIMIT 1)")
    assert "1 of" in recompute_failure(checks(library_store, tmp_path))


def test_llamaindex_metadata_it_embeds_edited_fails_recompute(llamaindex_store, tmp_path):
    # The title is part of what LlamaIndex embedded; the text column is untouched.
    llamaindex_store.db.execute(
        "UPDATE data_licenses SET metadata_ = replace(metadata_::text, 'Python standard library: ', "
        "'Cooking pasta with tomato sauce and basil: ')::json WHERE id = (SELECT min(id) FROM data_licenses)")
    assert "1 of" in recompute_failure(checks(llamaindex_store, tmp_path))


@pytest.mark.parametrize("preset", ["langchain", "llamaindex"])
def test_a_null_vector_fails_coverage(preset, request, tmp_path):
    store = request.getfixturevalue(f"{preset}_store")
    damage(store, "UPDATE {t} SET {v} = NULL WHERE {k} = (SELECT {k} FROM {t} ORDER BY {k} LIMIT 1)")
    assert "1 missing" in only_failure(checks(store, tmp_path), "coverage")


def test_a_vector_of_another_dimension_in_langchains_undeclared_column_fails_dimensions(langchain_store, tmp_path):
    langchain_store.db.execute("UPDATE langchain_pg_embedding SET embedding = array_fill(0.1, ARRAY[768])::vector "
                               "WHERE id = (SELECT min(id) FROM langchain_pg_embedding)")
    outcomes = checks(langchain_store, tmp_path)
    # recompute and citations cannot compare a 768-dimensional vector either; dimensions names the row
    assert "dimensions" in failed(outcomes) and "dims 768" in outcomes["dimensions"].message()
    assert failed(outcomes) <= {"dimensions", "recompute", "citations"}, failed(outcomes)


def test_pgai_chunks_deleted_for_a_source_row_fail_source_coverage(pgai_store, tmp_path):
    pgai_store.db.execute("DELETE FROM blog_embeddings_store WHERE id = 3")
    message = only_failure(checks(pgai_store, tmp_path), "source_coverage")
    assert "1 without chunks" in message and "id=3 " in message


def test_pgai_a_source_row_edited_but_not_processed_fails_source_coverage(pgai_store, tmp_path):
    pgai_store.db.execute("UPDATE blog SET contents = contents || ' Edited.' WHERE id = 5")
    message = only_failure(checks(pgai_store, tmp_path), "source_coverage")
    assert "1 pending in pgai's queue" in message and "id=5 " in message


def test_pgai_source_coverage_passes_once_the_worker_drained_the_queue(pgai_store, tmp_path):
    from .conftest import pgai_worker

    pgai_store.db.execute("UPDATE blog SET contents = contents || ' Edited.' WHERE id = 5")
    pgai_worker(pgai_store.db.dsn)
    outcomes = checks(pgai_store, tmp_path)
    assert failed(outcomes) == set() and "source_coverage" in passed(outcomes), outcomes
