"""Where a collection stands, read from the database: the floor that the engine, the steps and the checks share.

What a collection holds (chunks, vectors, what needs embedding), which collections exist, and
which models made the stored vectors are facts of the target, not of any one step; keeping them
here lets ``backfill`` and ``checks`` both build on them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from .errors import ConfigError
from .introspect import require_names
from .target import Target

UNKNOWN_MODEL = "unknown"  # the model of a stored vector when the target keeps no model name


@dataclass(frozen=True)
class CollectionState:
    collection: str
    chunks: int
    embedded: int
    missing: int
    stale: int | None  # None when the target keeps no input hash
    other_model: int | None  # None when the target keeps no model name
    needed: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def collection_state(conn: psycopg.Connection, target: Target, collection: str, model: str) -> CollectionState:
    """Count a collection's chunks and what they need, in one pass (a missing table is a ConfigError naming its key)."""
    require_names(conn, target.profile)
    row = conn.execute(target.state_counts(), {"collection": collection, "model": model}).fetchone()
    return CollectionState(collection=collection, **row)


def list_collections(conn: psycopg.Connection, target: Target) -> dict[str, int]:
    """Every collection in the chunk table with its chunk count (a table or column the profile names but the
    database lacks is a ConfigError naming the profile key, not a database error)."""
    require_names(conn, target.profile)
    return {r["collection"]: r["chunks"] for r in conn.execute(target.collections()).fetchall()}


def require_collection(conn: psycopg.Connection, target: Target, collection: str) -> int:
    """Return the collection's chunk count; refuse a collection with no chunks instead of embedding nothing."""
    if not collection or any(ord(ch) < 32 for ch in collection):
        raise ConfigError(f"collection {collection!r} is not a valid name; expected printable text such as tenant_42")
    require_names(conn, target.profile)
    state = conn.execute(
        sql.SQL("SELECT count(*) AS n FROM {} AS c WHERE {}").format(target.chunk_table, target.chunk_filter()),
        {"collection": collection},
    ).fetchone()
    if state["n"] == 0:
        known = list_collections(conn, target)
        shown = ", ".join(sorted(known)[:10]) or "none"
        raise ConfigError(f"collection {collection!r} has no chunks in {target.profile.chunks.table}; known collections: {shown}")
    return int(state["n"])


def stored_models(conn: psycopg.Connection, target: Target, collection: str) -> dict[str, int]:
    """Vectors already stored for the collection, by model name (``UNKNOWN_MODEL`` where none is kept)."""
    em = target.profile.embeddings
    model = (sql.SQL("coalesce({}::text, {})").format(target.e(em.model), sql.Literal(UNKNOWN_MODEL)) if em.model
             else sql.Literal(UNKNOWN_MODEL))
    query = sql.SQL("SELECT {m} AS model, count(*) AS n FROM {j} WHERE {w} AND {v} IS NOT NULL GROUP BY 1").format(
        m=model, j=target.join(), w=target.chunk_filter(), v=target.vector)
    return {r["model"]: int(r["n"]) for r in conn.execute(query, {"collection": collection}).fetchall()}
