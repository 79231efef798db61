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


def _outcome(db, url, profile=PROFILE):
    session = open_session(resolve(parse_profile(profile, env={}), database_url=db.dsn, env={"OLLAMA_HOST": url}),
                           CheckOptions(collections=("nodes",)))
    try:
        return source_coverage(session, "nodes")
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
