"""Build large vector indexes after a bulk load instead of maintaining them row by row during it.

Only when the whole embedding table is empty at the start, and only when the rebuild is sure to be
possible: the role owns the table, may create in its schema (and tablespace), and may keep the
record. The indexes' exact definitions (``pg_get_indexdef``, with their options, plus their tablespace)
are recorded in ``backfill_harness.deferred_indexes`` and the indexes dropped in one transaction; they
are rebuilt from that record when the run ends, in a session of their own with no statement timeout.
A rebuild that fails anyway fails the run naming the missing index; the next run, or
``backfill-harness indexes restore``, rebuilds it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from .. import db as dbmod
from ..db import Conn, one
from ..errors import HarnessError
from ..target import Target, _qualified
from . import bookkeeping, lock

log = logging.getLogger("harness.backfill")
_VECTOR_INDEX = r"USING (hnsw|ivfflat) "


def table_is_empty(conn: Conn, target: Target) -> bool:
    return one(conn.execute(sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {}) AS empty").format(target.embedding_table)).fetchone())["empty"]


def _vector_indexes(conn: Conn, target: Target) -> list[dict]:
    em = target.profile.embeddings
    return conn.execute(
        "SELECT n.nspname AS schemaname, i.relname AS indexname, pg_get_indexdef(i.oid) AS indexdef, "
        "t.spcname AS tablespace FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_namespace n ON n.oid = i.relnamespace LEFT JOIN pg_tablespace t ON t.oid = i.reltablespace "
        "WHERE x.indrelid = to_regclass(%s) AND pg_get_indexdef(i.oid) ~* %s ORDER BY i.relname",
        (_qualified(em.schema, em.table), _VECTOR_INDEX),
    ).fetchall()


def why_not_defer(conn: Conn, target: Target) -> str | None:
    """None when dropping and rebuilding the vector indexes is sure to be possible; else why not (for the log)."""
    em = target.profile.embeddings
    row = conn.execute(
        "SELECT pg_has_role(c.relowner, 'USAGE') AS owner, has_schema_privilege(c.relnamespace, 'CREATE') AS create_ok, "
        "has_database_privilege(current_database(), 'CREATE') AS db_create "
        "FROM pg_class c WHERE c.oid = to_regclass(%s)", (_qualified(em.schema, em.table),)).fetchone()
    if row is None:
        return f"table {em.schema}.{em.table} not found"
    if not row["owner"]:
        return f"the role does not own {em.schema}.{em.table} (DROP INDEX and CREATE INDEX need ownership)"
    if not row["create_ok"]:
        return f"the role lacks CREATE on schema {em.schema} (CREATE INDEX needs it)"
    if bookkeeping.present(conn, "deferred_indexes"):
        if not bookkeeping.usable(conn, "deferred_indexes", "INSERT, DELETE"):
            return ("the role lacks USAGE on schema backfill_harness or INSERT and DELETE on its table deferred_indexes "
                    "(where the definitions are kept)")
    elif not row["db_create"]:
        return "the role lacks CREATE on the database (to create schema backfill_harness, where the definitions are kept)"
    for index in _vector_indexes(conn, target):
        if index["tablespace"] and not one(conn.execute("SELECT has_tablespace_privilege(%s, 'CREATE') AS ok",
                                                    (index["tablespace"],)).fetchone())["ok"]:
            return f"the role lacks CREATE on tablespace {index['tablespace']} (where index {index['indexname']} lives)"
    return None


def _definition(index: dict) -> str:
    """The statement that recreates the index as it was: its definition, options included, and its tablespace."""
    text = index["indexdef"]
    if index["tablespace"]:
        text += ' TABLESPACE "' + index["tablespace"].replace('"', '""') + '"'
    return text


def defer(conn: Conn, target: Target) -> list[str]:
    """Record and drop the embedding table's vector indexes when their rebuild is sure; return their names."""
    reason = why_not_defer(conn, target)
    if reason:
        log.info("vector indexes kept during the bulk load (built row by row): %s", reason)
        return []
    if not _vector_indexes(conn, target):
        return []  # nothing to drop: no bookkeeping to create (a schema and a table: a fifth of a first load's set-up)
    em = target.profile.embeddings
    bookkeeping.ensure(conn)
    name = bookkeeping.target_name(em.schema, em.table)
    with conn.transaction():
        rows = _vector_indexes(conn, target)
        for row in rows:
            conn.execute("INSERT INTO backfill_harness.deferred_indexes (target, name, definition) VALUES (%s, %s, %s) "
                         "ON CONFLICT (target, name) DO UPDATE SET definition = EXCLUDED.definition",
                         (name, row["indexname"], _definition(row)))
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(row["schemaname"], row["indexname"])))
    for row in rows:
        log.info("dropped vector index %s for the bulk load; it is rebuilt when the load ends", row["indexname"])
    return [r["indexname"] for r in rows]


def pending(conn: Conn, target: Target) -> list[str]:
    """Vector indexes of this target dropped for a bulk load and not rebuilt yet."""
    em = target.profile.embeddings
    if not bookkeeping.usable(conn, "deferred_indexes"):
        return []
    return [r["name"] for r in conn.execute(
        "SELECT name FROM backfill_harness.deferred_indexes WHERE target = %s ORDER BY name",
        (bookkeeping.target_name(em.schema, em.table),)).fetchall()]


def rebuild(database_url: str, target: Target, *, connect: Callable[..., Conn] = dbmod.connect) -> list[str]:
    """Recreate every index deferred for this target, in a session of its own with no statement timeout.

    Returns their names; raises HarnessError naming each index still missing (its record is kept for the next try).
    """
    em = target.profile.embeddings
    # A role- or database-level statement_timeout must not kill a long index build half way (nor the connection's
    # own start-up queries): the session starts with none.
    given = conninfo_to_dict(database_url).get("options") or ""
    with connect(make_conninfo(database_url, options=f"{given} -c statement_timeout=0".strip()), autocommit=True) as conn:
        lock.limit_waits(conn)
        if not pending(conn, target):
            return []
        with lock.WaitWatch(lambda: connect(database_url, autocommit=True), [conn]) as watch:
            key = bookkeeping.target_name(em.schema, em.table)
            rebuilt, missing = [], []
            for row in conn.execute("SELECT name, definition FROM backfill_harness.deferred_indexes WHERE target = %s "
                                    "ORDER BY name", (key,)).fetchall():
                try:
                    with conn.transaction():
                        present = conn.execute("SELECT 1 FROM pg_indexes WHERE schemaname = %s AND indexname = %s",
                                               (em.schema, row["name"])).fetchone()
                        if not present:
                            conn.execute(row["definition"])  # the exact definition recorded when it was dropped
                        conn.execute("DELETE FROM backfill_harness.deferred_indexes WHERE target = %s AND name = %s",
                                     (key, row["name"]))
                except psycopg.errors.LockNotAvailable:
                    held_by = watch.blocked() or lock.blockers(conn, [_qualified(em.schema, em.table)])
                    missing.append(f"{row['name']} (waited {lock.LOCK_TIMEOUT_MS / 1000:g} s for a lock held by {held_by})")
                    continue
                except psycopg.Error as exc:
                    missing.append(f"{row['name']} ({dbmod.describe_error(exc)})")
                    continue
                rebuilt.append(row["name"])
                log.info("rebuilt vector index %s after the load", row["name"])
    if missing:
        raise HarnessError(
            f"vector index {', '.join(missing)} on {em.schema}.{em.table} is MISSING: dropped for the bulk load and not "
            f"rebuilt; every vector was written. Its definition is kept in backfill_harness.deferred_indexes; expected "
            f"it rebuilt: run backfill-harness indexes restore --profile PROFILE (or the next backfill) once the cause is fixed")
    return rebuilt
