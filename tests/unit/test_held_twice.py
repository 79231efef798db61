"""``held_twice`` finds exactly the fingerprints the pass saw with more than one text, across every group it sent."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.checks.stats import held_twice


def _blob(pairs: list[tuple[int, int]]) -> bytes:
    return np.array(pairs, dtype=">i8").reshape(-1, 2).tobytes()


def _by_sets(groups: list[list[tuple[int, int]]]) -> list[int]:
    texts: dict[int, set[int]] = {}
    for group in groups:
        for fp, th in group:
            texts.setdefault(fp, set()).add(th)
    return sorted(fp for fp, ths in texts.items() if len(ths) > 1)


# Few distinct values, so that repeats (same text, other text, across groups) are common.
_pairs = st.lists(st.tuples(st.integers(-3, 3), st.integers(-2, 2)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.lists(_pairs, max_size=4))
def test_the_fingerprints_held_twice_are_those_held_with_two_texts(groups):
    assert held_twice([_blob(g) for g in groups]) == _by_sets(groups)


def test_a_vector_repeated_with_its_own_text_only_is_not_held_twice():
    assert held_twice([_blob([(7, 1), (7, 1)]), _blob([(7, 1)])]) == []


def test_a_vector_held_with_two_texts_in_two_groups_is_held_twice():
    assert held_twice([_blob([(7, 1), (8, 1)]), _blob([(7, 2)])]) == [7]


def test_extreme_fingerprints_are_compared_exactly():
    low, high = -(2 ** 63), 2 ** 63 - 1
    assert held_twice([_blob([(low, 1), (high, 1), (low, 2), (high + 0, 1)])]) == [low]


def test_no_groups_hold_nothing_twice():
    assert held_twice([]) == [] and held_twice([b""]) == []
