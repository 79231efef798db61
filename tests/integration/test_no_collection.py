"""Chunks in no collection (``chunks.collection`` NULL, or an array column NULL or empty): no collection's check reads
them, so ``verify --collection all`` reports them as unproven in numbers instead of saying DONE over the rest, and
``chunks.filter: {column: {not: null}}`` says they are outside the corpus on purpose."""

from __future__ import annotations

import uuid

import httpx
import pytest

from harness.checks import CheckOptions, done, open_session, run_all
from harness.errors import ConfigError
from harness.profile import load_profile
from harness.settings import resolve
from tests.conftest import TEST_MODEL

# Keys 1-9 in collections a, b, c (three each), every one embedded; keys 10-13 in no collection, no vector.
IN = {k: "abc"[(k - 1) // 3] for k in range(1, 10)}
NOWHERE = (10, 11, 12, 13)
PROFILE = """
name: passages
provider: {{model: {model}, dimensions: 384}}
chunks: {{table: passages, id: id, text: body, collection: {collection}{extra}}}
embeddings: {{vector: embedding}}
"""
NOT_NULL = ", filter: {collection: {not: null}}"
UNPROVEN_LINE = "4 chunks in no collection ({where}), 0 of them with a vector: no check read them"


def load(db, url: str, *, array: bool = False, embedded_nowhere: tuple[int, ...] = (), tenant: bool = False) -> None:
    """The passages table; with ``array`` a text[] column where keys 10 and 12 hold NULL and 11 and 13 '{}'."""
    keys = [*IN, *NOWHERE]
    texts = {k: f"passage {k} on the topic of harbours, number {k}" for k in keys}
    vectors = httpx.post(f"{url}/api/embed", json={"model": TEST_MODEL, "input": list(texts.values())}).json()["embeddings"]
    kind = "text[]" if array else "text"
    db.execute(f"CREATE TABLE passages (id int PRIMARY KEY, body text, collection {kind}, tenant text, "
               "embedding vector(384))")
    with db.connect(autocommit=True) as conn:
        for (key, text), vector in zip(texts.items(), vectors):
            if key in IN:
                where: object = [IN[key]] if array else IN[key]
            else:
                where = ([] if key % 2 else None) if array else None
            owner = ("acme" if key % 2 else "globex") if tenant else None
            embedded = key in IN or key in embedded_nowhere
            conn.execute("INSERT INTO passages VALUES (%s, %s, %s, %s, %s::vector)",
                         (key, text, where, owner, str(vector) if embedded else None))


SHELVES = ", collection_table: {table: shelves, key: id, name: name}"  # chunks keying rows of shelves


def profile(tmp_path, *, array: bool = False, collection: str | None = None, extra: str = "",
            name: str = "profile.yaml"):
    path = tmp_path / name
    column = collection or ('"collection[]"' if array else "collection")
    path.write_text(PROFILE.format(model=TEST_MODEL, collection=column, extra=extra))
    return path


def env_of(db, server) -> dict[str, str]:
    return {"DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url}


def checked(db, server, path, *collections: str, dsn: str | None = None):
    """Every check of the collections as the library runs them, and the verdict."""
    env = {"DATABASE_URL": dsn or db.dsn, "OLLAMA_HOST": server.url, "EMBED_MODEL": TEST_MODEL}  # the demo's model
    session = open_session(resolve(load_profile(path, env=env), database_url=dsn or db.dsn, env=env),
                           CheckOptions(collections=collections))
    try:
        outcomes = run_all(session)
    finally:
        session.close()
    return outcomes, done(outcomes)


def only(outcomes, check: str):
    found = [o for o in outcomes if o.check == check]
    assert len(found) == 1, [o.message() for o in outcomes]
    return found[0]


def test_verify_all_reports_chunks_of_no_collection_as_unproven_and_not_done(cli, empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url)
    result = cli("verify", "--profile", profile(tmp_path), "--collection", "all", "--run-dir", tmp_path / "run",
                 "--json", env=env_of(empty_db, embed_server))
    assert result.code == 1 and not result.json["ok"], result.out
    nowhere = [c for c in result.json["checks"] if c["check"] == "no_collection"]
    assert [c["status"] for c in nowhere] == ["unproven"], result.out
    note = nowhere[0]["note"]
    assert UNPROVEN_LINE.format(where="chunks.collection is NULL") in note, note
    assert "first keys: 10, 11, 12, 13" in note and "chunks.filter: {collection: {not: null}}" in note, note
    assert "no_collection" in result.json["reason"]
    # Every real collection is checked, and no check runs for a collection named by NULL.
    assert {c["collection"] for c in result.json["checks"] if c["check"] == "coverage"} == {"a", "b", "c"}
    text = cli("verify", "--profile", profile(tmp_path), "--collection", "all", "--run-dir", tmp_path / "run2",
               env=env_of(empty_db, embed_server))
    assert text.code == 1 and "[UNPR] no_collection: no_collection unproven: 4 chunks in no collection" in text.out, text.out


def test_verify_all_reports_chunks_of_no_collection_of_an_array_column(cli, empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url, array=True)
    path = profile(tmp_path, array=True)
    # One collection in the arrays (checks of an array column run one collection at a time).
    empty_db.execute("UPDATE passages SET collection = '{a}' WHERE cardinality(collection) > 0")
    result = cli("verify", "--profile", path, "--collection", "all", "--run-dir", tmp_path / "run", "--json",
                 env=env_of(empty_db, embed_server))
    assert result.code == 1 and not result.json["ok"], result.out
    nowhere = [c for c in result.json["checks"] if c["check"] == "no_collection"]
    assert [c["status"] for c in nowhere] == ["unproven"], result.out
    nowhere = nowhere[0]
    assert UNPROVEN_LINE.format(where="chunks.collection 'collection[]' is NULL or empty") in nowhere["note"], nowhere
    assert "first keys: 10, 11, 12, 13" in nowhere["note"]


def test_an_array_listing_only_null_is_in_no_collection_and_verify_all_is_not_done(empty_db, embed_server, tmp_path):
    """'{NULL}' (an ORM's [None]) names no collection: no collection's checks read those chunks, and before they were
    not counted in none either, so verify --collection all said DONE while they had no vector."""
    load(empty_db, embed_server.url, array=True)
    empty_db.execute("UPDATE passages SET collection = CASE WHEN id < 10 THEN '{a}'::text[] ELSE '{NULL}'::text[] END")
    outcomes, verdict = checked(empty_db, embed_server, profile(tmp_path, array=True), "all")
    nowhere = only(outcomes, "no_collection")
    assert nowhere.status == "unproven" and not verdict.ok, verdict.reason
    assert (nowhere.metrics["chunks"], nowhere.metrics["with_vector"]) == (4, 0), nowhere.note


def test_a_filter_of_not_null_on_an_array_column_leaves_out_arrays_of_only_null_too(empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url, array=True)
    empty_db.execute("UPDATE passages SET collection = CASE WHEN id < 10 THEN '{a}'::text[] ELSE '{NULL}'::text[] END")
    outcomes, verdict = checked(empty_db, embed_server, profile(tmp_path, array=True, extra=NOT_NULL), "all")
    assert verdict.ok, verdict.reason
    assert not [o for o in outcomes if o.check == "no_collection"]


def test_a_pytest_run_that_leaves_out_the_no_collection_check_is_not_done(empty_db, embed_server, tmp_path):
    """-k "not no_collection" (or a project's addopts) deselected the one check that reads them: the verdict was DONE
    over the collections while four chunks in none had no vector."""
    from tests.integration.checks_run import run_checks

    load(empty_db, embed_server.url)
    run = run_checks(tmp_path, "--bh-profile", str(profile(tmp_path)), "--bh-collection", "all", "-k", "not no_collection",
                     env=env_of(empty_db, embed_server))
    assert "test_no_collection" not in run.results, run.output[-600:]
    assert "DONE checks verdict: NOT DONE: not run: no_collection" in run.output and run.code != 0, run.output[-600:]


def test_chunks_of_no_collection_with_vectors_are_counted_with_them(empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url, embedded_nowhere=(10, 12))
    outcomes, verdict = checked(empty_db, embed_server, profile(tmp_path), "all")
    nowhere = only(outcomes, "no_collection")
    assert nowhere.status == "unproven" and not verdict.ok
    assert "4 chunks in no collection (chunks.collection is NULL), 2 of them with a vector" in nowhere.note
    assert (nowhere.metrics["chunks"], nowhere.metrics["with_vector"]) == (4, 2)


def test_a_filter_of_not_null_puts_them_outside_the_corpus_and_verify_is_done(cli, empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url)
    result = cli("verify", "--profile", profile(tmp_path, extra=NOT_NULL), "--collection", "all", "--run-dir",
                 tmp_path / "run", "--json", env=env_of(empty_db, embed_server))
    assert result.code == 0 and result.json["ok"], result.out
    assert not [c for c in result.json["checks"] if c["check"] == "no_collection"]  # none: nothing added


def test_a_filter_of_not_null_on_an_array_column_leaves_out_empty_arrays_too(empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url, array=True)
    empty_db.execute("UPDATE passages SET collection = '{a}' WHERE cardinality(collection) > 0")
    outcomes, verdict = checked(empty_db, embed_server, profile(tmp_path, array=True, extra=NOT_NULL), "all")
    assert verdict.ok, verdict.reason
    assert not [o for o in outcomes if o.check == "no_collection"]
    assert only(outcomes, "coverage").metrics["chunks"] == 9


def test_a_single_named_collection_is_checked_as_before(empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url)
    outcomes, verdict = checked(empty_db, embed_server, profile(tmp_path), "a")
    assert verdict.ok, verdict.reason
    assert not [o for o in outcomes if o.check == "no_collection"]


def test_without_chunks_of_no_collection_nothing_is_added(empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url)
    empty_db.execute("DELETE FROM passages WHERE collection IS NULL")
    outcomes, verdict = checked(empty_db, embed_server, profile(tmp_path), "all")
    assert verdict.ok and not [o for o in outcomes if o.check == "no_collection"]


def test_a_table_of_chunks_all_in_no_collection_is_refused_saying_so(empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url)
    empty_db.execute("DELETE FROM passages WHERE collection IS NOT NULL")
    with pytest.raises(ConfigError, match=r"holds no chunks in a collection: 4 chunks in no collection "
                                          r"\(chunks\.collection is NULL\)"):
        checked(empty_db, embed_server, profile(tmp_path), "all")


def test_a_fixed_collection_name_reads_every_chunk_whatever_the_column_holds(empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url)
    path = tmp_path / "fixed.yaml"
    path.write_text(PROFILE.format(model=TEST_MODEL, collection="x", extra="").replace("collection: x",
                                                                                     "collection_name: passages"))
    outcomes, verdict = checked(empty_db, embed_server, path, "all")
    assert not [o for o in outcomes if o.check == "no_collection"]
    coverage = only(outcomes, "coverage")
    assert coverage.status == "failed" and coverage.metrics["missing"] == 4  # the four are read, and lack vectors


@pytest.fixture
def tenant_role(empty_db, pg):
    """A login role row-level security applies to: each tenant sees its own passages (and none of no tenant)."""
    role = f"nc_{uuid.uuid4().hex[:8]}"
    empty_db.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'app-secret-pw'")
    yield role, pg.dsn(empty_db.name, user=role, password="app-secret-pw")
    empty_db.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


def _row_level_security(db, role: str) -> None:
    db.execute(f"GRANT SELECT ON passages TO {role}; ALTER TABLE passages ENABLE ROW LEVEL SECURITY; "
               "CREATE POLICY by_tenant ON passages USING (tenant = current_setting('app.tenant', true))")


def _checked_by_tenant(db, embed_server, tmp_path, tenant_role, tenants: str):
    """verify --collection all as a role the policies restrict, read tenant by tenant over ``tenants``."""
    role, dsn = tenant_role
    load(db, embed_server.url, tenant=True)
    _row_level_security(db, role)
    path = profile(tmp_path, extra=", tenant: tenant")
    path.write_text(path.read_text() + f'database: {{session: {{app.tenant: "{{tenant}}"}}, tenants: {tenants}}}\n')
    return checked(db, embed_server, path, "all", dsn=dsn)


def test_under_row_level_security_read_by_tenant_each_chunk_of_no_collection_counts_once(
        empty_db, embed_server, tmp_path, tenant_role):
    outcomes, verdict = _checked_by_tenant(empty_db, embed_server, tmp_path, tenant_role, "[acme, globex]")
    nowhere = only(outcomes, "no_collection")
    assert (nowhere.metrics["chunks"], nowhere.metrics["with_vector"]) == (4, 0), nowhere.message()
    assert not verdict.ok


def test_a_chunk_hidden_by_row_level_security_is_not_counted_in_no_collection(
        empty_db, embed_server, tmp_path, tenant_role):
    outcomes, _ = _checked_by_tenant(empty_db, embed_server, tmp_path, tenant_role, "[acme]")
    # acme sees the odd keys: 11 and 13 of the four; globex's 10 and 12 are hidden, not "in no collection".
    nowhere = only(outcomes, "no_collection")
    assert (nowhere.metrics["chunks"], nowhere.metrics["with_vector"]) == (2, 0), nowhere.message()


def test_scope_says_the_chunks_in_no_collection_in_one_line_with_their_count(cli, empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url, embedded_nowhere=(11,))
    target = ("--profile", profile(tmp_path), "--collection", "a")
    result = cli("scope", *target, "--json", env=env_of(empty_db, embed_server))
    assert result.code == 0 and result.json["counts"]["chunks"] == 3, result.out
    assert result.json["no_collection"] == {
        "chunks": 4, "with_vector": 1, "first_keys": [10, 11, 12, 13], "why": "chunks.collection is NULL",
        "line": "4 chunks in no collection (chunks.collection is NULL), 1 of them with a vector: no collection selects "
                "them, so no backfill embeds them and no check reads them; outside the corpus on purpose? say so with "
                "chunks.filter: {collection: {not: null}}"}
    text = cli("scope", *target, env=env_of(empty_db, embed_server))
    assert text.code == 0 and [line for line in text.out.splitlines() if "in no collection" in line] == [
        f"  - {result.json['no_collection']['line']}"], text.out


def test_scope_of_an_unknown_collection_lists_the_known_ones_beside_chunks_of_none(cli, empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url)
    result = cli("scope", "--profile", profile(tmp_path), "--collection", "d", env=env_of(empty_db, embed_server))
    assert result.code == 2 and "known collections: a, b, c" in result.out, result.out + result.err


def test_scope_says_nothing_of_them_once_the_filter_leaves_them_out(cli, empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url)
    result = cli("scope", "--profile", profile(tmp_path, extra=NOT_NULL), "--collection", "a", "--json",
                 env=env_of(empty_db, embed_server))
    assert result.code == 0 and result.json["no_collection"] is None, result.out
    assert not [a for a in result.json["assumptions"] if "no collection" in a]


def test_plan_says_the_chunks_in_no_collection_in_one_line(cli, empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url, array=True)
    empty_db.execute("UPDATE passages SET collection = '{a}' WHERE cardinality(collection) > 0")
    target = ("--profile", profile(tmp_path, array=True), "--collection", "a", "--engine")
    result = cli("plan", *target, "--run-dir", tmp_path / "json", "--json", env=env_of(empty_db, embed_server))
    assert result.code == 0 and result.json["no_collection"]["chunks"] == 4, result.out
    assert result.json["no_collection"]["why"] == "chunks.collection 'collection[]' is NULL or empty"
    text = cli("plan", *target, "--run-dir", tmp_path / "text", env=env_of(empty_db, embed_server))
    said = [line for line in text.out.splitlines() if "in no collection" in line]
    assert text.code == 0 and said == [f"  no collection: {result.json['no_collection']['line']}"], text.out
    assert result.json["no_collection"]["line"] in (tmp_path / "text" / "plan.md").read_text()


def test_a_key_naming_no_row_of_the_collection_table_is_in_no_collection_too(empty_db, embed_server, tmp_path):
    load(empty_db, embed_server.url)
    empty_db.execute("CREATE TABLE shelves (id int PRIMARY KEY, name text); "
                     "INSERT INTO shelves VALUES (1, 'a'), (2, 'b'), (3, 'c'); "
                     "ALTER TABLE passages ADD COLUMN shelf int; "
                     "UPDATE passages SET shelf = CASE collection WHEN 'a' THEN 1 WHEN 'b' THEN 2 WHEN 'c' THEN 3 END; "
                     "UPDATE passages SET shelf = 9 WHERE id = 10")  # a shelf since deleted
    path = profile(tmp_path, collection="shelf", extra=SHELVES, name="shelves.yaml")
    outcomes, verdict = checked(empty_db, embed_server, path, "all")
    assert {o.collection for o in outcomes if o.check == "coverage"} == {"a", "b", "c"}
    nowhere = only(outcomes, "no_collection")
    assert "4 chunks in no collection (chunks.collection is NULL or names no row of shelves)" in nowhere.note
    assert not verdict.ok


def test_an_array_key_of_a_collection_table_row_without_a_name_is_in_no_collection(empty_db, embed_server, tmp_path):
    """Shelf 4 has no name: no collection is called by it, so its chunks (keys 10-13, no vector) are in none."""
    load(empty_db, embed_server.url)
    empty_db.execute("CREATE TABLE shelves (id int PRIMARY KEY, name text); "
                     "INSERT INTO shelves VALUES (1, 'a'), (4, NULL); "
                     "ALTER TABLE passages ADD COLUMN shelves int[]; "
                     "UPDATE passages SET shelves = CASE WHEN id < 10 THEN '{1}'::int[] ELSE '{4}'::int[] END")
    path = profile(tmp_path, collection='"shelves[]"', extra=SHELVES, name="shelves.yaml")
    outcomes, verdict = checked(empty_db, embed_server, path, "all")
    nowhere = only(outcomes, "no_collection")
    assert nowhere.metrics["chunks"] == 4 and not verdict.ok, verdict.reason


def test_a_chunk_in_no_collection_with_only_another_models_vector_is_said_without_one(empty_db, embed_server, tmp_path):
    """embeddings.filter: the vector of another model beside it (the same table, model_id 1) is not this target's."""
    empty_db.execute("CREATE TABLE notes (id int PRIMARY KEY, body text, collection text); "
                     "CREATE TABLE vecs (note_id int, model_id int, v vector(384), UNIQUE (model_id, note_id)); "
                     "INSERT INTO notes VALUES (1, 'a note on harbours', 'a'), (2, 'a note on ferries', NULL)")
    vectors = httpx.post(f"{embed_server.url}/api/embed", json={"model": TEST_MODEL, "input": ["a note on harbours"]}
                         ).json()["embeddings"]
    empty_db.execute(f"INSERT INTO vecs VALUES (1, 2, '{vectors[0]}'), (2, 1, '{vectors[0]}')")
    path = tmp_path / "profile.yaml"
    path.write_text(f"name: notes\nprovider: {{model: {TEST_MODEL}, dimensions: 384}}\n"
                    "chunks: {table: notes, id: id, text: body, collection: collection}\n"
                    "embeddings: {table: vecs, key: note_id, vector: v, filter: {model_id: 2}}\n")
    outcomes, _ = checked(empty_db, embed_server, path, "all")
    nowhere = only(outcomes, "no_collection")
    assert nowhere.metrics["chunks"] == 1 and nowhere.metrics["with_vector"] == 0, nowhere.note


def test_a_key_naming_no_row_of_the_collection_table_is_not_sent_to_a_filter_that_cannot_leave_it_out(
        empty_db, embed_server, tmp_path):
    """chunks.filter {shelf: {not: null}} leaves out NULL shelves only: shelf 9, since deleted, stays in none."""
    load(empty_db, embed_server.url)
    empty_db.execute("CREATE TABLE shelves (id int PRIMARY KEY, name text); "
                     "INSERT INTO shelves VALUES (1, 'a'), (2, 'b'), (3, 'c'); "
                     "ALTER TABLE passages ADD COLUMN shelf int; "
                     "UPDATE passages SET shelf = CASE collection WHEN 'a' THEN 1 WHEN 'b' THEN 2 WHEN 'c' THEN 3 END; "
                     "UPDATE passages SET shelf = 9 WHERE id = 10")
    path = profile(tmp_path, collection="shelf", extra=SHELVES + ", filter: {shelf: {not: null}}", name="shelves.yaml")
    outcomes, verdict = checked(empty_db, embed_server, path, "all")
    nowhere = only(outcomes, "no_collection")
    assert nowhere.metrics["chunks"] == 1 and not verdict.ok
    assert "add the row to shelves or delete those chunks" in nowhere.note, nowhere.note


def test_all_checks_a_collection_only_embedding_rows_still_name_and_finds_its_orphans(embedded_db, embed_server,
                                                                                    demo_profile):
    """tenant_globex's chunks were deleted, its 29 embedding rows (filed under it) left behind: --collection all
    listed the collections of the chunks alone, so no check read those rows and it said DONE."""
    embedded_db.execute("DELETE FROM document_chunks WHERE collection = 'tenant_globex'")
    outcomes, verdict = checked(embedded_db, embed_server, demo_profile, "all")
    coverage = [o for o in outcomes if o.check == "coverage" and o.collection == "tenant_globex"]
    assert coverage and coverage[0].status == "failed" and "29 orphans" in coverage[0].found, coverage
    assert not verdict.ok


@pytest.mark.parametrize("index", [True, False], ids=["probed through its index", "read whole"])
def test_the_collections_only_embedding_rows_name_are_found_with_or_without_an_index(embedded_db, demo_env, demo_profile,
                                                                                       index):
    """With an index on embeddings.collection they are probed one collection at a time (a read of every embedding row
    with its vector cost 0.08 s of the checks' 0.7 s at 200,000 rows); without one, read whole: the same answer."""
    from harness.db import connect
    from harness.profile import load_profile
    from harness.state import filed_only
    from harness.target import Target

    embedded_db.execute("DELETE FROM document_chunks WHERE collection IN ('tenant_globex', 'global_corpus')")
    if not index:
        embedded_db.execute("DROP INDEX document_embeddings_collection_idx")
    with connect(embedded_db.dsn, autocommit=True) as conn:
        found = filed_only(conn, Target(load_profile(demo_profile, env=demo_env)), ["tenant_acme"])
    assert found == ["global_corpus", "tenant_globex"]
