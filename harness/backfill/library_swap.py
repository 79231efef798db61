"""Model changes on stores a library owns, done the library's way: LangChain's collections are rows of their own.

langchain-postgres reads a collection by its name in ``langchain_pg_collection``. A new collection is a new row
there plus copies of the live rows (new ids, no vectors yet) for the engine to fill; a swap renames the two rows
in one transaction (LIVE -> LIVE__retired, NEW -> LIVE), so ``PGVector(collection_name=LIVE)`` reads the new
vectors from its next query; a rollback renames them back; dropping the retired row deletes its embeddings.
"""

from __future__ import annotations

from typing import cast
from psycopg import sql

from ..db import Conn, one
from ..errors import ConfigError
from ..profile import CollectionTable
from ..target import Target


def is_langchain(target: Target) -> bool:
    """A chunk table whose collections are rows of a collection table keyed by uuid (langchain_pg_collection)."""
    ct = target.profile.chunks.collection_table
    return ct is not None and target.inline


def _collection_table(target: Target) -> CollectionTable:
    """The profile's collection table: callers act only where is_langchain() holds, so it is set."""
    return cast(CollectionTable, target.profile.chunks.collection_table)


def copy_collection(conn: Conn, target: Target, source: str, into: str) -> int:
    """Create collection ``into`` as LangChain does (a new collection row) holding ``source``'s rows without vectors."""
    ch, ct = target.profile.chunks, _collection_table(target)
    table = sql.Identifier(ct.schema, ct.table)
    row = conn.execute(sql.SQL("SELECT {key} AS key FROM {t} WHERE {name} = %s").format(
        key=sql.Identifier(ct.key), t=table, name=sql.Identifier(ct.name)), (into,)).fetchone()
    if row is not None:
        raise ConfigError(f"collection {into!r} already exists in {ct.table}; expected a new name for --into")
    # LangChain's own row shape: a fresh uuid and the live collection's metadata.
    new_key = conn.execute(sql.SQL(
        "INSERT INTO {t} ({key}, {name}, cmetadata) SELECT gen_random_uuid(), %s, cmetadata FROM {t} WHERE {name} = %s "
        "RETURNING {key} AS key").format(t=table, key=sql.Identifier(ct.key), name=sql.Identifier(ct.name)),
        (into, source)).fetchone()
    if new_key is None:
        raise ConfigError(f"collection {source!r} does not exist in {ct.table}; expected the live collection's name")
    em = target.profile.embeddings
    columns = [r["attname"] for r in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum", (f'"{ch.schema}"."{ch.table}"',)).fetchall()]
    picks: list[sql.Composable] = []
    for col in columns:
        if col == ch.id:
            picks.append(sql.SQL("gen_random_uuid()::text"))  # LangChain's ids are uuid strings
        elif col == ch.collection:
            picks.append(sql.Literal(new_key["key"]))
        elif col == em.vector:
            picks.append(sql.SQL("NULL"))
        else:
            picks.append(sql.Identifier(col))
    return conn.execute(sql.SQL("INSERT INTO {t} ({cols}) SELECT {picks} FROM {t} AS c WHERE {where}").format(
        t=target.chunk_table, cols=sql.SQL(", ").join(map(sql.Identifier, columns)), picks=sql.SQL(", ").join(picks),
        where=target.chunk_filter()), {"collection": source}).rowcount


def rename(conn: Conn, target: Target, pairs: list[tuple[str, str]]) -> int:
    """Rename collection rows (old, new) in order, inside the caller's transaction; return the chunks now under the last."""
    ct = _collection_table(target)
    for old, new in pairs:
        done = conn.execute(sql.SQL("UPDATE {t} SET {name} = %s WHERE {name} = %s").format(
            t=sql.Identifier(ct.schema, ct.table), name=sql.Identifier(ct.name)), (new, old)).rowcount
        if done != 1:
            raise ConfigError(f"collection {old!r} does not exist in {ct.table}; nothing was swapped")
    return one(conn.execute(sql.SQL("SELECT count(*) AS n FROM {} AS c WHERE {}").format(
        target.chunk_table, target.chunk_filter()), {"collection": pairs[-1][1]}).fetchone())["n"]


def drop(conn: Conn, target: Target, collection: str) -> int:
    """Delete a collection's rows and its collection row; return the rows deleted."""
    ct = _collection_table(target)
    rows = conn.execute(sql.SQL("DELETE FROM {} AS c WHERE {}").format(target.chunk_table, target.chunk_filter()),
                        {"collection": collection}).rowcount
    conn.execute(sql.SQL("DELETE FROM {t} WHERE {name} = %s").format(
        t=sql.Identifier(ct.schema, ct.table), name=sql.Identifier(ct.name)), (collection,))
    return rows
