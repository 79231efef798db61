"""Which rows need embedding: missing, stale (hash differs from the current text), or from another model."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from ..errors import ConfigError, DatabaseError
from ..introspect import require_names
from ..target import Target


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


@dataclass(frozen=True)
class Row:
    key: Any
    text: str
    text_hash: str
    collection: str
    tenant: Any
    exists: bool = True  # an embedding row for this key already exists (so the write must replace it)


def collection_state(conn: psycopg.Connection, target: Target, collection: str, model: str) -> CollectionState:
    """Count a collection's chunks and what they need, in one pass."""
    row = conn.execute(target.state_counts(), {"collection": collection, "model": model}).fetchone()
    return CollectionState(collection=collection, **row)


def list_collections(conn: psycopg.Connection, target: Target) -> dict[str, int]:
    """Every collection in the chunk table with its chunk count."""
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


def select_batch_sql(target: Target) -> sql.Composed:
    """Keyset page of rows needing embedding after ``%(after)s`` (or from the start), in key order.

    ``%(lo)s`` (exclusive) and ``%(hi)s`` (inclusive) bound the page to a claimed key range; NULL means open.
    """
    ch, em = target.profile.chunks, target.profile.embeddings
    tenant = sql.SQL("{}").format(target.c(ch.tenant)) if ch.tenant else sql.SQL("NULL")
    exists = sql.SQL("true") if target.inline else sql.SQL("{} IS NOT NULL").format(target.e(em.key))
    return sql.SQL(
        "SELECT {id} AS key, {text} AS text, {hash} AS text_hash, {coll} AS collection, {tenant} AS tenant, "
        "{exists} AS exists "
        "FROM {join} WHERE {where} AND {needs} AND (%(start)s OR {id} > %(after)s) "
        "AND (%(lo_open)s OR {id} > %(lo)s) AND (%(hi_open)s OR {id} <= %(hi)s) "
        "ORDER BY {id} LIMIT %(limit)s"
    ).format(
        id=target.chunk_id, text=target.text, hash=target.text_hash, coll=target.collection_of_chunk(),
        tenant=tenant, exists=exists, join=target.join(), where=target.chunk_filter(), needs=target.needs_embedding(),
    )


def iter_batches(
    conn: psycopg.Connection, target: Target, collection: str, model: str, batch_size: int, limit: int | None = None,
    *, lo: Any = None, hi: Any = None,
) -> Iterator[list[Row]]:
    """Yield pages of rows needing embedding, walking the chunk key once; resumable because it re-reads state."""
    query = select_batch_sql(target)
    after: Any = None
    served = 0
    while limit is None or served < limit:
        size = batch_size if limit is None else min(batch_size, limit - served)
        try:
            # Plain tuples, in Row's field order: the cheapest rows psycopg can build.
            rows = conn.cursor(row_factory=tuple_row).execute(
                query,
                {"collection": collection, "model": model, "start": after is None, "after": after, "limit": size,
                 "lo": lo, "hi": hi, "lo_open": lo is None, "hi_open": hi is None},
            ).fetchall()
        except psycopg.Error as exc:
            raise DatabaseError(f"selecting rows to embed failed: {str(exc).splitlines()[0]}") from exc
        finally:
            if not conn.autocommit and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.rollback()
        if not rows:
            return
        served += len(rows)
        after = rows[-1][0]
        yield [Row(*r) for r in rows]
