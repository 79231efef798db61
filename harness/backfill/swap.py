"""Replace a live collection by a new one in one transaction, keep the old one for rollback, drop it on purpose.

A swap relabels collection values in the chunk and embedding tables (LIVE -> LIVE__retired,
NEW -> LIVE) inside one transaction, so a reader's statement sees all-old or all-new.
The bookkeeping row in ``backfill_harness.swaps`` says what a rollback must undo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from ..errors import CheckFailed, ConfigError
from ..target import Target
from . import bookkeeping, lock
from .gate import GateResult, run_gate
from ..state import require_collection

RETIRED_SUFFIX = "__retired"


@dataclass
class SwapResult:
    action: str  # swap, rollback, drop-retired
    live: str
    new: str | None = None
    retired: str | None = None
    chunks: int = 0
    embeddings: int = 0
    gate: GateResult | None = None
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        if self.action == "swap":
            return (f"Swapped: {self.new} is now {self.live} ({self.chunks} chunks, {self.embeddings} vectors); "
                    f"the old vectors are kept as {self.retired} until swap --drop-retired --to {self.live}.")
        if self.action == "rollback":
            return f"Rolled back: {self.live} is the old collection again; the replacement is back as {self.new}."
        return f"Dropped {self.retired}: {self.chunks} chunks, {self.embeddings} vectors deleted."

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "live": self.live, "new": self.new, "retired": self.retired, "chunks": self.chunks,
                "embeddings": self.embeddings, "gate": self.gate.as_dict() if self.gate else None, "summary": self.line()}


def _require_collections(target: Target) -> None:
    ch, em = target.profile.chunks, target.profile.embeddings
    if not ch.collection or target.inline or not em.collection:
        raise ConfigError(f"swap needs a collection column in both the chunk and embedding tables; profile "
                          f"{target.profile.name!r} lacks one, expected chunks.collection and embeddings.collection")


def _relabel(conn: psycopg.Connection, target: Target, old: str, new: str) -> tuple[int, int]:
    ch, em = target.profile.chunks, target.profile.embeddings
    chunks = conn.execute(sql.SQL("UPDATE {t} AS c SET {col} = %(new)s WHERE {where}").format(
        t=target.chunk_table, col=sql.Identifier(ch.collection), where=target.chunk_filter()),
        {"collection": old, "new": new}).rowcount
    vectors = conn.execute(sql.SQL("UPDATE {t} SET {col} = %(new)s WHERE {col}::text = %(old)s").format(
        t=target.embedding_table, col=sql.Identifier(em.collection)), {"old": old, "new": new}).rowcount
    return chunks, vectors


def _record(conn: psycopg.Connection, target: Target, live: str) -> dict[str, Any] | None:
    em = target.profile.embeddings
    return conn.execute("SELECT live, retired, replaced_by FROM backfill_harness.swaps WHERE target = %s AND live = %s",
                        (bookkeeping.target_name(em.schema, em.table), live)).fetchone()


class _Locked:
    """Hold the backfill locks of the collections a swap touches, so no backfill writes into them meanwhile."""

    def __init__(self, dsn_conn: psycopg.Connection, table: str, collections: list[str]):
        self.conn, self.table, self.collections, self.held = dsn_conn, table, collections, []

    def __enter__(self) -> "_Locked":
        for name in self.collections:
            lock.acquire(self.conn, self.table, name)
            self.held.append(name)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self.held:
            lock.release(self.conn, self.table, name)


def swap(conn: psycopg.Connection, lock_conn: psycopg.Connection, target: Target, new: str, live: str, model: str,
         dimensions: int | None) -> SwapResult:
    """Gate ``new``, then relabel live -> retired and new -> live in one transaction."""
    _require_collections(target)
    if new == live:
        raise ConfigError(f"--from {new!r} and --to {live!r} are the same collection; expected two different names")
    require_collection(conn, target, new)
    require_collection(conn, target, live)
    bookkeeping.ensure(conn)
    retired = live + RETIRED_SUFFIX
    previous = _record(conn, target, live)
    if previous is not None:
        raise ConfigError(f"{live!r} was already swapped and its old vectors are kept as {previous['retired']!r}; "
                          f"expected them dropped first with swap --drop-retired --to {live} (or swap --rollback --to {live})")
    with _Locked(lock_conn, target.profile.embeddings.table, [live, new]):
        gate = run_gate(conn, target, new, model, dimensions)
        if not gate.ok:
            raise CheckFailed(f"{new!r} is not ready to replace {live!r}: " + "; ".join(gate.failures()) + "; nothing was swapped")
        em = target.profile.embeddings
        with conn.transaction():
            _relabel(conn, target, live, retired)
            chunks, vectors = _relabel(conn, target, new, live)
            conn.execute("INSERT INTO backfill_harness.swaps (target, live, retired, replaced_by) VALUES (%s, %s, %s, %s)",
                         (bookkeeping.target_name(em.schema, em.table), live, retired, new))
    return SwapResult("swap", live, new, retired, chunks, vectors, gate)


def rollback(conn: psycopg.Connection, lock_conn: psycopg.Connection, target: Target, live: str) -> SwapResult:
    """Undo the last swap of ``live`` in one transaction: the retired collection is live again."""
    _require_collections(target)
    bookkeeping.ensure(conn)
    record = _record(conn, target, live)
    if record is None:
        raise ConfigError(f"no swap of {live!r} to roll back; expected a swap --from NEW --to {live} whose old vectors are kept")
    em = target.profile.embeddings
    with _Locked(lock_conn, em.table, [live, record["replaced_by"]]):
        with conn.transaction():
            _relabel(conn, target, live, record["replaced_by"])
            chunks, vectors = _relabel(conn, target, record["retired"], live)
            conn.execute("DELETE FROM backfill_harness.swaps WHERE target = %s AND live = %s",
                         (bookkeeping.target_name(em.schema, em.table), live))
    return SwapResult("rollback", live, record["replaced_by"], record["retired"], chunks, vectors)


def drop_retired(conn: psycopg.Connection, lock_conn: psycopg.Connection, target: Target, live: str) -> SwapResult:
    """Delete the old vectors (and chunks) a swap of ``live`` kept; rollback is impossible afterwards."""
    _require_collections(target)
    bookkeeping.ensure(conn)
    record = _record(conn, target, live)
    if record is None:
        raise ConfigError(f"no retired collection kept for {live!r}; expected an earlier swap --from NEW --to {live}")
    em = target.profile.embeddings
    retired = record["retired"]
    with conn.transaction():
        vectors = conn.execute(sql.SQL("DELETE FROM {t} WHERE {col}::text = %s").format(
            t=target.embedding_table, col=sql.Identifier(em.collection)), (retired,)).rowcount
        chunks = conn.execute(sql.SQL("DELETE FROM {t} AS c WHERE {where}").format(
            t=target.chunk_table, where=target.chunk_filter()), {"collection": retired}).rowcount
        conn.execute("DELETE FROM backfill_harness.swaps WHERE target = %s AND live = %s",
                     (bookkeeping.target_name(em.schema, em.table), live))
    return SwapResult("drop-retired", live, None, retired, chunks, vectors)
