"""CPU seconds spent by this process and by one Postgres cluster during a timed step.

On a shared machine a wall-clock ratio moves with whatever else runs (the same two
statements measured 1.3x apart at load 0.5 and 0.8x at load 5); the CPU seconds each
side spent move far less, so the benchmarks print both. The cluster's figure is its
postmaster's processes: backends, parallel workers and background writers, those
already exited included (the postmaster reaps them, so their time is in its own
children's counters).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    # The command name may hold spaces and parentheses: the fields start after its last ')'.
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cluster_cpu(pgdata: Path) -> float:
    """CPU seconds the cluster at ``pgdata`` has used so far: the postmaster, every live child and every reaped one."""
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    while True:
        # A backend reaped while its siblings are read (a connection just closed) would be in neither the listing nor
        # the postmaster's counters read before it: read those again, and start over where they moved.
        before = _own_and_reaped(postmaster)
        children = sum(sum(_own_and_reaped(int(name))) for name in os.listdir("/proc") if name.isdigit()
                       and _parent(int(name)) == postmaster)
        if _own_and_reaped(postmaster)[1] == before[1]:
            return (sum(before) + children) / _TICK


def _own_and_reaped(pid: int) -> tuple[int, int]:
    """Clock ticks a process used itself and those of its children it has reaped; (0, 0) once it is gone."""
    try:
        fields = _stat(pid)
    except (OSError, IndexError):
        return 0, 0
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def _parent(pid: int) -> int | None:
    try:
        return int(_stat(pid)[1])
    except (OSError, IndexError):
        return None


@dataclass
class Spent:
    """What one timed step cost: wall seconds, this process's CPU seconds (every thread) and the cluster's."""

    wall: float = 0.0
    client: float = 0.0
    server: float = 0.0

    @property
    def cpu(self) -> float:
        return self.client + self.server

    def line(self) -> str:
        return f"{self.cpu:.2f} CPU-s (this process {self.client:.2f} + Postgres {self.server:.2f})"


@contextmanager
def measured(pgdata: Path) -> Iterator[Spent]:
    """Time the block: wall clock, this process's CPU and the cluster's, filled in when the block ends."""
    spent = Spent()
    # The cluster read first and last: reading /proc costs this process about 25 ms, which is not the block's.
    server = cluster_cpu(pgdata)
    wall, client = time.perf_counter(), time.process_time()
    try:
        yield spent
    finally:
        spent.wall = time.perf_counter() - wall
        spent.client = time.process_time() - client
        spent.server = cluster_cpu(pgdata) - server
