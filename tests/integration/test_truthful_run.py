"""run is ok only when the database says so: a script's word, or its exit code, is never enough."""

import json

import pytest

from harness.checks.completed import from_run_dir
from harness.state import unmeasured
from harness.steps.run import DoneLine, parse_done

COLLECTION = "tenant_globex"  # 29 chunks in the demo app
CHUNKS = 29


def run_step(cli, db, profile, target_env, run_dir, *args, collection=COLLECTION):
    return cli("run", "--profile", profile, "--collection", collection, "--run-dir", run_dir, *args,
               env={**target_env, "DATABASE_URL": db.dsn})


def test_a_script_that_reports_every_row_failed_and_exits_0_fails_the_run(cli, demo_db, demo_profile, target_env, tmp_path):
    result = run_step(cli, demo_db, demo_profile, target_env, tmp_path / "run", "--json", "--command",
                      "echo 'Done. Embedded 0/300 skills. 300 failures.'; exit 0")
    assert result.code == 1, result.err
    data = result.json
    assert data["ok"] is False and data["exit_code"] == 0 and data["failed_rows"] == 300
    assert "300 failed rows reported" in data["problems"]
    assert json.loads((tmp_path / "run" / "run.json").read_text())["ok"] is False


def test_a_silent_script_that_embeds_nothing_fails_saying_how_many_rows_remain(cli, demo_db, demo_profile, target_env,
                                                                                tmp_path):
    result = run_step(cli, demo_db, demo_profile, target_env, tmp_path / "run", "--command", "true")
    assert result.code == 1
    assert f"{CHUNKS} of {CHUNKS} rows still need a vector" in result.out
    data = json.loads((tmp_path / "run" / "run.json").read_text())
    assert data["ok"] is False and data["remaining"] == CHUNKS and data["failed_rows"] is None


def test_completed_fails_on_a_run_that_left_rows_and_names_them(cli, demo_db, demo_profile, target_env, tmp_path):
    run_step(cli, demo_db, demo_profile, target_env, tmp_path / "run", "--command", "true")
    outcome = from_run_dir(tmp_path / "run", COLLECTION)
    assert not outcome.passed
    assert f"{CHUNKS} of {CHUNKS} rows still need a vector" in outcome.found
    assert outcome.metrics["remaining"] == CHUNKS


def test_completed_fails_on_reported_failures_even_when_no_row_remains(cli, embedded_db, demo_profile, target_env,
                                                                       tmp_path):
    run_step(cli, embedded_db, demo_profile, target_env, tmp_path / "run", "--command",
             "echo 'Done. Embedded 27/29 rows. 2 failures.'")
    outcome = from_run_dir(tmp_path / "run", COLLECTION)
    assert not outcome.passed and "2 failed rows reported" in outcome.found and "still need" not in outcome.found


def test_a_complete_run_is_ok_and_completed_passes(cli, demo_db, demo_profile, target_env, tmp_path):
    result = run_step(cli, demo_db, demo_profile, target_env, tmp_path / "run", "--json")
    assert result.code == 0, result.err
    assert result.json["ok"] and result.json["remaining"] == 0 and result.json["problems"] == []
    assert from_run_dir(tmp_path / "run", COLLECTION).passed


@pytest.mark.parametrize("line, expected", [
    ("Done. Embedded 0/300 skills. 300 failures.", DoneLine(0, 300, 300)),
    ("Done. Embedded 95/100 rows. 5 failures.", DoneLine(95, 100, 5)),
    ("Done. Embedded 1/1 rows. 1 failure.", DoneLine(1, 1, 1)),
    ("embedded 280 of 300 documents, 20 failed", DoneLine(280, 300, 20)),
    ("Done: 3 failed", DoneLine(None, None, 3)),
    ("Embedded 12/12 chunks", DoneLine(12, 12, None)),
    ("nothing to say", DoneLine()),
])
def test_the_done_line_is_recognised_generously(line, expected):
    assert parse_done(f"starting\n{line}\n") == expected


def test_the_last_done_line_counts():
    assert parse_done("Done. Embedded 1/2 rows. 1 failures.\nDone. Embedded 2/2 rows. 0 failures.") == DoneLine(2, 2, 0)


def test_a_profile_pattern_reads_the_targets_own_closing_line():
    pattern = r"wrote (?P<embedded>\d+) of (?P<total>\d+) vectors \((?P<failed>\d+) skipped\)"
    assert parse_done("wrote 7 of 9 vectors (2 skipped)", pattern) == DoneLine(7, 9, 2)


def test_a_profile_done_pattern_is_used_by_run(cli, demo_db, profile_variant, target_env, tmp_path):
    profile = profile_variant({"  batch_size: ${EMBED_BATCH_SIZE:-100}\n":
                               "  batch_size: ${EMBED_BATCH_SIZE:-100}\n"
                               "  done_pattern: 'wrote (?P<embedded>\\d+) of (?P<total>\\d+) \\((?P<failed>\\d+) skipped\\)'\n"})
    result = run_step(cli, demo_db, profile, target_env, tmp_path / "run", "--json", "--command", "echo 'wrote 7 of 9 (2 skipped)'")
    assert result.code == 1 and (result.json["embedded_rows"], result.json["total_rows"], result.json["failed_rows"]) == (7, 9, 2)


def test_a_done_pattern_without_named_groups_is_refused_naming_the_key(cli, profile_variant, target_env):
    profile = profile_variant({"  batch_size: ${EMBED_BATCH_SIZE:-100}\n":
                               "  batch_size: ${EMBED_BATCH_SIZE:-100}\n  done_pattern: 'Done'\n"})
    result = cli("scope", "--profile", profile, "--collection", COLLECTION, env=target_env)
    assert result.code == 2 and "backfill.done_pattern" in result.err


def _untyped_with_other_dims(db) -> None:
    """tenant_globex in an embedding column declared without a dimension, two of its vectors of 768 dimensions (what
    Django's VectorField(dimensions=None) and LangChain's table allow): selection never picks them."""
    db.execute("DROP INDEX document_embeddings_embedding_idx")
    db.execute("ALTER TABLE document_embeddings ALTER embedding TYPE vector")
    db.execute("UPDATE document_embeddings SET embedding = array_fill(0.1, ARRAY[768])::vector WHERE chunk_id IN "
               "(SELECT chunk_id FROM document_embeddings WHERE collection = %s ORDER BY chunk_id LIMIT 2)", (COLLECTION,))


def test_a_plain_engine_run_re_embeds_vectors_of_another_dimension_in_an_untyped_column(embedded_db, demo_profile,
                                                                                        target_env):
    """The run left them and said to re-embed them with --keys-from: a vector of another dimension than the model's
    (a model switched under one name, LangChain's untyped column) is needed as a missing one is."""
    from harness.backfill import BackfillOptions, run_backfill
    from harness.profile import load_profile
    from harness.settings import resolve

    _untyped_with_other_dims(embedded_db)
    env = {**target_env, "DATABASE_URL": embedded_db.dsn}
    summary = run_backfill(resolve(load_profile(demo_profile, env=env), database_url=embedded_db.dsn, env=env),
                           BackfillOptions(COLLECTION, progress=False))
    assert summary.ok, summary.stopped
    assert (summary.before.needed, summary.before.other_dims, summary.embedded) == (2, 2, 2)
    assert (summary.after.needed, summary.after.other_dims) == (0, 0)
    assert embedded_db.scalar("SELECT count(*) FROM document_embeddings WHERE vector_dims(embedding) <> 384") == 0


def test_workers_re_embed_vectors_of_another_dimension_in_an_untyped_column(cli, embedded_db, demo_profile, target_env):
    """The ranges the workers take are cut over the rows the selection embeds: these among them."""
    _untyped_with_other_dims(embedded_db)
    result = cli("backfill", "--profile", demo_profile, "--collection", COLLECTION, "--workers", "2", "--batch-size", "4",
                 "--json", env={**target_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 0 and result.json["ok"] is True, result.out + result.err
    assert (result.json["after"]["needed"], result.json["after"]["other_dims"]) == (0, 0)
    assert embedded_db.scalar("SELECT count(*) FROM document_embeddings WHERE vector_dims(embedding) <> 384") == 0


def test_every_vector_of_another_dimension_is_a_model_switch_a_run_makes_only_when_approved(embedded_db, demo_profile,
                                                                                            target_env):
    from harness.backfill import BackfillOptions, run_backfill
    from harness.errors import RefusedError
    from harness.profile import load_profile
    from harness.settings import resolve

    _untyped_with_other_dims(embedded_db)
    embedded_db.execute("UPDATE document_embeddings SET embedding = array_fill(0.1, ARRAY[768])::vector "
                        "WHERE collection = %s", (COLLECTION,))
    env = {**target_env, "DATABASE_URL": embedded_db.dsn}
    settings = resolve(load_profile(demo_profile, env=env), database_url=embedded_db.dsn, env=env)
    with pytest.raises(RefusedError, match=r"every stored vector of collection 'tenant_globex' \(29\) has another "
                                           r"dimension than the model's \(384\).*--approve-model-change"):
        run_backfill(settings, BackfillOptions(COLLECTION, progress=False))
    assert embedded_db.scalar("SELECT count(*) FROM document_embeddings WHERE vector_dims(embedding) = 768") == 29
    dry = run_backfill(settings, BackfillOptions(COLLECTION, progress=False, dry_run=True))
    assert "replacing them is a model switch" in dry.refused
    summary = run_backfill(settings, BackfillOptions(COLLECTION, progress=False, approve_model_change=True))
    assert summary.ok and summary.embedded == 29, summary.stopped


def test_scope_counts_vectors_of_another_dimension_in_an_untyped_column_as_needed(cli, embedded_db, demo_profile,
                                                                                 target_env):
    _untyped_with_other_dims(embedded_db)
    result = cli("scope", "--profile", demo_profile, "--collection", COLLECTION, "--json",
                 env={**target_env, "DATABASE_URL": embedded_db.dsn})
    counts = result.json["counts"]
    assert (counts["needed"], counts["other_dims"]) == (2, 2), result.out


def test_a_run_of_the_apps_command_leaving_vectors_of_another_dimension_is_not_ok(cli, embedded_db, demo_profile,
                                                                                  target_env, tmp_path):
    _untyped_with_other_dims(embedded_db)  # the demo profile says provider.dimensions: 384
    # scope refuses to run; an owner's override runs the command anyway, and the closing count must still see them
    result = run_step(cli, embedded_db, demo_profile, target_env, tmp_path / "run", "--json", "--command", "true",
                      "--override", "the owner runs it to see what the count says")
    assert result.code == 1, result.err
    assert ("2 of 29 rows still need a vector (2 of them hold a vector of another dimension than the model's)"
            in result.json["problems"])
    assert result.json["remaining"] == 2


def _zero_vectors(db, n=3):
    """An application's failed embeddings written as zeros (``[0.0] * dims`` in an except branch): rows that hold a
    vector which embeds nothing, none missing, stale or of another model by any count."""
    db.execute("UPDATE document_embeddings SET embedding = array_fill(0, ARRAY[384])::vector WHERE chunk_id IN "
               "(SELECT chunk_id FROM document_embeddings WHERE collection = %s ORDER BY chunk_id LIMIT %s)",
               (COLLECTION, n))


def test_a_plain_engine_run_re_embeds_all_zero_vectors(cli, embedded_db, demo_profile, target_env):
    """backfill said ok, 0 of 29 rows needed, over 3 zero vectors that sane_vectors then failed; then it said they
    remained and sent the user to --keys-from. A vector that embeds nothing is needed as a missing one is."""
    _zero_vectors(embedded_db)
    result = cli("backfill", "--profile", demo_profile, "--collection", COLLECTION, "--json",
                 env={**target_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 0 and result.json["ok"] is True, result.out + result.err
    assert (result.json["before"]["needed"], result.json["before"]["zero"]) == (3, 3)
    assert (result.json["after"]["needed"], result.json["after"]["zero"]) == (0, 0)
    assert embedded_db.scalar("SELECT count(*) FROM document_embeddings WHERE vector_norm(embedding) = 0") == 0


def test_a_run_of_the_apps_command_leaving_all_zero_vectors_is_not_ok(cli, embedded_db, demo_profile, target_env,
                                                                      tmp_path):
    _zero_vectors(embedded_db)
    result = run_step(cli, embedded_db, demo_profile, target_env, tmp_path / "run", "--json", "--command",
                      "echo 'Done. Embedded 29/29 rows. 0 failures.'")
    assert result.code == 1, result.out
    assert "3 of 29 rows still need a vector (3 of them hold an all-zero vector)" in result.json["problems"]
    assert result.json["remaining"] == 3


# Counted as sane_vectors counts them (``Shape.degenerate``): not all zeros, yet the distance to itself is NaN.
DEGENERATE = ("SELECT count(*) FROM document_embeddings WHERE (embedding <=> embedding) = 'NaN'::float8 "
              "AND vector_norm(embedding) > 0")


def _degenerate_vectors(db, factor, n=2):
    """The model's vectors of the collection's first ``n`` chunks scaled by ``factor``: not all zeros and the model's
    direction, yet their squared length overflows (1e20) or underflows (1e-25) the single-precision sums of
    pgvector's distances, so the application's search gives them NaN whatever the query."""
    db.execute("UPDATE document_embeddings SET embedding = (SELECT array_agg(x * %s::float8 ORDER BY i)::vector FROM "
               "unnest(embedding::real[]) WITH ORDINALITY AS u(x, i)) WHERE chunk_id IN (SELECT chunk_id FROM "
               "document_embeddings WHERE collection = %s ORDER BY chunk_id LIMIT %s)", (factor, COLLECTION, n))
    assert db.scalar(DEGENERATE) == n


@pytest.mark.parametrize("factor", ["1e20", "1e-25"])
def test_a_plain_engine_run_re_embeds_vectors_whose_length_pgvectors_distances_cannot_hold(cli, embedded_db,
                                                                                           demo_profile, target_env,
                                                                                           factor):
    """backfill said ok, 0 of 29 rows needed, over 2 such vectors that sane_vectors then failed (the engine refuses
    to write one, yet counted a stored one current). A vector no distance can use embeds nothing: it is needed."""
    _degenerate_vectors(embedded_db, factor)
    result = cli("backfill", "--profile", demo_profile, "--collection", COLLECTION, "--json",
                 env={**target_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 0 and result.json["ok"] is True, result.out + result.err
    before, after = result.json["before"], result.json["after"]
    assert (before["needed"], before["degenerate"], before["zero"], result.json["embedded"]) == (2, 2, 0, 2)
    assert (after["needed"], after["degenerate"]) == (0, 0)
    assert embedded_db.scalar(DEGENERATE) == 0


def test_workers_re_embed_vectors_whose_length_pgvectors_distances_cannot_hold(cli, embedded_db, demo_profile,
                                                                               target_env):
    """The ranges the workers take are cut over the rows the selection embeds: these among them."""
    _degenerate_vectors(embedded_db, "1e20", 3)
    result = cli("backfill", "--profile", demo_profile, "--collection", COLLECTION, "--workers", "2", "--batch-size", "2",
                 "--json", env={**target_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 0 and result.json["ok"] is True, result.out + result.err
    assert (result.json["embedded"], result.json["after"]["needed"], result.json["after"]["degenerate"]) == (3, 0, 0)
    assert embedded_db.scalar(DEGENERATE) == 0


@pytest.mark.parametrize("keyed", [True, False], ids=["unique-key", "rows-per-chunk"])
def test_scope_counts_vectors_whose_length_pgvectors_distances_cannot_hold_as_needed(cli, embedded_db, demo_profile,
                                                                                    target_env, keyed):
    """Counted by join row under a unique key, by chunk (its rows classified together) without one."""
    _degenerate_vectors(embedded_db, "1e-25")
    if not keyed:
        embedded_db.execute("ALTER TABLE document_embeddings DROP CONSTRAINT document_embeddings_pkey")
    result = cli("scope", "--profile", demo_profile, "--collection", COLLECTION, "--json",
                 env={**target_env, "DATABASE_URL": embedded_db.dsn})
    counts = result.json["counts"]
    assert (counts["needed"], counts["degenerate"], counts["zero"]) == (2, 2, 0), result.out


def test_a_run_of_the_apps_command_leaving_vectors_pgvectors_distances_cannot_use_is_not_ok(cli, embedded_db,
                                                                                            demo_profile, target_env,
                                                                                            tmp_path):
    _degenerate_vectors(embedded_db, "1e20")
    result = run_step(cli, embedded_db, demo_profile, target_env, tmp_path / "run", "--json", "--command",
                      "echo 'Done. Embedded 29/29 rows. 0 failures.'")
    assert result.code == 1, result.out
    assert ("2 of 29 rows still need a vector (2 of them hold a vector whose length pgvector's distances cannot "
            "compute with)" in result.json["problems"]), result.json["problems"]
    assert result.json["remaining"] == 2


def test_into_never_takes_over_a_vector_pgvectors_distances_cannot_use(cli, embedded_db, demo_profile, target_env):
    """A new collection reuses the live one's vectors of the same text and model, but not one that embeds nothing."""
    _degenerate_vectors(embedded_db, "1e-25")
    result = cli("backfill", "--profile", demo_profile, "--collection", COLLECTION, "--into", "tenant_globex_v2",
                 "--json", env={**target_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 0 and result.json["ok"] is True, result.out + result.err
    assert (result.json["reused"], result.json["embedded"]) == (27, 2), result.out
    assert result.json["after"]["degenerate"] == 0
    assert embedded_db.scalar(DEGENERATE) == 2  # the live collection's, left as they were


def _second_rows(db, n=2):
    """The embedding key made not unique, and the collection's first ``n`` chunks given a second, equal row each."""
    db.execute("ALTER TABLE document_embeddings DROP CONSTRAINT document_embeddings_pkey")
    db.execute("INSERT INTO document_embeddings SELECT * FROM document_embeddings WHERE chunk_id IN "
               "(SELECT id FROM document_chunks WHERE collection = %s ORDER BY id LIMIT %s)", (COLLECTION, n))


def test_a_plain_run_replaces_a_chunks_duplicate_embedding_rows_with_one(cli, embedded_db, demo_profile, target_env):
    """An embedding table without a unique key, two chunks with a second row each: backfill said ok over them ('31
    chunks, 31 embedded, 0 needed' of a 29-chunk collection), then said not ok and sent the user to --keys-from. A
    chunk holding two rows is needed: the run replaces its rows by one."""
    _second_rows(embedded_db)
    result = cli("backfill", "--profile", demo_profile, "--collection", COLLECTION, "--json",
                 env={**target_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 0 and result.json["ok"] is True, result.out + result.err
    assert (result.json["before"]["needed"], result.json["before"]["duplicates"], result.json["embedded"]) == (2, 2, 2)
    assert (result.json["after"]["needed"], result.json["after"]["duplicates"]) == (0, 0)
    assert embedded_db.scalar("SELECT count(*) - count(DISTINCT chunk_id) FROM document_embeddings") == 0


def test_workers_replace_a_chunks_duplicate_embedding_rows_with_one(cli, embedded_db, demo_profile, target_env):
    """The ranges the workers take are cut over the chunks holding a second row too."""
    _second_rows(embedded_db, 3)
    result = cli("backfill", "--profile", demo_profile, "--collection", COLLECTION, "--workers", "2", "--batch-size", "2",
                 "--json", env={**target_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 0 and result.json["ok"] is True, result.out + result.err
    assert (result.json["embedded"], result.json["after"]["duplicates"]) == (3, 0)
    assert embedded_db.scalar("SELECT count(*) - count(DISTINCT chunk_id) FROM document_embeddings") == 0


def test_the_chunks_holding_a_second_row_are_found_by_the_page_query_not_sent_to_it(embedded_db, demo_profile,
                                                                                      target_env):
    """Their keys went into every page query as one array, read whole into Python first: a table whose every chunk
    held two rows (an application appending on each import) made each page carry every key (100,000 of them: 21 s
    for what 10,000 did in 3 s). The page query counts a chunk's rows itself; what it is sent does not grow."""
    from harness.backfill.selection import iter_batches, measured_needs
    from harness.db import connect
    from harness.profile import load_profile
    from harness.target import Target

    _second_rows(embedded_db, 5)
    profile = load_profile(demo_profile, env={**target_env, "DATABASE_URL": embedded_db.dsn})
    target = Target(profile)
    with connect(embedded_db.dsn) as conn:
        needs = measured_needs(None, duplicates=True)
        assert all(not isinstance(v, (list, tuple)) for v in needs.params().values()), needs.params()
        pages = list(iter_batches(conn, target, COLLECTION, profile.provider.model, 2, needs=needs))
    assert [key for page in pages for key in page.keys] == embedded_db.scalar(
        "SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM document_chunks WHERE collection = %s ORDER BY id LIMIT 5) f",
        (COLLECTION,))


def test_a_run_of_the_apps_command_leaving_duplicate_embedding_rows_is_not_ok(cli, embedded_db, demo_profile,
                                                                              target_env, tmp_path):
    _second_rows(embedded_db)
    result = run_step(cli, embedded_db, demo_profile, target_env, tmp_path / "run", "--json", "--command",
                      "echo 'Done. Embedded 29/29 rows. 0 failures.'")
    assert result.code == 1, result.out
    assert ("2 of 29 rows still need a vector (their embedding rows include 2 beyond one per chunk)"
            in result.json["problems"]), result.json["problems"]


def test_the_counts_say_a_chunk_with_two_embedding_rows_is_one_chunk(cli, embedded_db, demo_profile, target_env):
    """Without a unique key on the embedding key the counts classified join rows: scope and plan said 31 chunks, 31
    embedded of the 29-chunk collection. Each chunk is counted once; a chunk one of whose rows is stale is needed."""
    _second_rows(embedded_db)
    embedded_db.execute("UPDATE document_embeddings SET input_hash = 'stale' WHERE ctid = (SELECT min(ctid) FROM "
                        "document_embeddings WHERE chunk_id = (SELECT min(id) FROM document_chunks WHERE collection = %s))",
                        (COLLECTION,))
    result = cli("backfill", "--profile", demo_profile, "--collection", COLLECTION, "--dry-run", "--json",
                 env={**target_env, "DATABASE_URL": embedded_db.dsn})
    before = result.json["before"]
    assert (before["chunks"], before["embedded"], before["needed"], before["stale"], before["duplicates"]) == (
        CHUNKS, CHUNKS, 2, 1, 2), before


def test_backfill_keys_from_replaces_a_chunks_duplicate_rows_with_one(cli, embedded_db, demo_profile, target_env,
                                                                      tmp_path):
    """The chunks verify's coverage lists for their duplicate rows, re-embedded by key: each keeps one row."""
    _second_rows(embedded_db)
    keys = tmp_path / "keys.txt"
    keys.write_text("\n".join(str(k) for k in [embedded_db.scalar(
        "SELECT array_agg(chunk_id) FROM (SELECT chunk_id FROM document_embeddings GROUP BY 1 HAVING count(*) > 1) d")][0]))
    result = cli("backfill", "--profile", demo_profile, "--collection", COLLECTION, "--keys-from", keys, "--json",
                 env={**target_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 0 and result.json["after"]["duplicates"] == 0, result.out + result.err
    assert embedded_db.scalar("SELECT count(*) - count(DISTINCT chunk_id) FROM document_embeddings") == 0


def test_a_chunk_with_a_second_embedding_row_without_a_vector_is_counted_as_the_run_selects_it(
        cli, embedded_db, demo_profile, target_env):
    """Without a unique key on the embedding key, a chunk with a vector in one row and none in a second: the run
    selects it (its second row needs one), so the counts say it is needed; they said 0 needed, and the run embedded 1."""
    _second_rows(embedded_db, 1)
    embedded_db.execute("ALTER TABLE document_embeddings ALTER COLUMN embedding DROP NOT NULL")
    embedded_db.execute("UPDATE document_embeddings SET embedding = NULL WHERE ctid = (SELECT min(ctid) FROM "
                        "document_embeddings WHERE chunk_id = (SELECT min(id) FROM document_chunks WHERE collection = %s))",
                        (COLLECTION,))
    result = cli("backfill", "--profile", demo_profile, "--collection", COLLECTION, "--json",
                 env={**target_env, "DATABASE_URL": embedded_db.dsn})
    before = result.json["before"]
    assert (before["chunks"], before["needed"], before["duplicates"]) == (CHUNKS, 1, 1), before
    assert result.json["embedded"] == before["needed"], result.json


def test_a_chunk_without_text_holding_two_embedding_rows_does_not_keep_every_run_from_ok(cli, embedded_db, demo_profile,
                                                                                         target_env):
    """No run embeds a chunk without text (--keys-from neither), so its second row is none a run could replace: every
    run said not ok over it, sending the user to --keys-from, which skipped the chunk. Verify's checks judge its rows."""
    _second_rows(embedded_db, 1)
    embedded_db.execute("UPDATE document_chunks SET content = '' WHERE id = "
                        "(SELECT min(id) FROM document_chunks WHERE collection = %s)", (COLLECTION,))
    result = cli("backfill", "--profile", demo_profile, "--collection", COLLECTION, "--json",
                 env={**target_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 0 and result.json["ok"] is True, result.out + result.err
    assert (result.json["after"]["no_text"], result.json["after"]["duplicates"]) == (1, 0)


TABLES = """CREATE TABLE notes (id int PRIMARY KEY, body text{inline});
CREATE TABLE emb (note_id int PRIMARY KEY, embedding vector(384), model text);
INSERT INTO notes SELECT g, 'note ' || g || ' about tea' FROM generate_series(1, 20) g;
"""
NOTES = TABLES + """CREATE FUNCTION every_fifth_lost() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
  IF NEW.{key} % 5 = 0 THEN {lose} END IF; RETURN NEW; END $$;
CREATE TRIGGER lose BEFORE {event} ON {table} FOR EACH ROW EXECUTE FUNCTION every_fifth_lost();
"""
NOTES_PROFILE = ("name: notes\nprovider: {{model: hash-embed:384, dimensions: 384}}\n"
                 "chunks: {{table: notes, id: id, text: body, collection_name: notes}}\nembeddings: {}\n")
WRITES = {  # how the engine writes each shape, and an application trigger that loses every fifth of its writes
    "inline UPDATE": (", embedding vector(384)", "id", "NEW.embedding := NULL;", "UPDATE", "notes",
                      "{vector: embedding}", ""),
    "COPY of new rows": ("", "note_id", "RETURN NULL;", "INSERT", "emb",
                         "{table: emb, key: note_id, vector: embedding, model: model}", ""),
    "replace of stored rows": ("", "note_id", "RETURN NULL;", "INSERT", "emb",
                               "{table: emb, key: note_id, vector: embedding, model: model}",
                               "INSERT INTO emb SELECT id, NULL, 'old-model' FROM notes WHERE id % 2 = 1"),
    # a trigger that writes another vector than the one sent (a constant; as one that keeps the old vector would)
    "inline UPDATE rewritten": (", embedding vector(384)", "id", "NEW.embedding := array_fill(0.5, ARRAY[384]);",
                                "UPDATE", "notes", "{vector: embedding}", ""),
    "COPY of new rows rewritten": ("", "note_id", "NEW.embedding := array_fill(0.5, ARRAY[384]);", "INSERT", "emb",
                                   "{table: emb, key: note_id, vector: embedding, model: model}", ""),
    "replace of stored rows rewritten": ("", "note_id", "NEW.embedding := array_fill(0.5, ARRAY[384]);", "INSERT", "emb",
                                         "{table: emb, key: note_id, vector: embedding, model: model}",
                                         "ALTER TABLE emb DISABLE TRIGGER lose; INSERT INTO emb SELECT id, NULL, "
                                         "'old-model' FROM notes WHERE id % 2 = 1; ALTER TABLE emb ENABLE TRIGGER lose"),
}


# A trigger that normalises every vector (``l2_normalize``) stores the model's unit-length vector again, rounded: its
# last bits differ from the ones sent, which is the same vector under every distance, not a replaced one.
NORMALISING = TABLES + """UPDATE notes SET body = 'note number ' || id;  -- texts whose vectors it rounds differently
CREATE FUNCTION normalise() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
  NEW.embedding := l2_normalize(NEW.embedding); RETURN NEW; END $$;
CREATE TRIGGER normalise BEFORE {event} ON {table} FOR EACH ROW EXECUTE FUNCTION normalise();
"""


def _backfilled_beside(trigger: str, path: str, distance: str, cli, db, server, tmp_path):
    """``backfill --all`` of the notes on one of ``WRITES``' paths, beside ``trigger`` (a template of TABLES and a
    trigger), under ``distance``."""
    inline, _key, _lose, event, table, embeddings, before = WRITES[path]
    db.execute(trigger.format(inline=inline, event=event, table=table) + before)
    profile = tmp_path / "notes.yaml"
    profile.write_text(NOTES_PROFILE.format(embeddings) + f"distance: {distance}\n")
    return cli("backfill", "--profile", profile, "--collection", "notes", "--all", "--json",
               env={"DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url})


@pytest.mark.parametrize("distance", ["cosine", "l2"])
@pytest.mark.parametrize("path", [path for path in WRITES if not path.endswith("rewritten")])
def test_a_vector_a_trigger_normalises_is_written_not_a_failed_row(cli, empty_db, embed_server, tmp_path, path,
                                                                   distance):
    ran = _backfilled_beside(NORMALISING, path, distance, cli, empty_db, embed_server, tmp_path)
    data = ran.json
    assert ran.code == 0 and data["ok"] is True, ran.out
    assert (data["embedded"], data["failed"], data["after"]["embedded"]) == (20, 0, 20), ran.out


# A trigger that stores the vector at half precision (halfvec's 11 bits): not single precision's rounding, another
# vector (2e-4 of direction per unit of length), under cosine as under l2. Cosine distance, summed by pgvector in single
# precision, measured 0 between the two: its 1e-6 of cosine distance was 1.4e-3 of direction. The texts repeat a word a
# different number of times each: hash-embed's components then take several magnitudes, which half precision rounds
# apart (notes 1, 2 and 13 excepted: their few magnitudes round alike, 3e-8 of direction, the length alone changed).
HALVING = NORMALISING.replace("l2_normalize(NEW.embedding)", "NEW.embedding::halfvec::vector").replace(
    "'note number ' || id", "repeat('tea ', id + 2) || 'note number ' || id")


@pytest.mark.parametrize("distance, kept", [("cosine", {1, 2, 13}), ("l2", set())])
@pytest.mark.parametrize("path", [path for path in WRITES if not path.endswith("rewritten")])
def test_a_vector_a_trigger_rounds_to_half_precision_is_a_failed_row_under_every_distance(
        cli, empty_db, embed_server, tmp_path, path, distance, kept):
    ran = _backfilled_beside(HALVING, path, distance, cli, empty_db, embed_server, tmp_path)
    data = ran.json
    assert ran.code == 1 and data["ok"] is False and data["embedded"] == len(kept), ran.out
    assert {int(f["key"]) for f in data["failures"]} == set(range(1, 21)) - kept, data["failures"]
    assert "not the one sent" in data["failures"][0]["reason"], data["failures"][0]


# A column of no declared dimension (Django's VectorField(dimensions=None)) and a trigger that stores a vector of
# another dimension (it pads the model's one): pgvector's distances refuse vectors of two dimensions.
PADDING = TABLES.replace("vector(384)", "vector") + """UPDATE notes SET body = 'note number ' || id;
CREATE FUNCTION pad() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
  IF NEW.embedding IS NOT NULL THEN NEW.embedding := (NEW.embedding::real[] || ARRAY[0::real])::vector; END IF;
  RETURN NEW; END $$;
CREATE TRIGGER pad BEFORE {event} ON {table} FOR EACH ROW EXECUTE FUNCTION pad();
"""


@pytest.mark.parametrize("path", [path for path in WRITES if not path.endswith("rewritten")])
def test_a_vector_a_trigger_stores_at_another_dimension_is_a_failed_row_not_a_failed_batch(
        cli, empty_db, embed_server, tmp_path, path):
    """The write's check of the vector stored (``Target.holds_sent``) measured its distance to the one sent, which
    pgvector refuses: 'writing a batch of 20 vectors failed: different vector dimensions 385 and 384'."""
    inline, _key, _lose, event, table, embeddings, before = WRITES[path]
    empty_db.execute(PADDING.format(inline=inline.replace("vector(384)", "vector"), event=event, table=table) + before)
    profile = tmp_path / "notes.yaml"
    profile.write_text(NOTES_PROFILE.format(embeddings))
    ran = cli("backfill", "--profile", profile, "--collection", "notes", "--all", "--json",
              env={"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url})
    data = ran.json
    assert ran.code == 1 and data["ok"] is False and "error" not in data, ran.out
    assert (data["embedded"], data["failed"]) == (0, 20), ran.out
    assert "not the one sent" in data["failures"][0]["reason"], data["failures"][0]


@pytest.mark.parametrize("path", list(WRITES))
def test_a_write_the_database_discards_is_a_failed_row_never_counted_embedded(cli, empty_db, embed_server, tmp_path,
                                                                              path):
    """An application trigger that drops the write (RETURN NULL), clears the vector or writes another one: the engine
    counted the rows it sent ('Embedded 20/20 rows. 0 failures.', ok) while the database kept 16 of them."""
    inline, key, lose, event, table, embeddings, before = WRITES[path]
    empty_db.execute(NOTES.format(inline=inline, key=key, lose=lose, event=event, table=table) + before)
    profile = tmp_path / "notes.yaml"
    profile.write_text(NOTES_PROFILE.format(embeddings))
    ran = cli("backfill", "--profile", profile, "--collection", "notes", "--all", "--json",
              env={"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url})
    data = ran.json
    held = 20 if path.endswith("rewritten") else 16  # a rewritten row holds a vector: not the one the model made
    assert ran.code == 1 and data["ok"] is False and data["after"]["embedded"] == held, ran.out
    assert (data["embedded"], data["failed"]) == (16, 4), ran.out
    assert sorted(int(f["key"]) for f in data["failures"]) == [5, 10, 15, 20], data["failures"]
    assert "kept no vector" in data["failures"][0]["reason"], data["failures"][0]


def test_a_command_writing_vectors_of_another_dimension_is_not_ok_where_the_profile_names_no_dimension(
        cli, embedded_db, profile_variant, target_env, tmp_path):
    """An untyped column (Django's VectorField(dimensions=None)) and a profile that leaves the dimension to the model:
    the closing count measured no dimension at all, and a command writing another model's 768-dimension vectors was ok."""
    _untyped_with_other_dims(embedded_db)
    embedded_db.execute("UPDATE document_embeddings SET embedding = array_fill(0.1, ARRAY[384])::vector "
                        "WHERE vector_dims(embedding) <> 384")
    profile = profile_variant({"  dimensions: ${EMBED_DIMENSIONS:-384}\n": ""})
    script = tmp_path / "backfill.py"
    script.write_text("import os, psycopg\npsycopg.connect(os.environ['DATABASE_URL'], autocommit=True).execute("
                      "\"UPDATE document_embeddings SET embedding = array_fill(0.1, ARRAY[768])::vector WHERE chunk_id IN "
                      "(SELECT chunk_id FROM document_embeddings WHERE collection = 'tenant_globex' ORDER BY 1 LIMIT 2)\")\n"
                      "print('Done. Embedded 29/29 rows. 0 failures.')\n")
    import sys

    result = run_step(cli, embedded_db, profile, target_env, tmp_path / "run", "--json", "--command",
                      f"{sys.executable} {script}")
    assert result.code == 1, result.out + result.err
    assert ("2 of 29 rows still need a vector (2 of them hold a vector of another dimension than the model's)"
            in result.json["problems"]), result.json["problems"]


def test_a_run_into_a_new_collection_that_its_command_never_filled_is_not_ok(cli, embedded_db, demo_profile,
                                                                             target_env, tmp_path):
    """run --into NEW counts NEW: a command given {into} that ignored it and printed its success left NEW without a
    chunk, and '0 of 0 rows still needed' was ok."""
    result = run_step(cli, embedded_db, demo_profile, target_env, tmp_path / "run", "--json", "--into",
                      "tenant_globex_v2", "--command", "echo 'Done. Embedded 29/29 rows. 0 failures.' {into}")
    assert result.code == 1, result.out + result.err
    assert result.json["problems"] == ["tenant_globex_v2 holds no chunk after the run: nothing of it was backfilled"]
    assert not from_run_dir(tmp_path / "run", "tenant_globex_v2").passed


def test_a_command_that_deletes_the_collections_chunks_is_not_ok(cli, embedded_db, demo_profile, target_env, tmp_path):
    """A re-ingest script deleted the collection's chunks, found nothing to insert and exited 0: no row needed."""
    delete = ("import os, psycopg; c = psycopg.connect(os.environ['DATABASE_URL'], autocommit=True); "
              "c.execute(\"DELETE FROM document_chunks WHERE collection = 'tenant_globex'\")")
    script = tmp_path / "backfill.py"
    script.write_text(delete + "\n")
    import sys

    result = run_step(cli, embedded_db, demo_profile, target_env, tmp_path / "run", "--json", "--command",
                      f"{sys.executable} {script}")
    assert result.code == 1, result.out + result.err
    assert result.json["problems"] == ["tenant_globex holds no chunk after the run: nothing of it was backfilled"]


def test_a_command_that_deletes_the_chunks_it_did_not_embed_is_not_ok(cli, embedded_db, demo_profile, target_env,
                                                                     tmp_path):
    """A command that gives up on the chunks it cannot embed by deleting them (or filing them where chunks.filter
    leaves them out) left every chunk still there embedded: '0 of 24 rows still needed', ok, over 5 chunks gone."""
    embedded_db.execute("DELETE FROM document_embeddings WHERE chunk_id IN (SELECT id FROM document_chunks "
                        "WHERE collection = 'tenant_globex' ORDER BY id LIMIT 5)")
    give_up = ("import os, psycopg; c = psycopg.connect(os.environ['DATABASE_URL'], autocommit=True); "
               "c.execute(\"DELETE FROM document_chunks c WHERE collection = 'tenant_globex' AND NOT EXISTS "
               "(SELECT 1 FROM document_embeddings e WHERE e.chunk_id = c.id)\"); print('Done. Embedded 24/29 rows.')")
    script = tmp_path / "backfill.py"
    script.write_text(give_up + "\n")
    import sys

    result = run_step(cli, embedded_db, demo_profile, target_env, tmp_path / "run", "--json", "--command",
                      f"{sys.executable} {script}")
    assert result.code == 1, result.out + result.err
    assert result.json["problems"] == ["tenant_globex holds 5 fewer chunks after the run than before (29 -> 24): "
                                       "chunks left the collection instead of getting a vector (deleted, or moved "
                                       "where chunks.filter leaves them out); if fewer chunks is what was meant "
                                       "(a re-chunking into larger pieces, deletions on purpose meanwhile), run "
                                       "again: the next run is measured from the chunks now there"], result.out
    assert not from_run_dir(tmp_path / "run", COLLECTION).passed


def test_where_no_dimension_is_named_and_no_provider_answers_other_dimensions_are_unproven(
        cli, embedded_db, profile_variant, target_env, tmp_path):
    _untyped_with_other_dims(embedded_db)
    profile = profile_variant({"  dimensions: ${EMBED_DIMENSIONS:-384}\n": ""})
    result = run_step(cli, embedded_db, profile, {**target_env, "OLLAMA_HOST": "http://127.0.0.1:9"},
                      tmp_path / "run", "--json", "--command", "true", "--override", "the owner checks the count")
    assert result.code == 1, result.out + result.err
    assert any(p.startswith("rows still needed unproven: vectors of another dimension unmeasured: the column declares "
                            "none, the profile names no provider.dimensions") for p in result.json["problems"]), \
        result.json["problems"]


def test_scope_into_a_new_collection_is_no_model_switch_where_every_stored_vector_has_another_dimension(
        cli, embedded_db, demo_profile, target_env):
    """What the dimension switch's refusal asks for (--into NEW: fill a new collection, verify, swap) was refused by it:
    scope measured the live collection's vectors, which --into leaves untouched, as the ones it would replace."""
    _untyped_with_other_dims(embedded_db)
    embedded_db.execute("UPDATE document_embeddings SET embedding = array_fill(0.1, ARRAY[768])::vector "
                        "WHERE collection = %s", (COLLECTION,))
    result = cli("scope", "--profile", demo_profile, "--collection", COLLECTION, "--into", "tenant_globex_v2",
                 "--engine", "--json", env={**target_env, "DATABASE_URL": embedded_db.dsn})
    check = next(c for c in result.json["checks"] if c["check"] == "dimensions agree")
    assert check["status"] == "passed", check
    assert result.code == 0 and result.json["counts"]["needed"] == CHUNKS, result.out


def test_a_vector_of_another_dimension_on_a_chunk_without_text_is_no_row_still_needed(cli, embedded_db, demo_profile,
                                                                                     target_env, tmp_path):
    """No run embeds a chunk without a text (its all-zero vector or duplicate rows are not needed either): its vector of
    another dimension left run not ok after every run ('1 vectors of another dimension than the model's remain')."""
    embedded_db.execute("DROP INDEX document_embeddings_embedding_idx")
    embedded_db.execute("ALTER TABLE document_embeddings ALTER embedding TYPE vector")
    first = embedded_db.scalar("SELECT min(chunk_id) FROM document_embeddings WHERE collection = %s", (COLLECTION,))
    embedded_db.execute("UPDATE document_chunks SET content = '' WHERE id = %s", (first,))
    embedded_db.execute("UPDATE document_embeddings SET embedding = array_fill(0.1, ARRAY[768])::vector "
                        "WHERE chunk_id = %s", (first,))
    result = run_step(cli, embedded_db, demo_profile, target_env, tmp_path / "run", "--json", "--command", "true",
                      "--override", "the owner runs it to see what the count says")
    assert result.code == 0 and result.json["problems"] == [], result.out + result.err
    assert (result.json["counts_after"]["needed"], result.json["counts_after"]["other_dims"]) == (0, 0)


def test_run_of_the_apps_command_is_refused_as_a_model_switch_where_only_the_model_names_the_dimension(
        cli, embedded_db, profile_variant, target_env, tmp_path):
    """An untyped column whose every vector has 768 dimensions, a 384 model, a profile naming no dimension: the gate
    (which asks no provider for its checks) knew no dimension to compare, so the app's command went ahead and replaced
    every vector in place, where scope and the engine refuse the switch."""
    _untyped_with_other_dims(embedded_db)
    embedded_db.execute("UPDATE document_embeddings SET embedding = array_fill(0.1, ARRAY[768])::vector "
                        "WHERE collection = %s", (COLLECTION,))
    profile = profile_variant({"  dimensions: ${EMBED_DIMENSIONS:-384}\n": ""})
    result = run_step(cli, embedded_db, profile, target_env, tmp_path / "run", "--command", f"touch {tmp_path / 'ran'}")
    assert result.code == 2, result.out + result.err
    assert "replacing them is a model switch" in result.err and not (tmp_path / "run").exists()
    assert not (tmp_path / "ran").exists()


REINGEST = """
import os, psycopg
c = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
c.execute(\"\"\"
WITH docs AS (
    INSERT INTO documents (collection, tenant_id, title, url, body)
    SELECT collection, tenant_id, title, url || '#again', body FROM documents WHERE collection = 'tenant_globex'
    RETURNING id, url),
chunks AS (
    INSERT INTO document_chunks (document_id, collection, tenant_id, chunk_index, content, title, url)
    SELECT d.id, c.collection, c.tenant_id, c.chunk_index, c.content, c.title, c.url
    FROM document_chunks c JOIN documents o ON o.id = c.document_id JOIN docs d ON d.url = o.url || '#again'
    RETURNING id, document_id, chunk_index)
INSERT INTO document_embeddings (chunk_id, collection, tenant_id, embedding, model_name, input_hash)
SELECT n.id, e.collection, e.tenant_id, e.embedding, e.model_name, e.input_hash
FROM chunks n JOIN docs d ON d.id = n.document_id JOIN documents o ON o.url || '#again' = d.url
JOIN document_chunks c ON c.document_id = o.id AND c.chunk_index = n.chunk_index
JOIN document_embeddings e ON e.chunk_id = c.id
\"\"\")
print("Done. Embedded 29/29 rows. 0 failures.")
"""


def test_a_command_that_inserts_the_collections_texts_again_is_not_ok(cli, embedded_db, demo_profile, target_env,
                                                                      tmp_path):
    """An ingest command drafted as the backfill (Recallr's `ingest`) inserted every document and chunk again with
    their vectors: no row was needed after it, and the run was ok over a collection holding every text twice."""
    import sys

    script = tmp_path / "ingest.py"
    script.write_text(REINGEST)
    refused = run_step(cli, embedded_db, demo_profile, target_env, tmp_path / "refused", "--json", "--command",
                       f"{sys.executable} {script}")
    assert refused.code == 2 and "command backfills in place: it only adds rows" in refused.json["error"], refused.out
    # Gone ahead all the same (its SQL said nothing, or someone approved): the database says what it did.
    result = run_step(cli, embedded_db, demo_profile, target_env, tmp_path / "run", "--json", "--command",
                      f"{sys.executable} {script}", "--override", "the ingest's copies are the test")
    assert result.code == 1, result.out + result.err
    assert result.json["counts_after"]["chunks"] == 2 * CHUNKS and result.json["remaining"] == 0, result.json
    assert result.json["problems"] == [
        f"the run added {CHUNKS} chunks to tenant_globex ({CHUNKS} -> {2 * CHUNKS}), {CHUNKS} of them a copy of a text "
        "it already held: the command inserted texts again instead of embedding the chunks in place (an ingest, not a "
        "backfill); delete the copies, and name a command that updates the vectors as backfill.command"], result.json
    assert not from_run_dir(tmp_path / "run", COLLECTION).passed


def test_a_command_that_adds_new_texts_beside_the_collection_is_ok(cli, embedded_db, demo_profile, target_env,
                                                                   tmp_path):
    """A corpus import adds chunks with texts of their own: the collection grew, no text was inserted twice."""
    import sys

    script = tmp_path / "ingest.py"
    script.write_text(REINGEST.replace("c.content, c.title", "c.content || ' (new edition)', c.title")
                      .replace("e.embedding, e.model_name, e.input_hash",
                               "e.embedding, e.model_name, encode(sha256(convert_to(c.content || ' (new edition)', "
                               "'UTF8')), 'hex')"))
    result = run_step(cli, embedded_db, demo_profile, target_env, tmp_path / "run", "--json", "--command",
                      f"{sys.executable} {script}", "--override", "an import of new texts is the test")
    assert result.json["counts_after"]["chunks"] == 2 * CHUNKS, result.json
    assert not any("copy of a text" in p for p in result.json["problems"]), result.json


def _second_model_wrote_the_hash(db) -> int:
    """A second model's vector on the same rows (``embedding_v2``) and the one input hash: a chunk's text edited, the
    other model's sync re-embeds ``embedding_v2`` and writes the new text's hash, so ``embedding`` of the old text
    looks current to every hash count. Returns the chunk edited."""
    db.execute("ALTER TABLE document_embeddings ADD COLUMN embedding_v2 vector(384)")
    key = db.scalar("SELECT min(chunk_id) FROM document_embeddings WHERE collection = %s", (COLLECTION,))
    db.execute("UPDATE document_chunks SET content = 'rewritten entirely by its author' WHERE id = %s", (key,))
    db.execute("UPDATE document_embeddings SET input_hash = encode(sha256(convert_to('rewritten entirely by its author', "
               "'UTF8')), 'hex') WHERE chunk_id = %s", (key,))
    return key


def test_a_run_of_the_apps_command_beside_another_vector_column_sharing_the_hash_counts_its_vectors_unmeasured(
        cli, embedded_db, demo_profile, target_env, tmp_path):
    """Every count read the vector of the old text current (0 stale, 0 still needed, none whose currency is unknown)
    and run said so, over a hash the other model's write had set (verify's fresh said unproven; run did not)."""
    _second_model_wrote_the_hash(embedded_db)
    result = run_step(cli, embedded_db, demo_profile, target_env, tmp_path / "run", "--json", "--command", "true")
    after = result.json["counts_after"]
    assert unmeasured(after) == CHUNKS and after.get("beside") == ["embedding_v2"], after
    text = run_step(cli, embedded_db, demo_profile, target_env, tmp_path / "again", "--command", "true").out
    assert (f"{CHUNKS} stored vectors whether current unknown (the input hash or vector time is beside another vector "
            "column of the same rows (embedding_v2), which a write of that vector sets too)") in text, text


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]], ids=["one process", "workers"])
def test_an_engine_run_beside_another_vector_column_sharing_the_hash_counts_its_vectors_unmeasured(
        cli, embedded_db, demo_profile, target_env, workers):
    _second_model_wrote_the_hash(embedded_db)
    result = cli("backfill", "--profile", demo_profile, "--collection", COLLECTION, *workers, "--json",
                 env={**target_env, "DATABASE_URL": embedded_db.dsn})
    after = result.json["after"]
    assert unmeasured(after) == CHUNKS and after.get("beside") == ["embedding_v2"], result.out
    if not workers:
        assert any(f"{CHUNKS} stored vectors whether current unknown" in n and "(embedding_v2)" in n
                   for n in result.json["notes"]), result.json["notes"]


ADD_A_DOCUMENT = """
import os, psycopg
c = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
c.execute(\"\"\"
WITH first AS (
    SELECT document_id FROM document_chunks WHERE collection = 'tenant_globex' AND chunk_index = 1
    ORDER BY document_id LIMIT 1),
docs AS (
    INSERT INTO documents (collection, tenant_id, title, url, body)
    SELECT collection, tenant_id, title || ' (FAQ)', url || '#faq', body FROM documents WHERE id = (TABLE first)
    RETURNING id),
chunks AS (
    INSERT INTO document_chunks (document_id, collection, tenant_id, chunk_index, content, title, url)
    SELECT (TABLE docs), c.collection, c.tenant_id, c.chunk_index,
           CASE WHEN c.chunk_index = 0 THEN 'A question no document answered yet' ELSE c.content END, c.title, c.url
    FROM document_chunks c WHERE c.document_id = (TABLE first) AND c.chunk_index IN (0, 1)
    RETURNING id, chunk_index, content)
INSERT INTO document_embeddings (chunk_id, collection, tenant_id, embedding, model_name, input_hash)
SELECT n.id, e.collection, e.tenant_id, e.embedding, e.model_name, encode(sha256(convert_to(n.content, 'UTF8')), 'hex')
FROM chunks n JOIN document_chunks c ON c.document_id = (TABLE first) AND c.chunk_index = n.chunk_index
JOIN document_embeddings e ON e.chunk_id = c.id
\"\"\")
print("Done. Embedded 2/2 rows. 0 failures.")
"""


def test_a_command_that_adds_a_document_sharing_one_boilerplate_chunk_is_not_called_an_ingest_again(
        cli, embedded_db, demo_profile, target_env, tmp_path):
    """A sync adding one new document of two chunks, one of them the corpus's standard footer (a text already held):
    one copy in a growth of two is no re-ingest of the collection, yet run said 'inserted texts again'."""
    import sys

    script = tmp_path / "sync.py"
    script.write_text(ADD_A_DOCUMENT)
    result = run_step(cli, embedded_db, demo_profile, target_env, tmp_path / "run", "--json", "--command",
                      f"{sys.executable} {script}", "--override", "a sync of one new document is the test")
    assert result.json["counts_after"]["chunks"] == CHUNKS + 2, result.json
    assert not any("copy of a text" in p for p in result.json["problems"]), result.json


@pytest.mark.parametrize("damage, said", [
    ("DELETE FROM document_embeddings", f"has {CHUNKS} more chunks without a vector after the run than before (0 -> {CHUNKS}"),
    ("UPDATE document_embeddings SET model_name = 'hash-embed-v2:384'",
     f"holds {CHUNKS} vectors of another model than the run's after it, 0 before")], ids=["deleted", "written again"])
def test_a_run_into_a_new_collection_that_changes_the_live_collections_vectors_is_not_ok(
        cli, embedded_db, demo_profile, target_env, tmp_path, damage, said):
    """--into NEW leaves the live collection as it is until swap, which the application searches meanwhile. Before: a
    command that filled NEW and then cleaned up the old vectors (an application's migration script) was ok, verify of
    NEW passed, and the live collection searched 0 vectors of 29."""
    import sys

    cleanup = tmp_path / "cleanup.py"
    cleanup.write_text("import os, psycopg\nwith psycopg.connect(os.environ['DATABASE_URL'], autocommit=True) as c:\n"
                       f"    c.execute(\"{damage} WHERE collection = '{COLLECTION}'\")\n")
    new = f"{COLLECTION}_v2"
    command = (f"{sys.executable} -m harness backfill --profile {demo_profile} --collection {COLLECTION} --into {{into}} "
               f"&& {sys.executable} {cleanup}")
    result = run_step(cli, embedded_db, demo_profile, target_env, tmp_path / "run", "--into", new, "--json",
                      "--command", command)
    assert embedded_db.scalar("SELECT count(*) FROM document_embeddings WHERE collection = %s", (new,)) == CHUNKS, \
        result.out + result.err
    assert result.code == 1 and result.json["ok"] is False, result.out + result.err
    assert f"the live collection {COLLECTION} {said}" in " ".join(result.json["problems"]), result.json["problems"]
    assert not from_run_dir(tmp_path / "run", new).passed  # the completed check reads the same problems


def test_an_in_place_run_whose_command_deletes_other_collections_vectors_is_not_ok(cli, embedded_db, demo_profile,
                                                                                   target_env, tmp_path):
    """A command that re-embeds tenant_globex and cleans up every other collection's vectors (a migration script's
    DELETE without the collection in its WHERE) is ok, and tenant_acme's search finds nothing."""
    import sys

    cleanup = tmp_path / "cleanup.py"
    cleanup.write_text("import os, psycopg\nwith psycopg.connect(os.environ['DATABASE_URL'], autocommit=True) as c:\n"
                       f"    c.execute(\"DELETE FROM document_embeddings WHERE collection <> '{COLLECTION}'\")\n")
    command = (f"{sys.executable} -m harness backfill --profile {demo_profile} --collection {{collection}} "
               f"&& {sys.executable} {cleanup}")
    result = run_step(cli, embedded_db, demo_profile, target_env, tmp_path / "run", "--json", "--command", command)
    assert embedded_db.scalar("SELECT count(*) FROM document_embeddings WHERE collection = 'tenant_acme'") == 0
    assert result.code == 1 and result.json["ok"] is False, result.json["problems"]
    assert any("tenant_acme has 107 more chunks without a vector" in p for p in result.json["problems"])
    before, after = result.json["others_before"]["missing"], result.json["others_after"]["missing"]
    assert (before["tenant_acme"], after["tenant_acme"]) == (0, 107)  # recorded in run.json as live_before/after are


def test_an_in_place_run_whose_command_deletes_other_collections_documents_with_their_chunks_is_ok(
        cli, embedded_db, demo_profile, target_env, tmp_path):
    """An application deleting whole documents meanwhile takes their chunks with their vectors: no collection then
    holds more chunks without a vector, and the run is not failed for it."""
    import sys

    cleanup = tmp_path / "cleanup.py"
    cleanup.write_text("import os, psycopg\nwith psycopg.connect(os.environ['DATABASE_URL'], autocommit=True) as c:\n"
                       "    c.execute(\"DELETE FROM documents WHERE id IN (SELECT id FROM documents WHERE collection = "
                       "'tenant_acme' ORDER BY id LIMIT 2)\")\n")
    command = (f"{sys.executable} -m harness backfill --profile {demo_profile} --collection {{collection}} "
               f"&& {sys.executable} {cleanup}")
    chunks = embedded_db.scalar("SELECT count(*) FROM document_chunks WHERE collection = 'tenant_acme'")
    result = run_step(cli, embedded_db, demo_profile, target_env, tmp_path / "run", "--json", "--command", command)
    assert embedded_db.scalar("SELECT count(*) FROM document_chunks WHERE collection = 'tenant_acme'") < chunks
    assert result.code == 0 and result.json["ok"] is True, result.json["problems"]
