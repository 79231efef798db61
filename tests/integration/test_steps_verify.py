"""verify through the CLI: a real pytest run of a checks suite, its outcomes read back from junit.xml."""

import json

from harness.checks.outcome import Status
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
    (failed,) = [c for c in result.json["checks"] if c["status"] == "failed"]
    assert failed["check"] == "test_done::test_coverage"
    assert "expected 29 vectors in tenant_globex, found 0" in failed["note"]


def test_skipped_checks_keep_their_reason(cli, embedded_db, demo_profile, target_env, tmp_path, checks_dir):
    data = verify(cli, embedded_db, demo_profile, target_env, tmp_path / "run", checks_dir, "--json").json
    skipped = data["checks"][2]
    assert (skipped["check"], skipped["status"], skipped["note"]) == (
        "test_done::test_spot_queries", "skipped", "this small suite has no spot queries")


def test_text_and_json_name_the_same_checks(cli, embedded_db, demo_profile, target_env, tmp_path, checks_dir):
    text = verify(cli, embedded_db, demo_profile, target_env, tmp_path / "a", checks_dir)
    data = verify(cli, embedded_db, demo_profile, target_env, tmp_path / "b", checks_dir, "--json").json
    for check in data["checks"]:
        assert check["check"] in text.out
    assert "2 passed, 0 failed, 1 skipped, 0 unproven" in text.out


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
    assert (check.check, check.status, check.note) == ("test_index::test_index", Status.FAILED, "fixture db failed")


def junit_case(tmp_path, body: str, properties: dict[str, str] | None = None):
    props = "".join(f'<property name="{k}" value="{v}"/>' for k, v in (properties or {}).items())
    junit = tmp_path / "junit.xml"
    junit.write_text('<testsuites><testsuite><testcase classname="checks.test_fresh" name="test_fresh[tenant_acme]">'
                     f'<properties>{props}</properties>{body}</testcase></testsuite></testsuites>')
    (check,) = parse_junit(junit)
    return check


def test_a_skip_that_says_unproven_is_read_back_as_unproven_never_as_passed_or_skipped(tmp_path):
    check = junit_case(tmp_path, '<skipped message="fresh [tenant_acme] unproven: no input hash column"/>',
                       {"check": "fresh", "collection": "tenant_acme"})
    assert (check.check, check.collection, check.status, check.note) == (
        "fresh", "tenant_acme", Status.UNPROVEN, "no input hash column")


def test_a_bare_unproven_skip_is_unproven_too(tmp_path):
    assert junit_case(tmp_path, '<skipped message="unproven: no timestamp"/>').status == Status.UNPROVEN


def test_unproven_checks_do_not_count_as_passed(tmp_path):
    from harness.steps.verify import VerifyResult

    check = junit_case(tmp_path, '<skipped message="unproven: no hash"/>', {"check": "fresh", "collection": "tenant_acme"})
    result = VerifyResult("tenant_acme", "pytest", 0, 1.0, (check,))
    assert not result.ok and result.counts["unproven"] == 1 and result.counts["passed"] == 0
    assert "[UNPR] fresh [tenant_acme]: no hash" in result.text()


def test_the_plugin_properties_give_expected_found_and_figures(tmp_path):
    check = junit_case(tmp_path, '<failure message="coverage failed"/>',
                       {"check": "coverage", "collection": "tenant_acme", "expected": "0 missing", "found": "3 missing",
                        "missing": "3"})
    assert (check.expected, check.found, check.metrics["missing"]) == ("0 missing", "3 missing", "3")


def test_findings_that_name_no_row_are_never_said_to_be_in_offenders_jsonl(tmp_path):
    # A spot query that misses its source names no row: offenders.jsonl leaves it out, so the message may not say
    # "all in offenders.jsonl" (lobe-chat's trial read "2 offending rows; first ids: -; all in offenders.jsonl").
    check = junit_case(tmp_path, '<failure message="citations [tenant_acme] failed: recall@k 0.00">trace</failure>',
                       {"check": "citations", "collection": "tenant_acme", "offending_total": "2", "offending_ids": "",
                        "offending_keyless": "2"})
    assert "offenders.jsonl" not in check.note.replace("not in offenders.jsonl", "")
    assert "2 findings name no row: not in offenders.jsonl" in check.note


def test_rows_and_findings_without_a_row_are_told_apart(tmp_path):
    check = junit_case(tmp_path, '<failure message="citations [tenant_acme] failed: 3 problems">trace</failure>',
                       {"check": "citations", "collection": "tenant_acme", "offending_total": "3", "offending_ids": "7, 9",
                        "offending_keyless": "1"})
    assert "3 offending: 2 rows in offenders.jsonl (first ids: 7, 9); 1 names no row" in check.note


def test_offending_rows_all_with_keys_are_all_in_offenders_jsonl(tmp_path):
    check = junit_case(tmp_path, '<failure message="coverage [tenant_acme] failed: 2 missing">trace</failure>',
                       {"check": "coverage", "collection": "tenant_acme", "offending_total": "2", "offending_ids": "7, 9"})
    assert "(2 offending rows; first ids: 7, 9; all in offenders.jsonl)" in check.note


def test_no_pytest_plugin_installed_beside_the_harness_runs_inside_verify(cli, embedded_db, demo_profile, target_env,
                                                                           tmp_path, checks_dir, monkeypatch):
    """The DONE checks run with the harness's plugin alone: another installed plugin (a tracer, a test reporter) can
    neither change what they report nor make every verify wait for its import (langsmith's and ddtrace's took 2-9 s)."""
    site = tmp_path / "site"
    (site / "bh_foreign_plugin-1.0.dist-info").mkdir(parents=True)
    (site / "bh_foreign_plugin-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: bh-foreign-plugin\n"
                                                                       "Version: 1.0\n")
    (site / "bh_foreign_plugin-1.0.dist-info" / "entry_points.txt").write_text("[pytest11]\nforeign = bh_foreign_plugin\n")
    marker = tmp_path / "loaded"
    (site / "bh_foreign_plugin.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.setenv("PYTEST_ADDOPTS", "-k nothing_matches_this")
    result = verify(cli, embedded_db, demo_profile, target_env, tmp_path / "run", checks_dir, "--json")
    assert not marker.exists()
    assert result.code == 0 and result.json["counts"]["passed"] == 2, result.out


def test_a_projects_pytest_configuration_above_the_checks_folder_deselects_no_check(cli, demo_db, demo_profile,
                                                                                  target_env, tmp_path, checks_dir):
    # The checks installed under a project's virtual environment (<project>/.venv/share/.../checks) sit below the
    # project's own pytest.ini: its addopts deselected the failing coverage check, and verify said DONE on a
    # collection with no vector (as PYTEST_ADDOPTS did before it was dropped).
    import shutil

    project = tmp_path / "project"
    shutil.copytree(checks_dir, project / "share" / "checks")
    (project / "pytest.ini").write_text('[pytest]\naddopts = -k "not coverage"\n')
    result = verify(cli, demo_db, demo_profile, target_env, tmp_path / "run", project / "share" / "checks", "--json")
    assert result.code == 1, result.out
    assert [c["check"] for c in result.json["checks"] if c["status"] == "failed"] == ["test_done::test_coverage"]


def test_a_projects_conftest_above_the_checks_folder_is_not_loaded(cli, demo_db, demo_profile, target_env, tmp_path,
                                                                  checks_dir):
    import shutil

    project = tmp_path / "project"
    shutil.copytree(checks_dir, project / "share" / "checks")
    (project / "conftest.py").write_text("def pytest_collection_modifyitems(items):\n"
                                         "    items[:] = [i for i in items if 'coverage' not in i.name]\n")
    result = verify(cli, demo_db, demo_profile, target_env, tmp_path / "run", project / "share" / "checks", "--json")
    assert result.code == 1, result.out
    assert [c["check"] for c in result.json["checks"] if c["status"] == "failed"] == ["test_done::test_coverage"]


def test_offending_rows_beyond_what_offenders_jsonl_keeps_are_never_said_to_be_all_in_it(tmp_path):
    # recompute --sample all now keeps the first OFFENDERS_CAP offenders and counts them all; the plugin's note that
    # the file keeps only those was on the failure message's second line, which verify drops: it said "all in".
    check = junit_case(tmp_path, '<failure message="recompute [tenant_acme] failed: 150000 below">trace</failure>',
                       {"check": "recompute", "collection": "tenant_acme", "offending_total": "150000",
                        "offending_ids": "7, 9", "offending_kept": "100000"})
    assert "all in offenders.jsonl" not in check.note
    assert "(150000 offending rows; first ids: 7, 9; offenders.jsonl keeps the first 100000)" in check.note


def test_a_checks_folder_given_relative_to_the_working_directory_runs_its_checks(cli, demo_db, demo_profile, target_env,
                                                                                 tmp_path, checks_dir, monkeypatch):
    # pytest runs from the checks folder's parent; the folder (and --rootdir/--confcutdir) were handed on as written,
    # so "--checks project/checks" was looked up as project/project/checks there and no check ran.
    import shutil

    shutil.copytree(checks_dir, tmp_path / "project" / "checks")
    monkeypatch.chdir(tmp_path)
    result = verify(cli, demo_db, demo_profile, target_env, tmp_path / "run", "project/checks", "--json")
    assert result.code == 1, result.out
    assert [c["check"] for c in result.json["checks"] if c["status"] == "failed"] == ["test_done::test_coverage"]


def test_verify_with_another_model_than_the_profiles_checks_that_model(cli, embedded_db, profile_variant, target_env,
                                                                        tmp_path, v2_server):
    """verify --model NEW (after a model switch) over a profile naming its model literally: the checks' pytest resolved
    the profile's model, so every check measured the old model and verify said DONE over vectors NEW never made."""
    from .conftest import NEW_MODEL

    profile = profile_variant({"${EMBED_MODEL:-all-minilm}": "hash-embed:384"})
    result = cli("verify", "--profile", profile, "--collection", "tenant_globex", "--run-dir", tmp_path / "run",
                 "--model", NEW_MODEL, "--json",
                 env={**target_env, "DATABASE_URL": embedded_db.dsn, "OLLAMA_HOST": v2_server.url})
    assert result.code == 1 and result.json["ok"] is False, result.out
    model = [c for c in result.json["checks"] if c["check"] == "model"]
    assert model and model[0]["status"] == "failed" and NEW_MODEL in model[0]["expected"], model


def test_the_callers_bh_settings_do_not_move_verifys_checks_to_another_database(cli, demo_db, embedded_db,
                                                                                  demo_profile, target_env, tmp_path):
    """BH_DATABASE_URL left exported from a `pytest checks/` run is the checks' --bh-database-url, which wins over
    DATABASE_URL: verify of a database without vectors said DONE over the other one's, and its verify.json named
    the first."""
    result = cli("verify", "--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", tmp_path / "run",
                 "--json", env={**target_env, "DATABASE_URL": demo_db.dsn, "BH_DATABASE_URL": embedded_db.dsn})
    assert result.code == 1 and not result.json["ok"], result.out
    coverage = next(c for c in result.json["checks"] if c["check"] == "coverage")
    assert coverage["status"] == "failed" and "0 embedded, 29 missing" in coverage["found"], coverage
