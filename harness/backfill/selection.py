"""Which rows need embedding: missing, stale (hash differs from the current text), or from another model."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ContextManager, cast, overload

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
    read_at: Any = None  # when the text was read (the page's now()): the vector's time (``writer.stamp``)
    changed: Any = None  # the chunk's ``chunks.updated_at`` as read: the vector's time where it compares (``writer.stamp``)


class Page(Sequence[Row]):
    """A page of rows needing embedding, kept as the columns the query returned.

    The engine reads the columns (texts to embed, keys and hashes to write) without building an object per
    row; indexing still gives a ``Row`` (failures, splitting a rejected batch), and a slice is a ``Page``.
    ``read_at``: when the query read the texts (one time for the page); ``changed``: each chunk's time as read.
    """

    __slots__ = ("keys", "texts", "hashes", "collections", "tenants", "exists", "read_at", "changed")

    def __init__(self, keys: Sequence[Any], texts: Sequence[str], hashes: Sequence[str], collections: Sequence[str],
                 tenants: Sequence[Any], exists: Sequence[bool], read_at: Any = None, changed: Sequence[Any] | None = None):
        self.keys, self.texts, self.hashes = keys, texts, hashes
        self.collections, self.tenants, self.exists = collections, tenants, exists
        self.read_at = read_at
        self.changed = changed if changed is not None else [None] * len(keys)

    @classmethod
    def of(cls, rows: Sequence[tuple[Any, ...]] | Sequence[Row]) -> Page:
        """From tuples in ``Row``'s field order (what the selection query returns), or from ``Row``s."""
        if isinstance(rows, Page):
            return rows
        if rows and isinstance(rows[0], Row):
            rows = [(r.key, r.text, r.text_hash, r.collection, r.tenant, r.exists, r.read_at, r.changed)
                    for r in cast(Sequence[Row], rows)]
        columns = list(zip(*rows)) if rows else [()] * 6
        # Rows of several reads (none in practice: a batch is one page) are as old as the earliest.
        times = [t for t in columns[6] if t is not None] if len(columns) > 6 else []
        keys, texts, hashes, collections, tenants, exists = columns[:6]
        return cls(keys, texts, hashes, collections, tenants, exists, min(times) if times else None,
                   columns[7] if len(columns) > 7 else None)

    def __len__(self) -> int:
        return len(self.keys)

    @overload
    def __getitem__(self, index: int) -> Row: ...
    @overload
    def __getitem__(self, index: slice) -> Page: ...
    def __getitem__(self, index: int | slice) -> Row | Page:
        if isinstance(index, slice):
            return Page(self.keys[index], self.texts[index], self.hashes[index], self.collections[index],
                        self.tenants[index], self.exists[index], self.read_at, self.changed[index])
        return Row(self.keys[index], self.texts[index], self.hashes[index], self.collections[index],
                   self.tenants[index], self.exists[index], self.read_at, self.changed[index])

    def __iter__(self) -> Iterator[Row]:
        return (Row(k, text, h, c, tenant, e, self.read_at, at)
                for k, text, h, c, tenant, e, at in zip(self.keys, self.texts, self.hashes, self.collections,
                                                        self.tenants, self.exists, self.changed))


@dataclass(frozen=True)
class Needs:
    """What the counts measured that a run takes beside the profile's own rule: vectors of another dimension than
    ``dims`` (a column declared without one: ``state.dims_to_measure``), and, with ``twice``, the chunks holding a
    second embedding row (counted by the selecting query itself: ``Target.join(counted=True)``)."""

    dims: int | None = None
    twice: bool = False

    def params(self) -> dict[str, Any]:
        return {"dims": self.dims}


def measured_needs(dims: int | None, duplicates: bool) -> Needs:
    """``Needs`` as the counts measured them: ``dims`` (``state.dims_to_measure``), and the chunks holding a second
    row where they counted ``duplicates``."""
    return Needs(dims, twice=duplicates)


def wanted(target: Target, *, keys: bool = False, every: bool = False, needs: Needs = Needs()) -> sql.Composable:
    """The rows a run embeds: those that need a vector (``Target.needs_embedding``, with what ``needs`` adds); with
    ``keys`` exactly those whose key (compared as text) is in ``%(keys)s``; with ``every`` (``--all``) every row.
    Either way never a chunk without text (``Target.no_text``): a vector of '' matches nothing the row says."""
    if keys:
        return sql.SQL("({}::text = ANY(%(keys)s::text[]) AND NOT {})").format(target.chunk_id, target.no_text)
    if every:
        return sql.SQL("(NOT {})").format(target.no_text)
    return target.needs_embedding(dims=needs.dims is not None, twice=needs.twice)


def rows_of(target: Target, *, keys: bool = False, every: bool = False, needs: Needs = Needs()) -> sql.Composable:
    """The FROM clause ``wanted`` reads: ``Target.join``, each embedding row with its chunk's row count where the
    selection takes the chunks holding a second row."""
    return target.join(counted=_counted(needs, keys=keys, every=every))


def _counted(needs: Needs, *, keys: bool, every: bool) -> bool:
    """Whether the rows read carry their chunk's row count: only the profile's own rule (``wanted``) reads it."""
    return needs.twice and not keys and not every


def select_batch_sql(target: Target, *, keys: bool = False, every: bool = False, needs: Needs = Needs()) -> sql.Composed:
    """Keyset page of the rows a run embeds (``wanted``) after ``%(after)s`` (or from the start), in key order.

    ``read_at`` is the query's now(); ``changed`` the chunk's ``chunks.updated_at`` as read (where timestamps measure
    staleness; an infinite time is not carried): the vector's time (``writer.stamp``).
    ``%(lo)s`` (exclusive) and ``%(hi)s`` (inclusive) bound the page to a claimed key range; NULL means open.
    Listed keys (``keys``) and every row (``every``) are embedded even when they look current: a check flagged
    them, or something changed that no count can see (a task prefix, a model re-pulled under its name).
    """
    ch, em = target.profile.chunks, target.profile.embeddings
    tenant = sql.SQL("{}").format(target.c(ch.tenant)) if ch.tenant else sql.SQL("NULL")
    exists = sql.SQL("true") if target.inline else sql.SQL("{} IS NOT NULL").format(target.e(em.key))
    changed = (sql.SQL("CASE WHEN isfinite({t}) THEN {t} END").format(t=target.c(ch.updated_at))
               if target.changed_after_vector() is not None and ch.updated_at else sql.SQL("NULL"))
    # DISTINCT ON the key: an embedding table without a unique key may hold two rows of a chunk, and the join gave the
    # chunk once per row, so it was embedded and written once per row, keeping the duplicate it was to replace.
    return sql.SQL(
        "SELECT DISTINCT ON ({id}) {id} AS key, {text} AS text, {hash} AS text_hash, {coll} AS collection, {tenant} AS tenant, "
        "{exists} AS exists, now() AS read_at, {changed} AS changed "
        "FROM {join} WHERE {where} AND {needs} AND {page} "
        "ORDER BY {id} LIMIT %(limit)s"
    ).format(
        id=target.chunk_id, text=target.text, hash=target.text_hash, coll=target.collection_of_chunk(),
        tenant=tenant, exists=exists, changed=changed, join=_paged_join(target, counted=_counted(needs, keys=keys, every=every)),
        where=target.chunk_filter(), page=_page(target.chunk_id),
        needs=wanted(target, keys=keys, every=every, needs=needs),
    )


def _page(key: sql.Composable) -> sql.Composable:
    """The page's key bounds on ``key``: after the last page, inside the claimed range."""
    return sql.SQL("(%(start)s OR {k} > %(after)s) AND (%(lo_open)s OR {k} > %(lo)s) AND (%(hi_open)s OR {k} <= %(hi)s)"
                   ).format(k=key)


def _paged_join(target: Target, *, counted: bool = False) -> sql.Composable:
    """``target.join()`` with the page's key bounds repeated on the embedding side.

    Postgres does not carry an inequality across a join's equality, so without them the embeddings' index scan
    starts at the table's first key for every page: each page re-read every vector written before it
    (quadratic in the collection; issue #12). Inside the join's ON they change nothing (its keys equal the chunk's).
    """
    if target.inline:
        return target.join()
    em = target.profile.embeddings
    on = [sql.SQL("{} = {}").format(target.e(em.key), target.chunk_id), _page(target.e(em.key))]
    if (filed := target.filed_with_chunk()) is not None:
        on.append(filed)
    rows = target.embedding_rows_counted() if counted else target.embedding_rows
    return sql.SQL("{} AS c LEFT JOIN {} AS e ON {}").format(target.chunk_table, rows, sql.SQL(" AND ").join(on))


def iter_batches(
    conn: Conn, target: Target, collection: str, model: str, batch_size: int | Callable[[], int], limit: int | None = None,
    *, lo: Any = None, hi: Any = None, keys: tuple[str, ...] | None = None, every: bool = False,
    scope: Callable[[], ContextManager] | None = None, needs: Needs = Needs(),
) -> Iterator[Page]:
    """Yield pages of the rows a run embeds (``wanted``: those needing it, exactly the rows of ``keys``, or with
    ``every`` all of them), walking the chunk key once.

    ``batch_size``: rows per page, or a function read before each page (a size adapted to the provider's latency);
    ``scope``: a transaction (with row-level-security settings) each page is read in; ``needs``: what the counts
    measured beside the profile's rule.
    """
    page_size = batch_size if callable(batch_size) else (lambda: batch_size)
    query = select_batch_sql(target, keys=keys is not None, every=every, needs=needs)
    after: Any = None
    served = 0
    while limit is None or served < limit:
        size = max(1, page_size()) if limit is None else min(max(1, page_size()), limit - served)
        try:
            # Plain tuples, in Row's field order: the cheapest rows psycopg can build. Never prepared: a prepared
            # statement soon runs Postgres's generic plan, in which "(start OR key > after)" is no index bound, and
            # every page then scans both tables from their first key (issue #12: 0.2 s pages became 2.5-3 s
            # after 800,000 of 1,000,000 rows). Unprepared, each page is planned with its own bounds.
            with scope() if scope is not None else contextlib.nullcontext():
                rows = conn.cursor(row_factory=tuple_row).execute(
                    query,
                    {"collection": collection, "model": model, "start": after is None, "after": after, "limit": size,
                     "lo": lo, "hi": hi, "lo_open": lo is None, "hi_open": hi is None,
                     "keys": list(keys) if keys is not None else None, **needs.params()},
                    prepare=False,
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
        yield Page.of(rows)


def existing_keys(conn: Conn, target: Target, collection: str, keys: tuple[str, ...]) -> set[str]:
    """Which of ``keys`` (compared as text) are chunks of ``collection`` now, as this session sees them."""
    query = sql.SQL("SELECT {id}::text AS k FROM {t} AS c WHERE {w} AND {id}::text = ANY(%(keys)s::text[])").format(
        id=target.chunk_id, t=target.chunk_table, w=target.chunk_filter())
    rows = conn.cursor(row_factory=tuple_row).execute(query, {"collection": collection, "keys": list(keys)}).fetchall()
    return {r[0] for r in rows}


def read_keys(path: str, collection: str) -> tuple[str, ...]:
    """The chunk keys listed in ``path``, as text, in file order without repeats.

    Either JSON lines (``offenders.jsonl``: one object per offending row with ``key`` and ``collection``;
    rows of other collections are left out) or plain text, one key per line exactly as written (a text key 'a ' is
    not 'a'); a line of nothing but spaces is blank, a line starting with ``#`` a comment.
    """
    import json
    from pathlib import Path

    from ..errors import ConfigError

    try:
        # Only the line's end is removed (read_text makes \r\n and \r \n): splitlines() would also cut a key at a
        # form feed or a vertical tab.
        lines = Path(path).read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--keys-from {path!r} cannot be read ({exc}); expected a file of keys") from None
    keys: dict[str, None] = {}
    for number, line in enumerate(lines, start=1):
        bare = line.strip()
        if not bare or bare.startswith("#"):
            continue
        if bare.startswith("{"):
            try:
                item = json.loads(bare)
            except ValueError:
                raise ConfigError(f"--keys-from {path!r} line {number} is not valid JSON; expected an object "
                                  'such as {"check": ..., "key": ..., "collection": ...}') from None
            if not isinstance(item, dict) or "key" not in item:
                raise ConfigError(f"--keys-from {path!r} line {number} has no 'key'; expected one object per offending row")
            if item["key"] is None or item.get("table") or item.get("source_table") \
                    or item.get("collection") not in (None, collection):
                continue  # a finding that names no chunk (a spot query, a source row), or a row of another collection
            keys[str(item["key"])] = None
        else:
            keys[line] = None  # as written: a key's own spaces are part of it
    if not keys:
        raise ConfigError(f"--keys-from {path!r} lists no key of collection {collection!r}; expected at least one")
    return tuple(keys)


def findings_without_chunks(path: str, collection: str) -> list[str]:
    """The findings of ``collection`` in an offenders file that name no chunk (a source row without chunks, a spot
    query): nothing a re-embedding repairs, so ``--keys-from`` says them (``check: table key``) rather than drop them."""
    import json
    from pathlib import Path

    said = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            item = json.loads(line)
        except ValueError:
            continue  # read_keys refuses the file first
        if not isinstance(item, dict) or item.get("collection") not in (None, collection):
            continue
        if item.get("key") is None or item.get("table") or item.get("source_table"):
            where = item.get("source_table") or item.get("table")
            row = item.get("source_key", item.get("key"))
            said.append(f"{item.get('check', '?')}: {where} {row}" if where
                        else f"{item.get('check', '?')}: {item.get('reason') or row}")
    return list(dict.fromkeys(said))
