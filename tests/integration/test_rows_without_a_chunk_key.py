"""An embeddings table may hold rows that belong to no chunk: lobe-chat keeps the vectors of users' search queries
in ``embeddings`` with ``chunk_id`` NULL (``message_queries.embeddings_id`` points at them). A NULL key references
no chunk, so such a row is neither an orphan nor a vector of the collection: scope and verify leave it out and say so."""

import httpx

from ..conftest import TEST_MODEL

SCHEMA = """
CREATE TABLE chunks (id uuid PRIMARY KEY, text text, user_id text);
CREATE TABLE embeddings (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), chunk_id uuid UNIQUE REFERENCES chunks (id),
                         embeddings vector(384), model text, user_id text);
"""


def lobe_chat_like(db, server, queries_model: str) -> None:
    texts = [f"Part {i} of the handbook: who to ask about topic {i}." for i in range(12)]
    queries = ["who do I ask about holidays", "where is the handbook"]
    answer = httpx.post(f"{server.url}/api/embed", json={"model": TEST_MODEL, "input": texts + queries}).json()["embeddings"]
    db.execute(SCHEMA)
    with db.connect(autocommit=True) as conn:
        for i, (text, vector) in enumerate(zip(texts, answer)):
            user = "u1" if i < 6 else "u2"
            key = conn.execute("INSERT INTO chunks (id, text, user_id) VALUES (gen_random_uuid(), %s, %s) RETURNING id",
                               (text, user)).fetchone()[0]
            conn.execute("INSERT INTO embeddings (chunk_id, embeddings, model, user_id) VALUES (%s, %s, %s, %s)",
                         (key, str(vector), TEST_MODEL, user))
        for vector in answer[len(texts):]:  # the search queries' vectors, made before a model switch
            conn.execute("INSERT INTO embeddings (chunk_id, embeddings, model, user_id) VALUES (NULL, %s, %s, 'u1')",
                         (str(vector), queries_model))


def procedure(cli, db, server, tmp_path):
    env = {"DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url}
    profile = tmp_path / "profile.yaml"
    (tmp_path / "app").mkdir()  # an app with no command of its own: the engine runs
    assert cli("profile", "init", "--repo", tmp_path / "app", "--database-url", db.dsn, "--output", profile,
               "--model", TEST_MODEL, env=env).code == 0
    target = ("--profile", profile, "--collection", "chunks")
    return (cli("scope", *target, "--json", env=env),
            cli("verify", *target, "--run-dir", tmp_path / "run", "--json", env=env))


def test_query_vectors_with_no_chunk_key_are_no_orphans(cli, empty_db, embed_server, tmp_path):
    lobe_chat_like(empty_db, embed_server, TEST_MODEL)
    scoped, verified = procedure(cli, empty_db, embed_server, tmp_path)
    assert scoped.code == 0 and scoped.json["counts"]["needed"] == 0, scoped.out
    coverage = next(c for c in verified.json["checks"] if c["check"] == "coverage")
    assert coverage["status"] == "passed", coverage
    assert "0 orphans" in coverage["found"] and "2 rows with no chunk key" in coverage["found"], coverage


def test_query_vectors_of_another_model_are_no_model_switch(cli, empty_db, embed_server, tmp_path):
    lobe_chat_like(empty_db, embed_server, "text-embedding-3-small")
    scoped, verified = procedure(cli, empty_db, embed_server, tmp_path)
    assert scoped.code == 0, scoped.out
    assert scoped.json["counts"]["other_model"] == 0 and scoped.json["stored_models"] == {TEST_MODEL: 12}
    assert verified.code == 0, verified.out
