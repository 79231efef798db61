"""Step 5, verify: run the DONE checks (``pytest checks/``) for the collection and read each outcome back.

pytest runs as a subprocess with its own ``--junitxml``; the outcomes come from
that file, so the step depends only on pytest's reporting, not on the suite. An
unproven check comes back as a skip whose message starts with ``unproven:``; the
verdict is ``harness.checks.verdict``'s rule, the one the plugin applies.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Mapping
from typing import Any

from .. import installed, redact
from ..checks.outcome import Outcome, Status
from ..checks.verdict import Verdict, done
from ..errors import ConfigError
from ..evidence import write_json_atomic
from ..historylog import tables_of
from ..output import fields_dict
from ..settings import Settings
from .common import backfill_env

# The pytest face of the checks: the checkout's checks/, or the copy a plain pip install ships.
CHECKS_DIR = installed.find(installed.candidates("checks"), ("__init__.py", "test_coverage.py")) \
    or installed.CHECKOUT / "checks"
VERIFY_FILE = "verify.json"
JUNIT_FILE = "junit.xml"
OFFENDERS_FILE = "offenders.jsonl"


@dataclass(frozen=True)
class VerifyResult:
    collection: str
    command: str
    exit_code: int  # pytest's
    seconds: float
    checks: tuple[Outcome, ...]
    output_tail: str = ""
    # where and of what model the checks measured (secrets masked): record refuses a verify of another database's
    database: str | None = None
    model: str | None = None
    tables: str | None = None  # the profile's tables the checks read (tables_of): record refuses another's

    @property
    def counts(self) -> dict[str, int]:
        out = {str(status): 0 for status in Status}
        for c in self.checks:
            out[str(c.status)] += 1
        return out

    @property
    def verdict(self) -> Verdict:
        return done(self.checks)

    @property
    def ok(self) -> bool:
        """DONE: no check failed, one passed, every unproven claim covered by a passing recompute bound; pytest exit 0."""
        return self.verdict.ok and self.exit_code == 0

    @property
    def reason(self) -> str | None:
        if self.ok:
            return None
        failed = [c for c in self.checks if c.status == Status.FAILED]
        if failed:
            return "; ".join(f"{label(c)}: {detail(c)}" for c in failed[:5])
        if not self.checks:
            # why, where pytest said it (a bad profile, a refused --collection raise before any check starts)
            said = [line[len("ERROR: "):] for line in self.output_tail.splitlines() if line.startswith("ERROR: ")]
            return f"no DONE check ran (pytest exit code {self.exit_code})" + (f": {said[-1]}" if said else "")
        if not self.verdict.ok:
            return self.verdict.reason
        return f"pytest exit code {self.exit_code}"

    def tally(self) -> str:
        """The checks by status in one phrase, the unproven ones (and what covers them) never left out."""
        c = self.counts
        said = f"{c['passed']} passed, {c['skipped']} skipped"
        if c["unproven"]:
            covered = ", ".join(f"{x.check} [{x.collection}]" for x in self.verdict.covered)
            said += f", {c['unproven']} unproven" + (f" (covered by recompute's bound: {covered})" if covered else "")
        return said

    def as_dict(self) -> dict[str, Any]:
        covered = [f"{c.check} [{c.collection}]" for c in self.verdict.covered]
        return {"ok": self.ok, "reason": self.reason, "unproven_covered_by_recompute": covered,
                **fields_dict(self, seconds=round(self.seconds, 3), counts=self.counts)}

    def text(self) -> str:
        c = self.counts
        lines = [f"DONE checks for {self.collection}: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped, "
                 f"{c['unproven']} unproven ({self.seconds:.1f} s)"]
        for check in self.checks:
            mark = _MARKS[check.status]
            lines.append(f"  [{mark}] {label(check)}" + (f": {detail(check)}" if detail(check) else "")
                         + (f" (read: {check.metrics['read']})" if check.metrics.get("read") else ""))
        if not self.ok:
            lines.append(f"Verify FAILED: {self.reason}")
        return "\n".join(lines)


_MARKS = {Status.PASSED: "ok  ", Status.FAILED: "FAIL", Status.SKIPPED: "skip", Status.UNPROVEN: "UNPR"}
# A check the plugin reports as unproven reaches junit as a skip whose message says so ("unproven: ..." or
# "<check> [<collection>] unproven: ...", Outcome.message()'s form).
_UNPROVEN = re.compile(r"^(?:\S+(?: \[[^\]]*\])? )?unproven:\s*")
_NOT_METRICS = {"check", "collection", "status", "expected", "found", "offending_kept"}


def label(outcome: Outcome) -> str:
    """The check's name as people read it: ``coverage [tenant_acme]``."""
    return outcome.check + (f" [{outcome.collection}]" if outcome.collection else "")


def detail(outcome: Outcome) -> str:
    """One line: why it failed, skipped or stays unproven (a pass needs none; its figures are in the JSON)."""
    if outcome.status == Status.PASSED:
        return ""
    if outcome.note:
        return outcome.note
    if outcome.expected or outcome.found:
        return f"expected {outcome.expected}; found {outcome.found}"
    return ""


def _status_of(case: ET.Element) -> tuple[Status, str]:
    for child in case:
        if child.tag in ("failure", "error"):
            raw = (child.get("message") or child.text or "").strip()
            return Status.FAILED, raw.splitlines()[0] if raw else child.tag
        if child.tag == "skipped":
            message = child.get("message") or ""
            unproven = _UNPROVEN.match(message)
            if unproven:
                return Status.UNPROVEN, message[unproven.end():]
            return Status.SKIPPED, message
    return Status.PASSED, ""


def _offending(props: dict[str, str]) -> str:
    """Where a failing check's offenders are: offenders.jsonl keeps the rows (with a key), never the findings
    that name no row (a spot query that misses its source)."""
    total, ids = int(props["offending_total"]), props.get("offending_ids") or "-"
    keyless = int(props.get("offending_keyless") or 0)
    kept = int(props.get("offending_kept") or 0)  # set where the file keeps fewer rows than offend (OFFENDERS_CAP)
    if not keyless:
        return f"{total} offending rows; first ids: {ids}; " + (
            f"{OFFENDERS_FILE} keeps the first {kept}" if kept else f"all in {OFFENDERS_FILE}")
    if keyless >= total:
        return f"{total} findings name no row: not in {OFFENDERS_FILE}"
    return (f"{total} offending: {total - keyless} rows " + (f"(the first {kept}) " if kept else "")
            + f"in {OFFENDERS_FILE} (first ids: {ids}); "
            f"{keyless} {'names' if keyless == 1 else 'name'} no row")


def parse_junit(path: str | Path) -> tuple[Outcome, ...]:
    """Each testcase of a pytest junit.xml as an ``Outcome`` (the check plugin's properties give check and figures)."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return ()
    results = []
    for case in root.iter("testcase"):
        classname = case.get("classname", "")
        name = case.get("name", "")
        module = classname.rsplit(".", 1)[-1] if classname else ""
        props = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        status, message = _status_of(case)
        if props.get("status") in {str(s) for s in Status}:
            status = Status(props["status"])
        check = props.get("check") or (f"{module}::{name}" if module else name)
        collection = props.get("collection") or None  # the plugin records it; a custom check has none
        metrics: dict[str, Any] = {k: v for k, v in props.items() if k not in _NOT_METRICS}
        metrics["seconds"] = float(case.get("time") or 0)
        if status == Status.FAILED and props.get("offending_total"):
            message = f"{message} ({_offending(props)})"
        note = " ".join(redact.redact(message).split())[:1000]
        results.append(Outcome(check, collection, status, expected=redact.redact(props.get("expected", "")),
                               found=redact.redact(props.get("found", "")), metrics=metrics,
                               note="" if status == Status.PASSED else note))
    return tuple(results)


PLUGIN = "harness.pytest_plugin"


def checks_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment the checks' pytest runs in: our plugin alone. Other installed plugins (tracers, reporters) were
    loaded into every verify (langsmith's and ddtrace's imports took 2-9 s) and could change what a check reports;
    PYTEST_ADDOPTS could deselect checks."""
    # The checks' own settings (BH_*) are verify's to give, but for the statement timeout it has no flag of its own:
    # a BH_DATABASE_URL left exported from a pytest checks/ run won over DATABASE_URL, and verify said DONE over
    # another database's vectors (BH_MAX_BAD_FRACTION loosened the bound the profile sets, unsaid).
    env = {k: v for k, v in environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")
           and not (k.startswith("BH_") and k != "BH_STATEMENT_TIMEOUT_MS")}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def isolated_from_the_project(checks: Path) -> list[str]:
    """pytest's arguments that read no configuration file and no conftest above the checks folder: installed under a
    project's virtual environment, the project's pytest.ini (its addopts could deselect a check) and conftest.py sit
    above it."""
    return ["-c", os.devnull, "--rootdir", str(checks), "--confcutdir", str(checks)]


def verify(settings: Settings, collection: str, run_dir: str | Path, *, checks_dir: str | Path | None = None,
           sample: int | str | None = None, max_bad_fraction: float | None = None,
           historylog: str | Path | None = None, timeout_s: float = 1800) -> VerifyResult:
    """Run the checks suite for one collection; write junit.xml and verify.json into the run folder."""
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    # Absolute: pytest runs from the folder's parent, where a path relative to ours names another folder.
    checks = (Path(checks_dir) if checks_dir else CHECKS_DIR).resolve()
    if not checks.is_dir():
        raise ConfigError(f"no DONE checks folder at {checks}; expected the checks/ suite of backfill-harness")
    if settings.profile.path is None:
        raise ConfigError("verify needs a profile file to hand to the checks suite")
    junit = run_dir / JUNIT_FILE
    junit.unlink(missing_ok=True)
    (run_dir / OFFENDERS_FILE).unlink(missing_ok=True)  # the plugin writes this run's; never an older run's
    argv = [sys.executable, "-m", "pytest", str(checks), "--bh-profile", str(Path(settings.profile.path).resolve()),
            "--bh-collection", collection, "--bh-run-dir", str(run_dir), f"--junitxml={junit}", "-q", "-p", "no:cacheprovider",
            "-p", PLUGIN, *isolated_from_the_project(checks)]
    if historylog:
        argv += ["--bh-historylog", str(Path(historylog).resolve())]
    if sample:
        argv += ["--bh-sample", str(sample)]
    if max_bad_fraction:
        argv += ["--bh-max-bad-fraction", repr(float(max_bad_fraction))]
    env = {**checks_environment(os.environ), **backfill_env(settings, collection)}
    if settings.model:  # the model the checks measure is this command's (--model), not the profile's alone
        env["BH_MODEL"] = settings.model
    if settings.database_url:  # and the database this command resolved (--database-url, DATABASE_URL, the profile)
        env["BH_DATABASE_URL"] = settings.database_url
    started = time.perf_counter()
    try:
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, errors="replace", timeout=timeout_s,
                              cwd=checks.parent)
        code, output = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        code, output = 124, f"{partial}\nchecks timed out after {timeout_s:g} s"
    result = VerifyResult(collection, redact.redact(" ".join(argv)), code, time.perf_counter() - started,
                          parse_junit(junit), redact.redact("\n".join(str(output).splitlines()[-30:])),
                          database=redact.safe_dsn(settings.database_url), model=settings.model,
                          tables=tables_of(settings.profile))
    write_json_atomic(run_dir / VERIFY_FILE, result.as_dict())
    return result
