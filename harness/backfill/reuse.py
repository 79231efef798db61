"""Reuse before recompute: copy a live collection's chunks into a new one, and take unchanged vectors over.

A chunk whose text hash and model match an existing vector of another collection in the
same table gets that vector (copied inside Postgres) instead of a new embedding request.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from ..errors import ConfigError
from ..target import Target, _qualified


def require_into_shape(target: Target, into: str) -> None:
    """Refuse ``--into`` on a target whose chunks cannot be copied into a new collection."""
    if not target.profile.chunks.collection or target.inline:
        raise ConfigError(f"--into {into!r} needs a chunk table with a collection column and a separate embedding "
                          f"table; profile {target.profile.name!r} has neither, expected chunks.collection and embeddings.table")


def copy_chunks(conn: psycopg.Connection, target: Target, source: str, into: str) -> int:
    """Copy every chunk row of ``source`` into collection ``into`` (new keys from the table's default); return count."""
    ch = target.profile.chunks
    require_into_shape(target, into)
    columns = [
        r["attname"] for r in conn.execute(
            "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 "
            "AND NOT a.attisdropped AND a.attgenerated = '' AND a.attidentity <> 'a' ORDER BY a.attnum",
            (_qualified(ch.schema, ch.table),),
        ).fetchall()
        if r["attname"] != ch.id
    ]
    picks = [sql.Literal(into) if col == ch.collection else sql.Identifier(col) for col in columns]
    cur = conn.execute(
        sql.SQL("INSERT INTO {t} ({cols}) SELECT {picks} FROM {t} AS c WHERE {where}").format(
            t=target.chunk_table, cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
            picks=sql.SQL(", ").join(picks), where=target.chunk_filter(),
        ),
        {"collection": source},
    )
    return cur.rowcount


def reuse_vectors(conn: psycopg.Connection, target: Target, collection: str, model: str) -> int:
    """Give each chunk of ``collection`` needing embedding an existing vector with its text hash and model; return count."""
    em = target.profile.embeddings
    if target.inline or not em.input_hash or not em.model:
        return 0
    src = sql.Identifier("src")
    cols = [em.key, em.vector, em.input_hash, em.model] + [c for c in (em.collection, em.tenant) if c]
    ch = target.profile.chunks
    picks = [target.chunk_id, sql.SQL("{}.{}").format(src, sql.Identifier(em.vector)), target.text_hash, sql.SQL("%(model)s")]
    if em.collection:
        picks.append(target.collection_of_chunk())
    if em.tenant:
        picks.append(target.c(ch.tenant) if ch.tenant else sql.SQL("NULL"))
    # Replaced rows (stale or other model) are deleted first; the insert then takes whatever matched.
    aliased = sql.SQL(", ").join(sql.SQL("{} AS {}").format(p, sql.Identifier(f"a{i}")) for i, p in enumerate(picks))
    found = sql.SQL(
        "SELECT DISTINCT ON ({id}) {picks} FROM {join} JOIN {emb} AS src ON src.{h} = {hash} AND src.{m} = %(model)s "
        "AND src.{k} <> {id} WHERE {where} AND {needs} ORDER BY {id}"
    ).format(id=target.chunk_id, picks=aliased, join=target.join(), emb=target.embedding_table,
             h=sql.Identifier(em.input_hash), hash=target.text_hash, m=sql.Identifier(em.model),
             k=sql.Identifier(em.key), where=target.chunk_filter(), needs=target.needs_embedding())
    params = {"collection": collection, "model": model}
    conn.execute(sql.SQL("CREATE TEMP TABLE bh_reuse ON COMMIT DROP AS {}").format(found), params)
    match = [sql.SQL("e.{k} = r.a0").format(k=sql.Identifier(em.key))]
    if em.collection:
        match.append(sql.SQL("e.{c}::text = r.a4::text").format(c=sql.Identifier(em.collection)))
    conn.execute(sql.SQL("DELETE FROM {emb} AS e USING bh_reuse AS r WHERE {m}").format(
        emb=target.embedding_table, m=sql.SQL(" AND ").join(match)))
    cur = conn.execute(sql.SQL("INSERT INTO {emb} ({cols}) SELECT * FROM bh_reuse").format(
        emb=target.embedding_table, cols=sql.SQL(", ").join(map(sql.Identifier, cols))))
    return cur.rowcount
