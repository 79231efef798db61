"""The pass's fingerprints: ``held_twice`` finds exactly those seen with more than one text, in memory or spilled by bucket."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.checks.fingerprints import Spool, bound, held_twice, held_twice_in


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


def _spools(groups: list[list[tuple[int, int]]], limit: int, piece: int = 3) -> list[Spool]:
    """One spool per group, fed in pieces of ``piece`` pairs as the pass sends them."""
    spools = []
    for group in groups:
        spool = Spool(limit=limit, buckets=4)
        for at in range(0, len(group), piece):
            spool.add(_blob(group[at:at + piece]))
        spools.append(spool)
    return spools


@settings(max_examples=200, deadline=None)
@given(st.lists(_pairs, min_size=1, max_size=4), st.sampled_from([0, 16, 64, 10_000]))
def test_spools_past_their_memory_limit_find_what_memory_finds(groups, limit):
    spools = _spools(groups, limit)
    try:
        assert held_twice_in(spools) == _by_sets(groups)
    finally:
        for spool in spools:
            spool.close()


@settings(max_examples=200, deadline=None)
@given(st.lists(_pairs, min_size=1, max_size=4), st.sampled_from([16, 48, 1 << 20]))
def test_spilled_buckets_read_a_few_pairs_at_a_time_find_what_memory_finds(groups, batch):
    from harness.checks import fingerprints

    spools, kept = _spools(groups, 0), fingerprints.READ_BYTES
    fingerprints.READ_BYTES = batch
    try:
        assert held_twice_in(spools) == _by_sets(groups)
    finally:
        fingerprints.READ_BYTES = kept
        for spool in spools:
            spool.close()


def test_a_spool_past_its_limit_keeps_nothing_in_memory():
    spool = _spools([[(i, i) for i in range(100)]], limit=160)[0]
    try:
        assert spool.file is not None and spool.pieces == [] and spool.held == 0 and spool.size == 1600
    finally:
        spool.close()


def test_spools_together_past_the_limit_are_spilled_together():
    spools = _spools([[(1, 1)] * 6, [(1, 2)] * 6], limit=150)  # each 96 bytes: alone under the limit, together not
    try:
        assert all(s.file is None for s in spools)
        assert held_twice_in(spools) == [1]
        assert all(s.file is not None for s in spools)
    finally:
        for spool in spools:
            spool.close()


def test_a_spilled_fingerprint_that_every_vector_holds_is_read_in_bounded_memory(monkeypatch):
    """A provider that answers one vector for every text (all zeros, say) puts every pair in one bucket: reading that
    bucket whole held the collection's every pair and their sort (10,000,000 vectors: about 600 MB), not the bound."""
    import tracemalloc

    from harness.checks import fingerprints

    monkeypatch.setattr(fingerprints, "READ_BYTES", 1 << 16)
    n, piece = 400_000, 4096  # 6.4 MB of pairs, sent in pieces of 64 KB
    spool = Spool(limit=1 << 16)
    try:
        for at in range(0, n, piece):
            spool.add(np.stack([np.full(piece, 1), np.arange(at, at + piece)], axis=1).astype(">i8").tobytes())
        tracemalloc.start()
        try:
            found = held_twice_in([spool])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    finally:
        spool.close()
    assert found == [1]
    assert peak < 1 << 20, f"{peak / 2**20:.1f} MB held to read 6.4 MB of pairs, 64 KB at a time"


def test_the_spools_of_many_views_spilled_together_share_one_file():
    """One spool per tenant view: each spilled to a file of its own, 1,000 views held 1,000 open files (past the
    usual limit of 1,024 the pass failed with 'Too many open files')."""
    groups = [[(view, view), (1, view)] for view in range(300)]
    spools = _spools(groups, limit=1 << 10)
    try:
        bound(spools)
        assert held_twice_in(spools) == _by_sets(groups) == [1]
        assert all(s.file is not None for s in spools) and len({id(s.file) for s in spools}) == 1
    finally:
        for spool in spools:
            spool.close()
    assert spools[0].file.closed
