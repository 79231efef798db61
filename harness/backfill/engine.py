"""The backfill engine: select what needs embedding, embed in batches, validate, write; keep the provider busy.

While batch N is written, batch N+1 is being embedded on the one embed thread and
N+2 selected on another. Every answer is validated before it is written; an answer with any bad
vector is refused whole. A batch that the provider rejects (HTTP 4xx) is split in
halves until the failing inputs are isolated; the rest is embedded. Texts beyond
the model's context are retried with ``truncate: true`` and counted. Unchanged
vectors of other collections are reused before anything is embedded. Killed at
any point, a new run picks up where the database says it stands. Workers of one
run (``run_id``) share the rows through key-range claims.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from .. import db as dbmod
from ..errors import CheckFailed, ConfigError, HarnessError, ProviderError, ProviderRejected, ProviderUnavailable, RefusedError
from ..output import fields_dict
from ..provider import OllamaProvider, check_vectors
from ..settings import Settings
from ..target import Target
from . import bookkeeping, claims, indexes, lock, reuse
from .progress import Progress
from ..state import CollectionState, collection_state, require_collection
from .selection import Row, iter_batches
from .writer import BatchWriter, Embedding

log = logging.getLogger("harness.backfill")
CONTINUE, FAIL_FAST = "continue", "fail-fast"


def _flag(flag: Any, default: Any = None) -> Any:
    """A field that ``backfill`` takes as ``flag`` (a dict maps each value to its own flag; None: not forwarded)."""
    return field(default=default, metadata={"flag": flag})


@dataclass(frozen=True)
class BackfillOptions:
    """The engine's options; each field names its ``backfill`` flag, so ``to_argv`` forwards every one of them."""

    collection: str = field(metadata={"flag": "--collection"})
    batch_size: int = _flag("--batch-size", 100)
    dry_run: bool = _flag("--dry-run", False)
    on_failure: str = _flag({CONTINUE: "--continue-on-error", FAIL_FAST: "--fail-fast"}, CONTINUE)
    limit: int | None = _flag("--limit")
    # None: a bar on a terminal, lines on stderr otherwise; False: log lines only. How one process shows its
    # progress, so it is not forwarded to workers (they print JSON).
    progress: bool | None = _flag(None)
    into: str | None = _flag("--into")  # fill this new collection (copied from ``collection`` when it has no chunks yet)
    reuse: bool = _flag("--no-reuse", True)  # take an existing vector with the same text hash and model instead of embedding again
    run_id: str | None = _flag("--run-id")  # join run ``run_id``: workers sharing it split the rows through claims
    rows_per_claim: int | None = _flag("--rows-per-claim")  # rows per claimed key range (default: 4 batches)
    # drop + rebuild vector indexes around a load at least this large into an empty table
    defer_index_min_rows: int = _flag("--defer-index-min-rows", 1_000)
    approve_model_change: bool = _flag("--approve-model-change", False)  # replace another model's vectors in place

    @property
    def target_collection(self) -> str:
        return self.into or self.collection

    def to_argv(self, settings: Settings | None = None) -> list[str]:
        """These options as ``backfill-harness backfill`` arguments (with the settings' profile and model, if given)."""
        argv: list[str] = []
        if settings is not None:
            if settings.profile.path is None:
                raise ConfigError("the backfill command needs a profile file; this profile was not loaded from one")
            argv += ["--profile", str(Path(settings.profile.path).resolve()), "--model", settings.model]
        for f in fields(self):
            flag, value = f.metadata["flag"], getattr(self, f.name)
            if flag is None or value is None:
                continue
            if isinstance(flag, dict) or isinstance(value, bool):
                if value != f.default:  # the flag says the non-default (--dry-run, --no-reuse, --fail-fast)
                    argv.append(flag[value] if isinstance(flag, dict) else flag)
            else:  # a value, always forwarded: the worker's own defaults (the profile's batch size) may differ
                argv += [flag, str(value)]
        return argv

    @classmethod
    def from_args(cls, args: Any, **given: Any) -> BackfillOptions:
        """The options ``backfill``'s parsed arguments name (each field's value from its flag's dest), plus ``given``."""
        values = {f.name: getattr(args, f.name) for f in fields(cls)
                  if f.metadata["flag"] is not None and getattr(args, f.name, None) is not None}
        return cls(**{**values, **given})


@dataclass(frozen=True)
class RowFailure:
    key: Any
    collection: str
    tenant: Any
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return fields_dict(self, key=_plain(self.key), tenant=_plain(self.tenant))


@dataclass
class BackfillSummary:
    collection: str
    model: str
    dry_run: bool
    before: CollectionState
    after: CollectionState | None = None
    selected: int = 0
    embedded: int = 0
    reused: int = 0
    copied: int = 0  # chunks copied from the live collection into the new one (--into)
    source: str | None = None  # the live collection, for --into
    run_id: str | None = None
    indexes_rebuilt: list[str] = field(default_factory=list)
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
        line = f"Done. Embedded {self.embedded}/{self.selected} rows. {self.failed} failures."
        if self.reused:
            line += f" Reused {self.reused} existing vectors."
        if self.truncated:
            line += f" Truncated {self.truncated} texts to the model's context."
        return line

    def as_dict(self) -> dict[str, Any]:
        return fields_dict(self, ok=self.ok, seconds=round(self.seconds, 3), embed_seconds=round(self.embed_seconds, 3),
                           write_seconds=round(self.write_seconds, 3), rows_per_second=round(self.rows_per_second, 1),
                           summary=self.line())


@dataclass
class _Embedded:
    rows: list[Row]
    good: list[Embedding]
    failures: list[RowFailure]
    truncated: int
    requests: int
    seconds: float


@dbmod.translate_errors()
def run_backfill(
    settings: Settings,
    options: BackfillOptions,
    *,
    provider: OllamaProvider | None = None,  # default: settings.provider(), opened and closed here
    on_batch: Callable[[BackfillSummary], None] | None = None,
) -> BackfillSummary:
    """Backfill one collection of the settings' target; return what happened (raise only for setup errors)."""
    if provider is None:
        with settings.provider() as own:
            return run_backfill(settings, options, provider=own, on_batch=on_batch)
    profile, database_url, dimensions = settings.profile, settings.database_url, settings.dimensions
    target = Target(profile)
    model = provider.model
    collection = options.target_collection
    table = profile.embeddings.table
    started = time.perf_counter()
    lock_conn = dbmod.connect(database_url, autocommit=True)
    read_conn = dbmod.connect(database_url, autocommit=True)
    write_conn = dbmod.connect(database_url)
    locked = deferred = False
    try:
        require_collection(read_conn, target, options.collection)
        new_is_empty = options.into is not None and _chunk_count(read_conn, target, options.into) == 0
        before = collection_state(read_conn, target, options.collection if new_is_empty else collection, model)
        summary = BackfillSummary(collection, model, options.dry_run, before, source=options.collection if options.into else None,
                                  run_id=options.run_id)
        if options.dry_run:
            summary.after = before
            return summary
        if before.other_model and options.into is None and not options.approve_model_change:
            raise RefusedError(
                f"collection {collection!r} holds {before.other_model} vectors of another model than {model!r}: "
                "replacing them in place is a model switch; expected --into NEW (backfill a new collection, verify, "
                "swap) or --approve-model-change to replace them in place"
            )
        if options.run_id:
            bookkeeping.ensure(lock_conn)
            lock.join_run(lock_conn, table, collection, options.run_id, model)
        else:
            lock.acquire(lock_conn, table, collection)
        locked = True
        dims = _agreed_dimensions(read_conn, target, provider, dimensions)
        _prepare(write_conn, target, options, model, summary)
        if summary.copied or summary.reused or options.into or options.run_id:
            before = summary.before = collection_state(read_conn, target, collection, model)
        total = before.needed if options.limit is None else min(before.needed, options.limit)
        if not options.run_id and total >= options.defer_index_min_rows and not target.inline \
                and indexes.table_is_empty(read_conn, target):
            deferred = bool(indexes.defer(read_conn, target))
        writer = BatchWriter(write_conn, target, model)
        progress = Progress(total, enabled=options.progress)
        if options.run_id:
            claim_conn = dbmod.connect(database_url, autocommit=True)
            try:
                batches = _claimed_batches(claim_conn, read_conn, target, collection, model, options)
                _pipeline(batches, writer, target, provider, options, dims, summary, progress, on_batch, claim_conn)
            finally:
                claim_conn.close()
        else:
            batches = ((rows, None) for rows in iter_batches(read_conn, target, collection, model, options.batch_size, options.limit))
            _pipeline(batches, writer, target, provider, options, dims, summary, progress, on_batch, None)
        progress.close()
        summary.after = collection_state(read_conn, target, collection, model)
        return summary
    finally:
        try:
            if locked and not read_conn.closed and (deferred or not options.run_id):
                rebuilt = indexes.rebuild(read_conn, target)
                if "summary" in locals():
                    summary.indexes_rebuilt = rebuilt
        finally:
            if locked:
                lock.release(lock_conn, table, collection, shared=bool(options.run_id))
            for conn in (write_conn, read_conn, lock_conn):
                conn.close()
            if "summary" in locals():
                summary.seconds = time.perf_counter() - started


def _chunk_count(conn: psycopg.Connection, target: Target, collection: str) -> int:
    return int(conn.execute(sql.SQL("SELECT count(*) AS n FROM {} AS c WHERE {}").format(target.chunk_table, target.chunk_filter()),
                            {"collection": collection}).fetchone()["n"])


def _prepare(conn: psycopg.Connection, target: Target, options: BackfillOptions, model: str, summary: BackfillSummary) -> None:
    """Once per run, in one transaction: copy chunks for --into, take over reusable vectors, cut claim ranges."""
    collection = options.target_collection
    with conn.transaction():
        if options.run_id:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('backfill-harness'), hashtext(%s))", ("prepare:" + options.run_id,))
            if conn.execute("SELECT prepared FROM backfill_harness.runs WHERE run_id = %s", (options.run_id,)).fetchone()["prepared"]:
                return
        if options.into and _chunk_count(conn, target, options.into) == 0:
            summary.copied = reuse.copy_chunks(conn, target, options.collection, options.into)
            log.info("copied %d chunks of %s into %s", summary.copied, options.collection, options.into)
        if options.reuse:
            summary.reused = reuse.reuse_vectors(conn, target, collection, model)
        if options.run_id:
            size = options.rows_per_claim or options.batch_size * 4
            claims.cut_ranges(conn, target, options.run_id, collection, model, size)
            conn.execute("UPDATE backfill_harness.runs SET prepared = true WHERE run_id = %s", (options.run_id,))


def _claimed_batches(claim_conn, read_conn, target, collection, model, options) -> Iterator[tuple[list[Row], int | None]]:
    """Batches from the ranges this worker claims; ``([], seq)`` marks that every batch of claim ``seq`` was handed out."""
    while (claim := claims.take(claim_conn, options.run_id)) is not None:
        for rows in iter_batches(read_conn, target, collection, model, options.batch_size, lo=claim.lo, hi=claim.hi):
            yield rows, None
        yield [], claim.seq


def _pipeline(batches, writer, target, provider, options, dims, summary, progress, on_batch, claim_conn) -> None:
    """Three stages: a selector thread reads the next pages, the one embed thread embeds them back to back,
    and this thread writes; so while batch N is written, batch N+1 is embedded and N+2 selected."""
    selected: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=2)
    embedded: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(q: queue.Queue, item: tuple[str, Any]) -> bool:
        while not stop.is_set():  # give up when the run stops, so no stage blocks forever
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def select() -> None:
        try:
            for rows, done_seq in batches:
                if not put(selected, ("claim-done", done_seq) if done_seq is not None else ("rows", rows)):
                    return
            put(selected, ("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed on to the writing thread, which raises it
            put(selected, ("error", exc))

    def embed() -> None:
        while not stop.is_set():
            try:
                kind, item = selected.get(timeout=0.05)
            except queue.Empty:
                continue
            if kind == "rows":
                try:
                    kind, item = "batch", _embed_batch(provider, item, dims)
                except BaseException as exc:  # noqa: BLE001 - handed on to the writing thread
                    kind, item = "error", exc
            if not put(embedded, (kind, item)) or kind in ("end", "error"):
                return

    threads = [threading.Thread(target=select, name="select", daemon=True),
               threading.Thread(target=embed, name="embed", daemon=True)]
    for thread in threads:
        thread.start()
    try:
        while True:
            try:
                kind, item = embedded.get(timeout=0.5)
            except queue.Empty:
                if not threads[1].is_alive():
                    raise HarnessError("the embed stage ended without a result; expected every batch answered") from None
                continue
            if kind == "end":
                return
            if kind == "error":
                raise item
            if kind == "claim-done":
                # Items arrive in order, so every batch of this claim has landed.
                claims.finish(claim_conn, options.run_id, item)
                continue
            summary.selected += len(item.rows)
            if not _land(item, writer, options, summary, progress, on_batch):
                return
    finally:
        stop.set()
        for thread in threads:
            thread.join()


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
    except ProviderUnavailable:
        raise
    except ProviderRejected as exc:
        _rejected(provider, rows, dims, out, truncate, exc)
        return
    except ProviderError as exc:
        # A malformed answer (ragged or non-numeric vectors) is refused like any other bad answer.
        for row in rows:
            out.failures.append(RowFailure(row.key, row.collection, row.tenant, f"provider answer refused: {exc}"))
        return
    vectors = result.vectors
    problems = check_vectors(vectors, len(rows), dims)
    if problems:
        # An answer with any bad vector is not trusted at all: no row of it is written.
        reason = "provider answer refused: " + problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
        for row in rows:
            out.failures.append(RowFailure(row.key, row.collection, row.tenant, reason))
        return
    for i, row in enumerate(rows):
        out.good.append(Embedding(row.key, vectors[i], row.text_hash, row.collection, row.tenant, row.exists))


def _rejected(provider, rows, dims, out, truncate, exc) -> None:
    """A 4xx: split to isolate the guilty inputs; an over-length singleton is retried truncated."""
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
