"""On a bare target (no input-hash, no model, no timestamp column) the default verify finds what the catalog cannot.

The target is built once per module: texts embedded by the test server and written
in batches of 100 (each its own transaction), the way a backfill writes them.
Verdicts are computed in-process through ``harness.checks`` (the default options).
"""

from __future__ import annotations

import random

import pytest

from harness.checks import CheckOptions, decide, open_session, run_all
from harness.checks.verdict import Claim
from harness.profile import parse_profile
from harness.provider import OllamaProvider
from harness.settings import resolve

from ..conftest import TEST_MODEL

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec "
         "romeo sierra tango uniform victor whiskey xray yankee zulu amber basalt cobalt dune ember fjord glacier "
         "harbor island jasper kelp lagoon meadow nectar orchard pebble quartz river summit tundra upland valley").split()

PROFILE = """
name: bare
provider: {{model: {model}, url: {url}}}
chunks: {{table: notes, id: id, text: body, collection_name: notes}}
embeddings: {{table: note_vectors, key: note_id, vector: embedding}}
"""


def text(rng: random.Random, n: int = 12) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)) + f" #{rng.randrange(10**9)}"


def build(dsn: str, url: str, rows: int, batch: int = 100, seed: int = 7) -> None:
    """notes(id, body) and note_vectors(note_id, embedding): every vector right, written batch by batch."""
    import psycopg
    from pgvector.psycopg import register_vector

    rng = random.Random(seed)
    texts = [text(rng) for _ in range(rows)]
    with psycopg.connect(dsn, autocommit=True) as conn, OllamaProvider(url, TEST_MODEL) as provider:
        register_vector(conn)
        conn.execute("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)")
        conn.execute("CREATE TABLE note_vectors (note_id int PRIMARY KEY REFERENCES notes, embedding vector(384))")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO notes VALUES (%s, %s)", list(enumerate(texts, 1)))
        for start in range(0, rows, batch):
            chunk = texts[start:start + batch]
            vectors = provider.embed(chunk).vectors
            with conn.transaction(), conn.cursor() as cur:
                import numpy as np

                cur.executemany("INSERT INTO note_vectors VALUES (%s, %s)",
                                [(start + i + 1, np.asarray(v, dtype=np.float32)) for i, v in enumerate(vectors)])
        conn.execute("CREATE INDEX ON note_vectors USING hnsw (embedding vector_cosine_ops)")


@pytest.fixture(scope="module")
def bare_target(pg, embed_server):
    """A 2,000-row bare target; yields (dsn, profile)."""
    name = "bare_sampling"
    pg.drop_database(name)
    dsn = pg.create_database(name)
    build(dsn, embed_server.url, 2000)
    profile = parse_profile(PROFILE.format(model=TEST_MODEL, url=embed_server.url))
    try:
        yield dsn, profile
    finally:
        pg.drop_database(name)


@pytest.fixture
def small_target(pg, embed_server):
    """A 300-row bare target in three write batches of 100; yields (Database-like dsn, profile)."""
    name = f"bare_small_{random.randrange(10**9)}"
    dsn = pg.create_database(name)
    build(dsn, embed_server.url, 300)
    try:
        yield dsn, parse_profile(PROFILE.format(model=TEST_MODEL, url=embed_server.url))
    finally:
        pg.drop_database(name)


def default_verify(dsn, profile, **options):
    """Every check with the default options; returns (verdict, outcomes by check name)."""
    session = open_session(resolve(profile, database_url=dsn, env={}), CheckOptions(collections=("notes",), **options))
    try:
        outcomes = run_all(session)
    finally:
        session.close()
    return decide(Claim.of(o) for o in outcomes), {o.check: o for o in outcomes}


def execute(dsn, query, params=None):
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(query, params)


def test_a_correct_bare_target_is_done_with_freshness_and_model_covered_by_the_recompute_bound(bare_target):
    verdict, by = default_verify(*bare_target)
    assert verdict.ok, verdict.reason
    assert by["fresh"].status == "unproven" and by["model"].status == "unproven"
    assert "at 95% confidence fewer than 1.0% of the 2000 rows are off" in by["fresh"].note
    assert by["recompute"].metrics["sampled"] == 299 and by["recompute"].metrics["bound"] <= 0.01
    assert by["citations"].metrics["sampled"] == 3  # what three sampled chunks prove is said, not implied
    assert "0 of 3 sampled chunks not found by their own text: at 95% confidence fewer than" in by["citations"].found


@pytest.mark.slow
def test_twenty_edited_texts_of_two_thousand_fail_the_default_verify_in_fifty_seeded_trials(bare_target):
    dsn, profile = bare_target
    import psycopg

    with psycopg.connect(dsn) as conn:
        originals = dict(conn.execute("SELECT id, body FROM notes").fetchall())
    misses = []
    for seed in range(50):
        rng = random.Random(seed)
        edited = rng.sample(sorted(originals), 20)
        execute(dsn, "UPDATE notes SET body = 'rewritten ' || md5(body) || ' ' || %s WHERE id = ANY(%s)",
                (text(rng), edited))
        try:
            session = open_session(resolve(profile, database_url=dsn, env={}), CheckOptions(collections=("notes",)))
            try:
                from harness.checks import recompute

                outcome = recompute(session, "notes")
            finally:
                session.close()
            if outcome.status != "failed" or not {o.id for o in outcome.offenders} & set(edited):
                misses.append(seed)
        finally:
            execute(dsn, "UPDATE notes SET body = v.body FROM unnest(%s::int[], %s::text[]) AS v(id, body) "
                         "WHERE notes.id = v.id", (edited, [originals[i] for i in edited]))
    assert misses == []


def test_an_explicit_sample_smaller_than_the_bound_needs_leaves_recompute_unproven_and_verify_not_done(bare_target):
    verdict, by = default_verify(*bare_target, sample=20)
    assert by["recompute"].status == "unproven"
    assert "bound too wide" in by["recompute"].note and "needs 299 sampled rows" in by["recompute"].note
    assert not verdict.ok and verdict.reason.startswith("unproven:")


def test_one_vector_copied_onto_another_row_of_three_hundred_fails_distinct_vectors(small_target):
    dsn, profile = small_target
    execute(dsn, "UPDATE note_vectors SET embedding = (SELECT embedding FROM note_vectors WHERE note_id = 17) "
                 "WHERE note_id = 240")
    verdict, by = default_verify(dsn, profile)
    assert not verdict.ok
    assert by["distinct_vectors"].status == "failed"
    # 17's own text is what the model embeds to that vector: only the copy is named (--keys-from repairs it alone)
    assert {o.id for o in by["distinct_vectors"].offenders} == {240}


def test_every_vector_equal_to_the_first_fails_distinct_vectors(small_target):
    dsn, profile = small_target
    execute(dsn, "UPDATE note_vectors SET embedding = (SELECT embedding FROM note_vectors WHERE note_id = 1)")
    verdict, by = default_verify(dsn, profile)
    assert not verdict.ok
    assert by["distinct_vectors"].offending_total == 300


def test_a_reversed_batch_fails_the_default_verify(small_target):
    dsn, profile = small_target
    execute(dsn, "UPDATE note_vectors v SET embedding = w.embedding FROM note_vectors w "
                 "WHERE v.note_id BETWEEN 101 AND 200 AND w.note_id = 301 - v.note_id")
    verdict, by = default_verify(dsn, profile)
    assert not verdict.ok and by["recompute"].status == "failed"


def test_a_batch_where_every_vector_equals_the_first_fails_the_default_verify(small_target):
    dsn, profile = small_target
    execute(dsn, "UPDATE note_vectors SET embedding = (SELECT embedding FROM note_vectors WHERE note_id = 101) "
                 "WHERE note_id BETWEEN 101 AND 200")
    verdict, by = default_verify(dsn, profile)
    assert not verdict.ok and by["distinct_vectors"].offending_total == 100


def test_two_swapped_vectors_in_a_batch_fail_the_default_verify(small_target):
    dsn, profile = small_target
    execute(dsn, "UPDATE note_vectors v SET embedding = w.embedding FROM note_vectors w "
                 "WHERE (v.note_id, w.note_id) IN ((150, 151), (151, 150))")
    verdict, by = default_verify(dsn, profile)
    assert not verdict.ok and {o.id for o in by["recompute"].offenders} == {150, 151}


TIMED = PROFILE.replace("collection_name: notes}", "collection_name: notes, updated_at: changed_at}").replace(
    "vector: embedding}", "vector: embedding, embedded_at: embedded_at}")


def test_a_chunk_changed_after_its_vector_was_written_fails_fresh_by_timestamp(small_target, embed_server):
    dsn, _ = small_target
    execute(dsn, "ALTER TABLE notes ADD COLUMN changed_at timestamptz NOT NULL DEFAULT '2026-01-01'")
    execute(dsn, "ALTER TABLE note_vectors ADD COLUMN embedded_at timestamptz NOT NULL DEFAULT '2026-01-02'")
    profile = parse_profile(TIMED.format(model=TEST_MODEL, url=embed_server.url))
    verdict, by = default_verify(dsn, profile)
    assert verdict.ok and by["fresh"].status == "passed", verdict.reason
    execute(dsn, "UPDATE notes SET changed_at = '2026-02-01' WHERE id IN (5, 6)")
    verdict, by = default_verify(dsn, profile)
    assert not verdict.ok and by["fresh"].status == "failed"
    assert {o.id for o in by["fresh"].offenders} == {5, 6}
    assert "chunk updated after its vector was written" in by["fresh"].message()


@pytest.mark.parametrize("blank", ["UPDATE note_vectors SET embedded_at = NULL WHERE note_id IN (5, 6)",
                                   "UPDATE notes SET changed_at = NULL WHERE id IN (5, 6)"], ids=["vector", "chunk"])
def test_a_vector_or_chunk_without_a_timestamp_is_not_proven_fresh_by_timestamps(small_target, embed_server, blank):
    """A NULL time compares as unknown, never as earlier: rows written before the column existed (or by a writer that
    never set it) with their texts rewritten since were counted fresh on every row."""
    dsn, _ = small_target
    execute(dsn, "ALTER TABLE notes ADD COLUMN changed_at timestamptz DEFAULT '2026-01-01'")
    execute(dsn, "ALTER TABLE note_vectors ADD COLUMN embedded_at timestamptz DEFAULT '2026-01-02'")
    execute(dsn, "UPDATE notes SET body = 'rewritten since ' || body WHERE id IN (5, 6)")
    execute(dsn, blank)
    profile = parse_profile(TIMED.format(model=TEST_MODEL, url=embed_server.url))
    _, by = default_verify(dsn, profile)
    assert by["fresh"].status == "unproven", by["fresh"].message()
    assert "2 of 300 vectors have no timestamp to compare" in by["fresh"].note
    assert by["fresh"].metrics["untimed"] == 2 and by["fresh"].metrics["covered_by"] == "recompute"


def test_a_chunk_time_without_a_time_zone_is_not_compared_with_a_vector_time_with_one(small_target, embed_server):
    """A naive chunks.updated_at (UTC wall time, as Rails writes it) against a timestamptz embedded_at: Postgres
    reads the naive one in the session's TimeZone, so the same rows were fresh in Tokyo and stale in UTC."""
    dsn, _ = small_target
    execute(dsn, "ALTER TABLE notes ADD COLUMN changed_at timestamp NOT NULL DEFAULT '2026-01-01'")
    execute(dsn, "ALTER TABLE note_vectors ADD COLUMN embedded_at timestamptz NOT NULL DEFAULT '2026-01-02 00:00+00'")
    execute(dsn, "UPDATE notes SET body = 'rewritten since ' || body, changed_at = '2026-01-02 03:00' WHERE id IN (5, 6)")
    execute(dsn, "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET TimeZone = %L', current_database(), "
                 "'Asia/Tokyo'); END $$")
    profile = parse_profile(TIMED.format(model=TEST_MODEL, url=embed_server.url))
    _, by = default_verify(dsn, profile)
    assert by["fresh"].status == "unproven", by["fresh"].message()
    assert "one with a time zone and the other without" in by["fresh"].note


def test_the_engine_re_embeds_a_chunk_changed_after_its_vector_where_timestamps_alone_say_so(small_target, embed_server,
                                                                                             cli, tmp_path):
    dsn, _ = small_target
    execute(dsn, "ALTER TABLE notes ADD COLUMN changed_at timestamptz NOT NULL DEFAULT '2026-01-01'")
    execute(dsn, "ALTER TABLE note_vectors ADD COLUMN embedded_at timestamptz NOT NULL DEFAULT '2026-01-02'")
    execute(dsn, "UPDATE notes SET body = 'rewritten since ' || body, changed_at = '2026-02-01' WHERE id IN (5, 6)")
    profile = tmp_path / "timed.yaml"
    profile.write_text(TIMED.format(model=TEST_MODEL, url=embed_server.url))
    result = cli("backfill", "--profile", profile, "--collection", "notes", "--json", env={"DATABASE_URL": dsn})
    assert result.code == 0, result.err
    assert result.json["summary"].startswith("Done. Embedded 2/2 rows"), result.json["summary"]


def test_every_offending_row_goes_into_offenders_jsonl(small_target, tmp_path):
    from harness.checks import offenders

    dsn, profile = small_target
    execute(dsn, "UPDATE note_vectors SET embedding = (SELECT embedding FROM note_vectors WHERE note_id = 1) "
                 "WHERE note_id <= 40")
    _, by = default_verify(dsn, profile)
    offenders.write(tmp_path / "offenders.jsonl", by.values())
    lines = offenders.read(tmp_path / "offenders.jsonl")
    shared = [line for line in lines if line["check"] == "distinct_vectors"]
    # row 1's own text is the vector's: the 39 copies are named
    assert sorted(line["key"] for line in shared) == list(range(2, 41))
    assert set(shared[0]) == {"check", "key", "collection", "tenant", "detail"} and shared[0]["collection"] == "notes"
    assert by["distinct_vectors"].as_dict()["offending_total"] == 39 and len(by["distinct_vectors"].as_dict()["offenders"]) == 10


def verify_cli(cli, dsn, profile_text, tmp_path, *args):
    profile = tmp_path / "bare.yaml"
    profile.write_text(profile_text)
    run_dir = tmp_path / "run"
    return cli("verify", "--profile", profile, "--collection", "notes", "--run-dir", run_dir, "--json", *args,
               env={"DATABASE_URL": dsn}), run_dir


def test_verify_reads_unproven_back_and_is_done_only_while_recompute_covers_it(cli, small_target, embed_server, tmp_path):
    dsn, _ = small_target
    text = PROFILE.format(model=TEST_MODEL, url=embed_server.url)
    result, _ = verify_cli(cli, dsn, text, tmp_path)
    data = result.json
    assert result.code == 0 and data["ok"], data["reason"]
    outcomes = {c["check"]: c["status"] for c in data["checks"]}
    assert outcomes["fresh"] == outcomes["model"] == "unproven" and outcomes["recompute"] == "passed"
    assert sorted(data["unproven_covered_by_recompute"]) == ["fresh [notes]", "model [notes]"]
    narrow, _ = verify_cli(cli, dsn, text, tmp_path, "--sample", "20")
    assert narrow.code == 1 and not narrow.json["ok"] and narrow.json["reason"].startswith("unproven:")


def test_verify_names_the_first_offending_ids_and_writes_every_row_to_offenders_jsonl(cli, small_target, embed_server,
                                                                                       tmp_path):
    from harness.checks import offenders

    dsn, _ = small_target
    execute(dsn, "UPDATE note_vectors SET embedding = (SELECT embedding FROM note_vectors WHERE note_id = 1) "
                 "WHERE note_id <= 40")
    result, run_dir = verify_cli(cli, dsn, PROFILE.format(model=TEST_MODEL, url=embed_server.url), tmp_path)
    assert result.code == 1
    (shared,) = [c for c in result.json["checks"] if c.get("check") == "distinct_vectors"]
    assert "39 offending rows; first ids: 2, 3, 4" in shared["note"]
    lines = offenders.read(run_dir / "offenders.jsonl")
    assert sorted(r["key"] for r in lines if r["check"] == "distinct_vectors") == list(range(2, 41))


def test_sample_all_recomputes_every_row_and_states_the_exact_fraction(small_target):
    dsn, profile = small_target
    execute(dsn, "UPDATE note_vectors v SET embedding = w.embedding FROM note_vectors w "
                 "WHERE (v.note_id, w.note_id) IN ((7, 8), (8, 7))")
    _, by = default_verify(dsn, profile, sample="all")
    recompute = by["recompute"]
    assert recompute.status == "failed" and recompute.metrics["exhaustive"] and recompute.metrics["sampled"] == 300
    assert "2 of 300 rows off (every row checked: exactly 0.7%)" in recompute.found


def draw_candidates(dsn, profile, size, seed):
    """The sample's candidates as ``recompute`` draws them (addresses and draw keys), with the session's keys in
    hash order over every row for comparison."""
    from harness.checks.recompute import candidates
    from harness.checks.stats import draw_key
    from psycopg import sql

    session = open_session(resolve(profile, database_url=dsn, env={}), CheckOptions(collections=("notes",)))
    session.seed = seed
    try:
        with session.read_only(None, snapshot=True) as conn:
            drawn, complete = candidates(conn, session, "notes", size)
            ordered = [r["key"] for r in conn.execute(sql.SQL("SELECT {} AS key FROM notes AS c ORDER BY 1").format(
                draw_key(session.shape)), {"seed": seed}).fetchall()]
            ids = {r["addr"]: r["id"] for r in conn.execute("SELECT tableoid::text || '/' || ctid::text AS addr, id FROM notes").fetchall()}
    finally:
        session.close()
    return [ids[addr] for addr, _ in drawn], [key for _, key in drawn], complete, ordered


def test_candidates_come_from_a_seeded_bernoulli_sample_on_a_large_table_and_every_row_is_equally_likely(bare_target):
    dsn, profile = bare_target
    execute(dsn, "ANALYZE notes")  # the planner's row count sizes the sample
    picks = [0, 0]
    for seed in range(120):
        ids, keys, complete, ordered = draw_candidates(dsn, profile, 70, seed)
        assert len(set(ids)) == 70 and not complete
        # Not the 70 smallest keys of all rows: the smallest of a sample of about 7% of them.
        assert max(keys) > ordered[69]
        picks[0] += sum(1 for i in ids if i <= 1000)
        picks[1] += sum(1 for i in ids if i > 1000)
    # The first and the second thousand rows (also the first and second half of the table's pages) are drawn
    # equally often: 8,400 picks, so a share off 0.5 by more than 0.03 would be a 5-sigma event.
    assert abs(picks[0] / sum(picks) - 0.5) < 0.03


def test_a_bernoulli_sample_that_draws_too_few_candidates_falls_back_to_every_row(bare_target, monkeypatch):
    import sys

    dsn, profile = bare_target
    execute(dsn, "ANALYZE notes")
    monkeypatch.setattr(sys.modules["harness.checks.recompute"], "_BERNOULLI_MARGIN", 0.01)  # a sample of about 0.7 rows
    ids, keys, complete, ordered = draw_candidates(dsn, profile, 70, 3)
    assert keys == ordered[:70] and not complete


def test_a_collection_smaller_than_the_candidates_it_needs_is_drawn_whole(small_target):
    dsn, profile = small_target
    execute(dsn, "ANALYZE notes")
    ids, keys, complete, ordered = draw_candidates(dsn, profile, 1246, 5)
    assert sorted(ids) == list(range(1, 301)) and keys == ordered and complete


def test_sample_all_keeps_the_rows_it_must_judge_again_in_a_file_past_a_limit_and_judges_every_one(small_target,
                                                                                                      monkeypatch):
    """--sample all over a whole table: the rows off by the strictest rule are judged again once the median is known;
    past a limit they wait in a temporary file, not in memory, and every one of them still counts."""
    from harness.checks import spill

    dsn, profile = small_target
    execute(dsn, "UPDATE note_vectors v SET embedding = w.embedding FROM note_vectors w "
                 "WHERE w.note_id = 300 AND v.note_id <= 25")
    monkeypatch.setattr(spill, "LIMIT", 4)
    spilled = []
    monkeypatch.setattr(spill.SpilledList, "close", lambda self: spilled.append((self.count, self.file is not None)))
    _, by = default_verify(dsn, profile, sample="all")
    recompute = by["recompute"]
    assert recompute.status == "failed" and "25 of 300 rows off" in recompute.found
    assert sorted(o.id for o in recompute.offenders) == list(range(1, 26))
    assert (25, True) in spilled
