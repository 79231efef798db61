"""Several worker processes on one backfill: each joins the same run id and takes key ranges through claims.

Each worker is ``python -m harness backfill <BackfillOptions.to_argv> --provider-url URL --json`` (URLs dealt round robin),
so a worker on another host is the same command with the same ``--run-id``.
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

from ..errors import HarnessError
from ..output import fields_dict
from ..settings import Settings
from .engine import BackfillOptions


@dataclass
class WorkersSummary:
    run_id: str
    workers: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    remaining: int | None = None  # rows still needing a vector afterwards, measured (every tenant's view)

    def total(self, key: str) -> int:
        return sum(int(w.get(key) or 0) for w in self.workers)

    @property
    def ok(self) -> bool:
        return not self.errors and all(w.get("ok") for w in self.workers)

    def line(self) -> str:
        line = (f"Done. Embedded {self.total('embedded')}/{self.total('selected')} rows. {self.total('failed')} failures.")
        if self.total("reused"):
            line += f" Reused {self.total('reused')} existing vectors."
        return line + f" ({len(self.workers)} workers, run {self.run_id})"

    def as_dict(self) -> dict[str, Any]:
        return fields_dict(self, ok=self.ok, embedded=self.total("embedded"), selected=self.total("selected"),
                           failed=self.total("failed"), reused=self.total("reused"), summary=self.line())


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def run_workers(settings: Settings, options: BackfillOptions, count: int,
                provider_urls: Sequence[str] = (), env: Mapping[str, str] | None = None) -> WorkersSummary:
    """Start ``count`` worker processes of run ``options.run_id`` (``env`` added to theirs); gather their summaries."""
    run_id = options.run_id or new_run_id()
    argv = dataclasses.replace(options, run_id=run_id).to_argv(settings)
    urls: list[str | None] = [*provider_urls] or [None]
    procs = []
    for i in range(count):
        cmd = [sys.executable, "-m", "harness", "backfill", *argv, "--json"]
        url = urls[i % len(urls)]
        if url:
            cmd += ["--provider-url", url]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      env={**os.environ, **(env or {}), "DATABASE_URL": settings.database_url}))
    summary = WorkersSummary(run_id)
    for i, proc in enumerate(procs):
        out, err = proc.communicate()
        try:
            summary.workers.append(json.loads(out))
        except ValueError:
            last = (err.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
            summary.errors.append(f"worker {i + 1} failed: {last}")
    if summary.errors and not summary.workers:
        raise HarnessError(f"all {count} workers of run {run_id} failed; first: {summary.errors[0]}")
    if options.limit is None and options.keys is None:
        # Each worker covers only its claims: whether the run covered the collection is the database's to say.
        summary.remaining = remaining(settings, options.target_collection)
        if summary.remaining:
            summary.errors.append(f"{summary.remaining} rows still need a vector after the run (measured in the "
                                  "database, every tenant's view); run backfill again")
    return summary


def remaining(settings: Settings, collection: str) -> int:
    """Rows of ``collection`` still needing a vector, summed over the row-level-security tenants' views."""
    from .. import db as dbmod
    from .. import rls
    from ..target import Target

    with dbmod.connect(settings.database_url, autocommit=True) as conn:
        tenants = rls.tenants(conn, settings.profile)
        return int(rls.visible_state(conn, Target(settings.profile), collection, settings.model, tenants).needed or 0)
