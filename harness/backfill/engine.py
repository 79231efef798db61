"""The backfill engine: select what needs embedding, embed in batches, validate, write; keep the provider busy.

While batch N is written, batch N+1 is being embedded. Every vector is
validated before it is written. A batch that the provider rejects (HTTP 4xx)
is split in halves until the failing inputs are isolated; the rest is embedded.
Texts beyond the model's context are retried with ``truncate: true`` and counted.
Killed at any point, a new run picks up where the database says it stands.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg

from .. import db as dbmod
from ..errors import CheckFailed, HarnessError, ProviderRejected
from ..profile import Profile
from ..provider import OllamaProvider, check_vectors
from ..target import Target
from . import lock
from .progress import Progress
from .selection import CollectionState, Row, collection_state, iter_batches, require_collection
from .writer import BatchWriter, Embedding

log = logging.getLogger("harness.backfill")
CONTINUE, FAIL_FAST = "continue", "fail-fast"


@dataclass(frozen=True)
class BackfillOptions:
    collection: str
    batch_size: int = 100
    dry_run: bool = False
    on_failure: str = CONTINUE
    limit: int | None = None
    progress: bool | None = None  # None: a bar on a terminal, log lines otherwise


@dataclass(frozen=True)
class RowFailure:
    key: Any
    collection: str
    tenant: Any
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"key": _plain(self.key), "collection": self.collection, "tenant": _plain(self.tenant), "reason": self.reason}


@dataclass
class BackfillSummary:
    collection: str
    model: str
    dry_run: bool
    before: CollectionState
    after: CollectionState | None = None
    selected: int = 0
    embedded: int = 0
    truncated: int = 0
    failed: int = 0
    batches: int = 0
    requests: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    write_seconds: float = 0.0
    failures: list[RowFailure] = field(default_factory=list)
    stopped: str | None = None  # why the run ended early (fail-fast), if it did

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.stopped is None

    @property
    def rows_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        """The closing line people look for."""
        if self.dry_run:
            b = self.before
            return (f"Dry run: {b.needed} of {b.chunks} rows in {self.collection} need embedding "
                    f"({b.missing} missing, {b.stale if b.stale is not None else 'n/a'} stale, "
                    f"{b.other_model if b.other_model is not None else 'n/a'} other model). Nothing written.")
        return f"Done. Embedded {self.embedded}/{self.selected} rows. {self.failed} failures."

    def as_dict(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "model": self.model,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "before": self.before.as_dict(),
            "after": self.after.as_dict() if self.after else None,
            "selected": self.selected,
            "embedded": self.embedded,
            "truncated": self.truncated,
            "failed": self.failed,
            "batches": self.batches,
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second, 1),
            "failures": [f.as_dict() for f in self.failures],
            "stopped": self.stopped,
            "summary": self.line(),
        }


@dataclass
class _Embedded:
    rows: list[Row]
    good: list[Embedding]
    failures: list[RowFailure]
    truncated: int
    requests: int
    seconds: float


def run_backfill(
    profile: Profile,
    database_url: str,
    provider: OllamaProvider,
    options: BackfillOptions,
    *,
    dimensions: int | None = None,  # what the profile expects; checked against the model and the column
    on_batch: Callable[[BackfillSummary], None] | None = None,
) -> BackfillSummary:
    """Backfill one collection of a profile's target; return what happened (raise only for setup errors)."""
    target = Target(profile)
    model = provider.model
    started = time.perf_counter()
    lock_conn = dbmod.connect(database_url, autocommit=True)
    read_conn = dbmod.connect(database_url, autocommit=True)
    write_conn = dbmod.connect(database_url)
    locked = False
    try:
        require_collection(read_conn, target, options.collection)
        before = collection_state(read_conn, target, options.collection, model)
        summary = BackfillSummary(options.collection, model, options.dry_run, before)
        if options.dry_run:
            summary.after = before
            return summary
        lock.acquire(lock_conn, profile.embeddings.table, options.collection)
        locked = True
        dims = _agreed_dimensions(read_conn, target, provider, dimensions)
        writer = BatchWriter(write_conn, target, model)
        total = before.needed if options.limit is None else min(before.needed, options.limit)
        progress = Progress(total, enabled=options.progress)
        _pipeline(read_conn, writer, target, provider, options, dims, summary, progress, on_batch)
        progress.close()
        summary.after = collection_state(read_conn, target, options.collection, model)
        return summary
    finally:
        if locked:
            lock.release(lock_conn, profile.embeddings.table, options.collection)
        for conn in (write_conn, read_conn, lock_conn):
            conn.close()
        if "summary" in locals():
            summary.seconds = time.perf_counter() - started


def _pipeline(read_conn, writer, target, provider, options, dims, summary, progress, on_batch) -> None:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed") as pool:
        pending: Future[_Embedded] | None = None
        for rows in iter_batches(read_conn, target, options.collection, provider.model, options.batch_size, options.limit):
            summary.selected += len(rows)
            future = pool.submit(_embed_batch, provider, rows, dims)
            if pending is not None and not _land(pending.result(), writer, options, summary, progress, on_batch):
                future.cancel()
                return
            pending = future
        if pending is not None:
            _land(pending.result(), writer, options, summary, progress, on_batch)


def _land(done: _Embedded, writer: BatchWriter, options: BackfillOptions, summary: BackfillSummary,
          progress: Progress, on_batch) -> bool:
    """Write one embedded batch (or refuse it under fail-fast); return False when the run must stop."""
    summary.batches += 1
    summary.requests += done.requests
    summary.embed_seconds += done.seconds
    if done.failures and options.on_failure == FAIL_FAST:
        summary.failures.extend(done.failures)
        summary.failed += len(done.failures)
        summary.stopped = f"fail-fast: {done.failures[0].reason} (key {done.failures[0].key}); nothing of this batch was written"
        log.error("%s", summary.stopped)
        return False
    started = time.perf_counter()
    try:
        written = writer.write(done.good)
    except psycopg.Error as exc:
        raise HarnessError(f"writing a batch of {len(done.good)} vectors failed: {dbmod.describe_error(exc)}") from exc
    summary.write_seconds += time.perf_counter() - started
    summary.embedded += written
    summary.truncated += done.truncated
    summary.failed += len(done.failures)
    summary.failures.extend(done.failures)
    for failure in done.failures:
        log.warning("row %s (%s) failed: %s", failure.key, failure.collection, failure.reason)
    progress.advance(len(done.rows), summary.failed)
    if on_batch is not None:
        on_batch(summary)
    return True


def _embed_batch(provider: OllamaProvider, rows: list[Row], dims: int) -> _Embedded:
    started = time.perf_counter()
    out = _Embedded(rows, [], [], 0, 0, 0.0)
    _embed_into(provider, rows, dims, out, truncate=False)
    out.seconds = time.perf_counter() - started
    return out


def _embed_into(provider: OllamaProvider, rows: Sequence[Row], dims: int, out: _Embedded, truncate: bool) -> None:
    """Embed rows; on a 4xx split to find the guilty inputs; on over-length singletons retry with truncation."""
    out.requests += 1
    try:
        result = provider.embed([r.text for r in rows], truncate=truncate)
    except ProviderRejected as exc:
        if len(rows) > 1:
            middle = len(rows) // 2
            _embed_into(provider, rows[:middle], dims, out, truncate)
            _embed_into(provider, rows[middle:], dims, out, truncate)
        elif not truncate and "context" in str(exc).lower():
            _embed_into(provider, rows, dims, out, truncate=True)
            if out.good and out.good[-1].key == rows[0].key:
                out.truncated += 1
        else:
            out.failures.append(RowFailure(rows[0].key, rows[0].collection, rows[0].tenant, str(exc)))
        return
    vectors = result.vectors
    problems = check_vectors(vectors, len(rows), dims)
    if problems and not problems[0].startswith("row "):
        # The whole answer is unusable (short batch, wrong dimension): no row of it may be written.
        for row in rows:
            out.failures.append(RowFailure(row.key, row.collection, row.tenant, problems[0]))
        return
    bad = {int(p.split(":")[0][4:]): p.split(": ", 1)[1] for p in problems}
    for i, row in enumerate(rows):
        if i in bad:
            out.failures.append(RowFailure(row.key, row.collection, row.tenant, bad[i]))
        else:
            out.good.append(Embedding(row.key, np.asarray(vectors[i], dtype=np.float32), row.text_hash, row.collection, row.tenant))


def _agreed_dimensions(conn: psycopg.Connection, target: Target, provider: OllamaProvider, expected: int | None) -> int:
    """The model's real dimension, refused unless the column (when typed) and the profile (when set) agree."""
    real = provider.dimensions()
    declared = _declared_dims(conn, target)
    em = target.profile.embeddings
    if declared is not None and declared != real:
        raise CheckFailed(
            f"model {provider.model!r} returns {real}-dimension vectors but {em.table}.{em.vector} is declared "
            f"vector({declared}); expected equal dimensions, nothing was written"
        )
    if expected is not None and expected != real:
        raise CheckFailed(
            f"model {provider.model!r} returns {real}-dimension vectors but the profile says provider.dimensions: "
            f"{expected}; expected equal dimensions, nothing was written"
        )
    return real


def _declared_dims(conn: psycopg.Connection, target: Target) -> int | None:
    row = conn.execute(target.declared_dimensions()).fetchone()
    if row is None:
        raise CheckFailed(
            f"embedding column {target.profile.embeddings.vector!r} does not exist in table {target.profile.embeddings.table!r}"
        )
    return row["dims"]


def _plain(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, type(None))) else str(value)
