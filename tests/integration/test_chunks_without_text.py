"""A chunk with no text (an empty or NULL text column) has nothing to embed: applications skip it (LangChain's and
Flowise's upserts drop a document whose pageContent is empty), and a vector of '' would match nothing the row says.
The engine never embeds one; scope and plan count it apart from the missing vectors; coverage says it and passes."""

import json

import httpx

from ..conftest import TEST_MODEL

SCHEMA = "CREATE TABLE docs (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), content text, embedding vector(384))"


def docs_with_two_without_text(db, server) -> dict[str, list[str]]:
    """8 texts with their vectors, 2 texts whose vectors were lost, a row with '' and one with NULL, no vector."""
    texts = [f"Note {i}: the quarterly review covers topic {i}." for i in range(10)]
    vectors = httpx.post(f"{server.url}/api/embed", json={"model": TEST_MODEL, "input": texts}).json()["embeddings"]
    db.execute(SCHEMA)
    with db.connect(autocommit=True) as conn:
        keys = [conn.execute("INSERT INTO docs (content, embedding) VALUES (%s, %s) RETURNING id::text",
                             (text, json.dumps(v) if i >= 2 else None)).fetchone()[0]
                for i, (text, v) in enumerate(zip(texts, vectors))]
        empty = [conn.execute("INSERT INTO docs (content) VALUES (%s) RETURNING id::text", (text,)).fetchone()[0]
                 for text in ("", None)]
    return {"lost": keys[:2], "empty": empty}


PROFILE = """name: notes
database: {url: "${DATABASE_URL:-}"}
provider: {url: "${OLLAMA_HOST:-}", model: "%s"}
chunks: {table: docs, id: id, text: content, collection_name: docs}
embeddings: {vector: embedding}
distance: cosine
""" % TEST_MODEL


def target(db, server, tmp_path):
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE)
    return {"DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url}, ("--profile", profile, "--collection", "docs")


def test_chunks_without_text_are_counted_apart_never_embedded_even_listed_and_coverage_says_so(cli, empty_db,
                                                                                              embed_server, tmp_path):
    keys = docs_with_two_without_text(empty_db, embed_server)
    env, docs = target(empty_db, embed_server, tmp_path)
    scoped = cli("scope", *docs, "--json", env=env)
    assert scoped.code == 0, scoped.out + scoped.err
    counts = scoped.json["counts"]
    assert (counts["chunks"], counts["missing"], counts["needed"], counts["no_text"]) == (12, 2, 2, 2), counts
    text = next(c for c in scoped.json["checks"] if c["check"] == "chunk text")
    assert text["found"] == "10 of 12 chunks have a text (2 empty: nothing to embed)", text
    # --keys-from naming them (a list written by hand, or by an older verify) embeds the listed chunks with a text only.
    listed = tmp_path / "offenders.jsonl"
    listed.write_text("".join(json.dumps({"check": "coverage", "key": k, "collection": "docs"}) + "\n"
                              for k in keys["lost"] + keys["empty"]))
    fixed = cli("backfill", *docs, "--keys-from", listed, "--json", env=env)
    assert fixed.code == 0 and fixed.json["embedded"] == 2, fixed.out + fixed.err
    # Measured: the two lost vectors are back, the rows without text still hold none.
    assert empty_db.scalar("SELECT count(*) FROM docs WHERE embedding IS NULL") == 2
    assert empty_db.scalar("SELECT count(*) FROM docs WHERE embedding IS NULL AND id::text = ANY(%s)", (keys["empty"],)) == 2
    empty_db.execute("UPDATE docs SET embedding = NULL WHERE id::text = %s", (keys["lost"][0],))
    ran = cli("run", *docs, "--engine", "--run-dir", tmp_path / "run", "--json", env=env)
    assert ran.code == 0 and ran.json["embedded_rows"] == 1 and ran.json["remaining"] == 0, ran.out + ran.err
    assert empty_db.scalar("SELECT count(*) FROM docs WHERE embedding IS NULL") == 2
    verified = cli("verify", *docs, "--run-dir", tmp_path / "run", "--json", env=env)
    coverage = next(c for c in verified.json["checks"] if c["check"] == "coverage")
    assert verified.code == 0 and coverage["status"] == "passed", verified.out
    assert coverage["found"].startswith("10 embedded, 0 missing, 0 orphans; 2 chunks with no text (nothing to embed)")


def test_a_chunk_emptied_after_its_vector_is_counted_without_text_not_to_embed_and_fresh_fails_on_it(
        cli, empty_db, embed_server, tmp_path):
    # Scope, the run's closing count and the engine's selection agree: a chunk without text is never to embed, even
    # with a vector of its former text. Before, scope and the run counted it needed, the engine never selected it,
    # and every run failed "1 of 4 rows still need a vector ... run backfill again", which no run could change.
    texts = [f"Note {i}: the quarterly review covers topic {i}." for i in range(4)]
    vectors = httpx.post(f"{embed_server.url}/api/embed", json={"model": TEST_MODEL, "input": texts}).json()["embeddings"]
    empty_db.execute("CREATE TABLE docs (id serial PRIMARY KEY, content text, embedding vector(384), h text)")
    with empty_db.connect(autocommit=True) as conn:
        for text, vector in zip(texts, vectors):
            conn.execute("INSERT INTO docs (content, embedding, h) VALUES (%s, %s, encode(sha256(convert_to(%s, "
                         "'UTF8')), 'hex'))", (text, json.dumps(vector), text))
    empty_db.execute("UPDATE docs SET content = '' WHERE id = 1")
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE.replace("{vector: embedding}", "{vector: embedding, input_hash: h}"))
    env, docs = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}, ("--profile", profile, "--collection", "docs")
    counts = cli("scope", *docs, "--json", env=env).json["counts"]
    assert (counts["stale"], counts["needed"], counts["no_text"]) == (1, 0, 1), counts
    ran = cli("run", *docs, "--engine", "--run-dir", tmp_path / "run", "--json", env=env)
    assert ran.code == 0 and ran.json["remaining"] == 0, ran.out + ran.err
    verified = cli("verify", *docs, "--run-dir", tmp_path / "run", "--json", env=env)
    fresh = next(c for c in verified.json["checks"] if c["check"] == "fresh")
    assert verified.code != 0 and fresh["status"] == "failed" and fresh["found"].startswith("1 of 4"), verified.out


def test_a_new_collection_leaves_out_of_its_needed_count_the_chunks_emptied_after_their_vectors(cli, demo_profile,
                                                                                                target_env, embedded_db):
    # --into NEW copies the chunks without vectors and never embeds one without text. Before, scope left out only
    # the chunks without text that had no vector either: it said 107 to embed into NEW, and the run embedded 105.
    embedded_db.execute("UPDATE document_chunks SET content = '' WHERE id IN (SELECT id FROM document_chunks "
                        "WHERE collection = 'tenant_acme' ORDER BY id LIMIT 2)")
    result = cli("scope", "--profile", demo_profile, "--collection", "tenant_acme", "--into", "tenant_acme_v2", "--json",
                 env={**target_env, "DATABASE_URL": embedded_db.dsn})
    counts = result.json["counts"]
    assert (counts["chunks"], counts["missing"], counts["needed"], counts["no_text"]) == (107, 105, 105, 2), counts


def test_coverage_fails_a_collection_where_no_chunk_has_a_text(empty_db, embed_server):
    # Every text empty is a profile naming the wrong column (scope's rule, "chunk text"): coverage said "0 embedded,
    # 0 missing, 0 orphans; 3 chunks with no text (nothing to embed)" and passed a collection without one vector.
    empty_db.execute(SCHEMA + "; INSERT INTO docs (content) VALUES (NULL), (''), (NULL)")
    outcome = _coverage(empty_db, embed_server)
    from harness.checks import FAIL

    assert outcome.status is FAIL, outcome
    assert "no chunk has a text" in outcome.found, outcome.found


def test_coverage_fails_where_no_chunk_has_a_text_though_some_hold_vectors(empty_db, embed_server):
    # A profile naming a column that is NULL in every row, where the application embedded another: the vectors there
    # are counted embedded and the chunks without one "nothing to embed". Coverage said "2 embedded, 0 missing,
    # 0 orphans; 2 chunks with no text" and passed with half the collection never embedded: only a collection whose
    # every textless chunk lacked a vector was caught.
    empty_db.execute(SCHEMA + "; INSERT INTO docs (content, embedding) VALUES (NULL, array_fill(0.1, ARRAY[384])::vector),"
                     " (NULL, array_fill(0.2, ARRAY[384])::vector), (NULL, NULL), ('', NULL)")
    outcome = _coverage(empty_db, embed_server)
    from harness.checks import FAIL

    assert outcome.status is FAIL, outcome
    assert "no chunk has a text" in outcome.found, outcome.found


def _coverage(db, server, text=PROFILE):
    """The coverage check alone on the docs collection, as verify runs it."""
    from harness.checks import CheckOptions, coverage, open_session
    from harness.profile import parse_profile
    from harness.settings import resolve

    profile = parse_profile(text.replace('"${DATABASE_URL:-}"', '""').replace('"${OLLAMA_HOST:-}"', '""'), env={})
    session = open_session(resolve(profile, database_url=db.dsn, provider_url=server.url),
                           CheckOptions(collections=("docs",)))
    try:
        return coverage(session, "docs")
    finally:
        session.close()


def test_a_chunk_whose_text_columns_are_all_empty_is_without_text_not_the_separator_embedded(cli, empty_db,
                                                                                             embed_server, tmp_path):
    # chunks.text of two columns, both '' on one row (and a labelled part whose value is ''): concat_ws gave the
    # separator alone, so the row counted as a text, the engine embedded " " and coverage passed it as embedded.
    from harness.backfill import BackfillOptions, run_backfill
    from harness.profile import parse_profile
    from harness.settings import resolve

    empty_db.execute("CREATE TABLE docs (id serial PRIMARY KEY, title text, body text, embedding vector(384)); "
                     "INSERT INTO docs (title, body) VALUES ('Q1', 'The review.'), ('', 'Budget.'), ('', ''), ('', NULL)")
    text = PROFILE.replace("text: content", "text: ['{title}', body]")
    profile = tmp_path / "profile.yaml"
    profile.write_text(text)
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    scoped = cli("scope", "--profile", profile, "--collection", "docs", "--json", env=env).json
    counts = scoped["counts"]
    assert (counts["chunks"], counts["needed"], counts["no_text"]) == (4, 2, 2), counts
    found = next(c for c in scoped["checks"] if c["check"] == "chunk text")
    assert found["found"].startswith("2 of 4 chunks have a text"), found
    summary = run_backfill(resolve(parse_profile(text, env=env), database_url=empty_db.dsn, env=env),
                           BackfillOptions(collection="docs", progress=False))
    assert summary.ok and summary.embedded == 2, summary.line()
    assert empty_db.scalar("SELECT array_agg(id ORDER BY id) FROM docs WHERE embedding IS NULL") == [3, 4]
    coverage = _coverage(empty_db, embed_server, text)
    assert coverage.status == "passed" and "2 chunks with no text" in coverage.found, coverage.found


def test_coverage_fails_a_chunk_without_text_that_holds_a_vector_naming_it(empty_db, embed_server):
    # Two columns of '' joined into " ": an older run embedded the separator (and hashed it), so fresh found the hash
    # equal, recompute reproduced the vector and coverage counted it embedded. The application's search returns that
    # chunk for queries near a vector of nothing it says: no check may pass it.
    texts = ["Q1 review", " "]
    vectors = httpx.post(f"{embed_server.url}/api/embed", json={"model": TEST_MODEL, "input": texts}).json()["embeddings"]
    empty_db.execute("CREATE TABLE docs (id serial PRIMARY KEY, title text, body text, embedding vector(384), h text)")
    with empty_db.connect(autocommit=True) as conn:
        for (title, body), text, vector in zip([("Q1", "review"), ("", "")], texts, vectors):
            conn.execute("INSERT INTO docs (title, body, embedding, h) VALUES (%s, %s, %s, encode(sha256(convert_to("
                         "%s, 'UTF8')), 'hex'))", (title, body, json.dumps(vector), text))
    outcome = _coverage(empty_db, embed_server, PROFILE.replace("text: content", "text: [title, body]")
                        .replace("{vector: embedding}", "{vector: embedding, input_hash: h}"))
    from harness.checks import FAIL

    assert outcome.status is FAIL, outcome
    assert "1 chunks with no text hold a vector" in outcome.found, outcome.found
    assert [o.id for o in outcome.offenders] == [2], outcome.offenders
