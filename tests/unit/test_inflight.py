"""--concurrency auto: the in-flight limit follows the server's latency; it settles just above the slots the server
serves at once, and falls when requests start to queue."""

from __future__ import annotations

import math
import threading

import pytest

from harness.backfill.batchsize import AdaptiveSize, Sizing
from harness.backfill.inflight import AUTO, CEILING, Gate, LatencyLimit, Ticket, limit_for, parse_concurrency, queued
from harness.errors import ConfigError

BASE = 0.2  # seconds a batch takes on a free slot


def slotted(slots: int):
    """A server serving ``slots`` requests at once in lockstep: n in flight take ceil(n / slots) turns."""
    return lambda in_flight, rows=100: BASE * math.ceil(in_flight / slots)


def fifo(slots: int):
    """A server whose queue spreads evenly: n in flight take n / slots turns on average (never less than one)."""
    return lambda in_flight, rows=100: BASE * max(1.0, in_flight / slots)


def warm(limit: LatencyLimit) -> LatencyLimit:
    """Past the first answer, which is never taken as the server's pace (a cold server loads the model on it)."""
    limit.observe(1, BASE * 10, Ticket(1, limit.version))
    return limit


def run(limit: LatencyLimit, server, rounds: int = 60, rows: int = 100) -> list[int]:
    """Each round fills the limit and feeds every answer back; returns the limit after each round."""
    history = []
    for _ in range(rounds):
        in_flight = limit.limit
        tickets = [Ticket(in_flight, limit.version) for _ in range(in_flight)]
        for ticket in tickets:
            limit.observe(rows, server(in_flight, rows), ticket)
        history.append(limit.limit)
    return history


@pytest.mark.parametrize("slots", [2, 4, 8])
def test_against_a_server_with_k_slots_the_limit_settles_at_or_just_above_k(slots):
    history = run(LatencyLimit(1, CEILING), slotted(slots))
    assert set(history[-20:]) <= {slots, slots + 1}
    assert slots + 1 in history[-20:]  # it keeps probing for a free slot


@pytest.mark.parametrize("slots", [2, 4, 8])
def test_against_an_evenly_queueing_server_one_or_two_requests_wait(slots):
    assert set(run(LatencyLimit(1, CEILING), fifo(slots))[-20:]) <= {slots + 1, slots + 2}


@pytest.mark.parametrize("server", [slotted(1), fifo(1)])
def test_against_a_server_serving_one_at_a_time_the_limit_stays_at_one_or_two(server):
    history = run(LatencyLimit(1, CEILING), server)
    assert max(history) <= 2


def test_the_clients_own_time_per_request_does_not_let_a_one_at_a_time_server_queue():
    """Sending and reading an answer (here a third of the server's time) overlap the server's queue."""
    history = run(LatencyLimit(1, CEILING), lambda in_flight, rows=100: BASE * in_flight + BASE / 3)
    assert max(history) <= 2


def test_a_one_at_a_time_server_whose_queue_the_client_overlaps_gets_two():
    """The next request goes out while the server is already half through the other: it waits half a turn."""
    history = run(limit_for(AUTO), lambda in_flight, rows=100: BASE * (1 + (in_flight - 1) / 2))
    assert max(history) == 2


def test_one_unusually_quick_answer_does_not_hold_the_limit_down_for_good():
    limit = LatencyLimit(1, CEILING)
    run(limit, slotted(4))
    limit.observe(100, BASE / 4, Ticket(limit.limit, limit.version))  # the least is now a quarter of the usual
    history = run(limit, slotted(4))
    assert set(history[-20:]) <= {4, 5}


def test_the_first_answer_is_not_taken_as_the_servers_pace():
    """A cold server loads the model on the first request: that wait is not the least to compare with."""
    limit = LatencyLimit(1, CEILING)
    limit.observe(100, BASE * 50, Ticket(1, limit.version))
    history = run(limit, slotted(1))
    assert max(history) <= 2


def test_a_latency_spike_lowers_the_limit():
    limit = LatencyLimit(1, CEILING)
    run(limit, slotted(8))
    before = limit.limit
    limit.observe(100, BASE * 5, Ticket(limit.limit, limit.version))
    assert limit.limit < before - 1


def test_a_server_that_gets_slower_for_everyone_gets_fewer_requests():
    limit = LatencyLimit(1, CEILING)
    run(limit, fifo(8))
    run(limit, fifo(2), rounds=20)
    assert limit.limit <= 3


def test_the_limit_stays_within_floor_and_ceiling():
    assert max(run(LatencyLimit(1, 6), slotted(32))) == 6
    limit = LatencyLimit(3, CEILING, start=3)
    limit.observe(100, 100.0, Ticket(3, 0))
    limit.observe(100, 1000.0, Ticket(3, limit.version))
    assert limit.limit == 3


def test_a_fixed_limit_never_moves():
    limit = limit_for(4)
    assert [limit.limit] + run(limit, slotted(16)) + run(limit, slotted(1)) == [4] * 121


def test_a_pipeline_that_is_not_full_does_not_grow_the_limit():
    """Fewer in flight than the limit (the writer is the bottleneck) says nothing about the server's room for more."""
    limit = warm(LatencyLimit(1, CEILING, start=6))
    for _ in range(20):
        limit.observe(100, BASE, Ticket(2, limit.version))
    assert limit.limit == 6


def test_answers_sent_under_an_earlier_limit_do_not_move_it_again():
    limit = warm(LatencyLimit(1, CEILING, start=4))
    old = limit.version
    for _ in range(3):
        limit.observe(100, BASE, Ticket(4, old))
    grown = limit.limit
    assert grown > 4
    for _ in range(3):
        limit.observe(100, BASE, Ticket(4, old))  # the same round's other answers
    assert limit.limit == grown


def past_slow_start(limit: LatencyLimit) -> LatencyLimit:
    """Once a queue has been seen (here: 5 in flight, answered in 2.5 turns), the limit grows by one at a time."""
    limit.observe(100, BASE, Ticket(1, limit.version - 1))  # the least, from an answer of an earlier limit
    limit.observe(100, BASE * 2.5, Ticket(limit.limit, limit.version))
    return limit


def test_past_slow_start_one_quick_answer_alone_does_not_grow_the_limit():
    limit = past_slow_start(warm(LatencyLimit(1, CEILING, start=5)))
    assert limit.limit == 4
    limit.observe(100, BASE, Ticket(1, limit.version))  # a batch of this size seen before
    limit.observe(100, BASE, Ticket(4, limit.version))
    assert limit.limit == 4


def test_from_the_floor_one_quick_answer_doubles_the_limit_and_above_it_two_must_agree():
    """Slow start: 1 -> 2 on one answer at the least latency (where a one-at-a-time server settles anyway), then each
    doubling on two answers of requests sent into a full pipeline: against four slots, 1, 2, 2, 4, 4, 8."""
    limit = warm(LatencyLimit(1, CEILING))
    limit.observe(100, BASE, Ticket(1, limit.version))  # the first batch of its size: its least, not yet a vote
    history = []
    for _ in range(5):
        limit.observe(100, BASE, Ticket(limit.limit, limit.version))
        history.append(limit.limit)
    assert history == [2, 2, 4, 4, 8]


def test_in_slow_start_one_lucky_quick_answer_does_not_double_a_limit_above_the_floor():
    """A one-at-a-time server at 2 in flight: one answer that happened to come quick is not a free slot."""
    limit = warm(LatencyLimit(1, CEILING))
    limit.observe(100, BASE, Ticket(1, limit.version))
    limit.observe(100, BASE, Ticket(1, limit.version))
    assert limit.limit == 2
    limit.observe(100, BASE, Ticket(2, limit.version))  # lucky
    limit.observe(100, BASE * 1.6, Ticket(2, limit.version))  # the usual wait behind the other request
    assert limit.limit == 2


def test_the_first_batch_of_a_new_size_does_not_grow_the_limit():
    limit = warm(LatencyLimit(1, CEILING, start=4))
    for rows in (100, 200, 400, 800):
        limit.observe(rows, BASE, Ticket(4, limit.version))
    assert limit.limit == 4


def test_a_bigger_batch_taking_longer_is_not_read_as_a_queue():
    """A bigger batch takes longer without any queue: it is measured against batches of its own size."""
    limit = warm(LatencyLimit(1, CEILING, start=4))
    for rows, seconds in [(100, BASE)] * 3 + [(800, BASE * 5)] * 3:
        before = limit.limit
        limit.observe(rows, seconds, Ticket(limit.limit, limit.version))
        assert limit.limit >= before


def test_a_new_size_is_bounded_by_the_sizes_seen():
    """No slower than a bigger batch, nor slower than in proportion to a smaller one: a first answer that queued
    does not become the least to compare with."""
    limit = warm(LatencyLimit(1, CEILING, start=8))
    limit.observe(100, BASE, Ticket(1, limit.version))
    limit.observe(200, BASE * 4, Ticket(8, limit.version))  # queued: twice what 2 x 100 texts can take
    limit.observe(200, BASE * 4, Ticket(8, limit.version))
    assert limit.limit < 8


def adapted(slots: int, target: float = 0.4, rounds: int = 80) -> tuple[list[int], list[int], list[float]]:
    """Auto beside --target-latency-ms against a server of ``slots`` slots (150 ms + 0.5 ms a text): the limit, the
    batch size and the latency after each round."""
    size = AdaptiveSize(100, Sizing.around(100, int(target * 1000)))
    limit = LatencyLimit(1, CEILING)
    limits, sizes, latencies = [], [], []
    for _ in range(rounds):
        in_flight, rows = limit.limit, size()
        seconds = (0.15 + 0.0005 * rows) * max(1.0, in_flight / slots)
        for ticket in [Ticket(in_flight, limit.version) for _ in range(in_flight)]:
            limit.observe(rows, seconds, ticket)
            size.observe(rows, seconds)
        limits.append(limit.limit)
        sizes.append(size())
        latencies.append(seconds)
    return limits, sizes, latencies


def test_with_an_adapted_batch_size_both_settle():
    """--target-latency-ms beside auto: batches aim at the target including the short queue the limit keeps, and the
    limit stays one to three requests above the server's slots."""
    limits, _, latencies = adapted(4)
    assert set(limits[-20:]) <= {5, 6, 7}
    assert all(0.3 <= seconds <= 0.45 for seconds in latencies[-20:])


def test_with_an_adapted_batch_size_a_one_at_a_time_server_still_gets_one_or_two():
    limits, _, _ = adapted(1)
    assert max(limits) <= 2


def test_queued_estimates_the_requests_waiting():
    assert queued(8, BASE * 2, BASE) == 4
    assert queued(4, BASE, BASE) == 0
    assert queued(4, BASE / 2, BASE) == 0  # quicker than the least seen: nothing waits


@pytest.mark.parametrize("text, value", [("auto", AUTO), ("AUTO", AUTO), ("3", 3), (5, 5)])
def test_concurrency_is_a_positive_number_or_auto(text, value):
    assert parse_concurrency(text) == value


@pytest.mark.parametrize("text", ["0", "-1", "many", "", "2.5"])
def test_any_other_concurrency_is_refused_naming_it(text):
    with pytest.raises(ConfigError, match=rf"--concurrency: invalid value '{text}'.*positive integer or auto"):
        parse_concurrency(text)


def test_fail_fast_gets_one_at_a_time_whatever_was_asked():
    assert limit_for(AUTO, one_at_a_time=True).ceiling == 1
    assert limit_for(8, one_at_a_time=True).ceiling == 1


def test_the_gate_admits_more_as_soon_as_the_limit_grows():
    limit = warm(LatencyLimit(1, CEILING))
    gate, stop = Gate(limit), threading.Event()
    first = gate.enter(stop)
    limit.observe(100, BASE, first)  # a size seen before
    admitted = threading.Event()
    threading.Thread(target=lambda: gate.enter(stop) and admitted.set(), daemon=True).start()
    assert not admitted.wait(0.15)  # the limit is 1 and one request is in flight
    for _ in range(2):  # quick whole answers with the pipeline full: the limit grows to 2 while `first` still runs
        limit.observe(100, BASE, first)
    assert admitted.wait(1)
    assert limit.limit == 2 and gate.in_flight == 2 and gate.peak == 2


def test_the_gate_lets_a_waiting_dispatcher_go_when_the_run_stops():
    gate, stop = Gate(LatencyLimit(1, 1)), threading.Event()
    gate.enter(stop)
    stop.set()
    assert gate.enter(stop) is None


def test_the_gate_counts_an_answer_until_the_writer_takes_it():
    """A slow writer holds answers: no more are sent than the limit, answered or not, so memory stays bounded."""
    gate, stop = Gate(LatencyLimit(2, 2)), threading.Event()
    tickets = [gate.enter(stop), gate.enter(stop)]
    for ticket in tickets:
        gate.leave(ticket)  # answered, not yet taken by the writer
    stop.set()
    assert gate.enter(stop) is None
    gate.taken()
    assert gate.enter(threading.Event()) is not None


def test_the_gate_holds_requests_in_flight_to_the_limit_though_the_writer_took_them():
    """The writer takes a batch and waits for its answer: it is still in flight."""
    gate, stop = Gate(LatencyLimit(1, 1)), threading.Event()
    gate.enter(stop)
    gate.taken()
    stop.set()
    assert gate.enter(stop) is None
