"""citations without sources or spot queries searches sampled chunks by their own text: a chunk it cannot find
is an offender named by its own key, so ``backfill --keys-from`` can re-embed it."""

import json

import httpx

from ..conftest import TEST_MODEL

SCHEMA = """
CREATE TABLE chunks (id uuid PRIMARY KEY, text text, user_id text);
CREATE TABLE embeddings (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), chunk_id uuid UNIQUE REFERENCES chunks (id),
                         embeddings vector(384), model text, user_id text);
"""


def test_a_sampled_chunk_not_found_by_its_own_text_is_an_offender_by_its_key(cli, empty_db, embed_server, tmp_path):
    # lobe-chat's shape: chunks with no url/title column, so citations samples chunks and searches by their text.
    texts = [f"alpha{i} bravo{i} charlie{i} delta{i}" for i in range(30)]
    vectors = httpx.post(f"{embed_server.url}/api/embed", json={"model": TEST_MODEL, "input": texts}).json()["embeddings"]
    empty_db.execute(SCHEMA)
    with empty_db.connect(autocommit=True) as conn:
        ids = [conn.execute("INSERT INTO chunks (id, text, user_id) VALUES (gen_random_uuid(), %s, 'u1') RETURNING id::text",
                            (t,)).fetchone()[0] for t in texts]
        # Every vector points away from its own text: no chunk is found by it (it ranks last of 30, k is 5).
        for key, vector in zip(ids, [[-x for x in v] for v in vectors]):
            conn.execute("INSERT INTO embeddings (chunk_id, embeddings, model, user_id) VALUES (%s, %s, %s, 'u1')",
                         (key, str(vector), TEST_MODEL))
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    profile = tmp_path / "profile.yaml"
    assert cli("profile", "init", "--database-url", empty_db.dsn, "--output", profile, "--model", TEST_MODEL,
               env=env).code == 0
    verified = cli("verify", "--profile", profile, "--collection", "chunks", "--run-dir", tmp_path / "run", "--json", env=env)
    citations = next(c for c in verified.json["checks"] if c["check"] == "citations")
    assert citations["status"] == "failed", citations
    offenders = [json.loads(line) for line in (tmp_path / "run" / "offenders.jsonl").read_text().splitlines()]
    cited = [o for o in offenders if o["check"] == "citations"]
    assert cited and {o["key"] for o in cited} <= set(ids), cited
    assert all(o["tenant"] == "u1" for o in cited), cited


def test_a_spot_query_whose_expected_source_no_chunk_cites_any_more_fails_citations(embedded_db, demo_env,
                                                                                   demo_profile):
    """hashlib's page lost every chunk (a re-ingest that dropped it): its spot query was skipped as one of another
    collection's, and citations passed on the json query alone."""
    from harness.checks.citations import citations
    from harness.profile import load_profile
    from tests.integration.conftest import checked

    gone = "https://docs.python.org/3/library/hashlib.html"
    embedded_db.execute("DELETE FROM document_embeddings WHERE chunk_id IN (SELECT id FROM document_chunks WHERE url = %s)",
                        (gone,))
    embedded_db.execute("DELETE FROM document_chunks WHERE url = %s", (gone,))
    profile = load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL})
    assert any(s.expect_source == gone for s in profile.spot_queries)
    outcome = checked(citations, "global_corpus", demo_profile.read_text().replace("${EMBED_MODEL:-all-minilm}",
                                                                                      TEST_MODEL),
                      embedded_db.dsn, demo_env["OLLAMA_HOST"])
    assert outcome.status == "failed" and gone in outcome.message(), outcome.message()


def test_sampled_chunks_of_a_collection_no_larger_than_k_are_unproven_not_found(cli, empty_db, embed_server, tmp_path):
    """Four chunks, k 5: every search returns every chunk, so each is "found by its own text" whatever its vector."""
    texts = [f"echo{i} foxtrot{i} golf{i} hotel{i}" for i in range(4)]
    vectors = httpx.post(f"{embed_server.url}/api/embed", json={"model": TEST_MODEL, "input": texts}).json()["embeddings"]
    empty_db.execute(SCHEMA)
    with empty_db.connect(autocommit=True) as conn:
        for text, vector in zip(texts, vectors):
            key = conn.execute("INSERT INTO chunks (id, text, user_id) VALUES (gen_random_uuid(), %s, 'u1') "
                               "RETURNING id", (text,)).fetchone()[0]
            conn.execute("INSERT INTO embeddings (chunk_id, embeddings, model, user_id) VALUES (%s, %s, %s, 'u1')",
                         (key, str([-x for x in vector]), TEST_MODEL))  # wrong vectors: still "found"
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    profile = tmp_path / "profile.yaml"
    assert cli("profile", "init", "--database-url", empty_db.dsn, "--output", profile, "--model", TEST_MODEL,
               env=env).code == 0
    verified = cli("verify", "--profile", profile, "--collection", "chunks", "--json", env=env)
    citations = next(c for c in verified.json["checks"] if c["check"] == "citations")
    assert citations["status"] == "unproven", citations
    assert "top 5" in citations["note"] and "3 other chunks" in citations["note"], citations


def test_sampled_chunks_of_a_one_source_collection_are_unproven_not_found(embedded_db, demo_env, demo_profile):
    """Every chunk left in tenant_globex cites one page: any top 5 holds that page, so a found source proves nothing."""
    from harness.checks.citations import citations
    from tests.integration.conftest import checked

    with embedded_db.connect(autocommit=True) as conn:
        kept = conn.execute("SELECT min(url) FROM document_chunks WHERE collection = 'tenant_globex'").fetchone()[0]
    embedded_db.execute("DELETE FROM document_embeddings WHERE chunk_id IN (SELECT id FROM document_chunks "
                        "WHERE collection = 'tenant_globex' AND url <> %s)", (kept,))
    embedded_db.execute("DELETE FROM document_chunks WHERE collection = 'tenant_globex' AND url <> %s", (kept,))
    outcome = checked(citations, "tenant_globex", demo_profile.read_text().replace("${EMBED_MODEL:-all-minilm}",
                                                                                      TEST_MODEL),
                      embedded_db.dsn, demo_env["OLLAMA_HOST"])
    assert outcome.status == "unproven", outcome.message()
    assert "top 5" in outcome.message() and "0 other chunks" in outcome.message(), outcome.message()


def test_sampled_chunks_of_a_collection_larger_than_k_pass_saying_what_a_source_hit_proves(embedded_db, demo_env,
                                                                                            demo_profile):
    from harness.checks.citations import citations
    from tests.integration.conftest import checked

    outcome = checked(citations, "tenant_globex", demo_profile.read_text().replace("${EMBED_MODEL:-all-minilm}",
                                                                                      TEST_MODEL),
                      embedded_db.dsn, demo_env["OLLAMA_HOST"])
    assert outcome.status == "passed", outcome.message()
    assert "a chunk of its source" in outcome.message(), outcome.message()


def test_the_bound_over_sampled_chunks_searched_for_their_source_reads_as_a_sentence(embedded_db, demo_env,
                                                                                     demo_profile):
    """Its bound said "fewer than 63.2% of the 38 chunks are whose source is not in the top k ...": it names what
    the chunks are (missed by a search by their own text)."""
    from harness.checks.citations import citations
    from tests.integration.conftest import checked

    outcome = checked(citations, "tenant_globex", demo_profile.read_text().replace("${EMBED_MODEL:-all-minilm}",
                                                                                      TEST_MODEL),
                      embedded_db.dsn, demo_env["OLLAMA_HOST"])
    assert " are whose " not in outcome.message(), outcome.message()
    assert "chunks are missed by a search by their own text (their source not in its top k" in outcome.message(), \
        outcome.message()


def test_a_spot_query_whose_source_nearly_every_chunk_cites_is_unproven_not_passed(embedded_db, demo_env, demo_profile):
    """All but two chunks of global_corpus cite the json page and every vector points away from its text: any top 5
    holds the json page, so finding it proves nothing of the vectors."""
    from harness.checks.citations import citations
    from tests.integration.conftest import checked

    json_page = "https://docs.python.org/3/library/json.html"
    with embedded_db.connect(autocommit=True) as conn:
        conn.execute("UPDATE document_chunks SET url = %s WHERE collection = 'global_corpus' AND id NOT IN "
                     "(SELECT id FROM document_chunks WHERE collection = 'global_corpus' ORDER BY id LIMIT 2)",
                     (json_page,))
        conn.execute("UPDATE document_embeddings SET embedding = (SELECT array_agg(-x) FROM unnest(embedding::real[]) x)"
                     "::vector WHERE collection = 'global_corpus'")
    outcome = checked(citations, "global_corpus", json_query_only(demo_profile), embedded_db.dsn, demo_env["OLLAMA_HOST"])
    assert outcome.status == "unproven", outcome.message()
    assert "top 5" in outcome.message() and "2 other chunks" in outcome.message(), outcome.message()


def test_a_spot_query_whose_sources_chunks_all_lost_their_vectors_fails_however_few_others_there_are(
        embedded_db, demo_env, demo_profile):
    """Few other chunks could not hide the json page, but none of its chunks has a vector left to be found by."""
    from harness.checks.citations import citations
    from tests.integration.conftest import checked

    json_page = "https://docs.python.org/3/library/json.html"
    with embedded_db.connect(autocommit=True) as conn:
        conn.execute("DELETE FROM document_embeddings WHERE chunk_id IN (SELECT id FROM document_chunks WHERE "
                     "collection = 'global_corpus' AND url = %s)", (json_page,))
        conn.execute("DELETE FROM document_embeddings WHERE collection = 'global_corpus' AND chunk_id NOT IN (SELECT id "
                     "FROM document_chunks WHERE collection = 'global_corpus' ORDER BY id LIMIT 2)")
    outcome = checked(citations, "global_corpus", json_query_only(demo_profile), embedded_db.dsn, demo_env["OLLAMA_HOST"])
    assert outcome.status == "failed" and json_page in outcome.message(), outcome.message()


def json_query_only(demo_profile) -> str:
    """The demo profile with its first spot query alone (the json page's, k 5)."""
    import re

    text = demo_profile.read_text().replace("${EMBED_MODEL:-all-minilm}", TEST_MODEL)
    return re.sub(r"(spot_queries:\n(?:  - query: How do I serialize.*\n(?:    .*\n)*))(?:  - .*\n(?:    .*\n)*)*", r"\1",
                  text)
