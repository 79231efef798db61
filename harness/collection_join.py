"""Collections held by a join table (``chunks.collection_join``): SQL over the chunk aliased ``c``.

Quivr keeps its chunks in ``vectors`` and places them in brains through ``knowledge_brain`` (the chunk's
``knowledge_id`` beside a ``brain_id``); others keep a ``brains_vectors`` row per chunk. A chunk is then in each
collection a row names, as with an array column, so these pieces stand where an array's would.
"""

from __future__ import annotations

from psycopg import sql

from .profile import ChunkTable, CollectionJoin, CollectionTable


def _parts(ch: ChunkTable) -> tuple[CollectionJoin, dict[str, sql.Composable]]:
    join = ch.collection_join
    assert join is not None and ch.collection is not None
    return join, dict(j=sql.Identifier(join.schema, join.table), key=sql.Identifier("j", join.key),
                      coll=sql.Identifier("j", ch.collection), chunk=sql.Identifier("c", join.chunk))


def held_keys(ch: ChunkTable) -> sql.Composed:
    """A sub-select of the values the chunk's join rows hold (collection keys, or names without a collection table)."""
    _, names = _parts(ch)
    return sql.SQL("SELECT {coll} FROM {j} AS j WHERE {key} = {chunk} AND {coll} IS NOT NULL").format(**names)


def names(ch: ChunkTable) -> sql.Composed:
    """The chunk's collections as text[]: the names of the collection table's rows its join rows key, else the values."""
    ct = ch.collection_table
    if ct is None:
        # DISTINCT: a join table without a unique key may hold a row twice, and the chunk is once in its collection.
        return sql.SQL("ARRAY(SELECT DISTINCT k::text FROM ({}) AS x(k))").format(held_keys(ch))
    return sql.SQL("ARRAY(SELECT ct.{name}::text FROM {t} AS ct WHERE ct.{ctkey} IN ({held}) AND ct.{name} IS NOT NULL)").format(
        name=sql.Identifier(ct.name), t=sql.Identifier(ct.schema, ct.table), ctkey=sql.Identifier(ct.key),
        held=held_keys(ch))


def member(ch: ChunkTable, value: sql.Composable | None = None) -> sql.Composed:
    """True for a chunk a join row places in ``%(collection)s``: a semi-join on the chunk's column, so an index on the
    join table's columns serves it and the chunk table is read once. ``value``: another row's value of the kind the
    join holds (a source row's key, where the join keys the chunk's document)."""
    join, parts = _parts(ch)
    if value is not None:
        parts["chunk"] = value
    ct: CollectionTable | None = ch.collection_table
    if ct is None:
        wanted = sql.SQL("{coll}::text = %(collection)s").format(**parts)
    else:
        wanted = sql.SQL("{coll} IN (SELECT ct.{ctkey} FROM {t} AS ct WHERE ct.{name}::text = %(collection)s)").format(
            ctkey=sql.Identifier(ct.key), t=sql.Identifier(ct.schema, ct.table), name=sql.Identifier(ct.name), **parts)
    return sql.SQL("{chunk} IN (SELECT {key} FROM {j} AS j WHERE {wanted})").format(wanted=wanted, **parts)


def in_any(ch: ChunkTable) -> sql.Composed:
    """True for a chunk some join row places in a collection (``chunks.filter: {collection: {not: null}}``)."""
    return sql.SQL("EXISTS ({})").format(held_keys(ch))


def described(ch: ChunkTable) -> str:
    """How ``chunks.collection`` puts a chunk in several collections, for messages."""
    if ch.collection_join is not None:
        return f"{ch.collection!r} is a column of the join table {ch.collection_join.table}"
    return f"'{ch.collection}[]' is an array"
