"""Model changes on a pgai store, pgai's way: a second vectorizer on the same source, then its destination takes over.

``backfill --into NEW`` calls ``ai.create_vectorizer`` with the live vectorizer's loading, parsing, chunking,
formatting, indexing, scheduling and processing and the new model (destination ``NEW``: store ``NEW_store``, view
``NEW``, in the live store's and view's schemas; nothing enqueued), copies the live chunks (pgai stores them formatted) for the engine to embed, and puts
pgai's NOT NULL back on the vector once every row has one. From then on pgai's worker keeps NEW in step with source
edits. Stores and views are named as pgai's catalog says (any ``destination_table`` naming).
A swap renames the two destinations (view and store; NEW's take LIVE's names) in one transaction, points each vectorizer's config
at its renamed store and rebuilds its trigger function (it names the store it deletes from), so the view and store
pgai apps query hold the new vectors and both vectorizers keep working; a rollback renames them back; dropping the
retired destination is ``ai.drop_vectorizer(id, drop_all => true)``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from ..db import Conn, one
from ..errors import ConfigError
from ..profile import Profile
from ..target import Target

STORE_SUFFIX = "_store"  # pgai's destination_table(NAME): store NAME_store, view NAME
# the parts of a vectorizer's config a new one inherits (the embedding is the live one's with the new model)
INHERITED = ("loading", "parsing", "chunking", "formatting", "indexing", "scheduling", "processing")


def is_pgai(target: Target) -> bool:
    """A pgai store: vectors inline in the store table, its source and queue kept by pgai."""
    src = target.profile.source
    return src is not None and src.queue == "pgai" and target.inline


def store_of(destination: str) -> str:
    """The store of a destination this harness makes (``backfill --into NEW``): pgai's default, ``NEW_store``."""
    return destination + STORE_SUFFIX


def store_named(conn: Conn, schema: str, view: str) -> str:
    """The store behind view ``view`` as pgai's catalog names it (any naming); ``store_of(view)`` when no vectorizer
    owns that view (yet)."""
    row = conn.execute(
        "SELECT config->'destination'->>'target_table' AS t FROM ai.vectorizer "
        "WHERE config->'destination'->>'target_schema' = %s AND config->'destination'->>'view_name' = %s",
        (schema, view)).fetchone()
    return row["t"] if row is not None else store_of(view)


def _renamed_store(stores: dict[str, str], old: str, new: str) -> str:
    """The store name view ``new`` gets when ``old`` is renamed to it: the store ``new`` had (a swap trades names);
    for ``old`` + a tail (``NAME__retired``) ``old``'s store + that tail, unless it had pgai's ``NAME_store`` naming,
    which is kept; else ``store_of(new)``."""
    if new in stores:
        return stores[new]
    if new.startswith(old) and stores[old] != store_of(old):
        return stores[old] + new[len(old):]
    return store_of(new)


def for_store(profile: Profile, store: str) -> Profile:
    """The profile reading store table ``store`` (the same source and collection)."""
    return dataclasses.replace(profile, chunks=dataclasses.replace(profile.chunks, table=store),
                               embeddings=dataclasses.replace(profile.embeddings, table=store))


def vectorizer(conn: Conn, schema: str, *, store: str | None = None, view: str | None = None) -> dict[str, Any]:
    """pgai's catalog row of the vectorizer writing ``store`` (or owning view ``view``); ConfigError without one."""
    field, name = ("target_table", store) if store is not None else ("view_name", view)
    row = conn.execute(
        "SELECT id, queue_schema, queue_table, trigger_name, source_schema, source_table, source_pk, config "
        "FROM ai.vectorizer WHERE config->'destination'->>'target_schema' = %s AND config->'destination'->>%s = %s",
        (schema, field, name)).fetchone()
    if row is None:
        raise ConfigError(f"no pgai vectorizer has destination {field} {schema}.{name} in ai.vectorizer; "
                          "expected a destination made by ai.create_vectorizer")
    return row


def create_destination(conn: Conn, live: Target, into: str, model: str, dims: int) -> tuple[Target, int]:
    """A new vectorizer like the live one with ``model``, destination ``into``; the live chunks copied without vectors."""
    ch, em = live.profile.chunks, live.profile.embeddings
    v = vectorizer(conn, ch.schema, store=ch.table)
    config = v["config"]
    # beside the live store and view, in their schemas, whatever the live destination's naming
    args: list[sql.Composable] = [
        sql.SQL("destination => ai.destination_table(target_schema => %(schema)s, target_table => %(store)s, "
                "view_schema => %(view_schema)s, view_name => %(into)s)"),
        sql.SQL("embedding => %(embedding)s"), sql.SQL("enqueue_existing => false")]
    params: dict[str, Any] = {"source": f'"{v["source_schema"]}"."{v["source_table"]}"', "into": into,
                              "schema": ch.schema, "store": store_of(into),
                              "view_schema": config["destination"].get("view_schema") or ch.schema,
                              "embedding": Jsonb({**config["embedding"], "model": model, "dimensions": dims})}
    for part in INHERITED:
        if config.get(part) is not None:
            args.append(sql.SQL("{} => %({})s").format(sql.Identifier(part), sql.SQL(part)))
            params[part] = Jsonb(config[part])
    conn.execute(sql.SQL("SELECT ai.create_vectorizer(%(source)s::regclass, {})").format(sql.SQL(", ").join(args)), params)
    new = Target(for_store(live.profile, store_of(into)))
    # pgai's store declares the vector NOT NULL: the copies wait for the engine without one (finish() restores it).
    conn.execute(sql.SQL("ALTER TABLE {} ALTER {} DROP NOT NULL").format(new.chunk_table, sql.Identifier(em.vector)))
    columns = [r["attname"] for r in conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped "
        "AND attgenerated = '' AND attname NOT IN (%s, %s) ORDER BY attnum",
        (f'"{ch.schema}"."{ch.table}"', ch.id, em.vector)).fetchall()]
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    copied = conn.execute(sql.SQL("INSERT INTO {n} ({cols}) SELECT {cols} FROM {l}").format(
        n=new.chunk_table, cols=cols, l=live.chunk_table)).rowcount
    return new, copied


def finish(conn: Conn, new: Target) -> bool:
    """Give the new store pgai's NOT NULL vector back once every row has one (Postgres proves it); whether it did."""
    em = new.profile.embeddings
    empty = one(conn.execute(sql.SQL("SELECT count(*) AS n FROM {} WHERE {} IS NULL").format(
        new.chunk_table, sql.Identifier(em.vector))).fetchone())["n"]
    if empty:
        return False
    conn.execute(sql.SQL("ALTER TABLE {} ALTER {} SET NOT NULL").format(new.chunk_table, sql.Identifier(em.vector)))
    return True


def rename(conn: Conn, schema: str, pairs: list[tuple[str, str]]) -> int:
    """Rename destinations (view and store, each as pgai's catalog names them) in order, inside the caller's
    transaction; point each vectorizer at its renamed store and rebuild its trigger function; return the rows of the
    last store."""
    stores = {old: store_named(conn, schema, old) for old, _ in pairs}
    last = ""
    for old, new in pairs:
        v = vectorizer(conn, schema, view=old)
        store, last = v["config"]["destination"]["target_table"], _renamed_store(stores, old, new)
        view_schema = v["config"]["destination"].get("view_schema") or schema
        conn.execute(sql.SQL("ALTER VIEW {} RENAME TO {}").format(sql.Identifier(view_schema, old), sql.Identifier(new)))
        conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(schema, store), sql.Identifier(last)))
        destination = {**v["config"]["destination"], "target_table": last, "view_name": new}
        if "destination" in destination:
            destination["destination"] = new
        conn.execute("UPDATE ai.vectorizer SET config = jsonb_set(config, '{destination}', %s) WHERE id = %s",
                     (Jsonb(destination), v["id"]))
        # pgai's trigger function names the store it deletes from: rebuilt as pgai builds it
        body = one(conn.execute(
            "SELECT ai._vectorizer_build_trigger_definition(%s, %s, %s, %s, %s, %s, %s) AS body",
            (v["queue_schema"], v["queue_table"], schema, last, v["source_schema"], v["source_table"],
             Jsonb(v["source_pk"]))).fetchone())["body"]
        conn.execute(sql.SQL("CREATE OR REPLACE FUNCTION {}() RETURNS trigger AS {} LANGUAGE plpgsql VOLATILE PARALLEL SAFE "
                             "SECURITY DEFINER SET search_path TO pg_catalog, pg_temp").format(
            sql.Identifier(v["queue_schema"], v["trigger_name"]), sql.Literal(body)))
    return one(conn.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(schema, last))).fetchone())["n"]


def drop(conn: Conn, schema: str, destination: str) -> int:
    """``ai.drop_vectorizer(id, drop_all => true)`` for the vectorizer of ``destination``; return the rows dropped."""
    v = vectorizer(conn, schema, view=destination)
    rows = one(conn.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(
        sql.Identifier(schema, v["config"]["destination"]["target_table"]))).fetchone())["n"]
    conn.execute("SELECT ai.drop_vectorizer(%s, drop_all => true)", (v["id"],))
    return rows
