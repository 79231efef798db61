"""Source coverage: every row of the source table has chunks, every chunk's source row exists (no chunks of a deleted
document left behind), and none waits in the library's queue (pgai)."""

from __future__ import annotations

from psycopg import sql

from .. import collection_join
from ..db import one
from ..profile import Profile
from .outcome import MAX_SHOWN, OFFENDERS_CAP, Offender, Outcome, skipped, unproven, verdict
from .session import CheckSession
from .shape import source_chunks, source_match


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


def collection_of_source(profile: Profile) -> str | None:
    """The one collection ``source.chunk_filter`` keeps the source's chunks to, where it names the chunks.collection
    column's value (one table of every collection, a source table for one of them: ai-agentic-rag-nestjs' `vectors`,
    its `netflix-shows` rows cut from `netflix_shows`); None where it names none (or the column holds no names)."""
    src, ch = profile.source, profile.chunks
    if src is None or ch.collection is None or ch.collection_several or ch.collection_table is not None:
        return None
    kept = [v for column, v in src.chunk_filter if column == ch.collection]
    return str(kept[0]) if kept and isinstance(kept[0], (str, int)) and not isinstance(kept[0], bool) else None


def source_coverage(session: CheckSession, collection: str) -> Outcome:
    src, ch = session.profile.source, session.profile.chunks
    if src is None:
        return skipped("source_coverage", collection, "the profile names no source table (source.table)")
    kept_to = collection_of_source(session.profile)
    if kept_to is not None and kept_to != collection:
        # Its rows have no chunks here by the profile's own word: every one was failed as a row without chunks.
        return skipped("source_coverage", collection,
                       f"{src.table} is the source of collection {kept_to}'s chunks only (source.chunk_filter "
                       f"{ch.collection}: {kept_to}): no chunk of {collection} is one of its rows'")
    # Chunks row-level security hides are neither present nor missing to this role: a source row whose chunks it
    # cannot see proves nothing either way.
    if (hidden := session.unseen("source_coverage", collection)) is not None:
        return hidden
    exempt = None
    if session.per_tenant_rls:
        # Read tenant by tenant, a source row's chunks sit in one tenant's view and the source table may sit in every
        # view (or in its tenant's): only a role that sees every row at once can pair them.
        from .. import rls

        with session.read_only() as conn:
            exempt = rls.bypass_role(conn, session.profile)
        if exempt is None:
            return unproven("source_coverage", collection,
                            "chunks are read tenant by tenant under row-level security, so no single view shows "
                            "whether a source row has chunks in some tenant's view, and this role can become no role "
                            "exempt from row-level security (BYPASSRLS, superuser, or the owner without FORCE) that "
                            "sees them all; expected such a role granted to it")
    t = session.target
    key = sql.Identifier(src.key)
    source = sql.Identifier(src.schema, src.table)
    # Where the source places its rows in collections too (R2R's documents.collection_ids), only this collection's
    # rows must have chunks in it: a document of another collection has none here, rightly.
    mine = t.in_collection(sql.Identifier("s", src.collection), src.collection_array) if src.collection else sql.SQL("true")
    join = ch.collection_join
    if not src.collection and join is not None and join.chunk == src.held_by:
        # The join table keys the chunk's document (Quivr's knowledge_brain.knowledge_id): it places the source row too.
        mine = collection_join.member(ch, sql.Identifier("s", src.key))
    missing_q = sql.SQL("SELECT s.{k} AS id FROM {s} AS s WHERE {mine} AND NOT EXISTS "
                        "(SELECT 1 FROM {c} AS c WHERE {match} AND {f}) ORDER BY 1").format(
        k=key, s=source, mine=mine, c=t.chunk_table, match=source_match(t, "s"), f=t.chunk_filter())
    # A chunk whose source row is gone (or that names none): retrieval still returns a deleted document's text.
    orphans_q = sql.SQL("SELECT {id} AS id FROM {c} AS c WHERE {f} AND {mine} AND NOT EXISTS "
                        "(SELECT 1 FROM {s} AS s WHERE {match}) ORDER BY 1").format(
        id=t.chunk_id, c=t.chunk_table, f=t.chunk_filter(), mine=source_chunks(t), s=source, match=source_match(t, "s"))
    with session.read_only() as conn:
        if exempt is not None:  # until this read-only transaction ends
            rls.become(conn, exempt)
        if one(conn.execute("SELECT row_security_active(%s::regclass) AS on", (source.as_string(conn),)).fetchone())["on"]:
            return unproven("source_coverage", collection,
                            f"row-level security on {src.schema}.{src.table} applies to this role: the source rows it "
                            "hides are neither counted nor asked for chunks; expected a role exempt from it")
        rows = one(conn.execute(sql.SQL("SELECT count(*) AS n FROM {} AS s WHERE {}").format(source, mine),
                                {"collection": collection}).fetchone())["n"]
        missing = [r["id"] for r in conn.execute(missing_q, {"collection": collection}).fetchall()]
        orphans = [r["id"] for r in conn.execute(orphans_q, {"collection": collection}).fetchall()]
    # These keys are source rows', not chunks: named with their table (schema-qualified outside public).
    named = src.table if src.schema == "public" else f"{src.schema}.{src.table}"
    offenders = [Offender(i, collection, None, f"{src.table} row has no chunks", table=named) for i in missing[:MAX_SHOWN]]
    offenders += [Offender(i, collection, None, f"chunk names no {src.table} row ({src.held_by})")
                  for i in orphans[:OFFENDERS_CAP]]  # chunk keys: every one, for offenders.jsonl
    orphan_note = f"; {len(orphans)} chunks name no {src.table} row" if orphans else ""
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
        offenders += [Offender(i, collection, None, f"pending in pgai's queue {queue[0]}.{queue[1]}", table=named)
                      for i in pending[:MAX_SHOWN]]
        queue_note = f"; {len(pending)} pending in pgai's queue"
    total = len(missing) + len(pending) + len(orphans)
    # Read in database.session's view (not as an exempt role): chunks it hides are neither counted nor paired.
    checked = session.partial if exempt is None else (lambda check, collection, measured: measured)
    return checked("source_coverage", collection, verdict("source_coverage", collection, total == 0,
                   expected=f"every {src.table} row has chunks, every chunk's {src.table} row exists"
                   + (" and none is pending in pgai's queue" if src.queue else ""),
                   found=f"{rows} {src.table} rows, {len(missing)} without chunks{orphan_note}{queue_note}",
                   offenders=offenders, total=total,
                   metrics={"source_rows": rows, "without_chunks": len(missing), "orphans": len(orphans),
                            "pending": len(pending),
                            **({"read_as": exempt} if exempt else {})}))
