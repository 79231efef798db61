"""``offenders.jsonl`` in the run folder: every offending row of every failing check, one JSON object a line.

Each line is ``{"check", "key", "collection", "tenant", "detail"}``; ``key`` is the
chunk key (``backfill --keys-from RUN/offenders.jsonl`` re-embeds exactly those), except on a line that also names
its ``table``: the key of another table's row (a source row without chunks), which ``--keys-from`` leaves out.
Findings that are not rows (a citation query that misses) carry no key and are left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import redact
from ..files import atomic_write_text
from .outcome import FAIL, OFFENDERS_CAP, Outcome

OFFENDERS_FILE = "offenders.jsonl"


def rows(outcome: Outcome) -> list[dict[str, Any]]:
    """The file's lines for one outcome: its offending rows if it failed, else none."""
    if outcome.status != FAIL:
        return []
    return [{"check": outcome.check, "key": o.as_dict()["id"], "collection": o.as_dict()["collection"],
             "tenant": o.as_dict()["tenant"], "detail": o.detail, **({"table": o.table} if o.table else {})}
            for o in outcome.offenders if o.id is not None]


def write(path: Path, outcomes: Iterable[Outcome]) -> Path | None:
    """Replace ``path`` (RUN/offenders.jsonl) with the rows of the failing outcomes (removed when there are none)."""
    path = Path(path)
    lines = [json.dumps(r, default=str, ensure_ascii=False) for o in outcomes for r in rows(o)]
    if not lines:
        path.unlink(missing_ok=True)
        return None
    atomic_write_text(path, redact.redact("\n".join(lines) + "\n"))
    return path


def read(path: Path) -> list[dict[str, Any]]:
    """The lines of an offenders.jsonl (for tests and tools)."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def capped_note(outcome: Outcome) -> str:
    """Said when a check found more rows than the file keeps."""
    total = outcome.offending_total or 0
    if total > len(outcome.offenders) and len(outcome.offenders) >= OFFENDERS_CAP:
        return f"{OFFENDERS_FILE} keeps the first {OFFENDERS_CAP} of {total} offending rows"
    return ""
