"""Does the database hold every table and column a profile names? Each absence is reported by its profile key."""

from __future__ import annotations

from typing import Any, cast

from psycopg import sql

from . import hashing, text_parts
from .db import Conn, one
from .errors import ConfigError
from .profile import Profile, json_field


def _columns(conn: Conn, schema: str, table: str) -> dict[str, str] | None:
    """The table's column names with their types, or None when no such table (or view) exists."""
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace "
        "LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "WHERE n.nspname = %s AND t.relname = %s",
        (schema, table),
    ).fetchall()
    if not rows:
        return None
    return {cast(str, _value(r, 0)): cast(str, _value(r, 1)) for r in rows if _value(r, 0) is not None}


def column_type(conn: Conn, schema: str, table: str, column: str) -> str | None:
    """The column's type as written (``timestamp(3) with time zone``), or None where the table or column is absent."""
    return (_columns(conn, schema, table) or {}).get(column)


def _value(row, i: int) -> str | None:
    return (row["attname"] if i == 0 else row["format_type"]) if isinstance(row, dict) else row[i]


def missing_names(conn: Conn, profile: Profile) -> list[str]:
    """One line per table or column the profile names that the database lacks (empty: all there)."""
    ch, em = profile.chunks, profile.embeddings
    held_by: list[tuple[str, str | None]] = []  # the chunk columns naming a source row, and its type (chunk_filter)
    if profile.source:
        held_by = [("source.chunk_key" if profile.source.chunk_key else "source.key", profile.source.held_by)]
        held_by += [(f"source.chunk_filter.{c}", c) for c, _ in profile.source.chunk_filter]
    wanted: dict[str, tuple[str, str, list[tuple[str, str | None]]]] = {
        "chunks": (ch.schema, ch.table, [("chunks.id", ch.id),
                                         # with a join table, the collection is its column (below)
                                         ("chunks.collection", None if ch.collection_join else ch.collection),
                                         ("chunks.collection_join.chunk", ch.collection_join.chunk if ch.collection_join else None),
                                         ("chunks.tenant", ch.tenant), ("chunks.updated_at", ch.updated_at)]
                   # text and sources may be ``column->>key`` (a key of a JSON column): the column must exist
                   + [(f"chunks.text[{i}]", f) for i, c in enumerate(ch.text) for f in text_parts.fields(c)]
                   + [(f"embeddings.input_hash_of[{i}]", f) for i, c in enumerate(profile.embeddings.input_hash_of)
                      for f in text_parts.fields(c)]
                   + [(f"chunks.sources[{i}]", c) for i, c in enumerate(ch.sources)
                      if not (profile.source and c.startswith("source."))]
                   + [(f"chunks.filter.{c}", c) for c, _ in ch.filter
                      if not (ch.collection_join and c == ch.collection)]
                   + [("chunks.metadata", ch.metadata)]
                   + held_by),
        "embeddings": (em.schema, em.table, [("embeddings.key", em.key), ("embeddings.vector", em.vector),
                                             ("embeddings.model", em.model), ("embeddings.input_hash", em.input_hash),
                                             ("embeddings.collection", em.collection), ("embeddings.tenant", em.tenant),
                                             ("embeddings.dimensions", em.dimensions),
                                             ("embeddings.updated_at", em.updated_at),
                                             ("embeddings.embedded_at", em.embedded_at)]),
    }
    if ch.collection_join:
        join = ch.collection_join
        wanted["chunks.collection_join"] = (join.schema, join.table, [("chunks.collection", ch.collection),
                                                                      ("chunks.collection_join.key", join.key)])
    if profile.source:
        src = profile.source
        source_keys: list[tuple[str, str | None]] = [("source.key", src.key), ("source.collection", src.collection)]
        source_keys += [(f"chunks.sources[{i}]", c[len("source."):]) for i, c in enumerate(ch.sources) if c.startswith("source.")]
        wanted["source"] = (src.schema, src.table, source_keys)
    problems: list[str] = []
    # a name whose schema the profile leaves to the default, and the connection's search_path finds elsewhere
    given = {"chunks": ch.schema_given, "embeddings": em.schema_given or em.is_inline(ch)}
    for section, (schema, table, keys) in wanted.items():
        columns = _columns(conn, schema, table)
        if columns is None:
            problems.append(f"profile key '{section}.table' names table {f'{schema}.{table}'!r}, which does not exist")
            continue
        if section in given and not given[section] and (rival := _resolved_elsewhere(conn, section, schema, table)):
            problems.append(rival)
        for key, name in keys:
            column, json_key = json_field(name) if name is not None else (None, None)
            if column is not None and json_key is not None and columns.get(column) not in (None, "json", "jsonb"):
                problems.append(f"profile key '{key}' names key {json_key!r} of column {column!r}, which is of type "
                                f"{columns[column]}; expected a json or jsonb column")
            if column is not None and column not in columns:
                problems.append(f"profile key '{key}' names column {column!r}, which table {f'{schema}.{table}'!r} does not have; "
                                f"expected one of: {', '.join(sorted(columns)[:12])}")
            elif key == "embeddings.vector" and column is not None and json_key is None \
                    and _base_type(conn, schema, table, column) not in PGVECTOR_TYPES:
                # a float array or JSON list (an ORM's Float[]): every distance and norm is pgvector's
                problems.append(f"profile key '{key}' names column {column!r}, which is of type {columns[column]}; "
                                "expected a pgvector column (vector, halfvec or sparsevec)")
            elif key.startswith("chunks.text[") and column is not None and json_key is None \
                    and (encoded := _encoded_text(conn, profile, schema, table, column)) is not None:
                problems.append(f"profile key '{key}' names column {column!r}, which is of type {columns[column]}: "
                                f"its text is {encoded}, not a text the application embeds (every vector would be "
                                "of that, and recompute, embedding the same, agrees with it); expected a text column, "
                                "or a labelled part whose expression makes the text of it (\"{convert_from(body, "
                                "'UTF8')}\", \"{array_to_string(paragraphs, ' ')}\")")
            elif key == "embeddings.input_hash" and column is not None:
                problems += _input_hash_problem(conn, profile, column, columns[column])
            elif key in _TIME_KEYS and column is not None and not columns[column].startswith(_TIME_TYPES):
                # fresh compares the chunk's time with the vector's in SQL: text or a number cannot be
                problems.append(f"profile key '{key}' names column {column!r}, which is of type {columns[column]}; "
                                "expected a timestamp (timestamp or timestamptz) or a date")
            elif key in ("chunks.collection", "source.collection") and column is not None:
                array = ch.collection_array if key == "chunks.collection" else bool(profile.source and profile.source.collection_array)
                problems += _collection_array_problem(key, column, columns[column], array)
        if section == "chunks":
            problems += _text_part_problems(conn, profile)
        if section == "embeddings":
            problems += _generated_problems(conn, profile, set(columns))
    if not problems and not em.is_inline(ch):
        problems += _key_type_problems(conn, profile)
    return problems


def _written_keys(profile: Profile) -> list[tuple[str, str]]:
    """(profile key, column) of the embedding table (the chunk table, inline) the engine writes with each vector; the
    input hash apart (``_input_hash_problem`` says more of it)."""
    ch, em = profile.chunks, profile.embeddings
    inline = em.is_inline(ch)
    keys = [("embeddings.key", None if inline else em.key), ("embeddings.vector", em.vector),
            ("embeddings.model", json_field(em.model)[0] if em.model else None),
            ("embeddings.dimensions", em.dimensions),
            ("embeddings.collection", None if inline else em.collection),
            ("embeddings.tenant", None if inline else em.tenant),
            ("embeddings.embedded_at" if em.embedded_at else "embeddings.updated_at",
             None if inline and em.written_at == ch.updated_at else em.written_at)]
    keys += [(f"embeddings.defaults.{col}", col) for col in em.defaults]
    return [(key, col) for key, col in keys if col]


def _generated_problems(conn: Conn, profile: Profile, present: set[str]) -> list[str]:
    """A column the engine writes that the database generates (``GENERATED ALWAYS AS ...``, an identity ``GENERATED
    ALWAYS``): no write may set it, so the run stopped at its first batch ('column "model" is a generated column'),
    and one the database computes says nothing of the vector beside it (a constant model name passed the model check
    whatever made the vector)."""
    em = profile.embeddings
    written = [(key, col) for key, col in _written_keys(profile) if col in present]
    if not written:
        return []
    rows = conn.execute("SELECT a.attname AS name, a.attgenerated <> '' AS generated FROM pg_attribute a "
                        "WHERE a.attrelid = to_regclass(format('%%I.%%I', %s::text, %s::text)) AND a.attname = ANY(%s) "
                        "AND NOT a.attisdropped AND (a.attgenerated <> '' OR a.attidentity = 'a')",
                        (em.schema, em.table, [col for _, col in written])).fetchall()
    generated = {r["name"]: r["generated"] for r in rows}
    return [f"profile key {key!r} names column {col!r}, which the database generates ("
            + ("GENERATED ALWAYS AS ..." if generated[col] else "GENERATED ALWAYS AS IDENTITY")
            + "): no write may set it, and it says nothing of the vector written beside it; expected a column the "
            "application writes with each vector" + (" (the column it is computed from)" if key == "embeddings.vector"
                                                     else f" (or leave {key} out)")
            for key, col in written if col in generated]


PGVECTOR_TYPES = ("vector", "halfvec", "sparsevec")  # pgvector's types, whose distances and norms every count uses
# SQL: the type of the pg_attribute row ``a`` through every domain over it (``CREATE DOMAIN note_embedding AS
# embedding768``, itself a domain over vector(768)) as ``m.base`` and the typmod declared at the first level that
# declares one as ``m.typmod``: a domain's column has none of its own (-1), a domain over a domain none either.
BASE_TYPE = ("LATERAL (WITH RECURSIVE d(oid, typmod, depth) AS (SELECT a.atttypid, a.atttypmod, 0 UNION ALL "
             "SELECT t.typbasetype, CASE WHEN d.typmod >= 0 THEN d.typmod ELSE t.typtypmod END, d.depth + 1 FROM d "
             "JOIN pg_type t ON t.oid = d.oid WHERE t.typtype = 'd') SELECT d.oid AS base, d.typmod FROM d "
             "ORDER BY d.depth DESC LIMIT 1) AS m")


def _base_type(conn: Conn, schema: str, table: str, column: str) -> str | None:
    """The name of the column's type, through any domains over it (``CREATE DOMAIN embedding AS vector(384)``)."""
    row = conn.execute(
        f"SELECT t.typname FROM pg_attribute a CROSS JOIN {BASE_TYPE} JOIN pg_type t ON t.oid = m.base "
        "WHERE a.attrelid = %s::regclass AND a.attname = %s",
        (sql.Identifier(schema, table).as_string(conn), column)).fetchone()
    return None if row is None else str(row["typname"] if isinstance(row, dict) else row[0])


# Types whose text form is Postgres's encoding of the value, never a text an application embeds.
_ENCODED = {"bytea": "its bytes in hex (\\x4e6f...)", "tsvector": "its lexemes and positions ('note':1)",
            "tsquery": "its search operators"}


def _encoded_text(conn: Conn, profile: Profile, schema: str, table: str, column: str) -> str | None:
    """What a ``chunks.text`` column's text form is where it is an encoding of the value (``_ENCODED``; an array's
    literal, but beside ``chunks.text_json``, which embeds an array as JSON's), else None."""
    base = _base_type(conn, schema, table, column) or ""
    if base.startswith("_") and profile.chunks.text_json is None:
        return "an array literal ({\"...\",\"...\"})"
    return _ENCODED.get(base)


def _key_type_problems(conn: Conn, profile: Profile) -> list[str]:
    """``embeddings.key`` must compare with ``chunks.id`` as every join does (measured with ``LIMIT 0``): numeric ids
    kept as text stopped every command at a bare database error naming no key."""
    import psycopg

    from .target import Target

    ch, em, target = profile.chunks, profile.embeddings, Target(profile)
    query = sql.SQL("SELECT 1 FROM {} AS c JOIN {} AS e ON {} = {} LIMIT 0").format(
        target.chunk_table, target.embedding_table, sql.Identifier("e", em.key), sql.Identifier("c", ch.id))
    was = one(conn.execute("SELECT current_setting('lock_timeout') AS t").fetchone())["t"]
    try:
        with conn.transaction():  # a savepoint: the caller's transaction stays usable
            # Planning the join locks both tables: a probe must not wait out the run's lock_timeout behind a session
            # holding one (the statements that follow wait for it, and name it).
            conn.execute("SELECT set_config('lock_timeout', '100ms', true)")
            conn.execute(query)
        conn.execute("SELECT set_config('lock_timeout', %s, true)", (was,))
    except (psycopg.errors.UndefinedFunction, psycopg.errors.DatatypeMismatch) as exc:
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        types = (_columns(conn, em.schema, em.table) or {}, _columns(conn, ch.schema, ch.table) or {})
        return [f"profile key 'embeddings.key' names column {em.key!r} of type {types[0].get(em.key)}, which Postgres "
                f"cannot compare with chunks.id {ch.id!r} of type {types[1].get(ch.id)} ({why}); expected a column of "
                "chunks.id's type"]
    except psycopg.Error:
        return []  # nothing measured (a lock held, a timeout): the statements that follow meet the cause and say it
    return []


def _text_part_problems(conn: Conn, profile: Profile) -> list[str]:
    """A labelled part's SQL expression must read on the chunk table alone, as Target composes it: a name it lacks is
    said here, not at the first query; and a sub-select reads the outer query's names, so one the table lacks would
    otherwise be read from the embeddings table wherever the query joins it."""
    import psycopg

    from .target import Target

    ch, target = profile.chunks, Target(profile)
    problems: list[str] = []
    for i, item in enumerate(ch.text):
        if not text_parts.is_template(item) or all(p.kind != "sql" for p in text_parts.parse(item)):
            continue
        query = sql.SQL("SELECT {} FROM {} AS c LIMIT 0").format(target.text_part(item), target.chunk_table)
        try:
            with conn.transaction():  # a savepoint: the caller's transaction stays usable
                conn.execute(query)
        except psycopg.Error as exc:
            why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            problems.append(f"profile key 'chunks.text[{i}]' is {item!r}, whose SQL does not read on table "
                            f"{ch.schema}.{ch.table} alone ({why}); expected an expression over the chunk's columns")
    return problems


_TIME_KEYS = ("chunks.updated_at", "embeddings.updated_at", "embeddings.embedded_at")
_TIME_TYPES = ("timestamp", "date")  # format_type: "timestamp(6) without time zone", "timestamp with time zone", "date"


def input_hash_type(conn: Conn, profile: Profile) -> str:
    """The catalog type of ``embeddings.input_hash`` ("" when none): a bytea column keeps the raw digest, a string
    type its hex (``harness.hashing``)."""
    em = profile.embeddings
    return (_columns(conn, em.schema, em.table) or {}).get(em.input_hash or "", "")


def other_vector_columns(conn: Conn, profile: Profile) -> list[str]:
    """The vector columns (pgvector's types) of the table holding the profile's vector, other than it: their writes set
    the row's input hash and vector time too. A generated column (a halfvec copy of the vector) is written with it."""
    schema, table = ((profile.chunks.schema, profile.chunks.table) if profile.inline
                     else (profile.embeddings.schema, profile.embeddings.table))
    # a domain's column by its base type (CREATE DOMAIN embedding AS vector(384) is a vector column too)
    rows = conn.execute(f"SELECT a.attname FROM pg_attribute a CROSS JOIN {BASE_TYPE} JOIN pg_type t ON t.oid = m.base "
                        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped "
                        "AND a.attgenerated = '' AND t.typname IN ('vector', 'halfvec', 'sparsevec') "
                        "AND a.attname <> %s ORDER BY a.attnum", (schema, table, profile.embeddings.vector)).fetchall()
    return [r["attname"] if isinstance(r, dict) else r[0] for r in rows]


def proof_shared_with(conn: Conn, profile: Profile) -> list[str]:
    """The vector columns beside the profile's whose writes set its input hash (or vector time) too
    (``other_vector_columns``), so that it proves neither vector current; [] where it names neither proof."""
    em, ch = profile.embeddings, profile.chunks
    if not (em.input_hash or (em.written_at and ch.updated_at)):
        return []
    return other_vector_columns(conn, profile)


def unhashed_fields(conn: Conn, profile: Profile) -> list[str]:
    """``Target.unhashed_fields`` of the chunk table's columns: what chunks.text embeds that embeddings.input_hash_of
    does not hash (read only where input_hash_of is set)."""
    from .target import Target

    if not profile.embeddings.input_hash_of:
        return []
    return Target(profile).unhashed_fields(set(_columns(conn, profile.chunks.schema, profile.chunks.table) or {}))


MICROSECOND = 6  # the digits below the second of PostgreSQL's finest time


def declared_digits(schema: str, table: str, column: str) -> sql.Composable:
    """SQL, an uncorrelated subquery (read once per statement): the digits below the second a ``timestamp(0)`` to
    ``timestamp(5)`` column keeps (its typmod), else ``MICROSECOND`` (any other time, or no such column). The one
    reading of a time column's tick: the comparisons compose it (``Target.compared_digits``), the writer runs it."""
    return sql.SQL(
        "coalesce((SELECT a.atttypmod FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = {s} AND c.relname = {t} AND a.attname = {c} AND NOT "
        "a.attisdropped AND a.atttypid IN ('timestamp'::regtype, 'timestamptz'::regtype) AND a.atttypmod BETWEEN 0 "
        "AND 5), {us})").format(s=sql.Literal(schema), t=sql.Literal(table), c=sql.Literal(column),
                                us=sql.Literal(MICROSECOND))


def time_digits(conn: Conn, schema: str, table: str, column: str) -> int:
    """``declared_digits`` of one column, read now."""
    return int(one(conn.execute(sql.SQL("SELECT {} AS p").format(declared_digits(schema, table, column))).fetchone())["p"])


def has_pgcrypto(conn: Conn) -> bool:
    """pgcrypto's ``digest(bytea, text)`` resolves on this session's search path (SHA-1 needs it)."""
    row = conn.execute("SELECT to_regprocedure(%s) IS NOT NULL AS ok", (hashing.PGCRYPTO_DIGEST,)).fetchone()
    return bool(row["ok"] if isinstance(row, dict) else (row or (False,))[0])


def _input_hash_problem(conn: Conn, profile: Profile, column: str, sqltype: str) -> list[str]:
    """The input hash column must keep a digest (hex text or bytea), and its algorithm be computable in Postgres."""
    if not hashing.is_digest_column(sqltype):
        return [f"profile key 'embeddings.input_hash' names column {column!r}, which is of type {sqltype}; expected "
                "a text column (the hash as hex) or bytea (the raw digest)"]
    em = profile.embeddings
    row = conn.execute("SELECT a.attgenerated <> '' AS generated FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid "
                       "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = %s AND t.relname = %s "
                       "AND a.attname = %s", (em.schema, em.table, column)).fetchone()
    if row and (row["generated"] if isinstance(row, dict) else row[0]):
        # The database computes it from the row as it is now: equal to the current text's digest whatever text the
        # vector was made of (fresh passed over edited texts), and no write may set it (the engine's first fails).
        return [f"profile key 'embeddings.input_hash' names column {column!r}, which the database generates "
                "(GENERATED ALWAYS AS ...) from the row as it is now: it says nothing of the text a vector was made "
                "of, and no write may set it; expected a column the application writes with each vector (or leave "
                "embeddings.input_hash out)"]
    if (trigger := trigger_setting(conn, em.schema, em.table, column)) is not None:
        return [f"profile key 'embeddings.input_hash' names column {column!r}, which trigger {trigger!r} sets on every "
                "write of the row: it follows the row's current text whatever text the vector was made of, so it says "
                "nothing of the vector (fresh would pass over an edited text's old vector); expected a column only the "
                "application's embedding writes set (or leave embeddings.input_hash out)"]
    alg = hashing.algorithm(em.input_hash_algorithm)
    if (most := hashing.max_characters(sqltype)) is not None and most < alg.hex_length:
        # the engine's first write would fail mid-run ("value too long"): said before anything is written
        fits = [a.name for a in hashing.ALGORITHMS.values() if a.hex_length <= most]
        return [f"profile key 'embeddings.input_hash_algorithm' is {alg.name}, whose hex is {alg.hex_length} "
                f"characters, but column {column!r} ({sqltype}) holds at most {most} characters; expected "
                + (f"input_hash_algorithm: {' or '.join(fits)}" if fits else "a wider column")
                + " (or leave embeddings.input_hash out)"]
    if alg.pgcrypto and not has_pgcrypto(conn):
        return [f"profile key 'embeddings.input_hash_algorithm' is {alg.name}, which Postgres computes only with "
                "pgcrypto's digest(), not found on this database's search path; expected CREATE EXTENSION pgcrypto "
                "(or leave embeddings.input_hash out)"]
    return []


def trigger_setting(conn: Conn, schema: str, table: str, column: str) -> str | None:
    """The name of an enabled row trigger firing before INSERT or UPDATE of the table whose PL/pgSQL function sets
    ``NEW.column`` (``assigns_column``) other than only where it is NULL, or that is contrib's ``moddatetime(column)``
    (Supabase's standard updated_at trigger, a C function with no source to read), or None."""
    rows = conn.execute(
        "SELECT t.tgname AS name, p.prosrc AS src, p.proname = 'moddatetime' AND p.prolang = "
        "(SELECT oid FROM pg_language WHERE lanname = 'c') AS moddatetime, t.tgargs AS args FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_proc p "
        "ON p.oid = t.tgfoid WHERE n.nspname = %s AND c.relname = %s AND NOT t.tgisinternal AND t.tgenabled <> 'D' "
        "AND t.tgtype & 1 = 1 AND t.tgtype & 2 = 2 AND t.tgtype & (4 | 16) <> 0", (schema, table)).fetchall()
    for row in rows:
        name, src, moddatetime, args = ((row["name"], row["src"], row["moddatetime"], row["args"])
                                        if isinstance(row, dict) else row)
        if moddatetime and bytes(args or b"").split(b"\x00")[0] == column.encode():
            return str(name)
        if src and not moddatetime and assigns_column(src, column):
            return str(name)
    return None


def assigns_column(src: str, column: str) -> bool:
    """Whether a PL/pgSQL trigger function's source sets ``NEW.column`` other than only where it is NULL: ``NEW.column
    := ...`` (or ``=``, not a comparison), ``SELECT ... INTO NEW.column``, or the whole row replaced (``NEW := ...``)
    in a function naming the column. Filling it only where a row has none (``IF NEW.column IS NULL THEN ...``, ``NEW.column
    := coalesce(NEW.column, ...)``) never changes one written with a vector; a guard saying more (``IS NULL OR NEW.body
    IS DISTINCT FROM OLD.body``) recomputes it on every edit of the text."""
    import re

    col = r"new\s*\.\s*(?:\"" + re.escape(column) + r"\"|" + re.escape(column) + r"\b)"
    start = r"(?:^|[;]|\b(?:then|else|begin|loop)\b)\s*"
    flags = re.I | re.M
    # each assignment: where its statement begins, and whether it keeps a value already there (coalesce of itself)
    found = [(m.start(1), m.group(2) is not None) for m in re.finditer(
        start + "(" + col + r")\s*:?=(?!=)\s*(coalesce\s*\(\s*" + col + r"\s*,)?", src, flags)]
    found += [(m.start(1), False) for m in re.finditer(
        start + r"(select\b[^;]*?\binto\s+(?:strict\s+)?(?:[\w.\"]+\s*,\s*)*" + col + ")", src, flags)]
    only_where_null = re.compile(r"\bif\s+" + col + r"\s+is\s+null\s+then\s*$", re.I)
    if any(not keeps and not only_where_null.search(src[:at]) for at, keeps in found):
        return True
    return bool(re.search(start + r"new\s*:?=(?!=)", src, flags)) and column.lower() in src.lower()


def _collection_array_problem(key: str, column: str, sqltype: str, declared_array: bool) -> list[str]:
    """An array column (R2R's ``collection_ids uuid[]``) is a chunk in each collection it lists, written
    ``column[]``: compared as one value it would name no collection, and ``column[]`` on a scalar names none either."""
    is_array = sqltype.endswith("[]")
    if is_array == declared_array:
        return []
    if is_array:
        return [f"profile key '{key}' names column {column!r}, which is of type {sqltype}: each row "
                f"belongs to every collection it lists; expected {column + '[]'!r}"]
    return [f"profile key '{key}' names {column + '[]'!r}, an array, but column {column!r} is of type "
            f"{sqltype}; expected {column!r}"]


def _resolved_elsewhere(conn: Conn, section: str, schema: str, table: str) -> str | None:
    """Why the default schema's table is not surely the application's: this connection's search_path resolves the
    bare name to a table of another schema (a schema per tenant, a role's own search_path), which the application's
    unqualified queries read while every command read and wrote the default's."""
    bare = sql.Identifier(table).as_string(conn)
    row = conn.execute(
        "SELECT n.nspname AS schema, current_setting('search_path') AS path FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s) AND c.oid <> to_regclass(%s)",
        (bare, sql.Identifier(schema, table).as_string(conn))).fetchone()
    if row is None:
        return None
    return (f"profile key '{section}.schema' is not set, so {schema}.{table} is read, but this connection's "
            f"search_path ({row['path']}) resolves {table} to {row['schema']}.{table}, the table the application's "
            f"unqualified queries read; expected {section}.schema naming the one meant")


def require_names(conn: Conn, profile: Profile) -> None:
    """Raise ConfigError (one line, naming the key) unless every table and column the profile names exists."""
    problems = missing_names(conn, profile)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(problems[0] + more)


# The relations a read of the table reads: itself and its partitions or inheritance children, all levels down.
TREE = ("WITH RECURSIVE tree(oid) AS (SELECT to_regclass(%(t)s)::oid UNION "
        "SELECT i.inhrelid FROM pg_inherits AS i JOIN tree ON i.inhparent = tree.oid) ")


def leads_an_index(conn: Conn, schema: str, table: str, column: str, within: str | None = None) -> bool:
    """The one rule of "an index leads this column" (its values found, and read in order, by an index): every relation
    of the table's tree (``TREE``) that holds rows has a valid whole btree index whose first key is ``column``, or
    ``within`` and then ``column`` (a key within its collection), and at least one does. An index on a parent alone
    leaves its inheritance children's rows to a full read; a partitioned table's partitions may each have their own.
    A view or foreign table has none."""
    row = one(conn.execute(TREE + (
        "SELECT bool_and(EXISTS (SELECT 1 FROM pg_index i JOIN pg_class r ON r.oid = i.indexrelid "
        "JOIN pg_am m ON m.oid = r.relam JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
        "LEFT JOIN pg_attribute b ON b.attrelid = i.indrelid AND b.attnum = i.indkey[1] "
        "WHERE i.indrelid = c.oid AND i.indisvalid AND i.indpred IS NULL AND m.amname = 'btree' "
        "AND (a.attname = %(k)s OR (a.attname = %(c)s::name AND b.attname = %(k)s)))) AS led "
        "FROM tree JOIN pg_class c ON c.oid = tree.oid WHERE c.relkind IN ('r', 'm')"),
        {"t": sql.Identifier(schema, table).as_string(conn), "k": column, "c": within}).fetchone())
    return bool(row["led"])


def unique_indexes(conn: Conn, table: str) -> list[dict[str, Any]]:
    """Each unique index of ``table`` (a qualified name) over columns alone, built or being built: its ``name``, key
    columns in order (``cols``), partial predicate (``pred``, None for a whole one) and whether NULLs are one value
    (``nnd``: NULLS NOT DISTINCT, read so that a server before 15, which has no such column, is read too)."""
    return [dict(r) for r in conn.execute(
        "SELECT i.indexrelid::regclass::text AS name, pg_get_expr(i.indpred, i.indrelid) AS pred, "
        "coalesce((to_jsonb(i) ->> 'indnullsnotdistinct')::boolean, false) AS nnd, array(SELECT a.attname FROM "
        "unnest((i.indkey::int2[])[0:i.indnkeyatts - 1]) WITH ORDINALITY AS k(n, o) JOIN pg_attribute a "
        "ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o)::text[] AS cols FROM pg_index i "
        "WHERE i.indrelid = to_regclass(%s) AND i.indisunique AND i.indisready AND i.indexprs IS NULL ORDER BY 1",
        (table,)).fetchall()]


def unique_alone(conn: Conn, schema: str, table: str, column: str) -> bool:
    """Whether a unique index (whole, no expression, valid) on ``column`` alone holds each value once. An invalid one
    (a failed CREATE UNIQUE INDEX CONCURRENTLY, failed on the duplicates it was built over) proves nothing; nor does
    one of a table with inheritance children (INHERITS), which a read of the table reads too and the index never
    covers (a partitioned table's index covers its partitions)."""
    row = one(conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = i.indkey[0] WHERE i.indrelid = to_regclass(%s) AND i.indisvalid AND i.indpred IS NULL "
        "AND a.attname = %s AND i.indisunique AND i.indnkeyatts = 1 AND i.indexprs IS NULL AND "
        "(NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhparent = i.indrelid) OR "
        "(SELECT t.relkind FROM pg_class t WHERE t.oid = i.indrelid) = 'p')) AS found",
        (sql.Identifier(schema, table).as_string(conn), column)).fetchone())
    return bool(row["found"])
