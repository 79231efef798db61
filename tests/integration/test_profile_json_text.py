"""Chunk text held under a key of a JSON column (``chunks.text: "metadata->>'text'"``), as vector stores that keep
one table of (id, namespace, embedding, metadata jsonb) do: what is embedded, hashed and checked is that key's value."""

import pytest

from harness.backfill import BackfillOptions, collection_state, run_backfill
from harness.checks import FAIL, PASS, CheckOptions, open_session, recompute
from harness.db import connect
from harness.errors import ConfigError
from harness.profile import parse_profile
from harness.provider import OllamaProvider
from harness.settings import resolve
from harness.target import Target

STORE_SCHEMA = """
CREATE TABLE store_vectors (id uuid PRIMARY KEY, namespace text, embedding vector(384), metadata jsonb,
                            created_at timestamp DEFAULT CURRENT_TIMESTAMP);
INSERT INTO store_vectors (id, namespace, metadata)
SELECT gen_random_uuid(), CASE WHEN g % 3 = 0 THEN 'research' ELSE 'handbook' END,
       jsonb_build_object('title', 'doc-' || g || '.pdf', 'text', 'chunk number ' || g || ' about leave policy')
FROM generate_series(1, 30) g;
"""

STORE_PROFILE = """
name: one-table-store
provider: {model: hash-embed:384, dimensions: 384}
chunks: {table: store_vectors, id: id, text: "metadata->>'text'", collection: namespace, sources: ["metadata->>title"]}
embeddings: {vector: embedding}
"""


def _backfill(dsn, url, collection="handbook"):
    profile = parse_profile(STORE_PROFILE, env={})
    settings = resolve(profile, database_url=dsn, provider_url=url)
    summary = run_backfill(settings, BackfillOptions(collection=collection, batch_size=8, progress=False))
    with connect(dsn, autocommit=True) as conn:
        after = collection_state(conn, Target(profile), collection, profile.provider.model)
    return settings, summary, after


def _recompute(settings, collection="handbook"):
    session = open_session(settings, CheckOptions(collections=(collection,), sample="all"))
    try:
        return recompute(session, session.collections[0])
    finally:
        session.close()


def test_text_under_a_json_key_is_what_gets_embedded(empty_db, embed_server):
    empty_db.execute(STORE_SCHEMA)
    _, summary, after = _backfill(empty_db.dsn, embed_server.url)
    assert summary.embedded == 20 and after.needed == 0
    some_id = empty_db.scalar("SELECT id::text FROM store_vectors WHERE namespace = 'handbook' LIMIT 1")
    text = empty_db.scalar(f"SELECT metadata->>'text' FROM store_vectors WHERE id = '{some_id}'")
    with OllamaProvider(embed_server.url, "hash-embed:384") as provider:
        expected = provider.embed([text]).vectors[0].tolist()
    stored = empty_db.scalar(f"SELECT embedding::text FROM store_vectors WHERE id = '{some_id}'")
    assert [round(float(x), 5) for x in stored.strip("[]").split(",")] == [round(x, 5) for x in expected]
    # The other namespace is untouched.
    assert empty_db.scalar("SELECT count(*) FROM store_vectors WHERE namespace = 'research' AND embedding IS NULL") == 10


def test_recompute_passes_on_vectors_of_the_json_text(empty_db, embed_server):
    empty_db.execute(STORE_SCHEMA)
    settings, _, _ = _backfill(empty_db.dsn, embed_server.url)
    assert _recompute(settings).status is PASS


def test_a_json_text_edited_after_its_vector_fails_recompute(empty_db, embed_server):
    empty_db.execute(STORE_SCHEMA)
    settings, _, _ = _backfill(empty_db.dsn, embed_server.url)
    empty_db.execute("UPDATE store_vectors SET metadata = jsonb_set(metadata, '{text}', '\"an edited chunk\"') "
                     "WHERE id = (SELECT id FROM store_vectors WHERE namespace = 'handbook' ORDER BY id LIMIT 1)")
    edited = empty_db.scalar("SELECT id::text FROM store_vectors WHERE metadata->>'text' = 'an edited chunk'")
    outcome = _recompute(settings)
    assert outcome.status is FAIL
    assert [str(o.id) for o in outcome.offenders] == [edited]


def test_a_json_key_of_a_column_that_is_not_json_is_refused_naming_the_key(empty_db, embed_server):
    empty_db.execute(STORE_SCHEMA + "ALTER TABLE store_vectors ADD COLUMN note text;")
    profile = parse_profile(STORE_PROFILE.replace("metadata->>'text'", "note->>'text'"), env={})
    with pytest.raises(ConfigError, match=r"profile key 'chunks.text\[0\]'.*'note'.*json"):
        run_backfill(resolve(profile, database_url=empty_db.dsn, provider_url=embed_server.url),
                     BackfillOptions(collection="handbook", progress=False))


@pytest.mark.parametrize("text", ["metadata->>", "->>'text'", "metadata->>'te'xt'"])
def test_a_malformed_json_key_is_refused_naming_the_key(text):
    with pytest.raises(ConfigError, match=r"profile key 'chunks.text\[0\]'"):
        parse_profile(STORE_PROFILE.replace("metadata->>'text'", text.replace('"', '\\"')), env={})


def _scope(cli, db, embed_server, profile_text, tmp_path, collection="handbook"):
    profile = tmp_path / "profile.yaml"
    profile.write_text(profile_text)
    return cli("scope", "--profile", profile, "--collection", collection, "--json",
               env={"DATABASE_URL": db.dsn, "OLLAMA_HOST": embed_server.url})


def test_scope_fails_before_anything_is_written_when_no_chunk_holds_the_named_json_key(cli, empty_db, embed_server,
                                                                                      tmp_path):
    empty_db.execute(STORE_SCHEMA)
    scoped = _scope(cli, empty_db, embed_server, STORE_PROFILE.replace("metadata->>'text'", "metadata->>'txt'"), tmp_path)
    assert scoped.code == 1
    check = next(c for c in scoped.json["checks"] if c["check"] == "chunk text")
    assert check["status"] == "failed" and "0 of 20" in check["found"] and "chunks.text" in check["found"]
    assert scoped.json["ok"] is False
    assert empty_db.scalar("SELECT count(*) FROM store_vectors WHERE embedding IS NOT NULL") == 0


def test_scope_says_how_many_chunks_have_an_empty_text_and_passes_when_some_have_one(cli, empty_db, embed_server,
                                                                                     tmp_path):
    empty_db.execute(STORE_SCHEMA + "UPDATE store_vectors SET metadata = metadata - 'text' "
                     "WHERE id = (SELECT id FROM store_vectors WHERE namespace = 'handbook' LIMIT 1);")
    scoped = _scope(cli, empty_db, embed_server, STORE_PROFILE, tmp_path)
    assert scoped.code == 0, scoped.out
    check = next(c for c in scoped.json["checks"] if c["check"] == "chunk text")
    assert check["status"] == "passed" and "19 of 20" in check["found"] and "1 empty" in check["found"]


def test_backfill_is_refused_when_no_chunk_holds_the_named_json_key(cli, empty_db, embed_server, tmp_path):
    empty_db.execute(STORE_SCHEMA)
    profile = tmp_path / "typo.yaml"
    profile.write_text(STORE_PROFILE.replace("metadata->>'text'", "metadata->>'txt'"))
    ran = cli("backfill", "--profile", profile, "--collection", "handbook", "--json",
              env={"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url})
    assert ran.code == 2 and "chunk text" in ran.json["error"]
    assert empty_db.scalar("SELECT count(*) FROM store_vectors WHERE embedding IS NOT NULL") == 0


# mem0's pgvector store: one table per collection, (id, vector, payload jsonb); the payload holds the text under
# `data`, the MD5 of it under `hash`, the owner and timestamps. No key is named like a chunk's text.
MEMORY_SCHEMA = """
CREATE TABLE memories (id uuid PRIMARY KEY, vector vector(384), payload jsonb);
INSERT INTO memories (id, payload)
SELECT gen_random_uuid(), jsonb_build_object('data', t, 'hash', md5(t), 'user_id', 'user' || g % 2,
       'created_at', '2026-11-01T00:00:00+00:00', 'text_lemmatized', lower(t))
FROM (SELECT g, 'Memory number ' || g || ': likes tea' AS t FROM generate_series(1, 20) g) AS s;
"""


def test_profile_init_drafts_the_json_key_a_json_hash_key_is_the_md5_of_as_the_text(cli, empty_db, embed_server,
                                                                                   tmp_path):
    """No key named like a text: the key whose MD5 the payload's `hash` holds is the text the application embeds."""
    empty_db.execute(MEMORY_SCHEMA)
    out = tmp_path / "draft.yaml"
    result = cli("profile", "init", "--repo", tmp_path, "--database-url", empty_db.dsn, "--output", out,
                 "--model", "hash-embed:384", "--json")
    assert result.code == 0 and result.json["todo"] == [], result.out + result.err
    drafted = out.read_text()
    profile = parse_profile(drafted, env={})
    assert profile.chunks.text == ("payload->>'data'",)
    assert "payload->>'hash' holds its MD5 (20 of 20 rows read hold the MD5 of payload->>'data')" in drafted, drafted
    # Not an input hash (the engine writes its hash into a column), and said so.
    assert profile.embeddings.input_hash is None
    assert "embeddings.input_hash takes a column, not a JSON key" in drafted, drafted
