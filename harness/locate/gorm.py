"""GORM models (Go): a struct field tagged `gorm:"type:vector(N)"`, or typed pgvector-go's Vector in a struct GORM
maps, declares a vector column on the table GORM names after the struct (or its TableName method)."""

from __future__ import annotations

import re

from .literals import call_args, line_of
from .schema import VectorDeclaration

_STRUCT = re.compile(r"\btype\s+(?P<name>[A-Za-z_]\w*)\s+struct\s*\{")
# a field: its name, its type, its tag (a raw string)
_FIELD = re.compile(r"(?m)^[ \t]*(?P<f>[A-Za-z_]\w*)[ \t]+(?P<t>[\w.*\[\]]+)[ \t]*`(?P<tag>[^`]*)`")
_GORM_TAG = re.compile(r'\bgorm:"(?P<g>[^"]*)"')
_TYPE = re.compile(r"(?i)(?:^|;)\s*type\s*:\s*(?P<type>vector|halfvec|sparsevec)\s*(?:\(\s*(?P<n>\d+)\s*\))?")
_COLUMN = re.compile(r"(?:^|;)\s*column\s*:\s*(?P<c>\w+)")
# pgvector-go's types, which GORM maps to these columns where no `type:` says otherwise
_PGVECTOR_TYPES = {"Vector": "vector", "HalfVector": "halfvec", "SparseVector": "sparsevec"}
_PGVECTOR_TYPE = re.compile(r"^\*?pgvector\.(?P<t>Vector|HalfVector|SparseVector)$")
_TABLE_NAME = r'\bfunc\s*\(\s*(?:\w+\s+)?\*?\s*{name}\s*\)\s*TableName\s*\(\s*\)\s*string\s*\{{\s*return\s*"(?P<t>[^"]+)"'
# jinzhu/inflection, which GORM's NamingStrategy pluralizes with: its irregular and uncountable words, then its rules
_IRREGULAR = {"person": "people", "man": "men", "child": "children", "sex": "sexes", "move": "moves",
              "mombie": "mombies"}
_UNCOUNTABLE = {"equipment", "information", "rice", "money", "species", "series", "fish", "sheep", "jeans", "police"}
_PLURALS = ((r"(quiz)$", r"\1zes"), (r"^(oxen)$", r"\1"), (r"^(ox)$", r"\1en"), (r"(matr|vert|ind)(?:ix|ex)$", r"\1ices"),
            (r"(x|ch|ss|sh)$", r"\1es"), (r"([^aeiouy]|qu)y$", r"\1ies"), (r"(hive)$", r"\1s"),
            (r"(?:([^f])fe|([lr])f)$", r"\1\2ves"), (r"sis$", "ses"), (r"([ti])um$", r"\1a"),
            (r"(buffal|tomat)o$", r"\1oes"), (r"(bu)s$", r"\1ses"), (r"(alias|status)$", r"\1es"),
            (r"(octop|vir)us$", r"\1i"), (r"(ax|test)is$", r"\1es"), (r"s$", "s"), (r"$", "s"))


def declarations(rel: str, code: str, covered: set[int]) -> list[VectorDeclaration]:
    """The vector columns of the GORM models of one Go file (``code`` without its comments); each line is added to
    ``covered``, so the SQL reading of the same text does not declare it again without its table."""
    out = []
    for s in _STRUCT.finditer(code):
        body = call_args(code, s.end() - 1, limit=20000)
        fields = list(_FIELD.finditer(body))
        gorm_model = any(_GORM_TAG.search(f.group("tag")) for f in fields) or '"gorm.io/gorm"' in code
        for f in fields:
            tag = _GORM_TAG.search(f.group("tag"))
            given = tag.group("g") if tag else ""
            typed = _TYPE.search(given)
            go_type = _PGVECTOR_TYPE.match(f.group("t"))
            if typed is None and (go_type is None or not gorm_model or "-" == given.strip()):
                continue
            kind = typed.group("type").lower() if typed else _PGVECTOR_TYPES[go_type.group("t")] if go_type else "vector"
            column = _COLUMN.search(given)
            line = line_of(code, s.end() + f.start("f"))
            covered.add(line)
            out.append(VectorDeclaration(rel, line, int(typed.group("n")) if typed and typed.group("n") else None,
                                         "gorm", table_name(code, s.group("name")),
                                         column.group("c") if column else snake(f.group("f")), kind))
    return out


def model_tables(code: str) -> dict[str, str]:
    """The GORM models of a Go file (structs whose fields carry gorm tags) with their tables."""
    return {s.group("name"): table_name(code, s.group("name")) for s in _STRUCT.finditer(code)
            if any(_GORM_TAG.search(f.group("tag")) for f in _FIELD.finditer(call_args(code, s.end() - 1, limit=20000)))}


def table_name(code: str, struct: str) -> str:
    """The struct's TableName method's literal, else GORM's default: its name in snake case, plural."""
    given = re.search(_TABLE_NAME.format(name=re.escape(struct)), code)
    return given.group("t") if given else plural(snake(struct))


def snake(name: str) -> str:
    """GORM's column name for a Go name: words split where case changes, an initialism kept whole (DocID: doc_id)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def plural(name: str) -> str:
    """inflection.Plural of a snake-case name: its last word made plural."""
    head, _, word = name.rpartition("_")
    if word in _UNCOUNTABLE:
        return name
    if word in _IRREGULAR:
        return f"{head}_{_IRREGULAR[word]}" if head else _IRREGULAR[word]
    for pattern, replacement in _PLURALS:
        if re.search(pattern, name):
            return re.sub(pattern, replacement, name, count=1)
    return name + "s"
