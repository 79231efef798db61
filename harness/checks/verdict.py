"""The DONE verdict, one rule for the plugin, ``verify`` and its JSON.

DONE when no check failed, every check expected ran, at least one passed, and every
unproven claim is one recompute stands in for (``fresh`` without a hash or timestamps,
``model`` without a model column, ``citations`` whose every search holds a match whatever
the vectors, ``cannot_miss``) in a collection whose recompute passed with a bound within
the required ``max_bad_fraction``. Anything else unproven keeps DONE from being said.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .outcome import FAIL, PASS, UNPROVEN, Outcome

COVERED_BY_RECOMPUTE = frozenset({"fresh", "model"})


def _stands_in(claim: Claim) -> bool:
    """Whether recompute's bound stands in for this unproven claim: the vectors it reads are what the claim is about
    (``citations`` only where no sampled search could have missed, so it read nothing of the vectors)."""
    if claim.check == "citations":
        return str(claim.metrics.get("cannot_miss", "0")) not in ("", "0", "None")
    return claim.check in COVERED_BY_RECOMPUTE


@dataclass(frozen=True)
class Claim:
    """One check's result as the verdict needs it (from an Outcome, or read back from junit.xml)."""

    check: str
    collection: str | None
    status: str
    metrics: Mapping[str, Any] = field(default_factory=dict)
    message: str = ""

    @classmethod
    def of(cls, outcome: Outcome) -> Claim:
        return cls(outcome.check, outcome.collection, str(outcome.status), outcome.metrics, outcome.message())


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str | None
    uncovered: tuple[Claim, ...] = ()
    covered: tuple[Claim, ...] = ()


def _within(claim: Claim) -> bool:
    bound, required = claim.metrics.get("bound"), claim.metrics.get("max_bad_fraction")
    try:
        # A pass that states no bound (figures not recorded) proves no fraction: it covers nothing.
        return bound is not None and required is not None and float(bound) <= float(required)
    except (TypeError, ValueError):
        return False


def decide(claims: Iterable[Claim], expected: Iterable[tuple[str, str | None]] = ()) -> Verdict:
    """Apply the rule above; ``expected``: the (check, collection) pairs DONE needs a result of (a run of some of the
    checks, by ``-k``, ``--lf`` or a file named alone, proves nothing of the others)."""
    claims = list(claims)
    failed = [c for c in claims if c.status == FAIL]
    if failed:
        return Verdict(False, "; ".join(f"{c.check}: {c.message}" for c in failed[:5]))
    vouched = {c.collection for c in claims if c.check == "recompute" and c.status == PASS and _within(c)}
    unproven = [c for c in claims if c.status == UNPROVEN]
    covered = tuple(c for c in unproven if _stands_in(c) and c.collection in vouched)
    uncovered = tuple(c for c in unproven if c not in covered)
    if uncovered:
        return Verdict(False, "unproven: " + "; ".join(f"{c.check}: {c.message}" for c in uncovered[:5]),
                       uncovered, covered)
    if not any(c.status == PASS for c in claims):
        return Verdict(False, "no DONE check passed", (), covered)
    ran = {(c.check, c.collection) for c in claims}
    absent = [f"{check} [{collection}]" if collection is not None else check
              for check, collection in expected if (check, collection) not in ran]
    if absent:
        more = f", ... ({len(absent)} in all)" if len(absent) > 5 else ""
        return Verdict(False, "not run: " + ", ".join(absent[:5]) + more, (), covered)
    return Verdict(True, None, (), covered)


def done(outcomes: Iterable[Outcome], expected: Iterable[tuple[str, str | None]] = ()) -> Verdict:
    return decide((Claim.of(o) for o in outcomes), expected)
