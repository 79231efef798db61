"""Bad and hostile profiles and collection names: refused with one line naming the key (exit 2), or handled
safely; no SQL is ever built from them by string formatting, so nothing they carry is executed."""

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.profile import load_profile
from harness.settings import resolve

from ..conftest import TEST_MODEL
from .invariants import assert_complete

INJECTION = "tenant_1'; DROP TABLE document_chunks; --"
TABLE_INJECTION = 'document_chunks"; DROP TABLE documents; --'

BAD_TEXT = [
    ("malformed_yaml", "name: x\nprovider: {model: [unclosed\n", "malformed YAML at line"),
    ("top_level_list", "- name\n- x\n", "expected a mapping of profile keys"),
    ("tab_indentation", "name: x\nchunks:\n\ttable: t\n", "malformed YAML"),
    ("nul_in_identifier", 'name: x\nprovider: {model: m}\nchunks: {table: "doc\\0chunks", collection: c}\n'
                          "embeddings: {key: k}\n", "'chunks.table' must be a SQL identifier"),
]

BAD_CHANGES = [
    ("unknown_key", {"chunks": {"colour": "blue"}}, "'chunks.colour' is not known"),
    ("unknown_section", {"retrys": 3}, "'retrys' is not known"),
    ("missing_model", {"provider": {"model": None}}, "'provider.model' is required"),
    ("missing_chunk_table", {"chunks": {"table": ""}}, "'chunks.table' is required"),
    ("missing_embeddings_key", {"embeddings": {"key": None}}, "'embeddings.key' is required"),
    ("batch_size_not_a_number", {"backfill": {"batch_size": "lots"}}, "'backfill.batch_size' must be an integer"),
    ("batch_size_zero", {"backfill": {"batch_size": 0}}, "'backfill.batch_size' must be at least 1"),
    ("timeout_not_a_number", {"provider": {"timeout_s": "soon"}}, "'provider.timeout_s' must be a number"),
    ("negative_retries", {"provider": {"retries": -1}}, "'provider.retries' must be at least 0"),
    ("text_is_a_mapping", {"chunks": {"text": {"a": 1}}}, "'chunks.text' must be a column name or a list"),
    ("section_is_a_list", {"embeddings": ["x"]}, "'embeddings' must be a mapping"),
    ("headers_not_a_mapping", {"provider": {"headers": ["Authorization: x"]}}, "'provider.headers'"),
    ("url_not_http", {"provider": {"url": "ftp://example.org"}}, "'provider.url' must be an http(s) URL"),
    ("identifier_too_long", {"chunks": {"id": "x" * 64}}, "'chunks.id' names"),
    ("chunk_table_missing", {"chunks": {"table": "no_such_table"}}, "'chunks.table' names table 'public.no_such_table'"),
    ("schema_missing", {"chunks": {"schema": "nowhere"}}, "'chunks.table' names table 'nowhere.document_chunks'"),
    ("embedding_table_missing", {"embeddings": {"table": "nope"}}, "'embeddings.table' names table 'public.nope'"),
    ("text_column_missing", {"chunks": {"text": ["content", "summary"]}}, "'chunks.text[1]' names column 'summary'"),
    ("id_column_missing", {"chunks": {"id": "chunk_uuid"}}, "'chunks.id' names column 'chunk_uuid'"),
    ("collection_column_missing", {"chunks": {"collection": "namespace"}}, "'chunks.collection' names column"),
    ("tenant_column_missing", {"chunks": {"tenant": "org"}}, "'chunks.tenant' names column 'org'"),
    ("source_column_missing", {"chunks": {"sources": ["title", "link"]}}, "'chunks.sources[1]' names column 'link'"),
    ("json_source_column_missing", {"chunks": {"sources": ["meta->>source"]}}, "'chunks.sources[0]' names column 'meta'"),
    ("filter_column_missing", {"chunks": {"filter": {"deleted": False}}}, "'chunks.filter.deleted' names column"),
    ("key_column_missing", {"embeddings": {"key": "chunk"}}, "'embeddings.key' names column 'chunk'"),
    ("vector_column_missing", {"embeddings": {"vector": "vec"}}, "'embeddings.vector' names column 'vec'"),
    ("model_column_missing", {"embeddings": {"model": "model"}}, "'embeddings.model' names column 'model'"),
    ("hash_column_missing", {"embeddings": {"input_hash": "sha"}}, "'embeddings.input_hash' names column 'sha'"),
    ("quoted_table_with_sql", {"chunks": {"table": TABLE_INJECTION}}, "'chunks.table' names table"),
    ("quoted_column_with_sql", {"chunks": {"text": 'content" FROM documents; DROP TABLE documents; --'}},
     "'chunks.text[0]' names column"),
    ("identifier_with_percent", {"chunks": {"id": "id%s"}}, "'chunks.id' names 'id%s', which contains '%'"),
    ("filter_value_with_percent", {"chunks": {"filter": {"collection": "50%"}}}, "'chunks.filter.collection' has value"),
    ("identifier_with_spaces", {"embeddings": {"vector": "the embedding"}}, "'embeddings.vector' names column 'the embedding'"),
]


def _tables_intact(db) -> tuple[int, int, int]:
    return (db.scalar("SELECT count(*) FROM documents"), db.scalar("SELECT count(*) FROM document_chunks"),
            db.scalar("SELECT count(*) FROM document_embeddings"))


def _refused(result, expected: str) -> None:
    lines = result.err.strip().splitlines()
    assert result.code == 2, (result.code, result.err, result.out)
    assert len(lines) == 1 and expected in lines[0], result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("name,text,expected", BAD_TEXT, ids=[c[0] for c in BAD_TEXT])
def test_unreadable_profile_is_refused_naming_what_is_wrong(name, text, expected, demo_db, demo_env, cli, write_profile):
    result = cli("backfill", "--profile", write_profile(text=text), "--collection", "tenant_globex",
                 env={**demo_env, "DATABASE_URL": demo_db.dsn})
    _refused(result, expected)


@pytest.mark.parametrize("name,changes,expected", BAD_CHANGES, ids=[c[0] for c in BAD_CHANGES])
def test_bad_profile_key_is_refused_in_one_line_naming_the_key_and_nothing_is_written(
        name, changes, expected, demo_db, demo_env, cli, write_profile):
    before = _tables_intact(demo_db)
    result = cli("backfill", "--profile", write_profile(changes), "--collection", "tenant_globex",
                 env={**demo_env, "DATABASE_URL": demo_db.dsn})
    _refused(result, expected)
    assert _tables_intact(demo_db) == before


@pytest.mark.parametrize("collection", [INJECTION, "tenant_1\x00", "tenant\n1", "", "%(collection)s", "{collection}"])
def test_collection_name_carrying_sql_or_control_characters_is_refused_and_runs_nothing(
        collection, demo_db, demo_env, cli, demo_profile):
    before = _tables_intact(demo_db)
    result = cli("backfill", "--profile", demo_profile, "--collection", collection,
                 env={**demo_env, "DATABASE_URL": demo_db.dsn})
    _refused(result, "collection")
    assert _tables_intact(demo_db) == before


def test_a_collection_really_named_with_sql_is_backfilled_as_plain_data(demo_db, demo_profile, embed_server):
    demo_db.execute("UPDATE document_chunks SET collection = %s WHERE collection = 'tenant_globex'", (INJECTION,))
    from harness.provider import OllamaProvider

    profile = load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL})
    with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
        summary = run_backfill(resolve(profile, database_url=demo_db.dsn, provider_url=provider.url),
                               BackfillOptions(collection=INJECTION, progress=False), provider=provider)
    assert summary.ok and summary.embedded == 29
    assert_complete(demo_db.dsn, INJECTION, TEST_MODEL)
    assert demo_db.scalar("SELECT count(*) FROM document_embeddings") == 29
