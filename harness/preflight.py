"""Before anything is written: can the engine write this target's rows as the database will accept them?

Reads the catalog only. Lists every NOT NULL column without a default that the engine would leave
empty (the profile fills them with ``embeddings.defaults``), checks each default expression
against its column's type, says how rows will be written (COPY or INSERT) and whether
row-level security hides rows from the connecting role. Scope prints these; the engine refuses
to start while one has failed.
"""

from __future__ import annotations

import dataclasses

import psycopg
from psycopg import sql

from . import rls, sqlexpr
from .backfill.writer import write_path, written_columns
from .checks.outcome import FAIL, PASS, Outcome, verdict
from .db import Conn
from .errors import RefusedError
from .target import Target, _qualified

EXAMPLE_DEFAULTS = 'embeddings.defaults: {id: "gen_random_uuid()::text", dimensions: "{dims}"}'


def _columns(conn: Conn, schema: str, table: str) -> list[dict]:
    return conn.execute(
        "SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull, "
        "(a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '') AS filled "
        "FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (_qualified(schema, table),),
    ).fetchall()


def unfilled_columns(conn: Conn, target: Target) -> list[str]:
    """NOT NULL columns of the embedding table with no default that neither the engine nor the profile fills."""
    if target.inline:
        return []  # vectors are written by UPDATE: the row's other columns are already there
    em = target.profile.embeddings
    written = {col for _, col in written_columns(target)} | set(em.defaults) | {col for col, _ in em.filter}
    return [c["name"] for c in _columns(conn, em.schema, em.table)
            if c["notnull"] and not c["filled"] and c["name"] not in written]


def side_by_side_outcome(conn: Conn, target: Target, collection: str | None) -> Outcome | None:
    """A unique key beside the chunk's key (a row per model) needs embeddings.filter naming this target's rows: the
    engine replaces a chunk's rows, and the counts would mix every model's."""
    from .discover import side_by_side

    em = target.profile.embeddings
    if target.inline:
        return None
    beside = side_by_side(conn, em.schema, em.table, em.key, (em.vector, em.collection, em.tenant))
    if not beside:
        return None
    left = [c for c in beside if c not in dict(em.filter)]
    unique = f"{em.table}'s unique key ({', '.join((*beside, em.key))})"
    found = (f"{unique} keeps a row per chunk for each {', '.join(beside)}; embeddings.filter does not name "
             f"{', '.join(left)}" if left else f"{unique}: this target's rows are embeddings.filter's "
             + ", ".join(f"{c} = {v}" for c, v in em.filter))
    return verdict("rows per chunk", collection, not left, "embeddings.filter naming this target's rows where a chunk "
                   "has several (one per model)", found,
                   note="" if not left else "set embeddings.filter: {" + ", ".join(f"{c}: ..." for c in left) + "} to "
                   "the values of provider.model's rows: without it the engine would replace every model's rows of "
                   "a chunk and the counts would take another model's vector for this one's")


def not_null_outcome(conn: Conn, target: Target, collection: str | None) -> Outcome:
    em = target.profile.embeddings
    empty = unfilled_columns(conn, target)
    found = (f"{em.table}.{', '.join(empty)} NOT NULL without a default, which the engine would leave empty"
             if empty else "every NOT NULL column is written or has a default")
    note = "" if not empty else ("fill them in the profile with SQL expressions, e.g. " + EXAMPLE_DEFAULTS
                                 + " (placeholders {dims}, {model}, {collection})")
    return verdict("not-null columns", collection, not empty, "a value for every NOT NULL column the engine inserts",
                   found, note=note)


def into_key_outcome(conn: Conn, target: Target, collection: str | None) -> Outcome | None:
    """--into copies chunk rows with new keys from the table's default: a key the application fills has none."""
    from .backfill import library_swap

    if library_swap.is_langchain(target):
        return None  # library_swap.copy_collection gives each copied row a new uuid id, as LangChain does
    ch = target.profile.chunks
    key = next((c for c in _columns(conn, ch.schema, ch.table) if c["name"] == ch.id), None)
    if key is None or key["filled"]:
        return None
    return verdict("new collection keys", collection, False,
                   f"a default for {ch.table}.{ch.id} (--into copies chunks with new keys)",
                   f"{ch.table}.{ch.id} ({key['type']}) has no default: the application fills it",
                   note=f"give {ch.table}.{ch.id} a default (e.g. ALTER TABLE ... ALTER {ch.id} SET DEFAULT "
                        "gen_random_uuid()::text) or backfill in place with --approve-model-change")


def collection_key_outcome(conn: Conn, target: Target, collection: str | None) -> Outcome | None:
    """A collection name must name one row of ``chunks.collection_table``: LangChain's names are not unique (two
    workers racing ``get_or_create``), and the application reads one row by name, so chunks under another key are
    invisible to it while the harness, resolving the name to every key, would count, embed and pass them as one."""
    ch = target.profile.chunks
    ct = ch.collection_table
    if ct is None or collection is None:
        return None
    names = dict(key=sql.Identifier(ct.key), chunks=sql.Identifier(ch.schema, ch.table),
                 col=sql.Identifier(str(ch.collection)), t=sql.Identifier(ct.schema, ct.table), name=sql.Identifier(ct.name))
    keys = [r["key"] for r in conn.execute(sql.SQL("SELECT {key}::text AS key FROM {t} WHERE {name}::text = %s ORDER BY 1")
                                           .format(**names), (collection,)).fetchall()]
    counted: dict[str, int] = {}
    if len(keys) > 1:  # only then are the chunks under each key counted (a pass over them, at scale)
        held = sql.SQL("unnest(c.{col}) AS k" if ch.collection_array else "(SELECT c.{col}) AS x(k)").format(**names)
        counted = {r["key"]: r["n"] for r in conn.execute(sql.SQL(
            "SELECT k::text AS key, count(*) AS n FROM {chunks} AS c CROSS JOIN LATERAL {held} WHERE k IN "
            "(SELECT {key} FROM {t} WHERE {name}::text = %s) GROUP BY 1").format(held=held, **names), (collection,)).fetchall()}
    rows = sorted(({"key": k, "n": counted.get(k, 0)} for k in keys), key=lambda r: (-r["n"], r["key"]))
    table = f"{ct.schema}.{ct.table}"
    shown = ", ".join(f"{r['key']} ({r['n']} chunks)" for r in rows[:5]) + (f", ... ({len(rows)} in all)" if len(rows) > 5 else "")
    return verdict("collection key", collection, len(rows) == 1, f"one row of {table} named {collection!r}",
                   f"{collection!r} names {len(rows)} rows of {table}: {shown}" if len(rows) != 1
                   else f"{collection!r} is {table}.{ct.key} {rows[0]['key']}",
                   note="" if len(rows) == 1 else
                   "the application reads one of them by name, so chunks under the others are invisible to it: "
                   f"move their chunks to one key and delete the other rows of {table} first")


def into_shape_outcome(target: Target, collection: str | None, into: str) -> Outcome | None:
    """--into fills a new collection beside the live one and ``swap`` relabels both: that needs collection columns."""
    from .backfill import library_swap

    ch, em = target.profile.chunks, target.profile.embeddings
    from .backfill import pgai_swap

    if library_swap.is_langchain(target) or library_swap.per_table(target) or pgai_swap.is_pgai(target):
        # a new collection row (LangChain), a new table (LlamaIndex), a new vectorizer destination (pgai)
        return None
    lacks = []
    if target.inline:
        lacks.append(f"the vectors are an inline column of {ch.table}")
    if not ch.collection:
        lacks.append(f"chunks have no collection column (chunks.collection_name: {ch.collection_name!r} is one fixed name)")
    if ch.collection_array:
        lacks.append(f"chunks belong to collections through an array column ({ch.collection}[]): a chunk of several "
                     "collections cannot be copied into one")
    if not lacks:
        return None
    if em.model:
        works = (f"a model change replaces vectors in place: backfill-harness backfill --profile P --collection "
                 f"{collection or 'C'} --model NEW_MODEL --approve-model-change (each batch is replaced in one "
                 "transaction; until the run ends, searches mix old and new vectors)")
    else:
        works = ("the target keeps no model name (embeddings.model), so old vectors cannot be told from new ones: "
                 "clear the vectors (set the vector column to NULL, or delete the embedding rows) in a maintenance "
                 f"window, then backfill-harness backfill --profile P --collection {collection or 'C'} --model NEW_MODEL")
    return verdict(
        "new collection", collection, False,
        f"a collection column in the chunk table and a separate embedding table, for --into {into!r} and swap",
        "; ".join(lacks), note="on this shape " + works)


def defaults_outcome(conn: Conn, target: Target, collection: str | None, *, model: str,
                     dims: int | None) -> Outcome | None:
    """Each default expression, planned (not run) as a value of its column's type."""
    em = target.profile.embeddings
    if not em.defaults:
        return None
    types = {c["name"]: c["type"] for c in _columns(conn, em.schema, em.table)}
    problems = []
    for column, expression in em.defaults.items():
        key = f"embeddings.defaults.{column}"
        if column not in types:
            problems.append(f"{key}: {em.table} has no column {column!r}")
            continue
        composed = sqlexpr.compose(expression, {"dims": dims if dims is not None else 0, "model": model,
                                                "collection": collection or ""})
        try:
            with conn.transaction():
                conn.execute(sql.SQL("EXPLAIN SELECT CAST({} AS {})").format(composed, sql.SQL(types[column])))
        except psycopg.Error as exc:
            problems.append(f"{key}: {expression!r} is not a {types[column]} value: {str(exc).splitlines()[0]}")
    shown = ", ".join(f"{c} = {e}" for c, e in em.defaults.items())
    return verdict("defaults", collection, not problems, "each embeddings.defaults expression a value of its column's type",
                   "; ".join(problems) or shown)


SHA256_HEX = "^[0-9a-f]{64}$"  # what the engine writes into embeddings.input_hash (harness.hashing.text_hash)


def input_hash_outcome(conn: Conn, target: Target, collection: str | None) -> Outcome | None:
    """Does ``embeddings.input_hash`` hold what the engine writes there (SHA-256 hex of the text)?

    Measured on up to 1,000 stored values: an application's own hash (khoj's ``hashed_value`` is the MD5 of the
    text) never equals the engine's, so every row would be counted stale and its value overwritten, breaking the
    application's own lookups. None when the profile names no input hash."""
    em = target.profile.embeddings
    if not em.input_hash:
        return None
    h = sql.SQL("{}::text").format(target.e(em.input_hash))
    query = sql.SQL(
        "SELECT count(*) AS n, count(*) FILTER (WHERE s.h !~ {form}) AS bad, count(*) FILTER (WHERE s.h = md5(s.t)) AS md5 "
        "FROM (SELECT {h} AS h, {t} AS t FROM {j} WHERE {w} AND {e} IS NOT NULL LIMIT 1000) AS s").format(
            form=sql.Literal(SHA256_HEX), h=h, t=target.text, j=target.join(),
            w=target.chunk_filter(collection_param=collection is not None), e=target.e(em.input_hash))
    with conn.transaction():  # a failed read must not end the caller's transaction
        row = conn.execute(query, {"collection": collection}).fetchone()
    values = [row[k] for k in ("n", "bad", "md5")] if isinstance(row, dict) else list(row or (0, 0, 0))
    n, bad, md5 = (int(v) for v in values)
    column = f"{em.table}.{em.input_hash}"
    if bad:
        what = f"; {md5} are the MD5 of the text" if md5 else ""
        return verdict("input hash", collection, False, f"{column} holding the SHA-256 hex of the text (what the engine writes)",
                       f"{bad} of {n} stored values read are not SHA-256 hex{what}: every such row would be counted "
                       f"stale and its value overwritten; leave embeddings.input_hash out (the column is the "
                       "application's own hash)")
    return verdict("input hash", collection, True, "",
                   f"{n} stored values of {column} read, each of SHA-256 hex form" if n
                   else f"no stored value of {column} read (none yet, or none the role may see)")


def preflight(conn: Conn, target: Target, collection: str | None, *, model: str,
              dims: int | None = None, into: str | None = None, copies: bool | None = None) -> list[Outcome]:
    """What scope prints and the engine requires before writing (catalog reads, EXPLAIN, and a sample of stored hashes).

    ``into``: the new collection of an --into run; ``copies``: whether chunks will be copied into it (default: yes).
    """
    outcomes = [not_null_outcome(conn, target, collection)]
    if (rows := side_by_side_outcome(conn, target, collection)) is not None:
        outcomes.append(rows)
    shape = into_shape_outcome(target, collection, into) if into else None
    copies = bool(into) if copies is None else copies
    for extra in (collection_key_outcome(conn, target, collection), shape, input_hash_outcome(conn, target, collection),
                  defaults_outcome(conn, target, collection, model=model, dims=dims),
                  into_key_outcome(conn, target, collection) if copies and shape is None else None):
        if extra is not None:
            outcomes.append(extra)
    path = write_path(conn, target)
    outcomes.append(Outcome("write path", collection, PASS, "a way to write every batch in one transaction", path.reason))
    outcomes.append(rls.outcome(rls.inspect(conn, target.profile), target.profile, collection))
    # A refusal's one line is "check: found": the way out goes there too, or nobody reads it.
    return [dataclasses.replace(o, found=f"{o.found}; {o.note}", note="") if o.status == FAIL and o.note else o
            for o in outcomes]


def require(outcomes: list[Outcome]) -> None:
    """Refuse (exit 2, nothing written) when a preflight outcome failed."""
    failed = [o for o in outcomes if o.status == FAIL]
    if failed:
        first = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        found = first.found + (f"; {first.note}" if first.note else "")
        raise RefusedError(f"{first.check}: expected {first.expected}; found {found}{more}; nothing was written")
