"""The minimal DONE gate a swap must pass: coverage, dimension, model, freshness, sane vectors.

Small on purpose: each check is one query over the collection, so it can later defer to ``harness.checks``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from ..target import Target
from ..state import collection_state


@dataclass(frozen=True)
class GateCheck:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class GateResult:
    collection: str
    checks: tuple[GateCheck, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def failures(self) -> list[str]:
        return [f"{c.name}: {c.detail}" for c in self.checks if not c.ok]

    def as_dict(self) -> dict[str, Any]:
        return {"collection": self.collection, "ok": self.ok, "checks": [c.as_dict() for c in self.checks]}


def run_gate(conn: psycopg.Connection, target: Target, collection: str, model: str, dimensions: int | None) -> GateResult:
    """Run the DONE checks a swap needs on ``collection``; the result says which failed and why."""
    state = collection_state(conn, target, collection, model)
    checks = [
        GateCheck("coverage", state.chunks > 0 and state.missing == 0,
                  f"{state.embedded}/{state.chunks} chunks have a vector, expected all"),
        GateCheck("fresh", not state.stale, f"{state.stale or 0} vectors were made from older text, expected 0"),
        GateCheck("model", not state.other_model, f"{state.other_model or 0} vectors come from a model other than {model!r}, expected 0"),
    ]
    params = {"collection": collection, "model": model}
    vec = target.vector
    row = conn.execute(
        sql.SQL("SELECT min(vector_dims({v})) AS lo, max(vector_dims({v})) AS hi, "
                "count(*) FILTER (WHERE vector_norm({v}) = 0 OR vector_norm({v}) = 'NaN'::float8) AS bad "
                "FROM {join} WHERE {where} AND {v} IS NOT NULL").format(v=vec, join=target.join(), where=target.chunk_filter()),
        params,
    ).fetchone()
    if row["lo"] is None:
        checks.append(GateCheck("dimension", False, "no vectors to measure"))
    else:
        want = dimensions if dimensions is not None else row["lo"]
        checks.append(GateCheck("dimension", row["lo"] == row["hi"] == want,
                                f"vectors have {row['lo']}..{row['hi']} dimensions, expected {want}"))
    checks.append(GateCheck("sane", row["bad"] == 0, f"{row['bad']} vectors are all zeros or not finite, expected 0"))
    return GateResult(collection, tuple(checks))
