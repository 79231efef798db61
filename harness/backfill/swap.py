"""Replace a live collection by a new one in one transaction, keep the old one for rollback, drop it on purpose.

A swap relabels collection values in the chunk and embedding tables (LIVE -> LIVE__retired,
NEW -> LIVE) inside one transaction, so a reader's statement sees all-old or all-new.
The bookkeeping row in ``backfill_harness.swaps`` says what a rollback must undo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, cast

import psycopg
from psycopg import sql

from .. import checks, rls
from .. import db as dbmod
from ..checks.live import CONTENT, comparison, differences, matches_live
from ..checks.outcome import FAIL, UNPROVEN, Offender, Outcome
from ..checks.verdict import done
from ..db import Conn, one
from ..errors import ConfigError, RefusedError
from ..settings import Settings
from ..state import require_collection
from ..profile import SourceTable
from ..target import Target, _qualified
from . import bookkeeping, library_swap, lock, pgai_swap
from .writer import referenced

RETIRED_SUFFIX = "__retired"


@dataclass
class SwapResult:
    action: str  # swap, rollback, drop-retired
    live: str
    new: str | None = None
    retired: str | None = None
    chunks: int = 0
    embeddings: int = 0
    gate: list[Outcome] = field(default_factory=list)  # the DONE checks NEW passed, and matches_live
    notes: list[str] = field(default_factory=list)
    override: str | None = None  # the reason given for swapping although the gate was unproven

    def line(self) -> str:
        if self.action == "swap":
            return (f"Swapped: {self.new} is now {self.live} ({self.chunks} chunks, {self.embeddings} vectors); "
                    f"the old vectors are kept as {self.retired} until swap --drop-retired --to {self.live}.")
        if self.action == "rollback":
            return f"Rolled back: {self.live} is the old collection again; the replacement is back as {self.new}."
        return f"Dropped {self.retired}: {self.chunks} chunks, {self.embeddings} vectors deleted."

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "live": self.live, "new": self.new, "retired": self.retired, "chunks": self.chunks,
                "embeddings": self.embeddings,
                "gate": {"ok": done(self.gate).ok, "reason": done(self.gate).reason, "override": self.override,
                         "checks": [o.as_dict() for o in self.gate]} if self.gate else None,
                "notes": list(self.notes), "summary": self.line()}


def _require_collections(target: Target) -> None:
    from ..preflight import into_shape_outcome

    shape = into_shape_outcome(target, None, "NEW")
    if shape is not None:
        raise ConfigError(f"swap needs {shape.expected}; profile {target.profile.name!r}: {shape.found}; {shape.note}")


def _views(conn: Conn, target: Target) -> list[str | None]:
    """The tenants whose views a collection swap reads and relabels one by one ([None]: the table as this role sees
    it, where no per-tenant database.session meets row-level security that applies)."""
    profile = target.profile
    if not profile.database.per_tenant or not rls.applies(rls.inspect(conn, profile)):
        return [None]
    return rls.tenants(conn, profile)


def _in_views(conn: Conn, target: Target, tenants: list[str | None], work: Callable[[], tuple[int, int]]) -> tuple[int, int]:
    """``work()`` in each tenant's view in turn inside the caller's transaction (set_config(..., true) lasts until it
    ends, each tenant's settings replacing the last's), added up."""
    chunks = vectors = 0
    for tenant in tenants:
        if tenant is not None:
            dbmod.apply_session(conn, dbmod.session_values(target.profile.database.session, tenant))
        c, v = work()
        chunks, vectors = chunks + c, vectors + v
    return chunks, vectors


def _held(conn: Conn, target: Target, collection: str) -> tuple[int, int]:
    """Chunks and vectors of ``collection`` in the current view, counted as ``_relabel`` counts what it moved."""
    em = target.profile.embeddings
    chunks = rls.chunk_count(conn, target, collection)
    if em.collection:
        vectors = one(conn.execute(sql.SQL("SELECT count(*) AS n FROM {t} WHERE {col}::text = %s").format(
            t=target.embedding_table, col=sql.Identifier(em.collection)), (collection,)).fetchone())["n"]
    else:
        vectors = one(conn.execute(sql.SQL("SELECT count(*) AS n FROM {j} WHERE {w} AND {v} IS NOT NULL").format(
            j=target.join(), w=target.chunk_filter(), v=target.vector), {"collection": collection}).fetchone())["n"]
    return chunks, int(vectors)


def _relabel_views(conn: Conn, target: Target, tenants: list[str | None], moves: list[tuple[str, str]]) -> tuple[int, int]:
    """Inside the caller's transaction: relabel each (old, new) tenant by tenant; under per-tenant row-level security
    refuse (the caller's transaction rolls it all back) unless exactly the rows counted in those views just before
    moved. Returns the last move's counts."""
    moved = (0, 0)
    for old, new in moves:
        if tenants == [None]:
            moved = _relabel(conn, target, old, new)
            continue
        before = _in_views(conn, target, tenants, partial(_held, conn, target, old))
        moved = _in_views(conn, target, tenants, partial(_relabel, conn, target, old, new))
        if moved != before:
            raise RefusedError(
                f"relabelling {old!r} as {new!r} moved {moved[0]} chunks and {moved[1]} vectors where {before[0]} and "
                f"{before[1]} were counted in the views of tenants {', '.join(str(t) for t in tenants)} just before; "
                "nothing was swapped (rolled back). Expected policies that let each tenant update its own rows "
                "(or swap run as the table owner)")
    return moved


def _relabel(conn: Conn, target: Target, old: str, new: str) -> tuple[int, int]:
    ch, em = target.profile.chunks, target.profile.embeddings
    if library_swap.is_langchain(target):
        moved = library_swap.rename(conn, target, [(old, new)])
        return moved, moved
    # --into, the only way to a collection swap relabels, is refused without a collection column (preflight)
    chunks = conn.execute(sql.SQL("UPDATE {t} AS c SET {col} = %(new)s WHERE {where}").format(
        t=target.chunk_table, col=sql.Identifier(cast(str, ch.collection)), where=target.chunk_filter()),
        {"collection": old, "new": new}).rowcount
    if not em.collection:
        # Vectors hang off their chunk's key: relabelling the chunks moves them too.
        vectors = one(conn.execute(sql.SQL("SELECT count(*) AS n FROM {j} WHERE {w} AND {v} IS NOT NULL").format(
            j=target.join(), w=target.chunk_filter(), v=target.vector), {"collection": new}).fetchone())["n"]
        return chunks, vectors
    vectors = conn.execute(sql.SQL("UPDATE {t} SET {col} = %(new)s WHERE {col}::text = %(old)s").format(
        t=target.embedding_table, col=sql.Identifier(em.collection)), {"old": old, "new": new}).rowcount
    return chunks, vectors


def _changes(conn: Conn, target: Target, tenants: list[str | None], live: str, other: str,
             by: str) -> tuple[int, int, list[Offender]]:
    """Chunks of ``live`` added or edited since ``other`` matched it, and those gone, with examples: each tenant's
    view in turn (its set_config(..., true) lasts until the caller's transaction commits)."""
    added, gone, examples = 0, 0, list[Offender]()
    for tenant in tenants:
        if tenant is not None:
            dbmod.apply_session(conn, dbmod.session_values(target.profile.database.session, tenant))
        more, shown = differences(conn, target, live, other, by=by)
        added, examples = added + more, examples + shown
        gone += differences(conn, target, other, live, by=by)[0]
    return added, gone, examples


def _still_matches(conn: Conn, target: Target, new: str, live: str, tenants: list[str | None]) -> None:
    """Inside the relabel's transaction: keep the chunk table's writers out until it commits (readers go on) and
    compare NEW with live again, so a live edit made after the gate measured matches_live refuses the swap."""
    conn.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(target.chunk_table))
    by = comparison(conn, target, new) or CONTENT  # the gate refused an unproven comparison; never None here
    added, gone, examples = _changes(conn, target, tenants, live, new, by)
    if added or gone:
        raise RefusedError(
            f"{live!r} changed after the gate compared it with {new!r}: {added} chunks added or edited there since"
            + (" (e.g. " + ", ".join(f"id={o.id}" for o in examples[:5]) + ")" if examples else "")
            + f", {gone} no longer there; nothing was swapped. Expected backfill --collection {live} --into {new} "
            "--sync, then swap again")


def _require_empty(conn: Conn, target: Target, name: str, why: str, tenants: list[str | None]) -> None:
    """Refuse to relabel rows into a collection name that holds chunks (in any tenant's view): they would be merged."""
    if held := rls.visible_count(conn, target, name, tenants):
        raise ConfigError(f"collection {name!r} already holds {held} chunks, and {why}; expected {name!r} renamed or "
                          "dropped first (or NEW under another name)")


def _tables(target: Target) -> list[str]:
    ch, em = target.profile.chunks, target.profile.embeddings
    return [_qualified(ch.schema, ch.table), _qualified(em.schema, em.table)]


def _retired_name(conn: Conn, target: Target, live: str) -> str:
    """The name ``live``'s old vectors will be kept under; refused while an earlier swap's are still kept."""
    bookkeeping.ensure(conn)
    previous = _record(conn, target, live)
    if previous is not None:
        raise ConfigError(f"{live!r} was already swapped and its old vectors are kept as {previous['retired']!r}; "
                          f"expected them dropped first with swap --drop-retired --to {live} (or swap --rollback --to {live})")
    return live + RETIRED_SUFFIX


def _record(conn: Conn, target: Target, live: str) -> dict[str, Any] | None:
    em = target.profile.embeddings
    return conn.execute("SELECT live, retired, replaced_by FROM backfill_harness.swaps WHERE target = %s AND live = %s",
                        (bookkeeping.target_name(em.schema, em.table), live)).fetchone()


class _Locked:
    """Hold the backfill locks of the collections a swap touches, so no backfill writes into them meanwhile."""

    def __init__(self, dsn_conn: Conn, table: str, collections: list[str]):
        self.conn, self.table, self.collections = dsn_conn, table, collections
        self.held: list[str] = []

    def __enter__(self) -> "_Locked":
        for name in self.collections:
            lock.acquire(self.conn, self.table, name)
            self.held.append(name)
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self.held:
            lock.release(self.conn, self.table, name)


# recompute re-embeds a sample of NEW (verify's sampling): the only evidence for fresh and model where the target
# keeps no input hash or model name, and for vectors written to the wrong row anywhere. tenant_isolation and
# distinct_vectors prove on every row what verify would fail after the swap: a vector filed under another tenant (its
# search then returns this tenant's chunk) and one vector on rows of different texts, neither needing the provider
# (so no --override passes them).
GATE = ("coverage", "dimensions", "model", "fresh", "recompute", "tenant_isolation", "sane_vectors", "distinct_vectors")


def run_gate(settings: Settings, new: str, live: str) -> list[Outcome]:
    """The DONE checks on ``new`` (in-process, one CheckSession) and whether it matches ``live`` as it is now."""
    return _checks_on(settings, new, GATE, lambda session: matches_live(session, new, live))


def _checks_on(settings: Settings, collection: str, names: tuple[str, ...],
               then: Callable[[checks.CheckSession], Outcome] | None = None) -> list[Outcome]:
    """The checks ``names`` on one collection in one CheckSession (recompute is kept by it, so fresh and model,
    which it stands in for, read the same), then ``then`` on the same session."""
    session = checks.open_session(settings, checks.CheckOptions(collections=(collection,)))
    try:
        gate = [checks.PER_COLLECTION[name](session, collection) for name in names]
        return gate + [then(session)] if then is not None else gate
    finally:
        session.close()


def refusal(gate: list[Outcome], new: str, live: str, override: str | None, remedy: str | None = None) -> str | None:
    """The one swap rule over the gate: None to go ahead, else why not. The DONE verdict decides (``checks.verdict``);
    a claim only unproven (no provider to re-embed with) may be overridden with a reason, a failed one never, nor an
    unproven matches_live (swapping could lose live chunks for good)."""
    verdict = done(gate)
    if verdict.ok:
        return None
    hard = [o for o in gate if o.status == FAIL or (o.check == "matches_live" and o.status == UNPROVEN)]
    if hard:
        return (f"{new!r} is not ready to replace {live!r}: " + "; ".join(_failure(o, remedy) for o in hard)
                + "; nothing was swapped")
    if override:
        return None
    return (f"{new!r} cannot be proven ready to replace {live!r}: {verdict.reason}; nothing was swapped. Expected "
            "a reachable provider (OLLAMA_HOST or provider.url) so recompute can re-embed a sample, or "
            "--override \"REASON\" naming who approved swapping unproven vectors")


def swap(conn: Conn, lock_conn: Conn, target: Target, new: str, live: str,
         settings: Settings, override: str | None = None) -> SwapResult:
    """Gate ``new`` (the DONE checks, and the same chunks as ``live`` now), then relabel live -> retired and new -> live."""
    if library_swap.per_table(target):
        return _swap_tables(conn, lock_conn, target, new, live, settings, override)
    if pgai_swap.is_pgai(target):
        return _swap_destinations(conn, lock_conn, target, new, live, settings, override)
    _require_collections(target)
    if new == live:
        raise ConfigError(f"--from {new!r} and --to {live!r} are the same collection; expected two different names")
    tenants = _views(conn, target)
    # Under per-tenant row-level security the collections are what the tenants' views hold together.
    rls.require_visible(conn, target, new, tenants)
    rls.require_visible(conn, target, live, tenants)
    retired = _retired_name(conn, target, live)
    _require_empty(conn, target, retired, f"swap keeps {live!r}'s old chunks under that name", tenants)
    # The locks keep backfills of both collections out from the gate to the commit, so what passed is what is swapped.
    with _Locked(lock_conn, target.profile.embeddings.table, [live, new]):
        gate = run_gate(settings, new, live)
        if (refused := refusal(gate, new, live, override)) is not None:
            raise RefusedError(refused)
        try:
            with lock.WaitWatch(lambda: dbmod.connect(settings.database_url, autocommit=True), [conn]), \
                    conn.transaction():
                conn.execute(f"SET LOCAL lock_timeout = {int(lock.LOCK_TIMEOUT_MS)}")
                _still_matches(conn, target, new, live, tenants)
                chunks, vectors = _relabel_views(conn, target, tenants, [(live, retired), (new, live)])
                _note_swap(conn, target, live, retired, new)
        except psycopg.errors.LockNotAvailable:
            raise lock.waited_too_long(conn, f"swapping {new!r} into {live!r}", _tables(target)) from None
    em = target.profile.embeddings
    # The application's rows still reference the old vectors (``writer.referenced``), which swap relabels, not moves.
    notes = ([f"other tables reference {em.table}'s rows: theirs still reference the old vectors, now {retired!r}'s, "
             f"not {live!r}'s new ones, and swap --drop-retired deletes or unlinks them (ON DELETE)"]
             if referenced(conn, target) else [])
    return SwapResult("swap", live, new, retired, chunks, vectors, gate, notes=notes,
                      override=override if not done(gate).ok else None)


REMAKE = "; --sync cannot bring them over to a table of its own: drop NEW and make it again with backfill --into NEW"


def _failure(outcome: Outcome, remedy: str | None = None) -> str:
    if outcome.status == UNPROVEN:  # matches_live: the one unproven claim no override passes
        return (f"{outcome.check} unproven: {outcome.note}; name the profile's chunks.sources (or fill NEW with "
                "backfill --into) so it can be compared")
    text = f"{outcome.check}: expected {outcome.expected}; found {outcome.found}"
    if outcome.offenders:
        text += " (e.g. " + ", ".join(f"id={o.id} {o.detail}".strip() for o in outcome.offenders[:5]) + ")"
    if outcome.check == "matches_live":
        text += remedy or "; bring them over with backfill --collection LIVE --into NEW --sync, then swap again"
    return text


def _since_swap(conn: Conn, target: Target, live: str, record: dict[str, Any], tenants: list[str | None],
                override: str | None) -> list[str]:
    """Inside the rollback's transaction: keep the chunk table's writers out and say what rolling back would undo in
    ``live`` beyond the swap (it held exactly the retired chunks then): chunks added or edited since, left under the
    replacement's name, and chunks deleted since, live again. Refused unless ``override``; the notes otherwise."""
    retired, replaced_by = record["retired"], record["replaced_by"]
    conn.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(target.chunk_table))
    by = comparison(conn, target, replaced_by)
    if by is None:
        changed = (f"whether {live!r} changed since the swap is unknown: {replaced_by!r} was not made by backfill --into "
                   "and the profile names no chunks.sources to compare it with")
    else:
        added, gone, examples = _changes(conn, target, tenants, live, retired, by)
        if not added and not gone:
            return []
        changed = (f"{added} chunks added or edited in {live!r} since the swap"
                   + (" (e.g. " + ", ".join(f"id={o.id}" for o in examples[:5]) + ")" if examples else "")
                   + f" would be left under {replaced_by!r}, and {gone} chunks deleted from {live!r} since would be "
                   "live again")
    if override is None:
        raise RefusedError(f"rolling back {live!r} would undo more than the swap: {changed}; nothing was rolled back. "
                           f"Expected those changes made in {retired!r} too, or --override \"REASON\" to roll back "
                           "without them")
    return [f"{changed}; rolled back anyway (override: {override})"]


def rollback(conn: Conn, lock_conn: Conn, target: Target, live: str, override: str | None = None) -> SwapResult:
    """Undo the last swap of ``live`` in one transaction: the retired collection is live again (refused, unless
    ``override``, where live changed since the swap: rolling back would undo that too)."""
    _require_collections(target)
    bookkeeping.ensure(conn)
    record = _record(conn, target, live)
    if record is None:
        raise ConfigError(f"no swap of {live!r} to roll back; expected a swap --from NEW --to {live} whose old vectors are kept")
    em = target.profile.embeddings
    if pgai_swap.is_pgai(target):
        with _DestinationsLocked(lock_conn, target, [live, record["replaced_by"]]):
            with conn.transaction():
                conn.execute(f"SET LOCAL lock_timeout = {int(lock.LOCK_TIMEOUT_MS)}")
                chunks = pgai_swap.rename(conn, em.schema, [(live, record["replaced_by"]), (record["retired"], live)])
                _forget(conn, target, live)
        return SwapResult("rollback", live, record["replaced_by"], record["retired"], chunks, chunks)
    if library_swap.per_table(target):
        with _TablesLocked(lock_conn, target, [live, record["replaced_by"]]):
            with conn.transaction():
                conn.execute(f"SET LOCAL lock_timeout = {int(lock.LOCK_TIMEOUT_MS)}")
                chunks = library_swap.rename_tables(conn, target, [(live, record["replaced_by"]), (record["retired"], live)])
                _forget(conn, target, live)
        return SwapResult("rollback", live, record["replaced_by"], record["retired"], chunks, chunks)
    tenants = _views(conn, target)
    _require_empty(conn, target, record["replaced_by"], f"rollback moves {live!r}'s chunks back under that name", tenants)
    with _Locked(lock_conn, em.table, [live, record["replaced_by"]]):
        try:
            with conn.transaction():
                conn.execute(f"SET LOCAL lock_timeout = {int(lock.LOCK_TIMEOUT_MS)}")
                notes = _since_swap(conn, target, live, record, tenants, override)
                chunks, vectors = _relabel_views(conn, target, tenants,
                                                 [(live, record["replaced_by"]), (record["retired"], live)])
                conn.execute("DELETE FROM backfill_harness.swaps WHERE target = %s AND live = %s",
                             (bookkeeping.target_name(em.schema, em.table), live))
        except psycopg.errors.LockNotAvailable:
            raise lock.waited_too_long(conn, f"rolling back {live!r}", _tables(target)) from None
    return SwapResult("rollback", live, record["replaced_by"], record["retired"], chunks, vectors, notes=notes,
                      override=override if notes else None)


def drop_retired(conn: Conn, lock_conn: Conn, target: Target, live: str) -> SwapResult:
    """Delete the old vectors (and chunks) a swap of ``live`` kept; rollback is impossible afterwards."""
    _require_collections(target)
    bookkeeping.ensure(conn)
    record = _record(conn, target, live)
    if record is None:
        raise ConfigError(f"no retired collection kept for {live!r}; expected an earlier swap --from NEW --to {live}")
    em = target.profile.embeddings
    retired = record["retired"]
    if library_swap.per_table(target):
        return _drop_table(conn, lock_conn, target, live, retired)
    if pgai_swap.is_pgai(target):
        return _drop_destination(conn, lock_conn, target, live, retired)
    with _Locked(lock_conn, em.table, [live]):
        by = comparison(conn, target, record["replaced_by"])
        if by is None:
            raise RefusedError(
                f"{retired!r} cannot be compared with {live!r} ({record['replaced_by']!r} was not made by backfill "
                "--into and the profile names no chunks.sources), so nothing proves it holds no chunk "
                f"{live!r} lacks; nothing was deleted. Expected chunks.sources in the profile")
        tenants = _views(conn, target)
        missing, examples = 0, list[Offender]()
        for tenant in tenants:
            with rls.scope(conn, target.profile, tenant):
                more, shown = differences(conn, target, retired, live, by=by)
                missing, examples = missing + more, examples + shown
        if missing:
            raise RefusedError(
                f"{retired!r} holds {missing} chunks that {live!r} lacks (e.g. "
                + ", ".join(f"id={o.id}" for o in examples[:5])
                + f"); expected every retired chunk also in {live}, so nothing was deleted (swap --rollback --to {live} "
                "brings the old collection back)")
        if tenants != [None] and (hidden := rls.completeness(conn, target, retired, tenants)) is not None \
                and hidden.status == UNPROVEN:
            raise RefusedError(f"{retired!r} cannot be dropped whole: {hidden.note}; nothing was deleted")
        return _drop(conn, target, live, retired, tenants)


def _drop(conn: Conn, target: Target, live: str, retired: str, tenants: list[str | None]) -> SwapResult:
    em = target.profile.embeddings
    with conn.transaction():
        if library_swap.is_langchain(target):
            vectors = library_swap.drop(conn, target, retired)
            conn.execute("DELETE FROM backfill_harness.swaps WHERE target = %s AND live = %s",
                         (bookkeeping.target_name(em.schema, em.table), live))
            return SwapResult("drop-retired", live, None, retired, vectors, vectors)
        held = _in_views(conn, target, tenants, lambda: (rls.chunk_count(conn, target, retired), 0))[0]
        chunks, vectors = _in_views(conn, target, tenants, lambda: _delete(conn, target, retired))
        if chunks != held:  # a policy that lets a tenant read its rows but not delete them
            raise RefusedError(f"dropping {retired!r} deleted {chunks} chunks where {held} were counted in the views of "
                               f"tenants {', '.join(str(t) for t in tenants)} just before; nothing was deleted (rolled "
                               "back). Expected policies that let each tenant delete its own rows (or the table owner)")
        conn.execute("DELETE FROM backfill_harness.swaps WHERE target = %s AND live = %s",
                     (bookkeeping.target_name(em.schema, em.table), live))
    return SwapResult("drop-retired", live, None, retired, chunks, vectors)


def _delete(conn: Conn, target: Target, retired: str) -> tuple[int, int]:
    """Delete ``retired``'s vectors, then its chunks, in the current view: (chunks, vectors) deleted."""
    em = target.profile.embeddings
    if em.collection:
        vectors = conn.execute(sql.SQL("DELETE FROM {t} WHERE {col}::text = %s").format(
            t=target.embedding_table, col=sql.Identifier(em.collection)), (retired,)).rowcount
    else:
        vectors = conn.execute(sql.SQL("DELETE FROM {t} AS e USING {c} AS c WHERE e.{k} = {id} AND {w}").format(
            t=target.embedding_table, c=target.chunk_table, k=sql.Identifier(em.key), id=target.chunk_id,
            w=target.chunk_filter()), {"collection": retired}).rowcount
    chunks = conn.execute(sql.SQL("DELETE FROM {t} AS c WHERE {where}").format(
        t=target.chunk_table, where=target.chunk_filter()), {"collection": retired}).rowcount
    return chunks, vectors


# -- a collection per table (LlamaIndex): the swap renames tables ------------------------


class _TablesLocked:
    """The backfill locks of collections that are tables of their own (each run locks its own table and collection)."""

    def __init__(self, lock_conn: Conn, target: Target, collections: list[str]):
        self.locks = [_Locked(lock_conn, library_swap.for_collection(target.profile, c).embeddings.table, [c])
                      for c in collections]

    def __enter__(self) -> "_TablesLocked":
        for held in self.locks:
            held.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        for held in reversed(self.locks):
            held.__exit__(*exc)


def _forget(conn: Conn, target: Target, live: str) -> None:
    em = target.profile.embeddings
    conn.execute("DELETE FROM backfill_harness.swaps WHERE target = %s AND live = %s",
                 (bookkeeping.target_name(em.schema, em.table), live))


def _swap_tables(conn: Conn, lock_conn: Conn, target: Target, new: str, live: str, settings: Settings,
                 override: str | None = None) -> SwapResult:
    """Gate NEW's table (the DONE checks on it, and exactly the live rows), then rename LIVE's table to LIVE__retired
    and NEW's to LIVE's, in one transaction: the library reads the new vectors from its next query."""
    if new == live:
        raise ConfigError(f"--from {new!r} and --to {live!r} are the same collection; expected two different names")
    new_t, live_t = (Target(library_swap.for_collection(target.profile, c)) for c in (new, live))
    for name, t in ((new, new_t), (live, live_t)):
        require_collection(conn, t, name)
    retired = _retired_name(conn, target, live)
    with _TablesLocked(lock_conn, target, [live, new]):
        gate = _gate(settings, new_t, live_t, new, GATE)
        return _rename_gated(conn, target, gate, override, new_t, live_t, new, live, retired,
                             lambda: library_swap.rename_tables(conn, target, [(live, retired), (new, live)]))


def _rename_gated(conn: Conn, target: Target, gate: list[Outcome], override: str | None, new_t: Target, live_t: Target,
                  new: str, live: str, retired: str, rename: Callable[[], int], **compare: Any) -> SwapResult:
    """The swap of a store of its own per collection (a LlamaIndex table, a pgai destination) once gated: refused
    as ``refusal`` says, else, in one transaction, live compared with NEW again, both renamed and the swap recorded."""
    if (refused := refusal(gate, new, live, override, REMAKE)) is not None:
        raise RefusedError(refused)
    try:
        with conn.transaction():
            conn.execute(f"SET LOCAL lock_timeout = {int(lock.LOCK_TIMEOUT_MS)}")
            _table_still_matches(conn, new_t, live_t, new, live, **compare)
            chunks = rename()
            _note_swap(conn, target, live, retired, new)
    except psycopg.errors.LockNotAvailable:
        raise lock.waited_too_long(conn, f"swapping {new!r} into {live!r}",
                                   [_qualified(t.profile.chunks.schema, t.profile.chunks.table) for t in (live_t, new_t)]) from None
    return SwapResult("swap", live, new, retired, chunks, chunks, gate, override=override if not done(gate).ok else None)


def _note_swap(conn: Conn, target: Target, live: str, retired: str, new: str) -> None:
    """The swap as rollback and drop-retired read it: LIVE's old vectors kept as RETIRED, NEW in LIVE's place."""
    em = target.profile.embeddings
    conn.execute("INSERT INTO backfill_harness.swaps (target, live, retired, replaced_by) VALUES (%s, %s, %s, %s)",
                 (bookkeeping.target_name(em.schema, em.table), live, retired, new))


def _table_still_matches(conn: Conn, new_t: Target, live_t: Target, new: str, live: str, **compare: Any) -> None:
    """Inside the rename's transaction, as ``_still_matches`` for collections: live's table held against writers and
    compared with NEW's again, so a live edit made after the gate refuses the swap."""
    conn.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(live_t.chunk_table))
    outcome = library_swap.matches_live_table(conn, new_t, live_t, **compare)
    if outcome.status == FAIL:
        raise RefusedError(f"{live!r} changed after the gate compared it with {new!r}: {outcome.found}; nothing was "
                           "swapped" + REMAKE)


def _drop_table(conn: Conn, lock_conn: Conn, target: Target, live: str, retired: str) -> SwapResult:
    """Drop the retired table once it holds no row the live one lacks."""
    retired_t, live_t = (Target(library_swap.for_collection(target.profile, c)) for c in (retired, live))
    return _drop_checked(conn, _TablesLocked(lock_conn, target, [live]), target, retired_t, live_t, live, retired,
                         ("row", "table"), lambda: library_swap.drop_table(conn, target, retired))


def _drop_checked(conn: Conn, locked: "_TablesLocked", target: Target, retired_t: Target, live_t: Target, live: str,
                  retired: str, names: tuple[str, str], drop: Callable[[], int], report: str | None = None,
                  exclude: tuple[str, ...] = ()) -> SwapResult:
    """Drop a retired table of its own (``drop``) once it holds no ``names[0]`` the live one lacks, under ``locked``."""
    item, store = names
    with locked:
        outcome = library_swap.matches_live_table(conn, retired_t, live_t, only_extra=True, exclude=exclude,
                                                  report=report)
        if outcome.status == FAIL:
            raise RefusedError(f"{retired!r} holds {item}s that {live!r} lacks (e.g. "
                               + ", ".join(f"{report or 'id'}={o.id}" for o in outcome.offenders[:5])
                               + f"); expected every retired {item} also in {live}, so nothing was deleted "
                               f"(swap --rollback --to {live} brings the old {store} back)")
        with conn.transaction():
            rows = drop()
            _forget(conn, target, live)
    return SwapResult("drop-retired", live, None, retired, rows, rows)


# -- pgai: the swap renames vectorizer destinations --------------------------------------


class _DestinationsLocked(_TablesLocked):
    """The backfill locks of pgai destinations (each run locks its store table and the source's collection)."""

    def __init__(self, lock_conn: Conn, target: Target, destinations: list[str]):
        collection = cast(str, target.profile.chunks.collection_name)
        schema = target.profile.chunks.schema
        self.locks = [_Locked(lock_conn, pgai_swap.store_named(lock_conn, schema, d), [collection]) for d in destinations]


def _gate(settings: Settings, new_t: Target, live_t: Target, collection: str, names: tuple[str, ...],
          **compare: Any) -> list[Outcome]:
    """The DONE checks ``names`` on NEW's own table, and whether it holds exactly the live rows."""
    import dataclasses

    gate = _checks_on(dataclasses.replace(settings, profile=new_t.profile), collection, names)
    with psycopg.connect(cast(str, settings.database_url), autocommit=True, row_factory=psycopg.rows.dict_row) as conn:
        gate.append(library_swap.matches_live_table(conn, new_t, live_t, **compare))
    return gate


def _swap_destinations(conn: Conn, lock_conn: Conn, target: Target, new: str, live: str, settings: Settings,
                       override: str | None = None) -> SwapResult:
    """Gate NEW's store (the DONE checks, nothing pending in its queue, exactly the live chunks), then rename the
    destinations LIVE -> LIVE__retired and NEW -> LIVE in one transaction (views, stores, pgai's config, triggers)."""
    if new == live:
        raise ConfigError(f"--from {new!r} and --to {live!r} are the same destination; expected two different names")
    schema = target.profile.chunks.schema
    for d in (new, live):
        pgai_swap.vectorizer(conn, schema, view=d)
    new_t, live_t = (Target(pgai_swap.for_store(target.profile, pgai_swap.store_named(conn, schema, d))) for d in (new, live))
    retired = _retired_name(conn, target, live)
    collection = cast(str, target.profile.chunks.collection_name)
    key = cast(SourceTable, target.profile.source).key
    with _DestinationsLocked(lock_conn, target, [live, new]):
        gate = _gate(settings, new_t, live_t, collection, GATE + ("source_coverage",),
                     exclude=(target.profile.chunks.id,), report=key)
        return _rename_gated(conn, target, gate, override, new_t, live_t, new, live, retired,
                             lambda: pgai_swap.rename(conn, schema, [(live, retired), (new, live)]),
                             exclude=(target.profile.chunks.id,), report=key)


def _drop_destination(conn: Conn, lock_conn: Conn, target: Target, live: str, retired: str) -> SwapResult:
    """Drop the retired vectorizer and its destination once its store holds no chunk the live one lacks."""
    schema = target.profile.chunks.schema
    retired_t, live_t = (Target(pgai_swap.for_store(target.profile, pgai_swap.store_named(conn, schema, d)))
                         for d in (retired, live))
    key = cast(SourceTable, target.profile.source).key
    return _drop_checked(conn, _DestinationsLocked(lock_conn, target, [live]), target, retired_t, live_t, live,
                         retired, ("chunk", "destination"), lambda: pgai_swap.drop(conn, schema, retired), report=key,
                         exclude=(target.profile.chunks.id,))
