"""Whether one collection holds exactly what another holds now: the check a swap must pass.

A collection ``backfill --into`` copied (recorded in ``backfill_harness.copies``) is compared chunk by
chunk: every column a copy carries over (all but the key, the collection column and generated columns),
digested per row in Postgres and compared as multisets with one hash join, so it is linear in rows.
A live chunk added or edited after the copy has no equal in the new collection; one deleted from live
still has one there. A collection the application re-chunked itself differs chunk by chunk by design,
so it is compared by source (the profile's ``chunks.sources``): every source live cites must be there.
Without sources that cannot be proven, and the outcome says so (unproven, never passed).
"""

from __future__ import annotations

from psycopg import sql

from ..db import Conn
from ..target import Target, _qualified
from .outcome import MAX_SHOWN, Offender, Outcome, unproven, verdict
from .session import CheckSession
from .shape import Shape

CONTENT, SOURCE = "content", "source"


def content_columns(conn: Conn, target: Target) -> list[str]:
    """The chunk table's columns a copy carries over: all but the key, generated and always-identity columns."""
    ch = target.profile.chunks
    return [
        r["attname"] for r in conn.execute(
            "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 "
            "AND NOT a.attisdropped AND a.attgenerated = '' AND a.attidentity <> 'a' ORDER BY a.attnum",
            (_qualified(ch.schema, ch.table),),
        ).fetchall()
        if r["attname"] != ch.id
    ]


def _copy_record(conn: Conn, target: Target, copy: str, *, unfinished: bool = False) -> str | None:
    """The live collection ``backfill --into`` recorded copying into ``copy`` (only a copy not finished, if asked)."""
    from ..backfill import bookkeeping

    if not bookkeeping.usable(conn, "copies"):
        return None
    em = target.profile.embeddings
    row = conn.execute("SELECT live FROM backfill_harness.copies WHERE target = %s AND copy = %s"
                       + (" AND NOT complete" if unfinished else ""), (f"{em.schema}.{em.table}", copy)).fetchone()
    return row["live"] if row else None


def copied_from(conn: Conn, target: Target, new: str) -> str | None:
    """The collection ``backfill --into`` copied ``new`` from, if it recorded one."""
    return _copy_record(conn, target, new)


def copy_stopped(conn: Conn, target: Target, collection: str) -> str | None:
    """Why ``collection`` is not whole: a copy ``backfill --into`` began and did not finish (None: no such copy)."""
    live = _copy_record(conn, target, collection, unfinished=True)
    if live is None:
        return None
    return (f"the copy of {live} into {collection} stopped part way (backfill --into was interrupted), so chunks "
            f"of {live} are missing; run backfill --collection {live} --into {collection} again to finish it")


def comparison(conn: Conn, target: Target, new: str) -> str | None:
    """How ``new`` is compared with live: chunk by chunk (a recorded copy), by source (re-chunked), or not at all."""
    if copied_from(conn, target, new) is not None:
        return CONTENT
    return SOURCE if target.profile.chunks.sources else None


def differences(conn: Conn, target: Target, have: str, lacks: str,
                limit: int | None = MAX_SHOWN, by: str = CONTENT) -> tuple[int, list[Offender]]:
    """Chunks of ``have`` with no equal chunk (same content, or same source) in ``lacks``: (how many, the first
    ``limit``, None: all)."""
    ch = target.profile.chunks
    if by == SOURCE:
        parts = Shape(target).sources()
    else:
        # An inline vector column (LangChain's) holds the new model's vectors in the copy: not content.
        skip = {ch.collection} | ({target.profile.embeddings.vector} if target.inline else set())
        parts = [sql.SQL("c.{}").format(sql.Identifier(c)) for c in content_columns(conn, target) if c not in skip]
    row = sql.SQL("md5(ROW({})::text)").format(sql.SQL(", ").join(parts))
    query = sql.SQL(
        "WITH h AS (SELECT {id} AS id, {row} AS d, row_number() OVER (PARTITION BY {row} ORDER BY {id}) AS n "
        "FROM {t} AS c WHERE {where}), "
        "l AS (SELECT {row} AS d, count(*) AS n FROM {t} AS c WHERE {where_lacks} GROUP BY 1) "
        "SELECT h.id, count(*) OVER () AS total FROM h LEFT JOIN l ON l.d = h.d WHERE {missing} "
        "ORDER BY h.id {limit}"
    ).format(missing=sql.SQL("h.n > coalesce(l.n, 0)" if by == CONTENT else "l.d IS NULL"), id=target.chunk_id, row=row, t=target.chunk_table, where=target.chunk_filter(),
             where_lacks=_filter_for(conn, target, "lacks"), limit=sql.SQL("LIMIT {}").format(sql.Literal(limit)) if limit is not None else sql.SQL(""))
    rows = conn.execute(query, {"collection": have, "lacks": lacks}).fetchall()
    total = int(rows[0]["total"]) if rows else 0
    return total, [Offender(r["id"], have) for r in rows]


def _filter_for(conn: Conn, target: Target, param: str) -> sql.Composable:
    """The collection filter bound to another parameter name (profile values cannot hold '%', so this is exact)."""
    return sql.SQL(target.chunk_filter().as_string(conn).replace("%(collection)s", f"%({param})s"))


def matches_live(session: CheckSession, new: str, live: str) -> Outcome:
    """``new`` holds what ``live`` holds now: the same chunks (a copy) or the same sources (a re-chunk), compared in
    each tenant's view under per-tenant row-level security (unproven unless those views are every tenant's)."""
    with session.read_only() as conn:
        by = comparison(conn, session.target, new)
    if by is None:
        return unproven("matches_live", new, f"{new} was not made by backfill --into (so it is not compared chunk "
                        f"by chunk) and the profile names no chunks.sources to compare by; whether it holds "
                        f"everything {live} holds now cannot be proven")
    added, gone = 0, 0
    in_live: list[Offender] = []
    in_new: list[Offender] = []
    for tenant in session.tenants:
        with session.read_only(tenant) as conn:
            more, shown = differences(conn, session.target, live, new, by=by)
            added, in_live = added + more, in_live + shown
            more, shown = differences(conn, session.target, new, live, by=by)
            gone, in_new = gone + more, in_new + shown
    what = "chunks (content and text)" if by == CONTENT else f"sources ({', '.join(session.profile.chunks.sources)})"
    offenders = [Offender(o.id, o.collection, detail="added or edited in live since the new collection was filled")
                 for o in in_live]
    offenders += [Offender(o.id, o.collection, detail="no longer in live (deleted or edited there)") for o in in_new]
    measured = verdict("matches_live", new, added == 0 and gone == 0,
                       expected=f"the same {what} as {live} holds now",
                       found=f"{added} chunks of {live} missing or different in {new}, {gone} chunks of {new} no longer in {live}",
                       offenders=offenders, total=added + gone,
                       metrics={"live_only": added, "new_only": gone, "by": by})
    # Rows of a tenant not listed are in neither side's views: live's would be left behind by the swap.
    return session.partial("matches_live", new, session.partial("matches_live", live, measured))
