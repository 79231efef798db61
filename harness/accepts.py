"""Does the table take every row a run would write: a partition for each, and every CHECK constraint met?

A table partitioned by corpus or tenant (a partition per value) refuses a row no partition's bounds take, and a CHECK
constraint over the columns the engine fills (``CHECK (model IN (...))``) one it does not meet: either stopped the run
at its first batch ('no partition of relation ... found for row'), after scope said ok. Predicted here without
writing: the values the engine would write (the run's collection and model, each chunk's key and tenant, defaults;
the row's own values for the columns an inline UPDATE leaves) are tried against every leaf's partition constraint
(``pg_get_partition_constraintdef``, which holds its ancestors' bounds too), as Postgres routes a row, and against each
CHECK constraint whose columns they all give.
"""

from __future__ import annotations

from typing import cast

import psycopg
from psycopg import sql

from . import rls
from .backfill.writer import profile_defaults, stamped, written_columns
from .checks.outcome import FAIL, Outcome, unproven, verdict
from .db import Conn
from .introspect import unique_indexes
from .target import Target, _qualified

PARTITIONS = "partitions"
CHECKS = "check constraints"
UNIQUES = "unique keys"
SHOWN = 5  # value combinations named
READ = 200  # refused rows read, of which the distinct combinations are named
Values = dict[str, tuple[sql.Composable | None, bool]]  # column: its value's SQL (None: unknown), whether per chunk


def outcomes(conn: Conn, target: Target, collection: str, *, model: str, dims: int | None = None,
             into: str | None = None, copies: bool = False, tenants: list[str | None] | None = None) -> list[Outcome]:
    """The ``partitions`` and ``check constraints`` outcomes of the table the vectors are written to and, where --into
    copies chunks (``copies``), of the chunk table they are copied into; none where there is nothing to try."""
    ch, em = target.profile.chunks, target.profile.embeddings
    written = _values(target, collection, model=model, dims=dims, into=into)
    shown_as = into or collection
    found: list[Outcome | None] = []
    if target.inline:  # an UPDATE moves no row between partitions; the row's other columns keep their values
        found += [_checks(conn, target, ch.schema, ch.table, written, collection, shown_as, tenants, own_rest=True),
                  _uniques(conn, target, ch.schema, ch.table, written, collection, shown_as, tenants, own_rest=True)]
    else:
        found += [_partitions(conn, target, em.schema, em.table, written, collection, shown_as, tenants),
                  _checks(conn, target, em.schema, em.table, written, collection, shown_as, tenants)]
        if not into:  # --into's rows are of new keys and the new collection: its copies are read by preflight
            found.append(_uniques(conn, target, em.schema, em.table, written, collection, shown_as, tenants))
    if copies and into and (copied := _copied(conn, target, into)) is not None:
        found += [_partitions(conn, target, ch.schema, ch.table, copied, collection, shown_as, tenants, every=True),
                  _checks(conn, target, ch.schema, ch.table, copied, collection, shown_as, tenants, every=True)]
    return [o for o in found if o is not None]


def beside_command(found: Outcome, command: str) -> Outcome:
    """A failed ``partitions`` outcome where the target's own command writes: it may create the partition before it
    writes (one made per corpus on demand), which cannot be seen from here, so unproven, not failed; any other outcome
    as it is."""
    if found.check != PARTITIONS or found.status != FAIL:
        return found
    return unproven(PARTITIONS, found.collection, f"{found.found}, unless {command} creates the partition before it "
                    "writes (the engine does not: run --engine is refused)")


def _values(target: Target, collection: str, *, model: str, dims: int | None, into: str | None) -> Values:
    """Each column the engine writes: the SQL of its value for the chunk ``c`` (None where only the write knows it: the
    vector, the text's hash, the vector's time) and whether it is the chunk's own (else one value for the whole run)."""
    em, ch = target.profile.embeddings, target.profile.chunks
    own = {"k": None if into else target.chunk_id,  # --into's copies get new keys as they are made
           "ten": target.c(ch.tenant) if ch.tenant else sql.SQL("NULL")}
    run = {"m": sql.Literal(model), "d": sql.Literal(dims) if dims is not None else None,
           "coll": sql.Literal(into or collection)}
    out: Values = {}
    for staged, column in written_columns(target):
        out[column] = (own[staged], True) if staged in own else (run.get(staged), False)
    if target.filed_under() is not None:  # the chunk's own key of chunks.collection_table
        out[cast(str, em.collection)] = (None if into else target.c(cast(str, ch.collection)), True)
    if (at := stamped(target)) is not None:  # the chunk's time as read or the read's (writer.stamp): the write's own
        out[at] = (None, False)
    for column, expression in profile_defaults(target, model, dims, into or collection):
        out[column] = (expression, target.inline)  # inline, a JSON model key is set in the row's own JSON
    return out


def _copied(conn: Conn, target: Target, into: str) -> Values | None:
    """A chunk as --into copies it (``reuse._insert_copy``: every content column as it is, the collection's replaced);
    None for LangChain's store, whose copies are filed under a new row of ``chunks.collection_table``."""
    from .backfill import library_swap
    from .checks.live import content_columns

    if not library_swap.copies_chunks(target):
        return None
    ch = target.profile.chunks
    return {col: ((sql.Literal(into), False) if col == ch.collection else (target.c(col), True))
            for col in content_columns(conn, target)}


def _columns(conn: Conn, table: str) -> dict[str, dict]:
    """Every column of ``table``: its type, whether an identity, its default's SQL."""
    return {r["name"]: r for r in conn.execute(
        "SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attidentity <> '' AS identity, "
        "pg_get_expr(d.adbin, d.adrelid) AS def FROM pg_attribute a LEFT JOIN pg_attrdef d "
        "ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = %s::regclass AND a.attnum > 0 "
        "AND NOT a.attisdropped ORDER BY a.attnum", (table,)).fetchall()}


def _value(column: dict, written: Values, own_rest: bool) -> tuple[sql.Composable | None, bool]:
    """A column's value in a written row: what the run writes; else the row's own (``own_rest``: an inline UPDATE) or
    the table's default (None where a sequence or identity draws it as the row is written), or NULL."""
    if column["name"] in written:
        return written[column["name"]]
    if own_rest:
        return sql.Identifier("c", column["name"]), True
    if column["identity"] or "nextval(" in (column["def"] or ""):
        return None, False
    # as the catalog prints it: every reader composes it as text through _plain, which doubles its '%' once
    return sql.SQL(column["def"] or "NULL"), False


def _unfit(exc: psycopg.Error) -> bool:
    """A value its column's type refuses (a data exception, a domain's CHECK): the write would fail the same way. Any
    other error (a statement timeout, a cancel) measured nothing."""
    return isinstance(exc, (psycopg.errors.DataError, psycopg.errors.IntegrityError))


def _unmeasured(check: str, shown_as: str, name: str, exc: psycopg.Error) -> Outcome:
    return unproven(check, shown_as, f"the rows a run writes into {name} were not read to the end: "
                    f"{str(exc).splitlines()[0]}")


def _read_failed(exc: psycopg.Error, check: str, shown_as: str, name: str, what: str, problems: list[str],
                 unread: Outcome | None) -> Outcome | None:
    """After a read of ``what`` failed: a value its column refuses is a problem (``problems``); any other error keeps
    the first unmeasured outcome (returned)."""
    if not _unfit(exc):
        return unread or _unmeasured(check, shown_as, name, exc)
    problems.append(f"{what}: the values a run writes do not fit {name}: {str(exc).splitlines()[0]}")
    return unread


def _concluded(check: str, shown_as: str, tried: list[str], problems: list[str], unread: Outcome | None, *,
               expected: str, stops: str, note: str, passed: str) -> Outcome | None:
    """One outcome of the constraints ``tried``: failed on any problem, else unproven where a read stopped, else
    passed; None where none was tried."""
    if not tried:
        return None
    if problems:
        return verdict(check, shown_as, False, expected, "; ".join(problems) + ": the run would stop at its first batch"
                       + stops, note=note)
    return unread or verdict(check, shown_as, True, "", passed)


def escaped(catalog_text: str) -> str:
    """An expression the catalog prints, composed as it is: '%' doubled, as the query carries parameters."""
    return catalog_text.replace("%", "%%")


def _plain(conn: Conn, composed: sql.Composable) -> sql.Composable:
    """``composed`` as text with its '%' doubled: a literal value or a name holding one ('50%off') would otherwise be
    read as a placeholder of the query's parameters."""
    return sql.SQL(escaped(composed.as_string(conn)))


def _refused(conn: Conn, target: Target, columns: list[dict], values: list[tuple[sql.Composable, bool]],
             taken: sql.Composable, collection: str, tenants: list[str | None] | None, every: bool) -> list[tuple]:
    """The distinct combinations of ``columns`` (given ``values``) among the first rows a run writes that ``taken`` (SQL
    over the columns by name) refuses, up to ``READ`` of them; read in each tenant's view. ``every``: all the collection's chunks (a copy takes
    them all), else those with a text (those a run embeds)."""
    picks = [_plain(conn, sql.SQL("CAST({} AS {}) AS {}").format(v, sql.SQL(c["type"]), sql.Identifier(c["name"])))
             for c, (v, _) in zip(columns, values)]
    texted = sql.SQL("") if every else sql.SQL(" AND NOT {}").format(target.no_text)
    # No DISTINCT nor ORDER BY: the read stops at the first refused rows found (a DISTINCT over the chunks' keys hashed
    # every key of the collection first), and a collection none is refused is read once, in no sort.
    rows = (sql.SQL("SELECT {picks} FROM {chunks} AS c WHERE {w}{texted}").format(
        picks=sql.SQL(", ").join(picks), chunks=target.chunk_table, w=target.chunk_filter(), texted=texted)
        if any(own for _, own in values) else sql.SQL("SELECT {}").format(sql.SQL(", ").join(picks)))
    query = sql.SQL("SELECT {shown} FROM ({rows}) AS r WHERE NOT ({taken}) LIMIT {n}").format(
        shown=sql.SQL(", ").join(sql.SQL("{}::text").format(_plain(conn, sql.Identifier(c["name"]))) for c in columns),
        rows=rows, taken=taken, n=sql.Literal(READ))
    refused: list[tuple] = []
    for view in rls.views(conn, target.profile, rls.tenants(conn, target.profile) if tenants is None else tenants):
        with view.transaction():  # a failed read must not end the caller's transaction
            refused += [tuple(r.values()) if isinstance(r, dict) else tuple(r)
                        for r in view.execute(query, {"collection": collection}).fetchall()]
    return sorted(set(refused), key=str)


def _shown(columns: list[dict], refused: list[tuple]) -> str:
    keys = ", ".join(c["name"] for c in columns)
    return "; ".join(f"({keys}) = ({', '.join('NULL' if v is None else v for v in r)})" for r in refused[:SHOWN])


def _partitions(conn: Conn, target: Target, schema: str, name: str, written: Values, collection: str, shown_as: str,
                tenants: list[str | None] | None, every: bool = False) -> Outcome | None:
    """Whether a leaf of ``name`` (itself, where it is one partition) takes each row; None where the table is neither
    partitioned nor a partition."""
    table = _qualified(schema, name)
    kind = conn.execute("SELECT relkind::text AS k, relispartition AS part FROM pg_class WHERE oid = to_regclass(%s)",
                        (table,)).fetchone()
    if kind is None or (kind["k"] != "p" and not kind["part"]):
        return None
    # the levels above it too, where the table is itself a partition (its rows must meet their bounds as well)
    tree = ("(SELECT relid FROM pg_partition_tree(%(t)s::regclass) UNION SELECT relid FROM "
            "pg_partition_ancestors(%(t)s::regclass)) t JOIN pg_partitioned_table p ON p.partrelid = t.relid")
    exprs = bool(conn.execute(f"SELECT 1 FROM {tree} WHERE p.partexprs IS NOT NULL", {"t": table}).fetchone())
    keyed = {r["name"] for r in conn.execute(
        f"SELECT DISTINCT a.attname AS name FROM {tree} JOIN pg_attribute a ON a.attrelid = t.relid "
        "AND a.attnum = ANY(p.partattrs::int2[]) AND a.attnum > 0", {"t": table}).fetchall()}
    # an expression's columns the catalog does not list here: every column may be in it
    columns = [c for c in _columns(conn, table).values() if exprs or c["name"] in keyed]
    values = [_value(c, written, False) for c in columns]
    if unknown := [c["name"] for c, (v, _) in zip(columns, values) if v is None]:
        return unproven(PARTITIONS, shown_as,
                        f"{name} is partitioned by {', '.join(unknown)}{' (an expression)' if exprs else ''}, "
                        "whose values only the write gives (a sequence, the vector, the text's hash, a new key): "
                        "whether a partition takes each row is known when the run writes it")
    leaves = conn.execute("SELECT t.relid::regclass::text AS name, pg_get_partition_constraintdef(t.relid) AS bound "
                          "FROM pg_partition_tree(%s::regclass) t WHERE t.isleaf ORDER BY 1", (table,)).fetchall()
    # A leaf's constraint is NULL where it takes every row (a lone DEFAULT); a NULL result lets a row in, as a CHECK.
    taken = [sql.SQL("({}) IS NOT FALSE").format(sql.SQL(escaped(r["bound"])) if r["bound"] else sql.SQL("true"))
             for r in leaves]
    try:
        refused = _refused(conn, target, columns, cast(list, values),
                           sql.SQL(" OR ").join(taken) if taken else sql.SQL("false"), collection, tenants, every)
    except psycopg.Error as exc:  # a value of another type than the column's: the write would fail the same way
        if not _unfit(exc):
            return _unmeasured(PARTITIONS, shown_as, name, exc)
        return verdict(PARTITIONS, shown_as, False, f"rows {name} takes",
                       f"the values a run writes into {name}'s partition key do not fit it: {str(exc).splitlines()[0]}")
    keys = ", ".join(c["name"] for c in columns)
    if refused:
        return verdict(PARTITIONS, shown_as, False, f"a partition of {name} for every row a run writes",
                       f"{'no partition of ' + name + ' takes' if kind['k'] == 'p' else name + ', a partition, does not take'} "
                       f"{_shown(columns, refused)}: the run would stop at its first batch",
                       note=f"create a partition of {name} for these values (or a DEFAULT partition)")
    return verdict(PARTITIONS, shown_as, True, "", f"{name} is partitioned by ({keys}); its partitions "
                   f"({', '.join(r['name'] for r in leaves)}) take every row a run writes")


def _checks(conn: Conn, target: Target, schema: str, name: str, written: Values, collection: str, shown_as: str,
            tenants: list[str | None] | None, every: bool = False, own_rest: bool = False) -> Outcome | None:
    """Whether each row meets every CHECK constraint of ``name`` whose columns the run's values all give (one over the
    vector or a drawn number is met or not as the row is written); None where there is none such."""
    table = _qualified(schema, name)
    columns = _columns(conn, table)
    constraints = conn.execute(
        "SELECT k.conname AS name, pg_get_expr(k.conbin, k.conrelid) AS expr, "
        "array(SELECT a.attname FROM pg_attribute a WHERE a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey) "
        "ORDER BY a.attnum)::text[] AS cols, k.convalidated AS valid FROM pg_constraint k "
        "WHERE k.conrelid = to_regclass(%s) AND k.contype = 'c' "
        "ORDER BY 1", (table,)).fetchall()
    tried: list[str] = []
    problems: list[str] = []
    unread: Outcome | None = None  # a read stopped (a statement timeout): unproven, unless another fails
    for k in constraints:
        used = [columns[c] for c in k["cols"] if c in columns]
        values = [_value(c, written, own_rest) for c in used]
        if not used or any(v is None for v, _ in values):
            continue
        if own_rest and k["valid"] and not any(c["name"] in written for c in used):
            continue  # the rows' own values, which a validated constraint already holds them to
        tried.append(k["name"])
        try:
            refused = _refused(conn, target, used, cast(list, values),
                               sql.SQL("({}) IS NOT FALSE").format(sql.SQL(escaped(k["expr"]))), collection, tenants,
                               every)
        except psycopg.Error as exc:
            unread = _read_failed(exc, CHECKS, shown_as, name, k["name"], problems, unread)
            continue
        if refused:
            problems.append(f"{k['name']} ({k['expr']}) of {name} refuses {_shown(used, refused)}")
    return _concluded(CHECKS, shown_as, tried, problems, unread,
                      expected=f"every row a run writes meeting {name}'s CHECK constraints", stops="",
                      note="change the constraint, or the name the run writes (the model's, the collection's)",
                      passed=f"every row a run writes meets {', '.join(tried)} of {name}")


def _uniques(conn: Conn, target: Target, schema: str, name: str, written: Values, collection: str, shown_as: str,
             tenants: list[str | None] | None, own_rest: bool = False) -> Outcome | None:
    """Whether each unique index of ``name`` over values the run writes, not over the chunk's key (an application's one
    vector per text, ``UNIQUE (input_hash)``), takes every row: no two chunks of the collection with a text give it the
    same values, nor does a chunk and a row the run leaves (another collection's). The text's hash is its digest as
    the engine writes it. None where no such index is (one over a drawn number or the vector is not read)."""
    table = _qualified(schema, name)
    ch, em = target.profile.chunks, target.profile.embeddings
    key = ch.id if target.inline else em.key
    columns = _columns(conn, table)
    given = dict(written)
    if em.input_hash and em.input_hash in columns:
        digest = (target.hash_algorithm.digest_sql(target.hashed_text) if columns[em.input_hash]["type"] == "bytea"
                  else target.text_hash)
        given[em.input_hash] = (digest, True)
    tried: list[str] = []
    problems: list[str] = []
    unread: Outcome | None = None  # a read stopped (a statement timeout): unproven, unless another fails
    for index in unique_indexes(conn, table):
        used = [columns[c] for c in index["cols"] if c in columns]
        values = [_value(c, given, own_rest) for c in used]
        if index["pred"] or key in index["cols"] or not used or any(v is None for v, _ in values):
            continue
        if own_rest and not any(c["name"] in given for c in used):
            continue  # an UPDATE that writes none of its columns leaves the rows as unique as they are
        tried.append(index["name"])
        names = [sql.Identifier(f"v{i}") for i in range(len(used))]
        shown = sql.SQL(", ").join(sql.SQL("{} AS {}").format(
            _plain(conn, sql.SQL("CAST({} AS {})").format(v, sql.SQL(c["type"]))), n)
            for c, (v, _), n in zip(used, values, names))
        filled = sql.SQL("") if index["nnd"] else sql.SQL("").join(
            [sql.SQL(" AND {} IS NOT NULL").format(_plain(conn, cast(sql.Composable, v))) for v, _ in values])
        # One read of the collection's chunks (each one's values and whether the run writes them), materialized: the
        # repeats among them and the clashes with rows the run leaves are both read from it, joined column by column
        # (a join of ROW(...) records, and a NOT IN over the collection's keys past work_mem, were a loop over every
        # pair: 45 s for 20,000 chunks, scope's statement cancelled for 200,000).
        equal = sql.SQL("IS NOT DISTINCT FROM" if index["nnd"] else "=")
        query = sql.SQL(
            "WITH r AS MATERIALIZED (SELECT {key}::text AS k, {shown}, (NOT {nt}{filled}) AS w "
            "FROM {chunks} AS c WHERE {w} AND {key} IS NOT NULL), "
            "twice AS (SELECT ROW({vs})::text AS vals, count(*) AS n FROM r WHERE r.w GROUP BY {vs} "
            "HAVING count(*) > 1 ORDER BY 2 DESC, 1 LIMIT {n}), "
            "held AS (SELECT ROW({rvs})::text AS vals FROM r JOIN {t} AS e ON {on} "
            "WHERE r.w AND NOT EXISTS (SELECT 1 FROM r AS o WHERE o.k = e.{k}::text) LIMIT {n}) "
            "SELECT true AS twice, vals, n FROM twice UNION ALL SELECT false, vals, NULL FROM held").format(
            key=target.chunk_id, shown=shown, chunks=target.chunk_table, w=target.chunk_filter(), nt=target.no_text,
            filled=filled, n=sql.Literal(SHOWN), t=sql.Identifier(schema, name), k=sql.Identifier(key),
            vs=sql.SQL(", ").join(names), rvs=sql.SQL(", ").join(sql.SQL("r.{}").format(n) for n in names),
            on=sql.SQL(" AND ").join(sql.SQL("e.{} {} r.{}").format(sql.Identifier(c["name"]), equal, n)
                                     for c, n in zip(used, names)))
        views = rls.views(conn, target.profile, rls.tenants(conn, target.profile) if tenants is None else tenants)
        try:
            shared: list[dict] = []
            held: list[dict] = []
            for view in views:
                with view.transaction():
                    for r in view.execute(query, {"collection": collection}).fetchall():
                        (shared if r["twice"] else held).append(r)
        except psycopg.Error as exc:
            unread = _read_failed(exc, UNIQUES, shown_as, name, index["name"], problems, unread)
            continue
        keys = ", ".join(index["cols"])
        if shared:
            problems.append(f"unique index {index['name']} ({keys}) holds one row per value, and chunks of "
                            f"{collection!r} share them: " + "; ".join(f"{r['n']} chunks of {collection!r} give "
                                                                       f"{r['vals']}" for r in shared[:SHOWN]))
        if held:
            problems.append(f"unique index {index['name']} ({keys}): a row of another chunk, which the run leaves, "
                            f"holds {', '.join(sorted({str(r['vals']) for r in held})[:SHOWN])}")
    return _concluded(UNIQUES, shown_as, tried, problems, unread,
                      expected=f"each row a run writes unique in {name}'s unique indexes",
                      stops=" with 'duplicate key value'",
                      note="drop or widen the index (UNIQUE (chunk key, ...)), or leave the repeated texts out",
                      passed=f"every row a run writes is unique in {', '.join(tried)} of {name}")
