"""pgvector installed in a schema of its own that the connecting role's search_path leaves out (`CREATE EXTENSION
vector SCHEMA extensions`, as Supabase and many DBAs do; the application writes `extensions.vector(384)`): the
harness finds the extension where it is, instead of saying the database has none, and every step works."""

import json

MODEL = "hash-embed:384"
NOTES = """
CREATE SCHEMA extensions;
ALTER EXTENSION vector SET SCHEMA extensions;
CREATE TABLE note (id text PRIMARY KEY, body text NOT NULL, embedding extensions.vector(384));
CREATE INDEX ON note USING hnsw (embedding extensions.vector_cosine_ops);
INSERT INTO note SELECT 'n' || g, 'note ' || g || ' on tea and ships', NULL FROM generate_series(1, 8) g;
"""
PROFILE = (f"name: note\nprovider: {{model: {MODEL}, dimensions: 384}}\n"
           "chunks: {table: note, id: id, text: body, collection_name: note}\nembeddings: {vector: embedding}\n")


def test_scope_backfill_and_verify_work_with_pgvector_in_a_schema_off_the_search_path(cli, empty_db, embed_server,
                                                                                       tmp_path):
    empty_db.execute(NOTES)
    profile = tmp_path / "note.yaml"
    profile.write_text(PROFILE)
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    target = ("--profile", profile, "--collection", "note")
    scoped = cli("scope", *target, "--json", env=env)
    assert scoped.code == 0, scoped.out + scoped.err
    ran = cli("backfill", *target, "--json", env=env)
    assert ran.code == 0 and json.loads(ran.out)["embedded"] == 8, ran.out + ran.err
    checked = cli("verify", *target, "--run-dir", tmp_path / "run", "--json", env=env)
    assert checked.code == 0, [c for c in checked.json["checks"] if c["status"] != "passed"]



def test_the_search_path_a_session_gets_ends_with_the_extensions_schema_and_keeps_the_roles_own(empty_db):
    """Only appended: a table of the application's that shadows nothing keeps resolving as the role's path says."""
    from harness import db as dbmod

    empty_db.execute("CREATE SCHEMA extensions; ALTER EXTENSION vector SET SCHEMA extensions")
    for autocommit in (True, False):
        with dbmod.connect(empty_db.dsn, autocommit=autocommit) as conn:
            path = conn.execute("SHOW search_path").fetchone()["search_path"]
            assert path.endswith(", extensions") and path.startswith('"$user", public'), path
            assert conn.execute("SELECT '[1,2]'::vector <=> '[2,1]'::vector AS d").fetchone()["d"] > 0


def test_profile_init_drafts_the_table_and_its_distance_with_pgvector_off_the_search_path(cli, empty_db, embed_server,
                                                                                         tmp_path):
    from harness.profile import load_profile

    empty_db.execute(NOTES)
    out = tmp_path / "draft.yaml"
    made = cli("profile", "init", "--repo", tmp_path, "--database-url", empty_db.dsn, "--output", out, "--model", MODEL,
               "--json", env={"OLLAMA_HOST": embed_server.url})
    assert made.code == 0 and made.json["todo"] == [], made.out + made.err
    profile = load_profile(out, env={})
    assert (profile.chunks.table, profile.embeddings.vector, profile.distance) == ("note", "embedding", "cosine")
    assert "vector_cosine_ops" in out.read_text()
