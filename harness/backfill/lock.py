"""One backfill per collection at a time: a session-level Postgres advisory lock, and who holds it."""

from __future__ import annotations

import psycopg

from ..errors import LockHeld

_NAMESPACE = "backfill-harness"


def _keys(table: str, collection: str) -> tuple[str, str]:
    return (_NAMESPACE, f"{table}/{collection}")


def acquire(conn: psycopg.Connection, table: str, collection: str) -> None:
    """Take the collection's lock on this (autocommit) connection, or raise LockHeld naming the holder."""
    ns, key = _keys(table, collection)
    got = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s), hashtext(%s)) AS ok", (ns, key)).fetchone()
    if not got["ok"]:
        raise LockHeld(f"another backfill of collection {collection!r} is running: {holder(conn, table, collection)}; "
                       "expected none, so this one exits without writing")


def release(conn: psycopg.Connection, table: str, collection: str) -> None:
    ns, key = _keys(table, collection)
    if conn.closed:
        return
    try:
        conn.execute("SELECT pg_advisory_unlock(hashtext(%s), hashtext(%s))", (ns, key))
    except psycopg.OperationalError:
        pass  # the session is gone (server restart, network): its advisory lock went with it


def holder(conn: psycopg.Connection, table: str, collection: str) -> str:
    """Describe the session holding the collection's lock (application name, pid, client, since when)."""
    ns, key = _keys(table, collection)
    row = conn.execute(
        "SELECT a.pid, a.application_name, a.client_addr::text AS client, a.backend_start "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = hashtext(%s)::oid AND l.objid = hashtext(%s)::oid "
        "AND l.objsubid = 2 LIMIT 1",
        (ns, key),
    ).fetchone()
    if row is None:
        return "held by a session that has just ended"
    since = row["backend_start"].strftime("%Y-%m-%dT%H:%M:%SZ") if row["backend_start"] else "unknown"
    return f"held by {row['application_name'] or 'an unnamed session'} (backend pid {row['pid']}, client {row['client'] or 'local'}, since {since})"
