"""Profiles: YAML in, frozen dataclasses out; every error names the key and the expected form."""

import dataclasses

import pytest

from harness.errors import ConfigError
from harness.profile import load_profile, parse_profile

from ..conftest import DEMO_PROFILE

MINIMAL = """
name: t
provider: {model: all-minilm}
chunks: {table: document_chunks, collection: collection}
embeddings: {table: document_embeddings, key: chunk_id}
"""


def test_demo_profile_loads_with_environment_defaults():
    profile = load_profile(DEMO_PROFILE, env={})
    assert profile.provider.model == "all-minilm"
    assert profile.provider.dimensions == 384
    assert profile.chunking.max_chunk_size == 800
    assert profile.sources["provider.model"] == "default for EMBED_MODEL"


def test_environment_values_override_defaults_and_say_so():
    profile = load_profile(DEMO_PROFILE, env={"EMBED_MODEL": "nomic-embed-text", "EMBED_DIMENSIONS": "768"})
    assert (profile.provider.model, profile.provider.dimensions) == ("nomic-embed-text", 768)
    assert profile.sources["provider.model"] == "env EMBED_MODEL"


def test_profile_is_frozen():
    profile = parse_profile(MINIMAL, env={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.name = "other"


def test_separate_embeddings_table_with_model_and_hash_columns():
    profile = parse_profile(
        """
name: skills
provider: {model: nomic-embed-text, dimensions: 768}
chunks: {table: skills, text: [name, description], collection: tenant_id, tenant: tenant_id, filter: {status: published}}
embeddings: {table: skill_embeddings, key: skill_id, model: model_name, input_hash: input_hash, tenant: tenant_id}
""",
        env={},
    )
    assert profile.chunks.text == ("name", "description")
    assert profile.chunks.filter == (("status", "published"),)
    assert not profile.inline


def test_inline_embedding_column_needs_no_embeddings_key():
    profile = parse_profile(
        "name: m\nprovider: {model: mxbai-embed-large}\nchunks: {table: messages, text: content, collection_name: messages}\n",
        env={},
    )
    assert profile.inline
    assert profile.embeddings.key == "id"
    assert profile.embeddings.vector == "embedding"


@pytest.mark.parametrize(
    "text, key",
    [
        (MINIMAL.replace("name: t\n", ""), "name"),
        (MINIMAL.replace("provider: {model: all-minilm}", "provider: {}"), "provider.model"),
        (MINIMAL + "colour: blue\n", "colour"),
        (MINIMAL.replace("collection: collection", "collection: collection, txet: body"), "chunks.txet"),
        (MINIMAL.replace("embeddings: {table: document_embeddings, key: chunk_id}", "embeddings: {table: document_embeddings}"),
         "embeddings.key"),
        (MINIMAL + "backfill: {batch_size: many}\n", "backfill.batch_size"),
        (MINIMAL + "backfill: {batch_size: 0}\n", "backfill.batch_size"),
        (MINIMAL + "provider_extra: 1\n", "provider_extra"),
        (MINIMAL + "distance: manhattan\n", "distance"),
        (MINIMAL + "spot_queries: [{k: 3}]\n", "spot_queries[0].query"),
        (MINIMAL + "custom_checks: [{name: x, sql: select 1}]\n", "custom_checks[0].expect"),
        (MINIMAL.replace("key: chunk_id}", "key: chunk_id, pad_to: 4096}"), "embeddings.pad_to"),
        # A key of a JSON column as the model: beside an inline vector only (a separate table's rows are replaced).
        (MINIMAL.replace("key: chunk_id}", "key: chunk_id, model: \"meta->>'model'\"}"), "embeddings.model"),
        (MINIMAL.replace("key: chunk_id}", "key: chunk_id, model: \"meta->>a->>b\"}"), "embeddings.model"),
        (MINIMAL.replace("key: chunk_id}", "key: chunk_id, pad_to: 384}").replace("model: all-minilm",
                                                                               "model: all-minilm, dimensions: 384"),
         "embeddings.pad_to"),
        (MINIMAL.replace("model: all-minilm", "model: all-minilm, request_dimensions: 0"), "provider.request_dimensions"),
        (MINIMAL.replace("model: all-minilm", "model: all-minilm, request_dimensions: many"),
         "provider.request_dimensions"),
        (MINIMAL.replace("model: all-minilm", "model: all-minilm, request_dimensions: 12.5"),
         "provider.request_dimensions"),
        # Not below the model's own dimension: Ollama would return the model's vectors as they are.
        (MINIMAL.replace("model: all-minilm", "model: all-minilm, dimensions: 384, request_dimensions: 384"),
         "provider.request_dimensions"),
        (MINIMAL.replace("model: all-minilm", "model: all-minilm, dimensions: 384, request_dimensions: 512"),
         "provider.request_dimensions"),
        (MINIMAL.replace("key: chunk_id}", "key: chunk_id, pad_to: 4096}").replace(
            "model: all-minilm", "model: all-minilm, dimensions: 384, request_dimensions: 128"),
         "provider.request_dimensions"),
        # embeddings.filter: the rows of one model beside others in a separate table; a value the engine can write
        (MINIMAL.replace("key: chunk_id}", "key: chunk_id, filter: {model_id: null}}"), "embeddings.filter.model_id"),
        (MINIMAL.replace("key: chunk_id}", "key: chunk_id, filter: {chunk_id: 2}}"), "embeddings.filter.chunk_id"),
        (MINIMAL.replace("key: chunk_id}", "key: chunk_id, filter: {model_id: [1, 2]}}"), "embeddings.filter.model_id"),
    ],
)
def test_bad_profile_is_refused_with_an_error_naming_the_key(text, key):
    with pytest.raises(ConfigError) as err:
        parse_profile(text, env={})
    message = str(err.value)
    assert f"'{key}'" in message
    assert "\n" not in message


def test_malformed_yaml_names_the_line():
    with pytest.raises(ConfigError, match=r"malformed YAML at line 2, column 11"):
        parse_profile("name: t\nprovider: : x: y\n", env={})


def test_missing_environment_variable_names_key_and_variable():
    with pytest.raises(ConfigError, match=r"'database.url' needs environment variable DATABASE_URL"):
        parse_profile(MINIMAL + "database: {url: '${DATABASE_URL}'}\n", env={})


def test_provider_url_must_be_http():
    with pytest.raises(ConfigError, match=r"'provider.url' must be an http\(s\) URL"):
        parse_profile(MINIMAL.replace("{model: all-minilm}", "{model: all-minilm, url: 'ftp://x'}"), env={})


def test_identifier_longer_than_postgres_limit_is_refused():
    with pytest.raises(ConfigError, match=r"'chunks.table'.*63-byte"):
        parse_profile(MINIMAL.replace("table: document_chunks", "table: " + "x" * 64), env={})


def test_identifiers_with_quotes_and_spaces_are_kept_verbatim():
    profile = parse_profile(MINIMAL.replace("table: document_chunks", "table: 'my \"odd\" chunks'"), env={})
    assert profile.chunks.table == 'my "odd" chunks'


def test_missing_profile_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_profile(tmp_path / "nope.yaml")


def test_a_yaml_bomb_in_a_custom_check_is_refused_before_it_expands():
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        levels.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    bomb = MINIMAL + "anchors:\n" + "\n".join("  " + line for line in levels) + \
        "\ncustom_checks:\n  - {name: boom, sql: 'SELECT 1', expect: *i}\n"
    with pytest.raises(ConfigError, match=r"alias \*a at line 8.*aliases are refused"):
        parse_profile(bomb, env={})


def test_a_key_given_twice_is_refused_naming_it_and_both_lines():
    with pytest.raises(ConfigError, match=r"gives the key 'table' twice at line 4, column 3 \(first at line 3\)"):
        parse_profile("name: t\nchunks:\n  table: docs\n  table: other\n", env={})


def test_a_top_level_key_given_twice_is_refused():
    with pytest.raises(ConfigError, match="gives the key 'name' twice"):
        parse_profile(MINIMAL + "name: u\n", env={})


@pytest.mark.parametrize("value", ["[a, b]", "{x: 1}"])
def test_a_filter_value_that_is_not_a_single_value_is_refused(value):
    with pytest.raises(ConfigError, match=r"'chunks.filter.status' is a (list|mapping); expected a single value"):
        parse_profile(MINIMAL.replace("collection: collection}", f"collection: collection, filter: {{status: {value}}}}}"),
                      env={})


def test_a_filter_of_not_null_reads_as_is_not_null():
    from harness.profile import NOT_NULL

    profile = parse_profile(MINIMAL.replace("collection: collection}", "collection: collection, "
                                            "filter: {collection: {not: null}, deleted_at: null}}"), env={})
    assert profile.chunks.filter == (("collection", NOT_NULL), ("deleted_at", None))


@pytest.mark.parametrize("value", ["{not: 1}", "{not: null, x: 1}", "{NOT: null}"])
def test_a_filter_mapping_other_than_not_null_is_refused_naming_the_key(value):
    with pytest.raises(ConfigError, match=r"'chunks.filter.collection' is a mapping; expected a single value .* or "
                                          r"\{not: null\}"):
        parse_profile(MINIMAL.replace("collection: collection}", f"collection: collection, filter: {{collection: {value}}}}}"),
                      env={})


INLINE_STORE = """
name: t
provider: {model: all-minilm}
chunks: {table: data_licenses, collection_name: licenses, collection_tables: "PATTERN"}
"""


def test_collection_tables_names_the_table_of_each_collection():
    from harness.backfill.library_swap import for_collection

    profile = parse_profile(INLINE_STORE.replace("PATTERN", "data_{collection}"), env={})
    new = for_collection(profile, "licenses_v2")
    assert (new.chunks.table, new.embeddings.table, new.chunks.collection_name) == ("data_licenses_v2",) * 2 + ("licenses_v2",)


@pytest.mark.parametrize("pattern", ["data_licenses", "docs_{collection}"])
def test_collection_tables_that_do_not_give_the_chunk_table_are_refused(pattern):
    with pytest.raises(ConfigError, match="profile key 'chunks.collection_tables' must be a table name pattern"):
        parse_profile(INLINE_STORE.replace("PATTERN", pattern), env={})


def test_text_format_pgai_without_a_source_table_is_refused():
    text = "name: t\nprovider: {model: m}\nchunks: {table: blog_store, collection_name: blog, text: chunk, text_format: pgai}\n"
    with pytest.raises(ConfigError, match="profile key 'source' must name pgai's source table"):
        parse_profile(text, env={})


@pytest.mark.parametrize("role", ["collection", "tenant", "id"])
def test_a_text_naming_the_column_of_another_role_is_refused(role):
    """Open WebUI with PGVECTOR_PGCRYPTO keeps its text as bytea: a draft once took collection_name as the text, and
    every chunk of the collection was embedded as the collection's name, scope and run ok."""
    text = MINIMAL.replace("collection: collection}", "collection: collection, tenant: org_id, id: chunk_key, "
                           f"text: [{ {'collection': 'collection', 'tenant': 'org_id', 'id': 'chunk_key'}[role] }]}}")
    with pytest.raises(ConfigError) as err:
        parse_profile(text, env={})
    assert "'chunks.text[0]'" in str(err.value) and f"chunks.{role}" in str(err.value), err.value


@pytest.mark.parametrize("role", ["collection", "tenant", "id"])
def test_a_key_of_a_json_column_as_a_chunks_role_is_refused_naming_the_key(role):
    """cokingtins1/local-llm keeps each chunk's PDF in `metadata->>'source'`: written as the collection, it was quoted as
    one column's name, and scope failed on a database error, verify on an INTERNALERROR. Only text, sources, filters
    and an inline model read a JSON key."""
    text = MINIMAL.replace("collection: collection}", ("" if role == "collection" else "collection: collection, ")
                           + f"{role}: \"metadata->>'source'\"}}")
    with pytest.raises(ConfigError) as err:
        parse_profile(text, env={})
    message = str(err.value)
    assert f"'chunks.{role}'" in message and "metadata->>'source'" in message and "expected a column" in message, message
    assert "\n" not in message


@pytest.mark.parametrize("role", ["key", "collection", "tenant", "input_hash", "vector"])
@pytest.mark.parametrize("read", ["meta->>'c'", "meta->'c'", "meta#>>'{c}'"])
def test_a_key_of_a_json_column_as_an_embeddings_role_is_refused_naming_the_key(role, read):
    """As a chunk's: `embeddings.collection: "meta->>'c'"` was quoted as one column's name, and scope said 'database
    error: column "meta->>'c'" does not exist'."""
    text = MINIMAL.replace("key: chunk_id}", ("" if role == "key" else "key: chunk_id, ") + f"{role}: \"{read}\"}}")
    with pytest.raises(ConfigError) as err:
        parse_profile(text, env={})
    message = str(err.value)
    assert f"'embeddings.{role}'" in message and read in message and "expected a column" in message, message


def test_pad_to_wider_than_the_models_dimension_is_kept():
    profile = parse_profile(MINIMAL.replace("key: chunk_id}", "key: chunk_id, pad_to: 4096}").replace(
        "model: all-minilm", "model: all-minilm, dimensions: 384"), env={})
    assert (profile.embeddings.pad_to, profile.provider.dimensions) == (4096, 384)


def test_request_dimensions_below_the_models_own_are_the_dimension_every_vector_is_checked_against():
    profile = parse_profile(MINIMAL.replace("model: all-minilm", "model: all-minilm, dimensions: 384, "
                                            "request_dimensions: 128"), env={})
    assert (profile.provider.dimensions, profile.provider.request_dimensions) == (384, 128)
    assert profile.provider.vector_dimensions == 128


def test_request_dimensions_without_the_models_own_are_kept_for_scope_to_compare_with_the_model():
    profile = parse_profile(MINIMAL.replace("model: all-minilm", "model: all-minilm, request_dimensions: 256"), env={})
    assert profile.provider.vector_dimensions == 256 and profile.provider.dimensions is None


def test_the_model_may_be_a_key_of_a_json_column_beside_an_inline_vector():
    profile = parse_profile("name: m\nprovider: {model: nomic-embed-text}\n"
                            "chunks: {table: passages, text: text, collection_name: passages}\n"
                            "embeddings: {model: \"embedding_config->>'embedding_model'\"}\n", env={})
    assert profile.embeddings.model == "embedding_config->>'embedding_model'"


def test_a_distance_is_read_from_an_operator_class_or_the_operators_a_query_uses():
    from harness.profile import distance_of_opclass, distances_in_sql

    assert [distance_of_opclass(o) for o in ("vector_ip_ops", "halfvec_cosine_ops", "vector_l2_ops", "bit_hamming_ops")] \
        == ["ip", "cosine", "l2", None]
    assert distances_in_sql("ORDER BY document_sections.embedding <#> embedding LIMIT 5") == {"ip"}
    assert distances_in_sql("SELECT 1 - (a <=> b), a <-> b FROM t") == {"cosine", "l2"}
    assert distances_in_sql("SELECT a <> b, a <= b") == set()


def test_a_collection_column_written_with_brackets_is_an_array_of_collections():
    profile = parse_profile(MINIMAL.replace("embeddings: {table: document_embeddings, key: chunk_id}", "")
                            .replace("collection: collection", 'collection: "collection_ids[]"'), env={})
    assert (profile.chunks.collection, profile.chunks.collection_array) == ("collection_ids", True)
    assert parse_profile(MINIMAL, env={}).chunks.collection_array is False


def test_an_embedding_collection_column_beside_an_array_of_collections_is_refused():
    text = MINIMAL.replace("collection: collection", 'collection: "collection_ids[]"').replace(
        "key: chunk_id}", "key: chunk_id, collection: collection}")
    with pytest.raises(ConfigError, match=r"profile key 'embeddings.collection' .* is an array"):
        parse_profile(text, env={})


def test_a_source_collection_column_is_read_like_the_chunks_one():
    text = MINIMAL + 'source: {table: documents, collection: "collection_ids[]"}\n'
    source = parse_profile(text, env={}).source
    assert (source.collection, source.collection_array) == ("collection_ids", True)


def test_a_source_collection_without_a_chunk_collection_column_is_refused():
    text = MINIMAL.replace("collection: collection", "collection_name: docs") + \
        "source: {table: documents, collection: collection_ids}\n"
    with pytest.raises(ConfigError, match=r"profile key 'source.collection' .* no collection column"):
        parse_profile(text, env={})

# -- chunks.text_newlines: what the application does to newlines before embedding --------------------------------

_NEWLINES = ("name: t\nprovider: {model: m, dimensions: 3}\nchunks: {table: nods_page_section, "
             "collection_name: nods_page_section%s}\nembeddings: {vector: embedding}\n")


def test_text_newlines_space_embeds_each_newline_as_a_space():
    """nextjs-openai-doc-search embeds `content.replace(/\\n/g, ' ')`: the engine, the hash and recompute must embed
    the same text, or a tokenizer that keeps newlines (ada-002's) gives every healthy vector a lower cosine."""
    from harness.target import Target

    profile = parse_profile(_NEWLINES % ", text_newlines: space", env={})
    assert profile.chunks.text_newlines == "space"
    assert "replace(coalesce(" in Target(profile).text.as_string(None) and "chr(10)" in Target(profile).text.as_string(None)
    assert "replace(" not in Target(parse_profile(_NEWLINES % "", env={})).text.as_string(None)


def test_text_newlines_other_than_keep_or_space_is_refused_naming_the_key():
    with pytest.raises(ConfigError, match="profile key 'chunks.text_newlines' must be one of keep, space"):
        parse_profile(_NEWLINES % ", text_newlines: strip", env={})

# -- chunks.text_prefix / query_prefix: the task prefix the application's model is given -------------------------


def test_text_prefix_is_put_before_every_text_that_is_embedded_not_into_its_hash():
    """nomic-embed-text is given `search_document: ` + the chunk: the engine and recompute embed the same text, or
    every vector differs from the application's (cosine ~0.7)."""
    from harness.target import Target

    target = Target(parse_profile(_NEWLINES % ", text_prefix: 'search_document: '", env={}))
    assert target.profile.chunks.text_prefix == "search_document: "
    assert target.text.as_string(None).startswith("('search_document: ' || ")
    # the input hash is of the text as stored (an application's own hash column hashes its text, not the prompt)
    assert "search_document" not in target.text_hash.as_string(None)
    assert "search_document" not in target.content.as_string(None)  # what "a chunk has a text" is measured on


def test_no_text_prefix_leaves_the_text_as_the_columns_hold_it():
    from harness.target import Target

    target = Target(parse_profile(_NEWLINES % "", env={}))
    assert target.text.as_string(None) == target.content.as_string(None)


@pytest.mark.parametrize("key", ["text_prefix", "query_prefix"])
def test_a_prefix_that_is_not_a_string_is_refused_naming_the_key(key):
    with pytest.raises(ConfigError, match=rf"profile key 'chunks.{key}' must be a string, found a list"):
        parse_profile(_NEWLINES % f", {key}: [a]", env={})


def test_a_text_prefix_beside_pgais_template_is_refused_naming_the_key():
    text = _NEWLINES % ", text_prefix: 'passage: ', text_format: pgai"
    with pytest.raises(ConfigError, match=r"profile key 'chunks.text_prefix' .*pgai"):
        parse_profile(text + "source: {table: docs, key: id}\n", env={})


def test_embeddings_filter_names_the_rows_of_one_model_in_a_table_of_several():
    """discourse-ai's one table per kind, several models side by side: ``{model_id: 2, strategy_id: 1}``, values as
    YAML typed them (the engine writes them)."""
    profile = parse_profile(MINIMAL.replace("key: chunk_id}", "key: chunk_id, filter: {model_id: 2, strategy_id: 1}}"),
                            env={})
    assert profile.embeddings.filter == (("model_id", 2), ("strategy_id", 1))


def test_embeddings_filter_beside_an_inline_vector_is_refused():
    text = MINIMAL.replace("embeddings: {table: document_embeddings, key: chunk_id}", "embeddings: {filter: {model_id: 2}}")
    assert text != MINIMAL
    with pytest.raises(ConfigError, match="'embeddings.filter'"):
        parse_profile(text, env={})

# -- chunks.text labelled parts: constant labels around the row's values (harness.text_parts) ---------------------

_LABELLED = ("name: t\nprovider: {model: m, dimensions: 3}\nchunks: {table: doc_sections, collection_name: d, "
             "text: %s, text_separator: \"\\n\\n\"}\nembeddings: {vector: embedding}\n")


def test_a_labelled_part_is_composed_as_its_label_before_the_columns_value():
    from harness.target import Target

    profile = parse_profile(_LABELLED % '["title: {title}", content]', env={})
    assert profile.chunks.text == ("title: {title}", "content")
    composed = Target(profile).text.as_string(None)
    assert composed.startswith("concat_ws('\n\n', (")
    assert "'title: ' || \"c\".\"title\"::text" in composed and '"c"."content"' in composed


@pytest.mark.parametrize("item, why", [
    ('"title: {title"', "is not closed"),
    ('"title: }title"', "closes no"),
    ('"title: {{title}}"', "names no column in braces"),
    ('"path: {url; DROP TABLE x}"', "neither a column nor one SQL expression"),
    ('"share: {ratio}%"', "contains '%'"),
])
def test_a_malformed_labelled_part_is_refused_naming_the_key(item, why):
    with pytest.raises(ConfigError, match=rf"profile key 'chunks.text\[0\]' .*{why}"):
        parse_profile(_LABELLED % f"[{item}, content]", env={})


def test_a_labelled_part_beside_a_text_format_that_composes_its_own_text_is_refused():
    text = (_LABELLED % '["title: {title}"]').replace("text_separator", "text_format: llamaindex, text_separator")
    with pytest.raises(ConfigError, match=r"profile key 'chunks.text\[0\]' is a labelled part .*llamaindex"):
        parse_profile(text, env={})


def test_a_brace_inside_a_quoted_literal_of_a_labelled_parts_sql_is_part_of_the_expression():
    # Before: the first '}' closed the braces, inside the quotes, and the part was refused as "a ' quote is not closed".
    from harness.target import Target

    profile = parse_profile(_LABELLED % '["attributes: {coalesce(attrs, \'{}\'::jsonb)}", content]', env={})
    assert profile.chunks.text[0] == "attributes: {coalesce(attrs, '{}'::jsonb)}"
    assert "(coalesce(attrs, '{}'::jsonb))::text" in Target(profile).text.as_string(None)
