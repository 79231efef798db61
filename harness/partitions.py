"""Does a partition of the embedding table take every row a run would write?

A table partitioned by corpus or tenant (a partition per value) refuses a row no partition's bounds take: the run
stopped at its first batch with 'no partition of relation ... found for row'. Predicted here without writing: the
values the engine would write into the partition key's columns (the run's collection and model, each chunk's key and
tenant, defaults) are tried against every leaf's partition constraint (``pg_get_partition_constraintdef``, which holds
its ancestors' bounds too), as Postgres routes a row.
"""

from __future__ import annotations

from typing import cast

import psycopg
from psycopg import sql

from . import rls
from .backfill.writer import profile_defaults, stamped, written_columns
from .checks.outcome import FAIL, Outcome, unproven, verdict
from .db import Conn
from .target import Target, _qualified

CHECK = "partitions"
SHOWN = 5  # value combinations named


def _key_columns(conn: Conn, table: str) -> tuple[list[dict], bool]:
    """The partition key columns of every level under ``table`` (name, type, table default), and whether a level is
    partitioned by an expression (whose columns the catalog does not list: every column may be in it)."""
    # the levels above it too, where the table is itself a partition (its rows must meet their bounds as well)
    tree = ("(SELECT relid FROM pg_partition_tree(%(t)s::regclass) UNION SELECT relid FROM "
            "pg_partition_ancestors(%(t)s::regclass)) t JOIN pg_partitioned_table p ON p.partrelid = t.relid")
    exprs = bool(conn.execute(f"SELECT 1 FROM {tree} WHERE p.partexprs IS NOT NULL", {"t": table}).fetchone())
    named = {r["name"] for r in conn.execute(
        f"SELECT DISTINCT a.attname AS name FROM {tree} JOIN pg_attribute a ON a.attrelid = t.relid "
        "AND a.attnum = ANY(p.partattrs::int2[]) AND a.attnum > 0", {"t": table}).fetchall()}
    rows = conn.execute(
        "SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attidentity <> '' AS identity, "
        "pg_get_expr(d.adbin, d.adrelid) AS def FROM pg_attribute a LEFT JOIN pg_attrdef d "
        "ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = %s::regclass AND a.attnum > 0 "
        "AND NOT a.attisdropped ORDER BY a.attnum", (table,)).fetchall()
    return [r for r in rows if exprs or r["name"] in named], exprs


def _escaped(catalog_text: str) -> str:
    """An expression the catalog prints, composed as it is: '%' doubled, as the query carries parameters."""
    return catalog_text.replace("%", "%%")


def _plain(conn: Conn, composed: sql.Composable) -> sql.Composable:
    """``composed`` as text with its '%' doubled: a literal value or a name holding one ('50%off') would otherwise be
    read as a placeholder of the query's parameters."""
    return sql.SQL(_escaped(composed.as_string(conn)))


def _values(target: Target, collection: str, *, model: str, dims: int | None,
            into: str | None) -> dict[str, tuple[sql.Composable | None, bool]]:
    """Each column the engine writes: the SQL of its value for the chunk ``c`` (None where only the write knows it: the
    vector, the text's hash) and whether it is the chunk's own (else one value for the whole run)."""
    em, ch = target.profile.embeddings, target.profile.chunks
    own = {"k": None if into else target.chunk_id,  # --into's copies get new keys as they are made
           "ten": target.c(ch.tenant) if ch.tenant else sql.SQL("NULL")}
    run = {"m": sql.Literal(model), "d": sql.Literal(dims) if dims is not None else None,
           "coll": sql.Literal(into or collection)}
    out: dict[str, tuple[sql.Composable | None, bool]] = {}
    for staged, column in written_columns(target):
        out[column] = (own[staged], True) if staged in own else (run.get(staged), False)
    if target.filed_under() is not None:  # the chunk's own key of chunks.collection_table
        out[cast(str, em.collection)] = (None if into else target.c(cast(str, ch.collection)), True)
    if (at := stamped(target)) is not None:  # the chunk's time as read or the read's (writer.stamp): the write's own
        out[at] = (None, False)
    for column, expression in profile_defaults(target, model, dims, into or collection):
        out[column] = (expression, False)
    return out


def outcome(conn: Conn, target: Target, collection: str, *, model: str, dims: int | None = None,
            into: str | None = None, tenants: list[str | None] | None = None) -> Outcome | None:
    """Whether some partition takes each row the run would write into a partitioned embedding table; None where it
    is not one (or vectors are written in place, by UPDATE, which moves no row)."""
    if target.inline:
        return None
    em = target.profile.embeddings
    return _routed(conn, target, em.schema, em.table, _values(target, collection, model=model, dims=dims, into=into),
                   collection, into or collection, tenants, written_only=True)


def copies_outcome(conn: Conn, target: Target, collection: str, into: str,
                   tenants: list[str | None] | None = None) -> Outcome | None:
    """Whether some partition of a partitioned chunk table takes each chunk --into copies into ``into``
    (``reuse._insert_copy``: every content column as it is, the collection's replaced); None where it is not one."""
    from .backfill import library_swap
    from .checks.live import content_columns

    ch = target.profile.chunks
    if library_swap.is_langchain(target):
        return None  # its copies are filed under a new row of chunks.collection_table, not under the name
    values: dict[str, tuple[sql.Composable | None, bool]] = {
        col: ((sql.Literal(into), False) if col == ch.collection else (target.c(col), True))
        for col in content_columns(conn, target)}
    return _routed(conn, target, ch.schema, ch.table, values, collection, into, tenants, written_only=False)


def _routed(conn: Conn, target: Target, schema: str, name: str, written: dict[str, tuple[sql.Composable | None, bool]],
            collection: str, shown_as: str, tenants: list[str | None] | None, *, written_only: bool) -> Outcome | None:
    """Try ``written`` (each column's value for the chunk ``c`` of ``collection``, per chunk or one for the run)
    against the leaves of ``name`` (itself, where it is one partition); columns it leaves out get the table's default.
    ``written_only``: only chunks with a text (those a run embeds). None where the table is neither partitioned nor a
    partition."""
    table = _qualified(schema, name)
    kind = conn.execute("SELECT relkind::text AS k, relispartition AS part FROM pg_class WHERE oid = to_regclass(%s)",
                        (table,)).fetchone()
    if kind is None or (kind["k"] != "p" and not kind["part"]):
        return None
    columns, exprs = _key_columns(conn, table)
    picks: list[sql.Composable] = []
    per_chunk, unknown = False, []
    for col in columns:
        value, own = written.get(col["name"], (None, False))
        if col["name"] not in written:  # the table's own default fills it, or it stays NULL
            drawn = col["identity"] or "nextval(" in (col["def"] or "")
            value = None if drawn else sql.SQL(_escaped(col["def"]) if col["def"] else "NULL")
        if value is None:
            unknown.append(col["name"])
            continue
        per_chunk = per_chunk or own
        picks.append(_plain(conn, sql.SQL("CAST({} AS {}) AS {}").format(value, sql.SQL(col["type"]),
                                                                          sql.Identifier(col["name"]))))
    if unknown:
        return unproven(CHECK, shown_as,
                        f"{name} is partitioned by {', '.join(unknown)}{' (an expression)' if exprs else ''}, "
                        "whose values only the write gives (a sequence, the vector, the text's hash, a new key): "
                        "whether a partition takes each row is known when the run writes it")
    leaves = conn.execute("SELECT t.relid::regclass::text AS name, pg_get_partition_constraintdef(t.relid) AS bound "
                          "FROM pg_partition_tree(%s::regclass) t WHERE t.isleaf ORDER BY 1", (table,)).fetchall()
    # A leaf's constraint is NULL where it takes every row (a lone DEFAULT); a NULL result lets a row in, as a CHECK.
    taken = [sql.SQL("({}) IS NOT FALSE").format(sql.SQL(_escaped(r["bound"])) if r["bound"] else sql.SQL("true"))
             for r in leaves]
    names = [_plain(conn, sql.Identifier(c["name"])) for c in columns]
    texted = sql.SQL(" AND NOT {}").format(target.no_text) if written_only else sql.SQL("")
    rows = (sql.SQL("SELECT DISTINCT {picks} FROM {chunks} AS c WHERE {w}{texted}").format(
        picks=sql.SQL(", ").join(picks), chunks=target.chunk_table, w=target.chunk_filter(), texted=texted)
        if per_chunk else sql.SQL("SELECT {}").format(sql.SQL(", ").join(picks)))
    query = sql.SQL("SELECT {shown} FROM ({rows}) AS r WHERE NOT ({taken}) ORDER BY 1 LIMIT {n}").format(
        shown=sql.SQL(", ").join(sql.SQL("{}::text").format(n) for n in names), rows=rows,
        taken=sql.SQL(" OR ").join(taken) if taken else sql.SQL("false"), n=sql.Literal(SHOWN + 1))
    refused: list[tuple] = []
    try:
        for view in rls.views(conn, target.profile, rls.tenants(conn, target.profile) if tenants is None else tenants):
            with view.transaction():  # a failed read must not end the caller's transaction
                refused += [tuple(r.values()) if isinstance(r, dict) else tuple(r)
                            for r in view.execute(query, {"collection": collection}).fetchall()]
    except psycopg.Error as exc:  # a value of another type than the column's: the write would fail the same way
        return verdict(CHECK, shown_as, False, f"rows {name} takes",
                       f"the values a run writes into {name}'s partition key do not fit it: {str(exc).splitlines()[0]}")
    keys = ", ".join(c["name"] for c in columns)
    if refused:
        shown = "; ".join(f"({keys}) = ({', '.join('NULL' if v is None else v for v in r)})"
                          for r in sorted(set(refused), key=str)[:SHOWN])
        return verdict(CHECK, shown_as, False, f"a partition of {name} for every row a run writes",
                       f"{'no partition of ' + name + ' takes' if kind['k'] == 'p' else name + ', a partition, does not take'} "
                       f"{shown}: the run would stop at its first batch",
                       note=f"create a partition of {name} for these values (or a DEFAULT partition)")
    return verdict(CHECK, shown_as, True, "", f"{name} is partitioned by ({keys}); its partitions "
                   f"({', '.join(r['name'] for r in leaves)}) take every row a run writes")


def beside_command(found: Outcome, command: str) -> Outcome:
    """A failed ``partitions`` outcome where the target's own command writes: it may create the partition before it
    writes (one made per corpus on demand), which cannot be seen from here, so unproven, not failed; any other outcome
    as it is."""
    if found.check != CHECK or found.status != FAIL:
        return found
    return unproven(CHECK, found.collection, f"{found.found}, unless {command} creates the partition before it writes "
                    "(the engine does not: run --engine is refused)")
