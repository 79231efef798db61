"""Vector column declarations with their dimension, table and column, in SQL and the common ORMs' schemas."""

from __future__ import annotations

import json
import bisect
import functools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Protocol, TypeVar, cast

from .alembic import Place, versions_folder
from .js_modules import module_of, module_text
from .lexing import folded, in_strings, lex, without_comments
from .literals import (call_args, constant, env_reads, finditer_at, finditer_folded_at, finditer_where, int_value, line_of,
                       py_docstrings, split_args)
from .yaml_settings import SettingsFiles, attribute_path


@dataclass(frozen=True)
class VectorDeclaration:
    path: str
    line: int
    dimensions: int | None
    kind: str  # sql / json / drizzle / drizzle-customType / sqlalchemy / django / prisma / typeorm / knex / active-record / laravel / doctrine / liquibase / mastra / ecto / ecto-schema / pgai
    table: str | None = None
    column: str | None = None
    type: str = "vector"  # vector / halfvec / sparsevec
    # the dimension as a name another module defines (`from letta.constants import MAX_EMBEDDING_DIM`): module.NAME
    dims_from: str | None = field(default=None, compare=False)
    # the distance a vector store library queries the column with (cosine / l2 / ip), where it says one
    distance: str | None = field(default=None, compare=False)
    # the environment variable the dimension is read from (``dimensions`` is its default): Rails' ``limit:
    # ENV.fetch("EMBEDDING_DIMENSIONS", 768).to_i``
    dims_env: str | None = field(default=None, compare=False)
    # a later numbered migration of the same folder drops or renames the table or the column (discourse-ai's one table
    # per model, dropped when the vectors moved to one table per kind; drizzle's RENAME COLUMN): it no longer exists
    dropped: bool = field(default=False, compare=False)
    # the dimension and the table's schema as attribute paths of a settings object the application's YAML files fill
    # (PrivateGPT's ``embed_dim=settings.embedding.embed_dim``, ``**settings.postgres.model_dump()``)
    dims_setting: tuple[str, ...] = field(default=(), compare=False)
    schema_setting: tuple[str, ...] = field(default=(), compare=False)
    # (the changelog, the changeset's place in it) where the file's path does not say its order: Liquibase's
    # changesets, numbered in the order their master changelog includes them
    order: tuple[str, int | Place] | None = field(default=None, compare=False)
    # the store's config object as a name another module of the repository binds: "app/config/db#config"
    config_from: str | None = field(default=None, compare=False)
    # made through a store the application registers elsewhere by name (Mastra's `mastra.getVector('pgVector')`):
    # a PgVector's table only where the repository makes one (harness.steps.locate keeps it then)
    through_registry: bool = field(default=False, compare=False)
    # the dimension as a Laravel `config('file.key')`, which config/file.php fills (harness.locate.laravel reads it)
    dims_config: str | None = field(default=None, compare=False)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()
                if k not in ("dims_from", "dims_setting", "schema_setting", "order", "config_from", "through_registry",
                             "dims_config")
                and (k not in ("distance", "dims_env", "dropped") or v)}


# Declarations by a vector store library that makes its table at runtime, `CREATE TABLE IF NOT EXISTS` (or SQLAlchemy's
# create_all): a table found there is kept as it is, whatever the code declares now.
STORE_KINDS = frozenset({"langchain", "llamaindex", "haystack", "mastra"})


_IDENT = r'(?:"[^"\n]+"|`[^`\n]+`|[A-Za-z_][\w]*)'
# The same where a blank or a dot must follow it, taken whole: a bare name from its first letter only (one begun
# after a letter ends where that letter's does, so the match began there) and never shorter (possessive). Tried at
# every character of every word, the name read on to the word's end made the declaration patterns below most of a
# schema scan's time; in ``_finditer_in``'s spans (each from a line's start) the matches are the same.
_WHOLE_IDENT = r'(?:"[^"\n]++"|`[^`\n]++`|(?<![A-Za-z_])[A-Za-z_]\w*+)'
_QUALIFIED = rf"{_IDENT}(?:\.{_IDENT})?"
# The dimension may be interpolated in code: `vector(${dims})` in a JS template, `vector({dims})` in a Python f-string.
_SQL_TYPE = re.compile(
    # the type may be schema-qualified: pgvector installed in a schema of its own (`extensions.vector(1536)`)
    rf"(?i)(?:(?P<col>{_WHOLE_IDENT})\s+(?:(?:SET\s+DATA\s+)?TYPE\s+)?)?(?:{_WHOLE_IDENT}\.)?\b(?P<type>vector|halfvec|sparsevec)\s*\(\s*"
    r"(?:(?P<n>\d+)|\$\{(?P<js>[^{}\n]+)\}|\{(?P<py>[A-Za-z_][\w.()]*|\d*)\}|(?P<word>[A-Za-z_]\w*))\s*\)")
# A name computed in code: `"${Store.tableName()}"`, `{self.table}`: the expression inside.
_INTERPOLATED = re.compile(r"^\$?\{\s*(?P<e>[^{}]+?)\s*\}$")
# What a method or constant returns for a name: `process.env.X || "name"`, `os.getenv("X", "name")`, `"name"`.
_NAME_DEFAULT = re.compile(r"""(?:\|\||\?\?|\bor\b)\s*['"`](?P<a>[\w.$-]+)['"`]|getenv\(\s*['"]\w+['"]\s*,\s*['"](?P<b>[\w.$-]+)['"]"""
                           r"""|\.get\(\s*['"]\w+['"]\s*,\s*['"](?P<c>[\w.$-]+)['"]|^\s*['"`](?P<d>[\w.$-]+)['"`]\s*;?\s*$""")
# A column of no width (`embedding vector`: each row's own): only a column of the table its statement creates or alters.
_SQL_UNTYPED = re.compile(rf"(?P<col>{_WHOLE_IDENT})\s+(?:{_WHOLE_IDENT}\.)?\b(?P<type>vector|halfvec|sparsevec|VECTOR|HALFVEC|SPARSEVEC)\b"
                          r"(?![.\w])(?!\s*[(\[])(?=[ \t]*(?:,|\)|\n|(?i:not|null|default|primary|references)\b))")
# A column altered to a type of no width (Quivr's Ollama migration: `alter column "embedding" set data type vector
# using "embedding"::vector`): the column is now of no declared dimension.
_SQL_ALTER_UNTYPED = re.compile(rf"(?i)\bALTER\s+COLUMN\s+(?P<col>{_IDENT})\s+(?:SET\s+DATA\s+)?TYPE\s+(?:{_IDENT}\.)?"
                                r"\b(?P<type>vector|halfvec|sparsevec)\b(?![.\w])(?!\s*[(\[])")
_SQL_TABLE = re.compile(rf"(?i)\b(?:CREATE\s+(?:UNLOGGED\s+)?TABLE(?:\s+IF\s+NOT\s+EXISTS)?|ALTER\s+TABLE(?:\s+IF\s+EXISTS)?(?:\s+ONLY)?)\s+(?P<t>\$?\{{[^{{}}\n]*\}}|{_QUALIFIED})")
# A routine's parameters and variables are no columns: a vector(N) after one of these belongs to no table.
_SQL_ROUTINE = re.compile(r"(?i)\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE)\b")
_SQL_WORDS = frozenset({"type", "column", "add", "alter", "as", "data", "set", "public", "and", "or", "the", "a", "of",
                        "returns", "return", "select", "cast", "in", "is", "to", "with", "using", "default", "not",
                        "null", "exists", "table"})
_DRIZZLE = re.compile(r"""(?:(?P<prop>[A-Za-z_]\w*)\s*:\s*)?\b(?P<type>vector|halfvec|sparsevec)\s*\(\s*(?P<q>['"])(?P<col>[^'"]+)(?P=q)""")
# What every _DRIZZLE match holds: searched for alone it is ten times quicker (no optional name to try first)
_DRIZZLE_HINT = re.compile(r"""\b(?:vector|halfvec|sparsevec)\s*\(\s*['"]""")
_DRIZZLE_TABLE = re.compile(r"""\b(?:pgTable|pgTableCreator\([^)]*\)|table|createTable|alterTable|mysqlTable|sqliteTable)\s*\(\s*['"](?P<t>[^'"]+)['"]""")
_DRIZZLE_TABLE_WORDS = ("pgTable", "table", "createTable", "alterTable", "mysqlTable", "sqliteTable")


def drizzle_tables(text: str) -> list[re.Match[str]]:
    """Each table drizzle, Knex or Mastra makes by name (``_DRIZZLE_TABLE``), tried only where its words begin."""
    return list(finditer_at(_DRIZZLE_TABLE, text, *_DRIZZLE_TABLE_WORDS))
_CUSTOM_TYPE = re.compile(r"""\b(?:const|let|var)\s+(?P<name>[A-Za-z_]\w*)\s*=\s*customType\b""")
_PY_VECTOR = re.compile(r"""\b(?P<type>Vector|VECTOR|HALFVEC|HalfVector|SPARSEVEC|SparseVector)\s*\(""")
_PY_COL = re.compile(r"""(?P<col>[A-Za-z_]\w*)\s*(?::[^=\n]+)?=\s*(?:[\w.]+\.)?(?:Column|mapped_column|Field)\s*\(""")
# `__tablename__ = collection_name`: a table named at runtime (cognee's class per collection), named `{collection_name}`.
_PY_TABLE = re.compile(r"""(?m)__tablename__\s*=\s*(?:['"](?P<t>[^'"]+)['"]|(?P<tv>[A-Za-z_][\w.]*)[ \t]*$)|\bop\.(?:create_table|add_column|alter_column|batch_alter_table)\(\s*['"](?P<t2>[^'"]+)['"]|\bTable\(\s*['"](?P<t3>[^'"]+)['"]|\bclass\s+(?P<cls>[A-Za-z_]\w*)\s*\([^)]*(?:Base|Model|SQLModel|DeclarativeBase)[^)]*\)""")
# A model's `col = VectorField(...)`, or a migration's CreateModel field tuple `("col", VectorField(...))` (the form
# makemigrations writes for a model's first migration).
_DJANGO = re.compile(r"""(?:(?P<col>[A-Za-z_]\w*)\s*=\s*|\(\s*['"](?P<tcol>\w+)['"]\s*,\s*)(?:[\w.]+\.)?"""
                     r"""(?P<type>VectorField|HalfVectorField|SparseVectorField)\s*\(""")
_DJANGO_CLASS = re.compile(r"""(?m)^class\s+(?P<cls>[A-Za-z_]\w*)\s*\([^)]*Model[^)]*\)\s*:""")
_DJANGO_OP_MODEL = re.compile(r"""migrations\.CreateModel\(\s*name\s*=\s*['"](?P<m>[^'"]+)['"]|model_name\s*=\s*['"](?P<m2>[^'"]+)['"]""")
_DJANGO_META = r"""\b{key}\s*=\s*['"](?P<v>[^'"]+)['"]|['"]{key}['"]\s*:\s*['"](?P<v2>[^'"]+)['"]"""
_DJANGO_ALTER_TABLE = re.compile(r"""migrations\.AlterModelTable\(""")
_PRISMA = re.compile(r"""(?m)^\s*(?P<col>[A-Za-z_]\w*)\s+Unsupported\(\s*"(?P<type>vector|halfvec|sparsevec)\(\s*(?P<n>\d+)\s*\)"\s*\)\??(?P<rest>[^\n]*)""")
_PRISMA_MODEL = re.compile(r"""(?m)^\s*model\s+(?P<m>\w+)\s*\{""")
_TYPEORM = re.compile(r"""@Column\s*\(""")
# `'vector'` alone (no width) is a column of any dimension, as an untyped SQL `vector` is
_KNEX = re.compile(r"""\.specificType\(\s*['"](?P<col>[^'"]+)['"]\s*,\s*['"](?P<type>vector|halfvec)(?:\((?P<n>\d+)\))?['"]""")
# ActiveRecord (the neighbor gem's column types): `t.vector :embedding, limit: 768` in a migration's `create_table`
# / `change_table` block or schema.rb's `t.vector "embedding", limit: 768`; `t.column :x, :vector, limit: N`;
# `t.column :x, "vector(768)"` or `"halfvec"` (the SQL type as a string, no gem: discourse-ai's, no width when each
# row's width is another table's setting);
# `add_column` / `change_column :table, :x, :vector, limit: N`. The dimension is `limit:` (a number, a constant, or
# `ENV.fetch("X", 768)`: its default).
_RB_SYM = r"""(?::(?P<{0}>\w+)|(?P<q{0}>['"])(?P<s{0}>\w+)(?P=q{0}))"""
_RB_TYPE = r"""(?P<type>vector|halfvec|sparsevec)"""
_AR_BLOCK = re.compile(r"""\b(?:create_table|change_table)\s*\(?\s*""" + _RB_SYM.format("t"))
_AR_COLUMN = re.compile(r"""\b\w+\.(?:""" + _RB_TYPE + r"""\s*\(?\s*""" + _RB_SYM.format("c")
                        + r"""|column\s*\(?\s*""" + _RB_SYM.format("c2") + r"""\s*,\s*(?::(?P<type2>vector|halfvec|sparsevec)\b"""
                        + r"""|(?P<q3>['"])(?P<type3>vector|halfvec|sparsevec)(?:\(\s*(?P<n3>\d+)\s*\))?(?P=q3)))"""
                        + r"""(?P<rest>[^\n]*)""")
_AR_ALTER = re.compile(r"""\b(?:add_column|change_column)\s*\(?\s*""" + _RB_SYM.format("t") + r"""\s*,\s*"""
                       + _RB_SYM.format("c") + r"""\s*,\s*(?::""" + _RB_TYPE + r"""\b"""
                       + r"""|(?P<q3>['"])(?P<type3>vector|halfvec|sparsevec)(?:\(\s*(?P<n3>\d+)\s*\))?(?P=q3))(?P<rest>[^\n]*)""")
# a method as a migration's rollback may be one: Python's and Ruby's `def down`, PHP's `public function down(): void`,
# an EF Core migration's `protected override void Down(MigrationBuilder migrationBuilder)`
_RB_METHOD = re.compile(r"""(?m)^\s*(?:(?:public|protected|private|static|internal|override)\s+)*(?:def|function|void)\s+"""
                        r"""(\w+)""")
# EF Core's AlterColumn names the type a column had before (`oldType: "vector(768)"`): no declaration of its own
_EF_OLD_TYPE = re.compile(r"""\boldType\s*:""")
_AR_LIMIT = re.compile(r"""\blimit:\s*(?P<v>ENV\.fetch\([^)]*\)|ENV\[[^\]]*\]\s*(?:\|\|\s*[\w.]+)?|[\w.]+)""")
_DIMS_KW = re.compile(r"""\b(?:dimensions?|dims?|length|size)\s*[:=]\s*(?P<v>[\w.]+)""")


_STORE = re.compile(r"""\b(?P<cls>PGVectorStore|PGVector|PostgresVectorStore)\s*(?:\.\s*(?:from_params|initialize)\s*)?\(""")
# An application's own store built on the library's (rag_api's `class ExtendedPgVector(PGVector)`, JS `extends`):
# constructing the subclass creates the library's table.
_STORE_SUBCLASS = re.compile(r"""\bclass\s+\w+\s*(?:\(\s*|extends\s+)(?:[\w.]+\.)?(?P<cls>PGVectorStore|PGVector|PostgresVectorStore)\b\s*[,){]?""")
_STORE_TABLE = re.compile(r"""\b(?:table_name|tableName|collection_name)\s*[=:]\s*(?P<v>[^,)\n]+)""")
_STORE_DIMS = re.compile(r"""\b(?:embed_dim|dimensions|embedding_length|embedding_dimension)\s*[=:]\s*(?P<v>\S)""")


def _top_level_value(text: str, start: int) -> str:
    """The expression from ``start`` up to the next comma outside brackets."""
    depth, i = 0, start
    while i < len(text):
        ch = text[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif ch == "," and depth == 0:
            break
        i += 1
    return text[start:i].strip()


_DECLARES = re.compile(r"(?i)vector|halfvec|VectorField|Unsupported")


def has_declarations(text: str) -> bool:
    low = folded(text)  # the pattern, case-insensitive, took a second over a monorepo's files; "vectorfield" has "vector"
    return bool(_DECLARES.search(text)) if low is None else ("vector" in low or "halfvec" in low or "unsupported" in low)


# LlamaIndex's PGVectorStore.from_params(host, port, database, user, password, table_name, ...): its defaults.
_FROM_PARAMS_TABLE_POSITION = 5
_FROM_PARAMS_DEFAULTS = ("llamaindex", 1536)


def _positional(args: str) -> list[str]:
    """The top-level positional arguments of a call's argument text (keyword arguments left out)."""
    return [a for _, a in split_args(args) if not re.match(r"^\w+\s*=(?!=)", a)]


_STORE_SCHEMA = re.compile(r"""\bschema_name\s*=\s*""")
# Keyword arguments spread from a settings object (`**settings.postgres.model_dump(exclude_none=True)`, `**cfg.dict()`).
_SPREAD = re.compile(r"""\*\*\s*(?P<obj>[\w.]+?)(?:\.(?:model_dump|dict)\s*\([^)]*\))?\s*(?:,|$)""")


@dataclass(frozen=True)
class _Store:
    table: str
    dims: int | None
    dims_setting: tuple[str, ...] = ()
    schema_setting: tuple[str, ...] = ()


def _llamaindex_store(text: str, args: str, lang: str, from_params: bool, at: int = 0) -> _Store:
    """The table and dimension a PGVectorStore call names: keywords, else from_params' positions, else its defaults;
    a dimension or schema given as a settings attribute is its path, for the YAML files to give its value."""
    dims, dims_setting = None, None
    d = _STORE_DIMS.search(args)
    if d:
        value = _top_level_value(args, d.start("v"))
        dims = int_value(text, value) or next((int(x) for x in re.findall(r"\b(\d{2,5})\b", value)), None)
        dims_setting = None if dims else attribute_path(text, value, at)
    t = _STORE_TABLE.search(args)
    token = t.group("v").strip() if t else None
    if token is None and from_params:
        positional = _positional(args)
        token = positional[_FROM_PARAMS_TABLE_POSITION] if len(positional) > _FROM_PARAMS_TABLE_POSITION else None
    name = None
    if token:
        lit = re.match(r"""['"]([^'"]+)['"]""", token)
        rhs = None if lit else constant(text, token.split(".")[-1])
        lit = lit or (re.match(r"""['"]([^'"]+)['"]""", rhs) if rhs else None)
        # A name computed in code (a setting, an attribute) is named as the expression it is, in braces.
        name = lit.group(1) if lit else ("{" + token + "}" if re.fullmatch(r"[\w.]+", token) else None)
    if from_params and d is None:  # the library's default only where the call gives no dimension at all
        dims = _FROM_PARAMS_DEFAULTS[1]
    if from_params:
        name = name or _FROM_PARAMS_DEFAULTS[0]
    name = name or "llamaindex_embedding"
    table = f"data_{name}" if lang == "python" else name
    schema, schema_setting = None, None
    s = _STORE_SCHEMA.search(args)
    if s:
        value = _top_level_value(args, s.end())
        lit = re.fullmatch(r"""['"]([^'"]+)['"]""", value)
        schema = lit.group(1).lower() if lit else None
        schema_setting = None if lit else attribute_path(text, value, at)
    elif spread := _SPREAD.search(args):
        base = attribute_path(text, spread.group("obj"), at)
        schema_setting = (*base, "schema_name") if base else None
    return _Store(f"{schema}.{table}" if schema and schema != "public" else table, dims, dims_setting or (),
                  schema_setting or ())


def _stores(rel: str, text: str, lang: str) -> list[VectorDeclaration]:
    """Vector stores that create their own table: LlamaIndex PGVectorStore (``data_<table_name>`` in Python),
    langchain-postgres PGVector (``langchain_pg_embedding``), called directly or through the application's subclass."""
    out = []
    subclasses = {}
    for m in _STORE_SUBCLASS.finditer(text):
        if _from_library(text, m.group("cls"), m.start("cls")):
            own = re.search(r"\bclass\s+(\w+)", m.group(0))
            if own:
                subclasses[own.group(1)] = m.group("cls")
    calls = [(m.group("cls"), m) for m in _STORE.finditer(text) if _from_library(text, m.group("cls"), m.start())]
    if subclasses:  # the subclass constructed here: its arguments are the library's
        built = re.compile(r"\b(?P<cls>" + "|".join(map(re.escape, subclasses)) + r")\s*(?:\.\s*from_params\s*)?\(")
        calls += [(subclasses[m.group("cls")], m) for m in built.finditer(text)]
    for cls, m in sorted(calls, key=lambda c: c[1].start()):
        if re.search(r"\b(?:import|class|from)\b[^\n]*$", text[text.rfind("\n", 0, m.start()) + 1:m.start()]):
            continue
        args = call_args(text, m.end() - 1)
        if lang == "js" and cls == "PGVectorStore" and "langchain" in (_js_module(text, cls) or ""):
            positional = _positional(args)
            token = positional[1].strip() if len(positional) > 1 else ""
            config = _config_object(text, token) if token else ""
            origin = None if config else _imported_binding(rel, text, token)
            table, column, dims, distance = _langchain_js_config(text, config)
            out.append(VectorDeclaration(rel, line_of(text, m.start()), dims, "langchain", table,
                                         None if origin or (token and not config) else column,
                                         distance=distance, config_from=origin))
            continue
        if cls == "PGVector":
            d = _STORE_DIMS.search(args)
            dims = None
            if d:
                value = _top_level_value(args, d.start("v"))
                dims = int_value(text, value) or next((int(x) for x in re.findall(r"\b(\d{2,5})\b", value)), None)
            table = "langchain_pg_embedding"
            strategy = re.search(r"""\bdistance_strategy\s*=\s*(?:[\w.]*\.)?['"]?(?P<v>\w+)""", args)
            distance = _LANGCHAIN_DISTANCES.get(strategy.group("v").lower() if strategy else "cosine")
            out.append(VectorDeclaration(rel, line_of(text, m.start()), dims, "langchain", table, "embedding",
                                         distance=distance))
            continue
        store = _llamaindex_store(text, args, lang, "from_params" in m.group(0), m.start())
        out.append(VectorDeclaration(rel, line_of(text, m.start()), store.dims, "llamaindex", store.table, "embedding",
                                     dims_setting=store.dims_setting, schema_setting=store.schema_setting))
    called = {d.kind for d in out}
    for m in _STORE_SUBCLASS.finditer(text):
        kind = "langchain" if m.group("cls") == "PGVector" else "llamaindex"
        if kind in called or not _from_library(text, m.group("cls"), m.start("cls")):
            continue  # the library's class called here already declares it, or the application's own class
        # Its arguments are given where the subclass is constructed: the library's default table, dimension unknown.
        table = "langchain_pg_embedding" if kind == "langchain" else (
            "data_llamaindex_embedding" if lang == "python" else "llamaindex_embedding")
        out.append(VectorDeclaration(rel, line_of(text, m.start()), None, kind, table, "embedding"))
    return out


def _config_object(text: str, token: str) -> str:
    """The object literal an argument is: written inline, else the ``const NAME = {...}`` of the file it names."""
    token = token.strip()
    if token.startswith("{"):
        return call_args(token, 0, limit=len(token))
    m = re.fullmatch(r"[A-Za-z_$][\w$]*", token) and re.search(
        r"(?m)\b(?:const|let|var)\s+" + re.escape(token) + r"\s*(?::\s*[^={\n]+)?=\s*\{", text)
    return call_args(text, m.end() - 1, limit=4000) if m else ""


def _js_name(text: str, config: str, key: str) -> str | None:
    """A key of a JS config object as a name: its literal, a constant of the file that is one, or ``{expression}``."""
    m = re.search(r"(?<![\w$])" + key + r"""\s*:\s*(?P<v>[^,}\n]+)""", config)
    if not m:
        return None
    token = re.sub(r"\s+as\s+\w+$", "", m.group("v").strip())
    # A setting with a default (`process.env.PG_TABLE ?? "documents"`): the default, as for a table in SQL.
    lit = re.fullmatch(r"""(?:[\w$.\[\]'"]+\s*(?:\?\?|\|\|)\s*)?['"`]([^'"`$]+)['"`]""", token)
    rhs = None if lit else constant(text, token.split(".")[-1])
    lit = lit or (re.match(r"""['"`]([^'"`$]+)['"`]""", rhs) if rhs else None)
    return lit.group(1) if lit else ("{" + token + "}" if re.fullmatch(r"[\w$.]+", token) else None)


# LangChain's distance strategies (JS ``distanceStrategy``, Python ``DistanceStrategy``; cosine unless given) as
# profile distances.
_LANGCHAIN_DISTANCES = {"cosine": "cosine", "innerproduct": "ip", "max_inner_product": "ip", "inner": "ip",
                        "euclidean": "l2", "l2": "l2", "cosine_distance": "cosine", "inner_product": "ip"}


def _langchain_js_config(text: str, config: str) -> tuple[str | None, str, int | None, str | None]:
    """LangChain.js's ``PGVectorStore.initialize(embeddings, config)`` / ``new PGVectorStore(embeddings, config)``:
    the table, the vector column (``columns.vectorColumnName``, default ``embedding``), the dimension and the
    distance (``distanceStrategy``, default cosine) of ``config`` (the object's text; ``text``, its file's)."""
    columns = re.search(r"(?<![\w$])columns\s*:\s*\{", config)
    column = _js_name(text, call_args(config, columns.end() - 1), "vectorColumnName") if columns else None
    d = re.search(r"(?<![\w$])dimensions\s*:\s*(?P<v>[^,}\n]+)", config)
    dims = int_value(text, d.group("v")) if d else None
    strategy = _js_name(text, config, "distanceStrategy") if config else None
    distance = _LANGCHAIN_DISTANCES.get((strategy or "cosine").lower()) if config else None
    return _js_name(text, config, "tableName"), column or "embedding", dims, distance


# `import { config } from './db.js'`, `import config from './db'`, `const { config } = require('../config/db')`,
# `const config = require('./db')`: a name bound from a module of the repository (a relative path, or an alias a
# tsconfig.json maps: `import { config } from '@/lib/db'`).
_JS_BINDING = (r"""\bimport\s+(?:(?P<default>{name})\b|\{{[^}}]*?\b(?:(?P<orig>[\w$]+)\s+as\s+)?(?P<named>{name})\b[^}}]*\}})"""
               r"""\s*from\s+['"](?P<spec>[^'"]+)['"]"""
               r"""|\b(?:const|let|var)\s+(?:(?P<rdefault>{name})\b|\{{[^}}]*?\b(?:(?P<rorig>[\w$]+)\s*:\s*)?(?P<rnamed>{name})\b"""
               r"""[^}}]*\}})\s*=\s*require\(\s*['"](?P<rspec>\.{{1,2}}/[^'"]+)['"]\s*\)""")


def _imported_binding(rel: str, text: str, token: str) -> str | None:
    """``module#name`` where ``token`` is a name this file binds from a relative module (``name`` as that module
    binds it; ``default`` for its default export), else None."""
    if not re.fullmatch(r"[A-Za-z_$][\w$]*", token):
        return None
    m = re.search(_JS_BINDING.format(name=re.escape(token)), text)
    if not m:
        return None
    module = module_of(rel, m.group("spec") or m.group("rspec"))
    name = "default" if m.group("default") or m.group("rdefault") else (
        m.group("orig") or m.group("named") or m.group("rorig") or m.group("rnamed"))
    return f"{module}#{name}"


def with_imported_store_configs(decls: list[VectorDeclaration], read: Callable[[str], str | None]
                                ) -> list[VectorDeclaration]:
    """LangChain.js stores given a config object another module of the repository binds, with what that object says
    (its ``const`` of the name imported, or the object its export names); unknown where the module does not spell it."""
    out = []
    for d in decls:
        if d.config_from:
            module, name = d.config_from.split("#", 1)
            text = module_text(module, read) or ""
            config = _exported_object(without_comments(text, "js"), name)
            if config:
                table, column, dims, distance = _langchain_js_config(text, config)
                d = replace(d, table=table, column=column, dimensions=dims, distance=distance)
        out.append(d)
    return out


def _exported_object(text: str, name: str) -> str:
    """The object literal a module binds to ``name`` (``const name = {...}``; for ``default``, what ``export default``
    or ``module.exports =`` names or is)."""
    if name == "default":
        m = re.search(r"(?m)^\s*(?:export\s+default|module\.exports\s*=)\s*(?P<v>\{|[A-Za-z_$][\w$]*)", text)
        if not m:
            return ""
        return call_args(text, m.start("v"), limit=4000) if m.group("v") == "{" else _config_object(text, m.group("v"))
    return _config_object(text, name)


def _js_module(text: str, cls: str) -> str | None:
    """The module a JS/TS file imports ``cls`` from (``import {cls} from "m"``, ``require("m")``)."""
    word = re.compile(rf"\b{re.escape(cls)}\b")
    for m in _JS_IMPORT.finditer(text):
        if word.search(m.group("names") or m.group("names2") or ""):
            return m.group("mod") or m.group("mod2")
    return None


_LIBRARY = re.compile(r"langchain|llama[_-]?index", re.I)
_PY_IMPORT = re.compile(r"(?m)^\s*from\s+(?P<mod>[\w.]+)\s+import\s+(?P<names>\([^)]*\)|[^\n]+)")
_JS_IMPORT = re.compile(r"""\bimport\s+(?P<names>[^;'"]*?)\s+from\s+['"](?P<mod>[^'"]+)['"]"""
                        r"""|\b(?:const|let|var)\s+(?P<names2>\{[^}]*\}|\w+)\s*=\s*(?:await\s+import|require)\(\s*['"](?P<mod2>[^'"]+)['"]""")


def _from_library(text: str, cls: str, at: int) -> bool:
    """Whether ``cls`` here is LangChain's or LlamaIndex's: imported from the library, or reached through it."""
    before = text[max(0, at - 80):at]
    qualified = re.search(r"([\w.]+)\.\s*$", before)
    if qualified:
        return bool(_LIBRARY.search(qualified.group(1)))
    word = re.compile(rf"\b{re.escape(cls)}\b")
    for m in _PY_IMPORT.finditer(text):
        if word.search(m.group("names")) and _LIBRARY.search(m.group("mod")):
            return True
    for m in _JS_IMPORT.finditer(text):
        names, mod = m.group("names") or m.group("names2") or "", m.group("mod") or m.group("mod2") or ""
        if word.search(names) and _LIBRARY.search(mod) and not mod.startswith("."):
            return True
    return False


# Prisma's generated client (`prisma generate`'s index.js, edge.js, wasm.js): its schema inlined as a string, a copy of
# the schema.prisma written beside it, which is read as Prisma.
_PRISMA_GENERATED = re.compile(r"\A\s*/\*\s*!!! This is code generated by Prisma\.|\binlineSchema[\"']?\s*:")


def scan(rel: str, text: str, lang: str) -> list[VectorDeclaration]:
    """Every vector declaration of one file (SQL, also inside strings of code; ORM declarations)."""
    found: list[VectorDeclaration] = []
    if lang == "prisma":
        return _prisma(rel, text)
    # the pattern's second branch is tried at every character: not in a file holding neither branch's word
    if lang == "js" and ("Prisma" in text or "inlineSchema" in text) and _PRISMA_GENERATED.search(text):
        return []
    if lang in ("js", "python"):
        text = without_comments(text, lang)  # a driver kept commented out, an example DDL: no table made by them
    elif rel.endswith(".cs"):
        text = without_comments(text, "js")  # C#'s comments are JS's: `// from vector(768) to vector(1024)`
    elif rel.endswith(".rs"):
        text = without_comments(text, "rust")  # `// was: embedding vector(3)`; `#[derive]` is code
    covered: set[int] = set()
    if rel.lower().endswith(".json"):
        found += _json_schema(rel, text, covered)
    if lang == "js":
        found += _drizzle(rel, text, covered)
        found += _typeorm(rel, text, covered)
        found += _knex(rel, text, covered)
    if lang == "python":
        found += _django(rel, text, covered)
        found += _sqlalchemy(rel, text, covered)
    if lang == "ruby":
        found += _active_record(rel, text, covered)
    if lang == "php":
        found += _laravel(rel, without_comments(text, lang), covered)
        if "ORM\\" in text:
            found += _doctrine(rel, text, covered)
    if rel.endswith((".ex", ".exs")):
        text = without_comments(text, "ruby")  # Elixir's comments are Ruby's: `# was 1536`
        found += _ecto(rel, text, covered)
    if rel.endswith(".go") and ("gorm" in text or "bun:" in text or "pgvector." in text):
        from .gorm import declarations as gorm_models

        # Go's comments are JS's (a struct kept commented out declares nothing); its raw strings JS's template literals
        found += gorm_models(rel, without_comments(text, "js"), covered)
    if lang in ("sql", "python", "js", "ruby", "php", "other", "shell"):
        found += _sql(rel, text, covered, strict=lang != "sql")
    if lang in ("python", "js") and ("VectorStore" in text or "PGVector" in text):
        found += _stores(rel, text, lang)
    if lang == "python" and "PgvectorDocumentStore" in text:
        found += _haystack_stores(rel, text)
    if lang == "python" and "init_vectorstore_table" in text:
        found += _langchain_v2_tables(rel, text)
    if lang == "js" and "createIndex" in text and ("@mastra/" in text or "getVector" in text):
        found += _mastra_stores(rel, text)
    if rel.endswith(".cs"):
        lines = text.splitlines()
        found = [d for d in found if not _EF_OLD_TYPE.search(lines[d.line - 1] if 0 < d.line <= len(lines) else "")]
    return without_rollbacks(rel, text, found) if lang in ("python", "php") or rel.endswith((".cs", ".ex", ".exs")) \
        else found


# langchain_postgres v2 (also its AlloyDB and Cloud SQL siblings): ``PGEngine.(a)init_vectorstore_table(table_name,
# vector_size, schema_name=, content_column=, embedding_column=, ...)`` creates the table ``PGVectorStore.create(
# engine, embedding_service, table_name, schema_name=, ..., embedding_column=, distance_strategy=)`` reads.
_V2_INIT = re.compile(r"""\ba?init_vectorstore_table\s*\(""")
_V2_STORE = re.compile(r"""\bPGVectorStore\s*\.\s*create(?:_sync)?\s*\(""")


def _v2_arg(args: str, key: str, position: int) -> str | None:
    """A v2 call's argument by keyword, else at its position (-1: keyword-only)."""
    parts = [a for _, a in split_args(args)]
    given = next((a[m.end():].strip() for a in parts if (m := re.match(rf"{key}\s*=(?!=)", a))), None)
    positional = _positional(args)
    return given if given is not None or position < 0 else (
        positional[position].strip() if len(positional) > position else None)


def _v2_name(text: str, token: str | None, default: str | None) -> str | None:
    """A table, schema or column name a v2 call gives: its literal, a constant of the file that is one, ``{expr}``
    for a name computed in code; ``default`` where the call leaves it out."""
    if token is None:
        return default
    lit = re.fullmatch(r"""[rRuU]?['"]([^'"]+)['"]""", token)
    rhs = None if lit else constant(text, token.split(".")[-1])
    lit = lit or (re.fullmatch(r"""[rRuU]?['"]([^'"]+)['"]""", rhs.strip()) if rhs else None)
    return lit.group(1) if lit else ("{" + token + "}" if re.fullmatch(r"[\w.]+", token) else None)


def _langchain_v2_tables(rel: str, text: str) -> list[VectorDeclaration]:
    """The tables langchain_postgres v2's ``init_vectorstore_table`` creates (``embedding vector(vector_size)``),
    each searched by the distance of the file's ``PGVectorStore.create`` over the same table (cosine unless it says
    another); unknown where no store here reads it. A call in a docstring is an example."""
    stores: dict[tuple[str | None, str | None], str | None] = {}
    for m in _V2_STORE.finditer(text):
        args = call_args(text, m.end() - 1)
        where = (_v2_name(text, _v2_arg(args, "schema_name", 3), "public"), _v2_name(text, _v2_arg(args, "table_name", 2), None))
        strategy = re.search(r"""\bdistance_strategy\s*=\s*(?:[\w.]*\.)?['"]?(?P<v>\w+)""", args)
        stores[where] = _LANGCHAIN_DISTANCES.get(strategy.group("v").lower() if strategy else "cosine")
    out = []
    docs = py_docstrings(text)
    for m in _V2_INIT.finditer(text):
        if re.search(r"\bdef\s+$", text[max(0, m.start() - 40):m.start()]) or any(a <= m.start() < b for a, b in docs):
            continue  # the library's own definition, or an example in a docstring
        args = call_args(text, m.end() - 1)
        table = _v2_name(text, _v2_arg(args, "table_name", 0), None)
        schema = _v2_name(text, _v2_arg(args, "schema_name", -1), "public")
        size = _v2_arg(args, "vector_size", 1)
        column = _v2_name(text, _v2_arg(args, "embedding_column", -1), "embedding")
        out.append(VectorDeclaration(rel, line_of(text, m.start()), int_value(text, size) if size else None, "langchain",
                                     f"{schema}.{table}" if table and schema and schema != "public" else table, column,
                                     distance=stores.get((schema, table))))
    return out


_HAYSTACK_STORE = re.compile(r"\bPgvectorDocumentStore\s*\(")
_HAYSTACK_IMPORT = re.compile(r"(?m)^\s*from\s+haystack_integrations\.document_stores\.pgvector\s+import\b[^\n]*\bPgvectorDocumentStore\b")
# Haystack's vector_function values as profile distances (the store's HNSW operator class follows it).
_HAYSTACK_DISTANCES = {"cosine_similarity": "cosine", "inner_product": "ip", "l2_distance": "l2"}


def _keyword_literal(args: str, text: str = "") -> Callable[[str, str], str | None]:
    """The string a keyword argument of ``args`` is (a literal, or a constant of ``text`` that is one), the default
    given where the keyword is left out, None where its value is not known here (read from the environment)."""
    def literal(key: str, default: str) -> str | None:
        given = next((a[m.end():].strip() for _, a in split_args(args) if (m := re.match(rf"{key}\s*=(?!=)", a))), None)
        if given is None:
            return default
        if re.fullmatch(r"[A-Za-z_][\w.]*", given):
            given = constant(text, given.split(".")[-1]) or ""
        found = re.fullmatch(r"""[rRuU]?(?P<q>['"])(?P<v>[^'"]+)(?P=q)""", given.strip())
        return found.group("v") if found else None
    return literal


def _haystack_stores(rel: str, text: str) -> list[VectorDeclaration]:
    """Haystack's ``PgvectorDocumentStore(...)``: it creates ``{schema_name}.{table_name}`` (``haystack_documents``)
    with ``embedding vector(embedding_dimension)`` (768), searched by ``vector_function`` (cosine_similarity); a
    constructor in a docstring is an example."""
    if not _HAYSTACK_IMPORT.search(text):
        return []
    docs = py_docstrings(text)
    out = []
    for m in _HAYSTACK_STORE.finditer(text):
        if any(a <= m.start() < b for a, b in docs):
            continue
        args = call_args(text, m.end() - 1)
        literal = _keyword_literal(args, text)
        dims = re.search(r"\bembedding_dimension\s*=\s*(?P<v>[^,)\n]+)", args)
        width = (int_value(text, dims.group("v").strip()) if dims else 768)
        table, schema = literal("table_name", "haystack_documents"), literal("schema_name", "public")
        function = literal("vector_function", "cosine_similarity")
        out.append(VectorDeclaration(rel, line_of(text, m.start()), width, "haystack",
                                     None if table is None or schema is None else
                                     table if schema == "public" else f"{schema}.{table}",
                                     "embedding", type=literal("vector_type", "vector") or "vector",
                                     distance=_HAYSTACK_DISTANCES.get(function) if function else None))
    return out


_MASTRA_IMPORT = re.compile(r"""\bimport\s+\{[^}]*\bPgVector\b[^}]*\}\s*from\s+['"]@mastra/(?:pg|rag|vector-pg)['"]""")
_MASTRA_STORE = re.compile(r"\bnew\s+PgVector\s*\(")
_MASTRA_REGISTRY = re.compile(r"\.\s*getVector\s*\(")
_MASTRA_CREATE = re.compile(r"\.\s*createIndex\s*\(")
# Mastra's metric names as profile distances (its index's operator class follows the metric).
_MASTRA_DISTANCES = {"cosine": "cosine", "euclidean": "l2", "dotproduct": "ip"}


def makes_mastra_pgvector(text: str) -> bool:
    """Whether a JS/TS file imports Mastra's ``PgVector``."""
    return bool(_MASTRA_IMPORT.search(text))


def _mastra_stores(rel: str, text: str) -> list[VectorDeclaration]:
    """Mastra's ``PgVector`` (``@mastra/pg``; ``@mastra/rag`` at first): each ``createIndex({ indexName, dimension,
    metric })`` (at first ``createIndex(name, dimension, metric)``) creates ``indexName`` in the store's
    ``schemaName`` with ``embedding vector(dimension)``, searched by ``metric`` (cosine unless given); in a file that
    reaches its store by name (``mastra.getVector('pgVector')``), each is ``through_registry``."""
    registry = not _MASTRA_IMPORT.search(text)
    if registry and not _MASTRA_REGISTRY.search(text):
        return []
    schemas = set()
    for m in _MASTRA_STORE.finditer(text):
        config = _config_object(text, call_args(text, m.end() - 1))
        schemas.add(_js_name(text, config, "schemaName") if config else None)
    schema = schemas.pop() if len(schemas) == 1 else None
    out = []
    for m in _MASTRA_CREATE.finditer(text):
        args = call_args(text, m.end() - 1)
        if args.lstrip().startswith("{"):
            config = _config_object(text, args)
            name = _js_name(text, config, "indexName")
            if name is None and re.search(r"(?<![\w$.])indexName\s*[,}]", config + "}"):  # shorthand `{ indexName }`
                name = _js_name(text, "indexName: indexName", "indexName")
            dims = re.search(r"(?<![\w$])dimension\s*:\s*(?P<v>[^,}\n]+)", config)
            width = int_value(text, dims.group("v")) if dims else None
            metric = _js_name(text, config, "metric")
        else:
            positional = [a.strip() for _, a in split_args(args)]
            name = _js_name(text, f"n: {positional[0]}", "n") if positional else None
            width = int_value(text, positional[1]) if len(positional) > 1 else None
            metric = _js_name(text, f"m: {positional[2]}", "m") if len(positional) > 2 else None
        if name is None:
            continue
        table = f"{schema}.{name}" if schema and schema != "public" else name
        out.append(VectorDeclaration(rel, line_of(text, m.start()), width, "mastra", table, "embedding",
                                     distance=_MASTRA_DISTANCES.get(metric or "cosine"), through_registry=registry))
    return out


def _sql(rel: str, text: str, covered: set[int], *, strict: bool) -> list[VectorDeclaration]:
    out = []
    # SQL in a string literal (JSON, code) escapes its quotes and newlines: `\nCREATE TABLE IF NOT EXISTS
    # \"embeddings\"` would otherwise name table "IF" (or none: `nCREATE` is no word). Escapes become blanks and
    # backslashes go, never adding or removing a newline, so every match keeps its line.
    text = _ESCAPE.sub("  ", text).replace('\\"', '"')
    index = _Statements(text)
    near = _near_type_words(text)
    for m in _finditer_in(_SQL_TYPE, text, near):
        line = line_of(text, m.start("type"))
        if line in covered:
            continue
        # In code, only lower-case SQL `vector(N)` / upper-case `VECTOR(N)` count; `Vector(N)` is pgvector-python's.
        word = m.group("type")
        if strict and not (word.islower() or word.isupper()):
            continue
        col = _unquote(m.group("col")) if m.group("col") else None
        if col and col.lower() in _SQL_WORDS:
            col = _column_before_alter(text, m.start())
        if _in_index_statement(text, m.start()):
            continue  # an index's expression (`USING hnsw ((embedding::halfvec(384)) ...)`) declares no column
        tables = index.tables_before(m.start())
        routine = index.routine_before(m.start())
        if routine is not None and (not tables or routine > tables[-1].start()):
            continue
        # a word for the width (LightRAG's `VECTOR(dimension)`, replaced before the DDL runs) is one interpolated
        interpolated = next((m.group(g) for g in ("js", "py", "word") if m.group(g) is not None), None)
        if interpolated is not None and strict:
            # in code, the statement it is part of: its own, or the one its variable is interpolated into
            # (R2R's `vector_col = f"vec vector({self.dimension})"`, then `CREATE TABLE ... ({vector_col}, ...)`)
            tables = _statement_table(text, m.start(), index) or _table_of_interpolated(text, m.start(), m.end(), index)
        if interpolated is not None and not (strict and tables):
            continue  # an interpolated dimension counts only in code, inside a CREATE/ALTER TABLE statement
        table = _unquote(tables[-1].group("t")) if tables else None
        if table is None and col is None and (written := _written_by_update(text, m.start("type"))):
            table, col = written  # a cast in `UPDATE "Document" SET "vector" = $1::vector(512)`: the column it writes
        formatted = _format_arguments(text, m.end()) if strict and tables else None
        if formatted is not None and table is not None and re.fullmatch(r"\{\w*\}", table):
            # sql.SQL("CREATE TABLE {} (...)").format(...) / str.format: the name is one of format()'s arguments
            table = _format_name(text, _placeholder(text, tables[-1].start("t"), table[1:-1], formatted))
        elif table is not None and (computed := _INTERPOLATED.match(table)):
            table = _computed_name(text, computed.group("e")) or _format_name(text, computed.group("e"))
        dims: int | None
        if m.group("n"):
            dims = int(m.group("n"))
        elif formatted is not None and m.group("py") is not None:
            value = _placeholder(text, m.start("py") - 1, m.group("py"), formatted, tables[-1].start("t"))
            dims = int_value(text, _unwrap(value)) if value else None
        else:
            dims = int_value(text, interpolated) if interpolated is not None else None
        covered.add(line)
        out.append(VectorDeclaration(rel, line, dims, "sql", table, col, word.lower()))
    return out + _sql_untyped(rel, text, covered, index, near)


_CREATE_INDEX = re.compile(r"(?i)\bCREATE\s+(?:UNIQUE\s+)?INDEX\b")


def _in_index_statement(text: str, at: int) -> bool:
    """Whether ``at`` is inside a CREATE INDEX statement: after one, with no semicolon nor CREATE/ALTER TABLE between
    (in code, statements in separate strings need no semicolon)."""
    start = text.rfind(";", 0, at) + 1
    last = max((m.end() for m in _CREATE_INDEX.finditer(text, start, at)), default=None)
    return last is not None and not _SQL_TABLE.search(text, last, at)


_TYPE_WORD = re.compile(r"(?i)\b(?:vector|halfvec|sparsevec)\b")


def _near_type_words(text: str, before: int = 200, after: int = 400) -> list[tuple[int, int]]:
    """The stretches of ``text`` around its vector type words, whole lines, merged where they meet. A declaration
    is within them, so the declaration patterns (which begin with an optional column name, and so are tried at
    every character) need not scan the rest: a locale file of 300 kB mentioning "vector" took 0.25 s, and a
    monorepo hundreds of them."""
    spans: list[tuple[int, int]] = []
    for hit in _type_words(text):
        lo = text.rfind("\n", 0, max(0, hit.start() - before)) + 1
        hi = text.find("\n", min(len(text), hit.end() + after))
        hi = len(text) if hi < 0 else hi
        if spans and lo <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], hi))
        else:
            spans.append((lo, hi))
    return spans


def _type_words(text: str) -> Iterator[re.Match]:
    """``_TYPE_WORD.finditer(text)``, tried only where the lower-cased text has one of its words (the case-insensitive
    pattern scans every character, slowly); the three words never overlap, nor start alike."""
    low = folded(text)
    if low is None:
        yield from _TYPE_WORD.finditer(text)
        return
    starts: list[int] = []
    for word in ("vector", "halfvec", "sparsevec"):
        at = low.find(word)
        while at >= 0:
            starts.append(at)
            at = low.find(word, at + 1)
    for at in sorted(starts):
        if hit := _TYPE_WORD.match(text, at):  # \b looks at the character before ``at`` too
            yield hit


def _finditer_in(pattern: re.Pattern, text: str, spans: list[tuple[int, int]]) -> Iterator[re.Match]:
    for lo, hi in spans:
        yield from pattern.finditer(text, lo, hi)


class _Statements:
    """Where one text's CREATE/ALTER TABLE statements and routines begin, found once: each vector type looked back
    for them from the text's start, quadratic in a long file (locate took 10 s on lobe-chat's migrations)."""

    def __init__(self, text: str):
        self._text = text

    @functools.cached_property
    def _tables(self) -> tuple[list[re.Match], list[int]]:
        tables = list(finditer_folded_at(_SQL_TABLE, self._text, "create", "alter"))
        return tables, [t.end() for t in tables]

    @functools.cached_property
    def _routines(self) -> tuple[list[int], list[int]]:
        routines = list(finditer_folded_at(_SQL_ROUTINE, self._text, "create"))
        return [r.start() for r in routines], [r.end() for r in routines]

    def tables_before(self, pos: int) -> list[re.Match]:
        """The last CREATE/ALTER TABLE ending before ``pos`` (as a list of none or one)."""
        tables, ends = self._tables
        i = bisect.bisect_right(ends, pos)
        return tables[i - 1:i] if i else []

    def routine_before(self, pos: int) -> int | None:
        """Where the last CREATE FUNCTION/PROCEDURE ending before ``pos`` begins."""
        starts, ends = self._routines
        i = bisect.bisect_right(ends, pos)
        return starts[i - 1] if i else None


def _sql_untyped(rel: str, text: str, covered: set[int], index: _Statements | None = None,
                 near: list[tuple[int, int]] | None = None) -> list[VectorDeclaration]:
    """Columns declared ``vector`` with no width inside the CREATE/ALTER TABLE statement they belong to (a routine's
    parameter, a word in prose, belongs to none): dimension unknown."""
    out = []
    index = index or _Statements(text)
    near = _near_type_words(text) if near is None else near
    for m in sorted([*_finditer_in(_SQL_UNTYPED, text, near), *_finditer_in(_SQL_ALTER_UNTYPED, text, near)],
                    key=lambda m: m.start()):
        line = line_of(text, m.start("type"))
        col = _unquote(m.group("col")) or ""
        if line in covered or col.lower() in _SQL_WORDS:
            continue
        tables = _statement_table(text, m.start(), index)
        routine = index.routine_before(m.start())
        if not tables or routine is not None and routine > tables[-1].start():
            continue
        table = _unquote(tables[-1].group("t"))
        if table is not None and (computed := _INTERPOLATED.match(table)):
            table = _computed_name(text, computed.group("e")) or _format_name(text, computed.group("e"))
        covered.add(line)
        out.append(VectorDeclaration(rel, line, None, "sql", table, col, m.group("type").lower()))
    return out


_STATEMENT_END = re.compile(r";|\"\"\"|\'\'\'|`")
_ASSIGNED_STRING = re.compile(r"(?P<name>[A-Za-z_]\w*)\s*=\s*[rfbu]*[\"']$")


def _statement_table(text: str, pos: int, index: _Statements | None = None) -> list[re.Match]:
    """The CREATE/ALTER TABLE whose statement ``pos`` is in (no `;` or string end between them), or none: a later
    query's cast (`$1::vector({dims})` in a SELECT) belongs to no table declared before it."""
    tables = (index or _Statements(text)).tables_before(pos)
    return tables[-1:] if tables and not _STATEMENT_END.search(text, tables[-1].end(), pos) else []


def _table_of_interpolated(text: str, start: int, end: int, index: _Statements | None = None) -> list[re.Match]:
    """For a column declaration held in a string variable (``NAME = f"col vector({d})"``): the CREATE TABLE
    statement ``{NAME}`` is interpolated into, or none."""
    line_start = text.rfind("\n", 0, start) + 1
    head = text[line_start:start].lstrip(" \t")
    quote = re.search(r"[\"']", head)
    assigned = _ASSIGNED_STRING.search(head[:quote.end()]) if quote else None
    if assigned is None:
        return []
    use = re.search(r"\{\s*" + re.escape(assigned.group("name")) + r"\s*\}", text[end:])
    return _statement_table(text, end + use.start(), index) if use else []


_ESCAPE = re.compile(r"\\[ntr]")
_JSON_VECTOR_TYPE = re.compile(r'"type"\s*:\s*"(?:vector|halfvec|sparsevec)\(\d+\)"')
_VECTOR_TYPE = re.compile(r"(?P<type>vector|halfvec|sparsevec)\((?P<n>\d+)\)")


def _json_schema(rel: str, text: str, covered: set[int]) -> list[VectorDeclaration]:
    """Columns typed `vector(N)` in a JSON schema document (drizzle-kit's snapshots: tables with `name`, `schema`
    and `columns`, each column with `name` and `type`; drizzle-kit 1.0's flat `ddl` list, each column an entity with
    its `table` and `schema`), named by their table and column."""
    try:
        doc = json.loads(text)
    except ValueError:
        return []
    typed: list[tuple[str | None, str | None, str, int]] = []

    def walk(node, table: str | None, key: str | None) -> None:
        if isinstance(node, dict):
            name = node.get("name") if isinstance(node.get("name"), str) else None
            owner = name if isinstance(node.get("columns"), (dict, list)) else node.get("table") \
                if node.get("entityType") == "columns" else None
            if owner and isinstance(owner, str):
                schema = node.get("schema")
                table = f"{schema}.{owner}" if isinstance(schema, str) and schema not in ("", "public") else owner
            m = _VECTOR_TYPE.fullmatch(node["type"]) if isinstance(node.get("type"), str) else None
            if m:
                typed.append((table, name or key, m.group("type"), int(m.group("n"))))
            for k, v in node.items():
                walk(v, table, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, table, key)

    walk(doc, None, None)
    at = [line_of(text, m.start()) for m in _JSON_VECTOR_TYPE.finditer(text)]
    covered.update(at)  # read here, table and column named: never again as SQL with neither
    if len(at) != len(typed):  # a key order the text does not follow: the lines cannot be paired
        at = [1] * len(typed)
    return [VectorDeclaration(rel, line, n, "json", table, column, kind)
            for line, (table, column, kind, n) in zip(at, typed) if table and column]


# The end of a string literal composed by psycopg's ``sql.SQL(...).format(...)`` or ``str.format(...)``.
_FORMAT_CALL = re.compile(r"""(?:'''|\"\"\"|['"])\s*\)?\s*\.format\(""")
_WRAPPED = re.compile(r"""^(?:[\w.]*\.)?(?:Identifier|Literal|SQL|str|int)\((?P<e>.*)\)$""", re.S)


def _format_arguments(text: str, at: int) -> tuple[list[str], dict[str, str]] | None:
    """format()'s positional and keyword arguments, when the string around ``at`` ends in ``.format(...)``."""
    m = _FORMAT_CALL.search(text, at, at + 1500)
    if m is None:
        return None
    positional: list[str] = []
    named: dict[str, str] = {}
    for _, arg in split_args(call_args(text, m.end() - 1)):
        kw = re.match(r"\s*(\w+)\s*=(?!=)\s*(?P<v>.*)$", arg, re.S)
        if kw:
            named[kw.group(1)] = kw.group("v").strip()
        else:
            positional.append(arg.strip())
    return positional, named


def _placeholder(text: str, at: int, field: str, formatted: tuple[list[str], dict[str, str]],
                 start: int | None = None) -> str | None:
    """The argument a ``{}`` / ``{0}`` / ``{name}`` placeholder at ``at`` takes; ``{}`` counts the bare
    placeholders from the statement's start (``start``, else ``at`` itself: the first)."""
    positional, named = formatted
    if field and not field.isdigit():
        return named.get(field)
    index = int(field) if field else text.count("{}", start, at) if start is not None else 0
    return positional[index] if index < len(positional) else None


def _unwrap(expression: str) -> str:
    """``sql.Identifier(x)``, ``sql.Literal(x)``, ``str(x)``: ``x``."""
    expression = expression.strip()
    while (m := _WRAPPED.match(expression)) and m.group("e").strip():
        expression = m.group("e").strip()
    return expression


def _format_name(text: str, expression: str | None) -> str | None:
    """The table name a format() argument gives: a literal, the literal or attribute a method of the file returns
    (mem0's ``self._col()`` returns ``sql.Identifier(self.collection_name)``), else the expression in braces."""
    if not expression:
        return None
    value = _unwrap(expression)
    called = re.fullmatch(r"(?:self\.|this\.)?(?P<f>[A-Za-z_]\w*)\(\s*\)", value)
    if called and (returned := _returns(text, called.group("f"))):
        value = _unwrap(returned[0])
    quoted = re.fullmatch(r"[A-Za-z_][\w.]*\(\s*(?P<e>(?:self\.|this\.)[\w.]+)\s*\)", value)
    if quoted:  # a quoting helper given the name (escapeIdentifier(this.collectionName)): the name
        value = quoted.group("e")
    lit = re.fullmatch(r"""['"]([^'"]+)['"]""", value)
    if lit:
        return lit.group(1)
    return _computed_name(text, value) or ("{" + value + "}" if re.fullmatch(r"[\w.]+", value) else None)


def _returns(text: str, name: str) -> list[str]:
    """What a method or function of the file named ``name`` returns (Python, JS, TS with a return type), then the
    right-hand side of a constant of that name."""
    body = re.search(rf"\b{re.escape(name)}\s*\([^)]*\)\s*(?:(?::\s*[\w<>\[\]|. ]+?\s*)?\{{(?P<js>[^{{}}]*)\}}|(?:->[^:]+)?:[ \t]*\n(?P<py>(?:(?![ \t]*(?:async\s+)?def\b)[ \t]+[^\n]*\n)+))", text)
    out = []
    if body:
        block = body.group("js") or body.group("py") or ""
        out += [r.group(1).strip() for r in re.finditer(r"\breturn\s+([^\n;]+)", block)]
    rhs = constant(text, name)
    if rhs:
        out.append(rhs)
    return out


def _computed_name(text: str, expression: str) -> str | None:
    """The table name an interpolated expression gives by default (the literal its method or constant returns
    beside an env read), or None when the file does not say."""
    m = re.search(r"([A-Za-z_]\w*)\s*(?:\(\s*\))?$", expression.strip())
    if not m:
        return None
    for expr in _returns(text, m.group(1)):
        d = _NAME_DEFAULT.search(expr)
        if d:
            return d.group("a") or d.group("b") or d.group("c") or d.group("d")
    return None


_SQL_UPDATE_SET = re.compile(rf"(?is)\bUPDATE\s+(?:ONLY\s+)?(?P<t>{_QUALIFIED})\s+SET\b[^;]*$")
_SQL_ASSIGNED = re.compile(rf"(?s)(?P<c>{_IDENT})\s*=\s*[^,;=()]*::\s*$")


def _written_by_update(text: str, pos: int) -> tuple[str | None, str | None] | None:
    """(table, column) an ``UPDATE t SET c = <value>::vector(N)`` writes, for the cast at ``pos``; None otherwise."""
    before = text[max(0, pos - 600):pos]
    update, assigned = _SQL_UPDATE_SET.search(before), _SQL_ASSIGNED.search(before)
    if update is None or assigned is None or assigned.start() < update.end("t"):
        return None
    return _unquote(update.group("t")), _unquote(assigned.group("c"))


def _column_before_alter(text: str, pos: int) -> str | None:
    m = re.search(rf"(?is)ALTER\s+COLUMN\s+(?P<c>{_IDENT})\s+(?:SET\s+DATA\s+)?TYPE\s*$", text[max(0, pos - 200):pos + 5])
    return _unquote(m.group("c")) if m else None


def _drizzle(rel: str, text: str, covered: set[int]) -> list[VectorDeclaration]:
    out = []
    tables = drizzle_tables(text)
    custom: dict[str, tuple[int | None, str]] = {}
    # each pattern below begins with an optional name, so is tried at every character: not where its word is absent
    for m in _CUSTOM_TYPE.finditer(text) if "customType" in text else ():
        body = call_args(text, text.find("(", m.end()) if text.find("(", m.end()) >= 0 else m.end())
        t = re.search(r"(?i)\b(vector|halfvec|sparsevec)\s*\(\s*(\d+)\s*\)", body)
        is_vector = t or re.search(r"(?i)\bvector\b|halfvec", body)
        if is_vector:
            custom[m.group("name")] = (int(t.group(2)) if t else None, (t.group(1) if t else "vector").lower())
            covered.update(range(line_of(text, m.start()), line_of(text, m.start() + len(body)) + 2))
    names = "|".join(map(re.escape, custom))
    used: set[str] = set()
    if names:
        usage = re.compile(rf"""(?:(?P<prop>[A-Za-z_]\w*)\s*:\s*)?\b(?P<fn>{names})\s*\(\s*(?P<q>['"])(?P<col>[^'"]+)(?P=q)""")
        for m in usage.finditer(text):
            dims, kind = custom[m.group("fn")]
            args = call_args(text, text.find("(", m.start("fn")))
            d = _DIMS_KW.search(args)
            if d:
                dims = int_value(text, d.group("v")) or dims
            line = line_of(text, m.start())
            covered.add(line)
            used.add(m.group("fn"))
            out.append(VectorDeclaration(rel, line, dims, "drizzle-customType", _last(tables, m.start()),
                                         m.group("col"), kind))
    for name, (dims, kind) in custom.items():
        if name not in used:
            at = text.find(name)
            out.append(VectorDeclaration(rel, line_of(text, at), dims, "drizzle-customType", None, None, kind))
    for m in _DRIZZLE.finditer(text) if _DRIZZLE_HINT.search(text) else ():
        if m.group("type") in custom:
            continue
        args = call_args(text, text.find("(", m.start("type")))
        rest = args.split(",", 1)[1] if "," in args else ""
        d = _DIMS_KW.search(rest)
        token = d.group("v") if d else rest.strip().rstrip(",").strip()
        dims = int_value(text, token) if token else None
        line = line_of(text, m.start("type"))
        covered.add(line)
        kind = "knex" if re.search(r"\bknex\b|\.schema\.", text) and not re.search(r"drizzle-orm", text) else "drizzle"
        out.append(VectorDeclaration(rel, line, dims, kind, _last(tables, m.start()), m.group("col"), m.group("type")))
    return out


# `@Entity("chunks")` or `@Entity({ name: "chunks" })` on a class, other class decorators (`@Index(...)`, `@Unique`)
# maybe between them (their arguments with one level of parentheses: `{ where: "(x IS NOT NULL)" }`). Neither the
# arguments nor the decorators run on into another @Entity: tried from each, they ran over every one after it.
_TYPEORM_ENTITY = re.compile(r"""@Entity\(\s*(?:['"`](?P<a>[^'"`]+)['"`]|\{[^{}()]*?\bname\s*:\s*['"`](?P<b>[^'"`]+)['"`])?"""
                             r"""[^()]*\)(?:\s*@(?!Entity\b)[\w$.]+(?:\((?:[^()]|\([^()]*\))*\))?)*\s*"""
                             r"""(?:export\s+)?(?:default\s+)?(?:abstract\s+)?class\s+(?P<c>[\w$]+)""")


def _typeorm_table(entity: re.Match) -> str:
    """An ``@Entity`` class's table: the name it is given, else TypeORM's default naming (``snakeCase(className)``)."""
    given = entity.group("a") or entity.group("b")
    if given:
        return given
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", re.sub(r"([A-Z])([A-Z])([a-z])", r"\1_\2\3", entity.group("c"))).lower()


def typeorm_entity_tables(text: str) -> dict[str, str]:
    """The TypeORM entity classes of a TS/JS file with their tables, for ``distances.with_model_tables`` and the ORM
    writes' handles."""
    return {e.group("c"): _typeorm_table(e) for e in _TYPEORM_ENTITY.finditer(text)}


def _typeorm(rel: str, text: str, covered: set[int]) -> list[VectorDeclaration]:
    out = []
    for m in _TYPEORM.finditer(text):
        args = call_args(text, m.end() - 1)
        t = re.search(r"""(?:^\s*|type\s*:\s*)['"](?P<type>vector|halfvec|sparsevec)['"]""", args)
        if not t:
            continue
        d = _DIMS_KW.search(args)
        dims = int_value(text, d.group("v")) if d else None
        sql = re.search(r"(?:vector|halfvec)\((\d+)\)", args)
        if dims is None and sql:
            dims = int(sql.group(1))
        after = text[m.end() + len(args): m.end() + len(args) + 200]
        prop = re.search(r"\)\s*(?:@\w+\([^)]*\)\s*)*(?:public\s+|readonly\s+)*(?P<p>[A-Za-z_]\w*)\s*[!?]?\s*:", after)
        name = re.search(r"""name\s*:\s*['"](?P<n>[^'"]+)['"]""", args)
        entities = list(_TYPEORM_ENTITY.finditer(text, 0, m.start()))
        table = _typeorm_table(entities[-1]) if entities else None
        line = line_of(text, m.start())
        covered.update({line, line_of(text, m.end() + len(args))})
        out.append(VectorDeclaration(rel, line, dims, "typeorm", table,
                                     name.group("n") if name else (prop.group("p") if prop else None), t.group("type")))
    return out


# Doctrine ORM's mapping, as PHP 8 attributes (`#[ORM\Column(type: 'vector', length: 768)]`) or docblock annotations
# (`@ORM\Column(type="vector", length=768)`); the dimension as pgvector-php's `length`, or `precision`/`dimensions`.
_DOCTRINE_COLUMN = re.compile(r"(?:#\[|@)\s*ORM\\Column\s*\(")
_DOCTRINE_TABLE = re.compile(r"(?:#\[|@)\s*ORM\\Table\s*\(")
_DOCTRINE_CLASS = re.compile(r"\bclass\s+(?P<c>\w+)")
_DOCTRINE_ARG = r"""\b{}\s*[:=]\s*(?:(['"])(?P<s>[^'"]+)\1|(?P<n>\d+))"""


def _doctrine_arg(args: str, *names: str) -> str | None:
    for name in names:
        if m := re.search(_DOCTRINE_ARG.format(name), args):
            return m.group("s") or m.group("n")
    return None


def _doctrine(rel: str, text: str, covered: set[int]) -> list[VectorDeclaration]:
    """Doctrine entity properties mapped to a vector column: the table its ``ORM\\Table`` names (with its schema),
    else the class's name as Symfony's underscore naming strategy makes it; the column its ``name``, else the
    property's, so made."""
    out = []
    for m in _DOCTRINE_COLUMN.finditer(text):
        args = call_args(text, m.end() - 1)
        kind = _doctrine_arg(args, "type")
        if kind not in ("vector", "halfvec"):
            continue
        dims = _doctrine_arg(args, "length", "precision", "dimensions")
        prop = re.search(r"\$(?P<p>\w+)", text[m.end() + len(args): m.end() + len(args) + 300])
        column = _doctrine_arg(args, "name") or (_snake(prop.group("p")) if prop else None)
        classes = list(_DOCTRINE_CLASS.finditer(text, 0, m.start()))
        # the class's own ORM\Table: between the class before it and its declaration
        tables = list(_DOCTRINE_TABLE.finditer(text, classes[-2].end() if len(classes) > 1 else 0,
                                               classes[-1].start() if classes else m.start()))
        table = None
        if tables:
            targs = call_args(text, tables[-1].end() - 1)
            name, schema = _doctrine_arg(targs, "name"), _doctrine_arg(targs, "schema")
            table = f"{schema}.{name}" if schema and name else name
        if table is None and classes:
            table = _snake(classes[-1].group("c"))
        line = line_of(text, m.start())
        covered.add(line)
        out.append(VectorDeclaration(rel, line, int(dims) if dims and dims.isdigit() else None, "doctrine", table,
                                     column, kind))
    return out


def _snake(name: str) -> str:
    """Doctrine's underscore naming strategy: ``publishedAt`` as ``published_at``, ``CourseChunk`` as ``course_chunk``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _knex(rel: str, text: str, covered: set[int]) -> list[VectorDeclaration]:
    out = []
    tables = drizzle_tables(text)
    for m in _KNEX.finditer(text):
        line = line_of(text, m.start())
        covered.add(line)
        dims = int(m.group("n")) if m.group("n") else None
        out.append(VectorDeclaration(rel, line, dims, "knex", _last(tables, m.start()), m.group("col"),
                                     m.group("type")))
    return out


def _sqlalchemy(rel: str, text: str, covered: set[int]) -> list[VectorDeclaration]:
    out: list[VectorDeclaration] = []
    if not re.search(r"pgvector|sqlalchemy|sqlmodel|alembic", text):
        return out
    tables = list(_PY_TABLE.finditer(text))
    aliases = _py_type_aliases(text)
    foreign = _foreign_vector_types(rel, text)
    strings = lex(text, "python")[1]  # `VECTOR(dimension)` in a string is SQL (LightRAG's DDL), no call
    for m in _py_vector_calls(text, aliases):
        if text[max(0, m.start() - 6):m.start()].endswith(("class ", "def ")):
            continue
        if in_strings(m.start(), strings):
            continue
        if (aliases[m.group("alias")] if m.groupdict().get("alias") else m.group("type")) in foreign:
            continue
        if re.search(r"\bexisting_type\s*=\s*(?:[\w.]+\.)?$", text[max(0, m.start() - 40):m.start()]):
            continue  # `op.alter_column(..., existing_type=Vector(768), type_=Vector(1536))`: the type it replaces
        args = call_args(text, m.end() - 1)
        first = args.split(",")[0].strip()
        if re.match(r"(?!dim)\w+\s*=(?!=)", first):
            continue  # pgvector's types take a dimension (dim=) only: `Vector(data=..., type=...)` is the app's own class
        if first.startswith("dim"):
            first = first.split("=", 1)[-1].strip()
        dims = int_value(text, first) if first else None
        line = line_of(text, m.start())
        start = text.rfind("\n", 0, m.start()) + 1
        before = text[start:m.start()]
        col = None
        c = re.search(r"""Column\(\s*['"](?P<c>[^'"]+)['"]\s*,\s*$""", before)
        altered = _ALTERED_COLUMN.search(text[max(0, m.start() - 300):m.start()])
        if c:
            col = c.group("c")
        elif altered:
            col = altered.group("c")
        else:
            c = _PY_COL.search(before) or re.match(r"\s*(?P<col>[A-Za-z_]\w*)\s*(?::[^=\n]+)?=", before)
            col = c.group("col") if c else None
        table = None
        if tables:
            t = [x for x in tables if x.start() < m.start()]
            if t:
                table = (t[-1].group("t") or t[-1].group("t2") or t[-1].group("t3")
                         or (t[-1].group("tv") and "{" + t[-1].group("tv") + "}") or t[-1].group("cls"))
        covered.add(line)
        kind = "alembic" if "alembic" in text or "op.create_table" in text else "sqlalchemy"
        vtype = _PY_TYPES[(aliases[m.group("alias")] if m.groupdict().get("alias") else m.group("type"))[0].upper()]
        source = _imported(text, first) if dims is None and first else None
        tables_of: list[str | None] = [*_concrete_tables(text, m.start())] or [table]
        for name in tables_of:
            out.append(VectorDeclaration(rel, line, dims, kind, name, col, vtype, source))
    return out


# The column an Alembic `op.alter_column("t", "col", type_=Vector(N))` (or `batch_op.alter_column("col", ...)`) gives the
# type that ends the text: no call closed between them
_ALTERED_COLUMN = re.compile(r"""\balter_column\(\s*(?:(?:table_name\s*=\s*)?['"][^'"]+['"]\s*,\s*)?"""
                             r"""(?:column_name\s*=\s*)?['"](?P<c>[^'"]+)['"]\s*,[^()]*(?:\([^()]*\)[^()]*)*?$""")
_PY_CLASS = re.compile(r"(?m)^class\s+(?P<cls>[A-Za-z_]\w*)\s*\((?P<bases>[^)]*)\)\s*:")


def _foreign_vector_types(rel: str, text: str) -> set[str]:
    """Vector type names the file imports from another library than pgvector (LanceDB's ``from lancedb.pydantic
    import Vector``): no Postgres column. A name from the application's own package (the file's top folder, or the
    one below `src/`) may wrap pgvector's; a folder deeper down named after the library (`vector/lancedb/`) is not it."""
    own = set(PurePosixPath(rel).parts[:-1][:2])
    out: set[str] = set()
    for m in _PY_IMPORT.finditer(text):
        top = m.group("mod").split(".")[0]
        if m.group("mod").startswith(".") or top == "pgvector" or top in own:
            continue
        out.update(n for n in _PY_VECTOR_NAME.findall(m.group("names")))
    return out


def _concrete_tables(text: str, pos: int) -> list[str]:
    """The tables of the classes of this file that inherit a column from the abstract class it is declared in
    (``__abstract__ = True``: Letta's BasePassage gives archival_passages and source_passages their vector), else
    none."""
    classes = list(_PY_CLASS.finditer(text))
    owner = [c for c in classes if c.start() < pos]
    if not owner:
        return []
    nxt = next((c.start() for c in classes if c.start() > pos), len(text))
    if not re.search(r"(?m)^\s+__abstract__\s*=\s*True\b", text[owner[-1].end():nxt]):
        return []
    tables, bases = [], {owner[-1].group("cls")}
    for i, c in enumerate(classes):
        if not bases & set(re.findall(r"[A-Za-z_]\w*", c.group("bases"))):
            continue
        body = text[c.end():classes[i + 1].start() if i + 1 < len(classes) else len(text)]
        named = re.search(r"""(?m)^\s+__tablename__\s*=\s*['"](?P<t>[^'"]+)['"]""", body)
        if named:
            tables.append(named.group("t"))
        else:  # abstract in turn: its subclasses get the column too
            bases.add(c.group("cls"))
    return tables


def _imported(text: str, token: str) -> str | None:
    """``module.NAME`` where the file imports the name ``token`` (or its first part) from a module of the repository."""
    name = token.strip().split(".")[-1]
    if not re.fullmatch(r"[A-Za-z_]\w*", name):
        return None
    m = re.search(r"(?m)^\s*from\s+(?P<mod>[\w.]+)\s+import\s+(?:\(\s*)?(?:[\w\s,]*,\s*)?" + re.escape(name) + r"\b", text)
    return f"{m.group('mod')}.{name}" if m and not m.group("mod").startswith(".") else None


def with_yaml_settings(decls: list[VectorDeclaration], files: SettingsFiles) -> list[VectorDeclaration]:
    """Declarations whose dimension or table schema is an attribute of a settings object, with the value the
    repository's YAML files give it (else its settings class's default)."""
    out = []
    for d in decls:
        if d.dimensions is None and d.dims_setting:
            dims, _env = files.value(d.dims_setting)
            d = replace(d, dimensions=int(dims) if dims and dims.isdigit() else None)
        if d.schema_setting and d.table and "." not in d.table:
            schema, _env = files.value(d.schema_setting)
            if schema and schema.lower() != "public":  # LlamaIndex lower-cases it
                d = replace(d, table=f"{schema.lower()}.{d.table}")
        out.append(d)
    return out


def with_imported_dimensions(decls: list[VectorDeclaration], read: Callable[[str], str | None]) -> list[VectorDeclaration]:
    """Declarations whose dimension is a constant of another module of the repository, with that constant's value
    (``read`` gives a repository file's text, or None)."""
    out = []
    for d in decls:
        if d.dimensions is None and d.dims_from:
            module, name = d.dims_from.rsplit(".", 1)
            path = module.replace(".", "/")
            for candidate in (f"{path}.py", f"{path}/__init__.py", f"src/{path}.py", f"src/{path}/__init__.py"):
                text = read(candidate)
                value = int_value(text, name) if text is not None else None
                if value is not None:
                    d = replace(d, dimensions=value)
                    break
        out.append(d)
    return out


_PY_TYPES = {"V": "vector", "H": "halfvec", "S": "sparsevec"}
# A module-level name for a pgvector type, chosen once: `VECTOR_TYPE = HALFVEC if USE_HALFVEC else Vector`.
_PY_TYPE_ALIAS = re.compile(r"(?m)^(?P<name>[A-Za-z_]\w*)\s*=\s*(?P<rhs>[^\n(]*\b(?:Vector|VECTOR|HALFVEC|HalfVector|SPARSEVEC|SparseVector)\b[^\n(]*)$")


def _py_type_aliases(text: str) -> dict[str, str]:
    """Names bound to a pgvector type (the type the last branch names: a conditional's default)."""
    out = {}
    for m in _PY_TYPE_ALIAS.finditer(text):
        names = _PY_VECTOR_NAME.findall(m.group("rhs"))
        if names:
            out[m.group("name")] = names[-1]
    return out


_PY_VECTOR_NAME = re.compile(r"\b(Vector|VECTOR|HALFVEC|HalfVector|SPARSEVEC|SparseVector)\b")


def _py_vector_calls(text: str, aliases: dict[str, str]) -> list[re.Match]:
    """Every pgvector type called in the text, directly or through a module-level alias of one."""
    if not aliases:
        return list(_PY_VECTOR.finditer(text))
    names = "|".join(map(re.escape, sorted(aliases)))
    either = re.compile(rf"\b(?:(?P<type>Vector|VECTOR|HALFVEC|HalfVector|SPARSEVEC|SparseVector)|(?P<alias>{names}))\s*\(")
    return list(either.finditer(text))


def _django(rel: str, text: str, covered: set[int]) -> list[VectorDeclaration]:
    if "VectorField" not in text:  # in each of _DJANGO's types; the pattern is tried at every character of a file
        return []
    out = []
    models = _django_models(rel, text)
    ops = list(_DJANGO_OP_MODEL.finditer(text))
    tables = django_tables(rel, text)
    for m in _DJANGO.finditer(text):
        args = call_args(text, m.end() - 1)
        d = re.search(r"\bdimensions\s*=\s*(?P<v>[\w.]+)", args) or re.match(r"\s*(?P<v>\d+)", args)
        dims = int_value(text, d.group("v")) if d else None
        table = _django_table_at(rel, m.start(), models, ops)
        table = tables.get(table, table) if table else None
        col = m.group("col") or m.group("tcol")
        if col == "field":  # migrations.AddField(model_name=..., name="col", field=VectorField(...))
            named = re.findall(r"""\bname\s*=\s*['"]([^'"]+)['"]""", text[max(0, m.start() - 300):m.start()])
            col = named[-1] if named else None
        line = line_of(text, m.start())
        covered.add(line)
        vtype = {"V": "vector", "H": "halfvec", "S": "sparsevec"}[m.group("type")[0]]
        out.append(VectorDeclaration(rel, line, dims, "django", table, col, vtype))
    return out


def django_table_at(rel: str, text: str, pos: int) -> str | None:
    """The table of the Django model whose class (or whose migration operation) holds ``pos`` in a models or
    migrations module (its default name: ``with_django_tables`` renames it)."""
    return _django_table_at(rel, pos, _django_models(rel, text), list(_DJANGO_OP_MODEL.finditer(text)))


def _django_table_at(rel: str, pos: int, models: list[tuple[int, int, str]], ops: list[re.Match]) -> str | None:
    table = next((t for start, end, t in models if start < pos < end), None)
    if table is None:  # a migration: the model the operation names, in this file's app
        op = [x for x in ops if x.start() < pos]
        model = (op[-1].group("m") or op[-1].group("m2")) if op else None
        table = _django_default_table(rel, model) if model else None
    return table


def _django_app(rel: str) -> str:
    """The app label Django gives a module's models by default: its app folder (above models/ or migrations/)."""
    parent = PurePosixPath(rel).parent
    return (parent.parent if parent.name in ("migrations", "models") else parent).name


def django_default_table(rel: str, model: str, app_label: str | None = None) -> str:
    """Django's table for a model of the app this module belongs to: ``<app_label>_<model>``."""
    return _django_default_table(rel, model, app_label)


def _django_default_table(rel: str, model: str, app_label: str | None = None) -> str:
    app = app_label or _django_app(rel)
    return f"{app}_{model.lower()}" if app else model.lower()


def _django_meta(body: str, key: str) -> str | None:
    m = re.search(_DJANGO_META.format(key=key), body)
    return (m.group("v") or m.group("v2")) if m else None


def _django_models(rel: str, text: str) -> list[tuple[int, int, str]]:
    """(start, end, table) of each model class of a models module: Meta.db_table, else <app_label>_<model>."""
    out = []
    for m in _DJANGO_CLASS.finditer(text):
        nxt = re.compile(r"(?m)^(?=[^\s#])").search(text, m.end())
        end = nxt.start() if nxt else len(text)
        body = text[m.end():end]
        table = _django_meta(body, "db_table") or _django_default_table(rel, m.group("cls"), _django_meta(body, "app_label"))
        out.append((m.start(), end, table))
    return out


def django_model_tables(rel: str, text: str) -> dict[str, str]:
    """Each Django model class of a module with its table (Meta.db_table, else ``<app_label>_<model>``)."""
    out = {}
    for m in _DJANGO_CLASS.finditer(text):
        nxt = re.compile(r"(?m)^(?=[^\s#])").search(text, m.end())
        body = text[m.end():nxt.start() if nxt else len(text)]
        out[m.group("cls")] = _django_meta(body, "db_table") or _django_default_table(rel, m.group("cls"),
                                                                                      _django_meta(body, "app_label"))
    return out


def django_tables(rel: str, text: str) -> dict[str, str]:
    """Django's default table name -> the table a model really has (Meta.db_table, a migration's
    ``options={'db_table': ...}`` or ``AlterModelTable``): other files' declarations name only the model."""
    out = {}
    for m in _DJANGO_CLASS.finditer(text):
        nxt = re.compile(r"(?m)^(?=[^\s#])").search(text, m.end())
        body = text[m.end():nxt.start() if nxt else len(text)]
        table = _django_meta(body, "db_table")
        if table:
            out[_django_default_table(rel, m.group("cls"), _django_meta(body, "app_label"))] = table
    for m in _DJANGO_OP_MODEL.finditer(text):
        if m.group("m"):
            table = _django_meta(call_args(text, text.index("(", m.start())), "db_table")
            if table:
                out[_django_default_table(rel, m.group("m"))] = table
    for m in _DJANGO_ALTER_TABLE.finditer(text):
        args = call_args(text, m.end() - 1)
        name, table = _django_meta(args, "name"), _django_meta(args, "table")
        if name and table:
            out[_django_default_table(rel, name)] = table
    return out


def with_django_tables(decls: list[VectorDeclaration], tables: dict[str, str]) -> list[VectorDeclaration]:
    """Django declarations named by the default table, renamed to the table the app declares elsewhere."""
    return [replace(d, table=tables[d.table]) if d.kind == "django" and d.table in tables else d for d in decls]


def _rb_name(m: re.Match, group: str) -> str | None:
    return m.group(group) or m.group(f"s{group}")


def _active_record(rel: str, text: str, covered: set[int]) -> list[VectorDeclaration]:
    """ActiveRecord's vector columns of a migration or schema.rb (the table from the enclosing ``create_table`` /
    ``change_table`` block, or named by ``add_column`` / ``change_column``)."""
    out = []
    blocks = list(_AR_BLOCK.finditer(text))
    for m, table, column, kind in [
            *((m, None, _rb_name(m, "c") or _rb_name(m, "c2"), m.group("type") or m.group("type2") or m.group("type3"))
              for m in _AR_COLUMN.finditer(text)),
            *((m, _rb_name(m, "t"), _rb_name(m, "c"), m.group("type") or m.group("type3"))
              for m in _AR_ALTER.finditer(text))]:
        method = [d for d in _RB_METHOD.finditer(text, 0, m.start())]
        if method and method[-1].group(1) == "down":
            continue  # what rolling the migration back restores, not the schema it makes
        if table is None:
            before = [b for b in blocks if b.start() < m.start()]
            table = _rb_name(before[-1], "t") if before else None
        limit = _AR_LIMIT.search(m.group("rest"))
        dims, dims_env = None, None
        if m.group("n3"):
            dims = int(m.group("n3"))
        elif limit:
            value = limit.group("v")
            reads = env_reads(value, "ruby")
            if reads:
                dims_env = reads[0].name
                default = reads[0].default
                dims = int(default) if default and default.isdigit() else None
            else:
                dims = int_value(text, value.replace("_", "") if value.replace("_", "").isdigit() else value)
        line = line_of(text, m.start())
        covered.add(line)
        out.append(VectorDeclaration(rel, line, dims, "active-record", table, column, kind, dims_env=dims_env))
    return sorted(out, key=lambda d: d.line)


# Ecto (pgvector-elixir's `:vector` type): `add :embedding, :vector, size: 768` (or `add(...)`, `modify`,
# `add_if_not_exists`, the type a `"vector(768)"` string) in a migration's `create table(:t) do` /
# `create_if_not_exists table("t")` / `alter table(:t) do` block; the width is `size:`.
_ECTO_BLOCK = re.compile(r"""\b(?:create|create_if_not_exists|alter)\s*\(?\s*table\s*\(\s*""" + _RB_SYM.format("t"))
_ECTO_COLUMN = re.compile(r"""\b(?:add|add_if_not_exists|modify)\s*\(?\s*""" + _RB_SYM.format("c") + r"""\s*,\s*(?::"""
                          + _RB_TYPE + r"""\b|(?P<q3>['"])(?P<type3>vector|halfvec|sparsevec)(?:\(\s*(?P<n3>\d+)\s*\))?(?P=q3))"""
                          r"""(?P<rest>[^\n]*)""")
_ECTO_SIZE = re.compile(r"""\bsize:\s*(?P<v>@?[\w.]+)""")
# An Ecto schema module's column: `schema "t" do` ... `field :embedding, Pgvector.Ecto.Vector` (or the type aliased,
# `HalfVector`, `SparseVector`); its width is the migration's.
_ECTO_SCHEMA = re.compile(r"""\bschema\s*\(?\s*"(?P<t>[^"\n]+)"\s*\)?\s*do\b""")
_ECTO_FIELD = re.compile(r"""\bfield\s*\(?\s*""" + _RB_SYM.format("c")
                         + r"""\s*,\s*(?P<p>Pgvector\.Ecto\.)?(?P<type>Vector|HalfVector|SparseVector)\b""")
_ECTO_TYPES = {"Vector": "vector", "HalfVector": "halfvec", "SparseVector": "sparsevec"}


def _ecto(rel: str, text: str, covered: set[int]) -> list[VectorDeclaration]:
    """The vector columns an Ecto migration adds, on the table of the enclosing ``create table(...)`` /
    ``alter table(...)`` block (none that ``def down`` adds: what a rollback restores)."""
    out = []
    blocks = list(_ECTO_BLOCK.finditer(text))
    methods = list(_RB_METHOD.finditer(text))
    for m in _ECTO_COLUMN.finditer(text):
        before = [b for b in blocks if b.start() < m.start()]
        if not before or _rolled_back(methods, m.start()):
            continue
        size = _ECTO_SIZE.search(m.group("rest"))
        dims = int(m.group("n3")) if m.group("n3") else _ecto_size(text, size.group("v")) if size else None
        line = line_of(text, m.start())
        covered.add(line)
        out.append(VectorDeclaration(rel, line, dims, "ecto", _rb_name(before[-1], "t"), _rb_name(m, "c"),
                                     m.group("type") or m.group("type3")))
    schemas = list(_ECTO_SCHEMA.finditer(text))
    for m in _ECTO_FIELD.finditer(text) if schemas else ():
        before = [b for b in schemas if b.start() < m.start()]
        # an `embedded_schema` (no table) after the table's block: the field is of no table
        embedded = [e.start() for e in re.finditer(r"\bembedded_schema\b", text[:m.start()])]
        if not before or embedded and embedded[-1] > before[-1].start() or not (m.group("p") or "Pgvector.Ecto" in text):
            continue
        line = line_of(text, m.start())
        covered.add(line)
        out.append(VectorDeclaration(rel, line, None, "ecto-schema", before[-1].group("t"), _rb_name(m, "c"),
                                     _ECTO_TYPES[m.group("type")]))
    return out


def _ecto_size(text: str, value: str) -> int | None:
    """A migration's ``size:``: a number, a constant, or a module attribute (``@dims 768``) that is one."""
    if value.startswith("@"):
        attribute = re.search(rf"(?m)^\s*@{re.escape(value[1:])}\s+(?P<v>[\w.]+)\s*$", text)
        return int_value(text, attribute.group("v")) if attribute else None
    return int_value(text, value)


# Laravel's schema builder: `Schema::create('t', function (Blueprint $table) {` (or `::table`, through
# `Schema::connection('c')->`), and in it `$table->vector('col', 1536)` (Laravel 11+, and pgvector-php's `halfvec`,
# `sparsevec`), the dimension positional, named (`dimensions: 1536`), an `env('NAME', 768)`, a `config('file.key')`
# (`config('services.ollama.dimensions', 768)`), or none.
_LV_BLOCK = re.compile(r"""Schema\s*::\s*(?:connection\([^()]*\)\s*->\s*)?(?:create|table)\s*\(\s*(['"])(?P<t>[^'"]+)\1""")
_LV_COLUMN = re.compile(r"""\$\w+\s*->\s*(?P<type>vector|halfvec|sparsevec)\s*\(\s*(['"])(?P<c>[^'"]+)\2\s*"""
                        r"""(?:,\s*(?:dimensions\s*:\s*)?(?P<d>\d+|(?:env|config)\([^()]*\))\s*)?\)""")
_LV_METHOD = re.compile(r"\bfunction\s+(\w+)\s*\(")


def _laravel(rel: str, text: str, covered: set[int]) -> list[VectorDeclaration]:
    """The vector columns a Laravel migration's schema builder declares, on the table of the enclosing
    ``Schema::create``/``Schema::table`` (none that ``down()`` declares: what a rollback restores)."""
    out = []
    blocks = list(_LV_BLOCK.finditer(text))
    for m in _LV_COLUMN.finditer(text):
        method = [f.group(1) for f in _LV_METHOD.finditer(text, 0, m.start())]
        if method and method[-1] == "down":
            continue
        before = [b for b in blocks if b.start() < m.start()]
        dims, dims_env, dims_config, given = None, None, None, m.group("d")
        if given and given.isdigit():
            dims = int(given)
        elif given and (env := re.match(r"""(env|config)\(\s*(['"])([\w.-]+)\2\s*(?:,\s*(\d+)\s*)?\)""", given)):
            dims = int(env.group(4)) if env.group(4) else None
            dims_env, dims_config = (env.group(3), None) if env.group(1) == "env" else (None, env.group(3))
        line = line_of(text, m.start())
        covered.add(line)
        out.append(VectorDeclaration(rel, line, dims, "laravel", before[-1].group("t") if before else None,
                                     m.group("c"), m.group("type"), dims_env=dims_env, dims_config=dims_config))
    return out


def _prisma(rel: str, text: str) -> list[VectorDeclaration]:
    out = []
    models = list(_PRISMA_MODEL.finditer(text))
    for m in _PRISMA.finditer(text):
        col = m.group("col")
        mapped = re.search(r"""@map\(\s*"([^"]+)"\s*\)""", m.group("rest"))
        if mapped:
            col = mapped.group(1)
        table = None
        before = [x for x in models if x.start() < m.start()]
        if before:
            table = before[-1].group("m")
            block_end = text.find("\n}", m.start())
            block = text[before[-1].start(): block_end if block_end >= 0 else len(text)]
            mapped_table = re.search(r"""@@map\(\s*"([^"]+)"\s*\)""", block)
            if mapped_table:
                table = mapped_table.group(1)
        out.append(VectorDeclaration(rel, line_of(text, m.start("col")), int(m.group("n")), "prisma", table, col,
                                     m.group("type")))
    return out


def _last(matches: list[re.Match], pos: int) -> str | None:
    before = [m for m in matches if m.start() < pos]
    return before[-1].group("t") if before else None


def _unquote(name: str | None) -> str | None:
    if name is None:
        return None
    parts = [p.strip('"`') for p in re.findall(r'"[^"]+"|`[^`]+`|[^.]+', name)]
    return ".".join(parts)


Rank = int | Place  # a migration's number, or an Alembic revision's place in a chain that may branch
Orders = Mapping[str, tuple[str, Rank]]  # path -> (migrations folder, place) where the path does not say it
_NO_ORDERS: Orders = {}


def _before(a: Rank, b: Rank) -> bool:
    """Whether the migration at ``a`` runs before the one at ``b``: a lower number, or an Alembic revision's ancestor
    (two heads' revisions run in no order to each other: each head's declarations stand)."""
    if isinstance(a, Place) and isinstance(b, Place):
        return a.before(b)
    return isinstance(a, int) and isinstance(b, int) and a < b


def _migration_order(path: str, orders: Orders = _NO_ORDERS) -> tuple[str, Rank] | None:
    """(the migrations folder, the migration's number) of a numbered migration (Django's `0002_x.py`, Prisma's
    `20240101_x/migration.sql`, drizzle's `0002_x.sql` and drizzle-kit's schema after it, `meta/0002_snapshot.json`,
    an Alembic revision numbered in its name, `alembic/versions/122_x.py`), or its place in ``orders`` (an Alembic
    revision's in its `down_revision` chain: ``alembic.chain_order``); None for any other file."""
    if path in orders:
        return orders[path]
    parts = PurePosixPath(path).parts
    if (folder := versions_folder(path)) is not None:
        # as a number: SurfSense's `122_x.py` comes after `73_x.py`, which sorts after it as text
        number = re.match(r"(\d+)_", parts[-1])
        return (folder, int(number.group(1))) if number else None
    for i in range(len(parts) - 2, -1, -1):
        # Rails: db/migrate/20240628203936_create_chunks.rb; EF Core: Migrations/20251228204134_InitialCreate.cs
        if re.fullmatch(r"[mM]igrations?|(?:post_)?migrate", parts[i]):
            # a prefix word before the number (Quivr's `local_20240107152745_ollama.sql`, which its guide renames to
            # apply it) keeps the migration's place in the timeline; drizzle-kit's meta/000N_snapshot.json is N's
            snapshot = parts[i + 1] == "meta" and len(parts) == i + 3 and re.fullmatch(r"\d+_snapshot\.json", parts[-1])
            # Laravel's 2024_01_10_093000_x.php: the whole timestamp, not its year alone; any other name its first
            # number alone (`002_1536_dims.sql` is 2, not 21536)
            number = re.match(r"(?:[A-Za-z]+_)?(\d{4}_\d{2}_\d{2}_\d{6}(?!\d)|\d+)", parts[-1] if snapshot else parts[i + 1])
            # Rails' db/post_migrate (Discourse, GitLab) is numbered in the same timeline as db/migrate: one folder
            folder = "/".join([*parts[:i], "migrate" if parts[i] == "post_migrate" else parts[i]])
            return (folder, int(number.group(1).replace("_", ""))) if number else None
    return None


def in_migration(path: str) -> bool:
    """Whether the file is a migration (numbered, an Alembic revision, or drizzle-kit's schema after one), not a schema
    the code keeps."""
    return _migration_order(path) is not None or versions_folder(path) is not None


_DROP_TABLE = re.compile(r"""\b(?:drop|rename)_table\s*\(?\s*(?::(?P<t>\w+)|(?P<q>['"])(?P<s>[\w.]+)(?P=q))"""
                         r"""|(?i:\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?)(?P<sql>[\w."]+(?:\s*,\s*[\w."]+)*)""")
# What an ALTER TABLE takes away from a later migration's view: a column renamed or dropped, the table renamed.
_ALTER_AWAY = re.compile(rf"""(?i)\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(?P<t>{_QUALIFIED})\s+(?:"""
                         rf"""RENAME\s+(?:COLUMN\s+)?(?P<renamed>(?!TO\b|CONSTRAINT\b){_IDENT})\s+TO\b"""
                         rf"""|DROP\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?(?P<dropped>(?!CONSTRAINT\b){_IDENT})"""
                         rf"""|(?P<table>RENAME\s+TO)\b)""")


# What Alembic's and Rails' column operations take away: `op.drop_column("t", "c")`, `op.alter_column("t", "c", ...,
# new_column_name="x")`, `remove_column :t, :c`, `rename_column :t, :c, :x`
_NAME = r"""(?::(\w+)|['"]([\w.]+)['"])"""
_COLUMN_AWAY = re.compile(rf"""\b(?:drop_column|remove_column|rename_column)\s*\(?\s*{_NAME}\s*,\s*{_NAME}"""
                          rf"""|\balter_column\(\s*{_NAME}\s*,\s*{_NAME}(?=[^()]*(?:\([^()]*\)[^()]*)*?\bnew_column_name\s*=)""")


def _rolled_back(methods: list[re.Match], pos: int) -> bool:
    """Whether ``pos`` is in a migration's rollback (Rails' ``def down``, Alembic's ``def downgrade()``, Laravel's
    ``function down()``, EF Core's ``void Down(...)``), given the file's ``_RB_METHOD`` matches: what it does undoes the migration, it makes no
    schema of its own."""
    before = [d for d in methods if d.start() < pos]
    return bool(before) and before[-1].group(1) in ("down", "downgrade", "Down")


_Said = TypeVar("_Said", bound="_Lined")


class _Lined(Protocol):
    @property
    def line(self) -> int: ...


def without_rollbacks(rel: str, text: str, found: list[_Said]) -> list[_Said]:
    """What a numbered migration says (its declarations, its indexes) less what its rollback says (a downgrade()
    recreating the table its upgrade() dropped declares nothing the schema has after it)."""
    if not in_migration(rel) or not found:
        return found
    starts = [0, *(m.end() for m in re.finditer(r"\n", text))]
    methods = list(_RB_METHOD.finditer(text))
    return [d for d in found if not _rolled_back(methods, starts[min(d.line, len(starts)) - 1])]


def removed(rel: str, text: str) -> tuple[tuple[str, str | None], ...]:
    """What a numbered migration removes, as (table, column) with column None for a whole table: tables dropped
    (Rails' and Alembic's ``drop_table``, SQL ``DROP TABLE``) or renamed, columns dropped or renamed (SQL ``ALTER
    TABLE``), less what a Rails ``down`` method drops (what rolling back undoes); none for any other file."""
    return removed_in(text) if in_migration(rel) else ()


def removed_in(text: str) -> tuple[tuple[str, str | None], ...]:
    """What a migration's text removes (``removed``, for a text whose order its path does not say)."""
    methods = list(finditer_where(_RB_METHOD, text, "def", "function", "void"))
    out: list[tuple[str, str | None]] = []
    for m in finditer_folded_at(_DROP_TABLE, text, "drop", "rename_table"):
        if _rolled_back(methods, m.start()):
            continue
        names = m.group("sql").split(",") if m.group("sql") else [m.group("t") or m.group("s")]
        out.extend((str(_unquote(n.strip())).rsplit(".", 1)[-1], None) for n in names)
    for m in finditer_at(_COLUMN_AWAY, text, "drop_column", "remove_column", "rename_column", "alter_column("):
        if not _rolled_back(methods, m.start()):
            names = [n for n in m.groups() if n]
            out.append((str(_unquote(names[0])).rsplit(".", 1)[-1], names[1]))
    for m in finditer_folded_at(_ALTER_AWAY, text, "alter"):
        table = str(_unquote(m.group("t"))).rsplit(".", 1)[-1]
        column = m.group("renamed") or m.group("dropped")
        out.append((table, None if m.group("table") else _unquote(column)))
    if "Schema" in text:
        out += _laravel_removed(text)
    if "Ecto.Migration" in text:
        out += _ecto_removed(text)
    return tuple(dict.fromkeys(out))


# Ecto: `drop table(:t)` / `drop_if_exists table(:t)`, `rename table(:t), to: table(:u)`, and `remove :c` /
# `remove_if_exists :c` in an `alter table(:t)` block, `rename table(:t), :c, to: :d`.
_ECTO_TABLE_AWAY = re.compile(r"""\b(?:drop|drop_if_exists)\s*\(?\s*table\s*\(\s*""" + _RB_SYM.format("t")
                              + r"""|\brename\s*\(?\s*table\s*\(\s*""" + _RB_SYM.format("r") + r"""[^)]*\)\s*,\s*to:""")
_ECTO_COLUMN_AWAY = re.compile(r"""\b(?:remove|remove_if_exists)\s*\(?\s*""" + _RB_SYM.format("c")
                               + r"""|\brename\s*\(?\s*table\s*\(\s*""" + _RB_SYM.format("t") + r"""[^)]*\)\s*,\s*"""
                               + _RB_SYM.format("o") + r"""\s*,\s*to:""")


def _ecto_removed(text: str) -> list[tuple[str, str | None]]:
    """What an Ecto migration's ``up``/``change`` drops or renames (``def down``'s is what a rollback undoes)."""
    methods = list(_RB_METHOD.finditer(text))
    blocks = list(_ECTO_BLOCK.finditer(text))
    out: list[tuple[str, str | None]] = []
    for m in _ECTO_TABLE_AWAY.finditer(text):
        if not _rolled_back(methods, m.start()):
            out.append((cast(str, _rb_name(m, "t") or _rb_name(m, "r")), None))
    for m in _ECTO_COLUMN_AWAY.finditer(text):
        if _rolled_back(methods, m.start()):
            continue
        if _rb_name(m, "o"):
            out.append((cast(str, _rb_name(m, "t")), _rb_name(m, "o")))
            continue
        before = [b for b in blocks if b.start() < m.start()]
        if before:
            out.append((cast(str, _rb_name(before[-1], "t")), _rb_name(m, "c")))
    return out


# Laravel: `Schema::drop('t')`, `Schema::dropIfExists('t')`, `Schema::rename('t', 'u')`, and in a `Schema::table`
# block `$table->dropColumn('c')` (or a list of them) and `$table->renameColumn('c', 'd')`.
_LV_TABLE_AWAY = re.compile(r"""Schema\s*::\s*(?:connection\([^()]*\)\s*->\s*)?(?:drop|dropIfExists|rename)\s*\(\s*(['"])(?P<t>[^'"]+)\1""")
_LV_COLUMN_AWAY = re.compile(r"""\$\w+\s*->\s*(?:dropColumn\s*\(\s*(?P<cols>\[[^\]]*\]|['"][^'"]+['"])"""
                             r"""|renameColumn\s*\(\s*(['"])(?P<c>[^'"]+)\2)""")


def _laravel_removed(text: str) -> list[tuple[str, str | None]]:
    """What a Laravel migration's ``up()`` drops or renames (a ``down()`` method's is what a rollback undoes)."""
    out: list[tuple[str, str | None]] = []
    blocks = list(_LV_BLOCK.finditer(text))

    def in_down(pos: int) -> bool:
        methods = [f.group(1) for f in _LV_METHOD.finditer(text, 0, pos)]
        return bool(methods) and methods[-1] == "down"

    out += [(m.group("t"), None) for m in _LV_TABLE_AWAY.finditer(text) if not in_down(m.start())]
    for m in _LV_COLUMN_AWAY.finditer(text):
        before = [b for b in blocks if b.start() < m.start()]
        if before and not in_down(m.start()):
            columns = re.findall(r"""['"]([^'"]+)['"]""", m.group("cols")) if m.group("cols") else [m.group("c")]
            out += [(before[-1].group("t"), c) for c in columns]
    return out


def _removals(removals: dict[str, tuple[tuple[str, str | None], ...]], orders: Orders
              ) -> dict[tuple[str, str, str | None], list[Rank]]:
    """(migrations folder, table, column or None) -> the places of the migrations of that folder removing it."""
    out: dict[tuple[str, str, str | None], list[Rank]] = {}
    for path, names in removals.items():
        order = _migration_order(path, orders)
        if order is None:
            continue
        for table, column in names:
            out.setdefault((order[0], table, column), []).append(order[1])
    return out


def _gone(order: tuple[str, Rank] | None, table: str | None, column: str | None,
          removed: dict[tuple[str, str, str | None], list[Rank]]) -> bool:
    """Whether a migration of the same folder as the one at ``order`` that does not run before it (a later one, or one
    on another Alembic head: after both heads the table is gone) removes this table, or this column of it."""
    if not order or not table:
        return False
    bare = table.replace('"', "").rsplit(".", 1)[-1]
    return any(place != order[1] and not _before(place, order[1])
               for c in {None, column} for place in removed.get((order[0], bare, c), ()))


def with_drops(decls: list[VectorDeclaration], removals: dict[str, tuple[tuple[str, str | None], ...]],
               orders: Orders = _NO_ORDERS) -> list[VectorDeclaration]:
    """Declarations marked ``dropped`` where a later migration of the same folder (``removals``: path -> what
    ``removed`` says it takes away) drops or renames their table or column (0001 creates `embeddings.embeddings`, 0002
    renames it `embedding`: the column 0001 declared no longer exists)."""
    removed = _removals(removals, orders)
    decls = [replace(d, order=orders[d.path]) if d.order is None and d.path in orders else d for d in decls]
    return [replace(d, dropped=True) if _gone(d.order or _migration_order(d.path), d.table, d.column, removed) else d
            for d in decls]


# indexes a migration makes on a table and column it names: SQL's, and EF Core's CreateIndex
_MIGRATED_INDEXES = frozenset({"sql-index", "efcore-index"})


def current_indexes(uses: list, removals: dict[str, tuple[tuple[str, str | None], ...]], orders: Orders = _NO_ORDERS
                    ) -> list:
    """Distance uses less the index declarations a later numbered migration of the same folder replaced (an index on
    the same table and column: drizzle-kit drops and recreates it) or whose table or column it removed."""
    removed = _removals(removals, orders)
    places: dict[tuple[str, str, str], list[Rank]] = {}
    for u in uses:
        order = _migration_order(u.path, orders)
        if u.kind in _MIGRATED_INDEXES and order and u.table and u.column:
            places.setdefault((order[0], u.table, u.column), []).append(order[1])
    out = []
    for u in uses:
        order = _migration_order(u.path, orders)
        if u.kind in _MIGRATED_INDEXES and order and u.table and u.column and (
                any(_before(order[1], p) for p in places[(order[0], u.table, u.column)])
                or _gone(order, u.table, u.column, removed)):
            continue
        out.append(u)
    return out


def superseded(decls: list[VectorDeclaration] | tuple[VectorDeclaration, ...]) -> set[VectorDeclaration]:
    """Declarations a later numbered migration of the same folder redeclares for the same table and column (Django's
    0001 CreateModel at 768, then 0002 AlterField to 1536: the column is 1536), or whose table it drops."""
    places: dict[tuple, list[Rank]] = {}

    def key(d: VectorDeclaration, folder: str) -> tuple:
        # `"public"."vectors"` and a bare `vectors` are one table to a migrations folder's default search path
        return folder, cast(str, d.table).rsplit(".", 1)[-1], d.column

    for d in decls:
        order = d.order or _migration_order(d.path)
        if order and d.table and d.column:
            places.setdefault(key(d, order[0]), []).append(order[1])
    out = {d for d in decls if d.dropped}
    for d in decls:
        order = d.order or _migration_order(d.path)
        if order and d.table and d.column and any(_before(order[1], p) for p in places[key(d, order[0])]):
            out.add(d)
    return out


def dimensions_of(decls: list[VectorDeclaration] | tuple[VectorDeclaration, ...]) -> tuple[int, ...]:
    """The dimensions the schema declares now (a dimension a later migration changed is no longer declared)."""
    old = superseded(decls)
    return tuple(sorted({d.dimensions for d in decls if d.dimensions and 0 < d.dimensions <= 65535 and d not in old}))


__all__ = ["VectorDeclaration", "scan", "typeorm_entity_tables", "django_tables", "django_table_at", "django_model_tables", "with_django_tables", "with_imported_dimensions",
           "has_declarations", "dimensions_of", "constant", "removed", "removed_in", "with_drops", "with_imported_store_configs", "current_indexes", "in_migration"]
