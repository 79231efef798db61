"""Step 6, record: one historylog entry from the run folder's evidence, at the top of each historylog."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import historylog, redact
from ..checks.outcome import Outcome, Status
from ..db import where_connects
from ..errors import ConfigError
from ..evidence import RUN_FILE
from ..historylog import CheckOutcome, HistoryEntry
from ..historylog_anchor import DatabaseAnchoring, claimed_database
from ..model_names import same_model
from ..settings import Settings
from .common import git_commit, utc_now, who
from .verify import VERIFY_FILE, detail, label

DEFAULT_HISTORYLOG = Path("historylog.md")


@dataclass(frozen=True)
class RecordResult:
    entry: HistoryEntry
    paths: tuple[str, ...]
    written: tuple[HistoryEntry, ...] = ()  # the entry as each log got it (its own link and hash)

    @property
    def ok(self) -> bool:
        return True

    @property
    def anchored(self) -> bool:
        return all(claimed_database(e.anchor)[1] for e in self.written or (self.entry,))

    def as_dict(self) -> dict[str, Any]:
        return {"ok": True, "paths": list(self.paths), "entry": self.entry.as_dict(), "anchored": self.anchored,
                "anchors": [{"path": p, "sha256": e.sha256, "anchored": claimed_database(e.anchor)[1], "anchor": e.anchor}
                            for p, e in zip(self.paths, self.written)]}

    def text(self) -> str:
        e = self.entry
        lines = [f"Recorded {e.outcome} run of {e.collection} ({e.model}) at the top of "
                 f"{', '.join(self.paths)} (sha256 {str(e.sha256)[:12]}…)"]
        for path, written in zip(self.paths, self.written):
            lines.append(f"  {path}: anchored in {written.anchor}" if claimed_database(written.anchor)[1] else
                         f"  {path}: {written.anchor} (unproven: historylog verify cannot compare it with the database)")
        return "\n".join(lines)


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _outcome(check: dict[str, Any]) -> Outcome:
    """One check of verify.json back as an Outcome."""
    status = check.get("status")
    return Outcome(str(check.get("check") or "?"), check.get("collection"),
                   Status(status) if status in set(Status) else Status.FAILED,
                   expected=check.get("expected") or "", found=check.get("found") or "", note=check.get("note") or "")


def _history_check(check: dict) -> CheckOutcome:
    """One outcome of verify.json as the historylog keeps it (name, status, one line of why; a sample's pass, what its
    sample proves: 'recompute passed' on 10 rows at a 50% bound read as one on every row at 1%)."""
    outcome = _outcome(check)
    sampled = outcome.status == Status.PASSED and "sampled" in (check.get("metrics") or {})
    return CheckOutcome(label(outcome), str(check.get("status") or "error"), outcome.found if sampled else detail(outcome))


def first_failure(checked: dict[str, Any]) -> str | None:
    """The first failing DONE check's message (from verify.json), the cause a failure is recorded with."""
    for check in checked.get("checks") or []:
        if check.get("status") == Status.FAILED:
            outcome = _outcome(check)
            return f"{label(outcome)}: {detail(outcome)}"
    return None


def gates_of(plan: dict[str, Any], run: dict[str, Any]) -> list[str]:
    """Every gate that refused or was skipped, as recorded in the run folder: no plan, scope refused or overridden."""
    gates = []
    if not plan:
        gates.append("plan skipped: no plan.json in the run folder")
    gate = run.get("gate") or {}
    if run and not gate:
        gates.append("scope gate not recorded: run.json predates the gate or was written by another tool")
    elif gate.get("status") == "overridden":
        gates.append(f"scope refused, overridden ({gate.get('override')}): {gate.get('reason')}")
    elif gate.get("status") == "refused":
        gates.append(f"scope refused: {gate.get('reason')}")
    return gates


def _require_this_run(run_dir: Path | None, settings: Settings, collection: str, plan: dict, run: dict,
                      checked: dict) -> None:
    """Refuse a run folder whose files are another run's: another collection's (the run and the checks may be of the
    collection --into filled, plan.json's target), another database's, or another model's. Its entry would say this
    target's collection succeeded (anchored in this database, under this model) on what another run measured."""
    if run_dir is None:
        return
    shown = run.get("settings") or {}
    here = where_connects(settings.database_url)
    for name, what, dsn in ((RUN_FILE, "a run", shown.get("database_url")),
                            (VERIFY_FILE, "DONE checks", checked.get("database"))):
        ran_in = where_connects(dsn)
        if ran_in and here and ran_in != here:
            raise ConfigError(f"{run_dir / name} records {what} against database {dsn}, not "
                              f"{redact.safe_dsn(settings.database_url)}; expected the run folder of a run against "
                              "this database (nothing was recorded)")
    mine = historylog.tables_of(settings.profile)
    for name, what, tables in ((RUN_FILE, "a run that filled", shown.get("tables")),
                               (VERIFY_FILE, "DONE checks of", checked.get("tables"))):
        if tables and tables != mine:
            raise ConfigError(f"{run_dir / name} records {what} {tables}, not {mine}; expected the run folder of a "
                              "run of this profile's tables (nothing was recorded)")
    for name, model in ((RUN_FILE, shown.get("model")), ("plan.json", plan.get("model")),
                        (VERIFY_FILE, checked.get("model"))):
        if model and not same_model(model, settings.model):
            raise ConfigError(f"{run_dir / name} records model {model!r}, not {settings.model!r}; expected --model "
                              f"{model} (the model the run embedded with), or the run folder of a run of "
                              f"{settings.model!r} (nothing was recorded)")
    into = plan.get("target_collection") if plan.get("collection") == collection else None
    allowed = {collection, into} - {None}
    for name, data, key in (("plan.json", plan, "collection"), (RUN_FILE, run, "collection"),
                            (VERIFY_FILE, checked, "collection")):
        found = data.get(key)
        if found is not None and found not in allowed and not (name == "plan.json" and data.get("target_collection") == collection):
            raise ConfigError(f"{run_dir / name} records collection {found!r}, not {collection!r}; expected the run folder "
                              f"of a run of {collection!r} (nothing was recorded)")
    # The run's DONE checks are of the collection it filled: beside a run --into NEW, the live collection's (which it
    # left untouched, so they pass) prove nothing of NEW.
    filled, of = run.get("collection"), checked.get("collection")
    if filled and of is not None and of != filled:
        raise ConfigError(f"{run_dir / VERIFY_FILE} records DONE checks of {of!r}, not of {filled!r}, the collection "
                          f"the run filled; expected the DONE checks of {filled!r} (verify --collection {filled} "
                          f"--run-dir {run_dir}) (nothing was recorded)")


def entry_from_run(settings: Settings, collection: str, run_dir: str | Path | None, *, outcome: str | None = None,
                   reason: str | None = None, repo: str | Path | None = None,
                   gates: list[str] | tuple[str, ...] = ()) -> HistoryEntry:
    """Build the entry from plan.json, run.json and verify.json (whichever exist); outcome derived unless given.

    ``gates`` adds what the caller saw (e.g. the procedure's scope refusal) to the gates read from the run folder.
    """
    run_dir = Path(run_dir) if run_dir else None
    plan = _read(run_dir / "plan.json") if run_dir else {}
    run = _read(run_dir / RUN_FILE) if run_dir else {}
    checked = _read(run_dir / VERIFY_FILE) if run_dir else {}
    _require_this_run(run_dir, settings, collection, plan, run, checked)
    checks = tuple(_history_check(c) for c in checked.get("checks", []))
    if outcome is None:
        run_ok = bool(run) and run.get("ok", False)
        verify_ok = not checked or checked.get("ok", False)
        outcome = "succeeded" if run_ok and verify_ok and checked else "failed"
        if reason is None and outcome == "failed":
            if not run:
                reason = "no run evidence (run.json) in the run folder"
            elif not run_ok:
                reason = "the backfill did not complete: " + ("; ".join(run.get("problems") or [])
                                                              or f"exit code {run.get('exit_code')}")
            elif not checked:
                reason = "the DONE checks did not run (no verify.json)"
            else:
                reason = first_failure(checked) or f"DONE checks failed: {checked.get('reason')}"
    p = settings.profile
    env = (run.get("settings") or {}).get("env") or plan.get("env") or {}
    return HistoryEntry(
        when=utc_now(), who=who(repo), collection=collection,
        target_collection=run.get("collection") or plan.get("target_collection") or collection,
        tables=historylog.tables_of(p), profile=p.name, model=settings.model, outcome=outcome,
        dimensions=settings.dimensions,
        # what each chunk was embedded as: its text after the task prefix (quoted, so its last space survives)
        chunking={"max_chunk_size": p.chunking.max_chunk_size, "overlap": p.chunking.overlap,
                  **({"text_prefix": repr(p.chunks.text_prefix)} if p.chunks.text_prefix else {})},
        batch_size=settings.batch_size, command=run.get("command") or plan.get("command"), settings=env,
        counts_before=run.get("counts_before") or (plan.get("rows") or {}),
        counts_after=run.get("counts_after") or {},
        duration_s=run.get("seconds"), exit_code=run.get("exit_code"), failed_rows=run.get("failed_rows"),
        reason=reason, repo_commit=git_commit(repo), run_dir=str(run_dir) if run_dir else None, checks=checks,
        in_process_model=p.backfill.in_process_model if p.backfill.embeds_in_process else None,
        truncation=(f"the model's vectors truncated to {p.provider.request_dimensions} and re-normalised (Ollama's "
                    "dimensions, provider.request_dimensions)") if p.provider.request_dimensions else None,
        gates=tuple(dict.fromkeys([*gates, *gates_of(plan, run)])),
    )


def record(entry: HistoryEntry, paths: list[str | Path] | tuple[str | Path, ...] = (),
           database_url: str | None = None) -> RecordResult:
    """Append the entry at the top of every historylog given (historylog.md in the current folder by default), each
    anchored in the target database (or saying why it is not)."""
    targets = list(dict.fromkeys(Path(p) for p in (paths or [DEFAULT_HISTORYLOG])))
    with DatabaseAnchoring.opened(database_url) as anchoring:
        written = tuple(historylog.append(path, entry, anchoring) for path in targets)
    return RecordResult(written[0], tuple(str(p) for p in targets), written)
