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
    log = tmp_path / "historylog.md"
    recorded = cli("record", "--profile", profile, "--collection", "note", "--run-dir", tmp_path / "run",
                   "--historylog", log, "--json", env=env)
    assert recorded.code == 0, recorded.out
    assert "text_prefix=\"'search_document: '\"" in log.read_text()  # the auditor reads what each text was given


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


INGEST = '''\
import ollama

def ingest(chunks):
    return ollama.embed(model="hash-embed:384", input=[f"search_document: {c}" for c in chunks])["embeddings"]
'''


def _repo(tmp_path, code=INGEST):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "ingest.py").write_text(code)
    return repo


def test_profile_init_drafts_the_prefix_that_reproduces_the_stored_vectors_and_its_query_prefix(cli, empty_db,
                                                                                                embed_server, tmp_path):
    from harness.profile import load_profile

    _setup(empty_db, embed_server.url, tmp_path, None)
    out = tmp_path / "draft.yaml"
    made = cli("profile", "init", "--repo", _repo(tmp_path), "--database-url", empty_db.dsn, "--output", out,
               "--model", MODEL, "--json", env={"OLLAMA_HOST": embed_server.url})
    assert made.code == 0, made.err
    chunks = load_profile(out, env={}).chunks
    assert (chunks.text_prefix, chunks.query_prefix) == (PREFIX, "search_query: "), out.read_text()
    assert "measured: hash-embed:384 re-embedding 'search_document: ' before body reproduces" in out.read_text()


def test_without_a_provider_the_prefix_the_code_puts_before_its_texts_is_drafted_as_a_guess(cli, empty_db,
                                                                                            embed_server, tmp_path):
    from harness.profile import load_profile

    _setup(empty_db, embed_server.url, tmp_path, None)
    code = INGEST + 'QUERY = "search_query: "\n'
    out = tmp_path / "draft.yaml"
    made = cli("profile", "init", "--repo", _repo(tmp_path, code), "--database-url", empty_db.dsn, "--output", out,
               "--model", MODEL, "--json", env={"OLLAMA_HOST": ""})
    assert made.code == 0, made.err
    text = out.read_text()
    assert "guess: the application puts it before what it embeds (ingest.py:4)" in text, text
    assert "guess: the application puts it before a search query (ingest.py:5)" in text, text
    chunks = load_profile(out, env={}).chunks
    assert (chunks.text_prefix, chunks.query_prefix) == (PREFIX, "search_query: ")


def test_locate_lists_the_task_prefix_with_where_the_code_puts_it(cli, tmp_path):
    found = cli("locate", "--repo", _repo(tmp_path), "--json")
    assert found.json["task_prefixes"] == [{"prefix": PREFIX, "where": "ingest.py:4"}]


def test_when_most_rows_fail_recompute_says_what_whole_corpus_causes_to_look_for_and_how_to_re_embed(
        cli, empty_db, embed_server, tmp_path):
    """Every vector made after a prefix the profile leaves out: the counts call them current, so the failure must
    say where to look (the text the profile composes, the model) and how to re-embed rows that look current."""
    profile, env, rows = _setup(empty_db, embed_server.url, tmp_path, None)
    conn = empty_db.connect(autocommit=True)
    for key, body in rows.items():
        vector = _embed(embed_server.url, [PREFIX + body])[0]
        conn.execute("UPDATE note SET embedding = %s::vector WHERE id = %s", (json.dumps(vector.tolist()), key))
    checked = cli("verify", "--profile", profile, "--collection", "note", "--run-dir", tmp_path / "run", "--json", env=env)
    recompute = {c["check"]: c for c in checked.json["checks"]}["recompute"]
    assert recompute["status"] == "failed", recompute
    assert "most rows read are off" in recompute["found"] and "chunks.text_prefix" in recompute["found"], recompute
    assert "--keys-from" in recompute["found"] and "backfill --all" in recompute["found"], recompute


def test_once_the_profile_gives_the_prefix_run_all_re_embeds_the_rows_that_look_current_and_verify_passes(
        cli, empty_db, embed_server, tmp_path):
    """Six vectors made without the prefix the application gives: hash and model call every row current, so only
    --all (not a count) re-embeds them."""
    profile, env, _ = _setup(empty_db, embed_server.url, tmp_path, None)
    assert cli("backfill", "--profile", profile, "--collection", "note", env=env).code == 0
    profile.write_text(PROFILE % f", text_prefix: {PREFIX!r}")
    target = ("--profile", profile, "--collection", "note")
    assert cli("scope", *target, "--json", env=env).json["counts"]["needed"] == 0
    ran = cli("run", *target, "--engine", "--all", "--run-dir", tmp_path / "run", "--json", env=env)
    assert ran.code == 0 and "--all" in ran.json["command"], ran.out + ran.err
    checked = cli("verify", *target, "--run-dir", tmp_path / "run", "--json", env=env)
    assert checked.code == 0, [c for c in checked.json["checks"] if c["status"] != "passed"]


def test_run_all_without_the_engine_is_refused_naming_it(cli, empty_db, embed_server, tmp_path):
    profile, env, _ = _setup(empty_db, embed_server.url, tmp_path, None)
    ran = cli("run", "--profile", profile, "--collection", "note", "--command", "true", "--all",
              "--run-dir", tmp_path / "run", "--json", env=env)
    assert ran.code == 2 and "expected --engine" in ran.json["error"] and "\n" not in ran.json["error"], ran.out
