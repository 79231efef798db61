"""An inline chunk table keyed by (collection, id), as LightRAG's `LIGHTRAG_VDB_CHUNKS_<model>` tables are
(`PRIMARY KEY (workspace, id)`, the id an MD5 of the document and the text): the same id is a chunk of each
workspace that holds the document, and each command reads and writes one workspace's rows only."""

import yaml

MODEL = "hash-embed:384"
SCHEMA = """
CREATE TABLE vdb_chunks (id varchar(255), workspace varchar(255), content text, content_vector vector(384),
                         file_path text, CONSTRAINT vdb_chunks_pk PRIMARY KEY (workspace, id));
INSERT INTO vdb_chunks SELECT 'chunk-' || g, w, 'passage ' || g || ' on tea', NULL, 'shared.md'
  FROM generate_series(1, 4) g, unnest(ARRAY['alpha', 'beta']) w;
UPDATE vdb_chunks SET content = 'beta rewrote passage 1' WHERE workspace = 'beta' AND id = 'chunk-1';
"""
PROFILE = f"""name: vdb
provider: {{model: {MODEL}, dimensions: 384}}
chunks: {{table: vdb_chunks, id: id, text: content, collection: workspace}}
embeddings: {{vector: content_vector}}
"""


def test_a_backfill_of_one_workspace_writes_none_of_another_workspaces_rows_of_the_same_id(cli, empty_db, embed_server,
                                                                                         tmp_path):
    empty_db.execute(SCHEMA)
    profile = tmp_path / "p.yaml"
    profile.write_text(PROFILE)
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    ran = cli("backfill", "--profile", profile, "--collection", "alpha", "--json", env=env)
    assert ran.code == 0 and ran.json["embedded"] == 4, ran.out + ran.err
    assert empty_db.scalar("SELECT count(content_vector) FROM vdb_chunks WHERE workspace = 'alpha'") == 4
    # beta's rows, the same ids, are beta's to fill (and its chunk-1 says something else than alpha's)
    assert empty_db.scalar("SELECT count(content_vector) FROM vdb_chunks WHERE workspace = 'beta'") == 0


def test_the_draft_takes_the_key_beside_a_workspace_in_a_two_column_primary_key_and_the_workspace_as_collection(
        cli, empty_db, embed_server, tmp_path):
    empty_db.execute(SCHEMA)
    out = tmp_path / "draft.yaml"
    init = cli("profile", "init", "--repo", tmp_path, "--database-url", empty_db.dsn, "--output", out,
               "--model", MODEL, "--json")
    assert init.code == 0 and init.json["todo"] == [], init.out + init.err
    drafted = out.read_text()
    chunks = yaml.safe_load(drafted)["chunks"]
    assert (chunks["id"], chunks.get("collection"), chunks["text"]) == ("id", "workspace", "content"), drafted
    assert "(workspace, id)" in drafted, drafted
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    scoped = cli("scope", "--profile", out, "--collection", "beta", "--json", env=env)
    assert scoped.code == 0 and scoped.json["counts"]["needed"] == 4, scoped.out + scoped.err
