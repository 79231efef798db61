"""Source coverage: every row of the source table has chunks, and none waits in the library's queue (pgai)."""

from __future__ import annotations

from psycopg import sql

from ..db import one
from .outcome import MAX_SHOWN, Offender, Outcome, skipped, verdict
from .session import CheckSession


def pgai_queue(session: CheckSession) -> tuple[str, str] | None:
    """(schema, table) of the pgai queue that feeds the chunk table, from pgai's own catalog; None without one."""
    ch = session.profile.chunks
    with session.read_only() as conn:
        if one(conn.execute("SELECT to_regclass('ai.vectorizer') IS NOT NULL AS ok").fetchone())["ok"] is not True:
            return None
        row = conn.execute(
            "SELECT queue_schema, queue_table FROM ai.vectorizer "
            "WHERE config->'destination'->>'target_schema' = %s AND config->'destination'->>'target_table' = %s",
            (ch.schema, ch.table)).fetchone()
    return (row["queue_schema"], row["queue_table"]) if row else None


def source_coverage(session: CheckSession, collection: str) -> Outcome:
    src, ch = session.profile.source, session.profile.chunks
    if src is None:
        return skipped("source_coverage", collection, "the profile names no source table (source.table)")
    t = session.target
    key = sql.Identifier(src.key)
    source = sql.Identifier(src.schema, src.table)
    missing_q = sql.SQL("SELECT s.{k} AS id FROM {s} AS s WHERE NOT EXISTS "
                        "(SELECT 1 FROM {c} AS c WHERE c.{k} = s.{k} AND {f}) ORDER BY 1").format(
        k=key, s=source, c=t.chunk_table, f=t.chunk_filter())
    with session.read_only() as conn:
        rows = one(conn.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(source)).fetchone())["n"]
        missing = [r["id"] for r in conn.execute(missing_q, {"collection": collection}).fetchall()]
    offenders = [Offender(i, collection, None, f"{src.table} row has no chunks") for i in missing[:MAX_SHOWN]]
    pending: list = []
    queue_note = ""
    if src.queue == "pgai":
        queue = pgai_queue(session)
        if queue is None:
            return verdict("source_coverage", collection, False,
                           f"a pgai vectorizer writing {ch.schema}.{ch.table}", "none in ai.vectorizer")
        with session.read_only() as conn:
            pending = [r["id"] for r in conn.execute(sql.SQL("SELECT DISTINCT q.{k} AS id FROM {q} AS q ORDER BY 1").format(
                k=key, q=sql.Identifier(*queue))).fetchall()]
        offenders += [Offender(i, collection, None, f"pending in pgai's queue {queue[0]}.{queue[1]}")
                      for i in pending[:MAX_SHOWN]]
        queue_note = f"; {len(pending)} pending in pgai's queue"
    total = len(missing) + len(pending)
    return verdict("source_coverage", collection, total == 0,
                   expected=f"every {src.table} row has chunks" + (" and none is pending in pgai's queue" if src.queue else ""),
                   found=f"{rows} {src.table} rows, {len(missing)} without chunks{queue_note}",
                   offenders=offenders, total=total,
                   metrics={"source_rows": rows, "without_chunks": len(missing), "pending": len(pending)})
