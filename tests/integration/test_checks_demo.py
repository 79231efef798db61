"""The DONE checks on the demo app: all pass after a backfill; a target without a profile is skipped, never passed."""

import pytest

from .checks_run import run_checks

from ..conftest import finished_run

CHECK_NAMES = ("completed", "coverage", "dimensions", "model", "fresh", "recompute", "tenant_isolation",
               "sane_vectors", "distinct_vectors", "citations", "index")
CUSTOM = "test_custom[every chunk carries a citation url]"  # the demo profile's own assertion


def evidence(run_dir, collection, exit_code=0, failed_rows=0):
    finished_run(run_dir, collection, exit_code=exit_code, failed_rows=failed_rows)
    return run_dir


def test_every_check_passes_on_the_backfilled_demo_app(embedded_db, demo_env, demo_profile, tmp_path):
    run_dir = evidence(tmp_path / "run", "tenant_acme")
    run = run_checks(tmp_path, "--bh-profile", str(demo_profile), "--bh-collection", "tenant_acme", "--bh-run-dir", str(run_dir),
                     env={**demo_env, "DATABASE_URL": embedded_db.dsn})
    assert run.results == {f"test_{name}[tenant_acme]": "passed" for name in CHECK_NAMES} | {CUSTOM: "passed"} | {
        "test_source_coverage[tenant_acme]": "skipped"}, run.output  # the demo names no source table
    assert run.code == 0
    assert run.properties["test_citations[tenant_acme]"]["recall_at_k"] == "1.0"
    assert run.properties["test_coverage[tenant_acme]"]["missing"] == "0"


def test_collection_all_checks_every_collection(embedded_db, demo_env, demo_profile, tmp_path):
    run = run_checks(tmp_path, "--bh-profile", str(demo_profile), "--bh-collection", "all",
                     env={**demo_env, "DATABASE_URL": embedded_db.dsn})
    collections = ("global_corpus", "tenant_acme", "tenant_globex")
    assert run.with_status("passed") == {f"test_{check}[{c}]" for check in CHECK_NAMES if check != "completed"
                                         for c in collections} | {CUSTOM}, run.output
    assert run.with_status("skipped") == {f"test_{check}[{c}]" for check in ("completed", "source_coverage")
                                          for c in collections}


def test_without_a_profile_the_suite_is_skipped_with_one_reason(tmp_path):
    run = run_checks(tmp_path, env={"DATABASE_URL": ""}, autoload=True)  # as a user's pytest checks/ runs
    assert run.results == {"checks": "skipped"}
    assert "no target to check: pass --bh-profile P" in run.messages["checks"]
    assert "1 skipped" in run.output and "passed" not in run.output and "warning" not in run.output


def test_completed_is_skipped_with_a_reason_when_no_run_was_recorded(embedded_db, demo_env, demo_profile, tmp_path):
    run = run_checks(tmp_path, "--bh-profile", str(demo_profile), "--bh-collection", "tenant_acme",
                     env={**demo_env, "DATABASE_URL": embedded_db.dsn}, files=("test_completed.py",))
    assert run.results == {"test_completed[tenant_acme]": "skipped"}
    assert "no run evidence: pass --run-dir DIR" in run.messages["test_completed[tenant_acme]"]


def test_completed_fails_when_the_recorded_run_had_failed_rows(embedded_db, demo_env, demo_profile, tmp_path):
    run_dir = evidence(tmp_path / "run", "tenant_acme", exit_code=1, failed_rows=3)
    run = run_checks(tmp_path, "--bh-profile", str(demo_profile), "--bh-collection", "tenant_acme", "--bh-run-dir", str(run_dir),
                     env={**demo_env, "DATABASE_URL": embedded_db.dsn}, files=("test_completed.py",))
    assert run.failed == {"test_completed[tenant_acme]"}
    assert "exit code 1" in run.messages["test_completed[tenant_acme]"]
    assert "3 failed rows reported" in run.messages["test_completed[tenant_acme]"]


def test_an_unknown_collection_is_a_usage_error_naming_it(embedded_db, demo_env, demo_profile, tmp_path):
    run = run_checks(tmp_path, "--bh-profile", str(demo_profile), "--bh-collection", "tenant_nobody",
                     env={**demo_env, "DATABASE_URL": embedded_db.dsn}, files=("test_coverage.py",))
    assert run.code == 4
    assert "collection 'tenant_nobody' has no chunks" in run.output


def test_citations_fail_when_an_expected_source_is_not_in_the_top_k(embedded_db, demo_env, demo_profile, tmp_path):
    profile = tmp_path / "profile.yaml"
    profile.write_text(demo_profile.read_text().split("spot_queries:")[0] + """spot_queries:
  - query: rights to patents granted by contributors under the Apache License
    expect_source: https://spdx.org/licenses/Apache-2.0.html
    k: 5
  - query: copyleft for libraries linked with proprietary programs
    expect_source: https://spdx.org/licenses/CC0-1.0.html
    k: 1
""")
    run = run_checks(tmp_path, "--bh-profile", str(profile), "--bh-collection", "tenant_acme",
                     env={**demo_env, "DATABASE_URL": embedded_db.dsn}, files=("test_citations.py",))
    message = run.messages["test_citations[tenant_acme]"]
    assert run.failed == {"test_citations[tenant_acme]"}
    assert "recall@k 0.50" in message and "CC0-1.0.html not in top 1" in message


def test_pytest_fails_when_its_verdict_is_not_done_because_no_check_passed(embedded_db, demo_env, demo_profile, tmp_path):
    run = run_checks(tmp_path, "--bh-profile", str(demo_profile), "--bh-collection", "tenant_acme",
                     env={**demo_env, "DATABASE_URL": embedded_db.dsn},
                     files=("test_source_coverage.py", "test_completed.py"))
    assert run.with_status("passed") == set()
    assert "NOT DONE: no DONE check passed" in run.output
    assert run.code != 0, run.output


def test_the_closing_verdict_is_not_done_when_the_provider_cannot_answer(embedded_db, demo_env, unretried_demo_profile,
                                                                         tmp_path):
    run_dir = evidence(tmp_path / "run", "tenant_acme")
    run = run_checks(tmp_path, "--bh-profile", str(unretried_demo_profile), "--bh-collection", "tenant_acme", "--bh-run-dir", str(run_dir),
                     env={**demo_env, "DATABASE_URL": embedded_db.dsn, "OLLAMA_HOST": "http://127.0.0.1:9"},
                     files=("test_recompute.py", "test_coverage.py", "test_completed.py"))
    assert run.properties["test_recompute[tenant_acme]"]["status"] == "unproven"
    assert "nothing was re-embedded" in run.messages["test_recompute[tenant_acme]"]
    assert run.code != 0
    assert "DONE checks verdict: NOT DONE" in run.output, run.output[-600:]


def test_recompute_without_a_provider_is_unproven_and_not_done(embedded_db, demo_env, demo_profile, tmp_path):
    run = run_checks(tmp_path, "--bh-profile", str(demo_profile), "--bh-collection", "tenant_acme",
                     env={**demo_env, "DATABASE_URL": embedded_db.dsn, "OLLAMA_HOST": ""},
                     files=("test_recompute.py", "test_coverage.py"))
    assert run.properties["test_recompute[tenant_acme]"]["status"] == "unproven"
    assert "no embedding provider" in run.messages["test_recompute[tenant_acme]"]
    assert "DONE checks verdict: NOT DONE" in run.output and run.code != 0


@pytest.mark.parametrize("host", ["", "http://127.0.0.1:9"], ids=["none", "unreachable"])
def test_citations_without_a_provider_that_answers_is_unproven(embedded_db, demo_env, unretried_demo_profile, tmp_path,
                                                                host):
    """No query was embedded, so no search ran: that proves nothing about retrieval (it was skipped, as if the
    collection had no spot query, while recompute in the same situation was unproven)."""
    run = run_checks(tmp_path, "--bh-profile", str(unretried_demo_profile), "--bh-collection", "tenant_acme",
                     env={**demo_env, "DATABASE_URL": embedded_db.dsn, "OLLAMA_HOST": host},
                     files=("test_citations.py", "test_coverage.py"))
    assert run.properties["test_citations[tenant_acme]"].get("status") == "unproven", run.output[-1500:]
    assert "nothing was searched" in run.messages["test_citations[tenant_acme]"]


def test_a_run_of_some_of_the_checks_is_not_done_and_names_those_not_run(embedded_db, demo_env, demo_profile, tmp_path):
    """``-k``, ``--lf`` or a file named alone run some checks: the verdict was DONE over those, here coverage's, on
    texts edited after their vectors (fresh, not run, would fail)."""
    embedded_db.execute("UPDATE document_chunks SET content = content || ' (amended)' WHERE id = "
                        "(SELECT min(id) FROM document_chunks WHERE collection = 'tenant_acme')")
    run = run_checks(tmp_path, "--bh-profile", str(demo_profile), "--bh-collection", "tenant_acme",
                     env={**demo_env, "DATABASE_URL": embedded_db.dsn}, files=("test_coverage.py",))
    assert run.results == {"test_coverage[tenant_acme]": "passed"}, run.output
    expected = ("DONE checks verdict: NOT DONE: not run: completed [tenant_acme], source_coverage [tenant_acme], "
                "dimensions [tenant_acme]")
    assert expected in run.output, run.output[-600:]
    assert run.code != 0
