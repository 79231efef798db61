"""Several worker processes on one backfill: each joins the same run id and takes key ranges through claims.

Each worker is ``python -m harness backfill <BackfillOptions.to_argv> --provider-url URL --json`` (URLs dealt round robin),
so a worker on another host is the same command with the same ``--run-id``. Whether the run is ok is decided
from the closing count the starter measures in the database once every worker has ended, by the rule a
single-process run uses (``state.still_needed``); the workers' own reports only add failures to it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import db as dbmod
from .. import rls
from ..checks.outcome import UNPROVEN
from ..errors import HarnessError
from ..output import fields_dict
from ..settings import Settings
from ..state import CollectionState, dims_to_measure, still_needed
from ..target import Target
from .engine import BackfillOptions, filled


@dataclass
class WorkersSummary:
    run_id: str
    workers: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    after: CollectionState | None = None  # the closing count, measured once every worker has ended
    unproven: str | None = None  # what the closing count cannot see (row-level security hiding unlisted tenants)
    covers_collection: bool = True  # the run is meant to leave nothing needed (no --limit)

    def total(self, key: str) -> int:
        return sum(int(w.get(key) or 0) for w in self.workers)

    @property
    def problems(self) -> list[str]:
        """Why the run is not ok, one phrase each (empty when it is)."""
        out = list(self.errors)
        out += [f"worker {i + 1} not ok" + (f": {w['stopped']}" if w.get("stopped") else "")
                for i, w in enumerate(self.workers) if not w.get("ok")]
        if self.after is None:
            out.append("rows still needed after the run unmeasured")
        elif self.covers_collection and (left := still_needed(self.after)):
            out.append(left)
        if self.covers_collection and self.unproven:
            out.append(self.unproven)
        return out

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        line = (f"Done. Embedded {self.total('embedded')}/{self.total('selected')} rows. {self.total('failed')} failures.")
        if self.total("reused"):
            line += f" Reused {self.total('reused')} existing vectors."
        return line + f" ({len(self.workers)} workers, run {self.run_id})"

    def as_dict(self) -> dict[str, Any]:
        return fields_dict(self, ok=self.ok, problems=self.problems, remaining=self.after.needed if self.after else None,
                           embedded=self.total("embedded"), selected=self.total("selected"),
                           failed=self.total("failed"), reused=self.total("reused"), summary=self.line())


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def run_workers(settings: Settings, options: BackfillOptions, count: int,
                provider_urls: Sequence[str] = (), env: Mapping[str, str] | None = None) -> WorkersSummary:
    """Start ``count`` worker processes of run ``options.run_id`` (``env`` added to theirs); gather their summaries,
    then count in the database what the collection still needs."""
    run_id = options.run_id or new_run_id()
    argv = dataclasses.replace(options, run_id=run_id, counted_by_parent=os.getpid()).to_argv(settings)
    urls: list[str | None] = [*provider_urls] or [None]
    procs = []
    for i in range(count):
        cmd = [sys.executable, "-m", "harness", "backfill", *argv, "--json"]
        url = urls[i % len(urls)]
        if url:
            cmd += ["--provider-url", url]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      env={**os.environ, **(env or {}), "DATABASE_URL": settings.database_url}))
    summary = WorkersSummary(run_id, covers_collection=options.covers_collection)
    for i, proc in enumerate(procs):
        out, err = proc.communicate()
        try:
            summary.workers.append(json.loads(out))
        except ValueError:
            last = (err.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
            summary.errors.append(f"worker {i + 1} failed: {last}")
    if summary.errors and not summary.workers:
        raise HarnessError(f"all {count} workers of run {run_id} failed; first: {summary.errors[0]}")
    # What the workers filled: with --into on a store whose collections are tables of their own, NEW's table.
    summary.after, summary.unproven = closing_count(*filled(settings, options))
    return summary


def closing_count(settings: Settings, collection: str) -> tuple[CollectionState, str | None]:
    """What ``collection`` holds and still needs now, as the tenants' views add up (one view without RLS), and
    what those views cannot see (``rls.completeness``: tenants not listed), as a single-process run says it."""
    target = Target(settings.profile)
    with dbmod.connect(settings.database_url, autocommit=True) as conn:
        tenants = rls.tenants(conn, settings.profile)
        dims, unmeasured = dims_to_measure(conn, target, settings.model_dimensions)
        state = rls.visible_state(conn, target, collection, settings.model, tenants, dims=dims)
        part = rls.completeness(conn, target, collection, tenants)
        notes = [unmeasured, part.note if part is not None and part.status == UNPROVEN else None]
        return state, "; ".join(n for n in notes if n) or None
