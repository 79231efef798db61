"""Reuse before recompute: copy a live collection's chunks into a new one, and take unchanged vectors over.

A chunk whose text hash and model match an existing vector of another collection in the
same table gets that vector (copied inside Postgres) instead of a new embedding request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from .. import db as dbmod
from ..checks.live import content_columns, differences
from ..db import Conn, one
from ..errors import ProviderError
from ..model_names import is_model
from ..profile import LENGTH_DISTANCES
from ..target import Target
from .writer import may_rewrite, referenced, stamp, stamped, triggers, vector_tick


def require_into_shape(target: Target, into: str) -> None:
    """Refuse ``--into`` on a target whose chunks cannot be copied into a new collection (the preflight's rule)."""
    from ..preflight import into_shape_outcome, require

    if (shape := into_shape_outcome(target, None, into)) is not None:
        require([shape])


def _insert_copy(conn: Conn, target: Target, into: str, where: sql.Composable) -> sql.Composed:
    ch = target.profile.chunks
    columns = content_columns(conn, target)
    picks = [sql.Literal(into) if col == ch.collection else sql.Identifier(col) for col in columns]
    return sql.SQL("INSERT INTO {t} ({cols}) SELECT {picks} FROM {t} AS c WHERE {where}").format(
        t=target.chunk_table, cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
        picks=sql.SQL(", ").join(picks), where=where)


def copy_chunks(conn: Conn, target: Target, source: str, into: str) -> int:
    """Copy every chunk row of ``source`` into collection ``into`` (new keys from the table's default); return count."""
    from . import library_swap

    if library_swap.is_langchain(target):
        return library_swap.copy_collection(conn, target, source, into)
    require_into_shape(target, into)
    return conn.execute(_insert_copy(conn, target, into, target.chunk_filter()), {"collection": source}).rowcount


COPY_PIECE = 5_000  # chunks copied per transaction by backfill --into


def copy_bounds(conn: Conn, target: Target, source: str, after: Any, piece: int) -> list[Any]:
    """The last key of each piece of ``piece`` chunks of ``source`` after key ``after`` (None: from the first), in
    key order: one sorted pass, so each piece is then a closed key range the planner reads by itself."""
    rows = conn.execute(sql.SQL(
        "SELECT k FROM (SELECT {id} AS k, row_number() OVER (ORDER BY {id}) AS rn, count(*) OVER () AS n "
        "FROM {t} AS c WHERE {where} AND (%(start)s OR {id} > %(after)s)) AS s "
        "WHERE rn %% %(piece)s = 0 OR rn = n ORDER BY rn").format(
            id=target.chunk_id, t=target.chunk_table, where=target.chunk_filter()),
        {"collection": source, "start": after is None, "after": after, "piece": piece}).fetchall()
    return [r["k"] for r in rows]


def copy_piece(conn: Conn, target: Target, source: str, into: str, after: Any, last: Any) -> int:
    """Copy the chunks of ``source`` with keys after ``after`` (None: from the first) up to ``last`` into ``into``."""
    require_into_shape(target, into)
    where = sql.SQL("{} AND (%(start)s OR {id} > %(after)s) AND {id} <= %(last)s").format(
        target.chunk_filter(), id=target.chunk_id)
    return conn.execute(_insert_copy(conn, target, into, where),
                        {"collection": source, "start": after is None, "after": after, "last": last}).rowcount


PIECE = 5_000  # reused vectors committed per transaction, so no single transaction spans the whole collection
PROBES = 8  # vectors found to take over that are re-embedded first: what this profile composes must reproduce them


def _not_made_so(conn: Conn, target: Target, collection: str, probe: Callable[[list[str]], Any]) -> str | None:
    """Why the vectors found for ``collection`` are not what this profile's run writes (None: the probed ones are).

    The input hash is of the text as stored, not of what is sent (a task prefix, the newline rule, a requested width):
    a profile changed in those and run --into took every old vector over, made from another input. A few are
    re-embedded as the run would embed them and held to recompute's rule (``recompute.off`` at ``EXACT``); texts with
    a newline first, the only ones the newline rule changes."""
    from ..checks.recompute import EXACT, cosine, length_ratio, off

    text = target.text
    rows = conn.execute(sql.SQL(
        "SELECT {text} AS text, ({v})::vector::real[] AS v FROM bh_reuse AS r JOIN {c} AS c ON {id} = r.a0 "
        "WHERE {f} ORDER BY strpos({text}, chr(10)) > 0 DESC, r.rn LIMIT {n}").format(
            text=text, v=target.model_part(sql.SQL("r.a1")), c=target.chunk_table, id=target.chunk_id,
            f=target.chunk_filter(), n=sql.Literal(PROBES)), {"collection": collection}).fetchall()
    if not rows:
        return None
    try:
        made = probe([r["text"] for r in rows])
    except ProviderError as exc:
        return f"the provider did not re-embed {len(rows)} of them to compare: {exc}"
    from ..provider import unusable

    lengths = target.profile.distance in LENGTH_DISTANCES
    # A NaN cosine is below no floor: a probe the model answers no usable vector for proves nothing (``unusable``).
    blind = dict(unusable(np.asarray(made, dtype=np.float64)))
    for i, (row, new) in enumerate(zip(rows, made)):
        stored, fresh = np.asarray(row["v"], dtype=np.float64), np.asarray(new, dtype=np.float64)
        sim = cosine(stored, fresh) if i not in blind else None
        why = (f"no usable vector ({blind[i]})" if i in blind else "another dimension" if sim is None
               else off(sim, length_ratio(stored, fresh), EXACT, lengths=lengths))
        if why is not None:
            return (f"a text the profile composes re-embeds to {why} against the vector found for it (of {len(rows)} "
                    "probed): those vectors were made from another input (a task prefix, the newline rule or a "
                    "requested width other than this profile's) or by other weights under the model's name")
    return None


def reuse_vectors(conn: Conn, target: Target, collection: str, model: str,
                  guard: Callable[[Conn], None] = lambda conn: None, piece: int = PIECE,
                  extra: Sequence[tuple[str, sql.Composable]] = (), session: Mapping[str, str] | None = None,
                  probe: Callable[[list[str]], Any] | None = None, notes: list[str] | None = None) -> int:
    """Give each chunk of ``collection`` needing embedding an existing vector with its text hash and model; return count.

    Linear in rows: each needing chunk's text is hashed once into a temporary table, which is analysed and
    hash-joined to the embeddings on (hash, model); the vectors are then written in pieces of ``piece`` rows,
    each its own transaction (``guard`` first: the run still holds its lock). ``extra``: (column, expression) pairs
    the profile fills (``embeddings.defaults``, the dimension column); ``session``: row-level-security settings
    applied in every transaction; ``probe``: the run's embedding of texts, which must reproduce the vectors found
    (``_not_made_so``) before any is taken over, else none is and ``notes`` says why.
    """
    em = target.profile.embeddings
    # With embeddings.input_hash_of the hash is of other columns than the text embedded (an app hashing a body and
    # embedding it with its title): an equal hash is no equal text, so no vector is the same text's to take over.
    if target.inline or not em.input_hash or not em.model or em.filter or em.input_hash_of:
        return 0
    cols = [em.key, em.vector, em.input_hash, em.model] + [c for c in (em.collection, em.tenant) if c]
    ch = target.profile.chunks
    # the hash as the column renders it as text (hex, or a bytea's digest): compared with each stored value as text,
    # and the matched row's own value is what is copied (already in the column's type and case)
    picks = [target.chunk_id, target.hash_algorithm.stored_text_sql(target.e(em.input_hash), target.hashed_text)]
    if em.collection:
        picks.append(target.stored_collection())
    if em.tenant:
        picks.append(target.c(ch.tenant) if ch.tenant else sql.SQL("NULL"))
    names = ["id", "h"] + (["coll"] if em.collection else []) + (["ten"] if em.tenant else [])
    aliased = sql.SQL(", ").join(sql.SQL("{} AS {}").format(p, sql.Identifier(n)) for p, n in zip(picks, names))
    params = {"collection": collection, "model": model}
    with conn.transaction():
        dbmod.apply_session(conn, session or {})
        # Nothing to take over when no vector of this model is stored at all (a first load): then the pass that
        # hashes every chunk needing a vector is skipped (issue #12: 0.8-1.2 s of a 200,000-row load).
        if not one(conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {emb} WHERE {m} AND {v}) AS any").format(
                emb=target.embedding_table, m=is_model(sql.Identifier(em.model)),
                v=target.embeds_something(sql.Identifier(em.vector))), params).fetchone())["any"]:
            return 0
        # The texts are hashed now: a reused vector's time (where the engine writes one) is this read's.
        read_at = one(conn.execute("SELECT now() AS t").fetchone())["t"]
        conn.execute("DROP TABLE IF EXISTS bh_need, bh_reuse")
        conn.execute(sql.SQL("CREATE TEMP TABLE bh_need AS SELECT {picks} FROM {join} WHERE {where} AND {needs}").format(
            picks=aliased, join=target.join(), where=target.chunk_filter(), needs=target.needs_embedding()), params)
        conn.execute("ANALYZE bh_need")
        src = [sql.SQL("n.id"), sql.SQL("src.{}").format(sql.Identifier(em.vector)),
               sql.SQL("src.{}").format(sql.Identifier(em.input_hash)), sql.SQL("%(model)s")]
        src += [sql.SQL("n.{}").format(sql.Identifier(n)) for n in names[2:]]
        conn.execute(sql.SQL(
            "CREATE TEMP TABLE bh_reuse AS SELECT row_number() OVER (ORDER BY a0) AS rn, * FROM ("
            "SELECT DISTINCT ON (n.id) {src} FROM bh_need AS n JOIN {emb} AS src ON src.{h}::text = n.h "
            "AND {m} AND {v} AND src.{k} <> n.id ORDER BY n.id) AS found"
        ).format(src=sql.SQL(", ").join(sql.SQL("{} AS {}").format(e, sql.Identifier(f"a{i}")) for i, e in enumerate(src)),
                 emb=target.embedding_table, h=sql.Identifier(em.input_hash), m=is_model(sql.Identifier("src", em.model)),
                 # an all-zero vector (an application's failed embedding) or none is nothing to take over
                 v=target.embeds_something(sql.Identifier("src", em.vector)), k=sql.Identifier(em.key)), params)
        total = one(conn.execute("SELECT count(*) AS n FROM bh_reuse").fetchone())["n"]
        conn.execute("CREATE INDEX ON bh_reuse (rn)")
        conn.execute("ANALYZE bh_reuse")
        if total and probe is not None and (why := _not_made_so(conn, target, collection, probe)) is not None:
            if notes is not None:
                notes.append(f"{total} vectors of the same text hash and model were not taken over: {why}; they are "
                             "embedded again")
            total = 0
    match = [sql.SQL("e.{k} = r.a0").format(k=sql.Identifier(em.key))]
    if em.collection:
        match.append(sql.SQL("e.{c}::text = r.a4::text").format(c=sql.Identifier(em.collection)))
    if (column := stamped(target)) is not None and column not in {c for c, _ in extra}:
        extra = [*extra, (column, stamp(target, read_at, tick=vector_tick(conn, target)))]
    values = sql.SQL(", ").join([sql.Identifier(f"a{i}") for i in range(len(cols))] + [e for _, e in extra])
    cols = cols + [c for c, _ in extra]
    in_place = referenced(conn, target)
    # A trigger or rule may write another vector than the one taken over (``writer.may_rewrite``): each piece's rows
    # are then compared as stored with the vectors sent, its deferred constraint triggers fired first.
    fired = triggers(conn, target)
    checked, deferred = may_rewrite(fired), fired.deferred
    lost = sql.SQL("SELECT count(*) AS n FROM bh_reuse AS r WHERE r.rn > %(lo)s AND r.rn <= %(hi)s AND NOT EXISTS "
                   "(SELECT 1 FROM {emb} AS e WHERE {m} AND {held})").format(
        emb=target.embedding_table, m=sql.SQL(" AND ").join(match),
        held=target.holds_sent(sql.SQL("e.{}").format(sql.Identifier(em.vector)), sql.SQL("r.a1")))
    written, refused = 0, False
    for lo in range(0, total, piece):
        bounds = {"lo": lo, "hi": lo + piece}
        before = written
        with conn.transaction():
            guard(conn)
            if deferred:
                conn.execute(sql.SQL("SET CONSTRAINTS {} IMMEDIATE").format(sql.SQL(", ").join(deferred)))
            dbmod.apply_session(conn, session or {})
            if in_place:
                # Rows other tables reference (``writer.referenced``) take the vector where they are: deleting them
                # deleted the application's rows referencing them (ON DELETE CASCADE) or unlinked them.
                # each chunk once, however many rows it holds (a second one stays, counted as a duplicate)
                written += one(conn.execute(sql.SQL(
                    "WITH up AS (UPDATE {emb} AS e SET ({cols}) = ROW({values}) FROM bh_reuse AS r WHERE r.rn > %(lo)s "
                    "AND r.rn <= %(hi)s AND {m} RETURNING r.rn) SELECT count(DISTINCT rn) AS n FROM up").format(
                    emb=target.embedding_table, cols=sql.SQL(", ").join(map(sql.Identifier, cols[1:])),
                    values=sql.SQL(", ").join([sql.SQL("r.{}").format(sql.Identifier(f"a{i}"))
                                               for i in range(1, len(cols) - len(extra))] + [e for _, e in extra]),
                    m=sql.SQL(" AND ").join(match)), bounds).fetchone())["n"]
                kept: sql.Composable = sql.SQL(" AND NOT EXISTS (SELECT 1 FROM {emb} AS e WHERE {m})").format(
                    emb=target.embedding_table, m=sql.SQL(" AND ").join(match))
            else:
                # Replaced rows (stale or other model) are deleted first; the insert then takes whatever matched.
                conn.execute(sql.SQL("DELETE FROM {emb} AS e USING bh_reuse AS r WHERE r.rn > %(lo)s AND r.rn <= %(hi)s "
                                     "AND {m}").format(emb=target.embedding_table, m=sql.SQL(" AND ").join(match)), bounds)
                kept = sql.SQL("")
            written += conn.execute(sql.SQL("INSERT INTO {emb} ({cols}) SELECT {values} FROM bh_reuse AS r "
                                            "WHERE rn > %(lo)s AND rn <= %(hi)s{kept}").format(
                emb=target.embedding_table, cols=sql.SQL(", ").join(map(sql.Identifier, cols)), values=values,
                kept=kept), bounds).rowcount
            if checked and (n := one(conn.execute(lost, bounds).fetchone())["n"]):
                if notes is not None:
                    notes.append(f"{n} of {min(piece, total - lo)} vectors of the same text hash and model taken over "
                                 "were not kept as sent (a trigger or rule of the table replaced or dropped them): "
                                 f"no more is taken over, the {total - lo} left are embedded again")
                written, refused = before, True
                raise psycopg.Rollback()  # this piece undone; the run's own writes compare each row with what it sent
        if refused:
            break
    with conn.transaction():
        conn.execute("DROP TABLE IF EXISTS bh_need, bh_reuse")
        if written:
            # The selection that follows joins this table: without fresh statistics the planner picks nested loops.
            conn.execute(sql.SQL("ANALYZE {}").format(target.embedding_table))
    return written


def sync_chunks(conn: Conn, target: Target, source: str, into: str) -> tuple[int, int]:
    """Make ``into`` hold exactly ``source``'s chunks as they are now: copy the ones added or edited in ``source``
    since, delete the ones it no longer has (with their vectors); return (copied, removed)."""
    em = target.profile.embeddings
    _, gone = differences(conn, target, into, source, limit=None)
    _, added = differences(conn, target, source, into, limit=None)
    if gone:
        keys = [o.id for o in gone]
        if not target.inline:
            match = sql.SQL("{} = ANY(%(keys)s)").format(sql.Identifier(em.key))
            if em.collection:
                match = sql.SQL("{} AND {}::text = %(into)s").format(match, sql.Identifier(em.collection))
            conn.execute(sql.SQL("DELETE FROM {} WHERE {}").format(target.embedding_table, match), {"keys": keys, "into": into})
        conn.execute(sql.SQL("DELETE FROM {t} AS c WHERE {id} = ANY(%(keys)s)").format(t=target.chunk_table, id=target.chunk_id),
                     {"keys": keys})
    if added:
        conn.execute(_insert_copy(conn, target, into, sql.SQL("{} = ANY(%(keys)s)").format(target.chunk_id)),
                     {"keys": [o.id for o in added]})
    return len(added), len(gone)
