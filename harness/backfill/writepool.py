"""Batches written by several sessions at once, handed back in the order they were selected.

One COPY stream keeps one server backend busy while this process encodes the next batch; a second session lets the
server insert one batch while another is parsed and committed (issue #12: on 2 cores, two streams wrote 200,000
vectors in 0.75-0.8 of one stream's time). Each batch is still one transaction on one session, so a run killed at
any point loses only the batches in flight, which the next run's selection finds again. Sessions beyond the first
are opened only when a batch arrives while every open one is busy.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import psycopg

from .. import db as dbmod
from ..errors import HarnessError
from . import lock
from .writer import BatchWriter, Vectors

T = TypeVar("T")
log = logging.getLogger("harness.backfill")


@dataclass(frozen=True)
class Written:
    """One batch's write: rows written, the keys its UPDATE did not change (row-level security), and when;
    ``rolled_back``: such keys made the writer roll the whole batch back (fail-fast), and no later batch is written."""

    rows: int
    not_updated: tuple[Any, ...]
    started: float
    ended: float
    rolled_back: bool = False
    discarded: tuple[Any, ...] = ()  # keys whose vector the table did not keep (a trigger or rule dropped the write)
    edited: tuple[Any, ...] = ()  # keys not written: their text changed between its read and the write


# What Postgres says when it has no connection slot for one more session (SQLSTATE 53300, and the slots it keeps
# for superusers or replication): the only refusal the pool writes through with the sessions it has.
_NO_SLOT = ("too many clients", "connection slots are reserved", "53300")


def no_slot_left(exc: BaseException) -> bool:
    """Whether opening a session failed for want of a connection slot (not because the server is gone)."""
    return getattr(exc, "sqlstate", None) == "53300" or any(m in str(exc) for m in _NO_SLOT)


class WritePool(Generic[T]):
    """Up to ``size`` BatchWriters, each on its own session; ``submit`` queues a batch, ``landed`` yields the
    finished ones in submission order (a write's error is raised there, in order)."""

    def __init__(self, first: BatchWriter, more: Callable[[], BatchWriter], size: int):
        if size < 1:
            raise ValueError(f"a write pool needs at least one writer, not {size}")
        self.size = size
        self.writers = [first]
        self._more = more
        self._idle: queue.SimpleQueue[BatchWriter] = queue.SimpleQueue()
        self._idle.put(first)
        self._lock = threading.Lock()
        self._failed = threading.Event()
        self._pending: deque[tuple[T, Future[Written]]] = deque()
        # As many threads as writers: a batch waits in the executor's queue, never for a writer another thread holds.
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="write")
        self._busy_until = 0.0
        self._wrote: set[int] = set()  # the writers (by id) that wrote a row
        self.seconds = 0.0  # wall time during which at least one batch was being written

    @property
    def wrote(self) -> int:
        """How many sessions wrote rows (a session opened for a batch with nothing to write is not counted)."""
        return len(self._wrote)

    def submit(self, tag: T, batch: Vectors, session: Mapping[str, str] | None) -> None:
        self._pending.append((tag, self._executor.submit(self._write_or_stop, batch, session)))

    def landed(self, *, keep: int | None = None) -> Iterator[tuple[T, Written]]:
        """The oldest batches whose writes have ended, in order; waits for them while more than ``keep`` are pending
        (default: the pool's size, so every writer stays busy while the next batch is embedded)."""
        keep = self.size if keep is None else keep
        while self._pending and (len(self._pending) > keep or self._pending[0][1].done()):
            tag, future = self._pending.popleft()
            written = future.result()
            # Batches start in submission order, so the union of their intervals grows from the left.
            self.seconds += max(0.0, written.ended - max(written.started, self._busy_until))
            self._busy_until = max(self._busy_until, written.ended)
            yield tag, written

    def cancel(self) -> None:
        """The run is failing (Ctrl-C, an error): no batch starts any more, and the server is asked to cancel the
        writes in flight, each of which then rolls back whole (a session waiting for nothing is not affected)."""
        self._failed.set()
        with self._lock:
            writers = list(self.writers)
        for writer in writers:
            try:
                writer.conn.cancel_safe(timeout=5)
            except psycopg.Error as exc:  # the write then ends on its own: close() still waits for it
                log.debug("could not cancel a write in flight: %s", exc)

    def close(self) -> None:
        """Wait for the writes in flight (a session is never closed under its transaction) and close the sessions
        this pool opened (the first belongs to the caller)."""
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()
        for writer in self.writers[1:]:
            writer.conn.close()

    def _write_or_stop(self, batch: Vectors, session: Mapping[str, str] | None) -> Written:
        """``_write``; its failure stops every later write of the pool."""
        try:
            return self._write(batch, session)
        except BaseException:
            self._failed.set()
            raise

    def _write(self, batch: Vectors, session: Mapping[str, str] | None) -> Written:
        writer = self._take()
        started = time.perf_counter()
        try:
            # A failed write ends the run: no batch queued behind it, or waiting for its session, is written (as
            # with one session).
            if self._failed.is_set():
                raise HarnessError(f"a batch of {len(batch)} vectors was not written: the write of an earlier batch failed")
            rows = writer.write(batch, session)
            if rows:
                self._wrote.add(id(writer))
            if writer.rolled_back:
                self._failed.set()  # the run stops at this batch: none queued behind it is written
            return Written(rows, tuple(writer.not_updated), started, time.perf_counter(), writer.rolled_back,
                           tuple(writer.discarded), tuple(writer.edited))
        except psycopg.errors.LockNotAvailable:
            raise lock.waited_too_long(writer.conn, f"writing a batch of {len(batch)} vectors", writer.tables(),
                                       ours=[w.conn.info.backend_pid for w in list(self.writers)]) from None
        except psycopg.Error as exc:
            raise HarnessError(f"writing a batch of {len(batch)} vectors failed: {dbmod.describe_error(exc)}") from exc
        finally:
            self._idle.put(writer)

    def _take(self) -> BatchWriter:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            # At most ``size`` writes run at once and each holds one writer, so this opens at most size - 1 more.
            if len(self.writers) < self.size:
                try:
                    writer = self._more()
                except (psycopg.Error, HarnessError) as exc:
                    if not no_slot_left(exc):  # the server is gone (a restart): the write fails, said once
                        raise HarnessError("opening another write session failed: "
                                           + (dbmod.describe_error(exc) if isinstance(exc, psycopg.Error) else str(exc))
                                           ) from exc
                    # A server with no connection slot to spare: the sessions already open write every batch.
                    log.warning("no session to spare for another writer (%s); writing with %d", exc, len(self.writers))
                    self.size = len(self.writers)
                else:
                    self.writers.append(writer)
                    return writer
        return self._idle.get()
