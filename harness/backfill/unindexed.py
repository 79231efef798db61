"""Keys a run finds rows by that no index leads: every batch then reads the whole table to find its own rows.

The selection pages through the chunks in the order of their key, and each batch replaces its embedding rows by
theirs; without an index on that key each page and each batch read the whole table, so a run grows with the square
of the collection (a foreign key with no index is common: Postgres indexes the referenced key, not the referencing
one). The run stays correct; scope and the run say so, with the statement that fixes it.
"""

from __future__ import annotations

from psycopg import sql

from .. import rls
from ..db import Conn, one
from ..introspect import TREE, leads_an_index
from ..target import Target, _qualified

LARGE = 10_000  # rows from which a read of the whole table a batch outweighs the batch's own work

# What the warning says of a table whose key no index leads (``introspect.leads_an_index``): its kind, the rows the
# catalog last counted in its tree (whatever the role may read: row-level security hides rows a scan still reads),
# whether the role may count them itself, and the table's name as Postgres quotes it.
_TABLE = TREE + (
    "SELECT k.relkind::text AS kind, "
    "(SELECT coalesce(sum(greatest(c.reltuples, 0)), 0) FROM tree JOIN pg_class c ON c.oid = tree.oid)::float8 AS rows, "
    "has_table_privilege(k.oid, 'SELECT') AS readable, "
    "format(%(ddl)s, n.nspname, k.relname, %(k)s::text) AS ddl "
    "FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace WHERE k.oid = to_regclass(%(t)s)")


def unindexed_keys(conn: Conn, target: Target, tenants: list[str | None]) -> list[str]:
    """One line per table the run finds rows in by a key no btree index leads (the chunks', the embeddings', and those
    of the tables placing a chunk in its collections), once it holds ``LARGE`` rows (as the catalog last counted them,
    or as counted in each tenant's view where the role may read them)."""
    ch, em = target.profile.chunks, target.profile.embeddings
    lookups = [(ch.schema, ch.table, ch.id, ch.collection, "the selection pages through them in its order"
                + ("; each batch writes its vectors by it" if target.inline else ""))]
    if not target.inline and em.key:
        lookups.append((em.schema, em.table, em.key, em.collection, "each batch finds the rows it replaces by it"))
    # The tables that place a chunk in its collections are read for each chunk the selection and the counts take.
    if (join := ch.collection_join) is not None:
        lookups.append((join.schema, join.table, join.key, ch.collection,
                        "chunks.collection_join: each chunk's collections are found by it"))
    if (named := ch.collection_table) is not None:
        lookups.append((named.schema, named.table, named.key, None,
                        "chunks.collection_table: each chunk's collection is named by it"))
    found = []
    for schema, table, key, collection, why in lookups:
        name = _qualified(schema, table)
        row = conn.execute(_TABLE, {"t": name, "k": key, "ddl": "%I.%I (%I)"}).fetchone()
        # A view or foreign table can have no index, and is no claim either way.
        if row is None or row["kind"] not in ("r", "p", "m") or leads_an_index(conn, schema, table, key, collection):
            continue
        rows = row["rows"]
        if rows < LARGE and row["readable"]:
            count = sql.SQL("SELECT count(*) AS n FROM (SELECT FROM {} LIMIT %s) AS r").format(sql.Identifier(schema, table))
            rows = max(rows, sum(rls.across(conn, target.profile, tenants,
                                            lambda q=count: one(conn.execute(q, (LARGE,)).fetchone())).values()))
        if rows >= LARGE:
            # Postgres builds no index on a partitioned table concurrently: there the statement locks writes meanwhile.
            create = "CREATE INDEX ON" if row["kind"] == "p" else "CREATE INDEX CONCURRENTLY ON"
            found.append(f"{table}.{key} leads no index: each batch of the run reads all {LARGE:,} or more rows of "
                         f"{table} ({why}), so the run grows with the square of the table; expected an index, e.g. "
                         f"{create} {row['ddl']}")
    return found
