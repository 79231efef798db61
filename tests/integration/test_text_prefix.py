"""An application that gives its model a task prefix before every text (nomic-embed-text's `search_document: `, the
e5 family's `passage: `): with ``chunks.text_prefix`` the engine embeds and hashes the text so prefixed, and verify
recomputes the application's own vectors; a profile that leaves the prefix out fails them, never passes."""

import json

import httpx
import numpy as np

MODEL, DIMS, PREFIX = "hash-embed:384", 384, "search_document: "
NOTES = f"""
CREATE TABLE note (id text PRIMARY KEY, body text NOT NULL, embedding vector({DIMS}));
INSERT INTO note SELECT 'n' || g, 'note ' || g || ' on ' || (ARRAY['tea', 'rain', 'maps'])[g % 3 + 1]
  || ' and ' || (ARRAY['ships', 'bread', 'owls', 'clocks'])[g % 4 + 1], NULL FROM generate_series(1, 12) g;
"""
PROFILE = (f"name: note\nprovider: {{model: {MODEL}, dimensions: {DIMS}}}\n"
           "chunks: {table: note, id: id, text: body, collection_name: note%s}\nembeddings: {vector: embedding}\n")


def _embed(url, texts):
    body = httpx.post(f"{url}/api/embed", json={"model": MODEL, "input": texts}).json()
    return np.asarray(body["embeddings"], dtype=np.float64)


def _setup(db, url, tmp_path, prefix: str | None):
    """The application's own writes: half the rows, each embedded as `search_document: ` + its body."""
    db.execute(NOTES)
    conn = db.connect(autocommit=True)
    rows = dict(conn.execute("SELECT id, body FROM note").fetchall())
    for key in ("n1", "n2", "n3", "n4", "n5", "n6"):
        vector = _embed(url, [PREFIX + rows[key]])[0]
        conn.execute("UPDATE note SET embedding = %s::vector WHERE id = %s", (json.dumps(vector.tolist()), key))
    profile = tmp_path / "note.yaml"
    profile.write_text(PROFILE % (f", text_prefix: {prefix!r}" if prefix else ""))
    return profile, {"DATABASE_URL": db.dsn, "OLLAMA_HOST": url}, rows


def test_the_engine_embeds_each_text_after_the_applications_prefix_and_verify_passes(cli, empty_db, embed_server,
                                                                                      tmp_path):
    profile, env, rows = _setup(empty_db, embed_server.url, tmp_path, PREFIX)
    ran = cli("backfill", "--profile", profile, "--collection", "note", "--json", env=env)
    assert ran.code == 0, ran.err
    assert json.loads(ran.out)["embedded"] == 6
    stored = dict(empty_db.connect().execute("SELECT id, embedding::real[] FROM note WHERE id = 'n9'").fetchall())
    assert np.allclose(stored["n9"], _embed(embed_server.url, [PREFIX + rows["n9"]])[0], atol=1e-6)
    checked = cli("verify", "--profile", profile, "--collection", "note", "--run-dir", tmp_path / "run", "--json", env=env)
    assert checked.code == 0, [c for c in checked.json["checks"] if c["status"] != "passed"]
    checks = {c["check"]: c for c in checked.json["checks"]}
    assert checks["recompute"]["status"] == "passed", checks["recompute"]


def test_a_profile_that_leaves_the_prefix_out_fails_recompute_on_the_applications_vectors(cli, empty_db, embed_server,
                                                                                         tmp_path):
    profile, env, _ = _setup(empty_db, embed_server.url, tmp_path, None)
    assert cli("backfill", "--profile", profile, "--collection", "note", env=env).code == 0
    checked = cli("verify", "--profile", profile, "--collection", "note", "--run-dir", tmp_path / "run", "--json", env=env)
    checks = {c["check"]: c for c in checked.json["checks"]}
    assert checked.code != 0 and checks["recompute"]["status"] == "failed", checks["recompute"]


def test_chunks_with_no_text_are_still_refused_behind_a_prefix(cli, empty_db, embed_server, tmp_path):
    """The prefix alone is no text: a profile naming a column that is empty everywhere must not embed 6 prefixes."""
    profile, env, _ = _setup(empty_db, embed_server.url, tmp_path, PREFIX)
    empty_db.execute("UPDATE note SET body = ''")
    scoped = cli("scope", "--profile", profile, "--collection", "note", "--json", env=env)
    checks = {c["check"]: c for c in scoped.json["checks"]}
    assert scoped.code != 0 and checks["chunk text"]["status"] == "failed", checks["chunk text"]
