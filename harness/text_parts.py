"""A ``chunks.text`` item with constant labels around the chunk's values: ``"title: {title}"`` embeds the column's value
after ``title: ``. Applications compose what they embed so (pydantic-ai's RAG example: ``path: ...``, ``title: ...``,
the content, joined by blank lines); a part the application derives from a stored column is a SQL expression over the
chunk's columns in the braces (``{regexp_replace(url, '...', '...')}``). A part with a NULL value is left out, as a
NULL column is (``concat_ws``); ``{{`` and ``}}`` are literal braces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import sqlexpr

_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(->>(?:[A-Za-z_][A-Za-z0-9_$]*|'[^']*'))?$")


@dataclass(frozen=True)
class Piece:
    kind: str  # "literal", "field" (a column or column->>key) or "sql" (an expression over the chunk's columns)
    value: str


def is_template(item: str) -> bool:
    """Whether a ``chunks.text`` item is a labelled part rather than a field name."""
    return "{" in item or "}" in item


def parse(item: str) -> tuple[Piece, ...]:
    """The pieces of a labelled part; ValueError saying what is wrong with it."""
    pieces: list[Piece] = []
    literal, i = "", 0
    while i < len(item):
        ch = item[i]
        if item.startswith(("{{", "}}"), i):
            literal += ch
            i += 2
            continue
        if ch == "}":
            raise ValueError(f"{item!r} has a '}}' that closes no '{{' (a literal brace is written '}}}}')")
        if ch != "{":
            literal += ch
            i += 1
            continue
        end = _closing(item, i)
        if end < 0:
            raise ValueError(f"{item!r} has a '{{' that is not closed (a literal brace is written '{{{{')")
        inner = item[i + 1:end].strip()
        if item[end] == "{":
            raise ValueError(f"{item!r} has a '{{' inside braces; expected one column or SQL expression per pair of braces")
        if literal:
            pieces.append(Piece("literal", literal))
            literal = ""
        if _FIELD.match(inner):
            pieces.append(Piece("field", inner))
        else:
            why = sqlexpr.problem(inner)
            if why is not None:
                raise ValueError(f"{item!r} has {{{inner}}}, which is neither a column nor one SQL expression: {why}")
            pieces.append(Piece("sql", inner))
        i = end + 1
    if literal:
        pieces.append(Piece("literal", literal))
    if not any(p.kind != "literal" for p in pieces):
        raise ValueError(f"{item!r} names no column in braces: every chunk would embed the same words; expected "
                         "'label {column}', or chunks.text_prefix for words before every text")
    return tuple(pieces)


def _closing(item: str, start: int) -> int:
    """The index of the '}' closing the '{' at ``start``, or of a '{' opened before it, outside the expression's quoted
    literals and identifiers (a JSON '{}' in quotes is the expression's); -1 where none closes it."""
    quote = ""
    for j in range(start + 1, len(item)):
        ch = item[j]
        if quote:
            quote = "" if ch == quote else quote  # a doubled quote closes and reopens: still inside
        elif ch in "'\"":
            quote = ch
        elif ch in "{}":
            return j
    return -1


def fields(item: str) -> tuple[str, ...]:
    """The columns (or ``column->>key``) an item reads by name: the item itself, or a template's fields."""
    if not is_template(item):
        return (item,)
    return tuple(p.value for p in parse(item) if p.kind == "field")


def other_rows_read(items: tuple[str, ...]) -> tuple[str, ...]:
    """The SQL parts of ``chunks.text``-form items that read rows besides the chunk's own (a subquery: a parent's
    title): an edit of those rows changes the text embedded and stamps no time of the chunk's row."""
    return tuple(piece.value for item in items if is_template(item) for piece in parse(item)
                 if piece.kind == "sql" and _SUBQUERY.search(re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"", " ", piece.value)))


_SUBQUERY = re.compile(r"\b(?:select|table|values)\b", re.IGNORECASE)


def fields_read(items: tuple[str, ...], columns: set[str]) -> set[str]:
    """What ``chunks.text``-form items read of a row: each field as named (``body``, ``meta->>title``), and each of
    ``columns`` an expression names (outside its string literals; an unquoted name as Postgres folds it)."""
    read: set[str] = set()
    for item in items:
        for piece in parse(item) if is_template(item) else (Piece("field", item),):
            if piece.kind == "field":
                read.add(piece.value)
            elif piece.kind == "sql":
                bare = re.sub(r"'(?:[^']|'')*'", " ", piece.value)
                names = {quoted.replace('""', '"') if quoted else word.lower()
                         for quoted, word in re.findall(r'"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*)', bare)}
                read |= names & columns
    return read

