"""Build large vector indexes after a bulk load instead of maintaining them row by row during it.

Only when the whole embedding table is empty at the start: its HNSW / IVFFlat indexes are
recorded (exact ``pg_indexes.indexdef``) in ``backfill_harness.deferred_indexes`` and dropped
in one transaction, then recreated from that record when the run ends. A run killed in
between leaves the record, and the next run recreates them.
"""

from __future__ import annotations

import logging

import psycopg
from psycopg import sql

from ..target import Target
from . import bookkeeping

log = logging.getLogger("harness.backfill")
_VECTOR_INDEX = r"USING (hnsw|ivfflat) "


def table_is_empty(conn: psycopg.Connection, target: Target) -> bool:
    return conn.execute(sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {}) AS empty").format(target.embedding_table)).fetchone()["empty"]


def defer(conn: psycopg.Connection, target: Target) -> list[str]:
    """Record and drop the embedding table's vector indexes; return their names."""
    em = target.profile.embeddings
    bookkeeping.ensure(conn)
    name = bookkeeping.target_name(em.schema, em.table)
    with conn.transaction():
        rows = conn.execute(
            "SELECT schemaname, indexname, indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s AND indexdef ~* %s",
            (em.schema, em.table, _VECTOR_INDEX),
        ).fetchall()
        for row in rows:
            conn.execute("INSERT INTO backfill_harness.deferred_indexes (target, name, definition) VALUES (%s, %s, %s) "
                         "ON CONFLICT (target, name) DO UPDATE SET definition = EXCLUDED.definition",
                         (name, row["indexname"], row["indexdef"]))
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(row["schemaname"], row["indexname"])))
    for row in rows:
        log.info("dropped vector index %s for the bulk load; it is rebuilt when the load ends", row["indexname"])
    return [r["indexname"] for r in rows]


def rebuild(conn: psycopg.Connection, target: Target) -> list[str]:
    """Recreate every index deferred for this target (from its recorded definition); return their names."""
    em = target.profile.embeddings
    exists = conn.execute("SELECT to_regclass('backfill_harness.deferred_indexes') IS NOT NULL AS ok").fetchone()["ok"]
    if not exists:
        return []
    name = bookkeeping.target_name(em.schema, em.table)
    rebuilt = []
    for row in conn.execute("SELECT name, definition FROM backfill_harness.deferred_indexes WHERE target = %s ORDER BY name",
                            (name,)).fetchall():
        with conn.transaction():
            present = conn.execute("SELECT 1 FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
                                   (em.schema, row["name"])).fetchone()
            if not present:
                conn.execute(row["definition"])  # the exact text pg_indexes gave when it was dropped
            conn.execute("DELETE FROM backfill_harness.deferred_indexes WHERE target = %s AND name = %s", (name, row["name"]))
        rebuilt.append(row["name"])
        log.info("rebuilt vector index %s after the load", row["name"])
    return rebuilt
