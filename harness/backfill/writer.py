"""Write one batch of vectors: binary COPY into a temporary staging table, then one statement into place.

The staging table is created from the target's own columns (``WITH NO DATA``)
so COPY's binary types always match. A batch lands whole or not at all. New rows go
straight into the table by binary COPY only where the catalog says COPY would do what an
INSERT does (no row-level security applying, no rules, a plain table, no profile defaults);
otherwise every batch goes through the staging table and ``INSERT ... SELECT``.
"""

from __future__ import annotations

import datetime as dt
import re
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import psycopg
from psycopg import sql

from .. import db as dbmod
from .. import hashing, sqlexpr
from ..db import Conn
from ..introspect import MICROSECOND, column_type, input_hash_type, time_digits, trigger_setting, unique_alone
from ..profile import json_field
from ..target import Target, _qualified

STAGE = "bh_stage"


@dataclass(frozen=True)
class WritePath:
    """How new rows reach the table, decided once per run from the catalog."""

    direct_copy: bool
    reason: str
    staging: bool = True  # False: no TEMP privilege, so batches go through INSERT ... SELECT FROM unnest(...)


def written_columns(target: Target) -> list[tuple[str, str]]:
    """(staging column, target column) pairs for what the engine stores; defaults from the profile come on top."""
    em, ch = target.profile.embeddings, target.profile.chunks
    cols = [("k", em.key), ("v", em.vector)]
    if em.input_hash:
        cols.append(("h", em.input_hash))
    if em.model and json_field(em.model)[1] is None:  # a key of a JSON column is set in place (profile_defaults)
        cols.append(("m", em.model))
    if em.dimensions:
        cols.append(("d", em.dimensions))
    if not target.inline:
        if em.collection and target.filed_under() is None:  # else read from the chunk's row as it is written
            cols.append(("coll", em.collection))
        if em.tenant:
            cols.append(("ten", em.tenant))
    if target.inline and ch.id != em.key:
        cols[0] = ("k", ch.id)
    return cols


def filled_columns(target: Target) -> set[str]:
    """Every column of the embedding table the engine writes itself: those it stages, the vector's time
    (``stamped``) and the chunk's own collection key (``Target.filed_under``)."""
    em = target.profile.embeddings
    return ({col for _, col in written_columns(target)} | {col for col in (stamped(target),) if col}
            | ({cast(str, em.collection)} if target.filed_under() is not None else set()))


def stamped(target: Target) -> str | None:
    """The vector's time column the engine writes (``embeddings.embedded_at``, else ``embeddings.updated_at``); None
    where the profile names none, gives it an expression in ``embeddings.defaults`` (the profile's is kept) or a value
    in ``embeddings.filter``, or where it is the chunk's own ``chunks.updated_at`` (one column of an inline table: the
    text's time, never the engine's to set)."""
    em, ch = target.profile.embeddings, target.profile.chunks
    column = em.written_at
    if column is None or column in em.defaults or column in {c for c, _ in em.filter} \
            or column in {c for _, c in written_columns(target)} or (target.inline and column == ch.updated_at):
        return None
    return column


def carried_time(conn: Conn, target: Target) -> str | None:
    """The type of the vector's time column (``stamped``) where ``chunks.updated_at`` has the same one, at least as
    precise, else the chunk's (a coarser vector time), so the chunk's time as read is staged whole and gives the
    vector's (``stamp``); None otherwise (no such column, two types that never compare, or a trigger of the table that
    sets the column on every write: ``introspect.trigger_setting``)."""
    column, ch, em = stamped(target), target.profile.chunks, target.profile.embeddings
    if column is None or ch.updated_at is None:
        return None
    if trigger_setting(conn, em.schema, em.table, column) is not None:
        # The table's own trigger replaces the time written there (now(): the write's), later than the now() of an
        # edit whose transaction began before the read: not the chunk's time as read, so the write-time check compares.
        if not conn.autocommit:
            conn.rollback()
        return None
    row = conn.execute(
        "SELECT CASE WHEN (CASE WHEN v.atttypmod < 0 THEN 6 ELSE v.atttypmod END) >= (CASE WHEN c.atttypmod < 0 "
        "THEN 6 ELSE c.atttypmod END) THEN format_type(v.atttypid, v.atttypmod) ELSE format_type(c.atttypid, "
        "c.atttypmod) END AS type, v.atttypid = c.atttypid AS same "
        "FROM pg_attribute v, pg_attribute c WHERE v.attrelid = to_regclass(%s) AND v.attname = %s "
        "AND c.attrelid = to_regclass(%s) AND c.attname = %s",
        (_qualified(em.schema, em.table), column, _qualified(ch.schema, ch.table), ch.updated_at)).fetchone()
    if not conn.autocommit:
        conn.rollback()
    return str(row["type"]) if row is not None and row["same"] else None


def vector_tick(conn: Conn, target: Target) -> int | None:
    """The tick of the vector's time column (``stamped``) where it is coarser than a microsecond (``timestamp(0)`` to
    ``timestamp(5)``: ``introspect.time_digits``), as its digits below the second; None otherwise. A time written there
    is rounded to it, half the time up: ahead of the read it stands for, so an edit later in that tick looked older than
    the vector (``stamp`` floors to it)."""
    column, em = stamped(target), target.profile.embeddings
    if column is None:
        return None
    # its own transaction, or a savepoint of the caller's (reuse asks it inside one): never a rollback
    with conn.transaction():
        digits = time_digits(conn, em.schema, em.table, column)
    return digits if digits < MICROSECOND else None


def key_slot(conn: Conn, target: Target) -> bool:
    """Beside one fixed ``chunks.collection_name``, whether the embedding key alone is unique (``unique_alone``): a row
    of the key filed under another name then holds the chunk's one slot and is replaced by its vector (kept, the write
    failed). Where the key is unique only with the collection, a row under another name is another collection's
    vector of the same key (a table two chunk tables share): replacing it deleted that collection's vectors."""
    em, ch = target.profile.embeddings, target.profile.chunks
    if target.inline or not em.collection or ch.collection:
        return False
    alone = unique_alone(conn, em.schema, em.table, em.key)
    if not conn.autocommit:
        conn.rollback()
    return alone


def referenced(conn: Conn, target: Target) -> bool:
    """Whether a foreign key of another table references the embedding table's rows: its stored rows are then
    replaced in place (``_apply_sql``), since deleting one deleted the application's rows that reference it (ON DELETE
    CASCADE), unlinked them (SET NULL) or failed the batch (RESTRICT). False inline (its vectors are updated)."""
    em = target.profile.embeddings
    if target.inline:
        return False
    # its own transaction, or a savepoint of the caller's (a worker's preparation asks it inside one): never a rollback
    with conn.transaction():
        row = conn.execute("SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE contype = 'f' AND confrelid = "
                           "to_regclass(%s)) AS found", (_qualified(em.schema, em.table),)).fetchone()
    return bool(row and row["found"])


# pg_trigger.tgtype's bits (pg_trigger.h)
_ROW, _BEFORE, _INSERT, _UPDATE, _INSTEAD = 1, 2, 4, 16, 64


@dataclass(frozen=True)
class Triggers:
    """What fires when a row of a table is written: its enabled triggers (name, ``tgtype``), whether it has rules, and
    its deferrable constraint triggers (as ``SET CONSTRAINTS`` names them), read in one catalog statement."""

    fired: tuple[tuple[str, int], ...] = ()
    rules: bool = False
    deferred: tuple[sql.Composable, ...] = ()

    def named(self, every: int, none: int = 0) -> list[str]:
        """The triggers whose type has every bit of ``every`` and none of ``none``."""
        return [name for name, kind in self.fired if kind & every == every and not kind & none]


def triggers(conn: Conn, target: Target) -> Triggers:
    """``Triggers`` of the table the vectors are written to (the chunk table for an inline column)."""
    table = target.profile.chunks if target.inline else target.profile.embeddings
    # its own transaction, or a savepoint of the caller's (the take-over reads it inside one): never a rollback
    with conn.transaction():
        row = conn.execute(
            "SELECT c.relhasrules AS rules, array(SELECT t.tgname::text || ':' || t.tgtype::int FROM pg_trigger t "
            "WHERE t.tgrelid = c.oid AND NOT t.tgisinternal AND t.tgenabled <> 'D' ORDER BY t.tgname) AS fired, "
            "array(SELECT ARRAY[n.nspname::text, k.conname::text] FROM pg_constraint k JOIN pg_namespace n "
            "ON n.oid = k.connamespace WHERE k.conrelid = c.oid AND k.contype = 't' AND k.condeferrable "
            "ORDER BY k.conname) AS deferred FROM pg_class c WHERE c.oid = to_regclass(%s)",
            (_qualified(table.schema, table.table),)).fetchone()
    if row is None:
        return Triggers()
    fired = tuple((name, int(kind)) for name, _, kind in (f.rpartition(":") for f in row["fired"]))
    return Triggers(fired, bool(row["rules"]), tuple(sql.Identifier(schema, name) for schema, name in row["deferred"]))


def rewritten_on_update(found: Triggers, target: Target) -> bool:
    """An inline chunk table with a row trigger that fires before UPDATE: it may set ``chunks.updated_at`` to the
    engine's now() (``stamp``); any other target: False."""
    return target.inline and bool(found.named(_ROW | _BEFORE | _UPDATE))


def changed_after_update(found: Triggers, target: Target) -> bool:
    """An inline chunk table with a trigger that fires after UPDATE (row or statement): it may write the row again
    after the engine's UPDATE, whose RETURNING shows the row before it; any other target: False."""
    return target.inline and bool(found.named(_UPDATE, none=_BEFORE | _INSTEAD))


def may_rewrite(found: Triggers) -> bool:
    """A trigger firing on INSERT or UPDATE, or a rule: a row written there may not hold the vector sent."""
    return found.rules or bool(found.named(_INSERT) or found.named(_UPDATE))


def _retimable(target: Target, carried: str | None, tick: int | None, chunk_time: str | None) -> bool:
    """Whether the writer gives a vector the time its batch's own write stamped on the chunk (``BatchWriter._retime``):
    the chunk's time carried whole (``carried_time``, ``vector_tick`` None) into a separate table, its text hashed whole."""
    return not target.inline and carried is not None and tick is None and chunk_time is not None \
        and not target.profile.embeddings.input_hash_of


def retimed_by(conn: Conn, target: Target) -> list[str]:
    """The embedding table's row triggers firing on INSERT or UPDATE that may stamp the chunk when its vector is
    written, where the writer then gives the vector that time with an UPDATE (``_retimable``): a PL/pgSQL or SQL function
    naming the chunk table, or one in a language whose source says nothing (C, but contrib's ``moddatetime``, which sets
    a column of its own row). [] elsewhere."""
    ch, em = target.profile.chunks, target.profile.embeddings
    carried = carried_time(conn, target)
    if target.inline or carried is None or ch.updated_at is None or em.input_hash_of:
        return []
    chunk_time = column_type(conn, ch.schema, ch.table, ch.updated_at)
    if not _retimable(target, carried, vector_tick(conn, target), chunk_time):
        return []
    with conn.transaction():
        rows = conn.execute(
            "SELECT t.tgname AS name, p.prosrc AS src, l.lanname AS lang, p.proname AS fn FROM pg_trigger t "
            "JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_language l ON l.oid = p.prolang WHERE t.tgrelid = "
            "to_regclass(%s) AND NOT t.tgisinternal AND t.tgenabled <> 'D' AND t.tgtype & 1 = 1 "
            "AND t.tgtype & (4 | 16) <> 0 ORDER BY t.tgname", (_qualified(em.schema, em.table),)).fetchall()
    named = re.compile(r"(?<![\w$])\"?" + re.escape(ch.table) + r"(?![\w$])", re.I)
    return [str(r["name"]) for r in rows
            if (r["lang"] in ("c", "internal") and r["fn"] != "moddatetime") or named.search(r["src"] or "")]


# The zone whose wall clock is behind every other's (UTC-12; POSIX signs are reversed): a time without a zone the engine
# stamps from its own clock is written as this zone shows it (``stamp``).
EARLIEST_ZONE = "Etc/GMT+12"


def stamp(target: Target, read_at: Any, carried: str | None = None, triggered: bool = True,
          tick: int | None = None) -> sql.Composable:
    """The vector's time: the chunk's ``chunks.updated_at`` as its text was read (``s.at``, staged where ``carried``
    names the type both columns share), else when the text was read (``read_at``, the selection's now(); unknown: the
    write's now()).

    Not the read's or the write's own time where the chunk's time compares: an edit by a transaction that began
    before the read, committed after it, carries that transaction's now(), earlier than the read (a vector stamped
    with the read's time was called fresh); and a time without a zone is written by the application in its own zone,
    which the engine's session need not share (stamped in Asia/Tokyo, edits in UTC looked 9 hours older than their
    vectors). Any later edit of the chunk gives it a later time than the one read, whatever the zones, so it stays
    stale by ``Target.changed_after_vector`` and the next run embeds it again. An inline row is the chunk's own: where
    the engine's UPDATE fires a trigger (``triggered``: ``rewritten_on_update``), which may set ``updated_at`` to now()
    (the write's), a row its UPDATE finds unchanged since the read (the row as the UPDATE sees it, after waiting for
    any concurrent write) is stamped with the write's now(), one edited since keeps the time read. ``tick``
    (``vector_tick``): the read's or write's time floored to the column's tick, never rounded up past an edit after
    it; the trigger's finer now() then ties with it in that tick, untimed (``Target.compared_digits``)."""
    def at_tick(time: sql.Composable) -> sql.Composable:
        # the write's now() too: rounded up, it stood ahead of an edit later in its tick, as the read's did
        return floored(time, tick) if tick is not None else time

    read_time = sql.SQL("{}::timestamptz").format(sql.Literal(read_at)) if read_at is not None else sql.SQL("now()")
    read = at_tick(read_time)
    changed = target.profile.chunks.updated_at
    if carried is not None:
        if not carried.endswith(" with time zone"):
            # A chunk without a time gets the read's: in a column without a zone (or a date) as the westernmost zone's
            # clock shows it, never ahead of the wall-clock time any application stamps its later edit with (in the
            # session's Asia/Tokyo, a UTC edit made after the run looked 9 hours older than its vector: fresh).
            read = sql.SQL("({} AT TIME ZONE {})").format(read, sql.Literal(EARLIEST_ZONE))
        read = sql.SQL("{}::{}").format(read, sql.SQL(carried))
        own: sql.Composable = sql.SQL("s.at")
        if tick is not None:
            # A vector time coarser than the chunk's cannot hold it: the start of the tick after the one it falls in,
            # so that the chunk's own time is before it (ordered), but never past the read's floored time, where an
            # edit after the read would look older than its vector. The read's time alone was later than the now() a
            # transaction begun before the read stamps its edit with, committed after it: the old text's vector was
            # called fresh. Nor before the chunk's own tick: a time without a zone is read as the westernmost zone's
            # clock shows it, hours before an application's, and a chunk written in those hours was stale right after
            # its run (there, its own tick's start: tied, untimed). Of one tick, the chunk's time is kept as it is.
            own = sql.SQL("CASE WHEN {coarser} THEN greatest({start}, least({start} + interval '1 microsecond' * {step}, "
                          "{r})) ELSE s.at END").format(coarser=target.vector_time_coarser(), start=floored(own, tick),
                                                  step=sql.Literal(10 ** (MICROSECOND - tick)), r=read)
        read = sql.SQL("coalesce({}, {})").format(own, read)
    if target.inline and changed and (triggered or carried is None):
        # Edited since the read's own time, not its tick's start: a row written earlier in that second is unchanged
        # (stamped with the floored read, its trigger's later now() was stale where the write fell in the next second).
        edited = (sql.SQL("{c} IS DISTINCT FROM s.at") if carried is not None else sql.SQL("{c} > {r}")).format(
            c=sql.Identifier("c", changed), r=read_time)
        # The trigger's now() is stored as the chunk's column rounds it; where the vector's time is the chunk's own
        # (``carried``, one tick) it is that same value, never the floor a second before a now() rounded up.
        written = at_tick(sql.SQL("now()"))
        if carried is not None:
            own_tick = sql.SQL("now()::{}").format(sql.SQL(carried))
            written = own_tick if tick is None else sql.SQL("CASE WHEN {} THEN {} ELSE {} END").format(
                target.vector_time_coarser(), written, own_tick)
        return sql.SQL("CASE WHEN {e} THEN {r} ELSE {w} END").format(e=edited, r=read, w=written)
    return read


def floored(value: sql.Composable, digits: int) -> sql.Composable:
    """SQL: a time floored to a tick of ``digits`` below the second, its type kept; an infinite one as it is. Whole
    seconds plus the microseconds below them cut to the tick: exact on any PostgreSQL (an epoch in float8 is not), and
    never rounded up as a coarse column rounds a time written into it."""
    return sql.SQL("CASE WHEN isfinite({v}) THEN date_trunc('second', {v}) + (mod(extract(microseconds FROM {v})::bigint, "
                   "1000000) / {step} * {step}) * interval '1 microsecond' ELSE {v} END").format(
        v=value, step=sql.Literal(10 ** (MICROSECOND - digits)))


def profile_defaults(target: Target, model: str, dims: int | None, collection: str) -> list[tuple[str, sql.Composable]]:
    """The profile's default expressions, placeholders bound as literals, for columns the engine does not write."""
    written = {col for _, col in written_columns(target)}
    values = {"dims": dims, "model": model, "collection": collection}
    out: list[tuple[str, sql.Composable]] = [(col, sqlexpr.compose(expr, values))
                                             for col, expr in target.profile.embeddings.defaults.items()
                                             if col not in written]
    # The rows of this target where the table keeps several models' side by side: written with the filter's values
    # (as YAML typed them: `model_id: 2` an integer).
    out += [(col, sql.Literal(value)) for col, value in target.profile.embeddings.filter if col not in written]
    column, key = json_field(target.profile.embeddings.model or "")
    if key is not None:
        # The model's name under its key, the rest of the application's JSON kept; a NULL stays NULL (an object of
        # one key is no config the application could read back).
        out.append((column, sql.SQL("jsonb_set({c}::jsonb, ARRAY[{k}], to_jsonb({m}::text))").format(
            c=sql.Identifier("c", column), k=sql.Literal(key), m=sql.Literal(model))))
    return out


def write_path(conn: Conn, target: Target) -> WritePath:
    """Binary COPY straight into the table, or ``INSERT ... SELECT`` from the staging table, and why."""
    em = target.profile.embeddings
    row = conn.execute(
        "SELECT c.relkind::text AS kind, c.relhasrules AS rules, row_security_active(c.oid) AS rls, "
        "has_database_privilege(current_database(), 'TEMP') AS temp "
        "FROM pg_class c WHERE c.oid = to_regclass(%s)", (_qualified(em.schema, em.table),)).fetchone()
    if not conn.autocommit:
        conn.rollback()
    if row is not None and not row["temp"]:
        return WritePath(False, "no TEMP privilege for a staging table: " + ("UPDATE" if target.inline else "INSERT")
                         + " ... SELECT FROM unnest(...) of each batch's arrays", staging=False)
    if row is not None and (unsent := unsendable(conn, target)):
        # Neither COPY (into the table or the staging table, made of its columns) can send such a column; arrays of
        # text cast to its type in the statement can.
        return WritePath(False, f"{', '.join(unsent)} of a type no binary COPY sends: "
                         + ("UPDATE" if target.inline else "INSERT") + " ... SELECT FROM unnest(...) of each batch's "
                         "arrays", staging=False)
    if target.inline:
        return WritePath(False, "inline vector column: UPDATE from the staging table")
    if row is None:
        return WritePath(False, "embedding table not found in the catalog")
    if row["rls"]:
        # COPY FROM is refused outright where row-level security applies to the role.
        return WritePath(False, "row-level security applies to this role (COPY FROM is refused): INSERT ... SELECT")
    if row["rules"]:
        return WritePath(False, "the table has rules, which COPY does not invoke: INSERT ... SELECT")
    if row["kind"] not in ("r", "p"):
        return WritePath(False, f"relkind {row['kind']!r} is not a plain table: INSERT ... SELECT")
    if em.defaults:
        return WritePath(False, f"embeddings.defaults fill {', '.join(em.defaults)}: INSERT ... SELECT with those expressions")
    if (column := stamped(target)) is not None:
        return WritePath(False, f"the engine writes {column} (its chunk's time, or when its text was read), which a COPY of the batch does "
                                "not carry: INSERT ... SELECT")
    if target.filed_under() is not None:
        return WritePath(False, f"{em.table}.{em.collection} holds its chunk's {target.profile.chunks.collection} "
                                "(a key of chunks.collection_table), read from the chunk: INSERT ... SELECT")
    if em.filter:
        return WritePath(False, f"embeddings.filter's rows ({', '.join(c for c, _ in em.filter)}): INSERT ... SELECT "
                                "writing those values, replacing only those rows")
    if on_insert := triggers(conn, target).named(_INSERT):
        # A COPY says only how many rows the table kept: a trigger writing another vector than the one sent (or
        # keeping none), before the row is stored or after (an AFTER trigger updating it), goes unseen there, while
        # the staging path compares each stored row with what was sent once the statement and its triggers are done.
        return WritePath(False, f"trigger {', '.join(on_insert)} fires on INSERT and may change the row: "
                                "INSERT ... SELECT, each stored vector compared with the one sent")
    return WritePath(True, "binary COPY into the table for new rows (constraints fire as for INSERT)")


@dataclass(frozen=True)
class Embedding:
    key: Any
    vector: np.ndarray
    text_hash: str
    collection: str
    tenant: Any
    exists: bool = True  # False when selection saw no embedding row for the key: a plain COPY may land it


class Vectors:
    """A batch of embeddings as columns (one float32 matrix, one list per column): what the engine writes,
    without an object per row. ``Vectors.of`` takes ``Embedding``s. ``read_at``: when their texts were read (the
    selection's ``Page.read_at``; None: not known, the write's own time is used); ``changed``: each chunk's time as
    read (``Page.changed``)."""

    __slots__ = ("keys", "vectors", "hashes", "collections", "tenants", "exists", "read_at", "changed")

    def __init__(self, keys: Sequence[Any], vectors: np.ndarray, hashes: Sequence[str | bytes], collections: Sequence[str],
                 tenants: Sequence[Any], exists: Sequence[bool], read_at: Any = None, changed: Sequence[Any] | None = None):
        self.keys, self.vectors, self.hashes = keys, vectors, hashes
        self.collections, self.tenants, self.exists = collections, tenants, exists
        self.read_at = read_at
        self.changed = changed if changed is not None else [None] * len(keys)

    @classmethod
    def of(cls, batch: Sequence[Embedding] | Vectors) -> Vectors:
        if isinstance(batch, Vectors):
            return batch
        return cls([e.key for e in batch], np.stack([e.vector for e in batch]) if batch else np.empty((0, 0), np.float32),
                   [e.text_hash for e in batch], [e.collection for e in batch], [e.tenant for e in batch],
                   [e.exists for e in batch])

    @classmethod
    def join(cls, parts: Sequence[Vectors]) -> Vectors:
        """One batch of several parts, in order (a batch split to isolate failing inputs comes back in parts)."""
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return cls([], np.empty((0, 0), np.float32), [], [], [], [])

        def chain(name: str) -> list[Any]:
            return [v for p in parts for v in getattr(p, name)]

        times = [p.read_at for p in parts if p.read_at is not None]
        return cls(chain("keys"), np.concatenate([p.vectors for p in parts]), chain("hashes"), chain("collections"),
                   chain("tenants"), chain("exists"), min(times) if times else None, chain("changed"))

    def __len__(self) -> int:
        return len(self.keys)

    def padded(self, width: int | None) -> Vectors:
        """The batch with each vector widened by zeros to ``width``, as an application that pads its vectors
        stores them (``embeddings.pad_to``); unchanged without one."""
        if width is None or self.vectors.shape[1] >= width:
            return self
        matrix = np.pad(self.vectors, ((0, 0), (0, width - self.vectors.shape[1])))
        return Vectors(self.keys, matrix, self.hashes, self.collections, self.tenants, self.exists, self.read_at,
                       self.changed)

    def pick(self, indices: Sequence[int]) -> Vectors:
        """The rows at ``indices``, in that order."""
        return Vectors([self.keys[i] for i in indices], self.vectors[list(indices)], [self.hashes[i] for i in indices],
                       [self.collections[i] for i in indices], [self.tenants[i] for i in indices],
                       [self.exists[i] for i in indices], self.read_at, [self.changed[i] for i in indices])

    def __getitem__(self, index: slice) -> Vectors:
        return Vectors(self.keys[index], self.vectors[index], self.hashes[index], self.collections[index],
                       self.tenants[index], self.exists[index], self.read_at, self.changed[index])

    def column(self, name: str, model: str, dims: int | None) -> Sequence[Any]:
        """The values of staging column ``name`` (see ``written_columns``)."""
        n = len(self.keys)
        return {"k": self.keys, "h": self.hashes, "coll": self.collections, "ten": self.tenants,
                "m": [model] * n, "d": [dims] * n, "at": self.changed}[name]


class _Discarded(Exception):
    """A direct COPY kept fewer rows than it sent (a trigger returned NULL, a rule did instead): rolled back."""


class _Edited(Exception):
    """Texts of the batch changed since they were read (``BatchWriter._edited``): the batch's write is rolled back."""

    def __init__(self, keys: list[Any]):
        super().__init__(f"{len(keys)} texts edited since they were read")
        self.keys = keys


class BatchWriter:
    """Owns one connection's staging table and writes batches through it."""

    def __init__(self, conn: Conn, target: Target, model: str, dims: int | None = None,
                 path: WritePath | None = None, guard: Callable[[Conn], None] | None = None, whole: bool = False):
        self.conn = conn
        # Fail-fast: a batch with a row the policies do not let this role update is rolled back, not written in part.
        self.whole = whole
        self.rolled_back = False  # the last batch was rolled back for such a row (its keys in ``not_updated``)
        self.guard = guard or (lambda conn: None)  # run first in every write transaction: proves the lock is still held
        self.target = target
        self.model = model
        self.dims = dims
        self._columns = written_columns(target)
        self._types: list[str] | None = None
        self._target_types: list[str] | None = None
        self._array_types: list[str] | None = None  # column types as written, for unnest's array casts
        self._hash_type: str | None = None  # the input hash column's type: a bytea column receives the digest's bytes
        self.direct_batches = 0
        self.not_updated: list[Any] = []  # keys of the last batch not written: its UPDATE did not change them, or its DELETE left their stored row (RLS)
        self.discarded: list[Any] = []  # keys of the last batch whose vector the table did not keep (a trigger or rule)
        self.edited: list[Any] = []  # keys of the last batch whose text changed between its read and its write
        # Where no input hash would show a vector stale, a text changed between its read and the write is compared at
        # the write: the old text's vector written onto it is what no count can see. Timestamps show it only of a chunk
        # read with a time (``stamp`` carries it): one without has none, its vector took the read's time, later than the
        # now() of an edit whose transaction began before the read, and the old text's vector was counted fresh (its
        # hash too, where ``input_hash_of`` leaves the edited field out). Such a chunk with a time at the write was
        # edited since the read.
        self._unguarded = target.profile.embeddings.input_hash is not None
        self._timed = target.changed_after_vector() is not None
        # Commits wait for their WAL flush as the server is configured (synchronous_commit is left alone): a batch
        # counted as written, and a closing count that says no row still needs a vector, survive a database crash.
        self.path = path or write_path(conn, target)
        # The chunk's time as read, staged as column "at" where it is the vector's (``carried_time``).
        self._carried = carried_time(conn, target)
        fired = triggers(conn, target)
        self._triggered = rewritten_on_update(fired, target)
        self._after_update = changed_after_update(fired, target)
        self._deferred = fired.deferred
        self._tick = vector_tick(conn, target)
        self._key_slot = key_slot(conn, target)
        self._in_place = referenced(conn, target)
        # the chunk's time column's own type: a time a trigger writes there now() is now() as that column keeps it
        # (``_retime``; Prisma's timestamp(3) rounds it to the millisecond)
        ch = target.profile.chunks
        self._chunk_time = (column_type(conn, ch.schema, ch.table, ch.updated_at)
                            if self._carried is not None and ch.updated_at and not target.inline else None)
        if not conn.autocommit:
            conn.rollback()
        self._staged = self._columns + ([("at", cast(str, stamped(target)))] if self._carried is not None else [])

    def tables(self) -> list[str]:
        """The tables a write locks (for naming who holds them when a write waits too long)."""
        em, ch = self.target.profile.embeddings, self.target.profile.chunks
        return [_qualified(ch.schema, ch.table) if self.target.inline else _qualified(em.schema, em.table)]

    def _ensure_stage(self) -> None:
        if self._types is not None:
            return
        alias = sql.Identifier("t")
        # The chunk's time as read is staged in its own type (``carried_time``): the vector's coarser column rounded it.
        select = sql.SQL(", ").join(
            sql.SQL("NULL::{} AS at").format(sql.SQL(cast(str, self._carried))) if stage_col == "at" else
            sql.SQL("{}.{} AS {}").format(alias, sql.Identifier(target_col), sql.Identifier(stage_col))
            for stage_col, target_col in self._staged
        )
        with self.conn.transaction():
            self.conn.execute(
                sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} AS SELECT {} FROM {} AS t WITH NO DATA").format(
                    sql.Identifier(STAGE), select, self.target.embedding_table
                )
            )
            staged = copy_types(self.conn, STAGE)
            # The planner needs the batch's row count, not its values' distribution: a sample of 300 rows gives it in
            # a millisecond (the default 30,000 took 39 ms for a batch of 20,000).
            self.conn.execute(sql.SQL("ALTER TABLE {} {}").format(sql.Identifier(STAGE), sql.SQL(", ").join(
                sql.SQL("ALTER COLUMN {} SET STATISTICS 1").format(sql.Identifier(c)) for c in self._analysed())))
        self._types = list(staged.values())

    def _analysed(self) -> list[str]:
        """The staging columns a batch's statements join on: the ones ``write`` analyses."""
        return [c for c, _ in self._staged if c in ("k", "coll")]

    def _begin(self, session: Mapping[str, str] | None) -> None:
        """First in every write transaction: the lock proven held, the table's deferred constraint triggers made to
        fire at the end of each statement (at the commit they would follow every comparison of the stored rows with
        what was sent: one rewriting the vector then left run ok on the trigger's vectors), the session settings."""
        self.guard(self.conn)
        if self._deferred:
            self.conn.execute(sql.SQL("SET CONSTRAINTS {} IMMEDIATE").format(sql.SQL(", ").join(self._deferred)))
        if session:
            dbmod.apply_session(self.conn, session)

    def write(self, batch: Sequence[Embedding] | Vectors, session: Mapping[str, str] | None = None) -> int:
        """Write every embedding of the batch in one transaction; return how many rows were written.

        ``session``: row-level-security settings (``set_config(..., true)``) that hold inside that transaction.
        """
        batch = Vectors.of(batch)
        self.not_updated = []  # this call's alone: an empty batch or a direct COPY never reports an earlier batch's keys
        self.discarded = []
        self.edited = []
        self.rolled_back = False
        if not len(batch):
            return 0
        batch = self._hashes_as_stored(batch.padded(self.target.profile.embeddings.pad_to))
        while True:
            try:
                return self._write_once(batch, session) if len(batch) else 0
            except _Edited as exc:
                # Written again without them: each keeps what it holds, and the next run embeds its text as it is.
                gone = {str(k) for k in exc.keys}
                self.edited += exc.keys
                self.not_updated, self.discarded = [], []  # of the attempt rolled back
                batch = batch.pick([i for i, k in enumerate(batch.keys) if str(k) not in gone])

    def _write_once(self, batch: Vectors, session: Mapping[str, str] | None) -> int:
        if self.path.direct_copy and not any(batch.exists):
            try:
                return self._copy_direct(batch, session)
            except psycopg.errors.UniqueViolation:
                pass  # someone wrote one of these keys since selection: replace through the staging table
            except _Discarded:
                pass  # the table kept fewer rows than the COPY sent: the statements below name the keys it lost
        if not self.path.staging:
            return self._write_unnest(batch, session)
        self._ensure_stage()
        names = [c for c, _ in self._staged]
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT BINARY)").format(
            sql.Identifier(STAGE), sql.SQL(", ").join(map(sql.Identifier, names)))
        with self.conn.transaction():
            self._begin(session)
            self.conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(STAGE)))
            self._copy(copy_sql, self._types, names, batch)
            # No autovacuum analyses a temporary table: the planner, guessing ten times the batch's rows from its
            # pages, hashed the whole embedding table three times a batch instead of probing its key index (#12: a
            # model switch quadratic in the table's size). Its key columns alone, sampled: about a millisecond a batch.
            self.conn.execute(sql.SQL("ANALYZE {} ({})").format(
                sql.Identifier(STAGE), sql.SQL(", ").join(map(sql.Identifier, self._analysed()))))
            for statement in self._apply_sql(batch.collections[0], read_at=batch.read_at):
                cur = self.conn.execute(statement)
            written = self._updated(batch, cur, sql.SQL("{} AS s").format(sql.Identifier(STAGE)))
            self._edited(batch)
        return 0 if self.rolled_back else written

    def _edited(self, batch: Vectors) -> None:
        """Last in the batch's transaction: raise ``_Edited`` naming the keys whose text now hashes otherwise than as
        read (the batch's hashes: ``Target.text_hash``, hex where no input hash column is written). An inline row
        is locked by the UPDATE that wrote it, so no edit lands before the commit; a chunk of another table could
        still be edited in the moment between this read and the commit. Where timestamps measure, a chunk whose
        (finite: ``selection``'s rule) time is not the one read was edited too; a chunk read with a time is compared
        only where that time is not the vector's (``_carried`` None: the profile's or the read's time stamps it, later
        than the now() of an edit whose transaction began before the read)."""
        self._retime(batch)
        if self._unguarded and not self._timed:
            return
        times = {str(k): at for k, at in zip(batch.keys, batch.changed)}
        keys = [k for k in batch.keys if not self._timed or times[str(k)] is None or self._carried is None]
        if not keys:
            return
        t = self.target
        # Not where the engine's own UPDATE of an inline row fires a trigger, which may have stamped it just now.
        by_time = self._timed and not self._triggered
        at = (sql.SQL("CASE WHEN isfinite({t}) THEN {t} END").format(t=t.c(cast(str, t.profile.chunks.updated_at)))
              if by_time else sql.SQL("NULL"))
        rows = self.conn.execute(sql.SQL(
            "SELECT {id} AS k, {h} AS h, {at} AS at FROM {c} AS c WHERE {w} AND {id} = ANY(%(keys)s)").format(
            id=t.chunk_id, h=sql.SQL("NULL") if self._unguarded else t.text_hash, at=at, c=t.chunk_table,
            w=t.chunk_filter()), {"keys": keys, "collection": batch.collections[0]}).fetchall()
        now: dict[str, set[str]] = {}
        for r in rows:
            key, digest, time_now = (r["k"], r["h"], r["at"]) if isinstance(r, dict) else r
            retimed = by_time and time_now != times[str(key)]
            now.setdefault(str(key), set()).add("retimed" if retimed else digest)
        read = {str(k): h for k, h in zip(batch.keys, batch.hashes)}
        # the hash as read is compared where no input hash column keeps it (``_unguarded``: the digest NULL here)
        edited = [k for k in keys if str(k) in now
                  and now[str(k)] != {None if self._unguarded else read[str(k)]}]
        if edited:
            raise _Edited(edited)

    def _retime(self, batch: Vectors) -> None:
        """Where the vector's time is its chunk's as read (``_carried``): a chunk whose time the batch's own write set
        (the embedding table's trigger marks its chunk: ``chunks.updated_at`` is now(), this transaction's) gets that
        time in its vector too; the earlier time carried left every vector stale right after its run. Only where its
        text is compared whole (no ``input_hash_of``) and the vector's time keeps the microsecond: one whose text
        changed since the read is no such chunk (``_Edited``). The trigger's update holds the chunk's row to the
        commit, so no edit lands in between."""
        t, ch = self.target, self.target.profile.chunks
        column = stamped(t)
        if not _retimable(t, self._carried, self._tick, self._chunk_time) or column is None:
            return
        rows = self.conn.execute(sql.SQL(
            "SELECT {id} AS k, {h} AS h FROM {c} AS c WHERE {w} AND {id} = ANY(%(keys)s) AND {at} = now()::{type}").format(
            id=t.chunk_id, h=t.text_hash, c=t.chunk_table, w=t.chunk_filter(), at=t.c(cast(str, ch.updated_at)),
            type=sql.SQL(cast(str, self._chunk_time))),
            {"keys": list(batch.keys), "collection": batch.collections[0]}).fetchall()
        if not rows:
            return
        read = {str(k): (h.hex() if isinstance(h, (bytes, bytearray, memoryview)) else h)
                for k, h in zip(batch.keys, batch.hashes)}
        edited = [r["k"] for r in rows if read.get(str(r["k"])) != r["h"]]
        if edited:
            raise _Edited(edited)
        self.conn.execute(sql.SQL("UPDATE {e} AS e SET {w} = c.{at} FROM {c} AS c WHERE {on} AND {id} = ANY(%(keys)s)"
                                  "{f}").format(
            e=t.embedding_table, w=sql.Identifier(column), at=sql.Identifier(cast(str, ch.updated_at)), c=t.chunk_table,
            on=t.join_on(), id=t.chunk_id,
            f=sql.SQL("").join(sql.SQL(" AND {}").format(f) for f in t.filter_rows("e"))),
            {"keys": [r["k"] for r in rows]})

    def _hashes_as_stored(self, batch: Vectors) -> Vectors:
        """The batch with its hex input hashes in the column's form (``hashing.as_stored``)."""
        column = self.target.profile.embeddings.input_hash
        if column is None:
            return batch
        if self._hash_type is None:
            with self.conn.transaction():
                self._hash_type = input_hash_type(self.conn, self.target.profile)
        if self._hash_type != "bytea":
            return batch
        return Vectors(batch.keys, batch.vectors, [hashing.as_stored(h, "bytea") for h in batch.hashes], batch.collections,
                       batch.tenants, batch.exists, batch.read_at, batch.changed)

    def _updated(self, batch: Vectors, cur: Any, source: sql.Composable, params: Any = None) -> int:
        """How many rows of the batch were written, as the table holds them. An UPDATE of an inline column changes
        only the rows the policies let this role update, a DELETE only those it lets it delete (a row it may read but
        not change is skipped silently): those keys are kept in ``not_updated``. A row a trigger or rule of the table
        dropped, stored without its vector or with another one is kept in ``discarded``: the table holds no vector
        of it, or not the one sent. With
        ``whole``, the transaction is rolled back instead (see ``rolled_back``)."""
        rows = [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in cur.fetchall()]
        returned = {str(r[0]) for r in rows}
        # Inline: the keys the UPDATE changed. A separate table: the keys whose stored row the DELETE left in place
        # (readable, not deletable); inserting beside it would give the chunk a second vector, so they are not.
        self.not_updated = [k for k in batch.keys if (str(k) not in returned) == self.target.inline]
        if self.target.inline:  # RETURNING says of each row as stored whether it holds the vector sent
            lost = {str(r[0]) for r in rows if not r[1]}
            if self._after_update:  # as it was before the table's AFTER triggers, which may have written it again
                lost |= returned & {str(r[0] if not isinstance(r, dict) else next(iter(r.values())))
                                    for r in self.conn.execute(self._lost_sql(source), params).fetchall()}
        else:
            lost = {str(r[0] if not isinstance(r, dict) else next(iter(r.values())))
                    for r in self.conn.execute(self._lost_sql(source), params).fetchall()} - returned
        self.discarded = [k for k in batch.keys if str(k) in lost]
        if self.whole and (self.not_updated or self.discarded):
            self.rolled_back = True
            raise psycopg.Rollback()  # leaves the transaction block, rolled back: nothing of the batch is written
        return len(batch) - len(self.not_updated) - len(self.discarded)

    def _lost_sql(self, source: sql.Composable) -> sql.Composed:
        """The keys of ``source`` the embedding table holds not the vector sent of after the batch's write: none (a
        trigger or rule dropped the row or cleared it), or another one (a trigger rewrote it, or kept the old one)."""
        if self.target.inline:
            return sql.SQL("SELECT s.k FROM {s} WHERE NOT EXISTS (SELECT 1 FROM {t} AS c WHERE c.{k} = s.k AND {held})"
                           ).format(s=source, t=self.target.chunk_table, k=sql.Identifier(self._columns[0][1]),
                                    held=self._held("c"))
        return sql.SQL("SELECT s.k FROM {s} WHERE NOT EXISTS (SELECT 1 FROM {t} AS e WHERE {match} AND {held})"
                       ).format(s=source, t=self.target.embedding_table, match=self._match(), held=self._held("e"))

    def _write_unnest(self, batch: Vectors, session: Mapping[str, str] | None) -> int:
        """The batch as one array per column, unnested into the same statements the staging table feeds."""
        if self._array_types is None:
            em = self.target.profile.embeddings
            table = (em.schema, em.table) if not self.target.inline else (self.target.profile.chunks.schema,
                                                                          self.target.profile.chunks.table)
            rows = self.conn.execute(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a "
                "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped", (_qualified(*table),)).fetchall()
            self.conn.rollback()
            by_name = {r["attname"]: r["type"] for r in rows}
            self._array_types = [by_name[col] for _, col in self._columns] + (
                [self._carried] if self._carried is not None else [])
        source = sql.SQL("unnest({}) AS s({})").format(
            sql.SQL(", ").join(sql.SQL("{}::{}[]").format(sql.Placeholder(st), sql.SQL(typ))
                               for (st, _), typ in zip(self._staged, self._array_types)),
            sql.SQL(", ").join(sql.Identifier(st) for st, _ in self._staged))
        params = {st: list(batch.vectors) if st == "v" else list(batch.column(st, self.model, self.dims))
                  for st, _ in self._staged}
        with self.conn.transaction():
            self._begin(session)
            for statement in self._apply_sql(batch.collections[0], source, batch.read_at):
                cur = self.conn.execute(statement, params)
            written = self._updated(batch, cur, source, params)
            self._edited(batch)
        return 0 if self.rolled_back else written

    def _copy_direct(self, batch: Vectors, session: Mapping[str, str] | None = None) -> int:
        """Rows with no embedding yet go straight into the table with one binary COPY (a bulk load's fast path)."""
        names = [c for c, _ in self._columns]
        if self._target_types is None:
            em = self.target.profile.embeddings
            by_name = copy_types(self.conn, _qualified(em.schema, em.table))
            self.conn.rollback()
            self._target_types = [by_name[col] for _, col in self._columns]
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT BINARY)").format(
            self.target.embedding_table, sql.SQL(", ").join(sql.Identifier(col) for _, col in self._columns)
        )
        with self.conn.transaction():
            self._begin(session)
            kept = self._copy(copy_sql, self._target_types, names, batch)
            if kept != len(batch):  # a trigger or rule dropped rows: written again below, naming the keys lost
                raise _Discarded
            self._edited(batch)
        self.direct_batches += 1
        return len(batch)

    def _copy(self, copy_sql: sql.Composed, types: list[str] | None, names: list[str], batch: Vectors) -> int:
        """One COPY of the batch, encoded by numpy a slice at a time (the server parses one slice while the next is
        encoded, and each slice's buffers are small enough to be reused), or, for a column type the encoder does
        not know, dumped row by row by psycopg. Returns the rows the table kept (COPY's own count)."""
        types = cast(list[str], types)  # both callers read the types first
        if not encodable(types, names):
            return self._copy_rows(copy_sql, types, names, batch)
        n = len(batch)
        cur = self.conn.cursor()
        with cur.copy(copy_sql) as copy:
            for start in range(0, n, _SLICE):
                copy.write(cast(bytes, binary_copy_data(types, names, batch[start:start + _SLICE], self.model, dims=self.dims,
                                                        header=start == 0, trailer=start + _SLICE >= n)))
        return cur.rowcount

    def _copy_rows(self, copy_sql: sql.Composed, types: list[str] | None, names: list[str], batch: Vectors) -> int:
        kind = next((t for t, n in zip(cast(list[str], types), names) if n == "v"), "vector")
        columns = [_as_pgvector(batch.vectors, kind) if n == "v" else batch.column(n, self.model, self.dims)
                   for n in names]
        cur = self.conn.cursor()
        with cur.copy(copy_sql) as copy:
            copy.set_types(cast(list[str], types))  # both callers read the types first
            for row in zip(*columns):
                copy.write_row(row)
        return cur.rowcount

    def _defaults(self, collection: str, read_at: Any = None) -> list[tuple[str, sql.Composable]]:
        """The profile's defaults and, where the engine writes it, the vector's time (``stamped``) and the chunk's
        own collection key (``Target.filed_under``)."""
        column, filed, em = stamped(self.target), self.target.filed_under(), self.target.profile.embeddings
        kept = [(col, expr) for col, expr in profile_defaults(self.target, self.model, self.dims, collection)
                if filed is None or col != em.collection]
        return kept + ([(column, stamp(self.target, read_at, self._carried, self._triggered, self._tick))] if column is not None
                       else []) + ([(cast(str, em.collection), filed)] if filed is not None else [])

    def _apply_sql(self, collection: str = "", source: sql.Composable | None = None,
                   read_at: Any = None) -> list[sql.Composed]:
        stage = source if source is not None else sql.SQL("{} AS s").format(sql.Identifier(STAGE))
        if self.target.inline:
            sets = sql.SQL(", ").join(
                [sql.SQL("{} = s.{}").format(sql.Identifier(col), sql.Identifier(st))
                 for st, col in self._columns if st != "k"]
                + [sql.SQL("{} = {}").format(sql.Identifier(col), expr) for col, expr in self._defaults(collection, read_at)]
            )
            own = self.target.in_own_collection("c", collection)
            # Each row as stored, after the table's BEFORE triggers: whether it holds the vector sent (``_updated``).
            return [sql.SQL("UPDATE {t} AS c SET {sets} FROM {s} WHERE c.{k} = s.k{own} "
                            "RETURNING c.{k}, {held}").format(
                t=self.target.chunk_table, sets=sets, s=stage, k=sql.Identifier(self._columns[0][1]),
                held=self._held("c"),
                own=sql.SQL("") if own is None else sql.SQL(" AND {}").format(own)
            )]
        # Delete-then-insert in one transaction works whatever unique constraint the table has (or lacks),
        # and removes duplicates a hand-written script may have left behind.
        match = self._match()
        defaults = self._defaults(collection, read_at)
        columns = sql.SQL(", ").join([sql.Identifier(col) for _, col in self._columns]
                                     + [sql.Identifier(col) for col, _ in defaults])
        picks = sql.SQL(", ").join([sql.SQL("s.{}").format(sql.Identifier(st)) for st, _ in self._columns]
                                   + [expr for _, expr in defaults])
        t = self.target.embedding_table
        # Rows the DELETE left (the policies let the role read them but not delete them) keep their vector and
        # are returned, never doubled; RETURNING on the table itself would need the role to read what it wrote.
        replace = [sql.SQL("DELETE FROM {t} AS e USING {s} WHERE {match}").format(t=t, s=stage, match=match)]
        left: sql.Composable = sql.SQL("SELECT k FROM kept")
        if self._in_place:
            # Rows other tables reference (``referenced``) keep their place: each stored row of the chunk takes the
            # vector (a second one stays, counted as a duplicate). One the policies let the role read but not update
            # keeps its old vector, and is returned as one the DELETE left.
            assigned: list[tuple[str, sql.Composable]] = [(col, sql.SQL("s.{}").format(sql.Identifier(st)))
                                                          for st, col in self._columns if st != "k"] + defaults
            replace = [sql.SQL("UPDATE {t} AS e SET ({cols}) = ROW({vals}) FROM {s} WHERE {match}").format(
                t=t, cols=sql.SQL(", ").join(sql.Identifier(c) for c, _ in assigned),
                vals=sql.SQL(", ").join(v for _, v in assigned), s=stage,
                match=match)]
            left = sql.SQL("SELECT s.k FROM {s} WHERE s.k IN (SELECT k FROM kept) AND NOT EXISTS (SELECT 1 FROM {t} AS e "
                           "WHERE {match} AND {held})").format(s=stage, t=t, match=match, held=self._held("e"))
        return replace + [
            sql.SQL("WITH kept AS (SELECT s.k FROM {s} WHERE EXISTS (SELECT 1 FROM {t} AS e WHERE {match})), "
                    "added AS (INSERT INTO {t} ({cols}) SELECT {picks} FROM {s} "
                    "WHERE NOT EXISTS (SELECT 1 FROM kept WHERE kept.k = s.k)) {left}").format(
                t=t, cols=columns, picks=picks, s=stage, match=match, left=left
            ),
        ]

    def _held(self, alias: str) -> sql.Composed:
        """SQL: the row ``alias`` of the table holds the vector staged as ``s.v`` (``Target.holds_sent``)."""
        return self.target.holds_sent(sql.SQL("{}.{}").format(sql.Identifier(alias),
                                                              sql.Identifier(self.target.profile.embeddings.vector)),
                                      sql.SQL("s.v"))

    def _match(self) -> sql.Composed:
        """An embedding row ``e`` of the staged row ``s``: its key, its collection, this target's rows alone."""
        em = self.target.profile.embeddings
        match: list[sql.Composable] = [sql.SQL("e.{} = s.k").format(sql.Identifier(em.key))]
        filed = self.target.filed_under()
        if filed is not None:
            match.append(sql.SQL("e.{} = {}").format(sql.Identifier(cast(str, em.collection)), filed))
        elif em.collection and not self._key_slot:
            match.append(sql.SQL("e.{}::text = s.coll::text").format(sql.Identifier(em.collection)))
        # Only this target's rows are replaced: another model's vector of the same chunk, beside it, stays.
        match += self.target.filter_rows("e")
        return sql.SQL(" AND ").join(match)


_INT = {"int8": ">q", "int4": ">i", "int2": ">h"}
_TEXT = {"text", "varchar", "bpchar", "name"}
# The chunk's time as read (staging column "at"): microseconds (days for a date) since 2000-01-01, as Postgres sends it.
_TIME = {"timestamptz": ">q", "timestamp": ">q", "date": ">i"}
_MILLENNIUM = {"timestamptz": dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc), "timestamp": dt.datetime(2000, 1, 1)}
# Rows per COPY message (about 3 MB at 384 dimensions): big enough that numpy's per-call cost vanishes, small
# enough that the allocator reuses its buffers instead of mapping fresh pages for every batch.
_SLICE = 2048
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)


# pgvector's binary element per vector type: vector holds float4, halfvec float2 (both after an int16 dimension and
# an unused int16).
_ELEMENT = {"vector": ">f4", "halfvec": ">f2"}


def copy_types(conn: Conn, table: str) -> dict[str, str]:
    """Each column of ``table`` (a regclass literal) in order, with the type a binary COPY sends it as: its own, an
    enum's as text (its binary form is its label's), a domain's as its base type's (psycopg knows neither an
    application's enum nor its domain, and a batch stopped at "couldn't find the type in the types registry")."""
    rows = conn.execute(
        "SELECT a.attname, CASE t.typtype WHEN 'e' THEN 'text' WHEN 'd' THEN b.typname ELSE t.typname END AS typname "
        "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_type b ON b.oid = t.typbasetype "
        "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum", (table,)).fetchall()
    return {r["attname"]: r["typname"] for r in rows}


# Staged columns whose values are the run's own strings (the collection's name, the model's), whatever the column's
# type: only a text column takes a str through a binary COPY (psycopg's uuid dumper wants a UUID).
_NAMED = {"coll", "m"}


def unsendable(conn: Conn, target: Target) -> list[str]:
    """The columns the engine stages (``written_columns``) whose type (``copy_types``) neither ``binary_copy_data``
    encodes nor psycopg knows a binary form of (an extension's: citext, ltree), or that hold the run's own strings in
    a column of another type (a uuid collection id, ``_NAMED``), each as ``column (type)``."""
    em, ch = target.profile.embeddings, target.profile.chunks
    table = (ch.schema, ch.table) if target.inline else (em.schema, em.table)
    types = copy_types(conn, _qualified(*table))
    if not conn.autocommit:
        conn.rollback()
    return [f"{col} ({types[col]})" for st, col in written_columns(target) if col in types
            and not encodable([types[col]], [st])
            and (conn.adapters.types.get(types[col]) is None or (st in _NAMED and types[col] not in _TEXT))]


def encodable(types: Sequence[str], names: Sequence[str]) -> bool:
    """Whether ``binary_copy_data`` can encode these columns (integers, text, the vector or halfvec, the chunk's time)."""
    return all(t in _INT or t in _TEXT or (t in _ELEMENT and n == "v") or (t in _TIME and n == "at")
               for t, n in zip(types, names))


def _time_value(typ: str, value: Any) -> int:
    """A time as COPY BINARY carries it (``_TIME``)."""
    if typ == "date":
        return (value - dt.date(2000, 1, 1)).days
    return (value - _MILLENNIUM[typ]) // dt.timedelta(microseconds=1)


def _element(types: Sequence[str], names: Sequence[str]) -> str:
    return next(_ELEMENT[t] for t, n in zip(types, names) if n == "v")


def binary_copy_data(types: Sequence[str], names: Sequence[str], batch: Sequence[Embedding] | Vectors, model: str, *,
                     header: bool = True, trailer: bool = True, dims: int | None = None) -> bytes | None:
    """The whole COPY BINARY stream for a batch, built at once (vectors through one numpy conversion).

    None when a column has a type this encoder does not know; the caller then lets psycopg dump row by row.
    """
    if not encodable(types, names):
        return None
    batch = Vectors.of(batch)
    columns = {name: batch.column(name, model, dims) for name in names if name != "v"}
    fixed = _fixed_width_rows(names, types, columns, batch.vectors)
    head, tail = (_SIGNATURE if header else b""), (struct.pack(">h", -1) if trailer else b"")
    if fixed is not None:
        return b"".join((head, fixed.data, tail))
    element = _element(types, names)
    matrix = np.asarray(batch.vectors).astype(element, copy=False)
    dims = matrix.shape[1]
    vector_head = struct.pack(">ihh", 4 + matrix.dtype.itemsize * dims, dims, 0)
    count = struct.pack(">h", len(names))
    null = struct.pack(">i", -1)
    parts = [head]
    for i in range(len(batch)):
        parts.append(count)
        for name, typ in zip(names, types):
            if name == "v":
                parts.append(vector_head)
                parts.append(matrix[i].tobytes())
                continue
            value = columns[name][i]
            if value is None:
                parts.append(null)
            elif typ in _INT:
                parts.append(struct.pack(">i" + _INT[typ][1], struct.calcsize(_INT[typ]), int(value)))
            elif typ in _TIME:
                parts.append(struct.pack(">i" + _TIME[typ][1], struct.calcsize(_TIME[typ]), _time_value(typ, value)))
            else:
                parts.append(_text_field(str(value)))
    parts.append(tail)
    return b"".join(parts)


def _fixed_width_rows(names, types, columns, matrix: np.ndarray) -> np.ndarray | None:
    """When every text column of the batch has one byte length (hashes, one collection, one tenant), lay the
    rows out as one numpy record array: the common bulk-load case, encoded without a Python loop per row."""
    n, dims = matrix.shape
    fields: list[tuple[Any, ...]] = [("count", ">i2")]
    values: dict[str, Any] = {"count": len(names)}
    for name, typ in zip(names, types):
        if name == "v":
            element = _ELEMENT[typ]
            fields += [("v_len", ">i4"), ("v_dim", ">i2"), ("v_unused", ">i2"), ("v", element, (dims,))]
            values.update(v_len=4 + np.dtype(element).itemsize * dims, v_dim=dims, v_unused=0, v=matrix)
            continue
        column = columns[name]
        if typ in _TIME:
            if None in column:
                return None
            fields += [(name + "_len", ">i4"), (name, _TIME[typ])]
            values.update({name + "_len": struct.calcsize(_TIME[typ]),
                           name: np.asarray([_time_value(typ, v) for v in column], dtype=np.int64)})
            continue
        if typ in _INT:
            if None in column:
                return None
            fields += [(name + "_len", ">i4"), (name, _INT[typ])]
            values.update({name + "_len": struct.calcsize(_INT[typ]), name: np.asarray(column, dtype=np.int64)})
            continue
        encoded = _same_width(column)
        if encoded is None:
            return None
        width, data = encoded
        if width < 0:  # every value NULL
            fields.append((name + "_len", ">i4"))
            values[name + "_len"] = -1
            continue
        fields += [(name + "_len", ">i4"), (name, f"S{width}")] if width else [(name + "_len", ">i4")]
        values[name + "_len"] = width
        if width:
            values[name] = data
    rows = np.empty(n, dtype=np.dtype(fields))  # packed: numpy adds no padding without align=True
    for key, value in values.items():
        rows[key] = value  # the vectors are converted to big-endian float4 in this one copy
    return rows.view(np.uint8)


def _same_width(column: Sequence[Any]) -> tuple[int, Any] | None:
    """(byte width, values as bytes) when every value of a text column has the same UTF-8 length; (-1, None) when
    all are NULL; None otherwise. One value repeated (a model, a collection) is encoded once."""
    distinct = set(column) if len(column) else {None}
    if distinct == {None}:
        return -1, None
    if None in distinct:
        return None
    if len(distinct) == 1:
        value = str(next(iter(distinct))).encode("utf-8")
        return len(value), value
    try:
        # ASCII (hex digests): numpy encodes in C; its fixed width pads shorter values, which the lengths show.
        data = np.array([str(v) for v in column] if not isinstance(next(iter(distinct)), str) else column, dtype=bytes)
        lengths = np.char.str_len(data)
    except UnicodeEncodeError:
        encoded = [str(v).encode("utf-8") for v in column]
        widths = {len(e) for e in encoded}
        return (widths.pop(), np.array(encoded, dtype=bytes)) if len(widths) == 1 else None
    width = int(data.dtype.itemsize)
    return (width, data) if lengths.size and int(lengths.min()) == width else None


def _as_pgvector(vectors: Any, kind: str) -> Any:
    """The vectors as pgvector-python's dumper of ``kind`` takes them: from 0.4 on, the halfvec and sparsevec
    dumpers call the value's own ``to_binary()`` (a HalfVector, a SparseVector); 0.3's took arrays as they are."""
    import pgvector

    wrap = {"halfvec": getattr(pgvector, "HalfVector", None), "sparsevec": getattr(pgvector, "SparseVector", None)}.get(kind)
    return vectors if wrap is None else [wrap(np.asarray(v, dtype=np.float32)) for v in vectors]


def _text_field(value: str) -> bytes:
    data = value.encode("utf-8")
    return struct.pack(">i", len(data)) + data
