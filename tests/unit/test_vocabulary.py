"""The library's shared vocabulary: one top-level surface, exit codes as an enum, errors translated, as_dict derived."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import psycopg
import pytest

import harness
from harness.backfill.engine import BackfillSummary, RowFailure
from harness.backfill.workers import WorkersSummary
from harness.checks.outcome import Outcome, Status
from harness.db import translate_errors
from harness.errors import ConfigError, DatabaseError, ExitCode, HarnessError, RefusedError
from harness.state import CollectionState
from harness.steps.verify import VerifyResult


def test_the_package_exports_what_a_python_caller_needs():
    for name in ("resolve", "Settings", "run_backfill", "BackfillOptions", "open_session", "CheckOptions", "run_all",
                 "scope", "Outcome", "Status", "HarnessError", "DatabaseError", "ExitCode"):
        assert name in harness.__all__ and getattr(harness, name) is not None, name


def test_importing_the_package_loads_neither_psycopg_nor_httpx():
    # The pytest plugin imports harness in every pytest run of the environment: it must stay cheap.
    code = "import sys, harness; print(sorted(m for m in ('psycopg', 'httpx', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_errors_carry_exit_codes_from_the_enum():
    assert (HarnessError.exit_code, ConfigError.exit_code, RefusedError.exit_code) == (
        ExitCode.FAILED, ExitCode.REFUSED, ExitCode.REFUSED)
    assert int(ExitCode.REFUSED) == 2


def test_a_psycopg_error_leaves_the_library_as_a_database_error_with_its_sqlstate():
    with pytest.raises(DatabaseError, match="statement: database error: canceling statement") as err:
        with translate_errors("statement"):
            raise psycopg.errors.QueryCanceled("canceling statement due to statement timeout")
    assert isinstance(err.value, HarnessError)
    assert err.value.sqlstate == "57014"


def test_a_translated_error_never_shows_the_password():
    from harness import redact

    redact.register("s3cret-pw")
    with pytest.raises(DatabaseError) as err:
        with translate_errors():
            raise psycopg.OperationalError("connection to postgresql://u:s3cret-pw@h/db failed")
    assert "s3cret-pw" not in str(err.value)


def _every_field_in(result, data: dict) -> None:
    missing = [f.name for f in dataclasses.fields(result) if f.name not in data]
    assert not missing, f"{type(result).__name__}.as_dict leaves out {missing}"


def test_the_backfill_summary_keeps_every_field_including_embed_and_write_seconds():
    summary = BackfillSummary("c", "m", False, CollectionState("c", 1, 0, 1, 0, 0, 1), embed_seconds=1.25,
                              write_seconds=0.5, failures=[RowFailure(1, "c", None, "bad")])
    data = summary.as_dict()
    _every_field_in(summary, data)
    assert (data["embed_seconds"], data["write_seconds"]) == (1.25, 0.5)
    assert data["failures"] == [{"key": 1, "collection": "c", "tenant": None, "reason": "bad"}]


def test_the_workers_summary_and_verify_result_keep_every_field():
    _every_field_in(WorkersSummary("r"), WorkersSummary("r").as_dict())
    verify = VerifyResult("c", "pytest", 0, 1.0, (Outcome("coverage", "c", Status.PASSED),))
    data = verify.as_dict()
    _every_field_in(verify, data)
    assert data["checks"][0]["status"] == "passed"


def test_the_package_is_typed():
    from importlib.resources import files

    assert files("harness").joinpath("py.typed").is_file()
