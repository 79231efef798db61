"""The batch size adapts to the provider's latency: toward a target, by at most x2 or /2 a step, within bounds."""

from __future__ import annotations

from harness.backfill.batchsize import AdaptiveSize, Sizing, next_batch_size

SIZING = Sizing(target_s=1.0, lo=10, hi=1000)


def latency(rows: int, fixed: float = 0.2, per_row: float = 0.004) -> float:
    """A server that takes a fixed cost per request plus a cost per text."""
    return fixed + per_row * rows


def test_a_quick_answer_grows_the_batch_at_most_twofold():
    assert next_batch_size(100, 100, 0.1, SIZING) == 200


def test_a_slow_answer_shrinks_the_batch_at_most_by_half():
    assert next_batch_size(100, 100, 10.0, SIZING) == 50


def test_an_answer_near_the_target_moves_the_batch_in_proportion():
    assert next_batch_size(100, 100, 0.8, SIZING) == 125


def test_the_batch_stays_within_its_bounds():
    assert next_batch_size(900, 900, 0.1, SIZING) == 1000
    assert next_batch_size(12, 12, 30.0, SIZING) == 10


def test_a_measurement_without_rows_or_time_keeps_the_size():
    assert next_batch_size(100, 0, 1.0, SIZING) == 100
    assert next_batch_size(100, 100, 0.0, SIZING) == 100


def test_repeated_answers_converge_to_the_size_whose_latency_is_the_target():
    size = 10
    for _ in range(30):
        size = next_batch_size(size, size, latency(size), SIZING)
    assert size == 200  # 0.2 s + 0.004 s x 200 = 1.0 s
    assert abs(latency(size) - SIZING.target_s) < 0.01


def test_the_size_follows_a_server_that_slows_down():
    size = 200
    for _ in range(30):
        size = next_batch_size(size, size, latency(size, per_row=0.016), SIZING)
    assert size == 50  # 0.2 s + 0.016 s x 50 = 1.0 s


def test_bounds_lie_an_order_of_magnitude_around_the_configured_size():
    assert Sizing.around(100, 2000) == Sizing(2.0, 12, 800)
    assert Sizing.around(4, 500) == Sizing(0.5, 1, 32)


def test_the_first_answer_is_not_taken_as_the_servers_pace():
    size = AdaptiveSize(100, SIZING)
    size.observe(100, 30.0)  # a cold server loading its model
    assert size() == 100
    size.observe(100, 0.5)
    assert size() == 200
