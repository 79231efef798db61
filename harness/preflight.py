"""Before anything is written: can the engine write this target's rows as the database will accept them?

Reads the catalog only. Lists every NOT NULL column without a default that the engine would leave
empty (the profile fills them with ``embeddings.defaults``), checks each default expression
against its column's type, says how rows will be written (COPY or INSERT) and whether
row-level security hides rows from the connecting role. Scope prints these; the engine refuses
to start while one has failed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import psycopg
from psycopg import sql

from . import accepts, collection_join, hashing, rls, sqlexpr
from .backfill import unlogged
from .backfill.writer import filled_columns, write_path, written_columns
from .checks.outcome import FAIL, PASS, Outcome, verdict
from .db import Conn, one
from .introspect import has_pgcrypto, input_hash_type, unique_alone, unique_indexes
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
    written = filled_columns(target) | set(em.defaults) | {col for col, _ in em.filter}
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

    if not library_swap.copies_chunks(target):
        return None  # LangChain's copies get new uuid ids; LlamaIndex's and pgai's tables are new
    ch = target.profile.chunks
    key = next((c for c in _columns(conn, ch.schema, ch.table) if c["name"] == ch.id), None)
    if key is None or key["filled"]:
        return None
    return verdict("new collection keys", collection, False,
                   f"a default for {ch.table}.{ch.id} (--into copies chunks with new keys)",
                   f"{ch.table}.{ch.id} ({key['type']}) has no default: the application fills it",
                   note=f"give {ch.table}.{ch.id} a default (e.g. ALTER TABLE ... ALTER {ch.id} SET DEFAULT "
                        "gen_random_uuid()::text) or backfill in place with --approve-model-change")


def into_unique_outcome(conn: Conn, target: Target, collection: str | None,
                        tenants: list[str | None] | None = None) -> Outcome | None:
    """--into copies each chunk with a new key and the new collection's name, every other column as it is: a unique
    index of the chunk table on neither (a chunk's place in its document, ``UNIQUE (doc, idx)``) holds each copied
    chunk's values twice, and the copy stopped at its first chunk with 'duplicate key value' after scope said ok.
    Counted among the collection's chunks (NULLs are distinct unless the index says NULLS NOT DISTINCT, read so that
    a server before 15, which has no such column, is read too; a partial index's predicate kept); an index over
    expressions is not read. None where no copy would clash."""
    from .backfill import library_swap

    ch = target.profile.chunks
    if collection is None or not library_swap.copies_chunks(target):
        return None
    problems = []
    for index in unique_indexes(conn, _qualified(ch.schema, ch.table)):
        cols = list(index["cols"])
        if ch.id in cols or ch.collection in cols:
            continue
        held = ([] if index["nnd"] else [sql.SQL("{} IS NOT NULL").format(target.c(c)) for c in cols]) + (
            [sql.SQL("({})").format(sql.SQL(accepts.escaped(index["pred"])))] if index["pred"] else [])
        query = sql.SQL("SELECT count(*) AS n FROM {t} AS c WHERE {w}{held}").format(
            t=target.chunk_table, w=target.chunk_filter(),
            held=sql.SQL("").join(sql.SQL(" AND {}").format(h) for h in held))
        views = rls.tenants(conn, target.profile) if tenants is None else tenants
        n = sum(one(view.execute(query, {"collection": collection}).fetchone())["n"]
                for view in rls.views(conn, target.profile, views))
        if n:
            problems.append(f"unique index {index['name']} ({', '.join(cols)}) holds neither {ch.table}.{ch.id} nor "
                            f"{ch.collection}: each of the {n} chunks of {collection!r} with values there would be "
                            "copied with the same values")
    if not problems:
        return None
    return verdict("new collection copies", collection, False,
                   f"a copy of every chunk beside it in {ch.table} (--into copies the chunks under the new name)",
                   "; ".join(problems) + "; the copy would stop at its first chunk",
                   note=f"add {ch.collection} to the index (UNIQUE ({ch.collection}, ...)) or backfill in place with "
                        "--approve-model-change")


def collection_key_outcome(conn: Conn, target: Target, collection: str | None,
                           tenants: list[str | None] | None = None) -> Outcome | None:
    """A collection name must name one row of ``chunks.collection_table``: LangChain's names are not unique (two
    workers racing ``get_or_create``), and the application reads one row by name, so chunks under another key are
    invisible to it while the harness, resolving the name to every key, would count, embed and pass them as one.
    Resolved in each tenant's view (``rls.tenants``), as the application resolves it: where the policies split the
    collections by tenant, each tenant's "default" is one row of its own view."""
    ch = target.profile.chunks
    ct = ch.collection_table
    if ct is None or collection is None:
        return None
    names = dict(key=sql.Identifier(ct.key), chunks=sql.Identifier(ch.schema, ch.table),
                 col=sql.Identifier(str(ch.collection)), t=sql.Identifier(ct.schema, ct.table), name=sql.Identifier(ct.name))
    held = (sql.SQL("({}) AS x(k)").format(collection_join.held_keys(ch)) if ch.collection_join
            else sql.SQL("unnest(c.{col}) AS k" if ch.collection_array else "(SELECT c.{col}) AS x(k)").format(**names))
    views = rls.tenants(conn, target.profile) if tenants is None else tenants
    seen: list[tuple[str | None, list[dict]]] = []
    for tenant, view in zip(views, rls.views(conn, target.profile, views)):
        keys = [r["key"] for r in view.execute(sql.SQL("SELECT {key}::text AS key FROM {t} WHERE {name}::text = %s "
                                                       "ORDER BY 1").format(**names), (collection,)).fetchall()]
        counted: dict[str, int] = {}
        if len(keys) > 1:  # only then are the chunks under each key counted (a pass over them, at scale)
            counted = {r["key"]: r["n"] for r in view.execute(sql.SQL(
                "SELECT k::text AS key, count(*) AS n FROM {chunks} AS c CROSS JOIN LATERAL {held} WHERE k IN "
                "(SELECT {key} FROM {t} WHERE {name}::text = %s) GROUP BY 1").format(held=held, **names),
                (collection,)).fetchall()}
        if keys:
            seen.append((tenant, sorted(({"key": k, "n": counted.get(k, 0)} for k in keys),
                                        key=lambda r: (-r["n"], r["key"]))))
    table = f"{ct.schema}.{ct.table}"
    expected = f"one row of {table} named {collection!r}" + (" in each tenant's view" if views != [None] else "")
    twice = next(((t, rows) for t, rows in seen if len(rows) > 1), None)
    if twice is not None or not seen:
        tenant, rows = twice if twice is not None else (None, [])
        shown = ", ".join(f"{r['key']} ({r['n']} chunks)" for r in rows[:5]) + (
            f", ... ({len(rows)} in all)" if len(rows) > 5 else "")
        where = f" in {tenant}'s view" if tenant is not None else ""
        return verdict("collection key", collection, False, expected,
                       f"{collection!r} names {len(rows)} rows of {table}{where}" + (f": {shown}" if rows else ""),
                       note="the application reads one of them by name, so chunks under the others are invisible to "
                            f"it: move their chunks to one key and delete the other rows of {table} first" if rows
                       else "")
    found = "; ".join(f"{collection!r} is {table}.{ct.key} {rows[0]['key']}" + (f" in {t}'s view" if t is not None else "")
                      for t, rows in seen)
    return verdict("collection key", collection, True, "", found)


def chunk_key_outcome(conn: Conn, target: Target, collection: str | None,
                      tenants: list[str | None] | None = None) -> Outcome | None:
    """``chunks.id`` names one chunk: a value several chunks share (a document id where the table is keyed by document
    and position) would get one vector written over all of them and counted embedded. None where a unique index on
    the column alone proves it; else measured over the collection's chunks in each tenant's view (``rls.tenants``:
    the role's own view may show none), the keys they share grouped once per view."""
    ch = target.profile.chunks
    table = _qualified(ch.schema, ch.table)
    indexes = conn.execute(
        "SELECT i.indisprimary AS pk, i.indisunique AS uniq, i.indpred IS NULL AS whole, "
        "ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY AS k(n, o) "
        "      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o) AS cols "
        "FROM pg_index i WHERE i.indrelid = to_regclass(%s) AND i.indisunique AND i.indisvalid", (table,)).fetchall()
    tenants = rls.tenants(conn, target.profile) if tenants is None else tenants
    if (keyless := _keyless(conn, rls.views(conn, target.profile, tenants), target, collection)) is not None:
        return keyless
    if unique_alone(conn, ch.schema, ch.table, ch.id):
        return None
    # An embedding row that names no collection is the vector of every chunk its key names, in any collection: the
    # key must then name one chunk across the table, not within the collection alone (beta's chunks joined alpha's
    # rows and were counted embedded).
    em = target.profile.embeddings
    across = not target.inline and ch.collection is not None and not em.collection
    shared: list[dict] = []
    chunks = 0
    for view in rls.views(conn, target.profile, tenants):
        found, n = _shared_keys(view, target, None if across else collection)
        shared, chunks = shared + found, chunks + n
    shared.sort(key=lambda r: (r["texts"] <= 1, -r["n"], r["key"]))
    column = f"{ch.table}.{ch.id}"
    differing = [r for r in shared if r["texts"] > 1]
    if not differing:
        copies = (f"; {len(shared)} value{' is' if len(shared) == 1 else 's are'} each held by several chunks of one "
                  f"same text (first: "
                  f"{shared[0]['key']}, {shared[0]['n']} chunks): copies, each written the same vector" if shared else "")
        return verdict("chunk key", collection, True, "",
                       f"no two of the {chunks} chunks with different texts share a value of {column} (measured: no "
                       f"unique index on it alone){copies}")
    first = ", ".join(f"{r['key']} ({r['n']} chunks)" for r in differing[:3])
    pk = next((r["cols"] for r in indexes if r["pk"]), None)
    way = (f"the embedding rows name no collection, so a row of {em.table} is the vector of every chunk its key "
           f"names, in any collection: name the column of {em.table} holding the chunk's {ch.collection} as "
           "embeddings.collection, or key the chunks by a column of their own" if across else
           f"the table's primary key is ({', '.join(pk)}): a chunk is named by several columns, which chunks.id "
           f"cannot say; add a key column of its own (ALTER TABLE {ch.table} ADD COLUMN chunk_id bigserial UNIQUE) "
           "and name it" if pk and len(pk) > 1 and ch.id in pk else "name the column that holds one value per chunk")
    return verdict("chunk key", collection, False, f"{column} naming one chunk each",
                   f"{len(differing)} value{'' if len(differing) == 1 else 's'} of {column} "
                   f"{'is' if len(differing) == 1 else 'are'} each held by several of the {chunks} "
                   f"chunks, of different texts (first: {first}): one vector would be written over all the chunks "
                   "of each", note=way)


def _keyless(conn: Conn, views: Iterator[Conn], target: Target, collection: str | None) -> Outcome | None:
    """A failed ``chunk key`` where chunks of the collection have no ``chunks.id`` (NULL; a unique index lets NULLs
    repeat): no vector is joined to such a chunk, and the engine's keyset pages never passed it (a run embedded them
    again page after page and never ended). None where the column is NOT NULL or every chunk has one."""
    ch = target.profile.chunks
    row = conn.execute("SELECT a.attnotnull AS notnull FROM pg_attribute a WHERE a.attrelid = to_regclass(%s) "
                       "AND a.attname = %s", (_qualified(ch.schema, ch.table), ch.id)).fetchone()
    if not conn.autocommit:
        conn.rollback()
    if row is None or row["notnull"]:
        return None
    none, chunks = 0, 0
    for view in views:
        counted = one(view.execute(sql.SQL("SELECT count(*) FILTER (WHERE {id} IS NULL) AS none, count(*) AS n FROM {t} AS c "
                                       "WHERE {w}").format(id=target.chunk_id, t=target.chunk_table,
                                                           w=target.chunk_filter(collection_param=collection is not None)),
                               {"collection": collection}).fetchone())
        none, chunks = none + int(counted["none"]), chunks + int(counted["n"])
    if not none:
        return None
    column = f"{ch.table}.{ch.id}"
    return verdict("chunk key", collection, False, f"{column} naming one chunk each",
                   f"{none} of the {chunks} chunks have no {column} (NULL): no vector can be joined to them",
                   note=f"fill {column} for every chunk, or leave them out with chunks.filter: {{{ch.id}: {{not: null}}}}")


def _shared_keys(conn: Conn, target: Target, collection: str | None) -> tuple[list[dict], int]:
    """The values of ``chunks.id`` several chunks of this view share, each with its chunks and distinct texts, and
    the view's chunk count: one grouping pass over the view's chunks."""
    # Keys several chunks share, then the texts behind those keys only: a node stored twice (LlamaIndex's ingest run
    # twice) shares its key with a copy of its own text, which one vector serves; different texts never. The count
    # of chunks is the groups' sum, so the view is read once whether or not a key is shared.
    rows = conn.execute(sql.SQL(
        "WITH g AS (SELECT {id}::text AS k, count(*) AS n FROM {t} AS c WHERE {w} GROUP BY 1), "
        "dup AS (SELECT k, n FROM g WHERE n > 1), "
        "texts AS (SELECT {id}::text AS k, count(DISTINCT md5({text})) AS texts FROM {t} AS c "
        "          WHERE {w} AND {id}::text IN (SELECT k FROM dup) GROUP BY 1) "
        "SELECT (SELECT coalesce(sum(n), 0) FROM g)::bigint AS chunks, s.k AS key, s.n, s.texts "
        "FROM (SELECT 1) AS one LEFT JOIN (SELECT * FROM dup JOIN texts USING (k)) AS s ON true").format(
            id=target.chunk_id, text=target.text, t=target.chunk_table,
            w=target.chunk_filter(collection_param=collection is not None)),
        {"collection": collection}).fetchall()
    return [dict(r) for r in rows if r["key"] is not None], int(rows[0]["chunks"])


def into_shape_outcome(target: Target, collection: str | None, into: str) -> Outcome | None:
    """--into fills a new collection beside the live one and ``swap`` relabels both: that needs collection columns."""
    from .backfill import library_swap

    ch, em = target.profile.chunks, target.profile.embeddings
    if not library_swap.copies_chunks(target):
        # a new collection row (LangChain), a new table (LlamaIndex), a new vectorizer destination (pgai)
        return None
    lacks = []
    if target.inline:
        lacks.append(f"the vectors are an inline column of {ch.table}")
    if not ch.collection:
        lacks.append(f"chunks have no collection column (chunks.collection_name: {ch.collection_name!r} is one fixed name)")
    if ch.collection_several:
        through = (f"the join table {ch.collection_join.table}" if ch.collection_join
                   else f"an array column ({ch.collection}[])")
        lacks.append(f"chunks belong to collections through {through}: a chunk of several "
                     "collections cannot be copied into one")
    if ch.collection_table is not None and not ch.collection_several:
        # the copy writes the new collection's name where the chunks hold a key of that table: no row has it
        lacks.append(f"chunks name their collection by a key of {ch.collection_table.table} "
                     f"({ch.table}.{ch.collection}): a copy would hold the new name as a key no row of it has")
    if em.filter:
        # the copies get new keys and only this target's rows: the swap would leave the other rows on the retired
        # chunks (drop-retired deleting them), the live chunks holding none of them
        lacks.append(f"{em.table} keeps other rows per chunk beside embeddings.filter's "
                     f"({', '.join(f'{c} = {v}' for c, v in em.filter)}): a new collection's chunks would hold only "
                     "this target's, and the swap would leave the others on the retired chunks")
    if not lacks:
        return None
    if em.filter:
        works = ("a new model's vectors are rows of their own beside these: a profile whose embeddings.filter names "
                 f"the new model's values, then backfill-harness backfill --profile P --collection {collection or 'C'} "
                 "fills them while the application still searches the old ones")
    elif em.model:
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


def names_fit_outcome(conn: Conn, target: Target, collection: str | None, *, model: str,
                      into: str | None = None, copies: bool = False) -> Outcome | None:
    """The run's own strings fit the columns they are written to (``writer.written_columns``: the model's name, the
    collection's, ``into``'s in an --into run, and where --into copies the chunks (``copies``), ``into`` in
    ``chunks.collection``): a ``varchar(10)`` model column stopped the run at its first batch with a bare 'value too
    long', naming neither, and an enum without the name's label or a domain whose CHECK refuses it stopped it the same
    way after scope said ok (each name cast to its column's type, read only). None where every name fits."""
    em, ch = target.profile.embeddings, target.profile.chunks
    table = ch if target.inline else em
    values = {"m": ("embeddings.model", model), "coll": ("embeddings.collection", into or collection)}
    written = [(table, column, *values[staged]) for staged, column in written_columns(target) if staged in values]
    if into and copies and ch.collection and not ch.collection_several and ch.collection_table is None:
        written.append((ch, ch.collection, "chunks.collection", into))
    types: dict[tuple[str, str], dict[str, str]] = {}
    problems = []
    for where, column, key, value in written:
        held = types.setdefault((where.schema, where.table), {c["name"]: c["type"]
                                                              for c in _columns(conn, where.schema, where.table)})
        if value is None or column not in held:
            continue
        most = hashing.max_characters(held[column])
        if most is not None and len(value) > most:
            problems.append(f"{key}: {value!r} ({len(value)} characters) does not fit {where.table}.{column} "
                            f"({held[column]})")
            continue
        try:  # an enum's labels, a domain's CHECK: the type itself says whether the name is one of its values
            with conn.transaction():
                conn.execute(sql.SQL("SELECT CAST({} AS {})").format(sql.Literal(value), sql.SQL(held[column])))
        except psycopg.Error as exc:
            problems.append(f"{key}: {value!r} is no value of {where.table}.{column} ({held[column]}): "
                            f"{str(exc).splitlines()[0]}")
    if not problems:
        return None
    return verdict("names fit", collection, False, "the model's and the collection's names values of their columns' "
                   "types, within their length", "; ".join(problems),
                   note="widen the column (ALTER TABLE ... TYPE text), add the value to its type, or name another")


def input_hash_outcome(conn: Conn, target: Target, collection: str | None,
                       tenants: list[str | None] | None = None) -> Outcome | None:
    """Does ``embeddings.input_hash`` hold what the engine writes there: the configured algorithm's digest of the
    text (``embeddings.input_hash_algorithm``), as lowercase hex or, in a bytea column, raw?

    Measured on up to 1,000 stored values (in each tenant's view) against every algorithm this database can compute: values of another
    algorithm's form name the setting that fits them (khoj's ``hashed_value`` is the MD5 of the text); values of
    the right form of which none is the digest of the text hash something else. Either way every row would be
    counted stale and its value overwritten, breaking the application's own change detection. None when the
    profile names no input hash."""
    em = target.profile.embeddings
    if not em.input_hash:
        return None
    alg = target.hash_algorithm
    column = f"{em.table}.{em.input_hash}"
    with conn.transaction():
        kind, crypto = input_hash_type(conn, target.profile), has_pgcrypto(conn)
    bytea = kind == "bytea"
    form = "digest (bytea)" if bytea else "hex"
    expected = f"{column} holding the {alg.label} {form} of the text (what the engine writes)"
    if not hashing.is_digest_column(kind):
        return verdict("input hash", collection, False, expected,
                       f"{column} is of type {kind or 'unknown'}; expected text (hex) or bytea (the digest)")
    if alg.pgcrypto and not crypto:  # introspect.require_names refuses this first
        return verdict("input hash", collection, False, expected, f"{alg.name} needs pgcrypto's digest(), not found")
    known = [a for a in hashing.ALGORITHMS.values() if crypto or not a.pgcrypto]
    s_h, s_t = sql.SQL("s.h"), sql.SQL("s.t")
    wrong_form = (sql.SQL("octet_length(s.h::bytea) <> {}").format(sql.Literal(alg.hex_length // 2)) if bytea
                  else sql.SQL("s.h::text !~ {}").format(sql.Literal(f"^[0-9a-f]{{{alg.hex_length}}}$")))
    counts = [sql.SQL("count(*) FILTER (WHERE {}) AS {}").format(a.equals_sql(s_h, s_t), sql.Identifier(f"m_{a.name}"))
              for a in known]
    if not bytea:  # hex stored in upper case: the same digest, in a case the engine does not write
        counts += [sql.SQL("count(*) FILTER (WHERE s.h::text <> {hex} AND lower(s.h::text) = {hex}) AS {}").format(
            sql.Identifier(f"u_{a.name}"), hex=a.hex_sql(s_t)) for a in known]
    query = sql.SQL(
        "SELECT count(*) AS n, count(*) FILTER (WHERE {wrong}) AS bad, {counts} "
        "FROM (SELECT {h} AS h, {t} AS t FROM {j} WHERE {w} AND {h} IS NOT NULL LIMIT 1000) AS s").format(
            wrong=wrong_form, counts=sql.SQL(", ").join(counts), h=target.e(em.input_hash), t=target.hashed_text,
            j=target.join(), w=target.chunk_filter(collection_param=collection is not None))
    got: dict[str, int] = {}
    # in each tenant's view (the role's own may show none), added up; a failed read must not end the caller's transaction
    for view in rls.views(conn, target.profile, rls.tenants(conn, target.profile) if tenants is None else tenants):
        cur = view.execute(query, {"collection": collection})
        names = [d.name for d in cur.description or ()]
        row = cur.fetchone()
        for k, v in (row.items() if isinstance(row, dict) else zip(names, row or ())):
            got[k] = got.get(k, 0) + int(v or 0)
    n, bad = got.get("n", 0), got.get("bad", 0)
    if bad:
        # another algorithm's digests, more of them than of the configured one: the setting that fits the column
        others = sorted(((got[f"m_{a.name}"], a) for a in known
                         if a is not alg and got[f"m_{a.name}"] > got[f"m_{alg.name}"]), key=lambda p: -p[0])
        upper = sorted(((got.get(f"u_{a.name}", 0), a) for a in known if got.get(f"u_{a.name}", 0)), key=lambda p: -p[0])
        head = f"{bad} of {n} stored values read are not {alg.label} {form}"
        if others:
            m, other = others[0]
            found = (f"{head}; {m} are the {other.label} of the text: set embeddings.input_hash_algorithm: "
                     f"{other.name} (the engine then writes the {other.label} there, as the application does)")
        elif upper:
            u, other = upper[0]
            found = (f"{head}; {u} are the {other.label} of the text in upper-case hex, and the engine writes "
                     "lower-case hex (the application would see every row it writes as changed): leave "
                     "embeddings.input_hash out")
        else:
            found = (f"{head}: every such row would be counted stale and its value overwritten; leave "
                     "embeddings.input_hash out (the column is the application's own hash)")
        return verdict("input hash", collection, False, expected, found)
    matched = got.get(f"m_{alg.name}", 0)
    if n and not matched:
        # Every text revised since its vector (a re-chunk, an edit of the whole corpus: the very reason to backfill)
        # and a column hashing something else read the same: not a refusal, but said with its numbers, so a user
        # whose column is the application's own hash of another text leaves it out before the engine writes.
        return verdict("input hash", collection, True, "",
                       f"0 of {n} stored {alg.name} values of {column} read equal the {alg.label} of the current "
                       "text: every row read is stale and will be re-embedded, its hash written (every text revised "
                       "since its vector; if the column is the application's hash of something else, the text with a "
                       "title or a prepared text, leave embeddings.input_hash out)")
    return verdict("input hash", collection, True, "",
                   f"{n} stored values of {column} read, each of {alg.label} {form} form; {matched} equal the "
                   f"{alg.label} of the current text" if n
                   else f"no stored value of {column} read (none yet, or none the role may see)")


def preflight(conn: Conn, target: Target, collection: str | None, *, model: str,
              dims: int | None = None, into: str | None = None, copies: bool | None = None,
              tenants: list[str | None] | None = None) -> list[Outcome]:
    """What scope prints and the engine requires before writing (catalog reads, EXPLAIN, and a sample of stored hashes).

    ``into``: the new collection of an --into run; ``copies``: whether chunks will be copied into it (default: yes);
    ``tenants``: the views the chunks are read in (default ``rls.tenants``).
    """
    outcomes = [not_null_outcome(conn, target, collection)]
    if (rows := side_by_side_outcome(conn, target, collection)) is not None:
        outcomes.append(rows)
    shape = into_shape_outcome(target, collection, into) if into else None
    copies = bool(into) if copies is None else copies
    for extra in (chunk_key_outcome(conn, target, collection, tenants), collection_key_outcome(conn, target, collection, tenants), shape,
                  input_hash_outcome(conn, target, collection, tenants),
                  defaults_outcome(conn, target, collection, model=model, dims=dims),
                  names_fit_outcome(conn, target, collection, model=model, into=into,
                                    copies=bool(into) and copies and shape is None),
                  into_key_outcome(conn, target, collection) if copies and shape is None else None,
                  into_unique_outcome(conn, target, collection, tenants) if into and copies and shape is None else None):
        if extra is not None:
            outcomes.append(extra)
    if collection is not None:  # rows the table refuses: no partition takes them, a CHECK constraint fails them
        outcomes += accepts.outcomes(conn, target, collection, model=model, dims=dims, into=into,
                                     copies=bool(into) and copies and shape is None, tenants=tenants)
    path = write_path(conn, target)
    outcomes.append(Outcome("write path", collection, PASS, "a way to write every batch in one transaction", path.reason))
    outcomes.append(rls.outcome(rls.inspect(conn, target.profile), target.profile, collection))
    if (crash := unlogged.outcome(conn, target, into or collection)) is not None:
        outcomes.append(crash)
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
