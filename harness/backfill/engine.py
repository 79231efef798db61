"""The backfill engine: select what needs embedding, embed in batches, validate, write; keep the provider busy.

While batches are written (by up to ``--writers`` sessions at once), the next ones are
being embedded and the next page selected. Every answer is validated before it is written; an answer with any bad
vector is refused whole. A batch that the provider rejects (HTTP 4xx) is split in
halves until the failing inputs are isolated; the rest is embedded. Texts beyond
the model's context are retried with ``truncate: true`` and counted. Unchanged
vectors of other collections are reused before anything is embedded. Killed at
any point, a new run picks up where the database says it stands. Workers of one
run (``run_id``) share the rows through key-range claims.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, cast

from psycopg import sql

from .. import db as dbmod
from .. import preflight as preflightmod
from .. import rls
from ..checks.outcome import UNPROVEN
from ..db import Conn, one
from ..errors import CheckFailed, ConfigError, HarnessError, ProviderError, ProviderRejected, ProviderUnavailable, RefusedError
from ..output import fields_dict
from ..provider import OllamaProvider, check_vectors
from ..settings import Settings
from ..state import CollectionState, declared_dimensions, dimension_switch, dims_to_measure, into_new, model_switch, still_needed, stored_dimensions, stored_models, stored_name, unmeasured, unmeasured_why
from ..target import Target, _qualified
from . import bookkeeping, claims, indexes, library_swap, lock, pgai_swap, privileges, refile, reuse, unlogged
from .batchsize import AdaptiveSize, Sizing
from .inflight import AUTO, Gate, Ticket, limit_for
from .progress import Progress
from .selection import Needs, Page, Row, existing_keys, iter_batches, measured_needs
from .unindexed import unindexed_keys
from .writepool import WritePool, Written
from .writer import BatchWriter, Vectors, profile_defaults, referenced, write_path

log = logging.getLogger("harness.backfill")
CONTINUE, FAIL_FAST = "continue", "fail-fast"
# Measured with bench/bench_concurrency.py: no fixed number both keeps a server that serves K requests at once busy
# (2K in flight) and spares one that serves a single request (whose queue would run into the timeout); auto follows
# the server's latency instead (inflight.py).
DEFAULT_CONCURRENCY = AUTO
# Measured with bench/bench_engine_ingest.py (--writers 1 2 3): a second session writes while the first commits and
# the next batch is encoded; a third gained nothing on 2 cores.
DEFAULT_WRITERS = 2


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
    # embed exactly these chunk keys (compared as text), whatever their state; read from --keys-from, one process
    keys: tuple[str, ...] | None = _flag(None)
    # embed every chunk with a text, also those that look current (a prefix or model re-pulled under its name changed)
    every: bool = _flag("--all", False)
    sync: bool = _flag("--sync", False)  # --into: bring chunks added, edited or deleted in live since the copy over
    # embed requests in flight at once (a server serves several in parallel): N, or auto (adapted to its latency)
    concurrency: int | str = _flag("--concurrency", DEFAULT_CONCURRENCY)
    # sessions writing batches at once (each batch one transaction on one of them), opened as batches wait for one
    writers: int = _flag("--writers", DEFAULT_WRITERS)
    # aim each request at this latency: the batch size adapts within batch_size/8 .. batch_size*8 (None: fixed)
    target_latency_ms: int | None = _flag("--target-latency-ms")
    # the pid of the run_workers process that started this worker and counts the collection once every worker has
    # ended; honoured only while that process is this one's parent (given by hand, or the parent gone: none counts)
    counted_by_parent: int | None = _flag("--counted-by-parent")

    @property
    def target_collection(self) -> str:
        return self.into or self.collection

    @property
    def covers_collection(self) -> bool:
        """The run is meant to leave no row of the collection needing a vector (not a trial or a list of keys)."""
        return self.limit is None and self.keys is None

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
                argv.append(f"{flag}={value}")  # one argument: a value starting with '-' stays a value
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
    count_seconds: float = 0.0  # the counts before and after (the evidence): one pass over the collection each
    failures: list[RowFailure] = field(default_factory=list)
    stopped: str | None = None  # why the run ended early (fail-fast), if it did
    write_path: str = ""  # how rows were written (COPY or INSERT ... SELECT) and why
    notes: list[str] = field(default_factory=list)
    refused: str | None = None  # a dry run: the refusal the real run would meet
    refused_code: int = 0  # and the exit code it would end with
    keys: int | None = None  # how many keys were listed (--keys-from)
    keys_found: int | None = None  # of those, how many are chunks of the collection now
    keys_missing: int | None = None  # and how many no longer are (deleted since they were listed): never embedded
    keys_missing_sample: list[str] = field(default_factory=list)  # the first few of those
    every: bool = False  # --all: every chunk with a text embedded again, also those that looked current
    limit: int | None = None  # --limit: at most this many rows embedded (what a dry run says would be)
    unproven: str | None = None  # what the closing count cannot see (row-level security hiding unlisted tenants)
    gate: dict[str, Any] = field(default_factory=dict)  # the scope gate the command passed (or overrode)
    concurrency: int | str = DEFAULT_CONCURRENCY  # what --concurrency asked for (N or auto)
    in_flight_peak: int = 0  # the most embed requests this process had in flight at once
    in_flight_limit: int = 0  # the in-flight limit at the end (auto: where it settled)
    writers: int = 0  # the sessions that wrote batches (at most --writers)
    part_of_run: str | None = None  # a worker that finished while others still held ranges: its count is not the run's

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.stopped is None and self.refused is None and self.unproven is None

    @property
    def rows_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        """The closing line people look for."""
        if self.dry_run:
            b = self.before
            line = (f"Dry run: {b.needed} of {b.chunks} rows in {self.collection} need embedding "
                    f"({b.missing} missing, {b.stale if b.stale is not None else 'n/a'} stale, "
                    f"{b.other_model if b.other_model is not None else 'n/a'} other model). Nothing written.")
            if self.keys is not None:
                found = self.keys if self.keys_found is None else self.keys_found
                line += f" {found} of {self.keys} listed keys would be embedded again." + self._vanished()
            if self.every:
                n = b.chunks - b.no_text
                line += (f" --all: all {n} chunks with a text would be embedded again." if self.limit is None
                         or self.limit >= n else
                         f" --all: {self.limit} of the {n} chunks with a text would be embedded again (--limit).")
            return line + (f" The real run would be refused: {self.refused}" if self.refused else "")
        line = f"Done. Embedded {self.embedded}/{self.selected} rows. {self.failed} failures." + self._vanished()
        if self.part_of_run:
            line += f" Part of a shared run: {self.part_of_run}."
        if self.reused:
            line += f" Reused {self.reused} existing vectors."
        if self.truncated:
            line += f" Truncated {self.truncated} texts to the model's context."
        return line

    def _vanished(self) -> str:
        if not self.keys_missing:
            return ""
        return (f" {self.keys_missing} of {self.keys} listed keys no longer exist in {self.collection} "
                f"(first: {', '.join(self.keys_missing_sample)}); not re-embedded.")

    def as_dict(self) -> dict[str, Any]:
        return fields_dict(self, ok=self.ok, seconds=round(self.seconds, 3), embed_seconds=round(self.embed_seconds, 3),
                           write_seconds=round(self.write_seconds, 3), count_seconds=round(self.count_seconds, 3),
                           rows_per_second=round(self.rows_per_second, 1),
                           summary=self.line())


@dataclass
class _Embedded:
    rows: Sequence[Row]
    good: list[Vectors]  # the embedded rows, in parts (one, unless the batch was split to isolate failures)
    failures: list[RowFailure]
    truncated: int
    requests: int
    seconds: float
    tenant: str | None = None  # whose row-level-security session the batch is written in


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
    if options.into and library_swap.per_table(target):
        return _into_new_table(settings, options, provider, on_batch)
    if options.into and pgai_swap.is_pgai(target):
        return _into_new_destination(settings, options, provider, on_batch)
    model = provider.model
    collection = options.target_collection
    table = profile.embeddings.table
    if options.into and (shape := preflightmod.into_shape_outcome(target, options.collection, options.into)):
        preflightmod.require([shape])
    started = time.perf_counter()
    lock_conn = dbmod.connect(database_url, autocommit=True)
    read_conn = dbmod.connect(database_url, autocommit=True)
    write_conn = dbmod.connect(database_url)
    locked = deferred = False
    watch = lock.WaitWatch(lambda: dbmod.connect(database_url, autocommit=True), [read_conn, write_conn])
    try:
        for conn in (read_conn, write_conn):
            lock.limit_waits(conn)
        watch.__enter__()
        tenants = rls.tenants(read_conn, profile)
        new_is_empty = options.into is not None and rls.visible_count(read_conn, target, options.into, tenants) == 0
        counting = time.perf_counter()
        # A column declared without a dimension: every count and the selection also take vectors of another one.
        measure = None if new_is_empty else dims_to_measure(read_conn, target, dimensions)[0]
        before = rls.visible_state(read_conn, target, options.collection if new_is_empty else collection, model, tenants,
                                   dims=measure)
        counted = time.perf_counter() - counting
        if before.chunks == 0 or before.collection != options.collection:
            # The count has shown the collection's chunks already; otherwise this refuses it naming the known ones.
            rls.require_visible(read_conn, target, options.collection, tenants)
        shown = into_new(before, collection) if new_is_empty else before
        summary = BackfillSummary(collection, model, options.dry_run, shown, source=options.collection if options.into else None,
                                  run_id=options.run_id, concurrency=options.concurrency, count_seconds=counted,
                                  every=options.every, limit=options.limit)
        if options.keys is not None:
            _census(read_conn, target, options.collection if new_is_empty else collection, options.keys, tenants, summary)
        switch: str | None = None
        try:
            if summary.keys_found == 0:
                raise RefusedError(
                    f"--keys-from: none of the {summary.keys} listed keys is a chunk of collection {collection!r} any "
                    f"more (first: {', '.join(summary.keys_missing_sample)}); expected keys of existing chunks "
                    "(verify again for a current offenders.jsonl); nothing was written")
            dims, written = _refuse(read_conn, target, provider, options, dimensions, new_is_empty, tenants)
            if not new_is_empty and (agreed := dims_to_measure(read_conn, target, dims)[0]) != measure:
                # The profile named no dimension (or another): counted again with the one the provider gives.
                measure = agreed
                counting = time.perf_counter()
                before = summary.before = shown = rls.visible_state(read_conn, target, collection, model, tenants,
                                                                    dims=measure)
                summary.count_seconds += time.perf_counter() - counting
            # Refused after preflight, whose refusals (several rows per chunk) say what the counts cannot.
            if measure is not None:
                switch = dimension_switch(rls.across(read_conn, profile, tenants, lambda: stored_dimensions(
                    read_conn, target, collection)), measure, collection, approve=options.approve_model_change)
        except HarnessError as exc:
            if not options.dry_run:
                raise
            summary.refused, summary.refused_code = str(exc), exc.exit_code
        if options.dry_run and switch and summary.refused is None:
            summary.refused, summary.refused_code = switch, RefusedError(switch).exit_code
        if options.dry_run:
            summary.after = shown
            return summary
        privileges.require(read_conn, target)
        held = lock.collection_key(profile, collection)
        if options.run_id:
            bookkeeping.ensure(lock_conn)
            lock.join_run(lock_conn, table, held, options.run_id, model, every=options.every,
                          embedded_as=profile.embedded_as)
        else:
            lock.acquire(lock_conn, table, held)
        locked = True
        outcomes = preflightmod.preflight(read_conn, target, options.collection, model=model, dims=dims, into=options.into,
                                          copies=new_is_empty, tenants=tenants)
        preflightmod.require(outcomes)
        summary.notes += [o.note for o in outcomes if o.check == unlogged.CHECK]
        if switch:
            raise RefusedError(switch)
        summary.notes += unindexed_keys(read_conn, target, tenants)
        lock_pid = lock_conn.info.backend_pid

        def guard(conn: Conn) -> None:
            lock.prove_held(conn, table, held, lock_pid)

        refiled = refile.Refiled() if new_is_empty else refile.delete_unseen_misfiled(
            read_conn, write_conn, target, collection, tenants, guard)
        if refiled.deleted:
            summary.notes.append(f"deleted {refiled.deleted} embedding rows filed under another tenant than their "
                                 "chunk's, which the chunk's tenant could not see: its chunk is embedded in its own view")
        # Chunks with a second embedding row (no unique key on the embedding key): the run replaces their rows by one.
        needs = measured_needs(measure, bool(before.duplicates) and not new_is_empty)
        # Preflight refused row-level security without database.session; with it, an "empty" table may still
        # only look empty to this role, so its indexes are never dropped for a bulk load.
        hidden = rls.applies(rls.inspect(read_conn, profile))
        path = write_path(write_conn, target)
        if options.reuse and not path.staging:
            # Reuse gathers its matches in a temporary table, which this role may not create.
            options = replace(options, reuse=False)
            summary.notes.append("vectors of other collections were not reused: no TEMP privilege")
        _prepare(write_conn, target, options, written, summary, guard, dims, tenants, needs,
                 probe=lambda texts: provider.embed(texts).vectors)
        if summary.copied or summary.reused or options.into or options.run_id:
            counting = time.perf_counter()
            before = summary.before = rls.visible_state(read_conn, target, collection, model, tenants, dims=measure)
            summary.count_seconds += time.perf_counter() - counting
        total = (int(summary.keys_found or 0) if options.keys is not None else
                 before.chunks - before.no_text if options.every else before.needed)
        total = total if options.limit is None else min(total, options.limit)
        # Under row-level security an "empty" table may only look empty to this role: never drop its indexes then.
        if not options.run_id and not hidden and total >= options.defer_index_min_rows and not target.inline \
                and indexes.table_is_empty(read_conn, target):
            deferred = bool(indexes.defer(read_conn, target))
        whole = options.on_failure == FAIL_FAST  # a batch lands whole or not at all
        writer = BatchWriter(write_conn, target, written, dims, path, guard, whole)
        summary.write_path = writer.path.reason

        def another_writer() -> BatchWriter:
            conn = dbmod.connect(database_url)
            lock.limit_waits(conn)
            watch.pids.append(conn.info.backend_pid)
            return BatchWriter(conn, target, written, dims, path, guard, whole)

        # Fail-fast writes one batch at a time: a batch after a failed write is never written beside it.
        writers = 1 if options.on_failure == FAIL_FAST else options.writers
        pool: WritePool[_Embedded] = WritePool(writer, another_writer, writers)
        progress = Progress(total, enabled=options.progress)
        size = (AdaptiveSize(options.batch_size, Sizing.around(options.batch_size, options.target_latency_ms))
                if options.target_latency_ms else None)
        # The claims' session outlives the writes: a range whose taker is gone is free for another worker, which
        # must not select rows that a write of this one may still commit.
        claim_conn = dbmod.connect(database_url, autocommit=True) if options.run_id else None
        try:
            try:
                batches = (_claimed_batches(claim_conn, read_conn, target, collection, model, options, size, needs)
                           if claim_conn is not None else  # per tenant:
                           _tenant_batches(read_conn, target, collection, model, options, tenants, size, needs))
                _pipeline(batches, pool, target, provider, options, dims, summary, progress, on_batch, claim_conn, size)
            except BaseException:
                pool.cancel()  # Ctrl-C or an error ends the run now, not after the writes in flight
                raise
            finally:
                pool.close()
                summary.write_seconds += pool.seconds
                summary.writers = pool.wrote
        finally:
            if claim_conn is not None:
                claim_conn.close()
        progress.close()
        # One worker of a shared run covers only its part while others still hold ranges; the last to finish (no
        # range left with a live worker: every write of the run committed) measures the whole, as one process does,
        # so workers joined by hand on several hosts end with a count too (and run_workers counts once more).
        others = claims.held_by_others(read_conn, options.run_id) if options.run_id else 0
        parent_counts = options.counted_by_parent is not None and options.counted_by_parent == os.getppid()
        whole = options.covers_collection and others == 0 and not parent_counts
        counting = time.perf_counter()
        summary.after = rls.visible_state(read_conn, target, collection, model, tenants,
                                          dims=measure if whole else None)
        summary.count_seconds += time.perf_counter() - counting
        if parent_counts:
            summary.part_of_run = f"one worker of run {options.run_id}: the process that started the workers counts the collection"
        elif others:
            summary.part_of_run = (f"{others} ranges of run {options.run_id} were still held by other workers: this "
                                   "count is not the run's; the last worker to finish measures the collection")
        # A run meant to cover the collection is ok only when the database says so: rows edited or added behind
        # the key walk still need a vector.
        if summary.stopped is None and whole and (left := still_needed(summary.after, target.profile)):
            # Rows left naming no model say why themselves: no edit explains them, and a run again leaves them so.
            rest = summary.after.needed - summary.after.unnamed
            # A second row of a chunk stays where other tables reference the rows (``writer.referenced``: updated in
            # place, never deleted): no run again removes it.
            kept = summary.after.duplicates if summary.after.duplicates and referenced(read_conn, target) else 0
            summary.stopped = left + (f" ({f'the other {rest}: ' if summary.after.unnamed else ''}edited or added while "
                                      "it ran, or not selectable); run backfill again"
                                      if rest > kept or not summary.after.needed else "") + (
                f"; other tables reference {profile.embeddings.table}'s rows, which the engine updates in place and "
                f"never deletes: the {kept} rows beyond one per chunk stay until they are deleted by hand (with what "
                "references them re-pointed)" if kept else "")
        if summary.stopped is None and whole and options.every and options.run_id \
                and (undone := claims.unfinished(read_conn, options.run_id)):
            # A worker that died after this one found no free range left its range part done: its rows look current
            # to every count, so only the run's ranges say --all has not re-embedded them.
            summary.stopped = (f"{undone} range{'s' if undone > 1 else ''} of run {options.run_id} not done (a worker "
                               "stopped part way; its rows look current to every count); run the same command again "
                               "to continue")
        if options.every and options.run_id and summary.selected == 0 and (at := claims.last_done(read_conn, options.run_id)):
            # Joining a finished run re-embeds nothing: given its id again (a script's fixed --run-id), --all said
            # "Done. Embedded 0/0 rows." and every vector stayed as it was.
            summary.notes.append(f"run {options.run_id} had every range done before this process took one (the last at "
                                 f"{at}): nothing was embedded again by it; --all with a new run id (or none) re-embeds "
                                 "every row")
        if whole and summary.after is not None and (unknown := unmeasured(summary.after.as_dict())):
            # "Done." over vectors no count can call current (no hash, untimed, a hash another vector's write sets)
            summary.notes.append(f"{unknown} stored vectors whether current unknown "
                                 f"({unmeasured_why(summary.after.as_dict())}): no count here can see a stale or "
                                 "other-model vector; verify's recompute measures them")
        if whole:  # tenant by tenant, or the one view a fixed database.session sets (None where nothing hides rows)
            part = rls.completeness(read_conn, target, collection, tenants)
            if part is not None and part.status == UNPROVEN:
                summary.unproven = "; ".join(n for n in (part.note, refiled.left) if n)
        return summary
    except Exception as exc:
        if not lock.timed_out(exc):
            raise
        # A read (or the copy) gave up after lock_timeout: say who blocked it, as the watch saw it while it waited.
        raise lock.waited_too_long(read_conn, f"the backfill of {collection!r}", [
            _qualified(profile.chunks.schema, profile.chunks.table),
            _qualified(profile.embeddings.schema, profile.embeddings.table)], pids=watch.pids) from None
    finally:
        watch.__exit__()
        try:
            if locked and not read_conn.closed and (deferred or not options.run_id) and indexes.pending(read_conn, target):
                rebuilt = indexes.rebuild(database_url, target)  # its own session; raises naming an index still missing
                if "summary" in locals():
                    summary.indexes_rebuilt = rebuilt
        finally:
            if locked:
                lock.release(lock_conn, table, held, shared=bool(options.run_id))
            for conn in (write_conn, read_conn, lock_conn):
                conn.close()
            if "summary" in locals():
                summary.seconds = time.perf_counter() - started


def filled(settings: Settings, options: BackfillOptions) -> tuple[Settings, str]:
    """The settings and collection a run of ``options`` fills, as ``run_backfill`` dispatches it: with --into, a
    table of its own (LlamaIndex) or a pgai destination's store, where the collection is counted afterwards."""
    target = Target(settings.profile)
    if options.into and library_swap.per_table(target):
        return replace(settings, profile=library_swap.for_collection(settings.profile, options.into)), options.into
    if options.into and pgai_swap.is_pgai(target):
        return (replace(settings, profile=pgai_swap.for_store(settings.profile, pgai_swap.store_of(options.into))),
                options.collection)
    return settings, options.target_collection


def _into_new_table(settings: Settings, options: BackfillOptions, provider: OllamaProvider,
                    on_batch: Callable[[BackfillSummary], None] | None) -> BackfillSummary:
    """--into NEW where each collection is a table (LlamaIndex): make NEW's table like the live one, holding its rows
    without vectors and typed for this model (one transaction), then backfill NEW's table as any collection."""
    into = cast(str, options.into)
    new = Target(filled(settings, options)[0].profile)
    summary, _ = _into_own_table(settings, options, provider, on_batch, new, into, f"table {new.profile.chunks.table}",
                                 lambda conn, live, dims: (new, library_swap.create_table(conn, live, new, dims)))
    return summary


def _into_new_destination(settings: Settings, options: BackfillOptions, provider: OllamaProvider,
                          on_batch: Callable[[BackfillSummary], None] | None) -> BackfillSummary:
    """--into NEW on a pgai store: a new vectorizer (destination NEW, this model) holding the live chunks without
    vectors (one transaction), filled by the engine; pgai's NOT NULL vector comes back once every row has one."""
    into = cast(str, options.into)
    new = Target(filled(settings, options)[0].profile)
    summary, new = _into_own_table(
        settings, options, provider, on_batch, new, options.collection,
        f"destination {into} (a new pgai vectorizer)",
        lambda conn, live, dims: pgai_swap.create_destination(conn, live, into, provider.model, dims))
    if not options.dry_run:
        with dbmod.connect(settings.database_url) as conn, conn.transaction():
            if not pgai_swap.finish(conn, new):
                summary.notes.append(f"{new.profile.chunks.table}.{new.profile.embeddings.vector} stays nullable until "
                                     "every row has a vector (run backfill --into again)")
    return summary


def _into_own_table(settings: Settings, options: BackfillOptions, provider: OllamaProvider,
                    on_batch: Callable[[BackfillSummary], None] | None, new: Target, collection: str, described: str,
                    create: Callable[[Conn, Target, int], tuple[Target, int]]) -> tuple[BackfillSummary, Target]:
    """--into NEW where NEW is a table of its own: ``create`` makes it from the live one (returning its target and
    the rows copied) unless it exists, then the engine fills ``collection`` of it; a dry run of a table not made yet
    reads the live rows it would be made of."""
    live = Target(settings.profile)
    if options.sync:
        raise ConfigError(f"--sync does not apply to a library store whose collections are tables of their own "
                          f"({live.profile.chunks.table}); expected: drop {options.into!r} and make it again with --into")
    dims = provider.dimensions()
    if settings.dimensions is not None and settings.dimensions != dims:
        raise CheckFailed(f"model {provider.model!r} returns {dims}-dimension vectors but the profile says "
                          f"{settings.profile.provider.dimensions_key}: {settings.dimensions}; expected equal dimensions, "
                          "nothing was written")
    copied = 0
    with dbmod.connect(settings.database_url) as conn:
        rls.require_visible(conn, live, options.collection, [None])
        ch = new.profile.chunks
        # Workers of one run (--workers) all start here: one makes NEW's table while the others wait, then find it
        # made (held until this connection's transaction ends, after the table is committed).
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('backfill-harness'), hashtext(%s))",
                     (f"into:{ch.schema}.{ch.table}",))
        exists = one(conn.execute("SELECT to_regclass(%s) IS NOT NULL AS ok", (f'"{ch.schema}"."{ch.table}"',)).fetchone())["ok"]
        if not exists and options.dry_run:
            # Nothing to read yet: the live collection's rows are what NEW's table would be made of.
            summary = run_backfill(settings, replace(options, into=None), provider=provider, on_batch=on_batch)
            summary.notes.append(f"{described} does not exist yet: --into makes it from {live.profile.chunks.table}")
            return summary, new
        if not exists:
            with conn.transaction():
                new, copied = create(conn, live, dims)
    summary = run_backfill(replace(settings, profile=new.profile), replace(options, collection=collection, into=None),
                           provider=provider, on_batch=on_batch)
    summary.copied, summary.source = copied, options.collection
    return summary, new


def _tenant_batches(conn, target, collection, model, options, tenants, size: AdaptiveSize | None = None,
                    needs: Needs = Needs()) -> Iterator[tuple[Sequence[Row], int | None, str | None]]:
    """Pages of rows to embed, tenant after tenant, each page read inside its tenant's session."""
    served = 0
    for tenant in tenants:
        limit = None if options.limit is None else options.limit - served
        if limit is not None and limit <= 0:
            return
        for rows in iter_batches(conn, target, collection, model, size or options.batch_size, limit,
                                 keys=options.keys, every=options.every, needs=needs,
                                 scope=functools.partial(rls.scope, conn, target.profile, tenant)):
            served += len(rows)
            yield rows, None, tenant


def _census(conn: Conn, target: Target, collection: str, keys: tuple[str, ...], tenants: Sequence[str | None],
            summary: BackfillSummary) -> None:
    """How many listed keys are chunks of the collection now (each tenant's view), and which are gone."""
    found: set[str] = set()
    for tenant in tenants:
        with rls.scope(conn, target.profile, tenant):
            found |= existing_keys(conn, target, collection, keys)
    missing = [k for k in keys if k not in found]
    summary.keys, summary.keys_found, summary.keys_missing = len(keys), len(keys) - len(missing), len(missing)
    summary.keys_missing_sample = missing[:_SHOWN_KEYS]
    if missing:
        log.warning("%d of %d listed keys no longer exist in %s (first: %s); they are not re-embedded",
                    len(missing), len(keys), collection, ", ".join(missing[:_SHOWN_KEYS]))


_SHOWN_KEYS = 5


def _refuse(conn: Conn, target: Target, provider: OllamaProvider, options: BackfillOptions,
            dimensions: int | None, new_is_empty: bool, tenants: Sequence[str | None] = (None,)) -> tuple[int, str]:
    """Every refusal of a real run, raised before anything is written (a dry run reports it instead); the dimension,
    and the name the run writes for its model (``state.stored_name``: a new collection's is the live one's)."""
    if options.keys is not None and options.run_id:
        raise ConfigError("--keys-from re-embeds listed rows in one process; expected no --run-id/--workers with it")
    if options.keys is not None and options.every:
        raise ConfigError("--keys-from re-embeds the listed rows, --all every row; expected one of them")
    if options.into and new_is_empty:
        reuse.require_into_shape(target, options.into)
    stored = {} if new_is_empty else rls.across(conn, target.profile, list(tenants),
                                                lambda: stored_models(conn, target, options.target_collection))
    refusal = model_switch(stored, provider.model, options.collection, into=options.into,
                           approve=options.approve_model_change)
    if refusal:
        raise RefusedError(refusal)
    named = stored if stored or not options.into else rls.across(conn, target.profile, list(tenants),
                                                                 lambda: stored_models(conn, target, options.collection))
    return _agreed_dimensions(conn, target, provider, dimensions), stored_name(named, provider.model)


def _chunk_count(conn: Conn, target: Target, collection: str) -> int:
    return int(one(conn.execute(sql.SQL("SELECT count(*) AS n FROM {} AS c WHERE {}").format(target.chunk_table, target.chunk_filter()),
                            {"collection": collection}).fetchone())["n"])


def _prepare(conn: Conn, target: Target, options: BackfillOptions, model: str, summary: BackfillSummary,
             guard: Callable[[Conn], None], dims: int | None = None,
             tenants: Sequence[str | None] = (None,), needs: Needs = Needs(),
             probe: Callable[[list[str]], Any] | None = None) -> None:
    """Once per run: copy chunks for --into (committed in pieces a killed run resumes), take over reusable vectors
    (committed in pieces; ``probe``, the run's provider, must reproduce them: ``reuse.reuse_vectors``), cut claim
    ranges (workers: all in one transaction).

    Under row-level security each tenant's view is copied and reused in turn (``database.session``)."""
    em = target.profile.embeddings
    extra = ([(em.dimensions, sql.Literal(dims))] if em.dimensions else []) + profile_defaults(
        target, model, dims, options.target_collection)
    if options.run_id:
        with conn.transaction():
            guard(conn)
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('backfill-harness'), hashtext(%s))", ("prepare:" + options.run_id,))
            if one(conn.execute("SELECT prepared FROM backfill_harness.runs WHERE run_id = %s", (options.run_id,)).fetchone())["prepared"]:
                return
            # One transaction for the workers' preparation: the copy's pieces are savepoints here, all or nothing.
            summary.copied = _copy_into(conn, target, options, guard, tenants)
            size = options.rows_per_claim or options.batch_size * 4
            cut = 0
            for tenant in tenants:
                # Each tenant's view in turn (set_config(..., true) holds until this transaction ends): its vectors
                # are reused and its ranges cut and marked with it, so a worker takes them in it.
                session = dbmod.session_values(target.profile.database.session, tenant)
                dbmod.apply_session(conn, session)
                if options.reuse and options.keys is None and not options.every:  # embedded again, never taken over
                    summary.reused += reuse.reuse_vectors(conn, target, options.target_collection, model, extra=extra,
                                                          session=session, probe=probe, notes=summary.notes)
                cut += claims.cut_ranges(conn, target, options.run_id, options.target_collection, model, size,
                                         tenant=tenant, first_seq=cut, every=options.every, needs=needs)
            conn.execute("UPDATE backfill_harness.runs SET prepared = true WHERE run_id = %s", (options.run_id,))
        return
    summary.copied = _copy_into(conn, target, options, guard, tenants)
    if summary.copied:
        # The planner must know the new collection's size, or it joins it by nested loops (quadratic).
        with conn.transaction():
            conn.execute(sql.SQL("ANALYZE {}").format(target.chunk_table))
    # Listed keys and --all are embedded again, never taken over: a vector of the same text and model elsewhere was
    # made under what --all is run to replace (a prefix, weights re-pulled under the model's name).
    if options.reuse and options.keys is None and not options.every:
        for tenant in tenants:
            summary.reused += reuse.reuse_vectors(
                conn, target, options.target_collection, model, guard, extra=extra,
                session=dbmod.session_values(target.profile.database.session, tenant), probe=probe, notes=summary.notes)


def _copy_into(conn: Conn, target: Target, options: BackfillOptions, guard: Callable[[Conn], None],
               tenants: Sequence[str | None] = (None,)) -> int:
    """--into: copy the live chunks into the new collection, resume a copy a killed run left part way, or (--sync)
    bring live's changes over; return how many chunks were copied.

    The copy is committed in pieces of ``reuse.COPY_PIECE`` chunks in key order, each with the last key it reached in
    ``backfill_harness.copies`` (the copy is marked complete only after its last piece), so a killed run leaves a
    copy that says it stopped, and the next run goes on after that key. Where the bookkeeping cannot be kept (no
    CREATE, a LangChain collection table) the copy is one transaction: all or nothing."""
    if not options.into:
        return 0
    into, live = options.into, options.collection
    em = target.profile.embeddings
    state = _copy_state(conn, target, into)
    if state is None:
        return _copy_at_once(conn, target, options, guard, tenants)
    if state is not False and not state.complete:
        if state.live != live:
            raise ConfigError(f"{into!r} holds part of a copy of {state.live!r} that stopped part way; expected "
                              f"--collection {state.live} --into {into} to finish it (not {live!r})")
        log.info("resuming the copy of %s into %s after the pieces already committed", live, into)
        done = dict(state.done_through)
    elif rls.visible_count(conn, target, into, list(tenants)) == 0:
        with conn.transaction():
            guard(conn)
            bookkeeping.start_copy(conn, em.schema, em.table, live, into)
        done = {}
    else:
        return _sync(conn, target, options, guard, tenants) if options.sync else 0
    copied = 0
    for tenant in tenants:
        name = "" if tenant is None else str(tenant)
        session = dbmod.session_values(target.profile.database.session, tenant)
        after = done.get(name)
        with conn.transaction():
            dbmod.apply_session(conn, session)
            bounds = reuse.copy_bounds(conn, target, live, after, reuse.COPY_PIECE)
        for last in bounds:
            with conn.transaction():
                guard(conn)
                dbmod.apply_session(conn, session)
                count = reuse.copy_piece(conn, target, live, into, after, last)
                bookkeeping.piece_copied(conn, em.schema, em.table, into, name, str(last))
            copied, after = copied + count, last
    with conn.transaction():
        guard(conn)
        bookkeeping.finish_copy(conn, em.schema, em.table, into)
    log.info("copied %d chunks of %s into %s", copied, live, into)
    return copied


def _copy_state(conn: Conn, target: Target, into: str) -> bookkeeping.CopyState | None | Literal[False]:
    """The bookkeeping's record of the copy into ``into`` (False: none yet); None where no record can be kept."""
    from . import library_swap

    if library_swap.is_langchain(target):
        return None
    try:
        bookkeeping.ensure(conn)
    except RefusedError as exc:  # a role without the bookkeeping schema: swap then compares by source only
        log.warning("the copy into %s cannot be recorded (%s): it is made in one transaction, and swap will compare "
                    "by source, not chunk by chunk", into, exc)
        return None
    em = target.profile.embeddings
    with conn.transaction():  # a read left open would turn every piece's commit below into a savepoint
        return bookkeeping.copy_state(conn, em.schema, em.table, into) or False


def _copy_at_once(conn: Conn, target: Target, options: BackfillOptions, guard: Callable[[Conn], None],
                  tenants: Sequence[str | None]) -> int:
    """The copy (or --sync) in one transaction, under each tenant's view in turn; recorded where it can be."""
    into = cast(str, options.into)
    copied = 0
    with conn.transaction():
        guard(conn)
        for tenant in tenants:
            # set_config(..., true) holds for the rest of this transaction: one tenant's view at a time.
            dbmod.apply_session(conn, dbmod.session_values(target.profile.database.session, tenant))
            if _chunk_count(conn, target, into) == 0:
                copied += reuse.copy_chunks(conn, target, options.collection, into)
            elif options.sync:
                copied += _sync_here(conn, target, options)
    if copied:
        em = target.profile.embeddings
        try:
            bookkeeping.record_copy(conn, em.schema, em.table, options.collection, into)
        except RefusedError:
            pass  # said once already (_copy_state); swap compares by source
    return copied


def _sync(conn: Conn, target: Target, options: BackfillOptions, guard: Callable[[Conn], None],
          tenants: Sequence[str | None]) -> int:
    """--sync: bring chunks added, edited or deleted in live since the copy over, in one transaction."""
    copied = 0
    with conn.transaction():
        guard(conn)
        for tenant in tenants:
            dbmod.apply_session(conn, dbmod.session_values(target.profile.database.session, tenant))
            copied += _sync_here(conn, target, options)
    if copied:
        em = target.profile.embeddings
        bookkeeping.record_copy(conn, em.schema, em.table, options.collection, cast(str, options.into))
    return copied


def _sync_here(conn: Conn, target: Target, options: BackfillOptions) -> int:
    copied, removed = reuse.sync_chunks(conn, target, options.collection, cast(str, options.into))
    log.info("brought %d new or edited chunks of %s into %s; removed %d it no longer has",
             copied, options.collection, options.into, removed)
    return copied


def _claimed_batches(claim_conn, read_conn, target, collection, model, options, size: AdaptiveSize | None = None,
                     needs: Needs = Needs()) -> Iterator[tuple[Sequence[Row], int | None, str | None]]:
    """Batches from the ranges this worker claims, each read (and later written) in the session of the tenant the
    range was cut for; ``([], seq, tenant)`` marks that every batch of claim ``seq`` was handed out."""
    while (claim := claims.take(claim_conn, options.run_id)) is not None:
        for rows in iter_batches(read_conn, target, collection, model, size or options.batch_size, lo=claim.lo,
                                 hi=claim.hi, every=options.every, needs=needs,
                                 scope=functools.partial(rls.scope, read_conn, target.profile, claim.tenant)):
            yield rows, None, claim.tenant
        yield [], claim.seq, claim.tenant


def _pipeline(batches, pool: WritePool[_Embedded], target, provider, options, dims, summary, progress, on_batch,
              claim_conn, size: AdaptiveSize | None = None) -> None:
    """Three stages: a selector thread reads the next pages, embed requests go out while the in-flight limit
    (``--concurrency``: fixed, or auto) has room, and this thread hands the answers to the write pool (``--writers``
    sessions) and counts them in selection order; so while batches N.. are written, the next ones are being
    embedded and the next page selected."""
    # Fail-fast embeds one batch at a time: the first failure in key order stops the run, and nothing after it
    # has been sent.
    limit = limit_for(options.concurrency, one_at_a_time=options.on_failure == FAIL_FAST)
    gate = Gate(limit)
    selected: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=min(limit.ceiling, 8) + 1)
    # Futures in selection order: the writer lands batches (and claim-done markers) in the order they were read.
    # The gate holds the batches sent and not yet taken by the writer under the limit, as well as the requests in
    # flight: while batch N is written, up to the limit more are sent or answered (memory: limit + 1 answers).
    embedded: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=limit.ceiling)
    stop = threading.Event()
    # As many threads as the limit may ever allow; the gate, not the pool's size, holds the requests to the limit.
    embedders = ThreadPoolExecutor(max_workers=limit.ceiling, thread_name_prefix="embed")

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
            for rows, done_seq, *tenant in batches:
                if not put(selected, ("claim-done", done_seq) if done_seq is not None else ("rows", (rows, tenant[0] if tenant else None))):
                    return
            put(selected, ("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed on to the writing thread, which raises it
            put(selected, ("error", exc))

    def dispatch() -> None:
        first = True
        while not stop.is_set():
            try:
                kind, item = selected.get(timeout=0.05)
            except queue.Empty:
                continue
            if kind == "rows":
                rows, tenant = item
                if (ticket := gate.enter(stop)) is None:
                    return
                kind, item = "batch", embedders.submit(_embed_batch, provider, rows, dims, tenant, size, gate, ticket)
            if not put(embedded, (kind, item)) or kind in ("end", "error"):
                return
            if kind == "batch" and first:
                # The first request alone: a cold server loads the model on it, and batches stay in order
                # until the server has answered once.
                first = False
                wait([item])

    def land_all() -> None:
        """Wait for every write handed over and count it (raising a failed write's error, in selection order)."""
        _record(pool.landed(keep=0), options, summary, progress, on_batch)

    threads = [threading.Thread(target=select, name="select", daemon=True),
               threading.Thread(target=dispatch, name="dispatch", daemon=True)]
    for thread in threads:
        thread.start()
    try:
        while True:
            try:
                kind, item = embedded.get(timeout=0.5)
            except queue.Empty:
                # The dispatcher may have queued its last item just after this wait timed out: read it first.
                if not threads[1].is_alive() and embedded.empty():
                    land_all()
                    raise HarnessError("the embed stage ended without a result; expected every batch answered") from None
                continue
            if kind == "end":
                land_all()
                return
            if kind == "error":
                land_all()  # a write of an earlier batch that failed is the first failure: its error comes first
                raise item
            if kind == "claim-done":
                # Items arrive in order: once the writes before it have landed, every batch of this claim has.
                land_all()
                claims.finish(claim_conn, options.run_id, item)
                continue
            gate.taken()
            try:
                done = item.result()
            except Exception:
                land_all()  # as for "error": the writes before this batch first
                raise
            summary.selected += len(done.rows)
            if done.failures and options.on_failure == FAIL_FAST:
                land_all()
                _refuse_batch(done, summary)
                return
            good = Vectors.join(done.good)
            pool.submit(done, good, dbmod.session_values(target.profile.database.session, done.tenant))
            _record(pool.landed(), options, summary, progress, on_batch)
    except _Stopped:
        return  # summary.stopped says where; the batches behind it are not written (the pool stopped them)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        embedders.shutdown(wait=True, cancel_futures=True)
        summary.in_flight_peak = max(summary.in_flight_peak, gate.peak)
        summary.in_flight_limit = limit.limit


def _count_batch(done: _Embedded, summary: BackfillSummary) -> None:
    """A batch's requests, embed time and failed rows, added to the summary once, whether it was written or not."""
    summary.batches += 1
    summary.requests += done.requests
    summary.embed_seconds += done.seconds
    summary.failures.extend(done.failures)
    summary.failed += len(done.failures)


def _refuse_batch(done: _Embedded, summary: BackfillSummary) -> None:
    """Fail-fast: a batch with a failure is not written, and the run stops at its first failure in key order."""
    _count_batch(done, summary)
    _stop_at_first_failure(done, summary)


def _stop_at_first_failure(done: _Embedded, summary: BackfillSummary) -> None:
    summary.stopped = f"fail-fast: {done.failures[0].reason} (key {done.failures[0].key}); nothing of this batch was written"
    log.error("%s", summary.stopped)


class _Stopped(Exception):
    """Fail-fast: a batch was rolled back for a row the policies do not let this role update; the run ends here."""


def _record(landed: Iterator[tuple[_Embedded, Written]], options: BackfillOptions, summary: BackfillSummary,
            progress: Progress, on_batch) -> None:
    """Count the batches whose writes have ended, in selection order."""
    for done, written in landed:
        summary.embedded += written.rows
        if written.not_updated:
            # Read through a policy that lets this role see the row but not update it (inline) or not delete the
            # stored row it replaces (a separate table): not written, and said so.
            whose = f"tenant {done.tenant}'s view" if done.tenant is not None else "this session"
            collection = done.good[0].collections[0]
            done.failures.extend(RowFailure(key, collection, done.tenant,
                                            f"not written: row-level security lets the role read this row in {whose} "
                                            "but not update it (or delete the stored row it replaces)")
                            for key in written.not_updated)
        # Sent and accepted, yet the table holds no vector of it, or another: a trigger or rule dropped the write,
        # cleared the vector or rewrote it (counted as written it made 'Embedded 20/20 rows. 0 failures.' of 16). Or
        # its text was edited while it was embedded, where no input hash, nor a time of the chunk as read, would show
        # the vector stale.
        for keys, reason in (
                (written.discarded, "not written: the table kept no vector for it, or not the one sent (a trigger or "
                                    "rule of the table dropped the write, cleared the vector or replaced it)"),
                (written.edited, "not written: its text was edited while it was embedded (no input hash, nor a time "
                                 "of the chunk as read, would show the old text's vector stale); run backfill again to embed it as it is now")):
            done.failures.extend(RowFailure(key, done.good[0].collections[0], done.tenant, reason) for key in keys)
        summary.truncated += done.truncated
        _count_batch(done, summary)
        for failure in done.failures:
            log.warning("row %s (%s) failed: %s", failure.key, failure.collection, failure.reason)
        if written.rolled_back:
            _stop_at_first_failure(done, summary)
            raise _Stopped
        progress.advance(len(done.rows), summary.failed)
        if on_batch is not None:
            on_batch(summary)


def _embed_batch(provider: OllamaProvider, rows: Sequence[Row], dims: int, tenant: str | None = None,
                 size: AdaptiveSize | None = None, gate: Gate | None = None, ticket: Ticket | None = None) -> _Embedded:
    started = time.perf_counter()
    out = _Embedded(rows, [], [], 0, 0, 0.0, tenant)
    whole = False
    try:
        _embed_into(provider, rows, dims, out, truncate=False)
        out.seconds = time.perf_counter() - started
        # Only a request answered whole measures the provider's latency.
        whole = out.requests == 1 and not out.failures
        if size is not None and whole:
            size.observe(len(rows), out.seconds)
    finally:
        if gate is not None and ticket is not None:
            gate.leave(ticket, len(rows), out.seconds if whole else None)
    return out


def _embed_into(provider: OllamaProvider, rows: Sequence[Row], dims: int, out: _Embedded, truncate: bool) -> None:
    """Embed rows; on a 4xx split to find the guilty inputs; on over-length singletons retry with truncation."""
    out.requests += 1
    page = Page.of(rows)
    try:
        result = provider.embed(list(page.texts), truncate=truncate)
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
    out.good.append(Vectors(page.keys, vectors, page.hashes, page.collections, page.tenants, page.exists, page.read_at,
                            page.changed))


# Special tokens a model adds around an input (BOS/EOS, [CLS]/[SEP]): allowance when bounding tokens by bytes.
_SPECIAL_TOKENS = 8


def _rejected(provider, rows, dims, out, truncate, exc) -> None:
    """A 4xx: an over-context batch is sent again truncated (once); otherwise split to isolate the guilty inputs."""
    if len(rows) > 1 and not truncate and _over_context(exc):
        context = provider.context_length()
        if context is not None:
            _truncated_batch(provider, rows, dims, out, context)
            return
    if len(rows) > 1:
        middle = len(rows) // 2
        _embed_into(provider, rows[:middle], dims, out, truncate)
        _embed_into(provider, rows[middle:], dims, out, truncate)
    elif not truncate and _over_context(exc):
        _embed_into(provider, rows, dims, out, truncate=True)
        if out.good and out.good[-1].keys[-1] == rows[0].key:
            out.truncated += 1
    else:
        out.failures.append(RowFailure(rows[0].key, rows[0].collection, rows[0].tenant, str(exc)))


def _over_context(exc: Exception) -> bool:
    return "context" in str(exc).lower()


def _truncated_batch(provider, rows, dims, out, context: int) -> None:
    """Embed the whole batch with ``truncate: true`` in one request, then count exactly which inputs were cut.

    A token spans at least one byte, so only texts longer than the context in bytes can have been cut; each of
    those alone is asked again without truncation, and counted when the provider refuses it for its length.
    """
    good = sum(map(len, out.good))
    _embed_into(provider, rows, dims, out, truncate=True)
    if sum(map(len, out.good)) - good != len(rows):
        return  # refused as a whole (a bad answer): the rows are already recorded as failures
    for row in rows:
        if len(row.text.encode("utf-8")) + _SPECIAL_TOKENS <= context:
            continue
        out.requests += 1
        try:
            provider.embed([row.text], truncate=False)
        except ProviderRejected as exc:
            if _over_context(exc):
                out.truncated += 1


def _agreed_dimensions(conn: Conn, target: Target, provider: OllamaProvider, expected: int | None) -> int:
    """The model's real dimension, refused unless the column (when typed) and the profile (when set) agree."""
    real = provider.dimensions()
    declared = declared_dimensions(conn, target)
    em = target.profile.embeddings
    if declared is not None and declared != real:
        raise CheckFailed(
            f"model {provider.model!r} returns {real}-dimension vectors but {em.table}.{em.vector} is declared "
            f"vector({declared}); expected equal dimensions, nothing was written"
        )
    if expected is not None and expected != real:
        raise CheckFailed(
            f"model {provider.model!r} returns {real}-dimension vectors but the profile says "
            f"{target.profile.provider.dimensions_key}: {expected}; expected equal dimensions, nothing was written"
        )
    return real


def _plain(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, type(None))) else str(value)
