"""Run the DONE checks suite the way the procedure's verify step does (a pytest subprocess + junit.xml) and read it."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from harness.steps.verify import PLUGIN, isolated_from_the_project

REPO = Path(__file__).resolve().parents[2]
CHECKS = REPO / "checks"


@dataclass
class ChecksRun:
    code: int
    output: str
    results: dict[str, str] = field(default_factory=dict)  # test name -> passed / failed / skipped
    messages: dict[str, str] = field(default_factory=dict)
    properties: dict[str, dict[str, str]] = field(default_factory=dict)  # junit <property> elements per test

    def with_status(self, status: str) -> set[str]:
        return {name for name, s in self.results.items() if s == status}

    @property
    def failed(self) -> set[str]:
        return self.with_status("failed") | self.with_status("error")


def run_checks(tmp_path: Path, *args: str, env: dict[str, str] | None = None, files: tuple[str, ...] = (),
               autoload: bool = False) -> ChecksRun:
    """``python -m pytest checks ARGS --junitxml`` in a subprocess; results keyed by test name (``test_coverage[c]``);
    ``autoload``: with every installed plugin, as a user's ``pytest checks/`` runs."""
    junit = tmp_path / "junit.xml"
    targets = [str(CHECKS / f) for f in files] or [str(CHECKS)]
    # Else our plugin alone, reading no project's configuration, as verify runs it: the other plugins installed here
    # (langsmith's, ddtrace's, hypothesis') cost each run about 4 CPU-s of imports.
    alone = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"} if not autoload else {}
    proc = subprocess.run([sys.executable, "-m", "pytest", *targets, *args, "--junitxml", str(junit), "-q",
                           "-p", "no:cacheprovider", *([] if autoload else ["-p", PLUGIN, *isolated_from_the_project(CHECKS)])],
                          cwd=tmp_path,
                          env={**os.environ, **(env or {}), **alone}, capture_output=True, text=True, timeout=300)
    run = ChecksRun(proc.returncode, proc.stdout + proc.stderr)
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            name = case.get("name")
            status, message = "passed", ""
            for tag in ("failure", "error", "skipped"):
                node = case.find(tag)
                if node is not None:
                    status = {"failure": "failed"}.get(tag, tag)
                    message = (node.get("message") or "") + "\n" + (node.text or "")
            run.results[name] = status
            run.properties[name] = {p.get("name"): p.get("value") for p in case.iter("property")}
            run.messages[name] = message
    return run
