"""Which rows need embedding: missing, stale (hash differs from the current text), or from another model."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ContextManager

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

from ..db import Conn
from ..errors import DatabaseError
from ..target import Target


@dataclass(frozen=True)
class Row:
    key: Any
    text: str
    text_hash: str
    collection: str
    tenant: Any
    exists: bool = True  # an embedding row for this key already exists (so the write must replace it)


def select_batch_sql(target: Target, *, keys: bool = False) -> sql.Composed:
    """Keyset page of rows needing embedding after ``%(after)s`` (or from the start), in key order.

    ``%(lo)s`` (exclusive) and ``%(hi)s`` (inclusive) bound the page to a claimed key range; NULL means open.
    With ``keys`` the page holds exactly the rows whose key (compared as text) is in ``%(keys)s``, whatever
    their state: they were flagged by a check, so they are embedded again even when they look current.
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
        tenant=tenant, exists=exists, join=target.join(), where=target.chunk_filter(),
        needs=sql.SQL("{}::text = ANY(%(keys)s::text[])").format(target.chunk_id) if keys else target.needs_embedding(),
    )


def iter_batches(
    conn: Conn, target: Target, collection: str, model: str, batch_size: int, limit: int | None = None,
    *, lo: Any = None, hi: Any = None, keys: tuple[str, ...] | None = None,
    scope: Callable[[], ContextManager] | None = None,
) -> Iterator[list[Row]]:
    """Yield pages of rows needing embedding (or exactly the rows of ``keys``), walking the chunk key once.

    ``scope``: a transaction (with row-level-security settings) each page is read in.
    """
    query = select_batch_sql(target, keys=keys is not None)
    after: Any = None
    served = 0
    while limit is None or served < limit:
        size = batch_size if limit is None else min(batch_size, limit - served)
        try:
            # Plain tuples, in Row's field order: the cheapest rows psycopg can build.
            with scope() if scope is not None else contextlib.nullcontext():
                rows = conn.cursor(row_factory=tuple_row).execute(
                    query,
                    {"collection": collection, "model": model, "start": after is None, "after": after, "limit": size,
                     "lo": lo, "hi": hi, "lo_open": lo is None, "hi_open": hi is None,
                     "keys": list(keys) if keys is not None else None},
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


def existing_keys(conn: Conn, target: Target, collection: str, keys: tuple[str, ...]) -> set[str]:
    """Which of ``keys`` (compared as text) are chunks of ``collection`` now, as this session sees them."""
    query = sql.SQL("SELECT {id}::text AS k FROM {t} AS c WHERE {w} AND {id}::text = ANY(%(keys)s::text[])").format(
        id=target.chunk_id, t=target.chunk_table, w=target.chunk_filter())
    rows = conn.cursor(row_factory=tuple_row).execute(query, {"collection": collection, "keys": list(keys)}).fetchall()
    return {r[0] for r in rows}


def read_keys(path: str, collection: str) -> tuple[str, ...]:
    """The chunk keys listed in ``path``, as text, in file order without repeats.

    Either JSON lines (``offenders.jsonl``: one object per offending row with ``key`` and ``collection``;
    rows of other collections are left out) or plain text, one key per line.
    """
    import json
    from pathlib import Path

    from ..errors import ConfigError

    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--keys-from {path!r} cannot be read ({exc}); expected a file of keys") from None
    keys: dict[str, None] = {}
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            try:
                item = json.loads(line)
            except ValueError:
                raise ConfigError(f"--keys-from {path!r} line {number} is not valid JSON; expected an object "
                                  'such as {"check": ..., "key": ..., "collection": ...}') from None
            if not isinstance(item, dict) or "key" not in item:
                raise ConfigError(f"--keys-from {path!r} line {number} has no 'key'; expected one object per offending row")
            if item["key"] is None or item.get("collection") not in (None, collection):
                continue  # a finding that names no row (e.g. a spot query), or a row of another collection
            keys[str(item["key"])] = None
        else:
            keys[line] = None
    if not keys:
        raise ConfigError(f"--keys-from {path!r} lists no key of collection {collection!r}; expected at least one")
    return tuple(keys)
