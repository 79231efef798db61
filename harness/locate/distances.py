"""Where an application's own code says the distance it searches a vector column with: pgvector operators in its SQL,
the ORMs' distance helpers, and vector indexes its code declares (a migration the database may not have yet)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ..profile import DISTANCES, distance_of_opclass, distances_in_sql
from .lexing import lex
from .literals import call_args, finditer_at, finditer_where, line_of
from .schema import (_DRIZZLE_TABLE, _IDENT, _QUALIFIED, _config_object, _from_library, drizzle_tables, _js_name, _positional, _unquote,
                     django_model_tables, django_table_at, typeorm_entity_tables, without_rollbacks)


@dataclass(frozen=True)
class DistanceUse:
    path: str
    line: int
    distance: str  # cosine / l2 / ip (harness.profile.DISTANCES)
    kind: str  # sql / sqlalchemy / django / drizzle / rails / sql-index / django-index / drizzle-index / ...
    table: str | None = None
    column: str | None = None
    said: str = ""  # what the code says, as written (`<->`, `cosine_distance()`, `vector_l2_ops`)
    # the ORM model class the code names (`Entry.objects`, `Item.embedding`) where its table is not in this file:
    # ``with_model_tables`` names the table from the repository's models
    model: str | None = None
    # the columns the search keeps to by equality (Django's ``.filter(project__id=...)``: ``project_id``), a
    # partition of the rows it searches: a collection or tenant no column name says
    filters: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def as_dict(self) -> dict:
        return dict(self.__dict__)


# A cheap test on a file's bytes before it is read as text: words found by a substring search (many times quicker
# than their alternation as one pattern), and `_ops` at a word's end.
_HINT_WORDS = (b"<=>", b"<->", b"<#>", b"_distance(", b"max_inner_product", b"Distance(", b"MaxInnerProduct",
               b"innerProduct(", b"nearest_neighbors", b"nearestNeighbors", b"PrismaVectorStore")
_OPS_WORD = re.compile(rb"_ops\b")


def has_distances(data: bytes) -> bool:
    return any(w in data for w in _HINT_WORDS) or (b"_ops" in data and _OPS_WORD.search(data) is not None)


def scan(rel: str, text: str, lang: str) -> list[DistanceUse]:
    """Every distance one file's code says, in the order written."""
    if lang == "prisma":
        return []
    ruby = rel.lower().endswith((".rb", ".rake"))
    elixir = rel.lower().endswith((".ex", ".exs"))
    # C#'s comments and quoted strings are JS's (`#` starts a directive, not a comment); Elixir's are Ruby's; Rust's
    # strings span lines (sqlx's `query("SELECT ...\n ORDER BY embedding <=> $1")`)
    code, strings = lex(text, "ruby" if ruby or elixir else "js" if rel.endswith(".cs") else
                        "rust" if rel.endswith(".rs") else lang)
    out: list[DistanceUse] = []
    if lang == "sql":
        out += _sql_operators(rel, code, [(0, len(code))], strict=False)
        out += _sql_indexes(rel, code, [(0, len(code))])
    else:
        sql_strings = [(s, e) for s, e in strings if _SQL_WORDS.search(code, s, e)]
        out += _sql_operators(rel, code, sql_strings, strict=True)
        out += _interpolated_operators(rel, code, sql_strings)
        out += _sql_indexes(rel, code, strings)
    if lang == "python":
        prose = _without_docstrings(code, strings)  # a docstring may name a helper it does not call
        out += _sqlalchemy(rel, prose)
        out += _django(rel, prose)
        out += _sqlalchemy_indexes(rel, prose)
    elif lang == "js":
        out += _drizzle(rel, code)
        out += _langchain_prisma(rel, code)
        out += _typeorm(rel, code)
    elif ruby:
        out += _rails(rel, code)
    elif lang == "php":
        out += _laravel(rel, code)
    elif rel.endswith(".cs"):
        out += _efcore(rel, code)
    elif elixir:
        out += _ecto(rel, code)
    elif rel.endswith(".go") and "gorm" in code:
        out += _gorm(rel, code)
    # an index a downgrade(), down() or EF Core's Down() makes again: what its upgrade took away
    if lang in ("python", "php") or elixir or rel.endswith(".cs"):
        out = without_rollbacks(rel, code, out)
    return sorted(dict.fromkeys(out), key=lambda u: (u.line, u.kind))


# -- comments and strings -------------------------------------------------------------------------------------------

def _without_docstrings(code: str, strings: list[tuple[int, int]]) -> str:
    """Python code with the contents of its triple-quoted strings blanked (lines kept): docstrings and SQL blocks,
    which ``_sql_operators`` reads apart; the ORM helpers are read in code and its one-line strings only."""
    out = list(code)
    for start, end in strings:
        if code[max(0, start - 3):start] in ('"""', "'''"):
            for k in range(start, end):
                if out[k] != "\n":
                    out[k] = " "
    return "".join(out)


# -- SQL ------------------------------------------------------------------------------------------------------------

_SQL_WORDS = re.compile(r"(?i)\b(?:select|order\s+by|from|where|join|returning|update|limit)\b")
_OPERATOR = re.compile("|".join(re.escape(op) for op in DISTANCES.values()))
_CAST = r"(?:\s*::\s*\w+(?:\s*\(\s*[^()]*\))?)?"
# The operand on either side of an operator: a column (qualified, quoted), or an interpolation naming one
# (`${docs.embedding}`, `{col}`), else a parameter or literal (no column).
_LEFT = re.compile(rf"(?:\$\{{\s*(?P<i>[\w$]+\.[\w$]+)\s*\}}|(?P<c>{_QUALIFIED})|[\w$%:?)'\[\]{{}}.,-]+){_CAST}\s*$")
_RIGHT = re.compile(rf"\s*(?:\$\{{\s*(?P<i>[\w$]+\.[\w$]+)\s*\}}|(?P<c>{_QUALIFIED})(?!\w)(?!\s*\())")
_KEYWORDS = frozenset({"by", "select", "order", "where", "and", "or", "not", "as", "from", "on", "then", "else",
                       "when", "case", "return", "returns", "limit", "null", "true", "false", "distinct", "desc", "asc",
                       "join", "left", "right", "inner", "outer", "cross", "full", "natural", "lateral", "group",
                       "having", "using", "set", "values", "offset", "union", "window", "fetch", "for"})
_FROM = re.compile(rf"(?i)\b(?:from|join|update|into)\s+(?:only\s+)?(?P<t>{_QUALIFIED}|\$\{{[^{{}}]*\}})"
                   rf"(?:\s+(?:as\s+)?(?P<a>{_IDENT}))?")


def _sql_operators(rel: str, code: str, spans: Iterable[tuple[int, int]], *, strict: bool) -> list[DistanceUse]:
    """The operators of SQL text; in a string of code (``strict``), only beside a parameter, cast, literal or bracket
    (an application's query compares with its query vector), or inside a function definition whose parameter names
    it: an arrow between two words is prose (``"Select a file from the list <-> to swap"``)."""
    out = []
    for start, end in spans:
        routine = strict and bool(_ROUTINE.search(code, start, end))
        for m in _OPERATOR.finditer(code, start, end):
            statement = _statement(code, m.start(), start, end)
            if strict and not routine and not _operand_like(code, m, statement):
                continue
            column = _operand(_LEFT.search(code[statement[0]:m.start()]), code[statement[0]:m.start()]) \
                or _operand(_RIGHT.match(code, m.end(), statement[1]), "")
            if column is None and _shared_with_text_or_geometry(code, m, statement):
                continue
            table, col = _tie(code, column, statement)
            out.append(DistanceUse(rel, line_of(code, m.start()), distances_in_sql(m.group(0)).pop(), "sql", table, col,
                                   m.group(0)))
    return out


# An operator the code interpolates between a column and a parameter (`embedding ${distanceOperator} $1`, Python's
# `vec {op} %s`): read as the operator literal its variable defaults to in the same file.
_INTERPOLATED_OPERATOR = re.compile(r"(?P<col>(?:\"[^\"\n]+\"|[A-Za-z_]\w*)(?:\.(?:\"[^\"\n]+\"|[A-Za-z_]\w*))?)\s*"
                                    r"(?P<js>\$)?\{\s*(?:this\.|self\.)?(?P<name>[A-Za-z_]\w*)\s*\}"
                                    r"(?=\s*(?:\$\d+|%s|%\(\w+\)s|\?|:\w+|'|\(|\[|ARRAY\[|CAST\())")


def _interpolated_operators(rel: str, code: str, spans: Iterable[tuple[int, int]]) -> list[DistanceUse]:
    """Operators interpolated into SQL strings whose variable has an operator literal as its default (a parameter's
    ``distanceOperator: string = '<=>'``, ``op="<#>"``, ``const op = '<->'``): the default is what is said."""
    out = []
    for start, end in spans:
        for m in _INTERPOLATED_OPERATOR.finditer(code, start, end):
            # Every operator literal the name is given in the file: one is its default, several are each said (a
            # switch on a setting), never the first alone.
            given = list(dict.fromkeys(a.group("op") for a in re.finditer(
                r"\b" + re.escape(m.group("name")) + r"""\s*(?::\s*[\w.|<>\[\] ]+?)?\s*=(?!=)\s*"""
                r"""['"`](?P<op><=>|<->|<#>|<\+>)['"`]""", code)))
            if not given:
                continue
            statement = _statement(code, m.start(), start, end)
            table, col = _tie(code, _operand(_LEFT.search(m.group("col")), ""), statement)
            said = ("$" if m.group("js") else "") + "{" + m.group("name") + "}" + (
                f" (default {given[0]})" if len(given) == 1 else f" (one of {', '.join(given)})")
            out += [DistanceUse(rel, line_of(code, m.start("name")), distances_in_sql(op).pop(), "sql", table, col, said)
                    for op in given]
    return out


def _statement(code: str, pos: int, start: int, end: int) -> tuple[int, int]:
    """The statement around ``pos``, within one string or SQL file: from the last ``;`` or ``$$`` to the next."""
    semicolon, dollars = code.rfind(";", start, pos), code.rfind("$$", start, pos)
    head = start if max(semicolon, dollars) < 0 else semicolon + 1 if semicolon > dollars else dollars + 2
    nxt = [x for x in (code.find(";", pos, end), code.find("$$", pos, end)) if x >= 0]
    return head, (min(nxt) if nxt else end)


def _operand(m: re.Match | None, before: str) -> str | None:
    """The column an operand names (``alias.column`` kept qualified), or None for a parameter, literal or keyword."""
    if m is None:
        return None
    name = m.group("i") or m.group("c")
    if not name or name.split(".")[-1].strip('"').lower() in _KEYWORDS or re.fullmatch(r"[\d.]+", name):
        return None
    if m.group("c") and before and re.search(r"[$:%@?]$", before[:m.start("c")]):
        return None  # `$1`, `:q`, `%(q)s`: a parameter
    return "${" + name + "}" if m.group("i") else name


def _operand_like(code: str, m: re.Match, statement: tuple[int, int]) -> bool:
    """Whether the operator stands between SQL operands: a parameter, a cast or a bracket on one side."""
    left, right = code[max(statement[0], m.start() - 40):m.start()], code[m.end():min(statement[1], m.end() + 40)]
    return bool(re.search(r"(?:\)|\]|\}|'|::\s*\w+(?:\(\d+\))?|\$\d+|%s|\?)\s*$", left)
                or re.match(r"\s*(?:\$\d+|\$\{|%s|%\(\w+\)s|\?|:\w+|@\w+|\(|\{|'|ARRAY\[|CAST\()", right, re.I))


# pg_trgm's and PostGIS's `<->` and PostGIS's `<#>` are the same spellings as pgvector's l2 and inner product.
_SHARED_OPERATORS = frozenset({"<->", "<#>"})
_VECTOR_TYPE = re.compile(r"(?i)::\s*(?:vector|halfvec|sparsevec)\b|\b(?:vector|halfvec|sparsevec|l2_normalize|subvector)\s*\(")


def _shared_with_text_or_geometry(code: str, m: re.Match, statement: tuple[int, int]) -> bool:
    """An operator pg_trgm or PostGIS also defines, between operands that name no column, in a statement that names
    no vector type, next to no interpolation: ``lower(title) <-> lower(%s)`` is a trigram distance, not an l2 one."""
    if m.group(0) not in _SHARED_OPERATORS or _VECTOR_TYPE.search(code, *statement):
        return False
    left, right = code[max(statement[0], m.start() - 40):m.start()], code[m.end():min(statement[1], m.end() + 40)]
    return not (re.search(r"\}\s*$", left) or re.match(r"\s*\$?\{", right))


_ROUTINE = re.compile(r"(?i)\bCREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\b")


def _tie(code: str, column: str | None, statement: tuple[int, int]) -> tuple[str | None, str | None]:
    """(table, column) a column reference of a statement names: its qualifier resolved through the statement's
    FROM / JOIN aliases, else the statement's one table."""
    if column is None:
        return _only(_tables(code, statement)), None
    if column.startswith("${"):  # drizzle's sql`${docs.embedding} <=> ...`: a column of a table the code binds
        var, prop = column[2:-1].split(".")
        return _drizzle_column(code, var, prop, None)
    parts = [p.strip('"') for p in re.findall(r'"[^"]+"|[^.]+', column)]
    col = parts[-1]
    tables = _tables(code, statement)
    if len(parts) > 1:
        qualifier = parts[-2]
        named = [t for t, a in tables if qualifier in (a, t, t.split(".")[-1])]
        return (named[0] if named and named[0] != "?" else None), col
    return _only(tables), col


def _tables(code: str, statement: tuple[int, int]) -> list[tuple[str, str | None]]:
    """(table, alias) of each FROM / JOIN / UPDATE / INTO of the statement; a name the code interpolates
    (``FROM {self.table}``) as ``?``, a CTE of the statement (``WITH scores AS (...)``) left out: neither is a table
    the application's query can be tied to."""
    ctes = {c.lower() for c in _CTE.findall(code, *statement)}
    out = []
    for m in _FROM.finditer(code, *statement):
        name = m.group("t")
        if name.lower() in _KEYWORDS or name.lower() in ctes:
            continue
        alias = m.group("a")
        out.append(("?" if name.startswith("${") else _unquote(name) or name,
                    _unquote(alias) if alias and alias.lower() not in _KEYWORDS else None))
    if _INTERPOLATED_FROM.search(code, *statement):
        out.append(("?", None))
    return out


_CTE = re.compile(r"(?i)(?:\bwith\s+(?:recursive\s+)?|,\s*)(\w+)\s+as\s+(?:(?:not\s+)?materialized\s+)?\(")
_INTERPOLATED_FROM = re.compile(r"(?i)\b(?:from|join)\s+(?:only\s+)?\{")


def _only(tables: list[tuple[str, str | None]]) -> str | None:
    names = {t for t, _ in tables}
    return names.pop() if len(names) == 1 and "?" not in names else None


# The operator class may be schema-qualified (SurfSense's `embedding public.vector_cosine_ops`).
_INDEX = re.compile(rf"(?i)\bON\s+(?:ONLY\s+)?(?P<t>{_QUALIFIED}|\$?\{{[^{{}}\n]*\}})\s+USING\s+(?:hnsw|ivfflat)\s*\(\s*(?P<c>{_IDENT})\s+"
                    rf"(?:{_IDENT}\s*\.\s*)?(?P<op>\w+_ops)\b")


def _sql_indexes(rel: str, code: str, spans: Iterable[tuple[int, int]]) -> list[DistanceUse]:
    out = []
    for start, end in spans:
        for m in _INDEX.finditer(code, start, end):
            distance = distance_of_opclass(m.group("op"))
            if distance:
                table = None if "{" in m.group("t") else _unquote(m.group("t"))  # a name the code interpolates
                out.append(DistanceUse(rel, line_of(code, m.start("op")), distance, "sql-index", table,
                                       _unquote(m.group("c")), m.group("op")))
    return out


# -- ORMs -----------------------------------------------------------------------------------------------------------

# pgvector-python's SQLAlchemy / SQLModel / Peewee comparators: `Item.embedding.cosine_distance(q)`.
# A Core Table's column subscripted (txtai's `self.table.c["embedding"].max_inner_product(q)`) names the column alone.
_SQLALCHEMY = re.compile(r"\b(?P<model>[A-Za-z_]\w*)(?:\.(?P<col>[A-Za-z_]\w*)|\[\s*['\"](?P<key>[A-Za-z_]\w*)['\"]\s*\])"
                         r"\s*\.\s*(?P<fn>cosine_distance|l2_distance|max_inner_product)\s*\(")
_SQLALCHEMY_FN = {"cosine_distance": "cosine", "l2_distance": "l2", "max_inner_product": "ip"}
# SQLAlchemy's generic operator on a column with pgvector's own (SurfSense's `Chunk.embedding.op("<=>")(q)`).
_SQLALCHEMY_OP = re.compile(r"\b(?P<model>[A-Za-z_]\w*)\.(?P<col>[A-Za-z_]\w*)\s*\.\s*op\(\s*(?P<q>['\"])(?P<op><=>|<->|<#>)(?P=q)"
                            r"\s*\)\s*\(")
_PY_CLASS = re.compile(r"(?m)^class\s+(?P<cls>\w+)\b")
_PY_TABLENAME = re.compile(r"""(?m)^[ \t]+__tablename__\s*=\s*['"](?P<t>[^'"]+)['"]""")
_PY_TOP_LEVEL = re.compile(r"(?m)^(?=[^\s#])")


def _model_tables(code: str) -> dict[str, str]:
    """Each class of the module whose body sets ``__tablename__``, with that table."""
    out = {}
    for m in _PY_CLASS.finditer(code):
        end = _PY_TOP_LEVEL.search(code, code.find("\n", m.end()) + 1 if "\n" in code[m.end():] else len(code))
        named = _PY_TABLENAME.search(code, m.end(), end.start() if end else len(code))
        if named:
            out[m.group("cls")] = named.group("t")
    return out


def _sqlalchemy(rel: str, code: str) -> list[DistanceUse]:
    tables = _model_tables(code)
    return [DistanceUse(rel, line_of(code, m.start("fn")), _SQLALCHEMY_FN[m.group("fn")], "sqlalchemy",
                        None if m.group("key") else tables.get(m.group("model")), m.group("col") or m.group("key"),
                        m.group("fn") + "()", None if m.group("key") or m.group("model") in tables else m.group("model"))
            for m in finditer_where(_SQLALCHEMY, code, *_SQLALCHEMY_FN)] + [
        DistanceUse(rel, line_of(code, m.start("op")), distances_in_sql(m.group("op")).pop(), "sqlalchemy",
                    tables.get(m.group("model")), m.group("col"), f'op("{m.group("op")}")',
                    None if m.group("model") in tables else m.group("model"))
        for m in finditer_where(_SQLALCHEMY_OP, code, "op(")]


def model_tables(rel: str, text: str) -> dict[str, str]:
    """The ORM model classes of a Python module with their tables (``__tablename__``; Django's db_table or
    ``<app>_<model>``), an Elixir file's Ecto schema modules (``schema "t" do``; a module by its last name, as an
    alias names it), a PHP file's Eloquent model, a TS/JS file's TypeORM entities, or a Go file's GORM models, for
    ``with_model_tables``."""
    if rel.endswith((".ex", ".exs")):
        return {m.group("mod"): m.group("t") for m in _ECTO_SCHEMA.finditer(text)}
    if rel.endswith(".php"):
        return _laravel_tables(text)
    if rel.endswith((".ts", ".js", ".mts", ".mjs", ".cts", ".cjs")):
        return typeorm_entity_tables(text)
    if rel.endswith(".go"):
        from .gorm import model_tables as gorm_tables

        return gorm_tables(text)
    return {**(django_model_tables(rel, text) if "Model" in text else {}), **_model_tables(text)}


# Ecto: `defmodule App.Docs.Chunk do ... schema "chunks" do` (the next `schema` of the module, before another one)
_ECTO_SCHEMA = re.compile(r"""(?m)^\s*defmodule\s+(?:[\w.]+\.)?(?P<mod>[A-Z]\w*)\s+do\b(?:(?!^\s*defmodule\b)[\s\S])*?"""
                          r"""^\s*schema\s*\(?\s*"(?P<t>[^"]+)\"""")
# pgvector-elixir's Ecto functions on a query binding's field, `cosine_distance(c.embedding, ^v)`, its schema module
# the one `from c in Module` binds
_ECTO_FN = re.compile(r"\b(?P<fn>cosine_distance|l2_distance|max_inner_product)\s*\(\s*(?P<b>[a-z_]\w*)\.(?P<col>\w+)")
_ECTO_FN_DISTANCE = {"cosine_distance": "cosine", "l2_distance": "l2", "max_inner_product": "ip"}
_ECTO_FROM = re.compile(r"\bfrom\s*\(?\s*(?P<b>[a-z_]\w*)\s+in\s+(?:[\w.]+\.)?(?P<mod>[A-Z]\w*)")


def _ecto(rel: str, code: str) -> list[DistanceUse]:
    """pgvector-elixir's query functions in a file importing ``Pgvector.Ecto.Query``, on the schema module the
    binding names (``with_model_tables`` names its table)."""
    if "Pgvector.Ecto.Query" not in code:
        return []
    out = []
    for m in _ECTO_FN.finditer(code):
        bound = [f for f in _ECTO_FROM.finditer(code, 0, m.start()) if f.group("b") == m.group("b")]
        out.append(DistanceUse(rel, line_of(code, m.start()), _ECTO_FN_DISTANCE[m.group("fn")], "ecto", None,
                               m.group("col"), f"{m.group('fn')}()", bound[-1].group("mod") if bound else None,
                               _ecto_filters(code, m.start())))
    return out


_ELIXIR_DEF = re.compile(r"(?m)^\s*defp?\s+\w")
# a binding's field compared with a pinned value, `c.conversation_id == ^id` (a query's `where`)
_ECTO_EQUALS = re.compile(r"\b[a-z_]\w*\.(?P<col>[a-z_]\w*)\s*==\s*\^")


def _ecto_filters(code: str, at: int) -> tuple[str, ...]:
    """The columns the function around ``at`` keeps its query to by equality (``where: c.kind == ^k``,
    ``where(query, [c], c.conversation_id == ^id)``), in the order written."""
    starts = [d.start() for d in _ELIXIR_DEF.finditer(code)]
    begin = max((s for s in starts if s < at), default=0)
    end = min((s for s in starts if s > at), default=len(code))
    return tuple(dict.fromkeys(e.group("col") for e in _ECTO_EQUALS.finditer(code, begin, end)))


def with_model_tables(uses: Iterable[DistanceUse], tables: dict[str, str | None]) -> list[DistanceUse]:
    """Uses naming a model class of another module, with its table where one class of the repository has that name
    (``tables``: class -> table, None where two modules define it)."""
    return [replace(u, table=tables[u.model]) if u.table is None and u.model and tables.get(u.model) else u
            for u in uses]


# pgvector-python's Django functions: `L2Distance("embedding", q)`, `CosineDistance(F("embedding"), q)`.
_DJANGO = re.compile(r"(?<![\w.])(?:[\w.]*\.)?(?P<fn>CosineDistance|L2Distance|MaxInnerProduct)\s*\(\s*(?:F\(\s*)?"
                     r"""(?P<q>['"])(?P<col>\w+)(?P=q)""")
_DJANGO_FN = {"CosineDistance": "cosine", "L2Distance": "l2", "MaxInnerProduct": "ip"}
_DJANGO_MANAGER = re.compile(r"\b(?P<model>[A-Z]\w*)\.objects\b")


_DJANGO_FILTER = re.compile(r"\.filter\s*\(")
# an equality lookup: `project__id=`, `project_id=`, `kind=`, `kind__exact=` (not `created__gte=`, `name__in=`)
_DJANGO_EQUALS = re.compile(r"(?:^|,)\s*(?P<field>[a-z_]\w*?)(?P<id>__(?:id|pk))?(?:__exact)?\s*=(?!=)")


def _django_filters(query: str) -> tuple[str, ...]:
    """The columns a Django query chain keeps to by equality, in the order given (a relation's ``x__id`` is ``x_id``)."""
    found: list[str] = []
    for m in _DJANGO_FILTER.finditer(query):
        for f in _DJANGO_EQUALS.finditer(call_args(query, m.end() - 1)):
            if "__" not in f.group("field"):
                found.append(f.group("field") + ("_id" if f.group("id") else ""))
    return tuple(dict.fromkeys(found))


def _django(rel: str, code: str) -> list[DistanceUse]:
    out = []
    for m in finditer_where(_DJANGO, code, *_DJANGO_FN):
        line_start = code.rfind("\n", 0, max(0, m.start() - 300)) + 1
        managers = list(_DJANGO_MANAGER.finditer(code, line_start, m.start()))
        # The model whose manager the query starts from (its module may be another app's); else the class around.
        model = managers[-1].group("model") if managers else None
        table = None if model else django_table_at(rel, code, m.start())
        query = code[managers[-1].end():m.start()] if managers else ""
        out.append(DistanceUse(rel, line_of(code, m.start("fn")), _DJANGO_FN[m.group("fn")], "django", table,
                               m.group("col"), m.group("fn") + "()", model, _django_filters(query)))
    # HnswIndex / IvfflatIndex(fields=[...], opclasses=[...]) in a model's Meta or a migration's AddIndex.
    for m in finditer_at(re.compile(r"\b(?:HnswIndex|IvfflatIndex)\s*\("), code, "HnswIndex", "IvfflatIndex"):
        args = call_args(code, m.end() - 1)
        fields = re.search(r"""\bfields\s*=\s*[\[(]\s*['"](?P<c>\w+)['"]""", args)
        ops = re.search(r"""\bopclasses\s*=\s*[\[(]\s*['"](?P<op>\w+_ops)['"]""", args)
        distance = distance_of_opclass(ops.group("op")) if ops else None
        if distance:
            out.append(DistanceUse(rel, line_of(code, m.start()), distance, "django-index", django_table_at(rel, code, m.start()),
                                   fields.group("c") if fields else None, ops.group("op") if ops else ""))
    return out


def _sqlalchemy_indexes(rel: str, code: str) -> list[DistanceUse]:
    """``Index(..., postgresql_using="hnsw", postgresql_ops={"embedding": "vector_l2_ops"})`` and alembic's
    ``op.create_index(name, table, ...)`` with the same keywords."""
    out = []
    for m in finditer_at(re.compile(r"""\bpostgresql_ops\s*=\s*\{\s*['"](?P<c>\w+)['"]\s*:\s*['"](?P<op>\w+_ops)['"]"""), code,
                         "postgresql_ops"):
        distance = distance_of_opclass(m.group("op"))
        if not distance:
            continue
        call = re.search(r"""op\.create_index\(\s*['"][^'"]*['"]\s*,\s*['"](?P<t>[^'"]+)['"][^()]*(?:\([^()]*\)[^()]*)*$""",
                         code[max(0, m.start() - 600):m.start()])
        out.append(DistanceUse(rel, line_of(code, m.start("op")), distance, "sqlalchemy-index",
                               call.group("t") if call else None, m.group("c"), m.group("op")))
    return out


# drizzle-orm's helpers: `cosineDistance(docs.embedding, q)`; its index `.using("hnsw", t.embedding.op("vector_ip_ops"))`.
_DRIZZLE = re.compile(r"(?<![\w.$])(?P<fn>cosineDistance|l2Distance|innerProduct)\s*\(\s*(?P<var>[A-Za-z_$][\w$]*)\s*\.\s*"
                      r"(?P<prop>[A-Za-z_$][\w$]*)")
_DRIZZLE_FN = {"cosineDistance": "cosine", "l2Distance": "l2", "innerProduct": "ip"}
_DRIZZLE_INDEX = re.compile(r"""\.using\(\s*['"](?:hnsw|ivfflat)['"]\s*,\s*(?P<var>[A-Za-z_$][\w$]*)\s*\.\s*(?P<prop>[A-Za-z_$][\w$]*)"""
                            r"""\s*\.\s*op\(\s*['"](?P<op>\w+_ops)['"]""")


def _drizzle(rel: str, code: str) -> list[DistanceUse]:
    out = []
    for m in _DRIZZLE.finditer(code):
        table, column = _drizzle_column(code, m.group("var"), m.group("prop"), None)
        out.append(DistanceUse(rel, line_of(code, m.start()), _DRIZZLE_FN[m.group("fn")], "drizzle", table, column,
                               m.group("fn") + "()"))
    tables = drizzle_tables(code)
    for m in _DRIZZLE_INDEX.finditer(code):
        distance = distance_of_opclass(m.group("op"))
        if distance:
            # The table whose definition holds the index callback (its parameter is the table).
            around = [t for t in tables if t.start() < m.start()]
            table, column = _drizzle_column(code, None, m.group("prop"), around[-1] if around else None)
            out.append(DistanceUse(rel, line_of(code, m.start()), distance, "drizzle-index", table, column, m.group("op")))
    return out


def _drizzle_column(code: str, var: str | None, prop: str, table: re.Match | None) -> tuple[str | None, str]:
    """(table, column) of ``var.prop``: the ``pgTable("name", {prop: vector("column")})`` the file binds ``var`` to."""
    if table is None and var is not None:
        bound = re.search(rf"\b(?:const|let|var)\s+{re.escape(var)}\s*=\s*", code)
        table = _DRIZZLE_TABLE.match(code, bound.end()) if bound else None
    if table is None:
        return None, prop
    body = call_args(code, code.find("(", table.start() + table.group(0).find("(")), limit=6000)
    declared = re.search(rf"""(?<![\w$]){re.escape(prop)}\s*:\s*\w+\(\s*['"](?P<c>[^'"]+)['"]""", body)
    return table.group("t"), declared.group("c") if declared else prop


# LangChain.js's PrismaVectorStore (`PrismaVectorStore.withModel<T>(prisma).create(embeddings, config)`, or
# `new PrismaVectorStore(embeddings, config)`): its similarity search orders by `<=>`, the only distance it has.
_PRISMA_STORE = re.compile(r"\bPrismaVectorStore\s*\.\s*withModel\b|\bnew\s+PrismaVectorStore\s*\(")


def _langchain_prisma(rel: str, code: str) -> list[DistanceUse]:
    out = []
    for m in _PRISMA_STORE.finditer(code):
        at = code.index("PrismaVectorStore", m.start())
        if not _from_library(code, "PrismaVectorStore", at):
            continue  # the application's own class of that name
        if m.group(0).startswith("new"):
            opening = m.end() - 1
        else:
            model = re.compile(r"\s*(?:<[^>]*>)?\s*\(").match(code, m.end())
            if not model:
                continue
            after = model.end() - 1 + len(call_args(code, model.end() - 1)) + 2
            create = re.compile(r"\s*\.\s*create\s*\(").match(code, after)
            if not create:
                continue
            opening = create.end() - 1
        positional = _positional(call_args(code, opening))
        config = _config_object(code, positional[1]) if len(positional) > 1 else ""
        out.append(DistanceUse(rel, line_of(code, at), "cosine", "langchain", _js_name(code, config, "tableName"),
                               _js_name(code, config, "vectorColumnName"), "PrismaVectorStore's <=>"))
    return out


# Rails: neighbor's `nearest_neighbors(:embedding, q, distance: "cosine")`; a migration's or schema.rb's index.
_RAILS_NEIGHBORS = re.compile(r"""(?:\b(?P<model>[A-Z]\w*)\.)?\bnearest_neighbors\(\s*[:'"](?P<col>\w+)['"]?""")
_RAILS_DISTANCE = {"cosine": "cosine", "euclidean": "l2", "inner_product": "ip"}
_RAILS_INDEX = re.compile(r"""(?m)^[ \t]*(?:add_index\s*\(?\s*[:'"](?P<t>\w+)['"]?\s*,\s*|t\.index\s*\(?\s*)"""
                          r"""(?:\[\s*)?[:'"](?P<c>\w+)['"]?[^\n]*\bopclass:\s*[:'"]?(?P<op>\w+_ops)""")
_RAILS_TABLE = re.compile(r"""\bcreate_table\s*\(?\s*[:'"](?P<t>\w+)""")


def _rails(rel: str, code: str) -> list[DistanceUse]:
    out = []
    for m in _RAILS_NEIGHBORS.finditer(code):
        args = call_args(code, code.index("(", code.index("nearest_neighbors", m.start())))
        d = re.search(r"""\bdistance:\s*[:'"](?P<d>\w+)""", args)
        distance = _RAILS_DISTANCE.get(d.group("d")) if d else None
        if distance:
            out.append(DistanceUse(rel, line_of(code, m.start()), distance, "rails", None, m.group("col"),
                                   f'distance: "{d.group("d")}"' if d else ""))
    tables = list(_RAILS_TABLE.finditer(code))
    for m in _RAILS_INDEX.finditer(code):
        distance = distance_of_opclass(m.group("op"))
        if distance:
            table = m.group("t") or next((t.group("t") for t in reversed(tables) if t.start() < m.start()), None)
            out.append(DistanceUse(rel, line_of(code, m.start("op")), distance, "rails-index", table, m.group("c"),
                                   m.group("op")))
    return out


# pgvector-php's Laravel trait: `->nearestNeighbors('embedding', $v, Distance::Cosine)` (on a model's own row, no
# vector: `$item->nearestNeighbors('embedding', Distance::L2)`).
_LARAVEL_NEIGHBORS = re.compile(r"""->\s*nearestNeighbors\s*\(\s*(['"])(?P<col>\w+)\1[^;]*?\bDistance\s*::\s*(?P<d>\w+)""")
_LARAVEL_DISTANCE = {"L2": "l2", "Cosine": "cosine", "InnerProduct": "ip"}
_LARAVEL_CLASS = re.compile(r"\bclass\s+(?P<cls>\w+)\s+extends\s+\w*Model\b")
_LARAVEL_TABLE = re.compile(r"""\bprotected\s+\$table\s*=\s*(['"])(?P<t>[^'"]+)\1""")


# The builder's raw fragments, `->orderByRaw('embedding <=> ?::vector', [$v])` (selectRaw, whereRaw, havingRaw): SQL
# with no statement around it to say its table, which is the one the chain starts from: a model's (`Lyric::query()`,
# ``with_model_tables`` names its table) or `DB::table('t')`'s.
_LARAVEL_RAW = re.compile(r"""->\s*(?:orderBy|select|where|orWhere|having)Raw\s*\(\s*(['"])(?P<sql>(?:(?!\1)[^\\]|\\.)*)\1""")
_LARAVEL_RAW_OPERATOR = re.compile(rf"(?P<c>{_QUALIFIED})\s*(?:::\s*\w+\s*)?(?P<op><=>|<->|<#>)")
_LARAVEL_CHAIN_FROM = re.compile(r"""\bDB\s*::\s*table\s*\(\s*(['"])(?P<t>\w+)\1|\b(?P<cls>[A-Z]\w*)\s*::\s*\w+\s*\(""")


def _laravel(rel: str, code: str) -> list[DistanceUse]:
    """pgvector-php's ``nearestNeighbors`` in an Eloquent model, on its table: ``$table``, else Laravel's convention
    (``BlogPost`` -> ``blog_posts``); the operators of the builder's raw fragments."""
    name = next(iter(_laravel_tables(code).values()), None)
    out = [DistanceUse(rel, line_of(code, m.start()), distance, "laravel", name, m.group("col"),
                       f"Distance::{m.group('d')}")
           for m in _LARAVEL_NEIGHBORS.finditer(code) if (distance := _LARAVEL_DISTANCE.get(m.group("d")))]
    for m in _LARAVEL_RAW.finditer(code):
        begin = max(code.rfind(c, 0, m.start()) for c in ";{}")
        chain = _LARAVEL_CHAIN_FROM.search(code, begin + 1, m.start())
        cls = chain.group("cls") if chain and chain.group("cls") not in (None, "DB") else None
        for op in _LARAVEL_RAW_OPERATOR.finditer(m.group("sql")):
            column = op.group("c").split(".")[-1].strip('"')
            if column.lower() in _KEYWORDS:
                continue
            out.append(DistanceUse(rel, line_of(code, m.start("sql") + op.start("op")),
                                   distances_in_sql(op.group("op")).pop(), "laravel",
                                   chain.group("t") if chain else None, column, op.group("op"), cls))
    return out


# TypeORM's query builder: SQL fragments with no statement around them (`.addSelect('1 - (c.embedding <=> :q::vector)')`,
# `.where(...)`, `.orderBy(...)`) on the alias `createQueryBuilder('c')` gives to a repository of an entity
# (`@InjectRepository(Chunk) private repo`, `repo: Repository<Chunk>`, `getRepository(Chunk)`) or names with the entity
# (`manager.createQueryBuilder(Chunk, 'c')`): ``with_model_tables`` names the entity's table.
_TYPEORM_BUILDER = re.compile(r"""\.\s*createQueryBuilder\(\s*(?:(?P<cls>[A-Z]\w*)\s*,\s*)?(['"`])(?P<alias>\w+)\2""")
# The builder's receiver, read backwards from its `.createQueryBuilder(` within the few characters before it: a pattern
# that looked for it forwards from every word of the file took minutes on a minified bundle (quadratic in a long
# run of word characters).
_TYPEORM_RECEIVER = re.compile(r"""(?<![\w$.])(?P<recv>[\w$.]*(?:getRepository\(\s*(?P<repo>[A-Z]\w*)\s*\))?)\s*\Z""")
_RECEIVER_SPAN = 200
_TYPEORM_FRAGMENT = re.compile(r"""\.\s*(?:(?:add|and|or)(?:Select|Where|OrderBy)|select|where|orderBy|having|andHaving)"""
                               r"""\(\s*(['"`])(?P<sql>(?:(?!\1)[^\\]|\\.)*)\1""")


def _typeorm(rel: str, code: str) -> list[DistanceUse]:
    """The distance operators of a TypeORM query builder's fragments, tied to the builder's entity by its alias."""
    out: list[DistanceUse] = []
    if "createQueryBuilder" not in code:
        return out
    for b in _TYPEORM_BUILDER.finditer(code):
        end = code.find(";", b.end())
        before = _TYPEORM_RECEIVER.search(code, max(0, b.start() - _RECEIVER_SPAN), b.start())
        recv, repo = (before.group("recv"), before.group("repo")) if before else ("", None)
        entity = b.group("cls") or repo or _typeorm_repository_entity(code, recv.rsplit(".", 1)[-1])
        for f in _TYPEORM_FRAGMENT.finditer(code, b.end(), end if end >= 0 else len(code)):
            for op in _LARAVEL_RAW_OPERATOR.finditer(f.group("sql")):
                alias, _, column = op.group("c").rpartition(".")
                if column.lower() in _KEYWORDS:
                    continue
                mine = alias in ("", b.group("alias"))  # another alias is a join's: its entity is not known here
                out.append(DistanceUse(rel, line_of(code, f.start("sql") + op.start("op")),
                                       distances_in_sql(op.group("op")).pop(), "typeorm", None, column.strip('"'),
                                       op.group("op"), entity if mine else None))
    return out


def _typeorm_repository_entity(code: str, name: str) -> str | None:
    """The entity of the repository a file holds under ``name`` (a constructor parameter or a property)."""
    if not name:
        return None
    n = re.escape(name)
    m = (re.search(rf"@InjectRepository\(\s*(?P<cls>[A-Z]\w*)\s*\)\s*(?:(?:private|protected|public|readonly)\s+)*{n}\b", code)
         or re.search(rf"\b{n}\s*[?!]?\s*:\s*Repository\s*<\s*(?P<cls>[A-Z]\w*)\s*>", code)
         or re.search(rf"\b{n}\s*=\s*[\w$.]*getRepository\(\s*(?P<cls>[A-Z]\w*)\s*\)", code))
    return m.group("cls") if m else None


# GORM's raw fragments: `.Order("embedding <=> ?")`, `.Select(...)`, `.Where(...)`, a clause's `clause.Expr{SQL:
# "embedding <=> ?"}`: SQL with no statement around it to say its table, which is the chain's `.Table("t")`, else the
# model of its `.Model(&T{})` or of the variable its Find/First/Take/Scan fills (``with_model_tables`` names its
# table from the repository's GORM models).
_GORM_FRAGMENT = re.compile(r"""(?:\.\s*(?:Order|Select|Where|Or|Having)\s*\(|\bSQL\s*:)\s*(["`])(?P<sql>(?:(?!\1)[^\\]|\\.)*)\1""")
_GORM_SPAN = 600  # a chain's reach either side of its fragment
_GORM_TABLE = re.compile(r"""\.\s*Table\s*\(\s*"(?P<t>[^"]+)"|\.\s*Model\s*\(\s*&\s*(?:\w+\.)?(?P<m>[A-Z]\w*)\s*\{""")
_GORM_FILLS = re.compile(r"""\.\s*(?:Find|First|Last|Take|Scan)\s*\(\s*&\s*(?P<v>[A-Za-z_]\w*)""")


def _gorm(rel: str, code: str) -> list[DistanceUse]:
    """The distance operators of GORM's raw fragments, on the chain's table or model."""
    out = []
    for f in _GORM_FRAGMENT.finditer(code):
        if _SQL_WORDS.search(f.group("sql")):
            continue  # a statement of its own: read as SQL
        # the chain: back to a blank line or a function's start, on to the next (Go's statements have no `;`)
        begin = max(code.rfind("\n\n", 0, f.start()), code.rfind("\nfunc", 0, f.start()), f.start() - _GORM_SPAN, 0)
        end = min([x for x in (code.find("\n\n", f.end()), code.find("\nfunc", f.end())) if x >= 0]
                  + [f.end() + _GORM_SPAN])
        said = list(_GORM_TABLE.finditer(code, begin, f.start()))
        after = _GORM_TABLE.search(code, f.end(), end)
        fills = _GORM_FILLS.search(code, f.end(), end)
        table = said[-1].group("t") if said and said[-1].group("t") else after.group("t") if after else None
        model = (said[-1].group("m") if said else None) or (after.group("m") if after else None) or (
            _go_variable_type(code, fills.group("v"), f.start()) if fills else None)
        for op in _LARAVEL_RAW_OPERATOR.finditer(f.group("sql")):
            column = op.group("c").split(".")[-1].strip('"')
            if column.lower() in _KEYWORDS:
                continue
            out.append(DistanceUse(rel, line_of(code, f.start("sql") + op.start("op")),
                                   distances_in_sql(op.group("op")).pop(), "gorm", table, column, op.group("op"),
                                   None if table else model))
    return out


def _go_variable_type(code: str, name: str, before: int) -> str | None:
    """The struct type (its last name) a Go variable is declared with before ``before``: `var v []pkg.T`, `var v
    pkg.T`, `v := []pkg.T{}`, `v := pkg.T{}`."""
    n = re.escape(name)
    decls = list(re.finditer(rf"\bvar\s+{n}\s+(?:\[\]\s*)?\*?(?:\w+\.)?(?P<t>[A-Z]\w*)"
                             rf"|\b{n}\s*:=\s*&?(?:\[\]\s*)?\*?(?:\w+\.)?(?P<t2>[A-Z]\w*)\s*\{{", code[:before]))
    return (decls[-1].group("t") or decls[-1].group("t2")) if decls else None


def _laravel_tables(code: str) -> dict[str, str]:
    """The Eloquent model class of a PHP file with its table: ``$table``, else Laravel's convention."""
    from ..discover import model_table

    cls, table = _LARAVEL_CLASS.search(code), _LARAVEL_TABLE.search(code)
    return {cls.group("cls"): table.group("t") if table else model_table(cls.group("cls"))} if cls else {}


# Pgvector.EntityFrameworkCore's LINQ helpers on an entity's property: `d.Embedding.CosineDistance(q)` (the
# property's column: ``harness.locate.dotnet.with_columns``).
_EFCORE = re.compile(r"\.\s*(?P<prop>[A-Z]\w*)\s*!?\s*\.\s*(?P<fn>CosineDistance|L2Distance|MaxInnerProduct)\s*\(")


# Npgsql's vector index on one property, in a statement: OnModelCreating's `HasIndex(e => e.Embedding).HasMethod("hnsw")
# .HasOperators("vector_cosine_ops")`, the model snapshot's `HasOperators(b.HasIndex("Embedding"), new[] { "..." })`
# (or `.HasAnnotation("Npgsql:IndexOperators", ...)`), a migration's `CreateIndex(table: "t", column: "c")
# .Annotation("Npgsql:IndexOperators", new[] { "..." })` (the column there is the table's own).
_EF_INDEX_ON = re.compile(r"""\bHasIndex\(\s*(?:\w+\s*=>\s*\w+\s*\.\s*(?P<prop>\w+)|"(?P<prop2>\w+)")\s*\)"""
                          r"""|\bCreateIndex\s*\(""")
_EF_OPERATORS = re.compile(r'\bHasOperators\s*\(|"Npgsql:IndexOperators"')
_EF_OPCLASS = re.compile(r'"(?P<op>\w+_ops)"')


def _efcore(rel: str, code: str) -> list[DistanceUse]:
    out = [DistanceUse(rel, line_of(code, m.start("fn")), _DJANGO_FN[m.group("fn")], "efcore", None, m.group("prop"),
                       f"{m.group('fn')}()") for m in _EFCORE.finditer(code)]
    if rel.endswith(".Designer.cs"):  # the model as one migration left it: history, not the model now (the snapshot)
        return out
    for statement in re.finditer(r"[^;]+", code):
        on, ops = _EF_INDEX_ON.search(statement.group(0)), _EF_OPERATORS.search(statement.group(0))
        op = _EF_OPCLASS.search(code, statement.start() + ops.end(), statement.end()) if on and ops else None
        distance = distance_of_opclass(op.group("op")) if op else None
        if on is None or op is None or distance is None:
            continue
        table = column = None
        if on.group(0).startswith("CreateIndex"):
            args = call_args(statement.group(0), on.end() - 1)
            table, column = (m.group(1) if (m := re.search(rf'\b{key}:\s*"(\w+)"', args)) else None
                             for key in ("table", "column"))
        if column or on.group("prop") or on.group("prop2"):
            out.append(DistanceUse(rel, line_of(code, op.start("op")), distance, "efcore-index", table,
                                   column or on.group("prop") or on.group("prop2"), op.group("op")))
    return out


# -- one column's answer --------------------------------------------------------------------------------------------

def for_column(uses: Iterable[DistanceUse], name: str, qualified: str, column: str,
               vector_columns: Iterable[tuple[str | None, str | None]]) -> list[DistanceUse]:
    """The uses that speak of this table's column: those naming both; naming the column alone where no other table's
    vector column is so named; naming neither where the repository and database hold one vector column only.
    ``vector_columns``: (table, column) of every vector column known (the database's, the code's declarations)."""
    this = _bare(qualified)
    # A declaration of this column name whose table the code does not say is taken for this one.
    known = {(_bare(t) if t is not None else this if c == column else None, c) for t, c in vector_columns if c}
    others_so_named = {t for t, c in known if c == column and t not in (None, this, _bare(name))}
    only_one = {(this, column)} >= {(t if t != _bare(name) else this, c) for t, c in known}
    out = []
    for u in uses:
        if u.table is not None and u.column is not None:
            ok = _bare(u.table) in (this, _bare(name)) and u.column == column
        elif u.column is not None:
            ok = u.column == column and not others_so_named
        else:
            ok = only_one and (u.table is None or _bare(u.table) in (this, _bare(name)))
        if ok:
            out.append(u)
    return out


def _bare(table: str | None) -> str | None:
    """A table name without quotes, the ``public.`` schema spelled out the same way as unqualified."""
    if table is None:
        return None
    name = table.replace('"', "")
    return name[len("public."):] if name.startswith("public.") else name


__all__ = ["DistanceUse", "for_column", "has_distances", "model_tables", "scan", "with_model_tables"]
