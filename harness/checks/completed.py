"""Completed: the last recorded backfill run of the collection ended with exit code 0 and no failed rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..evidence import RUN_FILE, read_evidence
from .outcome import Outcome, skipped, verdict
from .session import CheckSession


def _field(entry: Any, name: str) -> Any:
    if isinstance(entry, dict):
        return entry.get(name)
    return getattr(entry, name, None)


def from_run_dir(run_dir: Path, collection: str) -> Outcome | None:
    if not (Path(run_dir) / RUN_FILE).exists():
        return None
    ev = read_evidence(run_dir)
    if ev.collection != collection:
        return skipped("completed", collection, f"{Path(run_dir) / RUN_FILE} records collection {ev.collection!r}, not this one")
    return verdict("completed", collection, ev.ok, expected="exit code 0, no failed rows, not timed out",
                   found=f"exit code {ev.exit_code}, {ev.failed_rows if ev.failed_rows is not None else 'unknown'} failed rows"
                         f"{', timed out' if ev.timed_out else ''} ({Path(run_dir) / RUN_FILE}, finished {ev.finished_at})",
                   metrics={"exit_code": ev.exit_code, "failed_rows": ev.failed_rows, "source": str(Path(run_dir) / RUN_FILE)})


def from_historylog(path: Path, collection: str) -> Outcome | None:
    try:
        from ..historylog import latest_entry  # written by another part of the project; absent in older trees
    except ImportError:
        return skipped("completed", collection, "harness.historylog.latest_entry is not available to read the historylog")
    entry = latest_entry(path, collection)
    if entry is None:
        return None
    code = _field(entry, "exit_code")
    failed = _field(entry, "failed_rows")
    ok = code == 0 and not failed and not _field(entry, "timed_out")
    return verdict("completed", collection, ok, expected="exit code 0, no failed rows",
                   found=f"exit code {code}, {failed if failed is not None else 'unknown'} failed rows (historylog {path})",
                   metrics={"exit_code": code, "failed_rows": failed, "source": str(path)})


def completed(session: CheckSession, collection: str) -> Outcome:
    opts = session.options
    if opts.run_dir is not None:
        try:
            outcome = from_run_dir(opts.run_dir, collection)
        except ConfigError as exc:
            return verdict("completed", collection, False, "readable run evidence", str(exc))
        if outcome is not None:
            return outcome
    for path in opts.historylogs:
        outcome = from_historylog(path, collection)
        if outcome is not None:
            return outcome
    where = [f"{opts.run_dir}/{RUN_FILE}"] if opts.run_dir else []
    where += [str(p) for p in opts.historylogs]
    return skipped("completed", collection,
                   f"no recorded run for this collection in {', '.join(where)}" if where
                   else "no run evidence: pass --run-dir DIR (run.json) or --historylog PATH")
