"""Work sharing between workers of one run: key ranges in ``backfill_harness.claims``, taken with SKIP LOCKED.

The first worker cuts the rows needing embedding into contiguous key ranges; each worker
then takes the next free range. A range whose taker's session is gone (a killed worker)
is free again, and selection inside a range re-reads what still needs embedding, so a
range taken twice never embeds a written row again (under ``--all`` it embeds the range's
rows again, each vector replaced by the model's same answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg import sql

from ..db import Conn
from ..target import Target
from .selection import Needs, rows_of, wanted


@dataclass(frozen=True)
class Claim:
    seq: int
    lo: Any  # exclusive; None = open
    hi: Any  # inclusive; None = open
    tenant: str | None = None  # read and written in this tenant's row-level-security session


def cut_ranges(conn: Conn, target: Target, run_id: str, collection: str, model: str, rows_per_range: int,
               tenant: str | None = None, first_seq: int = 0, every: bool = False, needs: Needs = Needs()) -> int:
    """Insert the run's ranges (each about ``rows_per_range`` of the rows it embeds, ``selection.wanted``; with
    ``every``, of every row) from ``first_seq`` on;
    return how many. Under row-level security the caller's transaction holds ``tenant``'s session: the ranges
    cover what that tenant's view needs, and are taken in that view."""
    query = sql.SQL(
        "INSERT INTO backfill_harness.claims (run_id, seq, lo, hi, tenant) "
        "SELECT %(run)s, %(first)s + b, lag(hi) OVER (ORDER BY b), CASE WHEN b = max(b) OVER () THEN NULL ELSE hi END, "
        "%(tenant)s "
        # each bucket's last key, marked in the one sort by key (no max(key): Postgres has none for uuid)
        "FROM (SELECT bucket AS b, max(key) FILTER (WHERE last) AS hi FROM ("
        "  SELECT {id}::text AS key, (row_number() OVER w - 1) / %(size)s AS bucket, "
        "  (row_number() OVER w %% %(size)s = 0 OR lead({id}) OVER w IS NULL) AS last "
        "  FROM {join} WHERE {where} AND {needs} WINDOW w AS (ORDER BY {id})) AS s GROUP BY bucket) AS g"
    ).format(id=target.chunk_id, join=rows_of(target, every=every, needs=needs), where=target.chunk_filter(),
             needs=wanted(target, every=every, needs=needs))
    cur = conn.execute(query, {"run": run_id, "size": rows_per_range, "collection": collection, "model": model,
                               "tenant": tenant, "first": first_seq, **needs.params()})
    return cur.rowcount


# The session that took a range is alive: a backend with its pid that began before the range was taken. A pid
# alone is not enough: after a worker is killed, a later session may get the same pid (backend_start is NULL only
# where this role may not read another role's sessions; then the pid is all there is to go by).
_TAKER_ALIVE = ("EXISTS (SELECT 1 FROM pg_stat_activity AS a WHERE a.pid = k.taken_by AND "
                "(a.backend_start IS NULL OR k.taken_at IS NULL OR a.backend_start <= k.taken_at))")


def take(conn: Conn, run_id: str) -> Claim | None:
    """Take the next free range of the run (or one a dead worker held); None when none is left."""
    row = conn.execute(
        "UPDATE backfill_harness.claims AS c SET state = 'taken', taken_by = pg_backend_pid(), taken_at = now() "
        "WHERE (c.run_id, c.seq) = ("
        "  SELECT run_id, seq FROM backfill_harness.claims AS k WHERE run_id = %s AND (state = 'todo' OR "
        f"    (state = 'taken' AND NOT {_TAKER_ALIVE})) "
        "  ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED) "
        "RETURNING c.seq, c.lo, c.hi, c.tenant",
        (run_id,),
    ).fetchone()
    return Claim(row["seq"], row["lo"], row["hi"], row["tenant"]) if row else None


def finish(conn: Conn, run_id: str, seq: int) -> None:
    conn.execute("UPDATE backfill_harness.claims SET state = 'done', done_at = now() WHERE run_id = %s AND seq = %s",
                 (run_id, seq))


def held_by_others(conn: Conn, run_id: str) -> int:
    """Ranges of the run not done that another live session holds (what this worker's end leaves to others); ranges
    a dead worker left are not counted: no one is writing them, and the count shows their rows as still needed."""
    row = conn.execute(
        "SELECT count(*) AS n FROM backfill_harness.claims AS k WHERE run_id = %s AND state = 'taken' "
        f"AND taken_by <> pg_backend_pid() AND {_TAKER_ALIVE}",
        (run_id,)).fetchone()
    return int(row["n"]) if row else 0


def unfinished(conn: Conn, run_id: str) -> int:
    """Ranges of the run not done: under ``--all`` the only measure of rows it has not re-embedded (they look current
    to every count)."""
    row = conn.execute("SELECT count(*) AS n FROM backfill_harness.claims WHERE run_id = %s AND state <> 'done'",
                       (run_id,)).fetchone()
    return int(row["n"]) if row else 0


def last_done(conn: Conn, run_id: str) -> str | None:
    """When the run's last range was done (UTC, to the second), where every range of it is; else None."""
    row = conn.execute("SELECT to_char(max(done_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS at, "
                       "bool_and(state = 'done') AS all_done FROM backfill_harness.claims WHERE run_id = %s",
                       (run_id,)).fetchone()
    return str(row["at"]) if row and row["all_done"] and row["at"] else None
