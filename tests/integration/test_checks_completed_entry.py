"""completed trusts only a historylog entry of a run that filled this collection of this profile's tables."""

import uuid

from harness.settings import resolve

from ..conftest import finished_run


def completed_of(profile, collection, db, env, log=None, *, model=None, **options):
    """The completed check of ``collection`` as verify runs it: with the historylog ``log``, or the given options
    (``run_dir``, ``historylogs``), under ``model`` (the profile's when None)."""
    from harness.checks import CheckOptions, open_session
    from harness.checks.completed import completed
    from harness.profile import load_profile

    env = {**env, "DATABASE_URL": db.dsn}
    if log is not None:
        options["historylogs"] = (log,)
    session = open_session(resolve(load_profile(profile, env=env), database_url=db.dsn, env=env, model=model),
                           CheckOptions(collections=(collection,), **options))
    try:
        return completed(session, collection)
    finally:
        session.close()


def recorded(cli, profile, db, env, tmp_path, log, collection, exit_code):
    run_dir = finished_run(tmp_path / f"run-{uuid.uuid4().hex[:6]}", collection, exit_code=exit_code)
    result = cli("record", "--profile", profile, "--collection", collection, "--run-dir", run_dir,
                 "--historylog", log, "--json", env={**env, "DATABASE_URL": db.dsn})
    assert result.code == 0, result.out + result.err


def test_completed_reads_the_entry_of_its_own_tables_not_another_profiles_of_the_same_collection_name(
        cli, embedded_db, demo_profile, profile_variant, target_env, tmp_path):
    """The demo's run of tenant_acme failed; a later run of another profile (another table) named tenant_acme
    succeeded: that success says nothing about document_chunks."""
    other = profile_variant({"table: document_chunks": "table: archived_chunks"})
    log = tmp_path / "historylog.md"
    recorded(cli, demo_profile, embedded_db, target_env, tmp_path, log, "tenant_acme", exit_code=3)
    recorded(cli, other, embedded_db, target_env, tmp_path, log, "tenant_acme", exit_code=0)
    outcome = completed_of(demo_profile, "tenant_acme", embedded_db, target_env, log)
    assert outcome.status == "failed" and "exit code 3" in outcome.message(), outcome.message()


def test_completed_of_the_live_collection_does_not_read_an_into_runs_entry(embedded_db, demo_profile, target_env,
                                                                          tmp_path):
    """A backfill --into tenant_acme_v2 from tenant_acme is recorded under tenant_acme with the new collection's
    counts: it says nothing of whether tenant_acme's own run completed."""
    from harness.checks.completed import from_historylog
    from harness.db import connect
    from harness.historylog_anchor import read
    from harness.steps import record

    from ..unit.test_historylog import entry

    log = tmp_path / "historylog.md"
    done = {"chunks": 107, "embedded": 107, "needed": 0}
    record(entry("tenant_acme", exit_code=3, counts_after={"chunks": 107, "embedded": 0, "needed": 107}),
           [log], embedded_db.dsn)
    record(entry("tenant_acme", target_collection="tenant_acme_v2", counts_after=done), [log],
           embedded_db.dsn)
    live = completed_of(demo_profile, "tenant_acme", embedded_db, target_env, log)
    assert live.status == "failed" and "exit code 3" in live.message(), live.message()
    with connect(embedded_db.dsn, autocommit=True) as conn:  # the run's own collection reads it (not made here)
        new = from_historylog(log, "tenant_acme_v2", read(conn))
    assert new is not None and new.passed, new


def test_completed_does_not_take_a_run_folder_of_another_database_for_this_ones(cli, demo_db, embedded_db,
                                                                               demo_profile, target_env, tmp_path):
    """A run folder of a complete run against one database, checked against another (staging's folder given to
    production's verify): completed passed on the first database's closing count."""
    run_dir = tmp_path / "run"
    ran = cli("run", "--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", run_dir,
              env={**target_env, "DATABASE_URL": demo_db.dsn})
    assert ran.code == 0, ran.out + ran.err
    outcome = completed_of(demo_profile, "tenant_globex", embedded_db, target_env, run_dir=run_dir)
    assert outcome.status != "passed" and demo_db.name in outcome.message(), outcome.message()


def test_completed_from_the_historylog_fails_a_run_its_run_json_called_not_ok(cli, embedded_db, demo_profile,
                                                                              target_env, tmp_path):
    """A run of the app's command that exited 0 leaving all-zero vectors (run.json: not ok) was recorded; completed read
    the entry's exit code, failed rows and rows needed alone and passed it."""
    embedded_db.execute("UPDATE document_embeddings SET embedding = array_fill(0, ARRAY[384])::vector WHERE chunk_id IN "
                        "(SELECT chunk_id FROM document_embeddings WHERE collection = 'tenant_globex' ORDER BY 1 LIMIT 3)")
    env = {**target_env, "DATABASE_URL": embedded_db.dsn}
    run_dir, log = tmp_path / "run", tmp_path / "historylog.md"
    ran = cli("run", "--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", run_dir, "--command",
              "echo 'Done. Embedded 29/29 rows. 0 failures.'", env=env)
    assert ran.code == 1, ran.out
    assert cli("record", "--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", run_dir,
               "--historylog", log, env=env).code == 0
    outcome = completed_of(demo_profile, "tenant_globex", embedded_db, target_env, log)
    assert outcome.status == "failed" and "all-zero" in outcome.message(), outcome.message()


def test_completed_does_not_read_another_profiles_run_json_of_the_same_collection_name(cli, embedded_db, demo_profile,
                                                                                       profile_variant, target_env,
                                                                                       tmp_path):
    """The run folder holds the demo's run of tenant_acme (document_chunks); another profile's checks
    (archived_chunks) given that folder passed completed on a run that never filled their table."""
    embedded_db.execute("CREATE TABLE archived_chunks (LIKE document_chunks INCLUDING ALL);"
                        "INSERT INTO archived_chunks SELECT * FROM document_chunks")
    env = {**target_env, "DATABASE_URL": embedded_db.dsn}
    run_dir = tmp_path / "run"
    ran = cli("run", "--profile", demo_profile, "--collection", "tenant_acme", "--run-dir", run_dir, "--engine",
              env=env)
    assert ran.code == 0, ran.out + ran.err
    other = profile_variant({"table: document_chunks": "table: archived_chunks"})
    outcome = completed_of(other, "tenant_acme", embedded_db, target_env, run_dir=run_dir)
    assert outcome.status == "skipped" and "document_chunks" in outcome.message(), outcome.message()


def test_completed_does_not_take_a_run_folder_of_another_model_for_this_ones(cli, embedded_db, demo_profile,
                                                                            target_env, tmp_path):
    """The folder holds a complete run of hash-embed:384; verify --model hash-embed-v2:384 given that folder passed
    completed on a run that never embedded with the model it checks."""
    from .conftest import NEW_MODEL

    env = {**target_env, "DATABASE_URL": embedded_db.dsn}
    run_dir = tmp_path / "run"
    ran = cli("run", "--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", run_dir, "--engine",
              env=env)
    assert ran.code == 0, ran.out + ran.err
    assert completed_of(demo_profile, "tenant_globex", embedded_db, env, run_dir=run_dir).passed
    outcome = completed_of(demo_profile, "tenant_globex", embedded_db, env, model=NEW_MODEL, run_dir=run_dir)
    assert outcome.status == "skipped" and "hash-embed:384" in outcome.message(), outcome.message()


def test_completed_does_not_read_a_historylog_entry_of_another_model(cli, embedded_db, demo_profile, target_env,
                                                                    tmp_path):
    """An entry of the old model's success is no run of the new model: completed passed on it under --model NEW."""
    from .conftest import NEW_MODEL

    env = {**target_env, "DATABASE_URL": embedded_db.dsn}
    log = tmp_path / "historylog.md"
    recorded(cli, demo_profile, embedded_db, target_env, tmp_path, log, "tenant_globex", exit_code=0)
    assert completed_of(demo_profile, "tenant_globex", embedded_db, env, historylogs=(log,)).passed
    outcome = completed_of(demo_profile, "tenant_globex", embedded_db, env, model=NEW_MODEL, historylogs=(log,))
    assert outcome.status == "skipped" and "no recorded run" in outcome.message(), outcome.message()


def test_completed_reads_the_historylog_where_the_run_folder_given_is_another_models(cli, embedded_db, demo_profile,
                                                                                   target_env, tmp_path):
    """The old model's run folder and a log holding the new model's run: completed stopped at the folder ('no run of
    this model is recorded there', skipped) and never read the entry that records one."""
    from .conftest import NEW_MODEL

    env = {**target_env, "DATABASE_URL": embedded_db.dsn}
    run_dir = tmp_path / "run"
    ran = cli("run", "--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", run_dir, "--engine",
              env=env)
    assert ran.code == 0, ran.out + ran.err
    log = tmp_path / "historylog.md"
    recorded(cli, demo_profile, embedded_db, {**target_env, "EMBED_MODEL": NEW_MODEL}, tmp_path, log, "tenant_globex",
             exit_code=0)
    outcome = completed_of(demo_profile, "tenant_globex", embedded_db, env, model=NEW_MODEL, run_dir=run_dir, historylogs=(log,))
    assert outcome.passed and str(log) in outcome.found, outcome.message()


def test_completed_from_the_historylog_fails_a_run_that_deleted_the_chunks_it_did_not_embed(
        cli, embedded_db, demo_profile, target_env, tmp_path):
    """run.json said not ok (29 -> 24 chunks, state.shrank) and the run was recorded; completed judged the entry's
    closing count alone (0 needed) and passed it, and coverage of the 24 chunks left passed too."""
    import sys

    embedded_db.execute("DELETE FROM document_embeddings WHERE chunk_id IN (SELECT id FROM document_chunks "
                        "WHERE collection = 'tenant_globex' ORDER BY id LIMIT 5)")
    script = tmp_path / "backfill.py"
    script.write_text("import os, psycopg; c = psycopg.connect(os.environ['DATABASE_URL'], autocommit=True); "
                      "c.execute(\"DELETE FROM document_chunks c WHERE collection = 'tenant_globex' AND NOT EXISTS "
                      "(SELECT 1 FROM document_embeddings e WHERE e.chunk_id = c.id)\"); print('Done. Embedded 24/29 rows.')\n")
    env = {**target_env, "DATABASE_URL": embedded_db.dsn}
    run_dir, log = tmp_path / "run", tmp_path / "historylog.md"
    ran = cli("run", "--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", run_dir, "--command",
              f"{sys.executable} {script}", env=env)
    assert ran.code == 1, ran.out
    assert cli("record", "--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", run_dir,
               "--historylog", log, env=env).code == 0
    outcome = completed_of(demo_profile, "tenant_globex", embedded_db, target_env, log)
    assert outcome.status == "failed" and "5 fewer chunks" in outcome.message(), outcome.message()
