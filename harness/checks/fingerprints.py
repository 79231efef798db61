"""The pass's fingerprints, as they arrive: which ones more than one text holds, in bounded memory.

The pass sends every vector's fingerprint with a hash of its row's text, 16 bytes a vector
(``int8send`` pairs, in pieces). Up to ``MEMORY_LIMIT`` bytes (1,048,576 vectors) they are
kept as they came; past it they are written to a temporary file by bucket (the fingerprint's
low bits, so a fingerprint's every copy lands in one bucket) and each bucket is read back
alone, ``READ_BYTES`` at a time, each fingerprint reduced to its lowest and highest text hash
(two texts: they differ). The sort that finds the repeated ones needs a few times what it
sorts, so this process holds a bound (about 5 x 16 MB) and not, at 10,000,000 vectors, 160 MB
of pairs and 0.5 GB for their sort (#12), even where every vector is one (all in one bucket).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from typing import IO

import numpy as np

# hashfloat8extended(0, seed) is the seed: a zero vector's fingerprint is 0 # 1. Another vector has it with
# chance 2**-64, and would then be reported as a zero vector (a failure, never a pass).
ZERO_FINGERPRINT = 1

MEMORY_LIMIT = 16 << 20  # bytes of pairs kept in memory before they go to a file by bucket
BUCKETS = 256  # at 10,000,000 vectors about 0.6 MB a bucket
READ_BYTES = 1 << 20  # pairs of a spilled bucket read and reduced at once (a multiple of 16)


def pairs(raw: bytes) -> np.ndarray:
    """The (fingerprint, text hash) of each vector in ``raw``: ``int8send`` values, concatenated."""
    return np.frombuffer(raw, dtype=">i8").reshape(-1, 2)


def zeros(raw: bytes) -> int:
    """How many vectors in ``raw`` are zero vectors (the fingerprint the pass gives them)."""
    return int((pairs(raw)[:, 0] == ZERO_FINGERPRINT).sum())


def held_twice(arrays: Iterable[bytes]) -> list[int]:
    """The fingerprints held with more than one text in these pieces, together: rows sharing a vector and a text (a
    copy made by ``--into``, a chunk repeated word for word) are no candidates, so a copy that reuses every vector is
    not read a second time (it was, whole: at 1,000,000 rows 1.8 million fingerprints sent back)."""
    parts = [found for found in map(pairs, arrays) if len(found)]
    if not parts:
        return []
    # Most passes hold no fingerprint twice: one in-place sort of the fingerprints alone (8 bytes a vector) shows
    # it; only then are the pairs sorted with their texts (#12: a third of the time and memory of sorting every pair).
    fps = np.empty(sum(len(part) for part in parts), dtype=np.int64)
    at = 0
    for part in parts:
        fps[at:at + len(part)] = part[:, 0]
        at += len(part)
    fps.sort()
    if not (fps[1:] == fps[:-1]).any():
        return []
    del fps
    both = np.concatenate(parts).astype(np.int64)
    both = both[np.lexsort((both[:, 1], both[:, 0]))]
    fp, th = both[:, 0], both[:, 1]
    first = np.ones(len(fp), dtype=bool)
    first[1:] = (fp[1:] != fp[:-1]) | (th[1:] != th[:-1])
    fp = fp[first]  # one entry per (fingerprint, text)
    return [int(v) for v in np.unique(fp[1:][fp[1:] == fp[:-1]])]


class Spool:
    """The pairs of one pass (one tenant's view), in memory up to ``limit`` bytes, beyond it in a temporary file
    by bucket (spools spilled together share one file, closed by the spool that opened it). Close it when done."""

    def __init__(self, limit: int | None = None, buckets: int = BUCKETS) -> None:
        self.limit, self.buckets = MEMORY_LIMIT if limit is None else limit, buckets
        self.pieces: list[bytes] = []
        self.held = 0  # bytes in ``pieces``
        self.file: IO[bytes] | None = None
        self.owns_file = False
        self.segments: list[list[tuple[int, int]]] = [[] for _ in range(buckets)]  # per bucket: (offset, length)

    def add(self, raw: bytes) -> None:
        if not raw:
            return
        if self.file is None and self.held + len(raw) <= self.limit:
            self.pieces.append(raw)
            self.held += len(raw)
            return
        self.spill()
        self._write(raw)

    def spill(self, file: IO[bytes] | None = None) -> None:
        """Move what is held in memory to the file, by bucket (nothing once spilled): to ``file`` (another spool's,
        spilled with it), else to a file of its own."""
        if self.file is None:
            self.owns_file = file is None
            self.file = tempfile.TemporaryFile(prefix="bh-fingerprints-") if file is None else file
        for raw in self.pieces:
            self._write(raw)
        self.pieces, self.held = [], 0

    def _write(self, raw: bytes) -> None:
        assert self.file is not None
        found = pairs(raw)
        bucket = found[:, 0].astype(np.int64) & (self.buckets - 1)
        order = np.argsort(bucket, kind="stable")
        ordered = found[order]
        bounds = np.searchsorted(bucket[order], np.arange(self.buckets + 1))
        self.file.seek(0, 2)
        at = self.file.tell()
        self.file.write(ordered.tobytes())
        for b in np.flatnonzero(np.diff(bounds)):
            start, end = int(bounds[b]) * 16, int(bounds[b + 1]) * 16
            self.segments[b].append((at + start, end - start))

    def read(self, at: int, length: int) -> bytes:
        """``length`` bytes of this spool's file from ``at`` (within one of its ``segments``)."""
        assert self.file is not None and length % 16 == 0
        self.file.seek(at)
        return self.file.read(length)

    @property
    def size(self) -> int:
        return self.held if self.file is None else sum(length for seg in self.segments for _, length in seg)

    def close(self) -> None:
        if self.file is not None and self.owns_file:
            self.file.close()
        self.pieces = []


def bound(spools: list[Spool]) -> None:
    """Spill every spool to its file once together they hold more than their memory limit (many tenants' views)."""
    if sum(s.held for s in spools) > min((s.limit for s in spools), default=0):
        _spill_together(spools)


def _spill_together(spools: list[Spool]) -> None:
    """Spill these spools into one file (one per view held 1,000 open files for 1,000 tenants' views)."""
    file = next((s.file for s in spools if s.file is not None), None)
    for s in spools:
        s.spill(file)
        file = file or s.file


def held_twice_in(spools: list[Spool]) -> list[int]:
    """The fingerprints held with more than one text in these spools together (one spool: one view's pass), reading
    at most one bucket at a time once their pairs pass the memory bound together."""
    bound(spools)
    if all(s.file is None for s in spools):
        return held_twice(raw for s in spools for raw in s.pieces)
    _spill_together(spools)
    buckets = {s.buckets for s in spools}
    assert len(buckets) == 1, "spools of one pass share their bucket count"
    found: list[int] = []
    for b in range(buckets.pop()):
        # Each fingerprint of the bucket as (fingerprint, lowest text hash, highest): a bucket is read a batch at a
        # time and folded into these, so one fingerprint every vector holds costs one row, not every pair.
        ranges = np.empty((0, 3), dtype=np.int64)
        for batch in _batches(spools, b):
            found_pairs = pairs(batch).astype(np.int64)
            ranges = _ranges(np.concatenate([ranges, found_pairs[:, [0, 1, 1]]]))
        found += [int(v) for v in ranges[ranges[:, 1] != ranges[:, 2], 0]]
    return sorted(found)


def _batches(spools: list[Spool], b: int, size: int | None = None) -> Iterable[bytes]:
    """The pairs of bucket ``b`` of these (spilled) spools, at most ``size`` bytes (``READ_BYTES``) at a time."""
    size = READ_BYTES if size is None else size
    assert size > 0 and size % 16 == 0, "a batch holds whole pairs"
    out: list[bytes] = []
    held = 0
    for s in spools:
        for at, length in s.segments[b]:
            while length:
                take = min(length, size - held)
                out.append(s.read(at, take))
                at, length, held = at + take, length - take, held + take
                if held == size:
                    yield b"".join(out)
                    out, held = [], 0
    if out:
        yield b"".join(out)


def _ranges(rows: np.ndarray) -> np.ndarray:
    """(fingerprint, lowest text hash, highest text hash) rows, one per fingerprint of ``rows`` (rows of the same)."""
    rows = rows[np.argsort(rows[:, 0], kind="stable")]
    starts = np.flatnonzero(np.r_[True, rows[1:, 0] != rows[:-1, 0]]) if len(rows) else np.empty(0, dtype=np.intp)
    if not len(starts):
        return rows
    return np.stack([rows[starts, 0], np.minimum.reduceat(rows[:, 1], starts),
                     np.maximum.reduceat(rows[:, 2], starts)], axis=1)
