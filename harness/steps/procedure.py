"""All steps in order: scope, locate, plan, run, verify, record. Stops at the first failing gate; always records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import redact
from ..errors import HarnessError
from ..settings import Settings
from .common import BackfillCommand, backfill_command, default_run_dir
from .gate import GateDecision, decide
from .locate import LocateResult, locate
from .plan import Plan, make_plan
from .record import RecordResult, entry_from_run, first_failure, record
from ..evidence import RUN_FILE
from .run import OUTPUT_FILE, count_text, run_command
from .scope import ScopeResult, scope
from .verify import JUNIT_FILE, OFFENDERS_FILE, VERIFY_FILE, VerifyResult, verify

STEPS = ("scope", "locate", "plan", "run", "verify", "record")
# What the steps write into the run folder, which the entry is built from.
WRITTEN = ("plan.json", "plan.md", RUN_FILE, OUTPUT_FILE, VERIFY_FILE, JUNIT_FILE, OFFENDERS_FILE)


@dataclass(frozen=True)
class StepOutcome:
    step: str
    status: str  # ok / failed / refused / skipped
    summary: str


@dataclass
class ProcedureResult:
    collection: str
    run_dir: str
    steps: list[StepOutcome] = field(default_factory=list)
    stopped_at: str | None = None
    reason: str | None = None
    exit_code: int = 0
    scope: ScopeResult | None = None
    located: LocateResult | None = None
    plan: Plan | None = None
    run: Any = None  # RunEvidence
    verify: VerifyResult | None = None
    record: RecordResult | None = None
    gate: GateDecision | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def outcome(self) -> str:
        if self.ok:
            return "succeeded"
        return "refused" if self.exit_code == 2 else "failed"

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "outcome": self.outcome, "exit_code": self.exit_code, "collection": self.collection,
            "run_dir": self.run_dir, "stopped_at": self.stopped_at, "reason": self.reason,
            "steps": [s.__dict__ for s in self.steps],
            "scope": self.scope.as_dict() if self.scope else None,
            "locate": self.located.as_dict() if self.located else None,
            "plan": self.plan.as_dict() if self.plan else None,
            "run": self.run.as_dict() if self.run else None,
            "verify": self.verify.as_dict() if self.verify else None,
            "record": self.record.as_dict() if self.record else None,
            "gate": self.gate.as_dict() if self.gate else None,
        }

    def text(self) -> str:
        lines = [f"Procedure for {self.collection}: {self.outcome.upper()}  (run folder {self.run_dir})"]
        for s in self.steps:
            lines.append(f"  {s.step:<7} {s.status:<8} {s.summary}")
        if self.stopped_at:
            lines.append(f"Stopped at {self.stopped_at}: {self.reason}")
        return "\n".join(lines)


def run_procedure(settings: Settings, collection: str, *, repo: str | Path | None = None, run_dir: str | Path | None = None,
                  engine: bool = False, command: str | None = None, approve_model_change: bool = False,
                  into: str | None = None, historylogs: list[str | Path] | tuple = (), terms: tuple[str, ...] = (),
                  timeout_s: float | None = None, checks_dir: str | Path | None = None, sample: int | str | None = None,
                  max_bad_fraction: float | None = None,
                  echo: Callable[[str], None] | None = None, override: str | None = None) -> ProcedureResult:
    """Run every step; the result says where it stopped and why, and the historylog holds the entry."""
    run_dir = Path(run_dir) if run_dir else default_run_dir(collection)
    repo = Path(repo) if repo else (Path(settings.profile.path).parent if settings.profile.path else Path("."))
    result = ProcedureResult(collection, str(run_dir))
    say = echo or (lambda line: None)
    if run_dir.is_dir():
        # An earlier procedure's files in the same folder: one stopped at scope recorded that run's exit code, counts
        # and DONE checks as its own. The entry is built from what this one writes.
        for name in WRITTEN:
            (run_dir / name).unlink(missing_ok=True)

    def stop(step: str, status: str, reason: str, code: int) -> None:
        result.steps.append(StepOutcome(step, status, reason))
        result.stopped_at, result.reason, result.exit_code = step, redact.redact(reason), code

    def guarded(step: str, fn):
        try:
            return fn()
        except HarnessError as exc:
            stop(step, "refused" if exc.exit_code == 2 else "failed", str(exc), exc.exit_code)
            return None

    def locate_step() -> LocateResult | None:
        say(f"[2/6] locate in {repo}")
        loc = guarded("locate", lambda: locate(repo, tuple(settings.profile.search_terms) + tuple(terms)))
        if loc is not None:
            best = loc.best_entrypoint
            result.steps.append(StepOutcome("locate", "ok", f"{len(loc.entrypoints)} entrypoints"
                                            + (f", first: {best.command}" if best
                                               else ", none embeds" if loc.entrypoints else "")))
        return loc

    def command_to_run(loc: LocateResult | None) -> BackfillCommand:
        best = loc.best_entrypoint if loc else None
        return backfill_command(settings, collection, command=command, engine=engine, into=into,
                                located=best.command if best else None,
                                located_workdir=str(repo / best.workdir) if best else None)

    # scope checks the environment contract of the command that will run, as run's gate does: when locate is to
    # pick it, locate goes first.
    if not (engine or command or settings.profile.backfill.command):
        result.located = locate_step()
    try:
        chosen: BackfillCommand | None = command_to_run(result.located) if not result.stopped_at else None
    except HarnessError:
        chosen = None  # no command at all: plan says so
    say(f"[1/6] scope {collection}")
    sc = None if result.stopped_at else guarded(
        "scope", lambda: scope(settings, collection, approve_model_change=approve_model_change, into=into,
                               check_contract=not engine, command=chosen))
    if sc is not None:
        result.scope = sc
        gate = result.gate = guarded("scope", lambda: decide("procedure", sc, override))
        if gate is None:
            pass
        elif sc.ok:
            result.steps.append(StepOutcome("scope", "ok", f"{sc.counts.get('needed', 0)} of {sc.counts.get('chunks', 0)} "
                                                           f"rows to embed with {sc.model}"))
        elif gate.status == "overridden":
            result.steps.append(StepOutcome("scope", "overridden", f"{gate.reason} (override: {gate.override})"))
        else:
            stop("scope", "refused" if sc.refusal else "failed", sc.reason or "scope failed", sc.exit_code)
    if not result.stopped_at and result.located is None:
        result.located = locate_step()
    if not result.stopped_at:
        say("[3/6] plan")

        def planned() -> tuple[Plan, BackfillCommand]:
            assert sc is not None  # scope went through, or the procedure stopped there
            run = chosen or command_to_run(result.located)
            return make_plan(settings, sc, run_dir, run), run

        made = guarded("plan", planned)
        if made is not None:
            result.plan, chosen = made
            result.steps.append(StepOutcome("plan", "ok", f"risk {result.plan.risk.level}, estimate "
                                                          f"{result.plan.estimate.human}"))
    if not result.stopped_at:
        assert sc is not None and chosen is not None  # scope and plan went through, or the procedure stopped there
        say(f"[4/6] run: {redact.redact(chosen.command)}")
        ev = guarded("run", lambda: run_command(settings, collection, run_dir, chosen, target_collection=sc.target_collection,
                                                timeout_s=timeout_s, echo=echo,
                                                gate=result.gate.as_dict() if result.gate else None))
        if ev is not None:
            result.run = ev
            # Both measured: what the run had to do against what is left, and what the collection holds now (not
            # what the run embedded: "embedded 24/24" read as every row re-embedded).
            summary = (f"exit code {ev.exit_code} in {ev.seconds:.1f} s; {count_text(ev.counts_before.get('needed'))} needed "
                       f"before, {count_text(ev.counts_after.get('needed'))} after; {count_text(ev.counts_after.get('embedded'))} of "
                       f"{count_text(ev.counts_after.get('chunks'))} chunks have a vector")
            if ev.ok:
                result.steps.append(StepOutcome("run", "ok", summary))
            else:
                stop("run", "failed", f"the backfill did not complete: {'; '.join(ev.problems)}", 1)
    if not result.stopped_at:
        say("[5/6] verify: the DONE checks")
        assert sc is not None
        history = historylogs[0] if historylogs else None
        vr = guarded("verify", lambda: verify(settings, sc.target_collection, run_dir, checks_dir=checks_dir,
                                              sample=sample, max_bad_fraction=max_bad_fraction,
                                              historylog=history))
        if vr is not None:
            result.verify = vr
            if vr.ok:
                result.steps.append(StepOutcome("verify", "ok", vr.tally()))
            else:
                stop("verify", "failed", first_failure(vr.as_dict()) or vr.reason or "DONE checks failed", 1)
    for step in STEPS[:-1]:
        if step not in {s.step for s in result.steps}:
            result.steps.append(StepOutcome(step, "skipped", f"not run: stopped at {result.stopped_at}"))
    result.steps.sort(key=lambda s: STEPS.index(s.step))
    say("[6/6] record")
    try:
        entry = entry_from_run(settings, collection, run_dir if run_dir.exists() else None,
                               outcome=result.outcome, reason=result.reason, repo=repo,
                               gates=[result.gate.line()] if result.gate and result.gate.status != "open" else [])
        if not result.run:
            entry = _without_run(entry, sc)
        result.record = record(entry, list(historylogs), settings.database_url)
        anchor = result.record.entry.anchor
        result.steps.append(StepOutcome("record", "ok", f"entry at the top of {', '.join(result.record.paths)}; "
                                        + (f"anchored in {anchor}" if result.record.anchored else f"{anchor} (unproven)")))
    except HarnessError as exc:
        result.steps.append(StepOutcome("record", "failed", str(exc)))
        result.exit_code = result.exit_code or exc.exit_code
        result.reason = result.reason or str(exc)
        result.stopped_at = result.stopped_at or "record"
    return result


def _without_run(entry, sc: ScopeResult | None):
    """A run that never started still records the counts scope saw."""
    return replace(entry, counts_before=dict(sc.counts) if sc and sc.counts else entry.counts_before)
