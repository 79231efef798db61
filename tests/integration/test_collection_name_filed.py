"""One fixed collection (``chunks.collection_name``) beside an embedding table that names each row's collection
(``embeddings.collection``): a row filed under another name is none of the chunk's (the application's search of the
collection, filtered on that column, never finds it), so every count, the selection and the checks call the chunk
missing, and a run files its vector under the collection's name."""

SCHEMA = """
CREATE TABLE docs (id int PRIMARY KEY, body text NOT NULL);
CREATE TABLE doc_vectors (doc_id int PRIMARY KEY REFERENCES docs, collection text, embedding vector(384), model text);
INSERT INTO docs SELECT g, 'document number ' || g || ' about ' || (ARRAY['tea', 'rain', 'maps'])[g % 3 + 1]
  FROM generate_series(1, 12) g;
"""
PROFILE = """name: docs
provider: {model: hash-embed:384}
chunks: {table: docs, id: id, text: body, collection_name: docs}
embeddings: {table: doc_vectors, key: doc_id, vector: embedding, model: model, collection: collection}
"""


def test_a_vector_filed_under_another_name_than_the_fixed_collection_is_missing_and_a_run_files_it_again(
        cli, empty_db, embed_server, tmp_path):
    """Before: scope and run counted it embedded (12 of 12, 0 needed: run ok) while verify's coverage failed it."""
    empty_db.execute(SCHEMA)
    profile = tmp_path / "docs.yaml"
    profile.write_text(PROFILE)
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    target = ("--profile", profile, "--collection", "docs")
    assert cli("backfill", *target, "--json", env=env).json["embedded"] == 12
    empty_db.execute("UPDATE doc_vectors SET collection = 'archive' WHERE doc_id = 3")
    scoped = cli("scope", *target, "--json", env=env)
    assert (scoped.json["counts"]["embedded"], scoped.json["counts"]["needed"]) == (11, 1), scoped.out
    again = cli("backfill", *target, "--json", env=env)
    assert again.code == 0 and again.json["embedded"] == 1, again.out + again.err
    assert empty_db.scalar("SELECT count(*) FROM doc_vectors WHERE collection = 'docs'") == 12
    verified = cli("verify", *target, "--run-dir", tmp_path / "run", "--json", env=env)
    statuses = {c["check"]: c["status"] for c in verified.json["checks"]}
    assert (statuses["coverage"], statuses["tenant_isolation"]) == ("passed", "passed"), verified.out
