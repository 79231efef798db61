"""Run evidence: what a backfill run did, kept as ``run.json`` in the run folder.

Written by the procedure's ``run`` step (and ``backfill``); read by the
``completed`` DONE check and by ``record``. The same fields, whatever ran.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import redact
from .files import atomic_write_text
from .errors import ConfigError, HarnessError
from .state import emptied, inserted_again, live_lost, needed_why, others_lost, shrank

RUN_FILE = "run.json"


@dataclass(frozen=True)
class RunEvidence:
    collection: str
    command: str  # exactly what ran (secrets masked)
    exit_code: int
    started_at: str  # ISO 8601, UTC
    finished_at: str
    seconds: float
    failed_rows: int | None = None  # None when the command does not say
    embedded_rows: int | None = None
    counts_before: dict[str, Any] = field(default_factory=dict)
    counts_after: dict[str, Any] = field(default_factory=dict)
    output_tail: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    timed_out: bool = False
    total_rows: int | None = None  # the Y of the command's "Embedded X/Y" line, when it prints one
    gate: dict[str, Any] = field(default_factory=dict)  # the scope gate: status open/overridden, reason, override
    # --into NEW: the live collection's counts before and after (its name: settings' source_collection), which the run
    # leaves as they are
    live_before: dict[str, Any] = field(default_factory=dict)
    live_after: dict[str, Any] = field(default_factory=dict)
    # A target's own command: every collection's chunks without a vector before and after ({"missing": {name: n}}, or
    # {"error": why}), which it leaves as they are except the one it fills (and, with --into, the live one: live_*)
    others_before: dict[str, Any] = field(default_factory=dict)
    others_after: dict[str, Any] = field(default_factory=dict)

    @property
    def remaining(self) -> int | None:
        """Rows of the collection still needing a vector after the run, read from the database (None: unmeasured)."""
        needed = self.counts_after.get("needed") if isinstance(self.counts_after, dict) else None
        return needed if isinstance(needed, int) else None

    @property
    def problems(self) -> list[str]:
        """Why the run is not ok, one phrase each (empty when it is)."""
        out = []
        if self.timed_out:
            out.append("timed out")
        if self.exit_code != 0:
            out.append(f"exit code {self.exit_code}")
        if self.failed_rows:
            out.append(f"{self.failed_rows} failed rows reported")
        if isinstance(self.counts_after, dict) and (gone := emptied({"collection": self.collection, **self.counts_after})):
            out.append(gone)
        if isinstance(self.counts_after, dict) and isinstance(self.counts_before, dict):
            after = {"collection": self.collection, **self.counts_after}
            out += [p for p in (inserted_again(self.counts_before, after), shrank(self.counts_before, after)) if p]
        live = str(self.settings.get("source_collection"))
        if self.live_after and (lost := live_lost(live, self.live_before, self.live_after)):
            out.append(lost)
        elif unread := next((c["error"] for c in (self.live_before, self.live_after) if c.get("error")), None):
            out.append(f"the live collection {live} left as it was unmeasured ({unread})")
        if (self.others_before or self.others_after) and (
                lost := others_lost(self.others_before, self.others_after, {self.collection, live})):
            out.append(lost)
        if self.remaining is None:
            why = self.counts_after.get("error") if isinstance(self.counts_after, dict) else None
            out.append("rows still needed after the run unmeasured" + (f" ({why})" if why else ""))
        elif self.remaining:
            out.append(f"{self.remaining} of {self.counts_after.get('chunks')} rows still need a vector"
                       + needed_why(self.counts_after))
        if isinstance(self.counts_after, dict) and not self.remaining:
            # A record of an older version counted these apart from the rows still needed, which were then 0.
            if self.counts_after.get("duplicates"):
                out.append(f"{self.counts_after['duplicates']} duplicate embedding rows remain (a second row of a chunk)")
            if self.counts_after.get("other_dims"):
                out.append(f"{self.counts_after['other_dims']} vectors of another dimension than the model's remain")
        if isinstance(self.counts_after, dict) and self.counts_after.get("unproven"):
            out.append(f"rows still needed unproven: {self.counts_after['unproven']}")
        return out

    @property
    def ok(self) -> bool:
        """Exit 0, no timeout, no reported failure, and the database says nothing is still needed."""
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "remaining": self.remaining, "problems": self.problems}


def write_evidence(run_dir: Path, evidence: RunEvidence) -> Path:
    """Write run.json atomically (temp file + rename), secrets masked."""
    return write_json_atomic(Path(run_dir) / RUN_FILE, evidence.as_dict())


def read_evidence(run_dir: Path) -> RunEvidence:
    path = Path(run_dir) / RUN_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no run evidence at {path}; expected the run step to have written it") from None
    except ValueError as exc:
        raise ConfigError(f"run evidence {path} is not valid JSON: {exc}") from None
    for derived in ("ok", "remaining", "problems"):
        data.pop(derived, None)
    known = RunEvidence.__dataclass_fields__
    return RunEvidence(**{k: v for k, v in data.items() if k in known})


def write_json_atomic(path: Path, data: Any) -> Path:
    """Write JSON to path via a temporary file in the same folder and a rename; never a half-written file."""
    path = Path(path)
    text = json.dumps(redact.redact(data), indent=2, default=str) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)
    except OSError as exc:
        raise HarnessError(f"cannot write {path}: {exc.strerror or exc}; expected a writable folder with free space") from None
    return path
