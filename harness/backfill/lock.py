"""One backfill per collection at a time: a session-level Postgres advisory lock, and who holds it.

The lock lives in its own session, which an idle-session reaper or ``pg_terminate_backend`` may end
mid-run. So every write transaction proves the lock is still held by this run's lock session
(``prove_held``) under a shared transaction-level "write" lock, and a new holder waits for that write
lock exclusively once (``acquire``): a writer whose lock session was killed stops before its next
commit, and its commit in flight lands before the new holder selects anything.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.types.json import Jsonb

from ..db import Conn, one
from ..errors import ConfigError, HarnessError, LockHeld
from ..model_names import same_model

if TYPE_CHECKING:
    from ..profile import Profile


log = logging.getLogger("harness.backfill")


class LockLost(HarnessError):
    """This run's lock session ended (terminated, reaped): another backfill may hold the collection now."""

_NAMESPACE = "backfill-harness"
LOCK_TIMEOUT_MS = 30_000  # the longest any statement of a run waits for another session's lock


def limit_waits(conn: Conn) -> None:
    """Make every statement of this session give up after LOCK_TIMEOUT_MS waiting for another session's lock."""
    conn.execute(f"SET lock_timeout = {int(LOCK_TIMEOUT_MS)}")
    if not conn.autocommit:
        conn.commit()


def _describe(rows) -> str:
    return "; ".join(_session(r) for r in rows)


def _session(r) -> str:
    if r["xact_start"]:
        since = f"in a transaction since {_when(r['xact_start'])}"
    elif r["backend_start"]:
        since = f"connected since {_when(r['backend_start'])}"
    else:  # pg_stat_activity hides another role's times and query from a role without pg_read_all_stats
        since = "since when is hidden from this role"
    doing = f", {r['state']}: {r['query']!r}" if r["state"] else ""
    return f"{r['application_name'] or 'an unnamed session'} (backend pid {r['pid']}, {since}{doing})"


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else "unknown"


def blockers(conn: Conn, relations: list[str], ours: Sequence[int] = ()) -> str:
    """Who holds locks on these tables in an open transaction, other than this session and the run's own sessions
    ``ours`` (a fallback when no watch saw the wait itself)."""
    rows = conn.execute(
        "SELECT DISTINCT a.pid, a.application_name, a.xact_start, a.backend_start, a.state, left(a.query, 80) AS query "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.granted AND l.pid <> pg_backend_pid() "
        "AND NOT l.pid = ANY(%s::int[]) "
        "AND a.xact_start IS NOT NULL AND l.relation = ANY(SELECT to_regclass(r)::oid FROM unnest(%s::text[]) AS r) "
        "ORDER BY a.xact_start LIMIT 5", (list(ours), relations)).fetchall()
    return _describe(rows) if rows else "a session that has ended since"


POLL_S = 0.1  # how often a WaitWatch asks who blocks the sessions it watches
_seen_lock = threading.Lock()
_seen: dict[int, tuple[float, str]] = {}  # waiting backend pid -> (when, who blocked it), written by WaitWatch

_BLOCKED_BY = (
    "SELECT w.pid AS waiter, a.pid, a.application_name, a.xact_start, a.backend_start, a.state, "
    "left(a.query, 80) AS query FROM unnest(%s::int[]) AS w(pid) "
    "CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS b(pid) JOIN pg_stat_activity a ON a.pid = b.pid "
    # The run's own sessions wait for each other only briefly (write sessions extending the same table): never
    # what the user is told to look at.
    "WHERE NOT b.pid = ANY(%s::int[]) "
    "ORDER BY w.pid, a.xact_start NULLS LAST, a.pid")


class WaitWatch:
    """While a run works, ask Postgres every POLL_S from a session of its own whom the watched sessions wait for
    (``pg_blocking_pids`` + ``pg_stat_activity``): each new blocker is logged while the wait lasts, and the
    error of a wait that timed out names the session that really blocked it (not every holder of the table)."""

    def __init__(self, connect: Callable[[], Conn], conns: list[Conn]):
        self.connect, self.pids = connect, [c.info.backend_pid for c in conns]
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> "WaitWatch":
        # The watch's session is opened on its own thread: the run's first statements do not wait for it (issue #12).
        self.conn: Conn | None = None
        self.thread = threading.Thread(target=self._run, name="lock-wait-watch", daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join()
            if self.conn is not None:
                self.conn.close()
        with _seen_lock:
            for pid in self.pids:
                _seen.pop(pid, None)

    def _run(self) -> None:
        try:
            self.conn = self.connect()
        except (psycopg.Error, HarnessError) as exc:  # no connection to spare: waits are still limited, blockers
            log.debug("no session to watch lock waits from: %s", exc)  # named afterwards
            return
        while not self.stop.wait(POLL_S):
            try:
                rows = self.conn.execute(_BLOCKED_BY, (self.pids, self.pids)).fetchall()
            except psycopg.Error:
                return  # the watch's session is gone; waits stay limited by lock_timeout
            by_waiter: dict[int, list] = {}
            for row in rows:
                by_waiter.setdefault(row["waiter"], []).append(row)
            for waiter, found in by_waiter.items():
                text = _describe(found)
                with _seen_lock:
                    before = _seen.get(waiter)
                    _seen[waiter] = (time.monotonic(), text)
                if before is None or before[1] != text:
                    log.warning("waiting for a lock held by %s (giving up after %g s)", text, LOCK_TIMEOUT_MS / 1000)

    def blocked(self) -> str | None:
        """Who blocked a watched session in its latest wait (None: no wait seen)."""
        return _latest(self.pids)


def _latest(pids: list[int]) -> str | None:
    """The blockers a watch saw last for any of ``pids``, if the wait ended a moment ago."""
    now = time.monotonic()
    with _seen_lock:
        fresh = [seen for pid in pids if (seen := _seen.get(pid)) and now - seen[0] <= 10 * POLL_S + 1]
    return max(fresh)[1] if fresh else None


def timed_out(exc: BaseException) -> bool:
    """A statement gave up after lock_timeout (raised as is, or wrapped in a DatabaseError)."""
    return isinstance(exc, psycopg.errors.LockNotAvailable) or isinstance(exc.__cause__, psycopg.errors.LockNotAvailable)


def waited_too_long(conn: Conn, what: str, relations: list[str], pids: list[int] | None = None,
                    ours: Sequence[int] = ()) -> HarnessError:
    """The error for a statement (on ``conn``, or one of the sessions ``pids``) that gave up waiting for a lock:
    names the sessions that blocked it, as a WaitWatch saw them during the wait (else those holding the tables now,
    never the run's own sessions ``ours``: its other writers hold the table while they write)."""
    seen = _latest(pids if pids is not None else [conn.info.backend_pid]) if not conn.closed else None
    if not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.rollback()
    return HarnessError(f"{what} waited {LOCK_TIMEOUT_MS / 1000:g} s for a lock held by "
                        f"{seen or blockers(conn, relations, ours)}; expected no other session to hold these tables that "
                        "long; nothing of it was written")


def collection_key(profile: Profile, collection: str) -> str:
    """What a run locks: its collection, or, where ``chunks.collection`` is an array, every collection of it at once
    (collections that share chunks: two runs would both replace the shared ones, one beside the other)."""
    if profile.chunks.collection_array:
        return f"{profile.chunks.collection}[] (every collection of the array: they share chunks)"
    if profile.chunks.collection_join:
        return f"{profile.chunks.collection_join.table}.{profile.chunks.collection} (every collection of the join table: they share chunks)"
    return collection


def _keys(table: str, collection: str) -> tuple[str, str]:
    return (_NAMESPACE, f"{table}/{collection}")


def _drain_writers(conn: Conn, ns: str, key: str) -> None:
    """Wait until no write transaction of an earlier holder is in flight (they hold the write lock shared)."""
    conn.execute("SELECT pg_advisory_lock(hashtext(%s), hashtext(%s))", (ns, "write:" + key))
    conn.execute("SELECT pg_advisory_unlock(hashtext(%s), hashtext(%s))", (ns, "write:" + key))


def prove_held(conn: Conn, table: str, collection: str, lock_pid: int) -> None:
    """Inside a write transaction: raise LockLost unless session ``lock_pid`` still holds the collection's lock."""
    ns, key = _keys(table, collection)
    conn.execute("SELECT pg_advisory_xact_lock_shared(hashtext(%s), hashtext(%s))", (ns, "write:" + key))
    row = one(conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = %s "
        "AND classid = hashtext(%s)::oid AND objid = hashtext(%s)::oid AND objsubid = 2) AS held",
        (lock_pid, ns, key)).fetchone())
    if not row["held"]:
        raise LockLost(f"lost the lock of collection {collection!r}: its session (backend pid {lock_pid}) ended "
                       "(terminated or reaped as idle); another backfill may be writing now, so this run stops and "
                       "writes nothing more; expected the lock held to the end (run again, or check idle_session_timeout)")


def acquire(conn: Conn, table: str, collection: str) -> None:
    """Take the collection's lock on this (autocommit) connection, or raise LockHeld naming the holder."""
    ns, key = _keys(table, collection)
    got = one(conn.execute("SELECT pg_try_advisory_lock(hashtext(%s), hashtext(%s)) AS ok", (ns, key)).fetchone())
    if not got["ok"]:
        raise LockHeld(f"another backfill of collection {collection!r} is running: {holder(conn, table, collection)}; "
                       "expected none, so this one exits without writing")
    _drain_writers(conn, ns, key)


def join_run(conn: Conn, table: str, collection: str, run_id: str, model: str, *, every: bool = False,
             embedded_as: dict[str, Any] | None = None) -> None:
    """Take the collection's lock in shared mode for run ``run_id``; workers of the same run share it, and its
    selection (``every``: ``--all``), model and ``embedded_as`` (``Profile.embedded_as``), which a worker joining it
    must give as the run was started.

    A plain backfill holds the lock exclusively, so it and a shared run exclude each other; two runs with
    different ids are told apart by ``backfill_harness.runs`` (the live run is the one whose workers hold the lock).
    """
    ns, key = _keys(table, collection)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))", (ns, "gate:" + key))
        got = one(conn.execute("SELECT pg_try_advisory_lock_shared(hashtext(%s), hashtext(%s)) AS ok", (ns, key)).fetchone())
        if not got["ok"]:
            raise LockHeld(f"another backfill of collection {collection!r} is running: {holder(conn, table, collection)}; "
                           "expected none, so this one exits without writing")
        others = one(conn.execute(
            "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = hashtext(%s)::oid "
            "AND objid = hashtext(%s)::oid AND objsubid = 2 AND pid <> pg_backend_pid()", (ns, key),
        ).fetchone())["n"]
        live = conn.execute(
            "SELECT run_id FROM backfill_harness.runs WHERE target = %s AND collection = %s ORDER BY started_at DESC LIMIT 1",
            (table, collection),
        ).fetchone()
        if others and (live is None or live["run_id"] != run_id):
            conn.execute("SELECT pg_advisory_unlock_shared(hashtext(%s), hashtext(%s))", (ns, key))
            raise LockHeld(f"another backfill of collection {collection!r} is running as run "
                           f"{live['run_id'] if live else 'unknown'!r}: {holder(conn, table, collection)}; "
                           f"expected none or run {run_id!r}, so this one exits without writing")
        if not others and (live is None or live["run_id"] != run_id):
            conn.execute("DELETE FROM backfill_harness.runs WHERE target = %s AND collection = %s", (table, collection))
        conn.execute(
            "INSERT INTO backfill_harness.runs (run_id, target, collection, model, every, embedded_as) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (run_id) DO NOTHING",
            (run_id, table, collection, model, every, Jsonb(embedded_as) if embedded_as is not None else None),
        )
        started = one(conn.execute("SELECT every, target, collection, model, embedded_as FROM backfill_harness.runs "
                                   "WHERE run_id = %s",
                                   (run_id,)).fetchone())
        if (started["target"], started["collection"]) != (table, collection):
            # Run ids are one namespace: its ranges (all done, say) cover another collection, whose worker would mark
            # nothing of this one done and, under --all, report every row re-embedded having embedded none.
            conn.execute("SELECT pg_advisory_unlock_shared(hashtext(%s), hashtext(%s))", (ns, key))
            raise ConfigError(f"run {run_id!r} is a run of collection {started['collection']!r} of {started['target']}; "
                              f"expected a run id of its own for {collection!r} of {table}; nothing was written")
        if started["every"] != every:
            # Its ranges were cut over the rows it embeds: every row, or those needing a vector. A worker selecting
            # otherwise would mark ranges done having embedded another set of rows.
            conn.execute("SELECT pg_advisory_unlock_shared(hashtext(%s), hashtext(%s))", (ns, key))
            raise ConfigError(f"run {run_id!r} was started {'with' if started['every'] else 'without'} --all; expected "
                              f"{'--all' if started['every'] else 'no --all'} to join it; nothing was written")
        if not same_model(started["model"], model):
            # Its ranges already done hold the first model's vectors, which no count tells apart where no column
            # names the model: joined with another, the run said ok over a collection embedded by two models.
            conn.execute("SELECT pg_advisory_unlock_shared(hashtext(%s), hashtext(%s))", (ns, key))
            raise ConfigError(f"run {run_id!r} was started with model {started['model']!r}; expected --model "
                              f"{started['model']} to join it, or a run id of its own for {model!r}; nothing was written")
        then = started["embedded_as"]  # NULL: started by a version that did not record it
        differs = [k for k in (then or {}) if embedded_as is not None and then[k] != embedded_as.get(k)]
        if differs:
            # A task prefix or text edited in the profile between two parts of one run: same model, other vectors.
            conn.execute("SELECT pg_advisory_unlock_shared(hashtext(%s), hashtext(%s))", (ns, key))
            assert embedded_as is not None
            said = "; ".join(f"{k} {then[k]!r} then, {embedded_as.get(k)!r} now" for k in differs)
            raise ConfigError(f"run {run_id!r} was started embedding another text or width than this profile's "
                              f"({said}); expected the profile the run was started with to join it, or a run id of its "
                              "own; nothing was written")


def release(conn: Conn, table: str, collection: str, *, shared: bool = False) -> None:
    ns, key = _keys(table, collection)
    if conn.closed:
        return
    fn = "pg_advisory_unlock_shared" if shared else "pg_advisory_unlock"
    try:
        conn.execute(f"SELECT {fn}(hashtext(%s), hashtext(%s))", (ns, key))
    except psycopg.OperationalError:
        pass  # the session is gone (server restart, network): its advisory lock went with it


def holder(conn: Conn, table: str, collection: str) -> str:
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
