"""verify through the CLI: a real pytest run of a checks suite, its outcomes read back from junit.xml."""

import json

from harness.steps.verify import parse_junit


def verify(cli, db, demo_profile, target_env, run_dir, checks_dir, *args, collection="tenant_globex"):
    return cli("verify", "--profile", demo_profile, "--collection", collection, "--run-dir", run_dir,
               "--checks", checks_dir, *args, env={**target_env, "DATABASE_URL": db.dsn})


def test_checks_pass_on_a_backfilled_collection(cli, embedded_db, demo_profile, target_env, tmp_path, checks_dir):
    result = verify(cli, embedded_db, demo_profile, target_env, tmp_path / "run", checks_dir)
    assert result.code == 0, result.out
    data = json.loads((tmp_path / "run" / "verify.json").read_text())
    assert data["counts"] == {"passed": 2, "failed": 0, "skipped": 1, "unproven": 0}
    assert (tmp_path / "run" / "junit.xml").exists()


def test_a_failing_check_fails_verify_with_its_message(cli, demo_db, demo_profile, target_env, tmp_path, checks_dir):
    result = verify(cli, demo_db, demo_profile, target_env, tmp_path / "run", checks_dir, "--json")
    assert result.code == 1
    (failed,) = [c for c in result.json["checks"] if c["outcome"] == "failed"]
    assert failed["name"] == "test_done::test_coverage"
    assert "expected 29 vectors in tenant_globex, found 0" in failed["message"]


def test_skipped_checks_keep_their_reason(cli, embedded_db, demo_profile, target_env, tmp_path, checks_dir):
    data = verify(cli, embedded_db, demo_profile, target_env, tmp_path / "run", checks_dir, "--json").json
    assert {"name": "test_done::test_spot_queries", "outcome": "skipped",
            "message": "this small suite has no spot queries"} == {k: v for k, v in data["checks"][2].items() if k != "seconds"}


def test_text_and_json_name_the_same_checks(cli, embedded_db, demo_profile, target_env, tmp_path, checks_dir):
    text = verify(cli, embedded_db, demo_profile, target_env, tmp_path / "a", checks_dir)
    data = verify(cli, embedded_db, demo_profile, target_env, tmp_path / "b", checks_dir, "--json").json
    for check in data["checks"]:
        assert check["name"] in text.out
    assert "2 passed, 0 failed, 1 skipped" in text.out


def test_an_empty_suite_is_not_a_pass(cli, embedded_db, demo_profile, target_env, tmp_path):
    empty = tmp_path / "checks"
    empty.mkdir()
    (empty / "conftest.py").write_text((__import__("tests.conftest", fromlist=["x"])._THROWAWAY_CONFTEST))
    result = verify(cli, embedded_db, demo_profile, target_env, tmp_path / "run", empty, "--json")
    assert result.code == 1 and "no DONE check ran" in result.json["reason"]


def test_a_missing_checks_folder_is_a_config_error(cli, embedded_db, demo_profile, target_env, tmp_path):
    result = verify(cli, embedded_db, demo_profile, target_env, tmp_path / "run", tmp_path / "nowhere")
    assert result.code == 2 and "no DONE checks folder" in result.err


def test_junit_errors_count_as_failed(tmp_path):
    junit = tmp_path / "junit.xml"
    junit.write_text('<testsuites><testsuite><testcase classname="checks.test_index" name="test_index">'
                     '<error message="fixture db failed">trace</error></testcase></testsuite></testsuites>')
    (check,) = parse_junit(junit)
    assert (check.name, check.outcome, check.message) == ("test_index::test_index", "failed", "fixture db failed")
