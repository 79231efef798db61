"""Where a file's comments and string literals are: so that what a comment shows is never read as code."""

from __future__ import annotations

import bisect
import re

from .files import once


def in_strings(pos: int, strings: list[tuple[int, int]]) -> bool:
    """Whether ``pos`` lies in one of ``lex``'s string spans (in order, none overlapping): found by bisection, as a
    file's every match is asked about (a scan of every span each time was quadratic in a large file)."""
    i = bisect.bisect_right(strings, (pos, float("inf"))) - 1
    return i >= 0 and strings[i][0] <= pos < strings[i][1]


# The only characters other than ASCII letters that re.IGNORECASE matches to an ASCII letter (Python's re docs: İ, ı,
# ſ, the Kelvin sign); ``İ`` is also the one character whose lower case is two long.
_CASE_TWINS = ("\u0130", "\u0131", "\u017f", "\u212a")


def folded(text: str) -> str | None:
    """``text.lower()``, in which an ASCII word occurs exactly where a case-insensitive pattern finds it (a substring test
    is many times cheaper than the pattern); None where a character the pattern folds otherwise occurs: ask the pattern."""
    if not text.isascii() and any(c in text for c in _CASE_TWINS):
        return None
    return text.lower()


def lex(text: str, lang: str) -> tuple[str, list[tuple[int, int]]]:
    """``_lex``, once per text and language within ``files.one_look``: locate's scanners and a contract's reading each
    lexed the same file again (a copy of the spans: a caller may change its list)."""
    code, strings = once(("lex", text, lang), lambda: _frozen(_lex(text, lang)))
    return code, list(strings)


def _frozen(lexed: tuple[str, list[tuple[int, int]]]) -> tuple[str, tuple[tuple[int, int], ...]]:
    return lexed[0], tuple(lexed[1])


def _lex(text: str, lang: str) -> tuple[str, list[tuple[int, int]]]:
    """The text with every comment blanked (newlines kept, so lines stay), and the spans of its string literals'
    contents. Code languages: ``#`` or ``//`` and ``/* */`` comments, quoted strings (a quote that does not close on
    its line is no string: Rust's lifetimes), Python's triple quotes, JS template literals, Ruby heredocs, PHP's heredocs and nowdocs and its quoted strings
    (which span lines: Laravel's ``DB::statement("\n CREATE INDEX ...\n")``), Rust's (``"..."`` spanning lines, raw
    ``r#"..."#``, char literals; ``#[...]`` is an attribute). SQL:
    ``--`` and ``/* */`` comments, and its quoted literals blanked too (a string holds no operator)."""
    out = list(text)
    strings: list[tuple[int, int]] = []
    hash_comments = lang in ("python", "ruby", "shell", "php", "other")
    multiline = lang in ("php", "rust")  # their quoted strings span lines
    slash_comments = lang not in ("python", "ruby", "shell")
    i, n = 0, len(text)

    def blank(a: int, b: int) -> None:
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    heredoc = {"ruby": _HEREDOC, "php": _PHP_HEREDOC}.get(lang)
    while i < n:
        nxt = _LEXEME.search(text, i)  # nothing but these can open a comment or a string
        if nxt is None:
            break
        i = nxt.start()
        ch = text[i]
        if lang == "sql" and text.startswith("--", i) or hash_comments and ch == "#" or (
                slash_comments and lang != "sql" and text.startswith("//", i) and (i == 0 or text[i - 1] != ":")):
            end = text.find("\n", i)
            end = n if end < 0 else end
            blank(i, end)
            i = end
            continue
        if slash_comments and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            blank(i, end)
            i = end
            continue
        if heredoc and (h := heredoc.match(text, i)):  # Ruby's <<~SQL, PHP's <<<'SQL': a string to the tag's line
            body = text.find("\n", h.end())
            close = re.compile(rf"(?m)^[ \t]*{re.escape(h.group('tag'))}\b").search(text, body + 1) if body >= 0 else None
            end = close.start() if close else n
            strings.append((body + 1, end))
            i = close.end() if close else n
            continue
        if lang == "rust" and ch == '"' and (raw := _RUST_RAW.search(text, max(0, i - 64), i)):
            # r"..." / r#"..."#: no escapes, ends at a quote and as many #
            end = text.find('"' + raw.group("hashes"), i + 1)
            end = n if end < 0 else end
            strings.append((i + 1, end))
            i = end + 1 + len(raw.group("hashes"))
            continue
        if lang == "rust" and ch == "'":  # a char literal ('"', '\''), else a lifetime: never a string
            char = _RUST_CHAR.match(text, i)
            i = char.end() if char else i + 1
            continue
        if lang == "python" and text.startswith(('"""', "'''"), i):
            end = text.find(text[i:i + 3], i + 3)
            end = n if end < 0 else end
            strings.append((i + 3, end))
            i = end + 3
            continue
        if ch == "`" and lang in ("js", "other", "ruby"):
            end = _template_end(text, i + 1)
            strings.append((i + 1, end))
            i = end + 1
            continue
        if ch == "'" or ch == '"' and lang != "sql":  # SQL's double quotes name an identifier
            j = i + 1
            while j < n and text[j] != ch and (text[j] != "\n" or multiline):
                j += 2 if text[j] == "\\" else 1
            if j < n and text[j] == ch:
                if lang == "sql":
                    blank(i + 1, j)
                else:
                    strings.append((i + 1, j))
                i = j + 1
                continue
        i += 1
    return "".join(out), strings


def without_comments(text: str, lang: str) -> str:
    """The text with its comments blanked (lines kept); strings as they are."""
    return lex(text, lang)[0]


_LEXEME = re.compile(r"[-#/'\"`<]")
_RUST_RAW = re.compile(r"(?<!\w)b?r(?P<hashes>#*)$")
_RUST_CHAR = re.compile(r"'(?:\\(?:u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'\n])'")
_HEREDOC = re.compile(r"<<[~-]?(['\"]?)(?P<tag>[A-Z_][A-Z0-9_]*)\1")
_PHP_HEREDOC = re.compile(r"<<<[ \t]*(['\"]?)(?P<tag>[A-Za-z_]\w*)\1[ \t]*$", re.M)


def _template_end(text: str, i: int) -> int:
    """The closing backtick of a JS template literal opened before ``i`` (``${...}`` may hold backticks)."""
    depth = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if depth == 0 and text[i] == "`":
            return i
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if depth and text[i] == "}":
            depth -= 1
        elif depth and text[i] == "`":
            i = _template_end(text, i + 1)
        i += 1
    return len(text)


def enclosing_body(code: str, starts: list[int], line: int) -> tuple[int, str]:
    """Where 1-based ``line`` of ``code`` starts, and the code from the last function start (``starts``) at or before
    it up to there: what a call's function has built before the call (its request's fields)."""
    at = sum(len(x) + 1 for x in code.split("\n")[:line - 1])
    return at, code[max((s for s in starts if s <= at), default=0):at]
