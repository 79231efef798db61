"""source.chunk_key: where each chunk names its document (a column, or a key of a JSON column, as LlamaIndex's nodes
hold an application's document id in metadata_): source_coverage pairs them both ways, and a chunk whose document
row is gone (a deleted document's nodes left behind) fails it."""

from harness.checks import CheckOptions, open_session
from harness.checks.source_coverage import source_coverage
from harness.errors import ConfigError
from harness.profile import parse_profile
from harness.settings import resolve

import pytest

# Our own minimal shape of run-llama/sec-insights (tests/fixtures/real/run-llama__sec-insights/SOURCE.md): a document
# table keyed by uuid, and nodes naming it under metadata_->>'db_document_id' (json, no foreign key).
NODES = """
CREATE TABLE document (id uuid PRIMARY KEY, url varchar NOT NULL);
INSERT INTO document VALUES ('00000000-0000-0000-0000-00000000000a', 'a.pdf'), ('00000000-0000-0000-0000-00000000000b', 'b.pdf');
CREATE TABLE data_nodes (id bigserial PRIMARY KEY, text varchar NOT NULL, metadata_ json, embedding vector(384));
INSERT INTO data_nodes (text, metadata_) SELECT 'node ' || g,
       json_build_object('db_document_id', '00000000-0000-0000-0000-00000000000' || CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END)
FROM generate_series(1, 6) g;
"""
PROFILE = """
name: nodes
provider: {model: hash-embed:384}
chunks: {table: data_nodes, text: text, collection_name: nodes}
embeddings: {vector: embedding}
source: {table: document, key: id, chunk_key: "metadata_->>'db_document_id'"}
"""


def _outcome(db, url, profile=PROFILE, collection="nodes"):
    session = open_session(resolve(parse_profile(profile, env={}), database_url=db.dsn, env={"OLLAMA_HOST": url}),
                           CheckOptions(collections=(collection,)))
    try:
        return source_coverage(session, collection)
    finally:
        session.close()


def test_documents_whose_id_every_chunk_names_under_a_json_key_pass(empty_db, embed_server):
    empty_db.execute(NODES)
    outcome = _outcome(empty_db, embed_server.url)
    assert outcome.status == "passed", outcome.message()


def test_a_deleted_documents_chunks_left_behind_fail_naming_each_chunk(empty_db, embed_server):
    empty_db.execute(NODES + "DELETE FROM document WHERE id = '00000000-0000-0000-0000-00000000000b';"
                     "INSERT INTO document VALUES ('00000000-0000-0000-0000-00000000000c', 'c.pdf');")
    outcome = _outcome(empty_db, embed_server.url)
    assert outcome.status == "failed", outcome.message()
    assert "3 chunks name no document row" in outcome.found and "1 without chunks" in outcome.found, outcome.found
    assert {str(o.id) for o in outcome.offenders} == {"1", "3", "5", "00000000-0000-0000-0000-00000000000c"}


def test_a_chunk_naming_no_document_at_all_fails(empty_db, embed_server):
    empty_db.execute(NODES + "UPDATE data_nodes SET metadata_ = '{}' WHERE id = 2;")
    outcome = _outcome(empty_db, embed_server.url)
    assert outcome.status == "failed" and "1 chunks name no document row" in outcome.found, outcome.found


def test_chunk_key_must_be_a_column_or_one_key_of_a_json_column():
    with pytest.raises(ConfigError, match="source.chunk_key"):
        parse_profile(PROFILE.replace("metadata_->>'db_document_id'", "metadata_->'a'->>'b'"), env={})


def test_every_chunk_left_behind_is_an_offender_not_only_the_first_ten(empty_db, embed_server):
    empty_db.execute(NODES + "INSERT INTO data_nodes (text, metadata_) SELECT 'gone ' || g, "
                     "json_build_object('db_document_id', gen_random_uuid()) FROM generate_series(1, 12) g;")
    outcome = _outcome(empty_db, embed_server.url)
    assert outcome.status == "failed" and len(outcome.offenders) == 12, outcome.found


# A polymorphic association (Rails' `belongs_to :chunkable, polymorphic: true`, Laravel's morphs): each chunk names its
# source by a type column beside the key column; a source table covers the chunks of its type only.
POLYMORPHIC = """
CREATE TABLE texts (id bigserial PRIMARY KEY, data text);
CREATE TABLE qnas (id bigserial PRIMARY KEY, question text);
INSERT INTO texts (data) VALUES ('t1'), ('t2');
INSERT INTO qnas (question) VALUES ('q1'), ('q2'), ('q3');
CREATE TABLE chunks (id bigserial PRIMARY KEY, chunkable_id bigint NOT NULL, chunkable_type varchar, content text,
  embedding vector(384));
INSERT INTO chunks (chunkable_id, chunkable_type, content) VALUES (1, 'Text', 'a'), (1, 'Text', 'b'), (2, 'Text', 'c'),
  (1, 'Qna', 'd'), (2, 'Qna', 'e'), (3, 'Qna', 'f');
"""
POLYMORPHIC_PROFILE = """
name: nodes
provider: {model: hash-embed:384}
chunks: {table: chunks, text: content, collection_name: nodes}
embeddings: {vector: embedding}
source: {table: texts, key: id, chunk_key: chunkable_id, chunk_filter: {chunkable_type: Text}}
"""


def test_a_polymorphic_source_pairs_only_the_chunks_of_its_type(empty_db, embed_server):
    empty_db.execute(POLYMORPHIC)
    outcome = _outcome(empty_db, embed_server.url, POLYMORPHIC_PROFILE)
    assert outcome.status == "passed", outcome.message()


def test_a_polymorphic_source_row_whose_chunks_were_deleted_fails_by_its_key_whatever_the_other_types_hold(
        empty_db, embed_server):
    # Text 2's chunks are gone; Qna 2 still has chunks under chunkable_id 2, which must not count for Text 2.
    empty_db.execute(POLYMORPHIC + "DELETE FROM chunks WHERE chunkable_type = 'Text' AND chunkable_id = 2;"
                     "DELETE FROM texts WHERE id = 1;")
    outcome = _outcome(empty_db, embed_server.url, POLYMORPHIC_PROFILE)
    assert outcome.status == "failed", outcome.message()
    assert "1 texts rows, 1 without chunks; 2 chunks name no texts row" in outcome.found, outcome.found
    assert {str(o.id) for o in outcome.offenders} == {"2", "1"}  # texts row 2; chunks 1 and 2 (of texts row 1)


# One table of every collection, a source table for one of them (ai-agentic-rag-nestjs' `vectors`: the `netflix-shows`
# rows name their show under metadata->>'show_id', the `documents` rows an uploaded file): the source's chunk_filter
# names the collection whose chunks it is the source of.
COLLECTIONS = """
CREATE TABLE netflix_shows (show_id text PRIMARY KEY, title text);
INSERT INTO netflix_shows VALUES ('s1', 'a'), ('s2', 'b'), ('s3', 'c');
CREATE TABLE vectors (id text PRIMARY KEY, collection text NOT NULL, embedding vector(384), metadata jsonb,
  embedding_text text);
INSERT INTO vectors (id, collection, metadata, embedding_text) VALUES
  ('netflix-shows-s1', 'netflix-shows', '{"show_id": "s1"}', 'a'), ('netflix-shows-s2', 'netflix-shows', '{"show_id": "s2"}', 'b'),
  ('1768600000000', 'documents', '{"0": {"pageContent": "page"}}', 'page');
"""
COLLECTIONS_PROFILE = """
name: vectors
provider: {model: hash-embed:384}
chunks: {table: vectors, text: embedding_text, collection: collection}
embeddings: {vector: embedding}
source: {table: netflix_shows, key: show_id, chunk_key: "metadata->>'show_id'", chunk_filter: {collection: netflix-shows}}
"""


def test_a_source_whose_chunk_filter_names_a_collection_is_checked_in_that_collection(empty_db, embed_server):
    empty_db.execute(COLLECTIONS)
    outcome = _outcome(empty_db, embed_server.url, COLLECTIONS_PROFILE, "netflix-shows")
    assert outcome.status == "failed" and "3 netflix_shows rows, 1 without chunks" in outcome.found, outcome.found
    assert [o.id for o in outcome.offenders] == ["s3"]


def test_a_source_whose_chunk_filter_names_another_collection_is_not_asked_for_this_collections_chunks(
        empty_db, embed_server):
    """verify --collection documents failed every show (`3 netflix_shows rows, 3 without chunks`): no chunk of
    `documents` can be a show's, as the profile says."""
    empty_db.execute(COLLECTIONS)
    outcome = _outcome(empty_db, embed_server.url, COLLECTIONS_PROFILE, "documents")
    assert outcome.status == "skipped", outcome.message()
    assert "source.chunk_filter" in outcome.message() and "netflix-shows" in outcome.message(), outcome.message()


def test_a_polymorphic_chunk_filter_must_map_columns_to_single_values():
    with pytest.raises(ConfigError, match="source.chunk_filter"):
        parse_profile(POLYMORPHIC_PROFILE.replace("{chunkable_type: Text}", "[chunkable_type]"), env={})


def test_a_polymorphic_chunk_filter_naming_a_column_the_chunks_lack_is_said_by_its_key(empty_db):
    from harness import db as dbmod
    from harness.introspect import missing_names

    empty_db.execute(POLYMORPHIC)
    profile = parse_profile(POLYMORPHIC_PROFILE.replace("{chunkable_type: Text}", "{source_type: Text}"), env={})
    with dbmod.connect(empty_db.dsn, autocommit=True) as conn:
        assert [line for line in missing_names(conn, profile) if "source.chunk_filter.source_type" in line], \
            missing_names(conn, profile)


def test_a_source_row_without_chunks_is_written_to_offenders_jsonl_as_a_source_row_never_as_a_chunk_key(
        empty_db, embed_server, tmp_path):
    # backfill --keys-from re-embeds the chunk keys of offenders.jsonl: texts row 2's key is no chunk's (chunk 2 is
    # another text's chunk), so it must not be listed as one.
    from harness.checks import offenders

    empty_db.execute(POLYMORPHIC + "DELETE FROM chunks WHERE chunkable_type = 'Text' AND chunkable_id = 2;")
    outcome = _outcome(empty_db, embed_server.url, POLYMORPHIC_PROFILE)
    assert outcome.status == "failed", outcome.message()
    assert offenders.rows(outcome) == [{"check": "source_coverage", "key": None, "source_table": "texts",
                                        "source_key": 2, "collection": "nodes", "tenant": None,
                                        "detail": "texts row has no chunks"}]
