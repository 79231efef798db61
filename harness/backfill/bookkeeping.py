"""The harness's own schema in the target database, ``backfill_harness``: run claims, swaps, copies, deferred indexes,
historylog anchors.

Created on first use, only by runs that need it (several workers, ``swap``, an index
build deferred past a bulk load, ``record``); a single plain backfill writes nothing outside the target's tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from ..db import Conn
from ..errors import RefusedError

SCHEMA = "backfill_harness"

_DDL = """
CREATE SCHEMA IF NOT EXISTS backfill_harness;
CREATE TABLE IF NOT EXISTS backfill_harness.runs (
    run_id      text PRIMARY KEY,
    target      text NOT NULL,          -- schema.table of the embeddings
    collection  text NOT NULL,
    model       text NOT NULL,
    every       boolean NOT NULL DEFAULT false,  -- backfill --all: every row, not only those needing a vector
    embedded_as jsonb,                  -- beside the model, what its vectors are made of (Profile.embedded_as)
    prepared    boolean NOT NULL DEFAULT false,
    started_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS backfill_harness.claims (
    run_id    text NOT NULL REFERENCES backfill_harness.runs (run_id) ON DELETE CASCADE,
    seq       integer NOT NULL,
    lo        text,                      -- exclusive lower key bound (NULL: open)
    hi        text,                      -- inclusive upper key bound (NULL: open)
    state     text NOT NULL DEFAULT 'todo' CHECK (state IN ('todo', 'taken', 'done')),
    taken_by  integer,                   -- backend pid of the claiming session (a dead pid frees the claim)
    taken_at  timestamptz,
    done_at   timestamptz,
    tenant    text,                      -- whose row-level-security view the range was cut in (NULL: none)
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS backfill_harness.swaps (
    target      text NOT NULL,
    live        text NOT NULL,
    retired     text NOT NULL,
    replaced_by text NOT NULL,
    swapped_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (target, live)
);
CREATE TABLE IF NOT EXISTS backfill_harness.copies (
    target      text NOT NULL,          -- schema.table of the embeddings
    copy        text NOT NULL,          -- the collection backfill --into filled by copying
    live        text NOT NULL,          -- the collection it copied (swap compares the two chunk by chunk)
    copied_at   timestamptz NOT NULL DEFAULT now(),
    complete    boolean NOT NULL DEFAULT true,   -- false while the copy is under way (or was killed part way)
    done_through jsonb NOT NULL DEFAULT '{}',    -- per tenant ("" without one): the last live key copied
    PRIMARY KEY (target, copy)
);
CREATE TABLE IF NOT EXISTS backfill_harness.deferred_indexes (
    target      text NOT NULL,
    name        text NOT NULL,
    definition  text NOT NULL,
    dropped_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (target, name)
);
CREATE TABLE IF NOT EXISTS backfill_harness.historylog_anchors (
    sha256      text PRIMARY KEY,       -- a historylog entry's hash (never its text)
    prev        text NOT NULL,          -- the entry below it in its log
    log         text NOT NULL,          -- its log's oldest chained entry: which historylog (chain) it is in
    collection  text NOT NULL,
    run_id      text,                   -- the run folder's name, if the entry came from one
    seq         bigint GENERATED ALWAYS AS IDENTITY,  -- the order the entries were anchored in
    recorded_at timestamptz NOT NULL DEFAULT now()
);
"""


_TABLES = ("runs", "claims", "swaps", "copies", "deferred_indexes", "historylog_anchors")


def _complete(conn: Conn) -> bool:
    """Every table and every column added since the first release is there already: a role without CREATE can use a
    schema its owner made (one made by an earlier version lacks a column, and is brought up to date)."""
    with conn.transaction():  # never leaves a transaction open on a connection that is not in autocommit
        row = conn.execute(
            "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "        WHERE n.nspname = %(schema)s AND c.relkind = 'r' AND c.relname = ANY(%(tables)s)) AS tables, "
            "       (SELECT count(*) FROM unnest(%(in)s::text[], %(columns)s::text[]) AS l(t, col) "
            "        JOIN pg_attribute a ON a.attrelid = to_regclass(%(schema)s || '.' || l.t) AND a.attname = l.col "
            "        AND NOT a.attisdropped) AS columns",
            {"schema": SCHEMA, "tables": list(_TABLES), "in": [t for t, _, _ in _LATER_COLUMNS],
             "columns": [c for _, c, _ in _LATER_COLUMNS]}).fetchone()
    values = list(row.values()) if isinstance(row, dict) else list(row or (0, 0))
    return values[0] == len(_TABLES) and values[1] == len(_LATER_COLUMNS)


def ensure(conn: Conn) -> None:
    """Create the schema and its tables if missing (serialised, so concurrent workers never race on DDL)."""
    try:
        if _complete(conn):
            return
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('backfill-harness'), hashtext('schema'))")
            for statement in filter(str.strip, _DDL.split(";")):
                conn.execute(statement)
            _add_missing_columns(conn)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise RefusedError(
            f"schema {SCHEMA} (where runs, swaps, deferred indexes and historylog anchors are kept) cannot be made or used: "
            f"{str(exc).splitlines()[0]}; expected CREATE on the database, or the schema created by its owner with "
            f"USAGE and SELECT, INSERT, UPDATE, DELETE on its tables granted to this role") from None


# Columns added after the first release: (table, column, definition); ALTER only when missing, as the owner did.
_LATER_COLUMNS = (
    ("claims", "tenant", "text"),
    ("runs", "every", "boolean NOT NULL DEFAULT false"),
    ("runs", "embedded_as", "jsonb"),
    ("copies", "complete", "boolean NOT NULL DEFAULT true"),
    ("copies", "done_through", "jsonb NOT NULL DEFAULT '{}'"),
)


def _add_missing_columns(conn: Conn) -> None:
    for table, column, definition in _LATER_COLUMNS:
        present = conn.execute("SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = %s "
                               "AND NOT attisdropped", (f"{SCHEMA}.{table}", column)).fetchone()
        if present is None:
            conn.execute(f"ALTER TABLE {SCHEMA}.{table} ADD COLUMN IF NOT EXISTS {column} {definition}")


def present(conn: Conn, table: str) -> bool:
    """The harness's ``table`` exists, whether or not this role may use it (read from the catalog by name: a
    ``to_regclass('backfill_harness.t')`` raises for a role without USAGE on the schema)."""
    return conn.execute("SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = %s AND c.relname = %s", (SCHEMA, table)).fetchone() is not None


def usable(conn: Conn, table: str, privileges: str = "SELECT") -> bool:
    """The harness's ``table`` exists and this role may use its schema and hold ``privileges`` on it. Since ``record``
    anchors every entry, the schema exists in most targets, also where a read-only role has no USAGE on it."""
    row = conn.execute(
        "SELECT CASE WHEN c.oid IS NULL OR NOT has_schema_privilege(n.oid, 'USAGE') THEN false "
        "ELSE has_table_privilege(c.oid, %s) END AS ok "
        "FROM pg_namespace n LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = %s WHERE n.nspname = %s",
        (privileges, table, SCHEMA)).fetchone()
    return bool(row and (row["ok"] if isinstance(row, dict) else row[0]))


def target_name(schema: str, table: str) -> str:
    return f"{schema}.{table}"


def record_copy(conn: Conn, schema: str, table: str, live: str, copy: str) -> None:
    """Remember that ``copy`` was filled by copying ``live`` (so swap compares them chunk by chunk)."""
    ensure(conn)
    with conn.transaction():
        conn.execute("INSERT INTO backfill_harness.copies (target, copy, live) VALUES (%s, %s, %s) "
                     "ON CONFLICT (target, copy) DO UPDATE SET live = EXCLUDED.live, copied_at = now(), "
                     "complete = true, done_through = '{}'",
                     (target_name(schema, table), copy, live))


@dataclass(frozen=True)
class CopyState:
    live: str
    complete: bool
    done_through: dict[str, str]  # tenant ("" without one) -> the last live key copied, as text


def copy_state(conn: Conn, schema: str, table: str, copy: str) -> CopyState | None:
    """What the bookkeeping says of the copy into ``copy`` (None: no copy recorded)."""
    row = conn.execute("SELECT live, complete, done_through FROM backfill_harness.copies WHERE target = %s AND copy = %s",
                       (target_name(schema, table), copy)).fetchone()
    return CopyState(row["live"], row["complete"], dict(row["done_through"])) if row else None


def start_copy(conn: Conn, schema: str, table: str, live: str, copy: str) -> None:
    """Record a copy of ``live`` into ``copy`` as under way, before its first piece is committed."""
    conn.execute("INSERT INTO backfill_harness.copies (target, copy, live, complete, done_through) "
                 "VALUES (%s, %s, %s, false, '{}') ON CONFLICT (target, copy) DO UPDATE SET live = EXCLUDED.live, "
                 "copied_at = now(), complete = false, done_through = '{}'", (target_name(schema, table), copy, live))


def piece_copied(conn: Conn, schema: str, table: str, copy: str, tenant: str, last: str) -> None:
    """In the piece's own transaction: the copy went through live key ``last`` (for this tenant's view)."""
    conn.execute("UPDATE backfill_harness.copies SET done_through = done_through || jsonb_build_object(%s::text, %s::text) "
                 "WHERE target = %s AND copy = %s", (tenant, last, target_name(schema, table), copy))


def finish_copy(conn: Conn, schema: str, table: str, copy: str) -> None:
    conn.execute("UPDATE backfill_harness.copies SET complete = true, copied_at = now() WHERE target = %s AND copy = %s",
                 (target_name(schema, table), copy))


@dataclass(frozen=True)
class Anchor:
    """One historylog entry as the target database anchors it: hashes and names, nothing secret."""
    sha256: str
    prev: str
    log: str
    collection: str
    run_id: str | None = None
    recorded_at: str | None = None


def anchor_entry(conn: Conn, anchor: Anchor) -> None:
    """Anchor an entry (in the caller's transaction); the same entry again (one text in two fresh logs) is a no-op."""
    conn.execute("INSERT INTO backfill_harness.historylog_anchors (sha256, prev, log, collection, run_id) "
                 "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (sha256) DO NOTHING",
                 (anchor.sha256, anchor.prev, anchor.log, anchor.collection, anchor.run_id))


def anchors(conn: Conn) -> list[Anchor] | None:
    """Every anchored entry, newest first; None where the table does not exist (nothing was ever anchored)."""
    with conn.transaction():
        if not _one(conn, "SELECT to_regclass('backfill_harness.historylog_anchors') IS NOT NULL AS v"):
            return None
        rows = conn.execute("SELECT sha256, prev, log, collection, run_id, "
                            "to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS recorded_at "
                            "FROM backfill_harness.historylog_anchors ORDER BY seq DESC").fetchall()
    return [Anchor(**row) for row in rows]


def database_identity(conn: Conn) -> str:
    """Which database this is, as a historylog entry names it: its name and its cluster's system identifier
    (the name alone where the role may not read pg_control_system)."""
    with conn.transaction():
        name = _one(conn, "SELECT current_database() AS v")
    try:
        with conn.transaction():
            system = _one(conn, "SELECT system_identifier AS v FROM pg_control_system()")
    except psycopg.errors.InsufficientPrivilege:
        return f"database {name}"
    return f"database {name} on server {system}"


def _one(conn: Conn, query: str) -> object:
    row = conn.execute(query).fetchone()
    return row["v"] if row else None
