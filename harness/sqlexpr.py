"""SQL expressions the profile's owner writes (``embeddings.defaults``): checked to be one expression, then composed.

The owner's SQL is trusted as SQL, but only as a single value expression: no statement
separator, no comment, no dollar quoting, balanced parentheses outside quotes. Placeholders
(``{dims}``, ``{model}``) become ``psycopg.sql.Literal`` values, never formatted text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from psycopg import sql

PLACEHOLDERS = ("dims", "model", "collection")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def problem(expression: str) -> str | None:
    """Why ``expression`` is not one SQL value expression (None when it is)."""
    if not expression.strip():
        return "it is empty"
    depth, i, n = 0, 0, len(expression)
    while i < n:
        ch = expression[i]
        if ch in "'\"":
            if ch == "'" and i > 0 and expression[i - 1] in "eE" and (i < 2 or not expression[i - 2].isalnum()):
                return "escape strings (E'...') are not accepted; expected a plain '...' literal"
            end = _closing(expression, i, ch)
            if end is None:
                return f"a {ch} quote is not closed"
            i = end + 1
            continue
        if ch == ";":
            return "it contains ';' (one expression, not statements)"
        if expression.startswith("--", i) or expression.startswith("/*", i):
            return "it contains a comment"
        if ch == "$":
            return "it contains '$' (dollar quoting or parameters are not accepted)"
        if ch == "%":
            return "it contains '%' (read as a parameter marker); expected no '%'"
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return "a ')' closes more than it opened"
        i += 1
    if depth:
        return "a '(' is not closed"
    unknown = sorted({m.group(1) for m in _PLACEHOLDER.finditer(_outside_quotes(expression))} - set(PLACEHOLDERS))
    if unknown:
        return f"placeholder {{{unknown[0]}}} is not known; expected one of " + ", ".join("{%s}" % p for p in PLACEHOLDERS)
    return None


def compose(expression: str, values: Mapping[str, Any]) -> sql.Composed:
    """The checked expression in parentheses, placeholders outside quotes replaced by literals."""
    parts: list[sql.Composable] = [sql.SQL("(")]
    for chunk, quoted in _segments(expression):
        if quoted:
            parts.append(sql.SQL(chunk))
            continue
        last = 0
        for match in _PLACEHOLDER.finditer(chunk):
            parts.append(sql.SQL(chunk[last:match.start()]))
            parts.append(sql.Literal(values[match.group(1)]))
            last = match.end()
        parts.append(sql.SQL(chunk[last:]))
    parts.append(sql.SQL(")"))
    return sql.Composed(parts)


def _closing(text: str, start: int, quote: str) -> int | None:
    i = start + 1
    while i < len(text):
        if text[i] == quote:
            if i + 1 < len(text) and text[i + 1] == quote:  # doubled quote inside the literal
                i += 2
                continue
            return i
        i += 1
    return None


def _segments(text: str) -> list[tuple[str, bool]]:
    """(text, inside quotes) pieces of an expression that ``problem`` accepted."""
    out, i, start = [], 0, 0
    while i < len(text):
        if text[i] in "'\"":
            end = cast(int, _closing(text, i, text[i]))  # problem() refuses an unclosed quote
            out.append((text[start:i], False))
            out.append((text[i:end + 1], True))
            i = start = end + 1
            continue
        i += 1
    out.append((text[start:], False))
    return out


def _outside_quotes(text: str) -> str:
    return "".join(chunk for chunk, quoted in _segments(text) if not quoted)
