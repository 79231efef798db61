"""Whether one collection holds exactly the chunks of another as they are now: the check a swap must pass.

Chunks of two collections are compared by their content: every column a copy carries over
(all but the key, the collection column and generated columns), digested per row in Postgres and
compared as multisets with one hash join, so it is linear in rows. A live chunk added or edited
after the new collection was filled has no equal there; a chunk deleted from live still has one in new.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from ..target import Target, _qualified
from .outcome import MAX_SHOWN, Offender, Outcome, verdict
from .session import CheckSession


def content_columns(conn: psycopg.Connection, target: Target) -> list[str]:
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


def differences(conn: psycopg.Connection, target: Target, have: str, lacks: str,
                limit: int | None = MAX_SHOWN) -> tuple[int, list[Offender]]:
    """Chunks of ``have`` with no equal chunk (same content) in ``lacks``: (how many, the first ``limit``, None: all)."""
    ch = target.profile.chunks
    columns = [c for c in content_columns(conn, target) if c != ch.collection]
    row = sql.SQL("md5(ROW({})::text)").format(sql.SQL(", ").join(sql.SQL("c.{}").format(sql.Identifier(c)) for c in columns))
    query = sql.SQL(
        "WITH h AS (SELECT {id} AS id, {row} AS d, row_number() OVER (PARTITION BY {row} ORDER BY {id}) AS n "
        "FROM {t} AS c WHERE {where}), "
        "l AS (SELECT {row} AS d, count(*) AS n FROM {t} AS c WHERE {where_lacks} GROUP BY 1) "
        "SELECT h.id, count(*) OVER () AS total FROM h LEFT JOIN l ON l.d = h.d WHERE h.n > coalesce(l.n, 0) "
        "ORDER BY h.id {limit}"
    ).format(id=target.chunk_id, row=row, t=target.chunk_table, where=target.chunk_filter(),
             where_lacks=_filter_for(conn, target, "lacks"), limit=sql.SQL("LIMIT {}").format(sql.Literal(limit)) if limit is not None else sql.SQL(""))
    rows = conn.execute(query, {"collection": have, "lacks": lacks}).fetchall()
    total = int(rows[0]["total"]) if rows else 0
    return total, [Offender(r["id"], have) for r in rows]


def _filter_for(conn: psycopg.Connection, target: Target, param: str) -> sql.Composable:
    """The collection filter bound to another parameter name (profile values cannot hold '%', so this is exact)."""
    return sql.SQL(target.chunk_filter().as_string(conn).replace("%(collection)s", f"%({param})s"))


def matches_live(session: CheckSession, new: str, live: str) -> Outcome:
    """``new`` holds exactly the chunks ``live`` holds now (none added, edited or deleted in live since the copy)."""
    with session.read_only() as conn:
        added, in_live = differences(conn, session.target, live, new)
        gone, in_new = differences(conn, session.target, new, live)
    offenders = [Offender(o.id, o.collection, detail="added or edited in live since the new collection was filled")
                 for o in in_live]
    offenders += [Offender(o.id, o.collection, detail="no longer in live (deleted or edited there)") for o in in_new]
    return verdict("matches_live", new, added == 0 and gone == 0,
                   expected=f"the same chunks (content and text) as {live} holds now",
                   found=f"{added} chunks of {live} missing or different in {new}, {gone} chunks of {new} no longer in {live}",
                   offenders=offenders, total=added + gone, metrics={"live_only": added, "new_only": gone})
