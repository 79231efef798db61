"""A run folder that is a file, a historylog that does not exist, a collection named '': bad input, said as such."""

import json

import pytest

from .test_checks_completed_entry import completed_of

TAKES_A_RUN_FOLDER = ["verify", "run", "plan", "procedure"]


@pytest.mark.parametrize("command", TAKES_A_RUN_FOLDER)
def test_a_run_folder_that_is_a_file_is_refused_as_bad_input(cli, demo_db, demo_profile, target_env, tmp_path, command):
    taken = tmp_path / "taken"
    taken.write_text("not a folder\n")
    result = cli(command, "--profile", demo_profile, "--collection", "tenant_acme", "--run-dir", taken, "--json",
                 env={**target_env, "DATABASE_URL": demo_db.dsn})
    assert result.code == 2, result.err
    doc = json.loads(result.out)
    assert doc["exit_code"] == 2 and str(taken) in doc["error"] and "expected a folder" in doc["error"]
    assert "unexpected error" not in result.err
    assert taken.read_text() == "not a folder\n" and sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_a_run_folder_under_a_file_is_refused_as_bad_input(cli, demo_db, demo_profile, target_env, tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("")
    result = cli("verify", "--profile", demo_profile, "--collection", "tenant_acme", "--run-dir", taken / "run",
                 env={**target_env, "DATABASE_URL": demo_db.dsn})
    assert result.code == 2 and str(taken) in result.err and "expected a folder" in result.err


def test_verify_refuses_a_historylog_that_does_not_exist(cli, embedded_db, demo_profile, target_env, tmp_path):
    missing, run_dir = tmp_path / "histroylog.md", tmp_path / "run"
    result = cli("verify", "--profile", demo_profile, "--collection", "tenant_acme", "--run-dir", run_dir,
                 "--historylog", missing, "--json", env={**target_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 2, result.out + result.err
    doc = json.loads(result.out)
    assert str(missing) in doc["error"] and "does not exist" in doc["error"]
    assert not run_dir.exists()


def test_completed_is_unproven_where_the_named_historylog_does_not_exist(embedded_db, demo_profile, target_env,
                                                                          tmp_path):
    missing = tmp_path / "histroylog.md"
    outcome = completed_of(demo_profile, "tenant_acme", embedded_db, target_env, missing)
    assert str(outcome.status) == "unproven", outcome
    assert str(missing) in outcome.message() and "does not exist" in outcome.message()


EMPTY_COLLECTION = {
    "verify": ["verify", "--collection", ""],
    "plan": ["plan", "--collection", ""],
    "run": ["run", "--collection", ""],
    "backfill": ["backfill", "--collection", ""],
    "scope": ["scope", "--collection", ""],
    "backfill --into": ["backfill", "--collection", "tenant_acme", "--into", ""],
    "swap": ["swap", "--to", "", "--from", "tenant_acme"],
}


@pytest.mark.parametrize("argv", EMPTY_COLLECTION.values(), ids=EMPTY_COLLECTION.keys())
def test_a_collection_named_empty_is_refused_as_bad_input(cli, embedded_db, demo_profile, target_env, tmp_path, argv):
    result = cli(*argv, "--profile", demo_profile, "--json", env={**target_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 2, result.out + result.err
    assert "collection '' is not a valid name" in json.loads(result.out)["error"]


def test_the_checks_refuse_a_collection_named_empty(embedded_db, demo_profile, target_env, tmp_path):
    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match="collection '' is not a valid name"):
        completed_of(demo_profile, "", embedded_db, target_env, tmp_path / "historylog.md")


def test_demo_refuses_an_out_folder_that_is_a_file(cli, tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("")
    result = cli("demo", "--out", taken, "--json")
    assert result.code == 2 and str(taken) in json.loads(result.out)["error"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
