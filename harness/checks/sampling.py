"""What a sample proves: the size a bound needs, and the exact one-sided binomial (Clopper-Pearson) upper bound.

k bad rows among n drawn uniformly at random bound the bad fraction of the whole
population from above at the given confidence; 0 of n gives about 3/n at 95 %
(the rule of three). A sample that is the whole population proves the exact fraction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_MAX_BAD_FRACTION = 0.01
DEFAULT_CONFIDENCE = 0.95


def sample_size(max_bad_fraction: float, confidence: float) -> int:
    """Rows to draw so that 0 bad among them proves fewer than ``max_bad_fraction`` bad at ``confidence`` (1 % at 95 % -> 299)."""
    _check(max_bad_fraction, confidence)
    if max_bad_fraction >= 1:
        return 1
    return max(1, math.ceil(math.log(1 - confidence) / math.log(1 - max_bad_fraction)))


def upper_bound(bad: int, sampled: int, confidence: float) -> float:
    """The exact one-sided upper confidence bound on the bad fraction after ``bad`` of ``sampled`` rows were bad."""
    if sampled <= 0:
        return 1.0
    if not 0 <= bad <= sampled:
        raise ValueError(f"bad must be between 0 and {sampled}, found {bad}")
    if bad == sampled:
        return 1.0
    alpha = 1 - confidence
    if bad == 0:
        return 1 - alpha ** (1 / sampled)
    # The p where P(X <= bad | n, p) = alpha; the binomial CDF falls as p grows, so bisect.
    lo, hi = bad / sampled, 1.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if _binom_cdf(bad, sampled, mid) > alpha:
            lo = mid
        else:
            hi = mid
    return hi


def _binom_cdf(k: int, n: int, p: float) -> float:
    if p <= 0:
        return 1.0
    if p >= 1:
        return 0.0 if k < n else 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    total = 0.0
    for i in range(k + 1):
        total += math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q)
    return min(total, 1.0)


def _check(max_bad_fraction: float, confidence: float) -> None:
    if not 0 < max_bad_fraction <= 1:
        raise ValueError(f"max_bad_fraction must be in (0, 1], found {max_bad_fraction}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), found {confidence}")


@dataclass(frozen=True)
class Proof:
    """What one sample proves about its population."""

    sampled: int
    bad: int
    population: int
    confidence: float
    required: float  # the largest bad fraction DONE accepts

    @property
    def exhaustive(self) -> bool:
        return self.population > 0 and self.sampled >= self.population

    @property
    def bound(self) -> float:
        """The exact fraction when every row was checked, else the upper confidence bound."""
        if self.exhaustive:
            return self.bad / self.population
        return upper_bound(self.bad, self.sampled, self.confidence)

    @property
    def within(self) -> bool:
        """Whether the bound is tight enough for DONE (a bad row found fails the check whatever the bound)."""
        return self.bound <= self.required

    def sentence(self, noun: str = "rows", off: str = "off") -> str:
        head = f"{self.bad} of {self.sampled} sampled {noun} {off}"
        if self.exhaustive:
            return f"{self.bad} of {self.population} {noun} {off} (every row checked: exactly {_pct(self.bound)})"
        return (f"{head}: at {_pct(self.confidence, 0)} confidence fewer than {_pct(self.bound)} of the "
                f"{self.population} {noun} are {off}")

    def metrics(self) -> dict[str, object]:
        return {"sampled": self.sampled, "bad": self.bad, "bound": round(self.bound, 6), "confidence": self.confidence,
                "population": self.population, "max_bad_fraction": self.required, "exhaustive": self.exhaustive}


def _pct(fraction: float, digits: int = 1) -> str:
    value = 100 * fraction
    if digits and 0 < value < 0.1:
        return f"{value:.2g}%"
    return f"{value:.{digits}f}%"
