"""What a database holds for a backfill: vector columns, the text they embed, and the columns around them.

Read from the catalogs only (nothing is written); ``profile init`` turns the result into a draft profile.
Every guess keeps the reason it was made, so the draft can say it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

import psycopg
from psycopg import sql

from . import hashing
from .db import Conn
from .introspect import BASE_TYPE, has_pgcrypto
from .profile import DISTANCES, CollectionJoin, CollectionTable, distance_of_opclass, distances_in_sql, json_field
from .target import _qualified

VECTOR_TYPES = ("vector", "halfvec")
TEXT_TYPES = {"text", "character varying", "character", "varchar", "citext"}

# Column names by role, best first; a name matches exactly, or as the suffix shown.
TEXT_NAMES = ("content", "text", "chunk_text", "chunk", "page_content", "document", "body", "description",
              "name", "title", "summary", "message")
# Names that say a column is the text a vector embeds (not a title or a name shown beside it).
CHUNK_TEXT_NAMES = ("content", "text", "chunk_text", "chunk", "page_content", "document", "body")
# Of the owners, a person (not a workspace, team or organisation, which an app also searches as a collection).
PERSON_NAMES = ("user_id", "owner_id")
TENANT_NAMES = ("tenant_id", "tenant", "org_id", "organization_id", "organisation_id", "workspace_id",
                "account_id", "team_id", *PERSON_NAMES)
COLLECTION_NAMES = ("collection", "collection_name", "collection_id", "collection_ids", "namespace", "workspace", "corpus",
                    "index_name",
                    "knowledge_base_id", "kb_id", "dataset_id")
SOURCE_NAMES = ("url", "source_url", "source", "uri", "href", "link", "title", "file_name", "filename", "path",
                "file_path", "document_id", "doc_id", "node_id")
# Citation names that name the chunk itself, not the document it cites: JSON keys naming a document come first.
CHUNK_ID_SOURCES = ("node_id",)
# Keys LlamaIndex writes into every node's metadata (ids of the Document object it was split from, random unless the
# application sets them): bookkeeping, not a citation the application chose.
LLAMAINDEX_KEYS = ("_node_content", "_node_type", "document_id", "doc_id", "ref_doc_id")
# Citation fields that hold the key of a document row in another table (db_document_id -> document.id).
DOCUMENT_KEY_NAMES = ("document_id", "doc_id", "file_id", "source_id")
HASH_NAMES = ("input_hash", "content_hash", "text_hash", "chunk_hash", "embedding_hash", "hash", "checksum",
              "sha256", "content_sha256")
MODEL_NAMES = ("model_name", "embedding_model", "model", "embed_model", "model_id")
DIMENSION_NAMES = ("dimensions", "dims", "dimension", "embedding_dimensions")
TIME_NAMES = ("embedded_at", "updated_at", "modified_at", "created_at")
# Columns of a collection table that hold the name a person knows a collection by.
COLLECTION_NAME_NAMES = ("name", "collection_name", "label", "title", "slug", "display_name", "handle")


def snake(name: str) -> str:
    """A column's name as the role names are written: Prisma's and TypeORM's quoted camelCase (``environmentId``,
    ``contentHash``) read as ``environment_id``, ``content_hash``; lower case throughout."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool
    has_default: bool
    generated: bool  # identity or generated: the database fills it


@dataclass(frozen=True)
class Policy:
    name: str
    command: str
    roles: tuple[str, ...]
    using: str | None
    check: str | None


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    rows: int  # planner estimate (reltuples); where never analysed, 1 or 0 (whether it holds a row) if readable, else -1
    rls: bool
    force_rls: bool
    policies: tuple[Policy, ...] = ()

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True)
class VectorColumn:
    table: Table
    column: str
    type: str  # vector / halfvec
    dimensions: int | None


@dataclass(frozen=True)
class Guess:
    """A column chosen for a role, why, and what else could have been chosen."""

    column: str | None
    why: str
    alternatives: tuple[str, ...] = ()



@dataclass(frozen=True)
class CitedTable:
    """A document table the chunks cite (the profile's ``source``), as the draft offers it."""

    schema: str
    table: str
    key: str
    field: str  # the chunks' field naming a row of it (source.chunk_key)
    chunk_filter: tuple[tuple[str, Any], ...] = ()  # a polymorphic pair's type: the chunks citing this table
    others: tuple[tuple[str, str], ...] = ()  # the pair's other (type, table)s: a profile each
    collection: str | None = None  # its own column placing rows in collections, as chunks.collection names it

@dataclass(frozen=True)
class Shape:
    """One vector column and everything around it that a profile describes."""

    vector: VectorColumn
    chunks: Table
    embeddings: Table
    chunk_id: Guess
    key: Guess
    text: Guess
    collection: Guess
    tenant: Guess
    embedding_collection: Guess
    embedding_tenant: Guess
    sources: tuple[str, ...]
    input_hash: Guess
    model: Guess
    dimensions_column: Guess
    timestamps: tuple[str, ...]
    stored_models: dict[str, int]
    unfilled: tuple[str, ...]  # NOT NULL columns without default the engine would leave empty
    others: tuple[str, ...] = field(default=())  # other vector columns seen
    empty_sources: tuple[str, ...] = field(default=())  # citation columns by name, left out: empty in rows read
    # The table the collection column is a key of (LangChain's langchain_pg_collection), and why it was chosen.
    collection_table: CollectionTable | None = None
    collection_table_why: str = ""
    # The JSON column holding each row's serialized LlamaIndex node (``metadata_``): what LlamaIndex embeds is the
    # node's metadata lines before its text (chunks.text_format llamaindex), not the text column alone.
    llamaindex_metadata: str | None = None
    # The document table a citation field names in every row read (source.*), as the draft offers it.
    source_table: CitedTable | None = None
    # The distance the database serves the vector column with, and where that was read (an index's operator class,
    # else the operator of a function that searches the table); None: nothing in the database says.
    distance: tuple[str, str] | None = None
    # Where the citation came from, when not from a column's name: the foreign key into the document table.
    sources_why: str = ""
    # A column of the source table named like a hash: the document's (its file's checksum), never a chunk's text's.
    source_hash: str | None = None
    # The join table placing chunks in collections where no column of theirs does (Quivr's knowledge_brain), and why.
    collection_join: CollectionJoin | None = None
    collection_join_why: str = ""
    # The algorithm the input hash column was measured to hold (harness.hashing.ALGORITHMS).
    input_hash_algorithm: str = "sha256"
    # The embedding table's unique key holds more than the chunk's key (discourse-ai's (model_id, strategy_id,
    # topic_id)): several models' rows side by side. Those columns, and each combination of values stored with its
    # row count (most rows first).
    side_by_side: tuple[str, ...] = ()
    side_by_side_values: tuple[tuple[tuple[Any, ...], int], ...] = ()
    # The text the input hash column was measured to hold digests of (None: not measured to hold any).
    input_hash_of: str | None = None
    # Where no column of the chunks' places them in collections: the column of their document table (``source_table``)
    # that does (SurfSense's documents.workspace_id), and the table naming each collection; said, not chosen.
    parent_collection: tuple[str, CollectionTable] | None = None

    @property
    def inline(self) -> bool:
        return self.chunks.qualified == self.embeddings.qualified


def discover(conn: Conn) -> list[Shape]:
    """Every vector column of the database, each with its text table and roles guessed (best candidate first)."""
    vectors = _vector_columns(conn)
    tables: dict[tuple[str, str], Table] = {}

    def table(schema: str, name: str) -> Table:
        if (schema, name) not in tables:
            tables[(schema, name)] = _table(conn, schema, name)
        return tables[(schema, name)]

    shapes = []
    names = [f"{s}.{t}.{c}" for s, t, c, _, _ in vectors]
    for schema, name, column, typ, dims in vectors:
        em = table(schema, name)
        vc = VectorColumn(em, column, typ, dims)
        shapes.append(_shape(conn, vc, table, tuple(n for n in names if n != f"{schema}.{name}.{column}")))
    shapes.sort(key=_rank)
    return shapes


def with_search_partition(conn: Conn, shape: Shape, filters: dict[str, str]) -> Shape:
    """The shape with the collection the application's own search keeps to (``filters``: a column it keeps to by
    equality -> where the code says so), where no column is named like a collection, tenant or join: a column of the
    chunk table, ``x`` also as Django's ``x_id``, that is a foreign key (labs' ``project_id -> core_project``)."""
    if shape.collection.column or shape.tenant.column or shape.collection_join is not None:
        return shape
    foreign = {fk for fk, *_ in _foreign_keys(conn, shape.chunks)}

    def table(schema: str, rname: str) -> Table:
        return _table(conn, schema, rname)

    for name, where in filters.items():
        column = next((c for c in (name, f"{name}_id") if c in foreign), None)
        if column is None:
            continue
        collection_table, why = _collection_table(conn, shape.chunks, column, table)
        return replace(shape, collection=Guess(column, f"the application's search keeps to one {column} "
                                                       f"({where}): a collection per value"),
                       collection_table=collection_table, collection_table_why=why)
    return shape


def _rank(shape: Shape) -> tuple:
    """Best first: a vector column with a text to embed, tables named for embeddings or chunks, more rows."""
    named = any(w in shape.embeddings.name.lower() for w in ("embed", "chunk", "vector", "document"))
    return (shape.text.column is None, not named, -max(shape.chunks.rows, 0), shape.vector.table.qualified,
            shape.vector.column)


def _vector_columns(conn: Conn) -> list[tuple[str, str, str, str, int | None]]:
    rows = conn.execute(
        # a domain's column by its base type and the dimension it declares (CREATE DOMAIN embedding AS vector(384))
        f"SELECT n.nspname, c.relname, a.attname, t.typname, m.typmod FROM pg_attribute a CROSS JOIN {BASE_TYPE} "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_type t ON t.oid = m.base "
        "WHERE t.typname = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, a.attnum",
        (list(VECTOR_TYPES),),
    ).fetchall()
    return [(_v(r, 0), _v(r, 1), _v(r, 2), _v(r, 3), _v(r, 4) if (_v(r, 4) or -1) > 0 else None) for r in rows]


def float_arrays(conn: Conn) -> tuple[str, ...]:
    """``schema.table.column (type)`` of every float array column (an ORM's ``Float[]``), said where a database holds
    no pgvector column: the embeddings may be kept there, which no count or distance of pgvector's reads."""
    rows = conn.execute(
        "SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod) "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_type t ON t.oid = a.atttypid WHERE t.typelem IN ('real'::regtype, 'double precision'::regtype, "
        "'numeric'::regtype) AND t.typcategory = 'A' AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, a.attnum").fetchall()
    return tuple(f"{_v(r, 0)}.{_v(r, 1)}.{_v(r, 2)} ({_v(r, 3)})" for r in rows)


def _v(row, i: int):
    return list(row.values())[i] if isinstance(row, dict) else row[i]


def _table(conn: Conn, schema: str, name: str) -> Table:
    cols = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atthasdef, "
        "(a.attidentity <> '' OR a.attgenerated <> '') AS generated "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (schema, name),
    ).fetchall()
    meta = conn.execute(
        "SELECT c.reltuples::bigint, c.relrowsecurity, c.relforcerowsecurity, "
        "has_table_privilege(c.oid, 'SELECT') AS readable, "
        "coalesce((SELECT array_agg(a.attname ORDER BY k.ord) FROM pg_index i "
        "  CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord) "
        "  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "  WHERE i.indrelid = c.oid AND i.indisprimary), '{}') "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
        (schema, name),
    ).fetchone()
    policies = conn.execute(
        "SELECT policyname, cmd, roles::text[], qual, with_check FROM pg_policies "
        "WHERE schemaname = %s AND tablename = %s ORDER BY policyname",
        (schema, name),
    ).fetchall()
    rows = int(_v(meta, 0))
    if rows < 0 and _v(meta, 3):
        # Never analysed (a few seeded rows stay under autovacuum's threshold): the estimate says nothing, and an empty
        # table ranked beside the one the application filled. Only whether it holds a row is said: the sizes of two
        # filled tables (a log beside the store) say nothing of which one is searched.
        rows = int(bool(_v(conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(
            sql.Identifier(schema, name))).fetchone(), 0)))
    return Table(
        schema=schema, name=name,
        columns=tuple(Column(_v(r, 0), _type(_v(r, 1)), bool(_v(r, 2)), bool(_v(r, 3)), bool(_v(r, 4))) for r in cols),
        primary_key=tuple(_v(meta, 4) or ()), rows=rows, rls=bool(_v(meta, 1)), force_rls=bool(_v(meta, 2)),
        policies=tuple(Policy(_v(p, 0), _v(p, 1), tuple(_v(p, 2) or ()), _v(p, 3), _v(p, 4)) for p in policies),
    )


def _type(formatted: str) -> str:
    return re.sub(r"\(.*\)$", "", formatted).strip()


def _foreign_keys(conn: Conn, table: Table) -> list[tuple[str, str, str, str]]:
    """Single-column foreign keys of the table: (column, referenced schema, table, column)."""
    rows = conn.execute(
        "SELECT a.attname AS col, rn.nspname AS rschema, r.relname AS rtable, ra.attname AS rcol FROM pg_constraint k "
        "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_class r ON r.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] "
        "JOIN pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = k.confkey[1] "
        "WHERE k.contype = 'f' AND array_length(k.conkey, 1) = 1 AND n.nspname = %s AND c.relname = %s "
        "ORDER BY a.attnum",
        (table.schema, table.name),
    ).fetchall()
    return [(_v(r, 0), _v(r, 1), _v(r, 2), _v(r, 3)) for r in rows]


def _pick(table: Table, names: tuple[str, ...], *, types: set[str] | None = None, exclude: tuple[str, ...] = (),
          role: str) -> Guess:
    """The column whose name best matches ``names`` (exact, then ``_name`` suffix), with the others as alternatives."""
    found: list[tuple[int, str]] = []
    for c in table.columns:
        if c.name in exclude or (types is not None and c.type not in types):
            continue
        low = snake(c.name)
        for rank, wanted in enumerate(names):
            if low == wanted or low.endswith("_" + wanted):
                found.append((rank * 2 + (low != wanted), c.name))
                break
    found.sort()
    if not found:
        return Guess(None, f"no {role} column in {table.qualified}")
    best = found[0][1]
    return Guess(best, f"column named like a {role} in {table.qualified}", tuple(n for _, n in found[1:]))


# Names of columns that play another role than the embedded text (never taken as the text itself).
_ROLE_NAMES = HASH_NAMES + MODEL_NAMES + COLLECTION_NAMES + TENANT_NAMES + DIMENSION_NAMES + SOURCE_NAMES + TIME_NAMES


# Names of columns that hold the same value for many chunks: never a chunk's text.
_NOT_TEXT_NAMES = HASH_NAMES + MODEL_NAMES + COLLECTION_NAMES + TENANT_NAMES + DIMENSION_NAMES


def _named(name: str, names: tuple[str, ...]) -> bool:
    low = snake(name)
    return any(low == n or low.endswith("_" + n) for n in names)


def own_texts(table: Table) -> tuple[str, ...]:
    """Unbounded text columns of the table that no role name claims: text the table holds of its own
    (khoj's ``compiled`` and ``raw``), as opposed to a name, a title or a key (bounded ``varchar``)."""
    return tuple(c.name for c in table.columns
                 if c.type in ("text", "citext") and c.name not in table.primary_key
                 and not (snake(c.name) == "id" or snake(c.name).endswith(("_id", "_key", "_uuid")))
                 and not _named(c.name, _ROLE_NAMES))


def key_within_collection(table: Table) -> str | None:
    """Of a primary key of two columns, one named like a collection (LightRAG's ``(workspace, id)``), the other: the
    key of a chunk within its collection, which ``chunks.collection`` then tells apart from the same key elsewhere."""
    if len(table.primary_key) != 2:
        return None
    named = [_named(c, COLLECTION_NAMES) for c in table.primary_key]
    return table.primary_key[named.index(False)] if sorted(named) == [False, True] else None


def _no_key(table: Table) -> str:
    """Why no chunk key is drafted, and what to name."""
    if len(table.primary_key) < 2:
        return f"no single-column primary key on {table.qualified}"
    return (f"primary key ({', '.join(table.primary_key)}) on {table.qualified}: name the column that tells a chunk "
            "apart as chunks.id, and a column it is unique within as chunks.collection")


def _within(table: Table, pk: str | None) -> str:
    return f"; primary key ({', '.join(table.primary_key)}): {pk} names a chunk within its collection" \
        if pk and len(table.primary_key) == 2 else ""


def _text_table(conn: Conn, em: Table, table) -> tuple[Table, Guess, Guess]:
    """The table holding the text, with the embedding table's key and the text table's id."""
    pk = em.primary_key[0] if len(em.primary_key) == 1 else key_within_collection(em)
    # An own text counts when NOT NULL: every row then holds it (khoj's `compiled`); a nullable one (an `error`
    # beside a vector keyed by its chunk) says nothing.
    required = [c for c in own_texts(em) if (col := em.column(c)) is not None and col.not_null]
    if _pick(em, CHUNK_TEXT_NAMES, types=TEXT_TYPES, role="text").column or pk and required:
        # A vector stored beside its own text embeds that text: what it references is a document or a page (a
        # path, a checksum, the whole body), not the chunk (Supabase's page sections, the AI SDK's embeddings),
        # or its owner (khoj's entries reference their user, an agent and the whole file). So too where no one
        # column keys it (`PRIMARY KEY (document_id, chunk)` beside a `content`): the key is then the user's to
        # name, not a reason to draft the document's title as what the vector embeds. Unkeyed, a text not named
        # like a chunk's (a `digest` beside several models' vectors) says less.
        why = "inline: the vector column is beside its own text" + _within(em, pk)
        return em, Guess(pk, why if pk else _no_key(em)), Guess(pk, why)
    for column, rschema, rname, rcolumn in _foreign_keys(conn, em):
        if _named(column, TENANT_NAMES):
            continue  # the row's owner (a user, a tenant), not the text the vector embeds
        ref = table(rschema, rname)
        if any(c.type in TEXT_TYPES for c in ref.columns):
            why = f"foreign key {em.name}.{column} -> {rname}.{rcolumn}"
            return ref, Guess(rcolumn, why), Guess(column, why)
    # No foreign key: a key column named after another table (chunk_id -> document_chunks.id).
    for c in em.columns:
        if c.type.endswith("[]"):
            continue  # an array of keys is a membership (collections), never the one row a vector embeds
        for ref in _tables_named_after(conn, em, c.name, table):
            if any(col.type in TEXT_TYPES for col in ref.columns):
                why = f"no foreign key; {em.name}.{c.name} is named after {ref.name}"
                return ref, Guess(ref.primary_key[0], why), Guess(c.name, why)
    if pk and not any(c.type in TEXT_TYPES for c in em.columns):
        ref = _table_of_the_same_key(conn, em, pk, table)
        if ref is not None:
            why = (f"no foreign key; every key of {em.name}.{pk} is one of {ref.name}.{pk} (the same key, a vector "
                   "per text row)")
            return ref, Guess(pk, why), Guess(pk, why)
    why = "inline: the vector column is on the text table itself"
    why += _within(em, pk)
    return em, Guess(pk, why if pk else _no_key(em)), Guess(pk, why)


def _table_of_the_same_key(conn: Conn, em: Table, pk: str, table) -> Table | None:
    """The one table of ``em``'s schema whose one-column primary key has ``em``'s key's name and type, holds a text,
    and holds every key ``em`` holds, measured (txtai's ``vectors.indexid`` and ``sections.indexid``). A bare ``id``,
    every table's key, is no evidence."""
    if snake(pk) == "id":
        return None
    kind = next(c.type for c in em.columns if c.name == pk)
    found = []
    for schema, name in _tables(conn, em.schema):
        if name == em.name:
            continue
        ref = table(schema, name)
        if ref.primary_key != (pk,) or next(c.type for c in ref.columns if c.name == pk) != kind \
                or not any(c.type in TEXT_TYPES for c in ref.columns):
            continue
        unmatched = conn.execute(sql.SQL("SELECT count(*) FROM (SELECT {k} FROM {e} LIMIT 1000) AS e WHERE NOT EXISTS "
                                         "(SELECT 1 FROM {r} AS r WHERE r.{k} = e.{k})").format(
            k=sql.Identifier(pk), e=sql.Identifier(em.schema, em.name), r=sql.Identifier(ref.schema, ref.name))).fetchone()
        any_row = conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(
            sql.Identifier(em.schema, em.name))).fetchone()
        if unmatched is not None and _v(unmatched, 0) == 0 and any_row is not None and _v(any_row, 0):
            found.append(ref)
    return found[0] if len(found) == 1 else None


def _tables_named_after(conn: Conn, of: Table, column: str, table) -> list[Table]:
    """Tables of ``of``'s schema with a one-column key that a key column is named after, with no foreign key saying
    so (``chunk_id`` -> ``document_chunks``; an array of keys, R2R's ``collection_ids`` -> ``collections``, can have
    none)."""
    low_column = snake(column)
    if not low_column.endswith(("_id", "_ids")):
        return []
    stem = low_column.rsplit("_", 1)[0]
    found = []
    for schema, name in _tables(conn, of.schema):
        low = snake(name)
        if name == of.name or not (low in (stem, stem + "s") or low.endswith(("_" + stem, "_" + stem + "s"))):
            continue
        ref = table(schema, name)
        if len(ref.primary_key) == 1:
            found.append(ref)
    return found


def _tables(conn: Conn, schema: str) -> list[tuple[str, str]]:
    rows = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND n.nspname = %s ORDER BY 2", (schema,)).fetchall()
    return [(_v(r, 0), _v(r, 1)) for r in rows]


def _shape(conn: Conn, vc: VectorColumn, table, others: tuple[str, ...]) -> Shape:
    em = vc.table
    chunks, chunk_id, key = _text_table(conn, em, table)
    inline = chunks.qualified == em.qualified
    vectors = tuple(c.name for c in em.columns if c.type in VECTOR_TYPES)
    # A column named for another role is never the text, even where its name ends like one (collection_name).
    claimed = tuple(c.name for c in chunks.columns if _named(c.name, _NOT_TEXT_NAMES))
    text = _pick(chunks, TEXT_NAMES, types=TEXT_TYPES, role="text", exclude=claimed)
    own = own_texts(chunks)
    if own and not _pick(chunks, CHUNK_TEXT_NAMES, types=TEXT_TYPES, role="text").column:
        # No column is named like a chunk's text: the table's own unbounded texts come before a name or a title.
        text = Guess(own[0], f"the unbounded text columns of {chunks.qualified} (no column is named like a chunk "
                     "text); check which one the application embeds",
                     tuple(dict.fromkeys(n for n in (*own[1:], text.column, *text.alternatives) if n and n != own[0])))
    named_sources = tuple(c.name for c in chunks.columns
                          if snake(c.name) in SOURCE_NAMES and c.name not in (text.column, chunk_id.column))
    # A polymorphic association's pair (Rails' chunkable_type + chunkable_id) names the document a chunk is cut from.
    named_sources += tuple(c for pair in polymorphic_pairs(chunks) for c in pair if c not in named_sources)
    documents = [] if named_sources else _document_keys(conn, chunks, em, table)
    if documents:  # no column named like a citation: the page or file the chunk is cut from (its foreign key)
        named_sources = (documents[0][0],)
    nodes = _llamaindex_nodes(conn, chunks) if text.column is not None else None
    # A JSON column's keys stand in for a text or citation columns the table lacks (Open WebUI keeps its text in a
    # column and the citation, `source`, in vmetadata jsonb), or that name only the chunk (LlamaIndex's node_id).
    id_only = all(snake(c) in CHUNK_ID_SOURCES for c in named_sources)
    json_keys = _json_string_keys(conn, chunks) if text.column is None or id_only else {}
    if nodes is not None:
        json_keys = {c: tuple(k for k in keys if k not in LLAMAINDEX_KEYS) for c, keys in json_keys.items()}
    if text.column is None:
        text = _pick_json_key(json_keys, CHUNK_TEXT_NAMES, "text") or text
    json_hash = None
    if text.column is None:  # no key named like a text: the one a hash key beside it hashes is the text
        text, json_hash = _text_a_json_hash_names(conn, chunks, em, chunk_id, key, text, json_keys)
    if text.column is None:
        binary = [f"{chunks.name}.{c.name} is {c.type}" for c in chunks.columns
                  if _named(c.name, CHUNK_TEXT_NAMES) and c.type not in TEXT_TYPES | {"json", "jsonb"}]
        if binary:
            text = Guess(None, f"{text.why}; {', '.join(binary)} (encrypted, as pgcrypto's pgp_sym_encrypt writes "
                         "it, or binary): the harness embeds only a text column or a JSON key", text.alternatives)
    collection = _pick(chunks, COLLECTION_NAMES, role="collection")
    collection_table, collection_table_why = _collection_table(conn, chunks, collection.column, table)
    joined = None if collection.column else _collection_join(conn, chunks, chunk_id.column, table)
    tenant = _pick(chunks, TENANT_NAMES, role="tenant", exclude=(collection.column or "",))
    if collection.column is not None and next(c.type for c in chunks.columns if c.name == collection.column).endswith("[]"):
        collection = Guess(collection.column + "[]", f"{collection.why}; {collection.column} is an array: a chunk belongs "
                           "to every collection it lists", collection.alternatives)
    # verify's citations want every source field of a returned row filled: a column empty in rows read (khoj's
    # url and file_name, set only for some kinds of entry) is no citation column.
    empty = _empty_in_some_row(conn, chunks, named_sources)
    sources = tuple(c for c in named_sources if c not in empty)
    if id_only:  # citations kept under keys of a JSON column (beside a JSON text or a text column)
        keyed = tuple(dict.fromkeys(
            f"{column}->>'{key}'" for wanted in SOURCE_NAMES for column, keys in json_keys.items()
            for key in keys if _named(key, (wanted,)) and "'" not in key))
        keyed_empty = _empty_in_some_row(conn, chunks, keyed)
        keyed = tuple(c for c in keyed if c not in keyed_empty)
        if keyed:  # the documents cited, before (or instead of) the chunk's own id
            empty = tuple(dict.fromkeys((*empty, *keyed_empty)))
            sources = keyed
        elif not named_sources:
            empty = keyed_empty
    if tenant.column is None:
        owners = [f"{column}->>'{key}'" for wanted in TENANT_NAMES
                  for column, keys in (json_keys or _json_string_keys(conn, chunks)).items()
                  for key in keys if snake(key) == wanted]
        if owners:  # said, so an owner kept in JSON is not mistaken for rows without one
            tenant = Guess(None, f"{tenant.why}; each row's owner is under {owners[0]}, which chunks.tenant cannot "
                           "take (a column only): tenants are not told apart")
    e_collection = _pick(em, COLLECTION_NAMES, role="collection") if not inline else Guess(None, "inline")
    e_tenant = _pick(em, TENANT_NAMES, role="tenant", exclude=(e_collection.column or "",)) if not inline \
        else Guess(None, "inline")
    input_hash = _pick(em, HASH_NAMES, types=TEXT_TYPES | {"bytea"}, role="hash")
    if input_hash.column is None:  # any other column named for a hash (khoj's hashed_value) is measured too
        named = [c.name for c in em.columns if "hash" in c.name.lower() and c.type in TEXT_TYPES | {"bytea"}]
        input_hash = Guess(named[0], f"column named like a hash in {em.qualified}", tuple(named[1:])) if named \
            else input_hash
    algorithm, hashed_text = hashing.DEFAULT, None
    if input_hash.column and text.column:
        input_hash, text, algorithm, hashed_text = _measured_hash(conn, chunks, em, chunk_id.column, key.column, text,
                                                                  input_hash)
    elif json_hash is not None:
        input_hash = json_hash
    model = _pick(em, MODEL_NAMES, types=TEXT_TYPES, role="model")
    json_models: dict[str, int] = {}
    if model.column is None:
        model = _model_elsewhere(conn, em, model)
        model, json_models = _model_in_json(conn, em, vc.column, model, inline=inline)
    dims = _pick(em, DIMENSION_NAMES, types={"integer", "smallint", "bigint"}, role="dimensions")
    times = tuple(c.name for c in em.columns if snake(c.name) in TIME_NAMES)
    beside = () if inline or key.column is None else side_by_side(
        conn, em.schema, em.name, key.column, (vc.column, e_collection.column, e_tenant.column))
    filled = {key.column, vc.column, input_hash.column, model.column, dims.column, e_collection.column,
              e_tenant.column, *beside}
    unfilled = () if inline else tuple(
        c.name for c in em.columns
        if c.not_null and not c.has_default and not c.generated and c.name not in filled)
    source_table = _source_table(conn, chunks, em, sources, collection.column, documents)
    parent = _collection_of_documents(conn, source_table, table) \
        if source_table is not None and collection.column is None and joined is None else None
    if joined is not None:  # the join table's column (not the chunks'): no source of the chunks holds it
        collection = Guess(joined[1], joined[3])
        collection_table = joined[2]
        collection_table_why = (f"{joined[0].table}.{joined[1]} references {joined[2].table}.{joined[2].key}: "
                                f"--collection takes its {joined[2].name}")
    # A hash kept on the document (nextjs-openai-doc-search's page checksum, the file's): no chunk's input hash.
    doc_hash = None if source_table is None else next(
        (c.name for c in table(source_table.schema, source_table.table).columns if _named(c.name, HASH_NAMES)), None)
    return Shape(vc, chunks, em, chunk_id, key, text, collection, tenant, e_collection, e_tenant, sources, input_hash,
                 model, dims, times, json_models or _stored_models(conn, em, vc.column, model.column), unfilled,
                 tuple(o for o in others) if len(vectors) > 1 or others else (), empty, collection_table,
                 collection_table_why, nodes, source_table, _distance(conn, vc),
                 f"the foreign key {chunks.name}.{documents[0][0]} -> {documents[0][2]}.{documents[0][3]}, the "
                 f"{documents[0][2]} row each chunk is cut from" if documents and sources == (documents[0][0],) else "",
                 doc_hash, joined[0] if joined else None, joined[3] if joined else "",
                 algorithm if input_hash.column else hashing.DEFAULT, beside, _combinations(conn, em, beside),
                 hashed_text if input_hash.column else None, parent)


def side_by_side(conn: Conn, schema: str, table: str, key: str, besides: tuple[str | None, ...]) -> tuple[str, ...]:
    """The columns beside ``key`` in the embedding table's narrowest unique key (none where ``key`` alone is unique,
    or no unique key holds it): each chunk has a row per value of them (a model's id); the vector, collection and
    tenant columns (``besides``) are not among them."""
    rows = conn.execute(
        "SELECT array_agg(a.attname::text ORDER BY k.n) AS cols FROM pg_index i "
        "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = to_regclass(%s) AND i.indisunique AND i.indisvalid AND i.indpred IS NULL GROUP BY i.indexrelid",
        (_qualified(schema, table),)).fetchall()
    keys = sorted((tuple(r["cols"]) for r in rows if key in r["cols"]), key=len)
    if not keys or len(keys[0]) == 1:
        return ()
    return tuple(c for c in keys[0] if c != key and c not in besides)


def rows_naming_model(conn: Conn, shape: Shape, model: str) -> dict[str, tuple[Any, str]]:
    """For each side-by-side column whose stored values differ: ``model`` itself where it is one of them, else the one
    value whose row of another table (its single integer primary key equal to the value) names ``model`` anywhere in
    it (discourse-ai's model_id 2, the ``embedding_definitions`` row whose display_name and provider_params'
    model_name are nomic-embed-text), with where; a column whose values no row, or rows of several tables, name is
    left out."""
    out: dict[str, tuple[Any, str]] = {}
    tables = conn.execute(
        "SELECT n.nspname AS schema, c.relname AS name, a.attname AS pk FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] "
        "WHERE i.indisprimary AND i.indnatts = 1 AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype) "
        "AND c.relkind = 'r' AND n.nspname = %s AND c.relname NOT IN (%s, %s) AND c.reltuples < 100000 "
        "ORDER BY c.relname LIMIT 500", (shape.embeddings.schema, shape.embeddings.name, shape.chunks.name)).fetchall()
    names = [model, *([model.split(":")[0]] if model.endswith(":latest") else [])]
    for i, column in enumerate(shape.side_by_side):
        stored = {combo[i] for combo, _ in shape.side_by_side_values}
        if len(stored) > 1 and model in stored:
            # the column holds the model's name itself (study-pg-hybrid-search's PRIMARY KEY (document_id, model))
            out[column] = (model, f"model's own name in {shape.embeddings.name}.{column}")
            continue
        values = sorted({combo[i] for combo, _ in shape.side_by_side_values if isinstance(combo[i], int)})
        if len(stored) < 2 or not values:
            continue
        hits = []
        for t in tables:
            rows = conn.execute(sql.SQL(
                "SELECT t.{pk} AS v FROM {t} AS t WHERE t.{pk} = ANY(%(values)s) AND "
                "jsonb_path_exists(to_jsonb(t), '$.** ? (@ == $m1 || @ == $m2)', jsonb_build_object('m1', %(m1)s::text, "
                "'m2', %(m2)s::text))").format(pk=sql.Identifier(t["pk"]), t=sql.Identifier(t["schema"], t["name"])),
                {"values": values, "m1": names[0], "m2": names[-1]}).fetchall()
            hits += [(r["v"], f"{t['name']} row {t['pk']} = {r['v']}") for r in rows]
        if len(hits) == 1:
            out[column] = hits[0]
    return out


# A table that keeps the application's choice of embedding model as configuration (labs' core_embeddingmodel,
# khoj's database_searchmodelconfig): named like a model, an embedder or an encoder.
_MODEL_TABLE = re.compile(r"embed|model|encoder", re.I)
# A value that may be a model's name: one word of letters, digits and . _ - : / @ (no sentence, no number alone).
_MODEL_VALUE = re.compile(r"[A-Za-z0-9][\w.:/@-]{1,99}")
_ACTIVE_NAMES = ("active", "is_active", "enabled", "is_enabled", "is_default", "default", "selected", "current")


@dataclass(frozen=True)
class NamedModel:
    """A value of a configuration table that may name the embedding model, and where (the row a boolean named like
    ``active`` marks: active True, another row of that table: False, a table without one: None)."""

    name: str
    table: str
    column: str
    key: Any = None
    active: bool | None = None

    @property
    def where(self) -> str:
        return (f"{self.table}.{self.column}" + (f", row id = {self.key}" if self.key is not None else "")
                + (", active" if self.active else ""))


def models_named_in_tables(conn: Conn, shape: Shape, most: int = 24) -> dict[str, NamedModel]:
    """Values that may name the embedding model, in the text columns of the tables of the embedding table's schema
    named like a model's configuration (``core_embeddingmodel.name, row id = 1, active``); the rows a boolean named
    like ``active`` marks first. Candidates only: which one made the stored vectors is measured."""
    tables = conn.execute(
        "SELECT c.oid, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'r' AND n.nspname = %s AND c.relname NOT IN (%s, %s) ORDER BY c.relname",
        (shape.embeddings.schema, shape.embeddings.name, shape.chunks.name)).fetchall()
    found: dict[str, NamedModel] = {}
    for t in tables:
        if not _MODEL_TABLE.search(t["name"]):
            continue
        columns = conn.execute("SELECT attname AS name, format_type(atttypid, NULL) AS type FROM pg_attribute "
                               "WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                               (t["oid"],)).fetchall()
        texts = [c["name"] for c in columns if c["type"] in TEXT_TYPES]
        active = next((c["name"] for n in _ACTIVE_NAMES for c in columns if c["name"] == n and c["type"] == "boolean"), None)
        pk = next((c["name"] for c in columns if c["name"] == "id"), None)
        if not texts:
            continue
        order = sql.SQL("ORDER BY {} DESC NULLS LAST").format(sql.Identifier(active)) if active else sql.SQL("")
        try:
            with conn.transaction():  # a savepoint: a refused read leaves the caller's transaction usable
                rows = conn.execute(sql.SQL("SELECT {cols}{pk}{active} FROM {t} {order} LIMIT 200").format(
                    cols=sql.SQL(", ").join(sql.Identifier(c) for c in texts),
                    pk=sql.SQL(", {} AS _pk").format(sql.Identifier(pk)) if pk else sql.SQL(""),
                    active=sql.SQL(", {} AS _active").format(sql.Identifier(active)) if active else sql.SQL(""),
                    t=sql.Identifier(shape.embeddings.schema, t["name"]), order=order)).fetchall()
        except psycopg.Error:
            continue  # a table the role may not read names nothing here
        for row in rows:
            for column in texts:
                value = row[column]
                if (isinstance(value, str) and _MODEL_VALUE.fullmatch(value) and re.search(r"[A-Za-z]", value)
                        and value not in found and len(found) < most):
                    found[value] = NamedModel(value, t["name"], column, row["_pk"] if pk else None,
                                              bool(row["_active"]) if active else None)
    return found


def _combinations(conn: Conn, em: Table, columns: tuple[str, ...]) -> tuple[tuple[tuple[Any, ...], int], ...]:
    """Each combination of ``columns``' values stored, with its rows (most first; ten at most)."""
    if not columns:
        return ()
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    rows = conn.execute(sql.SQL("SELECT {c}, count(*) AS n FROM {t} GROUP BY {c} ORDER BY n DESC, {c} LIMIT 10").format(
        c=cols, t=sql.Identifier(em.schema, em.name))).fetchall()
    return tuple((tuple(r[c] for c in columns), r["n"]) for r in rows)


def _document_keys(conn: Conn, chunks: Table, em: Table, table) -> list[tuple[str, str, str, str]]:
    """Single-column foreign keys of the chunk table into the primary key of a table whose rows name a document
    (a column named like a citation: nods_page_section.page_id -> nods_page, which has a path): the document each
    chunk is cut from. Never its owner, its collection, or the embedding table."""
    found = []
    for column, rschema, rname, rcolumn in _foreign_keys(conn, chunks):
        if _named(column, TENANT_NAMES + COLLECTION_NAMES) or rname in (chunks.name, em.name):
            continue
        ref = table(rschema, rname)
        if ref.primary_key == (rcolumn,) and any(snake(c.name) in SOURCE_NAMES for c in ref.columns):
            found.append((column, rschema, rname, rcolumn))
    return found


def _collection_table(conn: Conn, chunks: Table, column: str | None, table) -> tuple[CollectionTable | None, str]:
    """The table a collection column is a foreign key into, with the column naming each collection: chunks then hold
    a key (a uuid), and ``--collection`` takes the name (LangChain's ``collection_id -> langchain_pg_collection``)."""
    if column is None:
        return None, ""
    for fk_column, rschema, rname, rcolumn in _foreign_keys(conn, chunks):
        if fk_column != column:
            continue
        ref = table(rschema, rname)
        texts = [c for c in ref.columns if c.type in TEXT_TYPES and c.name != rcolumn]
        named = _pick(ref, COLLECTION_NAME_NAMES, types=TEXT_TYPES, exclude=(rcolumn,), role="name").column
        name = named or (texts[0].name if len(texts) == 1 else None)
        if name is None:
            return None, (f"{chunks.name}.{column} references {rname}.{rcolumn}, which has no column naming the "
                          "collection: --collection takes the key")
        if shared := _shared_name(conn, ref, name):
            return None, f"{chunks.name}.{column} references {rname}.{rcolumn}; {shared}: --collection takes the key"
        return (CollectionTable(table=rname, key=rcolumn, name=name, schema=rschema),
                f"{chunks.name}.{column} references {rname}.{rcolumn}: --collection takes its {name}")
    for ref in _tables_named_after(conn, chunks, column, table):
        name = _pick(ref, COLLECTION_NAME_NAMES, types=TEXT_TYPES, exclude=ref.primary_key, role="name").column
        if name is not None and (shared := _shared_name(conn, ref, name)):
            return None, f"no foreign key; {chunks.name}.{column} is named after {ref.name}; {shared}: --collection takes the key"
        if name is not None:
            return (CollectionTable(table=ref.name, key=ref.primary_key[0], name=name, schema=ref.schema),
                    f"no foreign key; {chunks.name}.{column} is named after {ref.name}: --collection takes its {name}")
    return None, ""


def _shared_name(conn: Conn, ref: Table, name: str) -> str:
    """Why ``name`` names no one row of ``ref`` (measured: its most shared value and how many rows it names), or ""
    where every value names one row: a name two rows share would make both one collection under ``--collection``."""
    try:
        with conn.transaction():  # a savepoint: a table the role may not read (Supabase's auth.users) says nothing
            row = conn.execute(sql.SQL("SELECT {n}::text, count(*) FROM {t} WHERE {n} IS NOT NULL GROUP BY 1 "
                                       "HAVING count(*) > 1 ORDER BY 2 DESC, 1 LIMIT 1").format(
                n=sql.Identifier(name), t=sql.Identifier(ref.schema, ref.name))).fetchone()
    except psycopg.Error:
        return ""
    return f"{ref.name}.{name} names {_v(row, 1)} rows alike ({_v(row, 0)!r})" if row else ""


def _collection_join(conn: Conn, chunks: Table, chunk_id: str | None,
                     table) -> tuple[CollectionJoin, str, CollectionTable, str] | None:
    """A join table placing chunks in collections where no column of theirs names one: a table with a foreign key
    holding the chunk's own key (a ``brains_vectors.vector_id``) or the key the chunk holds of its document (Quivr's
    ``knowledge_brain.knowledge_id`` beside ``vectors.knowledge_id``), and another into a table with a column naming
    each row (``brain_id -> brains.name``), named after both tables it links, as link tables are (a table that merely
    references both, formbricks' ``Survey``, is no join), the named table none whose rows name a document (lobe-chat's
    ``file_chunks`` links each chunk to its file, which has a url: no collection), the collection column none naming
    a user (Git-Forge's ``UserToProject.userId``: members of a project, not collections; a workspace is one). Of several, the one whose rows place the most of the chunks
    read (an old join left empty places none); (the join, its collection column, the collection table, why)."""
    held = {(rschema, rtable, rcol): col for col, rschema, rtable, rcol in _foreign_keys(conn, chunks)}
    if chunk_id:
        held[(chunks.schema, chunks.name, chunk_id)] = chunk_id
    if not held:
        return None
    rows = conn.execute(
        "SELECT DISTINCT n.nspname AS s, c.relname AS t FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_class r ON r.oid = k.confrelid "
        "JOIN pg_namespace rn ON rn.oid = r.relnamespace WHERE k.contype = 'f' AND (rn.nspname, r.relname) IN "
        "(SELECT * FROM unnest(%s::text[], %s::text[])) ORDER BY 1, 2",
        ([s for s, _, _ in held], [t for _, t, _ in held])).fetchall()
    found: list[tuple[int, CollectionJoin, str, CollectionTable, str]] = []
    for schema, name in ((_v(r, 0), _v(r, 1)) for r in rows):
        if (schema, name) == (chunks.schema, chunks.name):
            continue
        keys = _foreign_keys(conn, table(schema, name))
        for key_col, rs, rt, rc in keys:
            chunk_col = held.get((rs, rt, rc))
            if chunk_col is None or not _names(name, rt):
                continue
            for coll_col, cs, ct, cc in keys:
                if coll_col == key_col or (cs, ct, cc) in held or not _names(name, ct) or _named(coll_col, PERSON_NAMES):
                    continue  # a link to users (Git-Forge's UserToProject.userId) says who may read, not where
                ref = table(cs, ct)
                label = _pick(ref, COLLECTION_NAME_NAMES, types=TEXT_TYPES, exclude=(cc,), role="name").column
                if label is None or any(snake(c.name) in SOURCE_NAMES for c in ref.columns):
                    continue  # rows naming a document (a url, a path): the file a chunk is cut from (lobe-chat's files)
                placed = conn.execute(sql.SQL(
                    "SELECT count(*) FROM (SELECT {c} AS v FROM {chunks} LIMIT 1000) AS c WHERE EXISTS "
                    "(SELECT 1 FROM {j} AS j WHERE j.{k} = c.v)").format(
                    c=sql.Identifier(chunk_col), chunks=sql.Identifier(chunks.schema, chunks.name),
                    j=sql.Identifier(schema, name), k=sql.Identifier(key_col))).fetchone()
                count = int(_v(placed, 0) or 0)
                if count:
                    why = (f"no collection column in {chunks.qualified}; {name}.{key_col} holds the chunk's {chunk_col} "
                           f"({count} of the chunks read have a row), {name}.{coll_col} references {ct}.{cc}: "
                           f"--collection takes its {label}")
                    found.append((count, CollectionJoin(table=name, key=key_col, chunk=chunk_col, schema=schema),
                                  coll_col, CollectionTable(table=ct, key=cc, name=label, schema=cs), why))
    if not found:
        return None
    found.sort(key=lambda f: -f[0])
    _, join, column, collections, why = found[0]
    others = [f"{f[1].table} ({f[0]})" for f in found[1:]]
    return join, column, collections, why + (f"; other join tables: {', '.join(others)}" if others else "")


def _collection_of_documents(conn: Conn, documents: CitedTable, table) -> tuple[str, CollectionTable] | None:
    """The column of the chunks' document table placing every document in a collection (SurfSense's
    ``documents.workspace_id``, NOT NULL, -> ``workspaces.name``): a foreign key into a table with a column naming each
    row, whose rows name no document; the join key can then place each chunk through its document. None where the
    chunks name their document through a JSON key or a polymorphic pair (no join column), or no such column is."""
    if documents.chunk_filter or json_field(documents.field)[1] is not None:
        return None
    parent = table(documents.schema, documents.table)
    required = {c.name for c in parent.columns if c.not_null}
    for column, rschema, rname, rcolumn in _foreign_keys(conn, parent):
        if column not in required or (rschema, rname) == (parent.schema, parent.name):
            continue
        ref = table(rschema, rname)
        label = _pick(ref, COLLECTION_NAME_NAMES, types=TEXT_TYPES, exclude=(rcolumn,), role="name").column
        if label is None or any(snake(c.name) in SOURCE_NAMES for c in ref.columns):
            continue
        if _shared_name(conn, ref, label):
            continue  # two rows named alike (Django's content types share their app_label) would be one collection
        return column, CollectionTable(table=rname, key=rcolumn, name=label, schema=rschema)
    return None


def _names(link: str, table: str) -> bool:
    """Whether a link table's name holds a table's (singular or plural: ``knowledge_brain`` of ``brains``)."""
    return snake(table).removesuffix("s") in snake(link)


def _empty_in_some_row(conn: Conn, table: Table, columns: tuple[str, ...]) -> tuple[str, ...]:
    """The columns (or JSON keys, ``column->>'key'``) that are NULL or empty in some of the table's first 200 rows
    (none when it has no rows)."""
    from psycopg import sql

    if not columns:
        return ()
    counts = sql.SQL(", ").join(
        sql.SQL("count(*) FILTER (WHERE s.{c} IS NULL OR s.{c}::text = '') AS {a}").format(
            c=sql.Identifier(f"v{i}"), a=sql.Identifier(f"e{i}")) for i, c in enumerate(columns))
    query = sql.SQL("SELECT {counts} FROM (SELECT {cols} FROM {t} LIMIT 200) AS s").format(
        counts=counts, cols=sql.SQL(", ").join(sql.SQL("{} AS {}").format(_field(c), sql.Identifier(f"v{i}"))
                                               for i, c in enumerate(columns)),
        t=sql.Identifier(table.schema, table.name))
    try:
        with conn.transaction():  # a savepoint: a failed read leaves the draft's transaction usable
            got = conn.execute(query).fetchone()
    except psycopg.Error:
        return ()
    values = list(got.values()) if isinstance(got, dict) else list(got or ())
    return tuple(c for c, n in zip(columns, values) if n)


def _field(name: str, alias: str | None = None):
    """A column, or ``column->>'key'`` (a key of a JSON column), as SQL (of the table named ``alias``, if given)."""
    from psycopg import sql

    column, key = json_field(name)
    ident = sql.Identifier(alias, column) if alias else sql.Identifier(column)
    if key is None:
        return ident
    return sql.SQL("({}::jsonb ->> {})").format(ident, sql.Literal(key))


def _measured_hash(conn: Conn, chunks: Table, em: Table, chunk_id: str | None, key: str | None, text: Guess,
                   hashed: Guess) -> tuple[Guess, Guess, str, str | None]:
    """The hash column is an input hash only if it holds a digest of the text the engine can write there (one of
    ``harness.hashing.ALGORITHMS``, hex or bytea): measured on up to 200 rows against each candidate text and each
    algorithm this database computes. A hash of something else would be called stale on every row and overwritten.
    Returns the hash guess, the text guess (the text it hashes), the algorithm measured (else the default) and the
    text the stored digests were measured to be of (None where none was)."""
    from psycopg import sql

    h = cast(str, hashed.column)
    # Columns of a text type, or keys of a JSON column (mem0's payload->>'data' beside payload->>'hash').
    texts = [t for t in (text.column, *text.alternatives)
             if t and ((c := chunks.column(t)) and c.type in TEXT_TYPES or json_field(t)[1] is not None)][:4]
    inline = chunks.qualified == em.qualified
    if not texts or not inline and not (chunk_id and key):
        return hashed, text, hashing.DEFAULT, None
    try:
        with conn.transaction():
            crypto = has_pgcrypto(conn)
    except psycopg.Error:
        crypto = False
    algorithms = [a for a in hashing.ALGORITHMS.values() if crypto or not a.pgcrypto]
    pairs = [(t, a) for t in range(len(texts)) for a in algorithms]
    counts = sql.SQL(", ").join(
        sql.SQL("count(*) FILTER (WHERE {}) AS {}").format(
            a.equals_sql(sql.SQL("s.h"), sql.SQL("s.{}").format(sql.Identifier(f"t{i}"))), sql.Identifier(f"{a.name}{i}"))
        for i, a in pairs)
    side = "e" if inline else "c"
    picked = sql.SQL(", ").join(sql.SQL("{} AS {}").format(_field(t, side), sql.Identifier(f"t{i}"))
                                for i, t in enumerate(texts))
    source = (sql.SQL("{} AS e").format(sql.Identifier(em.schema, em.name)) if inline else
              sql.SQL("{} AS e JOIN {} AS c ON c.{} = e.{}").format(
                  sql.Identifier(em.schema, em.name), sql.Identifier(chunks.schema, chunks.name),
                  sql.Identifier(cast(str, chunk_id)), sql.Identifier(cast(str, key))))
    query = sql.SQL("SELECT count(*) AS n, {counts} FROM (SELECT {hcol} AS h, {picked} FROM {source} WHERE {hcol} IS NOT NULL "
                    "LIMIT 200) AS s").format(counts=counts, hcol=_field(h, "e"), picked=picked, source=source)
    try:
        with conn.transaction():  # a savepoint: a failed read leaves the draft's transaction usable
            got = conn.execute(query).fetchone()
        row = list(got.values()) if isinstance(got, dict) else list(got or ())
    except psycopg.Error:
        return hashed, text, hashing.DEFAULT, None
    n, matched = int(row[0]), [int(v) for v in row[1:]]
    if n == 0 and not _named(h, HASH_NAMES):
        # Only named like a hash (imara's chunk_hash_id: LinearRAG's 'passage-' || md5 node id): nothing says it is one
        # of the text, and the engine would write its digests over the application's values.
        return Guess(None, f"{em.name}.{h} is named like a hash, but no row holds one: not measured to be a digest of "
                     "the text, so not taken as the input hash (the engine would write its digests there); set "
                     "embeddings.input_hash if the application keeps its text's hash there"), text, hashing.DEFAULT, None
    if n == 0:
        return Guess(h, hashed.why + "; not measured (no row holds a hash): it must be the SHA-256 hex of the text, "
                     "or set embeddings.input_hash_algorithm", hashed.alternatives), text, hashing.DEFAULT, None
    best = max(range(len(pairs)), key=lambda j: (matched[j], pairs[j][1].name == hashing.DEFAULT))
    if not matched[best]:
        return Guess(None, f"{em.name}.{h} is not a digest of the text the engine can write (0 of {n} rows read are "
                     f"the {', '.join(a.label for a in algorithms)} of {', '.join(texts)}: it hashes something else): "
                     "not an input hash; the engine would call every row stale and overwrite the application's "
                     "values"), text, hashing.DEFAULT, None
    i, alg = pairs[best]
    measured = f"{matched[best]} of {n} rows read hold the {alg.label} of {texts[i]}"
    if texts[i] != text.column:  # the hash says which text the vectors were made from (khoj: md5(compiled))
        text = Guess(texts[i], f"the application's {h} holds its {alg.label} ({measured})",
                     tuple(t for t in (text.column, *text.alternatives) if t and t != texts[i]))
    return Guess(h, f"{hashed.why}; measured: {measured}", hashed.alternatives), text, alg.name, texts[i]


def _text_a_json_hash_names(conn: Conn, chunks: Table, em: Table, chunk_id: Guess, key: Guess, text: Guess,
                            json_keys: dict[str, tuple[str, ...]]) -> tuple[Guess, Guess | None]:
    """No text column or key named like one, but a JSON key named like a hash (mem0's ``payload->>'hash'``): the
    key of the same JSON column whose hash it holds in most rows read is the text (``_measured_hash``'s rule).
    Returns the text guess and what was measured of the hash (never an input hash: that is a column)."""
    for column, keys in json_keys.items():
        hashes = [k for k in keys if _named(k, HASH_NAMES) or "hash" in k.lower()]
        others = tuple(f"{column}->>'{k}'" for k in keys if k not in hashes and "'" not in k
                       and not _named(k, _ROLE_NAMES) and not k.lower().endswith(("_id", "_at", "_key")))
        if not hashes or not others or "'" in hashes[0]:
            continue
        hashed = Guess(f"{column}->>'{hashes[0]}'", f"a key named like a hash in {chunks.name}.{column}")
        measured, found, _, _ = _measured_hash(conn, chunks, em, chunk_id.column, key.column,
                                            Guess(None, text.why, others), hashed)
        if found.column is None:
            continue
        if measured.column is not None:  # the engine writes its hash into a column, never a JSON key
            measured = Guess(None, f"{measured.why}; embeddings.input_hash takes a column, not a JSON key")
        return Guess(found.column, found.why, tuple(t for t in (*found.alternatives, *text.alternatives) if t)), measured
    return text, None


def _model_elsewhere(conn: Conn, em: Table, model: Guess) -> Guess:
    """No model column, but a foreign key that names the model in another table (khoj's ``search_model_id``)."""
    for column, _schema, rname, _key in _foreign_keys(conn, em):
        if "model" not in snake(column):
            continue
        return Guess(None, f"{model.why}; the model is named in another table: {em.name}.{column} -> {rname}: the "
                     "harness reads only a model column of this table, so the stored vectors' model is unknown unless "
                     f"embeddings.model_value states it; a backfill leaves {column} as it is")
    return model


_MODEL_ROWS = 100_000


def _model_in_json(conn: Conn, em: Table, vector: str, model: Guess, *, inline: bool = False) -> tuple[Guess, dict[str, int]]:
    """No model column, but rows that name their model under a key of a JSON column: ``meta->>'model'``, or inside a
    JSON text under a key (Open WebUI's ``vmetadata->>'embedding_config'``, ``{"engine": ..., "model": ...}``).
    The models the rows name are counted. A key of a JSON column beside an inline vector (Letta's
    ``embedding_config->>'embedding_model'``) is the model column (``embeddings.model``); a JSON text inside one
    stays unread."""
    from psycopg import sql

    for column, keys in _json_string_keys(conn, em).items():
        for key in keys:
            if "'" in key:
                continue
            value = sql.SQL("{}::jsonb->>{}").format(sql.Identifier(column), sql.Literal(key))
            named = snake(key) in MODEL_NAMES
            nested = sql.SQL("CASE WHEN left(ltrim({v}), 1) = '{{' THEN ({v})::jsonb->>'model' END").format(v=value)
            # Read up to _MODEL_ROWS rows: each one's JSON is parsed, and a draft should not scan a large table.
            query = sql.SQL("SELECT m, count(*), sum(count(*)) OVER () FROM (SELECT {m} AS m FROM {t} WHERE {vec} IS NOT NULL "
                            "LIMIT {n}) AS s GROUP BY 1 ORDER BY m IS NULL, 2 DESC, 1 LIMIT 11").format(
                m=value if named else nested, t=sql.Identifier(em.schema, em.name), vec=sql.Identifier(vector),
                n=sql.Literal(_MODEL_ROWS))
            try:
                with conn.transaction():  # a savepoint: a value that is no JSON leaves the draft's transaction usable
                    rows = conn.execute(query).fetchall()
            except psycopg.Error:
                continue
            counts = {str(_v(r, 0)): int(_v(r, 1)) for r in rows if _v(r, 0) is not None}
            counts = dict(list(counts.items())[:10])
            read = int(_v(rows[0], 2)) if rows else 0
            if not counts:
                continue
            where = f"{column}->>'{key}'" + ("" if named else " (a JSON text; its key model)")
            if read >= _MODEL_ROWS:
                where += f" (the first {_MODEL_ROWS} rows read)"
            models = ", ".join(f"{m} ({n})" for m, n in counts.items())
            if named and inline:
                return Guess(f"{column}->>'{key}'", f"the rows name their model there: {models}; the engine writes "
                             f"the key, the rest of {column} kept"), counts
            return Guess(None, f"{model.why}; the rows name their model in {where}: {models}; the harness reads only a "
                         "model column, so the stored vectors' model is unknown to scope and the engine (a vector of "
                         "another model is found by verify's recompute; backfill --keys-from re-embeds the offenders) "
                         f"unless embeddings.model_value states it; a backfill leaves {column} as it is"), counts
    return model, {}


def polymorphic_pairs(table: Table) -> tuple[tuple[str, str], ...]:
    """(type column, key column) of each polymorphic association of the table: ``X_type`` (a text) beside ``X_id``
    (Rails' ``belongs_to :x, polymorphic: true``, Laravel's ``morphs('x')``)."""
    names = {c.name: c for c in table.columns}
    return tuple((c.name, c.name[:-len("_type")] + "_id") for c in table.columns
                 if c.name.endswith("_type") and c.type in TEXT_TYPES and c.name[:-len("_type")] + "_id" in names)


def model_table(type_value: str) -> str:
    """The table of a model a polymorphic type names, by Rails' and Laravel's convention: ``Qna`` -> ``qnas``,
    ``App\\Models\\BlogPost`` -> ``blog_posts``, ``Category`` -> ``categories``."""
    name = snake(re.split(r"::|\\", type_value)[-1])
    if re.search(r"[^aeiou]y$", name):
        return name[:-1] + "ies"
    return name + ("es" if re.search(r"(?:s|x|z|ch|sh)$", name) else "s")


def _every_value_names_a_row(conn: Conn, chunks: Table, row: tuple[str, str, str], field: Any, where: Any,
                             sample: int) -> bool:
    """Whether every value of ``field`` read (of up to ``sample`` chunks ``where`` selects, NULLs left out; at least
    one) is the key of a row of ``row`` (schema, table, key column), compared as text; False where the read fails."""
    from psycopg import sql

    schema, table, key = row
    query = sql.SQL("SELECT count(*) > 0 AND bool_and(EXISTS (SELECT 1 FROM {t} AS d WHERE d.{k}::text = s.v)) "
                    "FROM (SELECT ({f})::text AS v FROM {c} WHERE {w} AND {f} IS NOT NULL LIMIT {n}) AS s").format(
        t=sql.Identifier(schema, table), k=sql.Identifier(key), f=field, c=sql.Identifier(chunks.schema, chunks.name),
        w=where, n=sql.Literal(sample))
    try:
        with conn.transaction():  # a savepoint: a failed read leaves the draft's transaction usable
            return bool(_v(conn.execute(query).fetchone(), 0))
    except psycopg.Error:
        return False


def _polymorphic_sources(conn: Conn, chunks: Table, sample: int) -> list[tuple[CitedTable, int]]:
    """Each type of a polymorphic pair whose every chunk read names a row of the table the type names (its
    ``chunk_filter`` the type), with the chunks read of it, the most chunks first."""
    from psycopg import sql

    found = []
    tables = {t: s for s, t in _tables(conn, chunks.schema)}
    for type_col, key_col in polymorphic_pairs(chunks):
        counts = conn.execute(sql.SQL("SELECT s.t::text AS t, count(*) AS n FROM (SELECT {tc} AS t FROM {c} LIMIT {n}) "
                                      "AS s WHERE s.t IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1").format(
            tc=sql.Identifier(type_col), c=sql.Identifier(chunks.schema, chunks.name), n=sql.Literal(sample))).fetchall()
        for type_value, n in ((_v(r, 0), _v(r, 1)) for r in counts):
            table = model_table(type_value)
            if table not in tables or table == chunks.name:
                continue
            pk = _table(conn, tables[table], table).primary_key
            if len(pk) != 1:
                continue
            of_type = sql.SQL("{}::text = {}").format(sql.Identifier(type_col), sql.Literal(type_value))
            if _every_value_names_a_row(conn, chunks, (tables[table], table, pk[0]), sql.Identifier(key_col), of_type,
                                        sample):
                found.append((CitedTable(tables[table], table, pk[0], key_col, ((type_col, type_value),)), int(n)))
    return sorted(found, key=lambda f: -f[1])


def _source_table(conn: Conn, chunks: Table, em: Table, sources: tuple[str, ...], collection: str | None = None,
                  documents: Sequence[tuple[str, str, str, str]] = (), sample: int = 200) -> CitedTable | None:
    """A citation field named like a document key whose every sampled value is the key of a row of a table the
    field's name names (``db_document_id`` -> ``document``), or else of the one uuid-keyed table (cognee's ``data``),
    compared as text (a JSON key's text, a bigint or uuid
    column), with that table's column of the chunks' collection column's name and type (``collection``, as the draft
    writes it: ``collection_ids[]``), if it has one, or the table a foreign key among ``documents`` (``_document_keys``)
    names; else a polymorphic pair's largest type; None when none is."""
    from psycopg import sql

    def own_collection(schema: str, table: str) -> str | None:
        """The table's column of the chunks' collection column's name and type (as chunks.collection names it)."""
        if collection is None:
            return None
        mine = {c.name: c.type for c in chunks.columns}.get(collection.removesuffix("[]"))
        theirs = {c.name: c.type for c in _table(conn, schema, table).columns}.get(collection.removesuffix("[]"))
        return collection if theirs is not None and theirs == mine else None

    declared = {column: (rschema, rname, rcolumn) for column, rschema, rname, rcolumn in documents}
    for source in sources:
        if source in declared:  # a foreign key: its constraint already says every value is a row's key
            ref_schema, ref_table, ref_key = declared[source]
            return CitedTable(ref_schema, ref_table, ref_key, source, collection=own_collection(ref_schema, ref_table))
        column, key = json_field(source)
        name = (key or column).lower()
        if not _named(name, DOCUMENT_KEY_NAMES):
            continue
        for schema, table in _tables(conn, chunks.schema):
            singular = table.lower()[:-1] if table.lower().endswith("s") else table.lower()
            if table in (chunks.name, em.name) or singular not in name:
                continue
            pk = _table(conn, schema, table).primary_key
            if len(pk) != 1:
                continue
            if _every_value_names_a_row(conn, chunks, (schema, table, pk[0]), _field(source), sql.SQL("true"), sample):
                return CitedTable(schema, table, pk[0], source, collection=own_collection(schema, table))
        # No table so named (cognee's documents are rows of `data`): the one table keyed by a uuid that holds every
        # value read; uuids match no other table's keys by chance, as small integers would.
        keyed = [(schema, table, _table(conn, schema, table)) for schema, table in _tables(conn, chunks.schema)
                 if table not in (chunks.name, em.name)]
        hits = [(schema, table, t.primary_key[0]) for schema, table, t in keyed
                if len(t.primary_key) == 1 and {c.name: c.type for c in t.columns}.get(t.primary_key[0]) == "uuid"
                and _every_value_names_a_row(conn, chunks, (schema, table, t.primary_key[0]), _field(source),
                                             sql.SQL("true"), sample)]
        if len(hits) == 1:
            schema, table, pk_column = hits[0]
            return CitedTable(schema, table, pk_column, source, collection=own_collection(schema, table))
    polymorphic = _polymorphic_sources(conn, chunks, sample)
    if polymorphic:  # one source per profile: the type with the most chunks; the others said
        first = polymorphic[0][0]
        return replace(first, others=tuple((f.chunk_filter[0][1], f.table) for f, _ in polymorphic[1:]))
    return None


def _distance(conn: Conn, vc: VectorColumn) -> tuple[str, str] | None:
    """(distance, where read): the operator class of an index on the vector column, else the one pgvector operator
    the database's SQL and PL/pgSQL functions that name its table use (the application's search function)."""
    em = vc.table
    indexes = conn.execute(
        "SELECT ic.relname, opc.opcname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
        "JOIN pg_opclass opc ON opc.oid = i.indclass[0] "
        "WHERE i.indrelid = to_regclass(%s) AND a.attname = %s AND i.indisvalid ORDER BY 1",
        (_qualified(em.schema, em.name), vc.column)).fetchall()
    for name, opclass in ((_v(r, 0), _v(r, 1)) for r in indexes):
        if (distance := distance_of_opclass(opclass)) is not None:
            return distance, f"the operator class {opclass} of index {name} on {em.name}.{vc.column}"
    functions = conn.execute(
        "SELECT p.proname, p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "JOIN pg_language l ON l.oid = p.prolang WHERE l.lanname IN ('sql', 'plpgsql') "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND strpos(p.prosrc, %s) > 0 ORDER BY 1",
        (em.name,)).fetchall()
    found = {name: distances_in_sql(src) for name, src in ((_v(r, 0), _v(r, 1)) for r in functions)}
    used = set().union(*found.values()) if found else set()
    if len(used) == 1:
        distance = used.pop()
        names = ", ".join(n for n, d in found.items() if d)
        return distance, f"the operator {DISTANCES[distance]} of function {names}, which searches {em.name}"
    return None


def _llamaindex_nodes(conn: Conn, table: Table, sample: int = 200) -> str | None:
    """The JSON column in which every sampled row holds a serialized LlamaIndex node (``_node_content``), or None."""
    from psycopg import sql

    for c in table.columns:
        if c.type not in ("json", "jsonb"):
            continue
        query = sql.SQL(
            "SELECT count(*) > 0 AND bool_and(jsonb_typeof(j->'_node_content') = 'string') FROM "
            "(SELECT {c}::jsonb AS j FROM {t} WHERE {c} IS NOT NULL LIMIT {n}) AS s"
        ).format(c=sql.Identifier(c.name), t=sql.Identifier(table.schema, table.name), n=sql.Literal(sample))
        if _v(conn.execute(query).fetchone(), 0):
            return c.name
    return None


def _json_string_keys(conn: Conn, table: Table, sample: int = 200) -> dict[str, tuple[str, ...]]:
    """Per JSON column of the table, the top-level keys holding a string in every sampled row that has the key."""
    from psycopg import sql

    found: dict[str, tuple[str, ...]] = {}
    for c in table.columns:
        if c.type not in ("json", "jsonb"):
            continue
        query = sql.SQL(
            "SELECT e.k FROM (SELECT {c}::jsonb AS j FROM {t} WHERE jsonb_typeof({c}::jsonb) = 'object' LIMIT {n}) AS s, "
            "jsonb_each(s.j) AS e(k, v) GROUP BY e.k HAVING bool_and(jsonb_typeof(e.v) = 'string') ORDER BY e.k"
        ).format(c=sql.Identifier(c.name), t=sql.Identifier(table.schema, table.name), n=sql.Literal(sample))
        keys = tuple(str(_v(r, 0)) for r in conn.execute(query).fetchall())
        if keys:
            found[c.name] = keys
    return found


def _pick_json_key(json_keys: dict[str, tuple[str, ...]], names: tuple[str, ...], role: str) -> Guess | None:
    """``column->>'key'`` for the first JSON key named like ``names`` (the others as alternatives), or None."""
    found = [f"{column}->>'{key}'" for wanted in names for column, keys in json_keys.items()
             for key in keys if snake(key) == wanted and "'" not in key]
    if not found:
        return None
    column = found[0].split("->>", 1)[0]
    return Guess(found[0], f"no {role} column; a string key of the JSON column {column} in the sampled rows",
                 tuple(found[1:]))


def _stored_models(conn: Conn, em: Table, vector: str, model: str | None) -> dict[str, int]:
    """Vectors stored per model name (as far as the connecting role can see); empty without a model column."""
    if model is None:
        return {}
    from psycopg import sql

    query = sql.SQL("SELECT {m}::text, count(*) FROM {t} WHERE {v} IS NOT NULL AND {m} IS NOT NULL "
                    "GROUP BY 1 ORDER BY 2 DESC LIMIT 10").format(
        m=sql.Identifier(model), t=sql.Identifier(em.schema, em.name), v=sql.Identifier(vector))
    try:
        with conn.transaction():  # a savepoint: a failed read leaves the draft's transaction usable
            return {_v(r, 0): int(_v(r, 1)) for r in conn.execute(query).fetchall()}
    except psycopg.Error:
        return {}


def rls_applies(conn: Conn, table: Table) -> bool:
    """Does row-level security filter what the connecting role sees in this table?"""
    if not table.rls:
        return False
    row = conn.execute(
        "SELECT r.rolsuper OR r.rolbypassrls AS bypass, c.relowner = r.oid AS owner FROM pg_roles r, pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.rolname = current_user "
        "AND n.nspname = %s AND c.relname = %s", (table.schema, table.name)).fetchone()
    if row is None:
        return True
    bypass, owner = bool(_v(row, 0)), bool(_v(row, 1))
    return not bypass and (not owner or table.force_rls)


def citation_of(conn: Conn, schema: str, name: str) -> str | None:
    """The column of a document table named like a citation (SOURCE_NAMES, in their order) that no row read leaves
    empty: what a chunk read through that table is cited by (pgai's source row: its url)."""
    table = _table(conn, schema, name)
    named = sorted((c.name for c in table.columns if snake(c.name) in SOURCE_NAMES),
                   key=lambda c: SOURCE_NAMES.index(snake(c)))
    empty = _empty_in_some_row(conn, table, tuple(named))
    return next((c for c in named if c not in empty), None)
