"""Chunks that hold a collection table's key (``chunks.collection_table``) beside embedding rows with a collection
column of their own (``embeddings.collection``): the embedding row holds the same key as its chunk, never the name."""

from __future__ import annotations

import httpx

from harness.checks.counted import coverage
from tests.conftest import TEST_MODEL
from tests.integration.conftest import check_session

SCHEMA = """
CREATE TABLE shelves (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO shelves VALUES (1, 'docs'), (2, 'faq');
CREATE TABLE chunks (id int PRIMARY KEY, shelf int NOT NULL REFERENCES shelves, body text NOT NULL);
CREATE TABLE chunk_vectors (chunk_id int PRIMARY KEY REFERENCES chunks(id), shelf int NOT NULL, embedding vector(384),
                            model text);
"""
PROFILE = """
name: shelved
provider: {{model: {model}, dimensions: 384}}
chunks: {{table: chunks, id: id, text: body, collection: shelf, collection_table: {{table: shelves, key: id, name: name}}}}
embeddings: {{table: chunk_vectors, key: chunk_id, vector: embedding, model: model, collection: shelf}}
"""


def load(db, url: str, embedded: tuple[int, ...]) -> None:
    """Chunks 1-4 on shelf docs (1), 5-6 on faq (2); the ``embedded`` ones with their vectors as the app files them."""
    db.execute(SCHEMA)
    texts = {k: f"chunk number {k} about shelving" for k in range(1, 7)}
    vectors = httpx.post(f"{url}/api/embed", json={"model": TEST_MODEL, "input": list(texts.values())}).json()["embeddings"]
    with db.connect(autocommit=True) as conn:
        for (key, text), vector in zip(texts.items(), vectors):
            shelf = 1 if key <= 4 else 2
            conn.execute("INSERT INTO chunks VALUES (%s, %s, %s)", (key, shelf, text))
            if key in embedded:
                conn.execute("INSERT INTO chunk_vectors VALUES (%s, %s, %s::vector, %s)", (key, shelf, str(vector), TEST_MODEL))


def profile(tmp_path):
    path = tmp_path / "profile.yaml"
    path.write_text(PROFILE.format(model=TEST_MODEL))
    return path


def test_vectors_filed_under_their_chunks_key_pass_coverage(empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url, embedded=(1, 2, 3, 4, 5, 6))
    session = check_session(empty_db, embed_server, profile(tmp_path), "all")
    try:
        found = {c: coverage(session, c) for c in session.collections}
    finally:
        session.close()
    assert {c: (o.status, o.found) for c, o in found.items()} == {
        "docs": ("passed", found["docs"].found), "faq": ("passed", found["faq"].found)}, found


def test_a_lost_vector_and_a_vector_filed_under_another_shelfs_key_are_named(empty_db, embed_server, tmp_path):
    from harness.checks.tenants import tenant_isolation

    load(empty_db, embed_server.url, embedded=(1, 2, 3, 5, 6))
    empty_db.execute("UPDATE chunk_vectors SET shelf = 2 WHERE chunk_id = 2")  # docs' chunk filed under faq's key
    session = check_session(empty_db, embed_server, profile(tmp_path), "all")
    try:
        lost, filed = coverage(session, "docs"), tenant_isolation(session, "docs")
    finally:
        session.close()
    assert lost.status == "failed" and 4 in {o.id for o in lost.offenders}, lost
    assert filed.status == "failed" and {o.id for o in filed.offenders} == {2}, filed


def test_the_engine_files_each_vector_under_its_chunks_key(cli, empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url, embedded=(1, 5))
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    ran = cli("backfill", "--profile", profile(tmp_path), "--collection", "docs", "--json", env=env)
    assert ran.code == 0 and ran.json["embedded"] == 3, ran.out + ran.err
    assert empty_db.scalar("SELECT array_agg(DISTINCT shelf::text ORDER BY shelf::text) FROM chunk_vectors") == ["1", "2"]
    assert empty_db.scalar("SELECT count(*) FROM chunk_vectors") == 5


def test_vectors_the_engine_embeds_again_replace_their_rows_under_the_chunks_key(cli, empty_db, embed_server, tmp_path):
    """Before: the engine wrote the collection's name where the rows hold the shelf's key (an integer: a crash; a
    text key: rows no chunk's key matches, left in the application's table)."""
    load(empty_db, embed_server.url, embedded=(1, 2, 3, 4, 5))
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    again = cli("backfill", "--profile", profile(tmp_path), "--collection", "docs", "--all", "--json", env=env)
    assert again.code == 0 and again.json["embedded"] == 4, again.out + again.err
    assert empty_db.scalar("SELECT count(*) FROM chunk_vectors") == 5
    session = check_session(empty_db, embed_server, profile(tmp_path), "docs")
    try:
        assert coverage(session, "docs").status == "passed"
    finally:
        session.close()


def test_a_vector_filed_under_another_collection_is_named_where_both_tables_name_theirs(embedded_db, embed_server):
    """The demo's document_embeddings name their collection: a row filed under tenant_globex for an acme chunk does not
    meet its chunk on the key and the collection, so it was counted and never listed (nothing for --keys-from)."""
    from harness.checks.tenants import tenant_isolation
    from tests.conftest import DEMO_PROFILE

    key = embedded_db.scalar("SELECT min(chunk_id) FROM document_embeddings WHERE collection = 'tenant_acme'")
    embedded_db.execute(f"UPDATE document_embeddings SET collection = 'tenant_globex' WHERE chunk_id = {key}")
    session = check_session(embedded_db, embed_server, DEMO_PROFILE, "tenant_acme")
    try:
        filed = tenant_isolation(session, "tenant_acme")
    finally:
        session.close()
    assert filed.status == "failed" and [o.id for o in filed.offenders] == [key], filed
