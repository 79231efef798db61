"""The batch size adapted to the provider's latency (``--target-latency-ms``): requests near a target duration.

An embedding request costs about a fixed overhead plus a cost per text. Too small a batch pays the overhead
over and over; too large a batch runs into the request timeout and makes every retry expensive. After each
answered request the next size aims at the target latency, moving at most x2 or /2 at a time, within bounds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Sizing:
    target_s: float  # the request latency to aim at
    lo: int  # the smallest batch
    hi: int  # the largest batch

    @classmethod
    def around(cls, batch_size: int, target_ms: int) -> Sizing:
        """Bounds an order of magnitude either side of the configured batch size (its /8 and x8)."""
        return cls(target_ms / 1000, max(1, batch_size // 8), max(1, batch_size * 8))


def next_batch_size(current: int, rows: int, seconds: float, sizing: Sizing) -> int:
    """The size of the next batch, after a request of ``rows`` texts answered in ``seconds``.

    With latency a + b*n, the size rows*target/seconds moves toward the n where a + b*n = target (the fixed
    point); the step is held within current/2..current*2 so one slow or quick answer does not swing it.
    """
    if rows <= 0 or seconds <= 0:
        return min(max(current, sizing.lo), sizing.hi)
    ideal = rows * sizing.target_s / seconds
    step = min(max(ideal, current / 2), current * 2)
    return int(min(max(round(step), sizing.lo), sizing.hi))


class AdaptiveSize:
    """The current batch size, read by the selecting thread and updated by the embedding threads."""

    def __init__(self, start: int, sizing: Sizing):
        self.sizing = sizing
        self.size = min(max(start, sizing.lo), sizing.hi)
        self._seen = 0
        self._lock = threading.Lock()

    def __call__(self) -> int:
        return self.size

    def observe(self, rows: int, seconds: float) -> None:
        """One request answered whole (not split, not retried after a refusal)."""
        with self._lock:
            self._seen += 1
            if self._seen == 1:
                return  # the first request may include loading the model on a cold server
            self.size = next_batch_size(self.size, rows, seconds, self.sizing)
