"""Step 4, run: the target's own backfill command as a subprocess, streamed, timed out, kept as evidence."""

from __future__ import annotations

import collections
import datetime as dt
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, IO, cast

from .. import db as dbmod
from .. import redact, rls
from ..checks.outcome import UNPROVEN
from ..errors import ConfigError, HarnessError
from ..evidence import RunEvidence, write_evidence
from ..files import atomic_open
from ..settings import Settings
from ..state import dims_to_measure, missing_by_collection, text_copies, unmeasured, unmeasured_why
from ..target import Target
from .common import BackfillCommand, backfill_env, shown_env
from .verify import JUNIT_FILE, OFFENDERS_FILE, VERIFY_FILE

OUTPUT_FILE = "output.log"
TAIL_LINES = 40
# What the owner allowed run to do reaches the engine it starts (``--engine``), which gates itself again.
OVERRIDE_ENV = "BACKFILL_HARNESS_OVERRIDE"
APPROVE_ENV = "BACKFILL_HARNESS_APPROVE_MODEL_CHANGE"
# Generous on purpose: scripts say "Embedded 0/300 skills. 300 failures." or "embedded 5 of 9 docs, 4 failed".
_EMBEDDED = re.compile(r"\bembedded:?\s+(?P<embedded>\d+)\s*(?:/|of)\s*(?P<total>\d+)", re.I)
_FAILED = re.compile(r"(?P<failed>\d+)\s+(?:failures?|failed|errors?)\b|\bfail(?:ures?|ed):?\s+(?P<failed2>\d+)", re.I)
_DONE = re.compile(r"^\W*done\b", re.I)


@dataclass(frozen=True)
class DoneLine:
    embedded: int | None = None
    total: int | None = None
    failed: int | None = None


def parse_done(output: str, pattern: str | None = None) -> DoneLine:
    """What the command says it did, from its last closing line; ``pattern`` (backfill.done_pattern) wins when given."""
    if pattern:
        matches = list(re.finditer(pattern, output, re.M))
        if not matches:
            return DoneLine()
        groups = matches[-1].groupdict()
        return DoneLine(*(int(groups[g]) if groups.get(g) is not None else None for g in ("embedded", "total", "failed")))
    for line in reversed(output.splitlines()):
        embedded = _EMBEDDED.search(line)
        if embedded or _DONE.match(line):
            failed = _FAILED.search(line)
            if not embedded and not failed:
                continue
            count = (failed.group("failed") or failed.group("failed2")) if failed else None
            return DoneLine(int(embedded.group("embedded")) if embedded else None,
                            int(embedded.group("total")) if embedded else None,
                            int(count) if count is not None else None)
    return DoneLine()


def parse_done_line(output: str, pattern: str | None = None) -> tuple[int | None, int | None]:
    """(embedded, failed) from the last closing line, if any."""
    done = parse_done(output, pattern)
    return done.embedded, done.failed


def _counts(settings: Settings, collection: str) -> dict:
    """The collection's state as every tenant's view sees it (under row-level security one bare view sees none)."""
    try:
        with dbmod.connect(settings.database_url, autocommit=True) as conn:
            target = Target(settings.profile)
            tenants = rls.tenants(conn, settings.profile)
            # A column declared without a dimension may hold vectors of another one: each is needed.
            dims, unmeasured = dims_to_measure(conn, target, settings.model_dimensions)
            unproven = [unmeasured] if unmeasured else []
            state = rls.visible_state(conn, target, collection, settings.model, tenants, dims=dims).as_dict()
            # A command that inserts the corpus again needs nothing afterwards either: its copies show it (``inserted_again``).
            state.update(rls.across(conn, settings.profile, tenants,
                                    lambda: {"text_copies": text_copies(conn, target, collection)}))
            part = rls.completeness(conn, target, collection, tenants)
            if part is not None and part.status == UNPROVEN:
                unproven.append(part.note)  # the counts are only the listed tenants' rows
            if unproven:
                state["unproven"] = "; ".join(unproven)
    except HarnessError as exc:
        return {"error": str(exc)}
    state.pop("collection", None)
    return state


def _others(settings: Settings, command: BackfillCommand) -> dict:
    """Every collection's chunks without a vector as every tenant's view sees them, where a target's own command runs
    (the engine writes only the collection it fills): ``state.others_lost`` compares them before and after."""
    if command.source == "engine":
        return {}
    try:
        # a database error is said in run.json (the run then not ok: unmeasured), never lost with the evidence
        with dbmod.translate_errors("counting every collection's chunks without a vector"), \
                dbmod.connect(settings.database_url, autocommit=True) as conn:
            target = Target(settings.profile)
            return {"chunks": {}, "missing": {}, **rls.across(conn, settings.profile, rls.tenants(conn, settings.profile),
                                                              lambda: missing_by_collection(conn, target))}
    except HarnessError as exc:
        return {"error": str(exc)}


def run_command(settings: Settings, collection: str, run_dir: str | Path, command: BackfillCommand, *,
                target_collection: str | None = None, timeout_s: float | None = None,
                echo: Callable[[str], None] | None = None, gate: dict[str, Any] | None = None) -> RunEvidence:
    """Run the backfill command with the resolved settings in its environment; write run.json and output.log.

    ``gate`` is the scope gate's record (``GateDecision.as_dict()``); an override in it is passed on to the command.
    """
    command.require_runnable()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    for checked in (VERIFY_FILE, JUNIT_FILE, OFFENDERS_FILE):
        # An earlier verify checked the collection before this run: record must never take it for this run's checks.
        (run_dir / checked).unlink(missing_ok=True)
    target_collection = target_collection or collection
    timeout_s = timeout_s or settings.profile.backfill.timeout_s
    workdir = command.workdir or "."
    if not Path(workdir).is_dir():
        raise ConfigError(f"backfill workdir {workdir!r} is not a folder; expected backfill.workdir to exist")
    extra = backfill_env(settings, collection, target_collection)
    if gate and gate.get("override"):
        extra[OVERRIDE_ENV] = str(gate["override"])
    if gate and gate.get("approve_model_change"):
        extra[APPROVE_ENV] = "1"
    env = {**os.environ, **extra}
    before = _counts(settings, target_collection)
    into = target_collection != collection  # the live collection is then left as it is: measured to be
    live_before = _counts(settings, collection) if into else {}
    others_before = _others(settings, command)
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    started_at = dt.datetime.now(dt.timezone.utc)
    t0 = time.perf_counter()
    timed_out = False
    # Written beside run.json through a temporary file (never through a link planted as output.log).
    with atomic_open(run_dir / OUTPUT_FILE, root=run_dir) as log:
        try:
            # An argument list, never a shell string: the collection's name is data (harness/steps/commandline.py).
            proc = subprocess.Popen(list(command.argv), cwd=workdir, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, errors="replace",
                                    bufsize=1, start_new_session=True)
        except OSError as exc:
            raise ConfigError(f"cannot start backfill command {redact.redact(command.command)!r}: {exc}") from None

        def pump() -> None:
            for line in cast(IO[str], proc.stdout):  # stdout=PIPE
                line = redact.redact(line.rstrip("\n"))
                tail.append(line)
                log.write(line + "\n")
                log.flush()
                if echo:
                    echo(line)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill(proc)
        except KeyboardInterrupt:
            _kill(proc)
            raise
        reader.join(timeout=10)
    seconds = time.perf_counter() - t0
    output = "\n".join(tail)
    done = parse_done(output, settings.profile.backfill.done_pattern)
    if timed_out:
        tail.append(f"[backfill-harness] timed out after {timeout_s:g} s; process group killed")
    evidence = RunEvidence(
        collection=target_collection, command=redact.redact(command.command),
        exit_code=proc.returncode if proc.returncode is not None else -1,
        started_at=started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        finished_at=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        seconds=round(seconds, 3), failed_rows=done.failed, embedded_rows=done.embedded, counts_before=before,
        counts_after=_counts(settings, target_collection), output_tail="\n".join(tail),
        settings={**settings.shown(), "command_source": command.source, "workdir": workdir,
                  "env": shown_env(extra), "timeout_s": timeout_s, "source_collection": collection},
        timed_out=timed_out, total_rows=done.total, gate=dict(gate or {}),
        live_before=live_before, live_after=_counts(settings, collection) if into else {},
        others_before=others_before, others_after=_others(settings, command),
    )
    write_evidence(run_dir, evidence)
    return evidence


def _kill(proc: subprocess.Popen) -> None:
    """Stop the command and everything it started."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


def describe(evidence: RunEvidence) -> str:
    """A few lines for people."""
    b, a = evidence.counts_before, evidence.counts_after
    status = "ok" if evidence.ok else ("TIMED OUT" if evidence.timed_out else "FAILED")
    lines = [
        f"Run {status}: exit code {evidence.exit_code} in {evidence.seconds:.2f} s",
        f"  command: {evidence.command}",
        f"  embedded before/after: {b.get('embedded')} -> {a.get('embedded')} of {a.get('chunks')} chunks "
        f"(still needed: {a.get('needed')})",
    ]
    if a and (unknown := unmeasured(a)):
        lines.append(f"  {unknown} stored vectors whether current unknown ({unmeasured_why(a)}): no count here can "
                     "see a stale or other-model vector; verify's recompute measures them")
    if evidence.failed_rows is not None or evidence.embedded_rows is not None:
        lines.append(f"  the command reported {count_text(evidence.embedded_rows)} embedded"
                     + (f" of {evidence.total_rows}" if evidence.total_rows is not None else "")
                     + f", {count_text(evidence.failed_rows)} failed rows")
    if evidence.problems:
        lines.append(f"  not ok: {'; '.join(evidence.problems)}")
    if evidence.gate.get("override"):
        lines.append(f"  scope gate overridden: {evidence.gate['override']} (scope said: {evidence.gate.get('reason')})")
    if not evidence.ok and evidence.output_tail:
        lines.append("  output tail:")
        lines += [f"    {line}" for line in evidence.output_tail.splitlines()[-10:]]
    return "\n".join(lines)


def count_text(value: int | None) -> str:
    """A count as shown, or ? where it is unknown."""
    return "?" if value is None else str(value)
