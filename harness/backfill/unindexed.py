"""Keys a run finds rows by that no index leads: every batch then reads the whole table to find its own rows.

The selection pages through the chunks in the order of their key, and each batch replaces its embedding rows by
theirs; without an index on that key each page and each batch read the whole table, so a run grows with the square
of the collection (a foreign key with no index is common: Postgres indexes the referenced key, not the referencing
one). The run stays correct; scope and the run say so, with the statement that fixes it.
"""

from __future__ import annotations

import re

from psycopg import sql

from ..db import Conn, one
from ..target import Target, _qualified

LARGE = 10_000  # rows from which a read of the whole table a batch outweighs the batch's own work


def unindexed_keys(conn: Conn, target: Target) -> list[str]:
    """One line per table the run finds rows in by a key no btree index leads, once it holds ``LARGE`` rows."""
    ch, em = target.profile.chunks, target.profile.embeddings
    lookups = [(ch.schema, ch.table, ch.id, ch.collection, "the selection pages through them in its order"
                + ("; each batch writes its vectors by it" if target.inline else ""))]
    if not target.inline and em.key:
        lookups.append((em.schema, em.table, em.key, em.collection, "each batch finds the rows it replaces by it"))
    found = []
    for schema, table, key, collection, why in lookups:
        if _indexed(conn, schema, table, key, collection):
            continue
        rows = one(conn.execute(sql.SQL("SELECT count(*) AS n FROM (SELECT FROM {} LIMIT %s) AS r").format(
            sql.Identifier(schema, table)), (LARGE,)).fetchone())["n"]
        if rows >= LARGE:
            found.append(f"{table}.{key} leads no index: each batch of the run reads all {LARGE:,} or more rows of "
                         f"{table} ({why}), so the run grows with the square of the table; expected an index, e.g. "
                         f"CREATE INDEX CONCURRENTLY ON {_shown(schema)}.{_shown(table)} ({_shown(key)})")
    return found


def _indexed(conn: Conn, schema: str, table: str, key: str, collection: str | None) -> bool:
    """Whether a valid whole btree index leads with ``key``, or with the collection column and then ``key`` (the
    lookups fix both where the chunks are keyed within their collection)."""
    row = one(conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class r ON r.oid = i.indexrelid JOIN pg_am m ON m.oid = r.relam "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
        "LEFT JOIN pg_attribute b ON b.attrelid = i.indrelid AND b.attnum = i.indkey[1] "
        "WHERE i.indrelid = to_regclass(%(t)s) AND i.indisvalid AND i.indpred IS NULL AND m.amname = 'btree' "
        "AND (a.attname = %(k)s OR (a.attname = %(c)s AND b.attname = %(k)s))) AS found",
        {"t": _qualified(schema, table), "k": key, "c": collection}).fetchone())
    return bool(row["found"])


def _shown(name: str) -> str:
    """An identifier as one would type it: bare where Postgres reads it unchanged, else quoted."""
    return name if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) else '"' + name.replace('"', '""') + '"'
