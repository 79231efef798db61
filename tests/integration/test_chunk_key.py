"""`chunks.id` must name one chunk: a key two chunks share (a document id where chunks are keyed by document and
position) makes the engine write one vector over every chunk of that key, and its closing count call them embedded.
Scope and the engine refuse it with numbers before anything is written."""

import json

import numpy as np

from harness.provider import OllamaProvider

MODEL = "hash-embed:384"
CHUNKS = """
CREATE TABLE doc_chunks (doc_id int NOT NULL, chunk_index int NOT NULL, content text NOT NULL,
                         embedding vector(384), PRIMARY KEY (doc_id, chunk_index));
INSERT INTO doc_chunks SELECT d, i, 'document ' || d || ' part ' || i || ' on tea', NULL
  FROM generate_series(1, 4) d, generate_series(0, 2) i;
"""
PROFILE = (f"name: docs\nprovider: {{model: {MODEL}, dimensions: 384}}\n"
           "chunks: {table: doc_chunks, id: %s, text: content, collection_name: docs}\nembeddings: {vector: embedding}\n")


def _setup(db, tmp_path, key, ddl=CHUNKS):
    db.execute(ddl)
    profile = tmp_path / "docs.yaml"
    profile.write_text(PROFILE % key)
    return profile


def _env(db, embed_server):
    return {"DATABASE_URL": db.dsn, "OLLAMA_HOST": embed_server.url}


def test_a_chunk_key_several_chunks_share_fails_scope_with_numbers_and_names_the_composite_key(cli, empty_db,
                                                                                             embed_server, tmp_path):
    profile = _setup(empty_db, tmp_path, "doc_id")
    scoped = cli("scope", "--profile", profile, "--collection", "docs", "--json", env=_env(empty_db, embed_server))
    assert scoped.code != 0
    key = next(c for c in scoped.json["checks"] if c["check"] == "chunk key")
    assert key["status"] == "failed", key
    assert "4 values of doc_chunks.doc_id are each held by several of the 12 chunks, of different texts (first: 1 (3 chunks)" in key["found"]
    assert "primary key is (doc_id, chunk_index)" in key["found"], key


def test_the_engine_refuses_a_shared_chunk_key_and_writes_nothing(cli, empty_db, embed_server, tmp_path):
    profile = _setup(empty_db, tmp_path, "doc_id")
    ran = cli("backfill", "--profile", profile, "--collection", "docs", "--json", env=_env(empty_db, embed_server))
    assert ran.code == 2 and "chunk key" in json.loads(ran.out)["error"], ran.out
    assert empty_db.scalar("SELECT count(embedding) FROM doc_chunks") == 0


def test_a_key_column_without_a_unique_index_whose_values_differ_passes_as_measured(cli, empty_db, embed_server,
                                                                                     tmp_path):
    ddl = CHUNKS + "ALTER TABLE doc_chunks ADD COLUMN chunk_uid text; UPDATE doc_chunks SET chunk_uid = doc_id || '-' || chunk_index;"
    profile = _setup(empty_db, tmp_path, "chunk_uid", ddl)
    scoped = cli("scope", "--profile", profile, "--collection", "docs", "--json", env=_env(empty_db, embed_server))
    key = next(c for c in scoped.json["checks"] if c["check"] == "chunk key")
    assert key["status"] == "passed" and "no two of the 12 chunks with different texts share" in key["found"], key
    assert scoped.code == 0, scoped.out


def test_a_key_a_unique_index_proves_is_not_measured(cli, empty_db, embed_server, tmp_path):
    ddl = CHUNKS + "ALTER TABLE doc_chunks ADD COLUMN uid bigserial UNIQUE;"
    profile = _setup(empty_db, tmp_path, "uid", ddl)
    scoped = cli("scope", "--profile", profile, "--collection", "docs", "--json", env=_env(empty_db, embed_server))
    assert scoped.code == 0 and not [c for c in scoped.json["checks"] if c["check"] == "chunk key"], scoped.out


def test_a_key_shared_only_by_copies_of_one_text_passes_and_says_so(cli, empty_db, embed_server, tmp_path):
    """LlamaIndex's ingest run twice stores a node twice under one node_id: one vector serves both copies."""
    ddl = CHUNKS + ("ALTER TABLE doc_chunks ADD COLUMN node_id text; UPDATE doc_chunks SET node_id = doc_id || '-' || "
                    "chunk_index; INSERT INTO doc_chunks SELECT doc_id, 9, content, NULL, node_id FROM doc_chunks "
                    "WHERE node_id = '2-1';")
    profile = _setup(empty_db, tmp_path, "node_id", ddl)
    scoped = cli("scope", "--profile", profile, "--collection", "docs", "--json", env=_env(empty_db, embed_server))
    key = next(c for c in scoped.json["checks"] if c["check"] == "chunk key")
    assert key["status"] == "passed", key
    assert "1 value is each held by several chunks of one same text (first: 2-1, 2 chunks)" in key["found"], key


WORKSPACES = """
CREATE TABLE ws_chunks (workspace text, id text, content text, PRIMARY KEY (workspace, id));
CREATE TABLE ws_vectors (chunk_id text PRIMARY KEY, embedding vector(384));
INSERT INTO ws_chunks SELECT w, 'c' || g, 'passage ' || g || ' of ' || w FROM generate_series(1, 6) g,
  unnest(ARRAY['alpha', 'beta']) w;
"""
WORKSPACES_PROFILE = (f"name: ws\nprovider: {{model: {MODEL}, dimensions: 384}}\n"
                      "chunks: {table: ws_chunks, id: id, text: content, collection: workspace}\n"
                      "embeddings: {table: ws_vectors, key: chunk_id, vector: embedding}\n")


def test_a_key_chunks_of_other_collections_share_fails_where_the_embedding_rows_name_no_collection(
        cli, empty_db, embed_server, tmp_path):
    """Each workspace's ids are unique, the table's are not, and an embedding row holds the id alone: beta's
    backfill found alpha's rows joined to its chunks and said 'needed 0, 6 embedded' with no vector of beta's texts."""
    empty_db.execute(WORKSPACES)
    profile = tmp_path / "ws.yaml"
    profile.write_text(WORKSPACES_PROFILE)
    env = _env(empty_db, embed_server)
    scoped = cli("scope", "--profile", profile, "--collection", "alpha", "--json", env=env)
    key = next(c for c in scoped.json["checks"] if c["check"] == "chunk key")
    assert scoped.code != 0 and key["status"] == "failed", key
    assert "6 values of ws_chunks.id are each held by several of the 12 chunks" in key["found"], key
    assert "embeddings.collection" in key["found"], key
    ran = cli("backfill", "--profile", profile, "--collection", "beta", "--json", env=env)
    assert ran.code == 2 and "chunk key" in ran.json["error"], ran.out
    assert empty_db.scalar("SELECT count(*) FROM ws_vectors") == 0


def test_coverage_fails_chunks_sharing_a_key_with_one_vector_row(empty_db, embed_server):
    """One embedding row joined to chunks of different texts sharing its key (here alpha's vector rows under ids beta's
    chunks hold too) is no chunk's own vector for all but one of them: coverage counted every one embedded ('6
    embedded, 0 missing'), and on a large table where one key is shared only a sampled recompute could see it."""
    from harness.checks import coverage

    from .conftest import checked

    empty_db.execute(WORKSPACES)
    with empty_db.connect() as conn, OllamaProvider(embed_server.url, MODEL) as provider:
        texts = conn.execute("SELECT id, content FROM ws_chunks WHERE workspace = 'alpha' ORDER BY id").fetchall()
        for (key, _), vector in zip(texts, provider.embed([t for _, t in texts]).vectors):
            conn.execute("INSERT INTO ws_vectors VALUES (%s, %s)", (key, np.asarray(vector, dtype=np.float32)))
    text = WORKSPACES_PROFILE.replace("provider: {", f"provider: {{url: {embed_server.url}, ")
    outcome = checked(coverage, "beta", text, empty_db.dsn, embed_server.url)
    assert outcome.status == "failed", outcome.found
    assert "6 values of ws_chunks.id are each held by several of the 12 chunks, of different texts" in outcome.found, \
        outcome.found
