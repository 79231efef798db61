"""The shipped presets against tables made with each library's own DDL: backfilled by the engine, the checks pass.

The libraries are not installed; the DDL below is what they create (langchain-postgres
PGVector, LlamaIndex PGVectorStore, pgai's vectorizer store), with the HNSW index each
documents for cosine search.
"""

import uuid

import pytest

from examples.ragapp.app import read_corpus
from examples.ragapp.chunker import ChunkingSettings, chunk_text
from harness.backfill import BackfillOptions, run_backfill
from harness.evidence import RunEvidence, write_evidence
from harness.profile import load_profile
from harness.profiles import PRESETS, profile_path
from harness.provider import OllamaProvider
from harness.settings import resolve

from ..conftest import TEST_MODEL
from .checks_run import run_checks

LANGCHAIN_DDL = """
CREATE TABLE langchain_pg_collection (uuid uuid PRIMARY KEY, name varchar NOT NULL UNIQUE, cmetadata json);
CREATE TABLE langchain_pg_embedding (
    id varchar PRIMARY KEY,
    collection_id uuid REFERENCES langchain_pg_collection (uuid) ON DELETE CASCADE,
    embedding vector(384),
    document varchar,
    cmetadata jsonb
);
CREATE INDEX ix_cmetadata_gin ON langchain_pg_embedding USING gin (cmetadata jsonb_path_ops);
CREATE INDEX ix_langchain_pg_embedding_hnsw ON langchain_pg_embedding USING hnsw (embedding vector_cosine_ops);
"""

LLAMAINDEX_DDL = """
CREATE TABLE data_licenses (
    id bigserial PRIMARY KEY,
    text varchar NOT NULL,
    metadata_ jsonb,
    node_id varchar,
    embedding vector(384)
);
CREATE INDEX licenses_idx_1 ON data_licenses ((metadata_->>'ref_doc_id'));
CREATE INDEX data_licenses_embedding_idx ON data_licenses USING hnsw (embedding vector_cosine_ops);
"""

PGAI_DDL = """
CREATE TABLE blog (id int PRIMARY KEY, title text NOT NULL, contents text NOT NULL);
CREATE TABLE blog_embedding_store (
    embedding_uuid uuid NOT NULL PRIMARY KEY DEFAULT gen_random_uuid(),
    id int,
    chunk_seq int NOT NULL,
    chunk text NOT NULL,
    embedding vector(384) STORAGE MAIN NOT NULL,
    UNIQUE (id, chunk_seq),
    FOREIGN KEY (id) REFERENCES blog (id) ON DELETE CASCADE
);
CREATE INDEX ON blog_embedding_store USING hnsw (embedding vector_cosine_ops);
"""


def corpus_chunks(collection):
    """(document title, url, chunk text) of one demo collection."""
    settings = ChunkingSettings.from_env({})
    return [(doc.title, doc.url, text) for doc in read_corpus(collections=[collection])
            for text in chunk_text(doc.body, settings)]


def load_langchain(db):
    db.execute(LANGCHAIN_DDL)
    with db.connect(autocommit=True) as conn:
        for name, collection in (("licenses", "tenant_acme"), ("git_notes", "tenant_globex")):
            cid = uuid.uuid4()
            conn.execute("INSERT INTO langchain_pg_collection (uuid, name, cmetadata) VALUES (%s, %s, '{}')", (cid, name))
            for title, url, text in corpus_chunks(collection):
                conn.execute("INSERT INTO langchain_pg_embedding (id, collection_id, document, cmetadata) "
                             "VALUES (%s, %s, %s, jsonb_build_object('source', %s::text, 'title', %s::text))",
                             (str(uuid.uuid4()), cid, text, url, title))
    return ["licenses", "git_notes"], {"LANGCHAIN_SOURCE_KEY": "source"}


def load_llamaindex(db):
    db.execute(LLAMAINDEX_DDL)
    with db.connect(autocommit=True) as conn:
        for _title, url, text in corpus_chunks("tenant_acme"):
            conn.execute("INSERT INTO data_licenses (text, metadata_, node_id) VALUES "
                         "(%s, jsonb_build_object('file_name', %s::text, 'ref_doc_id', %s::text), %s)",
                         (text, url.rsplit("/", 1)[-1], url, str(uuid.uuid4())))
    return ["licenses"], {"LLAMAINDEX_TABLE": "licenses"}


def load_pgai(db, provider):
    """Source rows, and the store rows pgai's worker writes (chunk, sequence and vector together)."""
    db.execute(PGAI_DDL)
    chunks = corpus_chunks("tenant_globex")
    vectors = provider.embed([text for _, _, text in chunks]).vectors
    with db.connect(autocommit=True) as conn:
        seq: dict[str, int] = {}
        ids: dict[str, int] = {}
        for (title, url, text), vector in zip(chunks, vectors):
            if url not in ids:
                ids[url] = len(ids) + 1
                conn.execute("INSERT INTO blog (id, title, contents) VALUES (%s, %s, %s)", (ids[url], title, url))
            seq[url] = seq.get(url, -1) + 1
            conn.execute("INSERT INTO blog_embedding_store (id, chunk_seq, chunk, embedding) VALUES (%s, %s, %s, %s)",
                         (ids[url], seq[url], text, vector))
    return ["blog"], {"PGAI_SOURCE": "blog", "PGAI_SOURCE_PK": "id"}


def test_every_preset_is_shipped():
    assert set(PRESETS) >= {"langchain", "llamaindex", "pgai"}


@pytest.mark.parametrize("preset", ["langchain", "llamaindex", "pgai"])
def test_preset_checks_pass_after_a_backfill(preset, empty_db, embed_server, tmp_path):
    with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
        if preset == "pgai":
            collections, env = load_pgai(empty_db, provider)
        else:
            collections, env = {"langchain": load_langchain, "llamaindex": load_llamaindex}[preset](empty_db)
        env = {**env, "OLLAMA_HOST": embed_server.url, "EMBED_MODEL": TEST_MODEL, "DATABASE_URL": empty_db.dsn}
        profile = load_profile(profile_path(preset), env=env)
        for collection in collections:
            summary = run_backfill(resolve(profile, database_url=empty_db.dsn, provider_url=provider.url),
                                   BackfillOptions(collection=collection, progress=False), provider=provider)
            assert summary.ok and summary.after.needed == 0
            if preset == "pgai":
                assert summary.embedded == 0  # the store is complete as pgai's worker left it
            else:
                assert summary.embedded == summary.before.chunks > 0
    run_dir = tmp_path / "run"
    write_evidence(run_dir, RunEvidence(collections[0], "backfill", 0, "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", 1.0, 0))
    args = ["--bh-profile", preset, "--bh-run-dir", str(run_dir)] + [a for c in collections for a in ("--bh-collection", c)]
    run = run_checks(tmp_path, *args, env=env)
    assert run.failed == set(), run.output
    skipped = run.with_status("skipped")
    # These schemas keep no model name, input hash or tenant: recompute stands in for model and fresh.
    expected_skips = {f"test_{c}[{coll}]" for c in ("model", "fresh") for coll in collections} | {"test_custom"}
    expected_skips |= {f"test_completed[{coll}]" for coll in collections[1:]}
    assert skipped == expected_skips, run.output
    assert {f"test_{c}[{coll}]" for c in ("coverage", "recompute", "citations", "index", "tenant_isolation")
            for coll in collections} <= run.with_status("passed")


def test_langchain_preset_finds_a_document_embedded_into_another_collection(empty_db, embed_server, tmp_path):
    collections, env = load_langchain(empty_db)
    env = {**env, "OLLAMA_HOST": embed_server.url, "EMBED_MODEL": TEST_MODEL, "DATABASE_URL": empty_db.dsn}
    profile = load_profile(profile_path("langchain"), env=env)
    with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
        for collection in collections:
            run_backfill(resolve(profile, database_url=empty_db.dsn, provider_url=provider.url),
                         BackfillOptions(collection=collection, progress=False), provider=provider)
    empty_db.execute("UPDATE langchain_pg_embedding SET embedding = NULL WHERE id = (SELECT min(id) FROM langchain_pg_embedding "
                     "WHERE collection_id = (SELECT uuid FROM langchain_pg_collection WHERE name = 'licenses'))")
    run = run_checks(tmp_path, "--bh-profile", "langchain", "--bh-collection", "licenses", env=env, files=("test_coverage.py",))
    assert run.failed == {"test_coverage[licenses]"}
    assert "1 missing" in run.messages["test_coverage[licenses]"]
