"""Chunks in no collection: ``chunks.collection`` NULL (an array NULL or empty, or a key of no ``collection_table`` row).

No collection's checks select them, nor scope or backfill: ``verify --collection all`` would say DONE over the rest
while they lack a vector. They are counted apart (``Target.in_no_collection``, in every tenant's view) and reported
UNPROVEN in numbers, until ``chunks.filter: {column: {not: null}}`` says they are outside the corpus on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from ..db import Conn
from ..profile import NotNull, Profile
from ..target import Target
from .outcome import UNPROVEN, Offender, Outcome

CHECK = "no_collection"
FIRST_KEYS = 10  # keys named in the message (the count says how many there are)


@dataclass(frozen=True)
class NoCollection:
    """How many chunks are in no collection, how many of them hold a vector, and the first keys."""

    chunks: int
    with_vector: int
    keys: tuple[Any, ...]
    where: str  # why they are in none, in the profile's terms
    remedy: str

    def line(self) -> str:
        """``4 chunks in no collection (chunks.collection is NULL), 0 of them with a vector``."""
        return (f"{self.chunks} {'chunk' if self.chunks == 1 else 'chunks'} in no collection ({self.where}), "
                f"{self.with_vector} of them with a vector")

    def note(self) -> str:
        keys = ", ".join(str(k) for k in self.keys)
        more = "" if len(self.keys) >= self.chunks else f" (of {self.chunks})"
        return f"{self.line()}: no check read them; first keys: {keys}{more}; {self.remedy}"


def where(profile: Profile) -> str:
    ch = profile.chunks
    if ch.collection_array:
        said = f"chunks.collection '{ch.collection}[]' is NULL or empty"
    elif ch.collection_join:
        said = f"no row of {ch.collection_join.table} holds their {ch.collection_join.chunk}"
    else:
        said = "chunks.collection is NULL"
    if ch.collection_table:
        said += f" or names no row of {ch.collection_table.table}"
    return said


def remedy(profile: Profile) -> str:
    """The one phrase naming how to leave them out of the corpus on purpose: the filter for a NULL collection (unless
    the profile has it); a key naming no ``collection_table`` row is not NULL, so no filter leaves it out."""
    ch = profile.chunks
    said = any(column == ch.collection and isinstance(value, NotNull) for column, value in ch.filter)
    parts = [] if said else [f"outside the corpus on purpose? say so with chunks.filter: {{{ch.collection}: {{not: null}}}}"]
    if ch.collection_table:
        table = ch.collection_table.table
        parts.append(f"a key naming no row of {table} stays in none whatever chunks.filter says: add the row to "
                     f"{table} or delete those chunks")
    return "; ".join(parts)


def _view(conn: Conn, target: Target) -> tuple[int, int, list[Any]]:
    """(chunks, with a vector, first keys) of the chunks in no collection this view shows."""
    em = target.profile.embeddings
    nowhere = sql.SQL("{} AND {}").format(target.chunk_filter(collection_param=False), target.in_no_collection())
    if target.inline:
        has = sql.SQL("{} IS NOT NULL").format(target.column_vector)
    else:
        # by key alone (the join's collection condition never matches a NULL collection), this target's rows only
        has = sql.SQL("EXISTS (SELECT 1 FROM {e} AS e WHERE {key} = {id} AND {v} IS NOT NULL)").format(
            e=target.embedding_rows, key=target.e(em.key), id=target.chunk_id, v=target.column_vector)
    row = conn.execute(sql.SQL("SELECT count(*) AS chunks, count(*) FILTER (WHERE {has}) AS with_vector "
                               "FROM {t} AS c WHERE {w}").format(has=has, t=target.chunk_table, w=nowhere)).fetchone()
    if not row or not row["chunks"]:
        return 0, 0, []
    keys = [r["key"] for r in conn.execute(sql.SQL("SELECT {id} AS key FROM {t} AS c WHERE {w} ORDER BY 1 LIMIT {n}").format(
        id=target.chunk_id, t=target.chunk_table, w=nowhere, n=sql.Literal(FIRST_KEYS))).fetchall()]
    return int(row["chunks"]), int(row["with_vector"]), keys


def measure(target: Target, views: Iterable[Conn]) -> NoCollection | None:
    """The chunks in no collection over every view (one connection per tenant's view), added up; None where none."""
    if not target.profile.chunks.collection:
        return None
    chunks = with_vector = 0
    keys: list[Any] = []
    for conn in views:
        n, v, first = _view(conn, target)
        chunks, with_vector, keys = chunks + n, with_vector + v, keys + first
    if not chunks:
        return None
    try:
        keys.sort()
    except TypeError:
        keys.sort(key=str)
    return NoCollection(chunks, with_vector, tuple(keys[:FIRST_KEYS]), where(target.profile), remedy(target.profile))


def no_collection(session: Any) -> Outcome | None:
    """UNPROVEN with the numbers where ``--collection all`` found chunks in no collection; None (no check) otherwise."""
    found: NoCollection | None = session.no_collection
    if found is None:
        return None
    return Outcome(CHECK, None, UNPROVEN, offenders=tuple(Offender(k, None, None, "in no collection") for k in found.keys),
                   offending_total=found.chunks, note=found.note(),
                   metrics={"chunks": found.chunks, "with_vector": found.with_vector,
                            "read": f"every chunk of {session.profile.chunks.table}: those in no collection counted"})
