"""How many embed requests one worker keeps in flight (``--concurrency``): a fixed number, or ``auto``, a limit that
follows the provider's latency (TCP Vegas applied to one server, as in Netflix's concurrency-limits).

A request answered in about the least time seen for batches of its size found a free slot on the server; one
answered later waited behind others. From the requests in flight when it was sent (n) and its latency against that
least latency, ``n * (1 - least / latency)`` estimates how many requests were waiting in the server's queue. Under 1.5
waiting and under 1.5 times the least latency, the server has idle slots between answers and the limit grows:
doubling at first (TCP's slow start), from the floor on one answer within 1.25 times the least, above it when two
answers of requests sent into a full pipeline agree; after the first queue, by one when two answers agree. From 3 waiting or
twice the least latency, requests queue and the limit falls by one (after a spike of three times the least, straight
to the slots the server still serves, plus one). So a server that serves K requests at once gets a few more than K
(some always waiting for the next free slot, none idle while the client reads an answer: 7-8 for K = 4 in
bench_concurrency.py), and one that serves a single request at a time gets 2: never a queue that would run into the
request timeout.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from ..errors import ConfigError

AUTO = "auto"
# auto's ceiling: well above the parallelism of one Ollama server (OLLAMA_NUM_PARALLEL) or a GPU server's batching
# queue, and it bounds the answers a worker holds while it writes.
CEILING = 16
GROW_BELOW = 1.5  # estimated waiting requests under which the server has idle slots (between answers)
SHRINK_AT = 3.0  # and from which requests are queueing at the server
# Latency against the least: the limit grows only under GROW_RATIO and falls from SHRINK_RATIO whatever the estimate.
# The client's own time per request (sending, reading the answer) overlaps the server's queue, so the estimate alone
# would let a server that serves one request at a time get three; a second request that doubles the latency does not.
GROW_RATIO = 1.5
# Doubling (until the first queue) needs answers about as quick as the least: a server that serves one at a time
# answers the second of two requests in about 1.5 times its own pace when the client overlaps the first.
START_RATIO = 1.25
SHRINK_RATIO = 2.0
GROW_VOTES = 2  # past slow start, answers under the current limit that must agree before it grows by one
SPIKE = 3.0  # latency this many times the least: more than one request's wait, the server itself slowed


def parse_concurrency(value: int | str) -> int | str:
    """``--concurrency``: a positive number of requests, or ``auto``."""
    if isinstance(value, str) and value.strip().lower() == AUTO:
        return AUTO
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1 or isinstance(value, bool):
        raise ConfigError(f"--concurrency: invalid value {value!r}: expected a positive integer or {AUTO}")
    return number


def queued(in_flight: int, seconds: float, least: float) -> float:
    """The requests estimated waiting at the server when one sent with ``in_flight`` in flight took ``seconds``."""
    if seconds <= 0 or least <= 0:
        return 0.0
    return in_flight * max(0.0, 1 - least / seconds)


def bound(rows: int, seconds: float, their_rows: int) -> float:
    """The most a batch of ``rows`` texts can take on a free slot, when one of ``their_rows`` took ``seconds``: no more
    for fewer texts, and no more than in proportion for more (a request's fixed cost is spread over more texts)."""
    return seconds * max(1.0, rows / their_rows)


def _size_class(rows: int) -> int:
    """Batches within a factor 2**(1/4) of each other are compared; an adapted batch size is not read as queueing."""
    return round(math.log2(max(rows, 1)) * 4)


@dataclass(frozen=True)
class Ticket:
    """One request in flight: how many were (itself included) when it was sent, under which limit."""

    in_flight: int
    version: int


class LatencyLimit:
    """The limit on requests in flight, moved by each whole answer's latency between ``floor`` and ``ceiling``.

    Only requests sent under the current limit move it, so each step is judged by what it did; it doubles on one
    quick answer until the first queue is seen, then grows by one when two agree, and falls on the first that shows
    a queue.
    """

    def __init__(self, floor: int = 1, ceiling: int = CEILING, start: int | None = None):
        if not 1 <= floor <= ceiling:
            raise ValueError(f"expected 1 <= floor <= ceiling, got {floor} and {ceiling}")
        self.floor, self.ceiling = floor, ceiling
        self.limit = min(max(start if start is not None else floor, floor), ceiling)
        self.version = 0
        self._votes = 0
        self._starting = True  # doubling, until the first sign of a queue (TCP's slow start)
        self._least: dict[int, tuple[float, int]] = {}  # per size class: the least latency, and the rows it was for
        self._lock = threading.Lock()

    @property
    def adaptive(self) -> bool:
        return self.floor < self.ceiling

    def observe(self, rows: int, seconds: float, ticket: Ticket) -> None:
        """A request of ``rows`` texts, sent as ``ticket``, answered whole in ``seconds``."""
        if not self.adaptive or rows <= 0 or seconds <= 0:
            return
        with self._lock:
            size = _size_class(rows)
            known = size in self._least
            # At the floor a request goes alone and waits behind none of ours: its latency is the server's own pace,
            # and replaces a least that an unusually quick answer left too low (which would hold the limit there).
            alone = ticket.in_flight == 1 and self.limit == self.floor
            own = seconds if alone or not known else min(self._least[size][0], seconds)
            least = min([own] + [bound(rows, theirs, their_rows)
                                 for key, (theirs, their_rows) in self._least.items() if key != size])
            self._least[size] = (least, rows)
            if ticket.version != self.version:
                return  # sent under an earlier limit: it does not judge this one
            waiting = queued(ticket.in_flight, seconds, least)
            if waiting >= SHRINK_AT or (ticket.in_flight > 1 and seconds >= SHRINK_RATIO * least):
                self._starting = False
                self._move(self.limit - 1)
                if seconds >= SPIKE * least:  # the server slowed for everyone: straight to the slots it still serves
                    busy = ticket.in_flight * least / seconds  # Little's law
                    self._move(min(self.limit, math.ceil(busy) + 1))
            elif waiting < GROW_BELOW and seconds < (START_RATIO if self._starting else GROW_RATIO) * least \
                    and ticket.in_flight >= self.limit and known:
                # Only a full pipeline says the server has room: fewer in flight (the writer or the selection is the
                # bottleneck) says nothing about more; nor does the first batch of a new size (its least is a guess).
                self._votes += 1
                # From the floor one quick answer doubles (1 -> 2 is where a one-at-a-time server settles anyway);
                # above it two must agree: a lucky answer under jittery latencies would otherwise double a
                # one-at-a-time server's 2 to 4 (the review's simulation: 8 of 30 runs at +-50 %; the engine's test
                # saw 4 in flight under load).
                if self._votes >= (1 if self._starting and self.limit == self.floor else GROW_VOTES):
                    self._move(self.limit * 2 if self._starting else self.limit + 1)

    def _move(self, limit: int) -> None:
        limit = min(max(limit, self.floor), self.ceiling)
        if limit != self.limit:
            self.limit = limit
            self.version += 1
            self._votes = 0


def limit_for(concurrency: int | str, one_at_a_time: bool = False) -> LatencyLimit:
    """The limit ``--concurrency`` asks for: ``auto`` adapts between 1 and CEILING, N is fixed at N."""
    value = parse_concurrency(concurrency)
    if one_at_a_time:
        return LatencyLimit(1, 1)
    if value == AUTO:
        # From one: answers that waited behind none of ours give the least latency that every later one is compared with.
        return LatencyLimit(1, CEILING)
    return LatencyLimit(int(value), int(value))


class Gate:
    """Requests in flight, held under a limit that may change while they run (a condition, not a pool's size); so are
    the batches sent that the writer has not taken yet, so a slow writer stops the sending (memory stays bounded)."""

    def __init__(self, limit: LatencyLimit):
        self.limit = limit
        self.in_flight = 0  # sent, not answered
        self.held = 0  # sent, not yet taken by the writer
        self.peak = 0
        self._cond = threading.Condition()

    def enter(self, stop: threading.Event) -> Ticket | None:
        """Wait for room under the current limit; None when ``stop`` is set first."""
        with self._cond:
            while self.in_flight >= self.limit.limit or self.held >= self.limit.limit:
                if stop.is_set():
                    return None
                self._cond.wait(0.05)
            self.held += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            return Ticket(self.in_flight, self.limit.version)

    def leave(self, ticket: Ticket, rows: int = 0, seconds: float | None = None) -> None:
        """The request is over; ``seconds`` when it was answered whole (a measure of the provider's latency)."""
        if seconds is not None:
            self.limit.observe(rows, seconds, ticket)
        with self._cond:
            self.in_flight -= 1
            self._cond.notify_all()

    def taken(self) -> None:
        """The writer has taken a batch (it waits for its answer, then writes it): room for the next one."""
        with self._cond:
            self.held -= 1
            self._cond.notify_all()
