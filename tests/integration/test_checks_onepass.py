"""The DONE checks read every row once (#12): one pass serves every row check, recompute's sample is drawn in it,
and each outcome says what it read."""

from __future__ import annotations

import random
import time

import psycopg
import pytest

from harness.checks import CheckOptions, open_session, run_all
from harness.profile import parse_profile
from harness.settings import resolve

from ..conftest import TEST_MODEL
from .plans import nodes, wide
from .test_checks_sampling import PROFILE
from .test_checks_sampling import default_verify, execute, small_target  # noqa: F401 (fixture)

ROW_CHECKS = ("coverage", "sane_vectors", "distinct_vectors")


def tuples_read(dsn: str, table: str) -> int:
    """Rows read from a table by scans of any kind, once every backend has reported (they report on exit)."""
    last, stable = -1, 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        for _ in range(100):
            conn.execute("SELECT pg_stat_clear_snapshot()")
            n = conn.execute("SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_stat_user_tables "
                             "WHERE relname = %s", (table,)).fetchone()[0]
            stable = stable + 1 if n == last else 0
            if stable >= 8:
                return n
            last = n
            time.sleep(0.2)
    return last


@pytest.fixture
def wide_target(pg, embed_server):
    """5,000 notes with random vectors (loaded by COPY, indexed, analysed): large enough that lookups use indexes."""
    import numpy as np
    from pgvector.psycopg import register_vector

    name = f"onepass_{random.randrange(10**9)}"
    dsn = pg.create_database(name)
    rng = np.random.default_rng(3)
    with psycopg.connect(dsn, autocommit=True) as conn:
        register_vector(conn)
        conn.execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)")
        conn.execute("CREATE TABLE note_vectors (note_id int PRIMARY KEY REFERENCES notes, embedding vector(384))")
        with conn.cursor().copy("COPY notes FROM STDIN") as cp:
            for i in range(1, 5001):
                cp.write_row((i, f"note {i} " + " ".join(rng.choice(list("abcdefgh"), 12))))
        with conn.cursor().copy("COPY note_vectors FROM STDIN WITH (FORMAT BINARY)") as cp:
            cp.set_types(["int4", "vector"])
            for i in range(1, 5001):
                cp.write_row((i, rng.standard_normal(384).astype(np.float32)))
        conn.execute("CREATE INDEX ON note_vectors USING ivfflat (embedding vector_cosine_ops) WITH (lists = 50)")
        # On a table this small the planner would scan for every search; a large one goes through the index.
        conn.execute(f"ALTER DATABASE {name} SET enable_seqscan = off")
        conn.execute("VACUUM ANALYZE notes")
        conn.execute("VACUUM ANALYZE note_vectors")
    try:
        yield dsn, parse_profile(PROFILE.format(model=TEST_MODEL, url=embed_server.url))
    finally:
        pg.drop_database(name)


def test_the_suite_reads_the_vector_table_once_plus_the_sampled_rows(wide_target):
    dsn, profile = wide_target
    before = tuples_read(dsn, "note_vectors")
    # A sample of 20 (about 130 candidates): read by address, as a large table's 598 rows are.
    session = open_session(resolve(profile, database_url=dsn, env={}), CheckOptions(collections=("notes",), sample=20))
    try:
        outcomes = run_all(session)
    finally:
        session.close()
    read = tuples_read(dsn, "note_vectors") - before
    # One pass (5,000 rows) plus what the citation searches fetch through the index (a list of about 100 rows each);
    # the sample is read by address. A second scan would add 5,000 more (before #12 the suite read it four times).
    assert 5000 <= read < 6500, (read, [o.message() for o in outcomes])


def test_every_row_check_says_it_read_the_shared_pass(small_target):  # noqa: F811 (the imported fixture)
    _, by = default_verify(*small_target)
    for name in ROW_CHECKS:
        assert "the shared pass: 300 rows of notes joined with note_vectors read once" in by[name].metrics["read"], name
    assert by["recompute"].metrics["read"].endswith("rows drawn beside the shared pass (the chunk keys with the "
                                                    "smallest seeded hashes, then those rows alone)")
    assert by["fresh"].metrics["read"].startswith("nothing of its own; recompute's sample (")
    assert "searches" in by["citations"].metrics["read"] and "catalog" in by["index"].metrics["read"]


def test_a_draw_of_too_few_rows_falls_back_to_a_pick_of_its_own_with_the_same_bound(small_target, monkeypatch):  # noqa: F811 (the imported fixture)
    import importlib

    monkeypatch.setattr(importlib.import_module("harness.checks.recompute"), "CANDIDATES_PER_ROW", 0)
    monkeypatch.setattr(importlib.import_module("harness.checks.recompute"), "CANDIDATES_EXTRA", 10)  # 10 < 299
    dsn, profile = small_target
    session = open_session(resolve(profile, database_url=dsn, env={}), CheckOptions(collections=("notes",)))
    try:
        from harness.checks import recompute

        outcome = recompute(session, "notes")
    finally:
        session.close()
    assert outcome.status == "passed", outcome.message()
    assert outcome.metrics["sampled"] == 299 and "a statement of its own" in outcome.metrics["read"]


def test_a_vector_copied_into_another_collection_under_another_text_fails_distinct_vectors_there(small_target, embed_server):  # noqa: F811 (the imported fixture)
    """Note 3's vector copied onto note 290 (collection b): 290 is named, in b; note 3 holds its own text's vector,
    which re-embedding would give again, so a passes."""
    dsn, _ = small_target
    execute(dsn, "ALTER TABLE notes ADD COLUMN coll text NOT NULL DEFAULT 'a'")
    execute(dsn, "UPDATE notes SET coll = 'b' WHERE id > 150")
    execute(dsn, "UPDATE note_vectors SET embedding = (SELECT embedding FROM note_vectors WHERE note_id = 3) "
                 "WHERE note_id = 290")
    profile = parse_profile(f"""
name: two
provider: {{model: {TEST_MODEL}, url: {embed_server.url}}}
chunks: {{table: notes, id: id, text: body, collection: coll}}
embeddings: {{table: note_vectors, key: note_id, vector: embedding}}
""")
    session = open_session(resolve(profile, database_url=dsn, env={}), CheckOptions(collections=("a", "b")))
    try:
        from harness.checks import distinct_vectors

        a, b = distinct_vectors(session, "a"), distinct_vectors(session, "b")
    finally:
        session.close()
    assert b.status == "failed" and {o.id for o in b.offenders} == {290}, b.message()
    assert a.status == "passed", a.message()


def test_a_shared_vector_is_found_when_the_fingerprints_arrive_in_pieces_and_are_spilled_to_a_file(
        small_target, embed_server, monkeypatch):  # noqa: F811 (the imported fixture)
    """Past the memory bound the pairs go to a file by bucket (#12: flat memory at any size): the shared vector and
    the zero vector are found the same."""
    from harness.checks import distinct_vectors, fingerprints, stats

    monkeypatch.setattr(stats, "PIECE_BYTES", 48)  # three vectors a piece
    monkeypatch.setattr(fingerprints, "MEMORY_LIMIT", 160)  # ten vectors
    spilled = []
    monkeypatch.setattr(fingerprints.Spool, "spill", lambda self, *file, real=fingerprints.Spool.spill: (spilled.append(self), real(self, *file))[1])
    dsn, profile = small_target
    execute(dsn, "UPDATE note_vectors SET embedding = (SELECT embedding FROM note_vectors WHERE note_id = 3) "
                 "WHERE note_id = 290")
    execute(dsn, "UPDATE note_vectors SET embedding = array_fill(0, ARRAY[vector_dims(embedding)])::vector "
                 "WHERE note_id = 17")
    session = open_session(resolve(profile, database_url=dsn, env={}), CheckOptions(collections=("notes",)))
    try:
        outcome = distinct_vectors(session, "notes")
        zero = session.onepass().stats["notes"].zero
    finally:
        session.close()
    assert spilled, "the pairs stayed in memory: the test does not exercise the file"
    assert outcome.status == "failed" and {o.id for o in outcome.offenders} == {290}  # 3's vector is its own
    assert zero == 1


def test_zero_vectors_are_counted_once_each_whether_the_fingerprint_or_the_norm_tells(pg, embed_server):
    """Zero vectors of the expected dimension are told by their fingerprint, one of another dimension (an untyped
    column) by its norm; each is counted once, and a vector that is not zero never."""
    from pgvector.psycopg import register_vector

    name = f"zeros_{random.randrange(10**9)}"
    dsn = pg.create_database(name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            register_vector(conn)
            conn.execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)")
            conn.execute("CREATE TABLE note_vectors (note_id int PRIMARY KEY REFERENCES notes, embedding vector)")
            conn.execute("INSERT INTO notes SELECT i, 'note ' || i FROM generate_series(1, 6) AS i")
            conn.execute("INSERT INTO note_vectors VALUES (1, array_fill(0, ARRAY[384])::vector), "
                         "(2, array_fill(0, ARRAY[384])::vector), (3, '[0,0,0]'), (4, '[1,2,3]'), "
                         "(5, array_fill(0.5, ARRAY[384])::vector), (6, array_fill(-0.25, ARRAY[384])::vector)")
        profile = parse_profile(PROFILE.format(model=TEST_MODEL, url=embed_server.url))
        session = open_session(resolve(profile, database_url=dsn, env={}), CheckOptions(collections=("notes",)))
        try:
            stats = session.onepass().stats["notes"]
        finally:
            session.close()
        assert session.expected_dimensions() == 384  # the provider's: so the fingerprint told rows 1 and 2
        assert stats.zero == 3 and stats.wrong_dims == 2
    finally:
        pg.drop_database(name)


def all_collections(dsn, profile):
    return open_session(resolve(profile, database_url=dsn, env={}), CheckOptions(collections=("all",)))


def test_every_collection_is_counted_in_the_snapshot_its_pass_reads(small_target):  # noqa: F811 (the imported fixture)
    """--collection all lists the collections by the chunk counts the pass then uses: a chunk and its vector
    written in between are in neither, so the counts agree with the join."""
    dsn, profile = small_target
    session = all_collections(dsn, profile)
    try:
        execute(dsn, "INSERT INTO notes VALUES (301, 'written after the session opened')")
        execute(dsn, "INSERT INTO note_vectors SELECT 301, embedding FROM note_vectors WHERE note_id = 1")
        found = session.onepass()
    finally:
        session.close()
    stats = found.stats["notes"]
    assert (stats.chunks, stats.embedded, stats.missing, found.rows) == (300, 300, 0, 300)


def test_a_pass_whose_held_snapshot_was_ended_counts_for_itself(small_target):  # noqa: F811 (the imported fixture)
    dsn, profile = small_target
    session = all_collections(dsn, profile)
    try:
        pid = session._held[1].info.backend_pid
        execute(dsn, "SELECT pg_terminate_backend(%s)", (pid,))
        execute(dsn, "INSERT INTO notes VALUES (301, 'no vector yet')")
        stats = session.onepass().stats["notes"]
    finally:
        session.close()
    assert (stats.chunks, stats.embedded, stats.missing) == (301, 300, 1)


def _pass_plan(dsn: str, demo_env, demo_profile, *settings: str) -> dict:
    """The pass statement's plan (EXPLAIN VERBOSE) over the demo store, under the planner settings given."""
    from psycopg import sql

    from harness.checks.shape import Shape
    from harness import db
    from harness.checks.stats import pass_params, pass_query, probe
    from harness.profile import load_profile
    from harness.target import Target

    shape = Shape(Target(load_profile(demo_profile, env=demo_env)))
    params = pass_params(["global_corpus"], TEST_MODEL, 384, probe(384))
    with db.connect(dsn) as conn:
        for setting in settings:
            conn.execute(setting)
        query = pass_query(conn, shape, params, has_model=True, has_hash=True, check_dims=False, unique_key=True)
        return conn.execute(sql.SQL("EXPLAIN (VERBOSE, FORMAT JSON) ") + query, params).fetchone()["QUERY PLAN"][0]["Plan"]


def test_a_pass_grouped_by_sorting_sorts_each_rows_flags_not_its_vector_and_text(embedded_db, demo_env, demo_profile):
    """Tenant columns all NULL, many tenants, or no statistics right after a load make the planner expect a group
    per row and group by sorting: the sort then carries a row's keys, flags and fingerprint, never its vector or text
    (#12: carried, at 2,000,000 rows the pass spilled every vector to disk and took 54 s instead of about 4)."""
    plan = _pass_plan(embedded_db.dsn, demo_env, demo_profile, "SET enable_hashagg = off")
    sorts = [n for n in nodes(plan) if n["Node Type"] in ("Sort", "Incremental Sort") and "collection" in str(n["Sort Key"])]
    assert sorts, "enable_hashagg = off groups by sorting"
    assert not wide(column for node in sorts for column in node["Output"])


def test_a_pass_joined_by_hashing_carries_no_vector_into_the_join(embedded_db, demo_env, demo_profile):
    """Without statistics (right after a load) the planner hashes the join, and a hash join too big for work_mem
    writes its probe rows to batch files: they must be the embedding rows' compared columns and per-vector values,
    not the vectors (#12: at 1,000,000 rows 1.8 GB of temporary files and 21 s; now a seventh of that)."""
    plan = _pass_plan(embedded_db.dsn, demo_env, demo_profile, "SET enable_mergejoin = off", "SET enable_nestloop = off")
    joins = [n for n in nodes(plan) if n["Node Type"] == "Hash Join"]
    assert joins, "with merge and nested-loop joins off the pass hashes its join"
    assert not wide(column for join in joins for child in join["Plans"] for column in child["Output"]
                     if "embedding" in column), "the vectors went into the join"


TENANT_CHUNKS = """
name: t
provider: {model: m}
chunks: {table: chunks, id: id, text: body, collection: coll, tenant: ten}
embeddings: {table: vecs, key: chunk_id, vector: v, model: model}
"""


def test_the_pass_estimates_its_groups_from_the_tables_statistics(empty_db):
    """A key the profile does not have (no embedding tenant: NULL) is no column of the per-row rows: there the planner
    knows no statistics and counts 200 values, so it expected a group per row and sorted every row (on disk) where
    the few real groups take a parallel hash aggregate."""
    from psycopg import sql

    from harness.checks.shape import Shape
    from harness.checks.stats import pass_params, probe, stats_sql
    from harness.target import Target

    with psycopg.connect(empty_db.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE chunks (id int PRIMARY KEY, body text, coll text, ten text)")
        conn.execute("CREATE TABLE vecs (chunk_id int PRIMARY KEY, v vector(3), model text)")
        conn.execute("INSERT INTO chunks SELECT i, 'x', 'a', 't' || (i % 5) FROM generate_series(1, 4000) AS i")
        conn.execute("INSERT INTO vecs SELECT i, '[1,2,3]', 'm' FROM generate_series(1, 4000) AS i")
        conn.execute("ANALYZE")
        query = stats_sql(Shape(Target(parse_profile(TENANT_CHUNKS))), has_model=True, has_hash=False, check_dims=True,
                          unique_key=True)
        params = pass_params(["a"], "m", 3, probe(3))
        plan = conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) ") + query, params).fetchone()[0][0]["Plan"]
    grouping = [n for n in nodes(plan) if n["Node Type"] == "Aggregate" and len(n.get("Group Key", [])) >= 5]
    assert grouping and max(n["Plan Rows"] for n in grouping) <= 5 * 2 * 2 * 2, grouping  # tenants x three flags


def test_a_copy_sharing_every_vector_and_text_with_its_source_is_not_read_again(embedded_db, demo_env, demo_profile):
    """``backfill --into`` with the model unchanged copies every vector with its text: the pass must not take each
    as a candidate and read the whole copy a second time (at 1,000,000 rows, swap's gate sent back 1.8 million
    fingerprints and read both collections again); a vector shared by two different texts still is one."""
    from harness.checks import CheckOptions, PER_COLLECTION, open_session
    from harness.profile import load_profile

    with embedded_db.connect() as conn:
        conn.execute("CREATE TEMP TABLE m AS SELECT id AS old, nextval('document_chunks_id_seq') AS new "
                     "FROM document_chunks WHERE collection = 'tenant_acme'")
        conn.execute("INSERT INTO document_chunks (id, document_id, collection, tenant_id, chunk_index, content, title, url) "
                     "SELECT m.new, document_id, 'acme_copy', tenant_id, chunk_index, content, title, url "
                     "FROM document_chunks c JOIN m ON m.old = c.id")
        conn.execute("INSERT INTO document_embeddings (chunk_id, collection, tenant_id, embedding, model_name, input_hash) "
                     "SELECT m.new, 'acme_copy', tenant_id, embedding, model_name, input_hash "
                     "FROM document_embeddings e JOIN m ON m.old = e.chunk_id")
        conn.commit()
    env = {**demo_env, "DATABASE_URL": embedded_db.dsn}
    session = open_session(resolve(load_profile(demo_profile, env=env), database_url=embedded_db.dsn, env=env),
                           CheckOptions(collections=("acme_copy",)))
    try:
        outcome = PER_COLLECTION["distinct_vectors"](session, "acme_copy")
        assert outcome.passed and outcome.metrics["fingerprints_seen_twice"] == 0, outcome.message()
        with embedded_db.connect() as conn:  # now one copied chunk gets another text under the same vector
            conn.execute("UPDATE document_chunks SET content = content || ' (edited)' WHERE id = "
                         "(SELECT min(id) FROM document_chunks WHERE collection = 'acme_copy')")
            conn.commit()
    finally:
        session.close()
    session = open_session(resolve(load_profile(demo_profile, env=env), database_url=embedded_db.dsn, env=env),
                           CheckOptions(collections=("acme_copy",)))
    try:
        outcome = PER_COLLECTION["distinct_vectors"](session, "acme_copy")
        assert not outcome.passed and outcome.metrics["fingerprints_seen_twice"] == 1, outcome.message()
    finally:
        session.close()


@pytest.mark.parametrize("narrow", [False, True])
def test_the_chunk_counts_come_back_once_not_on_every_row_of_the_pass(empty_db, narrow):
    """The chunk counts hold an entry per collection and tenant: sent (and parsed) again on every group's and piece's
    row they made the pass quadratic in tenants (a tenant column of 4,000 tenants: 24 s, 1,000: 1.2 s)."""
    from harness import db
    from harness.checks.shape import Shape
    from harness.checks.stats import gather, pass_params, probe, stats_sql
    from harness.target import Target

    with psycopg.connect(empty_db.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE chunks (id int PRIMARY KEY, body text, coll text, ten text)")
        conn.execute("CREATE TABLE vecs (chunk_id int PRIMARY KEY, v vector(3), model text)")
        conn.execute("INSERT INTO chunks SELECT i, 'x' || i, 'a', 't' || (i % 40) FROM generate_series(1, 200) AS i")
        conn.execute("INSERT INTO vecs SELECT i, array[i, 1, 2]::vector, 'm' FROM generate_series(1, 190) AS i")
    shape = Shape(Target(parse_profile(TENANT_CHUNKS)))
    query = stats_sql(shape, has_model=True, has_hash=False, check_dims=True, unique_key=True, narrow=narrow)
    with db.connect(empty_db.dsn) as conn:
        rows = conn.cursor(binary=True).execute(query, {**pass_params(["a"], "m", 3, probe(3)), "piece": 32}).fetchall()
        with conn.transaction():
            found = gather(conn, shape, ["a"], "m", 3, True, probe=probe(3))
        found.spool.close()
    assert len(rows) > 80 and sum(r["chunk_counts"] is not None for r in rows) == 1
    stats = found.stats["a"]
    assert (stats.chunks, stats.embedded, stats.missing, len(stats.tenants)) == (200, 190, 10, 40)


def test_a_pass_that_fails_after_its_fingerprints_arrived_closes_their_spool(small_target, monkeypatch):  # noqa: F811 (the imported fixture)
    """Without a unique embedding key the chunks are counted by a second statement; when it fails (a statement
    timeout, a dropped connection) the spool of the pass's fingerprints, spilled to a file, is closed all the same."""
    from psycopg import sql

    from harness.checks import fingerprints, stats
    from harness.errors import DatabaseError

    opened = []

    class Recorded(fingerprints.Spool):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            opened.append(self)

    monkeypatch.setattr(stats, "Spool", Recorded)
    monkeypatch.setattr(stats, "PIECE_BYTES", 160)
    monkeypatch.setattr(fingerprints, "MEMORY_LIMIT", 320)
    monkeypatch.setattr(stats, "chunk_counts_sql", lambda *args, **kwargs: sql.SQL("SELECT 1 / 0"))
    dsn, profile = small_target
    execute(dsn, "ALTER TABLE note_vectors DROP CONSTRAINT note_vectors_pkey")
    session = open_session(resolve(profile, database_url=dsn, env={}), CheckOptions(collections=("notes",)))
    try:
        with pytest.raises(DatabaseError):
            session.onepass()
    finally:
        session.close()
    assert opened and all(s.file is not None for s in opened), "the test does not exercise a spilled spool"
    assert all(s.file.closed for s in opened)


def test_each_collections_counts_are_folded_from_its_own_groups(empty_db, monkeypatch):
    """``--collection all`` over a table of many collections: folding every group for every collection was quadratic
    (3,000 collections of one chunk: 1.6 s; 30,000: minutes) where each collection's few groups are enough."""
    from harness import db
    from harness.checks import stats
    from harness.checks.shape import Shape
    from harness.target import Target

    with psycopg.connect(empty_db.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE chunks (id int PRIMARY KEY, body text, coll text, ten text)")
        conn.execute("CREATE TABLE vecs (chunk_id int PRIMARY KEY, v vector(3), model text)")
        conn.execute("INSERT INTO chunks SELECT i, 'x' || i, 'c' || (i % 100), 't' FROM generate_series(1, 300) AS i")
        conn.execute("INSERT INTO vecs SELECT i, array[i, 1, 2]::vector, 'm' FROM generate_series(1, 250) AS i")
        conn.execute("INSERT INTO vecs VALUES (1000, '[1,1,1]', 'm')")  # an orphan
    folded, real = [], stats.fold

    def fold(collection, groups, **options):
        folded.append(len(groups))
        return real(collection, groups, **options)

    monkeypatch.setattr(stats, "fold", fold)
    collections = [f"c{i}" for i in range(100)]
    with db.connect(empty_db.dsn) as conn, conn.transaction():
        found = stats.gather(conn, Shape(Target(parse_profile(TENANT_CHUNKS))), collections, "m", 3, True,
                             probe=stats.probe(3))
        found.spool.close()
    assert max(folded) <= 3, folded  # its chunks with a vector, without one, and the orphan (no embedding collection)
    assert sum(found.stats[c].chunks for c in collections) == 300 and sum(found.stats[c].missing for c in collections) == 50
    assert all(found.stats[c].orphans == 1 for c in collections) and sum(found.drawable.values()) == 250
