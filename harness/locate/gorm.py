"""Go ORM models, GORM's and uptrace/bun's: a struct field tagged `gorm:"type:vector(N)"` (`bun:"type:vector(N)"`),
or typed pgvector-go's Vector in a struct the ORM maps, declares a vector column on the table the ORM names after the
struct (GORM's TableName method, bun's `bun.BaseModel` table tag). Both name it alike: snake case, plural."""

from __future__ import annotations

import re

from .literals import call_args, line_of
from .schema import VectorDeclaration

_STRUCT = re.compile(r"\btype\s+(?P<name>[A-Za-z_]\w*)\s+struct\s*\{")
# a field: its name, its type, its tag (a raw string)
_FIELD = re.compile(r"(?m)^[ \t]*(?P<f>[A-Za-z_]\w*)[ \t]+(?P<t>[\w.*\[\]]+)[ \t]*`(?P<tag>[^`]*)`")
# the ORM's tag: GORM's options separated by `;`, bun's by `,`
_ORM_TAG = re.compile(r'\b(?P<orm>gorm|bun):"(?P<g>[^"]*)"')
_TYPE = re.compile(r"(?i)(?:^|[;,])\s*type\s*:\s*(?P<type>vector|halfvec|sparsevec)\s*(?:\(\s*(?P<n>\d+)\s*\))?")
_COLUMN = re.compile(r"(?:^|;)\s*column\s*:\s*(?P<c>\w+)")  # GORM's `column:name`
_BUN_COLUMN = re.compile(r"^\s*(?P<c>\w+)\s*(?:,|$)")  # bun's first item, where it has no colon: the column's name
_ORM_IMPORT = re.compile(r'"(?P<orm>gorm)\.io/gorm"|"github\.com/uptrace/(?P<bun>bun)"')
# pgvector-go's types, which GORM maps to these columns where no `type:` says otherwise
_PGVECTOR_TYPES = {"Vector": "vector", "HalfVector": "halfvec", "SparseVector": "sparsevec"}
_PGVECTOR_TYPE = re.compile(r"^\*?pgvector\.(?P<t>Vector|HalfVector|SparseVector)$")
_TABLE_NAME = r'\bfunc\s*\(\s*(?:\w+\s+)?\*?\s*{name}\s*\)\s*TableName\s*\(\s*\)\s*string\s*\{{\s*return\s*"(?P<t>[^"]+)"'
# bun's embedded `bun.BaseModel \`bun:"table:name,alias:x"\``
_BUN_TABLE = re.compile(r'(?m)^[ \t]*bun\s*\.\s*BaseModel[ \t]*`[^`]*\bbun:"(?:[^"]*,)?\s*table\s*:\s*(?P<t>[\w.]+)')
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
    """The vector columns of the GORM and bun models of one Go file (``code`` without its comments); each line is
    added to ``covered``, so the SQL reading of the same text does not declare it again without its table."""
    out = []
    imported = _ORM_IMPORT.search(code)
    for s in _STRUCT.finditer(code):
        body = call_args(code, s.end() - 1, limit=20000)
        fields = list(_FIELD.finditer(body))
        tagged = [t.group("orm") for f in fields for t in _ORM_TAG.finditer(f.group("tag"))]
        orm = tagged[0] if tagged else imported and (imported.group("orm") or imported.group("bun"))
        for f in fields:
            tag = next((t for t in _ORM_TAG.finditer(f.group("tag")) if t.group("orm") == orm), None)
            given = tag.group("g") if tag else ""
            typed = _TYPE.search(given)
            go_type = _PGVECTOR_TYPE.match(f.group("t"))
            if typed is None and (go_type is None or not orm or "-" == given.strip()):
                continue
            kind = typed.group("type").lower() if typed else _PGVECTOR_TYPES[go_type.group("t")] if go_type else "vector"
            column = (_BUN_COLUMN if orm == "bun" else _COLUMN).search(given)
            line = line_of(code, s.end() + f.start("f"))
            covered.add(line)
            out.append(VectorDeclaration(rel, line, int(typed.group("n")) if typed and typed.group("n") else None,
                                         str(orm), table_name(code, s.group("name"), body),
                                         column.group("c") if column else snake(f.group("f")), kind))
    return out


def model_tables(code: str) -> dict[str, str]:
    """The GORM and bun models of a Go file (structs whose fields carry their tags) with their tables."""
    out = {}
    for s in _STRUCT.finditer(code):
        body = call_args(code, s.end() - 1, limit=20000)
        if any(_ORM_TAG.search(f.group("tag")) for f in _FIELD.finditer(body)):
            out[s.group("name")] = table_name(code, s.group("name"), body)
    return out


def table_name(code: str, struct: str, body: str = "") -> str:
    """The struct's TableName method's literal (GORM) or its bun.BaseModel's `table:` (bun, in ``body``), else the
    default both ORMs take: its name in snake case, plural."""
    given = re.search(_TABLE_NAME.format(name=re.escape(struct)), code) or _BUN_TABLE.search(body)
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
