"""Model changes on stores a library owns, done the library's way: a collection row (LangChain) or a table (LlamaIndex).

langchain-postgres reads a collection by its name in ``langchain_pg_collection``. A new collection is a new row
there plus copies of the live rows (new ids, no vectors yet) for the engine to fill; a swap renames the two rows
in one transaction (LIVE -> LIVE__retired, NEW -> LIVE), so ``PGVector(collection_name=LIVE)`` reads the new
vectors from its next query; a rollback renames them back; dropping the retired row deletes its embeddings.

LlamaIndex's ``PGVectorStore(table_name=T)`` reads table ``data_T`` (``chunks.collection_tables``): a new collection
is a new table made like the live one (its own id sequence, the vector column typed for the new model) holding the
live rows without vectors; a swap renames the two tables in one transaction, a rollback renames them back.
"""

from __future__ import annotations

import dataclasses
from typing import cast

from psycopg import sql

from ..db import Conn, one
from ..errors import ConfigError
from ..checks.outcome import Offender, Outcome, verdict
from ..profile import CollectionTable, Profile
from ..target import Target


def is_langchain(target: Target) -> bool:
    """A chunk table whose collections are rows of a collection table keyed by uuid (langchain_pg_collection), one
    key per chunk (a chunk in several, through an array, cannot be copied into one new collection)."""
    ct = target.profile.chunks.collection_table
    return ct is not None and target.inline and not target.profile.chunks.collection_several


def copies_chunks(target: Target) -> bool:
    """--into copies the chunks into their own table under the new collection's name (``reuse.copy_chunks``), where
    LangChain's files its copies under a new collection row and LlamaIndex's (``per_table``) and pgai's fill a table
    of their own."""
    from .pgai_swap import is_pgai

    return not (is_langchain(target) or per_table(target) or is_pgai(target))


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
    # The live collection's row with a new name and a fresh key of the key column's type (LangChain: a uuid); its
    # other columns (LangChain's cmetadata) copied as they are.
    others = [c["name"] for c in _columns(conn, ct.schema, ct.table) if c["name"] not in (ct.key, ct.name)]
    new_key = conn.execute(sql.SQL(
        "INSERT INTO {t} ({key}, {name}{others}) SELECT {fresh}, %s{others} FROM {t} WHERE {name} = %s "
        "RETURNING {key} AS key").format(
        t=table, key=sql.Identifier(ct.key), name=sql.Identifier(ct.name),
        fresh=_fresh_key(conn, ct.schema, ct.table, ct.key),
        others=sql.SQL("").join(sql.SQL(", {}").format(sql.Identifier(c)) for c in others)),
        (into, source)).fetchone()
    if new_key is None:
        raise ConfigError(f"collection {source!r} does not exist in {ct.table}; expected the live collection's name")
    em = target.profile.embeddings
    columns = [c["name"] for c in _columns(conn, ch.schema, ch.table)]
    picks: list[sql.Composable] = []
    for col in columns:
        if col == ch.id:
            picks.append(_fresh_key(conn, ch.schema, ch.table, col))
        elif col == ch.collection:
            picks.append(sql.Literal(new_key["key"]))
        elif col == em.vector:
            picks.append(sql.SQL("NULL"))
        else:
            picks.append(sql.Identifier(col))
    return conn.execute(sql.SQL("INSERT INTO {t} ({cols}) SELECT {picks} FROM {t} AS c WHERE {where}").format(
        t=target.chunk_table, cols=sql.SQL(", ").join(map(sql.Identifier, columns)), picks=sql.SQL(", ").join(picks),
        where=target.chunk_filter()), {"collection": source}).rowcount


def _columns(conn: Conn, schema: str, table: str) -> list[dict]:
    return conn.execute(
        "SELECT attname AS name, format_type(atttypid, atttypmod) AS type, atthasdef AS has_default "
        "FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        (f'"{schema}"."{table}"',)).fetchall()


def _serial(conn: Conn, schema: str, table: str, column: str) -> bool:
    return one(conn.execute("SELECT pg_get_serial_sequence(%s, %s) IS NOT NULL AS ok",
                            (f'"{schema}"."{table}"', column)).fetchone())["ok"]


def _fresh_key(conn: Conn, schema: str, table: str, column: str) -> sql.Composable:
    """A new key as the library makes one, of the column's type: a uuid (langchain-community's ``uuid``), its text
    (langchain-postgres' varchar ``id``), or the next value of the column's own sequence."""
    col = next(c for c in _columns(conn, schema, table) if c["name"] == column)
    if col["type"] == "uuid":
        return sql.SQL("gen_random_uuid()")
    if col["type"] in ("text", "character varying") or col["type"].startswith(("character varying(", "varchar")):
        return sql.SQL("gen_random_uuid()::text")
    if _serial(conn, schema, table, column):  # an identity or serial column: its own sequence
        return sql.SQL("nextval(pg_get_serial_sequence({}, {}))").format(sql.Literal(f'"{schema}"."{table}"'),
                                                                          sql.Literal(column))
    raise ConfigError(f"{schema}.{table}.{column} ({col['type']}) is neither uuid nor text and has no sequence: "
                      "expected a key column the copies of --into can be given new values in")


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


# -- a collection per table (LlamaIndex) -------------------------------------------------


def per_table(target: Target) -> bool:
    """Each collection is a table of its own (``chunks.collection_tables``), its vectors inline."""
    return target.profile.chunks.collection_tables is not None and target.inline


def for_collection(profile: Profile, collection: str) -> Profile:
    """The profile reading collection ``collection``: its own table, by the profile's pattern."""
    ch, em = profile.chunks, profile.embeddings
    table = cast(str, ch.collection_tables).replace("{collection}", collection)
    return dataclasses.replace(profile, chunks=dataclasses.replace(ch, table=table, collection_name=collection),
                               embeddings=dataclasses.replace(em, table=table))


def _exists(conn: Conn, schema: str, table: str) -> bool:
    return one(conn.execute("SELECT to_regclass(%s) IS NOT NULL AS ok", (f'"{schema}"."{table}"',)).fetchone())["ok"] is True


def create_table(conn: Conn, live: Target, new: Target, dims: int | None) -> int:
    """Make NEW's table like LIVE's (columns, defaults, constraints, indexes), with an id sequence of its own and the
    vector column typed ``vector(dims)``, holding LIVE's rows without vectors; return the rows copied."""
    lc, nc, em = live.profile.chunks, new.profile.chunks, live.profile.embeddings
    if _exists(conn, nc.schema, nc.table):
        raise ConfigError(f"table {nc.schema}.{nc.table} already exists; expected a new collection name for --into")
    conn.execute(sql.SQL("CREATE TABLE {n} (LIKE {l} INCLUDING ALL)").format(n=new.chunk_table, l=live.chunk_table))
    # LIKE copies the id default, nextval of LIVE's sequence: NEW gets its own, so dropping either table keeps the other.
    serial = conn.execute("SELECT pg_get_serial_sequence(%s, %s) AS seq", (f'"{lc.schema}"."{lc.table}"', lc.id)).fetchone()
    if serial is not None and serial["seq"]:
        seq = sql.Identifier(nc.schema, f"{nc.table}_{nc.id}_seq")
        conn.execute(sql.SQL("CREATE SEQUENCE {s} OWNED BY {t}.{c}").format(s=seq, t=new.chunk_table, c=sql.Identifier(nc.id)))
        conn.execute(sql.SQL("ALTER TABLE {t} ALTER {c} SET DEFAULT nextval({s})").format(
            t=new.chunk_table, c=sql.Identifier(nc.id), s=sql.Literal(f'"{nc.schema}"."{nc.table}_{nc.id}_seq"')))
    if dims is not None:
        conn.execute(sql.SQL("ALTER TABLE {t} ALTER {v} TYPE vector({d})").format(
            t=new.chunk_table, v=sql.Identifier(em.vector), d=sql.Literal(int(dims))))
    columns = [r["attname"] for r in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped "
        "AND attgenerated = '' ORDER BY attnum", (f'"{lc.schema}"."{lc.table}"',)).fetchall()]
    picks = [sql.SQL("NULL") if col == em.vector else sql.Identifier(col) for col in columns]
    copied = conn.execute(sql.SQL("INSERT INTO {n} ({cols}) SELECT {picks} FROM {l} AS c WHERE {f}").format(
        n=new.chunk_table, cols=sql.SQL(", ").join(map(sql.Identifier, columns)), picks=sql.SQL(", ").join(picks),
        l=live.chunk_table, f=live.chunk_filter(collection_param=False))).rowcount
    if serial is not None and serial["seq"]:
        conn.execute(sql.SQL("SELECT setval({s}, greatest((SELECT max({c}) FROM {t}), 1))").format(
            s=sql.Literal(f'"{nc.schema}"."{nc.table}_{nc.id}_seq"'), c=sql.Identifier(nc.id), t=new.chunk_table))
    return copied


def matches_live_table(conn: Conn, new: Target, live: Target, only_extra: bool = False, exclude: tuple[str, ...] = (),
                       report: str | None = None) -> Outcome:
    """NEW's table holds exactly LIVE's rows as they are now (every column but the vector and ``exclude``, compared
    whole); ``only_extra``: just that NEW holds no row LIVE lacks (a retired table about to be dropped); offending
    rows are named by ``report`` (default the chunk key)."""
    lc, em = live.profile.chunks, live.profile.embeddings
    columns = [r["attname"] for r in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped "
        "AND attname <> ALL(%s) ORDER BY attnum", (f'"{lc.schema}"."{lc.table}"', [em.vector, *exclude])).fetchall()]
    # json has no equality operator: every column is compared as text
    row = sql.SQL("({})").format(sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in columns))
    key = sql.Identifier(report or lc.id)

    def missing(a: Target, b: Target) -> list:
        # EXCEPT compares NULLs as equal and hashes: linear, unlike NOT IN over row values
        return conn.execute(sql.SQL("SELECT d.id FROM (SELECT {k}::text AS id, {r} AS r FROM {a} "
                                    "EXCEPT ALL SELECT {k}::text, {r} FROM {b}) AS d ORDER BY 1 LIMIT 11").format(
            k=key, a=a.chunk_table, b=b.chunk_table, r=row)).fetchall()

    lacks, extra = ([] if only_extra else missing(live, new)), missing(new, live)
    offenders = [Offender(r["id"], live.profile.chunks.collection_name, None, "live row missing or changed in NEW") for r in lacks]
    offenders += [Offender(r["id"], new.profile.chunks.collection_name, None, "NEW row not in live") for r in extra]
    return verdict("matches_live", new.profile.chunks.collection_name, not offenders,
                   f"{new.profile.chunks.table} holds exactly the rows of {lc.table} (every column but {em.vector})",
                   f"{len(lacks)}{'+' if len(lacks) > 10 else ''} live rows missing or changed, "
                   f"{len(extra)}{'+' if len(extra) > 10 else ''} rows not in live", offenders=offenders[:10])


def rename_tables(conn: Conn, target: Target, pairs: list[tuple[str, str]]) -> int:
    """Rename collection tables (old, new) in order, inside the caller's transaction; return the rows under the last."""
    schema = target.profile.chunks.schema
    for old, new in pairs:
        told, tnew = (for_collection(target.profile, c).chunks.table for c in (old, new))
        if not _exists(conn, schema, told):
            raise ConfigError(f"table {schema}.{told} of collection {old!r} does not exist; nothing was swapped")
        conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(schema, told), sql.Identifier(tnew)))
    last = for_collection(target.profile, pairs[-1][1]).chunks.table
    return one(conn.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(schema, last))).fetchone())["n"]


def drop_table(conn: Conn, target: Target, collection: str) -> int:
    """Drop a collection's table; return the rows it held."""
    table = sql.Identifier(target.profile.chunks.schema, for_collection(target.profile, collection).chunks.table)
    rows = one(conn.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(table)).fetchone())["n"]
    conn.execute(sql.SQL("DROP TABLE {}").format(table))
    return rows
