"""A chunk in several collections through an array column (R2R's ``collection_ids uuid[]``): ``chunks.collection:
"column[]"`` selects a collection's chunks by membership, everywhere a collection is counted, embedded or checked."""

from __future__ import annotations

import json

import httpx
import yaml

from tests.conftest import TEST_MODEL

# Three chunks in 'a' only, two in both, three in 'b' only; keys 1-8.
MEMBERSHIP = {1: ["a"], 2: ["a"], 3: ["a"], 4: ["a", "b"], 5: ["a", "b"], 6: ["b"], 7: ["b"], 8: ["b"]}
PROFILE = """
name: passages
provider: {{model: {model}, dimensions: 384}}
chunks: {{table: passages, id: id, text: body, collection: {collection}}}
embeddings: {{vector: embedding}}
"""


def load(db, url: str, lost: tuple[int, ...]) -> None:
    texts = {k: f"passage {k} on the topic of harbours, number {k}" for k in MEMBERSHIP}
    vectors = httpx.post(f"{url}/api/embed", json={"model": TEST_MODEL, "input": list(texts.values())}).json()["embeddings"]
    db.execute("CREATE TABLE passages (id int PRIMARY KEY, body text, collection_ids text[], embedding vector(384))")
    with db.connect(autocommit=True) as conn:
        for (key, text), vector in zip(texts.items(), vectors):
            conn.execute("INSERT INTO passages VALUES (%s, %s, %s, %s::vector)",
                         (key, text, MEMBERSHIP[key], None if key in lost else str(vector)))


def profile(tmp_path, collection: str = '"collection_ids[]"'):
    path = tmp_path / "profile.yaml"
    path.write_text(PROFILE.format(model=TEST_MODEL, collection=collection))
    return path


def test_a_collection_of_an_array_column_is_every_chunk_that_lists_it(cli, empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url, lost=(4, 7))
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    target = ("--profile", profile(tmp_path))
    a = cli("scope", *target, "--collection", "a", "--json", env=env)
    b = cli("scope", *target, "--collection", "b", "--json", env=env)
    assert a.code == 0 and (a.json["counts"]["chunks"], a.json["counts"]["needed"]) == (5, 1), a.out
    assert b.code == 0 and (b.json["counts"]["chunks"], b.json["counts"]["needed"]) == (5, 2), b.out
    # The shared chunk is embedded once, by the first collection's run; the other then needs only its own.
    ran = cli("backfill", *target, "--collection", "a", "--json", env=env)
    assert ran.code == 0 and ran.json["embedded"] == 1, ran.out + ran.err
    assert cli("scope", *target, "--collection", "b", "--json", env=env).json["counts"]["needed"] == 1
    assert cli("verify", *target, "--collection", "a", "--run-dir", tmp_path / "a", "--json", env=env).code == 0
    damaged = cli("verify", *target, "--collection", "b", "--run-dir", tmp_path / "b", "--json", env=env)
    assert damaged.code == 1
    coverage = next(c for c in damaged.json["checks"] if c["check"] == "coverage")
    assert coverage["status"] == "failed", coverage
    offenders = [json.loads(line) for line in (tmp_path / "b" / "offenders.jsonl").read_text().splitlines()]
    assert {(o["key"], o["collection"]) for o in offenders if o["check"] == "coverage"} == {(7, "b")}


def test_an_unknown_collection_of_an_array_column_lists_each_element_as_a_collection(cli, empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url, lost=())
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    refused = cli("scope", "--profile", profile(tmp_path), "--collection", "c", env=env)
    assert refused.code == 2 and "known collections: a, b" in refused.out, refused.out


def test_an_array_column_named_as_one_value_is_refused_naming_the_array_form(cli, empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url, lost=())
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    scalar = cli("scope", "--profile", profile(tmp_path, "collection_ids"), "--collection", "a", env=env)
    assert scalar.code == 2 and "which is of type text[]" in scalar.err and "expected 'collection_ids[]'" in scalar.err, \
        scalar.err
    empty_db.execute("ALTER TABLE passages ADD COLUMN kb text")
    not_array = cli("scope", "--profile", profile(tmp_path, '"kb[]"'), "--collection", "a", env=env)
    assert not_array.code == 2 and "but column 'kb' is of type text; expected 'kb'" in not_array.err, not_array.err


def test_several_collections_of_an_array_column_are_checked_one_at_a_time(cli, empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url, lost=())
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    both = cli("verify", "--profile", profile(tmp_path), "--collection", "all", "--run-dir", tmp_path / "r", "--json",
               env=env)
    assert both.code == 1 and not both.json["ok"] and both.json["checks"] == [], both.out
    assert "checked one at a time; found 2 (a, b); expected one --collection" in both.json["output_tail"]


def test_profile_init_drafts_an_array_of_collection_keys_with_the_table_it_is_named_after(cli, empty_db, embed_server,
                                                                                         tmp_path):
    empty_db.execute(
        "CREATE TABLE collections (id uuid PRIMARY KEY, name text NOT NULL, description text);"
        "CREATE TABLE pieces (id uuid PRIMARY KEY, content text, collection_ids uuid[], embedding vector(384));"
        "INSERT INTO collections VALUES ('00000000-0000-4000-8000-00000000000a', 'handbook', NULL),"
        " ('00000000-0000-4000-8000-00000000000b', 'research', NULL);"
        "INSERT INTO pieces SELECT gen_random_uuid(), 'piece ' || i, CASE WHEN i % 2 = 0 THEN "
        "ARRAY['00000000-0000-4000-8000-00000000000a'::uuid] ELSE ARRAY['00000000-0000-4000-8000-00000000000a'::uuid, "
        "'00000000-0000-4000-8000-00000000000b'::uuid] END FROM generate_series(1, 6) AS i")
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    (tmp_path / "repo").mkdir()
    drafted = tmp_path / "draft.yaml"
    init = cli("profile", "init", "--repo", tmp_path / "repo", "--database-url", empty_db.dsn, "--output", drafted,
               "--model", TEST_MODEL, "--json", env=env)
    assert init.code == 0, init.err
    raw = yaml.safe_load(drafted.read_text())
    assert raw["chunks"]["collection"] == "collection_ids[]"
    assert raw["chunks"]["collection_table"] == {"table": "collections", "key": "id", "name": "name"}
    scoped = cli("scope", "--profile", drafted, "--collection", "research", "--json", env=env)
    assert scoped.code == 0 and scoped.json["counts"]["needed"] == 3, scoped.out + scoped.err
    key = next(c for c in scoped.json["checks"] if c["check"] == "collection key")
    assert key["status"] == "passed", key
