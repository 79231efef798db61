"""A chunk in several collections through an array column (R2R's ``collection_ids uuid[]``): ``chunks.collection:
"column[]"`` selects a collection's chunks by membership, everywhere a collection is counted, embedded or checked."""

from __future__ import annotations

import httpx
import yaml

from harness.checks.counted import coverage
from harness.checks.source_coverage import source_coverage
from harness.profile import load_profile
from tests.conftest import TEST_MODEL
from tests.integration.conftest import check_session

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


def profile(tmp_path, collection: str = '"collection_ids[]"', extra: str = ""):
    path = tmp_path / "profile.yaml"
    path.write_text(PROFILE.format(model=TEST_MODEL, collection=collection) + extra)
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
    checked = check_session(empty_db, embed_server, target[1], "a")
    try:
        assert coverage(checked, "a").status == "passed"
    finally:
        checked.close()
    checked = check_session(empty_db, embed_server, target[1], "b")
    try:
        lost = coverage(checked, "b")
    finally:
        checked.close()
    assert lost.status == "failed" and [(o.id, o.collection) for o in lost.offenders] == [(7, "b")], lost


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


def outcomes(db, server, path, check, *collections: str) -> dict:
    """``check``'s outcome for each collection of one CheckSession over ``collections`` (``all``: every one)."""
    session = check_session(db, server, path, *collections)
    try:
        return {c: check(session, c) for c in session.collections}
    finally:
        session.close()


def test_every_collection_of_an_array_column_is_checked_in_one_session_a_chunk_in_each_it_lists(empty_db, embed_server,
                                                                                                 tmp_path):
    load(empty_db, embed_server.url, lost=(4, 7))  # 4 is in a and b, 7 in b only
    found = outcomes(empty_db, embed_server, profile(tmp_path), coverage, "all")
    assert {c: (o.status, sorted((x.id, x.collection) for x in o.offenders)) for c, o in found.items()} == {
        "a": ("failed", [(4, "a")]), "b": ("failed", [(4, "b"), (7, "b")])}, found
    assert [found[c].metrics["chunks"] for c in ("a", "b")] == [5, 5], found


def test_a_vector_copied_onto_a_chunk_of_two_collections_is_named_in_each_of_them(empty_db, embed_server, tmp_path):
    from harness.checks.distinct import distinct_vectors

    load(empty_db, embed_server.url, lost=())
    empty_db.execute("UPDATE passages SET embedding = (SELECT embedding FROM passages WHERE id = 1) WHERE id = 5")
    found = outcomes(empty_db, embed_server, profile(tmp_path), distinct_vectors, "all")
    assert {c: (o.status, sorted(x.id for x in o.offenders)) for c, o in found.items()} == {
        "a": ("failed", [5]), "b": ("failed", [5])}, found  # 1 holds its own text's vector
    assert "same vector as 1 other rows" in found["b"].offenders[0].detail, found["b"].offenders


def test_a_zero_vector_on_a_chunk_of_two_collections_fails_each_of_them(empty_db, embed_server, tmp_path):
    from harness.checks.counted import sane_vectors

    load(empty_db, embed_server.url, lost=())
    empty_db.execute("UPDATE passages SET embedding = array_fill(0, ARRAY[384])::vector WHERE id = 4")
    found = outcomes(empty_db, embed_server, profile(tmp_path), sane_vectors, "all")
    assert {c: (o.status, o.metrics.get("zero")) for c, o in found.items()} == {"a": ("failed", 1), "b": ("failed", 1)}, found


def test_every_collection_checked_together_counts_every_vector_once(empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url, lost=())
    session = check_session(empty_db, embed_server, profile(tmp_path), "all")
    try:
        assert (session.onepass().vectors, session.stats("a").embedded, session.stats("b").embedded) == (8, 5, 5)
    finally:
        session.close()


def test_chunks_in_no_collection_of_the_array_are_reported_beside_every_collection(cli, empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url, lost=())
    empty_db.execute("INSERT INTO passages VALUES (9, 'a passage filed nowhere', '{}', NULL), "
                     "(10, 'another passage filed nowhere', NULL, NULL)")
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    verified = cli("verify", "--profile", profile(tmp_path), "--collection", "all", "--run-dir", tmp_path / "run",
                   "--json", env=env)
    checks = {(c["check"], c["collection"]): c for c in verified.json["checks"]}
    nowhere = checks[("no_collection", None)]
    assert nowhere["status"] == "unproven" and "2 chunks in no collection" in nowhere["note"], nowhere
    assert {k: c["status"] for k, c in checks.items() if k[0] == "coverage"} == {
        ("coverage", "a"): "passed", ("coverage", "b"): "passed"}, verified.out


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
    # A chunk of several collections cannot be copied into one new collection (it was taken for LangChain's store,
    # one key per chunk: scope ok, then the copy failed on the array column's type).
    into = cli("scope", "--profile", drafted, "--collection", "research", "--into", "research_v2", "--json", env=env)
    shape = next(c for c in into.json["checks"] if c["check"] == "new collection")
    assert into.code == 1 and shape["status"] == "failed" and "through an array column" in shape["found"], shape
    refused = cli("backfill", "--profile", drafted, "--collection", "research", "--into", "research_v2", "--json", env=env)
    assert refused.code == 2 and "nothing written" in refused.json["error"], refused.out
    assert empty_db.scalar("SELECT count(*) FROM collections") == 2


def test_source_coverage_asks_only_the_source_rows_of_the_collection_for_its_chunks(empty_db, embed_server, tmp_path):
    """A document table that places its rows in collections as the chunks do (R2R's documents.collection_ids): a
    document of another collection has no chunks here, rightly; one of this collection without chunks fails."""
    load(empty_db, embed_server.url, lost=())
    empty_db.execute("CREATE TABLE docs (id int PRIMARY KEY, collection_ids text[]);"
                     "INSERT INTO docs VALUES (1, '{a}'), (2, '{a,b}'), (3, '{b}'), (4, '{a}');"
                     "ALTER TABLE passages ADD COLUMN doc_id int;"
                     "UPDATE passages SET doc_id = CASE WHEN id <= 3 THEN 1 WHEN id <= 5 THEN 2 ELSE 3 END")
    path = profile(tmp_path, extra='source: {table: docs, key: id, chunk_key: doc_id, collection: "collection_ids[]"}\n')
    outcomes = {}
    for collection in ("a", "b"):
        checked = check_session(empty_db, embed_server, path, collection)
        try:
            outcomes[collection] = source_coverage(checked, collection)
        finally:
            checked.close()
    assert outcomes["b"].status == "passed", outcomes["b"]  # docs 1 and 4 are a's only
    assert outcomes["a"].status == "failed" and [o.id for o in outcomes["a"].offenders] == [4], outcomes["a"]
    assert "3 docs rows, 1 without chunks" in outcomes["a"].found


def test_the_source_table_offered_by_the_draft_names_its_schema_and_its_own_array_of_collections(cli, empty_db,
                                                                                                embed_server, tmp_path):
    """R2R keeps every table in a project schema and documents in collections as their chunks: the offered source
    line works uncommented as is (without the schema it named public.documents, which does not exist)."""
    empty_db.execute(
        "CREATE SCHEMA kb; CREATE TABLE kb.collections (id uuid PRIMARY KEY, name text NOT NULL);"
        "CREATE TABLE kb.documents (id uuid PRIMARY KEY, title text, collection_ids uuid[]);"
        "CREATE TABLE kb.pieces (id uuid PRIMARY KEY, document_id uuid, content text, collection_ids uuid[], "
        "embedding vector(384));"
        "INSERT INTO kb.collections VALUES ('00000000-0000-4000-8000-00000000000a', 'handbook');"
        "INSERT INTO kb.documents VALUES ('00000000-0000-4000-8000-0000000000d1', 'vacation.txt', "
        "'{00000000-0000-4000-8000-00000000000a}');"
        "INSERT INTO kb.pieces SELECT gen_random_uuid(), '00000000-0000-4000-8000-0000000000d1', 'piece ' || i, "
        "'{00000000-0000-4000-8000-00000000000a}' FROM generate_series(1, 4) AS i")
    (tmp_path / "repo").mkdir()
    drafted = tmp_path / "draft.yaml"
    init = cli("profile", "init", "--repo", tmp_path / "repo", "--database-url", empty_db.dsn, "--output", drafted,
               "--model", TEST_MODEL, env={"OLLAMA_HOST": embed_server.url})
    assert init.code == 0, init.err
    offer = ('# source: {schema: kb, table: documents, key: id, chunk_key: document_id, '
             'collection: "collection_ids[]"}')
    assert offer in drafted.read_text(), drafted.read_text()
    drafted.write_text(drafted.read_text().replace(offer, offer[2:]))
    source = load_profile(drafted, env={}).source
    assert (source.schema, source.table, source.collection, source.collection_array) == (
        "kb", "documents", "collection_ids", True)


def test_a_backfill_of_one_collection_is_refused_while_another_collection_of_the_array_runs(
        cli, empty_db, embed_server, tmp_path):
    """Collections of an array column share chunks (4 and 5 are in both): two runs at once would both replace them."""
    from harness.backfill import lock
    from harness.db import connect

    load(empty_db, embed_server.url, lost=(4, 5))
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    path = profile(tmp_path)
    loaded = load_profile(path, env=env)
    with connect(empty_db.dsn, autocommit=True) as held:
        lock.acquire(held, loaded.embeddings.table, lock.collection_key(loaded, "a"))  # a run of 'a' in progress
        refused = cli("backfill", "--profile", path, "--collection", "b", env=env)
    assert refused.code != 0 and "another backfill" in refused.out + refused.err, refused.out + refused.err
    assert empty_db.scalar("SELECT count(*) FROM passages WHERE embedding IS NULL") == 2  # nothing written


def test_an_array_listing_a_collection_twice_counts_its_chunk_once_there(empty_db, embed_server, tmp_path):
    from harness.db import connect
    from harness.state import list_collections
    from harness.target import Target

    load(empty_db, embed_server.url, lost=())
    empty_db.execute("UPDATE passages SET collection_ids = '{a,a,b}' WHERE id = 4")
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    target = Target(load_profile(profile(tmp_path), env=env))
    with connect(empty_db.dsn) as conn:
        assert list_collections(conn, target) == {"a": 5, "b": 5}


def test_every_collections_chunks_without_a_vector_count_a_chunk_in_each_collection_it_lists(empty_db, embed_server,
                                                                                             tmp_path):
    """What run compares before and after a target's own command (``state.others_lost``), in one pass over the table."""
    from harness.db import connect
    from harness.state import missing_by_collection
    from harness.target import Target

    load(empty_db, embed_server.url, lost=(4, 7))
    with connect(empty_db.dsn, autocommit=True) as conn:
        counted = missing_by_collection(conn, Target(load_profile(profile(tmp_path), env={})))
    assert counted["missing"] == {"a": 1, "b": 2}
    assert counted["chunks"] == {"a": 5, "b": 5}  # as scope counts each
