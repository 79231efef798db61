"""Completed: the last recorded backfill run of the collection ended with exit code 0, no reported failure,
and the database afterwards said no row of the collection still needed a vector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..db import where_connects
from ..errors import ConfigError
from ..model_names import same_model
from ..evidence import RUN_FILE, RunEvidence, read_evidence
from ..redact import safe_dsn
from .outcome import SKIP, Outcome, skipped, unproven, verdict
from .session import CheckSession


def _field(entry: Any, name: str) -> Any:
    if isinstance(entry, dict):
        return entry.get(name)
    return getattr(entry, name, None)


EXPECTED = "exit code 0, no failed rows reported, not timed out, 0 rows still needing a vector afterwards"


def from_run_dir(run_dir: Path, collection: str, database_url: str | None = None,
                 tables: str | None = None, model: str | None = None) -> Outcome | None:
    if not (Path(run_dir) / RUN_FILE).exists():
        return None
    ev = read_evidence(run_dir)
    if ev.collection != collection:
        return skipped("completed", collection, f"{Path(run_dir) / RUN_FILE} records collection {ev.collection!r}, not this one")
    filled = ev.settings.get("tables") if isinstance(ev.settings, dict) else None
    if filled and tables and filled != tables:
        # Another profile's run of a collection of the same name (another table): it filled none of these tables.
        return skipped("completed", collection, f"{Path(run_dir) / RUN_FILE} records a run that filled {filled}, not "
                                                f"{tables}: no run of this profile's tables is recorded there")
    ran_in = ev.settings.get("database_url") if isinstance(ev.settings, dict) else None
    if where_connects(ran_in) and where_connects(database_url) and where_connects(ran_in) != where_connects(database_url):
        # Another database's run (staging's folder given to production's checks): its closing count is not this one's.
        return skipped("completed", collection, f"{Path(run_dir) / RUN_FILE} records a run against database {ran_in}, "
                                                f"not {safe_dsn(database_url)}: no run of this database is recorded there")
    embedded_with = ev.settings.get("model") if isinstance(ev.settings, dict) else None
    if embedded_with and model and not same_model(str(embedded_with), model):
        # The run folder of the model before a switch: its closing count measured that model's vectors, not these.
        return skipped("completed", collection, f"{Path(run_dir) / RUN_FILE} records a run of model {embedded_with}, "
                                                f"not {model}: no run of this model is recorded there")
    where = f"{Path(run_dir) / RUN_FILE}, finished {ev.finished_at}"
    found = "; ".join(ev.problems) if ev.problems else (
        f"exit code 0, {ev.failed_rows if ev.failed_rows is not None else 'no'} failed rows reported, "
        f"0 of {ev.counts_after.get('chunks')} rows still needed")
    return verdict("completed", collection, ev.ok, expected=EXPECTED, found=f"{found} ({where})",
                   metrics={"exit_code": ev.exit_code, "failed_rows": ev.failed_rows, "remaining": ev.remaining,
                            "source": str(Path(run_dir) / RUN_FILE)})


def from_historylog(path: Path, collection: str, database: Any = None, tables: str | None = None,
                    model: str | None = None) -> Outcome | None:
    """The newest entry of a run that filled the collection (of ``tables``, the profile's, with ``model``), trusted only while the
    chain is intact and, given ``database`` (a historylog_anchor.AnchorView), while that database anchors it and the
    log agrees with its anchors."""
    try:
        from ..historylog import broken, latest_entry, verify  # written by another part of the project
        from ..historylog_anchor import compare, trusted
    except ImportError:
        return skipped("completed", collection, "harness.historylog.latest_entry is not available to read the historylog")
    if not Path(path).is_file():
        # A historylog named but not there (a typo, another folder) proves no run: not "no run recorded", which
        # would let DONE through unsaid.
        said = "is a folder" if Path(path).is_dir() else "does not exist"
        return unproven("completed", collection, f"the historylog {path} {said}: it proves no run",
                        expected=f"{EXPECTED}, in an existing historylog", found=f"{path} {said}",
                        metrics={"source": str(path)})
    # An entry is evidence only while the chain vouches for it: one edited by hand (exit code 3 made 0) is not.
    chain = verify(path)
    if not chain.ok:
        return verdict("completed", collection, False, expected=f"{EXPECTED}, in a historylog whose chain is intact",
                       found=broken(chain), metrics={"source": str(path)})
    # An --into run's entry is filed under the live collection with the new one's counts: only the filled one's counts.
    entry = latest_entry(path, collection, filled=True, tables=tables, model=model)
    if entry is None:
        return None
    if database is not None:
        distrust = trusted(compare(path, database), entry)
        if distrust is not None:
            return unproven("completed", collection, f"the historylog's entry is not trusted: {distrust}",
                            expected=f"{EXPECTED}, in an entry anchored in the target database",
                            found=distrust, metrics={"source": str(path)})
    code = _field(entry, "exit_code")
    failed = _field(entry, "failed_rows")
    after = _field(entry, "counts_after") or {}
    remaining = after.get("needed") if isinstance(after, dict) else None
    # The one rule of a run's evidence (RunEvidence.problems), as run.json is judged: the exit code, failed rows and
    # rows needed alone passed a run that left all-zero vectors, duplicate rows or vectors of another dimension; the
    # closing count alone, one that deleted the chunks it did not embed (``state.shrank`` reads the count before).
    problems = [] if isinstance(code, int) else [f"exit code {code}"]
    problems += RunEvidence(collection=collection, command="", exit_code=code if isinstance(code, int) else 0,
                            started_at="", finished_at="", seconds=0.0,
                            failed_rows=failed if isinstance(failed, int) else None,
                            counts_after=after if isinstance(after, dict) else {},
                            counts_before=before if isinstance(before := _field(entry, "counts_before"), dict)
                            else {}).problems
    found = "; ".join(problems) or "exit code 0, no failed rows reported, 0 rows still needed"
    if tables is not None and _field(entry, "tables") is None:
        found += "; the entry names no tables (recorded before entries did): it may be another profile's of this name"
    return verdict("completed", collection, not problems, expected=EXPECTED, found=f"{found} (historylog {path})",
                   metrics={"exit_code": code, "failed_rows": failed, "remaining": remaining, "source": str(path)})


def completed(session: CheckSession, collection: str) -> Outcome:
    from ..historylog import tables_of

    opts = session.options
    elsewhere: Outcome | None = None  # a run folder of another database, profile or model: no run of this one's
    if opts.run_dir is not None:
        try:
            outcome = from_run_dir(opts.run_dir, collection, session.database_url, tables_of(session.profile),
                                   session.model)
        except ConfigError as exc:
            return verdict("completed", collection, False, "readable run evidence", str(exc))
        if outcome is not None and outcome.status != SKIP:
            return outcome
        elsewhere = outcome  # the historylogs given may still record this one's run
    database = None
    if opts.historylogs:
        from ..errors import HarnessError
        from ..historylog_anchor import read

        try:
            with session.read_only() as conn:
                database = read(conn)
        except HarnessError as exc:
            return unproven("completed", collection, f"the historylog anchors in the target database cannot be read: "
                                                     f"{exc}; expected SELECT on backfill_harness.historylog_anchors")
    for path in opts.historylogs:
        outcome = from_historylog(path, collection, database, tables_of(session.profile), session.model)
        if outcome is not None:
            return outcome
    if elsewhere is not None:
        return elsewhere
    where = [f"{opts.run_dir}/{RUN_FILE}"] if opts.run_dir else []
    where += [str(p) for p in opts.historylogs]
    return skipped("completed", collection,
                   f"no recorded run for this collection in {', '.join(where)}" if where
                   else "no run evidence: pass --run-dir DIR (run.json) or --historylog PATH")
