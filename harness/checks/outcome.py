"""What a DONE check found: passed, failed, skipped or unproven, with expected, found and at most ten offending rows.

The one result type of the harness: scope, verify, swap and the checks all speak ``Outcome``.
``UNPROVEN`` is neither a pass nor a fail: the check could not establish its claim from what the
target keeps (e.g. freshness without a hash or timestamp column) and says what bound, if any, stands in.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Status(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNPROVEN = "unproven"


PASS, FAIL, SKIP, UNPROVEN = Status.PASSED, Status.FAILED, Status.SKIPPED, Status.UNPROVEN
MAX_SHOWN = 10
OFFENDERS_CAP = 100_000  # rows a failing check lists for offenders.jsonl (all of them, up to this)


@dataclass(frozen=True)
class Offender:
    id: Any
    collection: Any = None
    tenant: Any = None
    detail: str = ""
    # The table ``id`` is a key of when it is not a chunk's (source_coverage's source row without chunks): never a
    # key ``backfill --keys-from`` re-embeds.
    table: str | None = None

    def line(self) -> str:
        text = f"id={_plain(self.id)} collection={_plain(self.collection)} tenant={_plain(self.tenant)}"
        return f"{text} {self.detail}" if self.detail else text

    def as_dict(self) -> dict[str, Any]:
        return {"id": _plain(self.id), "collection": _plain(self.collection), "tenant": _plain(self.tenant),
                "detail": self.detail, **({"table": self.table} if self.table else {})}


@dataclass(frozen=True)
class Outcome:
    check: str
    collection: str | None
    status: Status
    expected: str = ""
    found: str = ""
    offenders: tuple[Offender, ...] = ()  # every offending row found (up to OFFENDERS_CAP); messages show ten
    offending_total: int | None = None  # how many rows offend in all
    metrics: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.status == PASS

    def message(self) -> str:
        """One line of verdict, then the offending rows, one per line."""
        where = f" [{self.collection}]" if self.collection else ""
        if self.status == SKIP:
            return f"{self.check}{where} skipped: {self.note}"
        if self.status == UNPROVEN and not self.expected:
            return f"{self.check}{where} unproven: {self.note}"
        head = f"{self.check}{where} {self.status}: expected {self.expected}; found {self.found}"
        if self.note:
            head += f" ({self.note})"
        lines = [head]
        shown = self.offenders[:MAX_SHOWN]
        if shown:
            total = self.offending_total if self.offending_total is not None else len(self.offenders)
            lines.append(f"offending rows (showing {len(shown)} of {total}):")
            lines.extend(f"  {o.line()}" for o in shown)
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "collection": self.collection, "status": self.status,
                "expected": self.expected, "found": self.found,
                "offenders": [o.as_dict() for o in self.offenders[:MAX_SHOWN]],
                "offending_total": self.offending_total, "metrics": dict(self.metrics), "note": self.note}


def verdict(check: str, collection: str | None, ok: bool, expected: str, found: str,
            offenders: list[Offender] | tuple[Offender, ...] = (), total: int | None = None,
            metrics: dict[str, Any] | None = None, note: str = "") -> Outcome:
    """Build a pass or fail outcome; every offender is kept (messages and ``as_dict`` show ten)."""
    return Outcome(check, collection, PASS if ok else FAIL, expected, found, tuple(offenders)[:OFFENDERS_CAP],
                   total if total is not None else (len(offenders) if offenders else None), metrics or {}, note)


def skipped(check: str, collection: str | None, reason: str) -> Outcome:
    return Outcome(check, collection, SKIP, note=reason)


def unproven(check: str, collection: str | None, reason: str, *, expected: str = "", found: str = "",
             metrics: dict[str, Any] | None = None) -> Outcome:
    """The check could not establish its claim; ``reason`` says why and what bound, if any, stands in."""
    return Outcome(check, collection, UNPROVEN, expected, found, metrics=metrics or {}, note=reason)


def _plain(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, type(None))) else str(value)
