"""run through the CLI: the target's own backfill command, with the resolved settings, kept as evidence."""

import json

from harness.steps.run import parse_done_line


def run_step(cli, db, demo_profile, target_env, run_dir, *args, collection="tenant_globex"):
    return cli("run", "--profile", demo_profile, "--collection", collection, "--run-dir", run_dir, *args,
               env={**target_env, "DATABASE_URL": db.dsn})


def test_the_profile_command_embeds_the_collection(cli, demo_db, demo_profile, target_env, tmp_path):
    result = run_step(cli, demo_db, demo_profile, target_env, tmp_path / "run")
    assert result.code == 0, result.err
    evidence = json.loads((tmp_path / "run" / "run.json").read_text())
    assert evidence["exit_code"] == 0 and evidence["ok"]
    assert evidence["counts_before"]["embedded"] == 0 and evidence["counts_after"]["embedded"] == 29
    assert (evidence["embedded_rows"], evidence["failed_rows"]) == (29, 0)
    assert "Done. Embedded 29/29 rows. 0 failures." in (tmp_path / "run" / "output.log").read_text()


def test_output_is_streamed_to_stderr(cli, demo_db, demo_profile, target_env, tmp_path):
    result = run_step(cli, demo_db, demo_profile, target_env, tmp_path / "run")
    assert "Done. Embedded 29/29 rows." in result.err


def test_the_command_gets_the_resolved_settings(cli, demo_db, demo_profile, target_env, tmp_path):
    command = "echo model=$EMBED_MODEL batch=$EMBED_BATCH_SIZE chunk=$MAX_CHUNK_SIZE collection=$BACKFILL_COLLECTION"
    run_step(cli, demo_db, demo_profile, target_env, tmp_path / "run", "--command", command, "--batch-size", "9")
    log = (tmp_path / "run" / "output.log").read_text()
    assert "model=hash-embed:384 batch=9 chunk=800 collection=tenant_globex" in log


def test_a_failing_command_exits_1_with_its_exit_code_in_the_evidence(cli, demo_db, demo_profile, target_env, tmp_path):
    result = run_step(cli, demo_db, demo_profile, target_env, tmp_path / "run", "--command", "echo boom; exit 3", "--json")
    assert result.code == 1
    assert result.json["exit_code"] == 3 and not result.json["ok"] and "boom" in result.json["output_tail"]


def test_a_command_past_its_timeout_is_stopped(cli, demo_db, demo_profile, target_env, tmp_path):
    result = run_step(cli, demo_db, demo_profile, target_env, tmp_path / "run", "--command", "sleep 30", "--timeout", "0.5",
                      "--json")
    assert result.code == 1 and result.json["timed_out"] and result.json["seconds"] < 10


def test_failed_rows_are_read_from_the_done_line():
    assert parse_done_line("x\nDone. Embedded 95/100 rows. 5 failures.\n") == (95, 5)
    assert parse_done_line("Done. Embedded 1/1 rows. 1 failure.") == (1, 1)
    assert parse_done_line("no summary") == (None, None)


def test_reported_failed_rows_fail_the_run(cli, demo_db, demo_profile, target_env, tmp_path):
    result = run_step(cli, demo_db, demo_profile, target_env, tmp_path / "run", "--command",
                      "echo 'Done. Embedded 27/29 rows. 2 failures.'", "--json")
    assert result.code == 1 and result.json["failed_rows"] == 2


def test_engine_is_the_command_when_asked(cli, demo_db, demo_profile, target_env, tmp_path):
    result = run_step(cli, demo_db, demo_profile, target_env, tmp_path / "run", "--engine", "--json")
    assert result.code == 0, result.out + result.err
    assert " -m harness backfill " in result.json["command"] and result.json["counts_after"]["embedded"] == 29


def test_the_password_is_in_no_run_file(cli, demo_db, demo_profile, target_env, tmp_path, pg_password):
    run_step(cli, demo_db, demo_profile, target_env, tmp_path / "run", "--command", "echo $DATABASE_URL")
    for path in (tmp_path / "run").iterdir():
        assert pg_password not in path.read_text()


def test_text_and_json_carry_the_same_run_facts(cli, demo_db, demo_profile, target_env, tmp_path):
    text = run_step(cli, demo_db, demo_profile, target_env, tmp_path / "a", "--command", "echo hi; exit 2").out
    data = run_step(cli, demo_db, demo_profile, target_env, tmp_path / "b", "--command", "echo hi; exit 2", "--json").json
    assert f"exit code {data['exit_code']}" in text and data["command"] in text
    assert f"{data['counts_before']['embedded']} -> {data['counts_after']['embedded']} of {data['counts_after']['chunks']}" in text
