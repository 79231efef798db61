"""The checks plugin's options are namespaced (--bh-*), have ini and environment twins, and say where each came from."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


from .checks_run import REPO, run_checks

from ..conftest import finished_run

DEMO_PROFILE = REPO / "examples" / "ragapp" / "profile.yaml"


def pytest_header(tmp_path: Path, *args: str, env: dict[str, str] | None = None, ini: str = "") -> str:
    """``pytest --co`` in an empty folder with that ini file; the output (header included)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n" + ini)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BH_") and k != "DATABASE_URL"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "--co", "-p", "no:cacheprovider", *args], cwd=tmp_path,
                          env={**clean, **(env or {})}, capture_output=True, text=True, timeout=60)
    return proc.stdout + proc.stderr


def test_the_checks_run_beside_pytest_profiling_and_its_own_profile_option(embedded_db, demo_env, tmp_path):
    pytest_profiling = pytest.importorskip("pytest_profiling")
    run_dir = tmp_path / "run"
    finished_run(run_dir, "tenant_acme")
    # Both plugins load through their entry points, as when both are installed in one environment.
    path = os.pathsep.join([str(REPO), str(Path(pytest_profiling.__file__).parent), os.environ.get("PYTHONPATH", "")])
    run = run_checks(tmp_path, "--profile", "--bh-profile", str(DEMO_PROFILE), "--bh-collection", "tenant_acme",
                     "--bh-run-dir", str(run_dir), env={**demo_env, "DATABASE_URL": embedded_db.dsn, "PYTHONPATH": path},
                     autoload=True)
    assert run.code == 0, run.output
    assert run.failed == set() and "test_coverage[tenant_acme]" in run.with_status("passed")
    assert (tmp_path / "prof").is_dir()  # pytest-profiling's own --profile did its work


def test_a_flag_wins_over_the_environment_and_the_environment_over_the_ini_file(tmp_path):
    out = pytest_header(tmp_path, "--bh-sample", "3", env={"BH_PROFILE": str(DEMO_PROFILE), "BH_SAMPLE": "5"},
                        ini="bh_collection = from_ini\nbh_sample = 7\nbh_statement_timeout_ms = 900\n")
    assert f"backfill-harness checks: profile {DEMO_PROFILE} (from env BH_PROFILE)" in out, out
    assert "collection: from_ini (from ini bh_collection)" in out
    assert "sample: 3 (from flag --bh-sample)" in out
    assert "statement_timeout_ms: 900 (from ini bh_statement_timeout_ms)" in out
    assert "run_dir: - (from default)" in out


def test_collections_from_the_environment_are_comma_separated(tmp_path):
    out = pytest_header(tmp_path, env={"BH_PROFILE": str(DEMO_PROFILE), "BH_COLLECTION": "tenant_acme, tenant_globex"})
    assert "collection: tenant_acme, tenant_globex (from env BH_COLLECTION)" in out, out


def test_a_sample_that_is_neither_a_count_nor_all_in_the_environment_is_a_usage_error_naming_it(tmp_path):
    out = pytest_header(tmp_path, env={"BH_PROFILE": str(DEMO_PROFILE), "BH_COLLECTION": "c", "BH_SAMPLE": "many"})
    assert "env BH_SAMPLE: expected a positive number of rows or 'all', found 'many'" in out, out


def test_without_a_profile_the_plugin_prints_no_header(tmp_path):
    assert "backfill-harness checks" not in pytest_header(tmp_path)


def test_the_header_shows_the_statement_timeout_the_checks_run_with_when_none_is_given(embedded_db, demo_env, tmp_path):
    """By default the timeout grows with the tables: the header says the value in force, not None."""
    env = {**demo_env, "BH_PROFILE": str(DEMO_PROFILE), "BH_COLLECTION": "tenant_acme", "DATABASE_URL": embedded_db.dsn}
    out = pytest_header(tmp_path, env=env)
    assert "statement_timeout_ms: None" not in out, out
    assert re.search(r"statement_timeout_ms: 6\d{4} \(from default: 60000 plus 60000 per GB of the chunk and embedding "
                     r"tables\)", out), out
