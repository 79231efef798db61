"""Small readers shared by the scanners: line numbers, call arguments, constants and env reads in source text."""

from __future__ import annotations

import heapq
import keyword
import re
from bisect import bisect_right
from collections.abc import Iterator
from itertools import accumulate
from operator import add

from .files import once
from .lexing import folded, in_strings

_ENV_PY = re.compile(
    r"""\bos\.(?:getenv|environ\.get)\(\s*['"](?P<name>[A-Za-z_][A-Za-z0-9_]*)['"]"""
    r"""(?:\s*,\s*(?:(?P<q>['"])(?P<default>[^'"\n]*)(?P=q)|(?P<number>\d+(?:\.\d+)?)\b))?[^)\n]*\)"""
    r"""(?:\s*or\s*(?P<q2>['"])(?P<default2>[^'"\n]*)(?P=q2))?"""
    r"""|\bos\.environ\[\s*['"](?P<name2>[A-Za-z_][A-Za-z0-9_]*)['"]\s*\]"""
    r"""|(?<![\w.])(?:getenv|environ\.get)\(\s*['"](?P<name3>[A-Z_][A-Z0-9_]*)['"]"""
    r"""(?:\s*,\s*(?:default\s*=\s*)?(?P<q3>['"])(?P<default3>[^'"\n]*)(?P=q3))?"""
    # A library's secret read from the environment: Haystack's Secret.from_env_var("PG_CONN_STR") (or a list of names).
    r"""|(?<![\w])from_env_vars?\(\s*\[?\s*['"](?P<name4>[A-Z_][A-Z0-9_]*)['"]""")
# python-decouple's config("X", default=..., cast=...) and django-environ's env("X") / env.str("X") / env.db("X"),
# called on the reader a module makes (env = environ.Env(...)); env.db() with no name reads DATABASE_URL.
_READER_VAR = re.compile(r"""(?m)^\s*(?P<v>[A-Za-z_]\w*)\s*=\s*(?:environ\.)?(?:Env|AutoConfig|Config)\(""")
_OWN_BINDING = re.compile(r"""(?m)^\s*(?:(?:async\s+)?def\s+(?P<d>config|env)\s*\(|(?P<a>config|env)\s*=(?!=))""")
_ENVIRON_DEFAULT_NAMES = {"db": "DATABASE_URL", "db_url": "DATABASE_URL", "cache": "CACHE_URL", "cache_url": "CACHE_URL",
                          "email": "EMAIL_URL", "email_url": "EMAIL_URL", "search_url": "SEARCH_URL"}
_ENV_SCHEME = re.compile(r"""(?:\benviron\.|(?<![\w.]))Env\(""")
_SETTINGS_CLASS = re.compile(r"""(?m)^class\s+\w+\s*\([^)]*BaseSettings[^)]*\)\s*:\s*\n(?P<body>(?:[ \t]+.*\n|[ \t]*\n)+)""")
_LITERAL = re.compile(r"""\s*(?P<q>['"])(?P<s>[^'"\n]*)(?P=q)""")
# zod / t3-env: upper-case keys of an object schema, in a file that validates the environment with it.
_ZOD_KEY = re.compile(r"""(?m)^\s*['"]?(?P<name>[A-Z][A-Z0-9_]*)['"]?\s*:\s*z\.""")
_JS_READS_ENV = re.compile(r"""\b(?:process\.env|import\.meta\.env|Bun\.env|Deno\.env)\b|\bcreateEnv\(""")
_ENV_JS = re.compile(
    r"""\b(?:process\.env|Bun\.env|import\.meta\.env)(?:\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)|\[\s*['"](?P<name2>[A-Za-z_][A-Za-z0-9_]*)['"]\s*\])"""
    r"""|\bDeno\.env\.get\(\s*['"](?P<name3>[A-Za-z_][A-Za-z0-9_]*)['"]\s*\)""")
# Ruby: ENV.fetch("X", default), ENV.fetch("X") { default }, ENV["X"] || default (a string or a number).
_ENV_RB = re.compile(
    r"""\bENV\.fetch\(\s*['"](?P<name>[A-Za-z_][A-Za-z0-9_]*)['"]\s*(?:,\s*(?P<d>(?P<q>['"])[^'"\n]*(?P=q)|[\d_.]+)\s*)?\)"""
    r"""(?:\s*\{\s*(?P<d2>(?P<q2>['"])[^'"\n]*(?P=q2)|[\d_.]+)\s*\})?"""
    r"""|\bENV\[\s*['"](?P<name2>[A-Za-z_][A-Za-z0-9_]*)['"]\s*\](?:\s*\|\|\s*(?P<d3>(?P<q3>['"])[^'"\n]*(?P=q3)|[\d_.]+))?""")
_JS_DEFAULT = re.compile(r"""\s*(?:\?\?|\|\|)\s*(?P<q>['"`])(?P<default>[^'"`\n]*)(?P=q)""")
# An application's validated env object (@t3-oss/env's ``createEnv``, imported as ``env``): ``env.NAME`` reads NAME.
_JS_ENV_OBJECT_IMPORT = re.compile(r"""\bimport\s*\{[^}]*\benv\b[^}]*\}\s*from\s*['"]""")
_JS_ENV_OBJECT = re.compile(r"""(?<![\w.$])env\.(?P<name>[A-Z][A-Z0-9_]*)\b""")
# NestJS's ConfigService, which reads process.env and the .env files it loads (where the file imports @nestjs/config):
# `this.configService.get<string>("X")`, `config.get("X", "default")`, `.getOrThrow("X")`, the read spanning its
# receiver (the value of a `model:`); a dotted or lower-case key ("database.host") is a config factory's, no variable's.
# The receiver is a few names at most: tried from each name of a long chain spaced out (`a . a . a`), an unbounded one
# ran over the rest of it every time.
_JS_NEST_CONFIG_IMPORT = re.compile(r"""\bfrom\s*['"]@nestjs/config['"]""")
_JS_NEST_CONFIG = re.compile(r"""(?<![\w$.])(?P<receiver>(?:[A-Za-z_$][\w$]*\s*\.\s*){1,6})get(?:OrThrow)?\s*(?:<[^<>()\n]*>)?\s*\(\s*(?P<q>['"`])(?P<name>[A-Z][A-Z0-9_]*)(?P=q)"""
                             r"""(?:\s*,\s*(?P<q2>['"`])(?P<default>[^'"`\n]*)(?P=q2))?""")
# What a ConfigService read's receiver must be (a Map's or a cache's `.get("X")` in the same file reads no variable):
# a name the file types as one (`private readonly settings: ConfigService`, a factory's `(cfg: ConfigService)`), or
# one named for the configuration (`config`, `this.configService`: NestJS's injection, maybe untyped in JS).
_JS_CONFIG_SERVICE_NAME = re.compile(r"""\b(?P<name>[A-Za-z_$][\w$]*)\s*(?:[?!]\s*)?:\s*ConfigService\b""")
_JS_DESTRUCTURE = re.compile(r"""\b(?:const|let|var)\s*\{(?P<names>[^}]*)\}\s*=\s*(?:process\.env|Bun\.env)\b""")
# `std::env::var("X")`, `env::var("X")`, `dotenvy::var("X")`, then `.unwrap_or("d")`, `.unwrap_or_else(|_| "d"...)`
ENV_RUST = re.compile(r"""\b(?:std\s*::\s*)?(?:env|dotenvy?)\s*::\s*var\s*\(\s*"(?P<name>\w+)"\s*\)"""
                  r"""(?:\s*\.\s*unwrap_or(?:_else)?\s*\(\s*(?:\|[^|]*\|\s*)?(?:String::from\(\s*)?"(?P<default>[^"\n]*)")?""")
# Go's `os.Getenv("X")` and `os.LookupEnv("X")`: no default in the call (an empty string, or false)
# PHP's `getenv('X')`, `$_ENV['X']`, `$_SERVER['X']`, with the default `?? 'y'` or `?: 'y'` gives
_ENV_PHP = re.compile(r"""(?:\bgetenv\(\s*|\$_(?:ENV|SERVER)\[\s*)(?P<q>['"])(?P<name>[A-Za-z_]\w*)(?P=q)\s*[\])]"""
                      r"""(?:[ \t]*(?:\?\?|\?:)[ \t]*(?P<d>['"])(?P<default>[^'"\n]*)(?P=d))?""")
_ENV_GO = re.compile(r"""\bos\s*\.\s*(?:Getenv|LookupEnv)\s*\(\s*"(?P<name>\w+)"\s*\)""")
_SHELL_VAR = re.compile(r"""\$\{?(?P<name>[A-Z_][A-Z0-9_]*)(?::?-(?P<default>[^}\s]*))?\}?""")
STRING = re.compile(r"""(?P<q>['"`])(?P<s>[^'"`\n]{1,300})(?P=q)""")


# A dotenv line, `NAME=value` (a template's commented alternatives, `#NAME=value`, too: the application reads them
# once uncommented).
_DOTENV_LINE = re.compile(r"""^[ \t]*#?[ \t]*(?:export[ \t]+)?(?P<key>[A-Z][A-Z0-9_]*)[ \t]*=[ \t]*"""
                          r"""(?P<v>"[^"\n]*"|'[^'\n]*'|[^\s#]*)""")


def dotenv_line(line: str) -> tuple[str, str] | None:
    """(name, value unquoted) of a dotenv line, commented or not; None for any other line."""
    m = _DOTENV_LINE.match(line)
    return (m.group("key"), m.group("v").strip("\"'")) if m else None


def line_of(text: str, pos: int) -> int:
    """The line ``pos`` is on (1-based): counted from the text's start, until the counting has read the text twice over
    within ``files.one_look``; then from a table of its line starts (each of a large file's many matches counted from
    its start: quadratic in their number)."""
    if pos < 65536:
        return text.count("\n", 0, pos) + 1
    lines = once(("line starts", text), _LineStarts)  # outside a look, a new one each time: counted
    if lines.starts is None:
        lines.counted += pos
        if lines.counted < 2 * len(text):
            return text.count("\n", 0, pos) + 1
        parts = text.split("\n")[:-1]
        lines.starts = [0, *map(add, accumulate(map(len, parts)), range(1, len(parts) + 1))]
    return bisect_right(lines.starts, pos)


class _LineStarts:
    """One text's line starts, made once its line numbers were asked often enough to pay for them."""

    __slots__ = ("counted", "starts")

    def __init__(self) -> None:
        self.counted = 0
        self.starts: list[int] | None = None


def finditer_where(pattern: re.Pattern[str], text: str, *words: str) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)``, or nothing where the text holds none of ``words`` (one of which every match of
    ``pattern`` holds): a pattern that begins with an optional name or a lookbehind is tried at every character of a
    file, a word is found with a substring search."""
    return pattern.finditer(text) if any(w in text for w in words) else iter(())


def finditer_at(pattern: re.Pattern[str], text: str, *starts: str) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)`` for a pattern whose every match begins with one of the words ``starts``: tried only
    where one is, in order (``match`` at a place sees the text before it, as ``search`` does), so the same matches."""
    return _matches_at(pattern, text, heapq.merge(*(_places(text, w) for w in starts)))


def finditer_folded_at(pattern: re.Pattern[str], text: str, *starts: str) -> Iterator[re.Match[str]]:
    """``finditer_at`` for a case-insensitive pattern whose every match begins with one of the lower-case ASCII words
    ``starts`` in any case: found in the lower-cased text (``folded``), else the pattern asked everywhere."""
    low = folded(text)
    if low is None:
        return pattern.finditer(text)
    return _matches_at(pattern, text, heapq.merge(*(_places(low, w) for w in starts)))


def _matches_at(pattern: re.Pattern[str], text: str, places: Iterator[int]) -> Iterator[re.Match[str]]:
    at = 0
    for place in places:
        if place >= at and (m := pattern.match(text, place)) is not None:
            yield m
            at = m.end()


def _places(text: str, word: str) -> Iterator[int]:
    place = text.find(word)
    while place >= 0:
        yield place
        place = text.find(word, place + 1)


def call_args(text: str, open_paren: int, limit: int = 1500) -> str:
    """The text between the parenthesis at ``open_paren`` and its match (cut at ``limit`` characters)."""
    depth, i, end = 0, open_paren, min(len(text), open_paren + limit)
    quote = None
    while i < end:
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return text[open_paren + 1:i]
        i += 1
    return text[open_paren + 1:end]


_CHAIN_LINK = re.compile(r"\s*\.\s*(?P<m>[\w$]+)\s*\(")


def chained_calls(text: str, at: int, stop: str = "", limit: int = 1500) -> tuple[dict[str, str], int]:
    """The calls chained from ``at`` on (`.long("model").env("X")`: {method: its arguments, the first of each}) up to
    the first that is no call or is ``stop``, and where the chain ends: call by call, linear in its length."""
    calls: dict[str, str] = {}
    while (link := _CHAIN_LINK.match(text, at)) is not None and link.group("m") != stop:
        value = call_args(text, link.end() - 1, limit)
        calls.setdefault(link.group("m"), value.strip())
        at = link.end() + len(value) + 1
    return calls, at


_DOT = re.compile(r"\s*\.")


# An ES import or a CommonJS require: what it binds and from which module (bounded and possessive: a run of blanks
# after `import` took 100 s with a lazy pattern).
_JS_IMPORT_BINDING = re.compile(
    r"""\bimport(?=\s)(?P<what>[^'"`;]{0,2000}?)(?<=\s)from\s*+['"`](?P<spec>[^'"`]+)['"`]"""
    r"""|\b(?:const|let|var)(?=\s)(?P<what2>[^=;]{0,1000}?)=\s*+(?:await\s++)?require\s*+\(\s*+['"`](?P<spec2>[^'"`]+)['"`]""")
_BINDING_NAME = re.compile(r"[A-Za-z_$][\w$]*")


def js_imports(code: str) -> list[tuple[str, str, str]]:
    """(the local name, the name the module exports it under, the module) of each binding a JS/TS file imports:
    `import { api as app } from "./app"` gives ("app", "api", "./app"); a default import or a whole `require`,
    "default"; a namespace, "*"."""
    found: list[tuple[str, str, str]] = []
    for m in _JS_IMPORT_BINDING.finditer(code):
        what, spec = (m.group("what"), m.group("spec")) if m.group("spec") else (m.group("what2"), m.group("spec2"))
        head, _, braced = what.partition("{")
        words = head.replace(",", " ").split()
        if words[:1] == ["type"]:
            words = words[1:]
        if words[:2] == ["*", "as"] and len(words) > 2:
            found.append((words[2], "*", spec))
        elif words and _BINDING_NAME.fullmatch(words[0]):
            found.append((words[0], "default", spec))
        for part in braced.split("}")[0].split(","):
            names = [w for w in re.split(r"\s+as\s+|\s*:\s*|\s+", part.strip()) if w and w != "type"]
            if names and all(_BINDING_NAME.fullmatch(n) for n in names):
                found.append((names[-1], names[0], spec))
    return found


def calls_before(text: str, at: int, limit: int = 1500,
                 strings: list[tuple[int, int]] | None = None) -> tuple[list[str], int]:
    """The names of the calls chained before the `.` at ``at`` (`db.insert(rows)` before `.into("t")`: ["insert"]),
    first first, and where the first begins: each call's arguments skipped back to their bracket (none inside
    ``strings``, ``lex``'s spans), within ``limit`` characters."""
    names: list[str] = []
    floor, start, strings = max(0, at - limit), at, strings or []
    if not _DOT.match(text, at):  # no link: a call ending the statement before (`seen.delete(k)\ndb("t")`) is none
        return names, start
    while True:
        end = floor + len(text[floor:at].rstrip())
        if end <= floor or text[end - 1] != ")":
            break
        depth, i = 0, end - 1
        while i >= floor:  # bracket to bracket (found in C: a minified bundle holds thousands of chains)
            if not in_strings(i, strings):
                depth += 1 if text[i] == ")" else -1
                if depth == 0:
                    break
            i = max(text.rfind("(", floor, i), text.rfind(")", floor, i))
        if i < floor:
            break
        name_end = floor + len(text[floor:i].rstrip())
        begin = name_end
        while begin > floor and (text[begin - 1].isalnum() or text[begin - 1] in "_$"):
            begin -= 1  # read back by hand: a pattern anchored at the end is tried from every position before it
        if begin == name_end or text[begin].isdigit():
            break
        names.append(text[begin:name_end])
        start = begin
        before = text[floor:start].rstrip()
        if not before.endswith("."):  # the chain's first call (`knex(...)`, `insert(rows)`): nothing before it
            break
        at = floor + len(before) - 1  # the dot: on leftwards
    return names[::-1], start


_DJANGO_SETTINGS_MODULE = re.compile(r"""DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([\w.]+)['"]""")


def django_settings_module(manage_py: str) -> str | None:
    """The settings module a ``manage.py`` names (``os.environ.setdefault("DJANGO_SETTINGS_MODULE", "x.settings")``)."""
    m = _DJANGO_SETTINGS_MODULE.search(manage_py)
    return m.group(1) if m else None


class EnvRead:
    """One read of an environment variable, with its literal default and where it sits in the text."""

    __slots__ = ("name", "default", "start", "end")

    def __init__(self, name: str, default: str | None, start: int, end: int):
        self.name, self.default, self.start, self.end = name, default, start, end


def env_reads(text: str, lang: str) -> list[EnvRead]:
    """Every environment read of the text (Python, JS/TS/Deno, Ruby, Rust, Go, PHP, shell); once per text and language
    within ``files.one_look`` (a file's embedding calls and its contract both asked), a fresh list to each caller."""
    return list(once(("env_reads", text, lang), lambda: tuple(_env_reads(text, lang))))


def _env_reads(text: str, lang: str) -> list[EnvRead]:
    found: list[EnvRead] = []
    if lang == "python":
        for m in finditer_at(_ENV_PY, text, "os.", "getenv(", "environ.get(", "from_env_var"):
            name = m.group("name") or m.group("name2") or m.group("name3") or m.group("name4")
            # `int(os.getenv("EMBED_DIMENSIONS", 768))`: a number given as the default is one too
            default = next((d for d in (m.group("default"), m.group("number"), m.group("default2"), m.group("default3"))
                            if d is not None), None)
            found.append(EnvRead(name, default, m.start(), m.end()))
        found += _library_reads(text)
        found += settings_fields(text)
        found += configurations_values(text)
        found.sort(key=lambda r: r.start)
    elif lang == "js":
        for m in _ENV_JS.finditer(text):
            d = _JS_DEFAULT.match(text, m.end())
            found.append(EnvRead(m.group("name") or m.group("name2") or m.group("name3"),
                                 d.group("default") if d else None, m.start(), d.end() if d else m.end()))
        if _JS_ENV_OBJECT_IMPORT.search(text):
            for m in _JS_ENV_OBJECT.finditer(text):
                d = _JS_DEFAULT.match(text, m.end())
                found.append(EnvRead(m.group("name"), d.group("default") if d else None, m.start(),
                                     d.end() if d else m.end()))
            found.sort(key=lambda r: r.start)
        if _JS_NEST_CONFIG_IMPORT.search(text):
            services = {m.group("name") for m in _JS_CONFIG_SERVICE_NAME.finditer(text)}
            found += [EnvRead(m.group("name"), m.group("default"), m.start(), m.end())
                      for m in _JS_NEST_CONFIG.finditer(text)
                      if (last := re.findall(r"[\w$]+", m.group("receiver"))[-1]) in services or "config" in last.lower()]
            found.sort(key=lambda r: r.start)
        for m in _JS_DESTRUCTURE.finditer(text):
            for part in m.group("names").split(","):
                name = part.split(":")[0].split("=")[0].strip()
                if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                    default = re.search(r"""=\s*(['"`])([^'"`]*)\1""", part)
                    found.append(EnvRead(name, default.group(2) if default else None, m.start(), m.end()))
        if _JS_READS_ENV.search(text):
            for m in _ZOD_KEY.finditer(text):
                eol = text.find("\n", m.end())
                rest = text[m.end():eol if eol >= 0 else len(text)]
                d = re.search(r"""\.default\(\s*(['"`])([^'"`\n]*)\1""", rest)
                found.append(EnvRead(m.group("name"), d.group(2) if d else None, m.start(), m.end() + len(rest)))
    elif lang == "ruby":
        for m in _ENV_RB.finditer(text):
            default = next((d for d in (m.group("d"), m.group("d2"), m.group("d3")) if d is not None), None)
            if default is not None:  # a string's text, or a number as written without Ruby's `_` separators
                default = default[1:-1] if default[0] in "'\"" else default.replace("_", "")
            found.append(EnvRead(m.group("name") or m.group("name2"), default, m.start(), m.end()))
    elif lang == "rust":
        found += [EnvRead(m.group("name"), m.group("default"), m.start(), m.end()) for m in ENV_RUST.finditer(text)]
    elif lang == "go":
        found += [EnvRead(m.group("name"), None, m.start(), m.end()) for m in _ENV_GO.finditer(text)]
    elif lang == "php":
        found += [EnvRead(m.group("name"), m.group("default"), m.start(), m.end()) for m in _ENV_PHP.finditer(text)]
    elif lang in ("shell", "make"):
        for m in _SHELL_VAR.finditer(text):
            found.append(EnvRead(m.group("name"), m.group("default") or None, m.start(), m.end()))
    return found


_PY_DEF = re.compile(r"""(?m)^(?P<indent>[ \t]*)(?:async\s+)?def\s+(?P<f>[A-Za-z_]\w*)\s*\(\s*(?P<p>[A-Za-z_]\w*)""")


_READS_ENV = ("getenv(", "environ.get(", "environ[")  # what a wrapper's body holds


def env_wrappers(text: str) -> set[str]:
    """Functions of the file that read the environment variable named by their first parameter: an application's
    own ``get_env_variable(name, default)`` around ``os.getenv(name)`` (rag_api) reads what its callers name."""
    found: set[str] = set()
    for m in _PY_DEF.finditer(text) if any(w in text for w in _READS_ENV) else ():
        indent, param = m.group("indent"), m.group("p")
        paren = text.index("(", m.start("f"))
        signature_end = paren + len(call_args(text, paren)) + 1  # the parameters may span lines
        end = re.compile(rf"(?m)^{re.escape(indent)}(?=\S)").search(text, text.find("\n", signature_end) + 1)
        body = text[signature_end:end.start() if end else len(text)]
        # (a pattern per parameter, compiled for each function: asked only of a body that reads the environment)
        if any(w in body for w in _READS_ENV) and re.search(
                rf"(?:\bgetenv|\benviron\.get)\(\s*{re.escape(param)}\b|\benviron\[\s*{re.escape(param)}\s*\]", body):
            found.add(m.group("f"))
    return found


def _library_reads(text: str) -> list[EnvRead]:
    """config("X") (python-decouple), env("X") / env.str("X") / env.db() (django-environ) and the names an
    ``environ.Env(NAME=(cast, default))`` declares."""
    made = {m.group("v") for m in finditer_where(_READER_VAR, text, "Env(", "Config(")}
    readers = {"config", "env", *made}
    # A config()/env() the file defines itself (a def, or bound to anything but Env/AutoConfig/Config) reads whatever
    # it reads (a YAML file, a dict), not the environment: a mapping in backfill.env would not reach it.
    readers -= {m.group("d") or m.group("a") for m in finditer_where(_OWN_BINDING, text, "config", "env")} - made
    readers |= env_wrappers(text)
    if not readers:
        return []
    found = []
    call = re.compile(r"(?<![\w.])(?P<r>" + "|".join(map(re.escape, sorted(readers))) + r")(?:\.(?P<m>[a-z_]+))?\(")
    for m in finditer_at(call, text, *sorted(readers)):
        args = call_args(text, m.end() - 1)
        end = m.end() + len(args) + 1
        first = re.match(r"""\s*(?P<q>['"])(?P<name>[A-Z_][A-Z0-9_]*)(?P=q)""", args)
        if first:
            after = args[first.end():]
            d = re.match(r"""\s*,""" + _LITERAL.pattern, after) or re.search(r"""\bdefault\s*=""" + _LITERAL.pattern, after)
            found.append(EnvRead(first.group("name"), d.group("s") if d else None, m.start(), end))
        elif not args.strip() and m.group("m") in _ENVIRON_DEFAULT_NAMES:
            found.append(EnvRead(_ENVIRON_DEFAULT_NAMES[m.group("m")], None, m.start(), end))
    for m in finditer_at(_ENV_SCHEME, text, "environ.", "Env("):
        args = call_args(text, m.end() - 1)
        for k in re.finditer(r"""(?<![\w.])(?P<name>[A-Z_][A-Z0-9_]*)\s*=\s*\(\s*\w+\s*,(?P<rest>[^)]*)\)""", args):
            d = _LITERAL.match(k.group("rest"))
            found.append(EnvRead(k.group("name"), d.group("s") if d else None, m.start(), m.end() + len(args) + 1))
    return found


_CONFIGURATIONS_VALUE = re.compile(r"(?:(?m:^[ \t]+)(?P<attr>[A-Z_][A-Z0-9_]*)\s*=\s*)?(?<![\w.])values\.\w*Value\(")


def configurations_values(text: str) -> list[EnvRead]:
    """django-configurations' ``values.*Value(...)``: read from ``DJANGO_`` (or ``environ_prefix``) plus
    ``environ_name``, else plus the attribute the value is assigned to; ``environ=False`` reads nothing."""
    if "configurations" not in text:
        return []
    found = []
    for m in _CONFIGURATIONS_VALUE.finditer(text):
        args = call_args(text, m.end() - 1)
        if re.search(r"\benviron\s*=\s*False\b", args):
            continue
        named = re.search(r"""\benviron_name\s*=\s*(?P<q>['"])(?P<n>\w+)(?P=q)""", args)
        name = named.group("n") if named else m.group("attr")
        if not name:
            continue  # a value inside a dict with no environ_name reads no name of its own
        prefix = re.search(r"""\benviron_prefix\s*=\s*(?:(?P<q>['"])(?P<p>\w*)(?P=q)|None)""", args)
        p = "DJANGO" if prefix is None else (prefix.group("p") or "")
        d = _LITERAL.match(args) or re.search(r"""\bdefault\s*=""" + _LITERAL.pattern, args)
        found.append(EnvRead(f"{p}_{name}" if p else name, d.group("s") if d else None, m.start(),
                             m.end() + len(args) + 1))
    return found


def settings_fields(text: str) -> list[EnvRead]:
    """pydantic BaseSettings: each field is read from the environment by its upper-cased name plus the env_prefix
    of ``model_config`` / ``class Config``, or by its alias."""
    found = []
    for m in _SETTINGS_CLASS.finditer(text):
        body = m.group("body")
        prefix = re.search(r"""['"]?env_prefix['"]?\s*[=:]\s*['"]([^'"]*)['"]""", body)
        p = prefix.group(1) if prefix else ""
        # Fields sit at the class body's own indentation; deeper lines are methods' (`else:`, `try:`).
        indent = re.match(r"(?:[ \t]*\n)*(?P<i>[ \t]+)\S", body)
        for f in re.finditer(r"(?m)^(?P<i>[ \t]+)(?P<f>[a-z_][a-z0-9_]*)\s*:(?P<rest>[^\n]*)", body):
            if f.group("f") in ("model_config", "class") or keyword.iskeyword(f.group("f")) or (
                    indent and f.group("i") != indent.group("i")):
                continue
            alias = re.search(r"""(?:alias|env)\s*=\s*['"]([^'"]+)['"]""", f.group("rest"))
            d = re.search(r"""=\s*(?:Field\(\s*(?:default\s*=\s*)?)?(['"])([^'"\n]*)\1""", f.group("rest"))
            start = m.start("body") + f.start()
            found.append(EnvRead(alias.group(1) if alias else (p + f.group("f")).upper(), d.group(2) if d else None,
                                 start, m.start("body") + f.end()))
    return found


def in_spans(pos: int, reads: list[EnvRead]) -> EnvRead | None:
    for r in reads:
        if r.start <= pos < r.end:
            return r
    return None


def constant(text: str, name: str) -> str | None:
    """The right-hand side of the first ``NAME = ...`` / ``const NAME = ...`` / ``this.NAME = ...`` in the text (one line)."""
    m = re.search(r"(?m)^\s*(?:export\s+)?(?:(?:const|let|var|final)\s+|(?:this|self)\.)?" + re.escape(name)
                  + r"\s*(?::\s*[^=\n]+)?=\s*(?P<rhs>[^\n;]+)", text)
    return m.group("rhs").strip() if m else None


def only_literal(text: str, name: str) -> str | None:
    """The one literal (a string, or an integer) every assignment of ``name`` in the text gives it; None where one
    assigns anything else (an env read, a call), two differ, or none does."""
    values = set()
    # a quoted literal is tried first: a '#' inside it is the literal's, not a comment
    for m in re.finditer(rf"(?m)^[ \t]*{re.escape(name)}[ \t]*(?::[^=\n]+)?=(?!=)[ \t]*"
                         r"""(?P<rhs>(['"])[^'"\n]*\2|[^\n]*?)[ \t]*(?:#.*)?$""", text):
        v = re.fullmatch(r"""(?P<q>['"])(?P<s>[^'"\n]*)(?P=q)|(?P<i>\d+)""", m.group("rhs"))
        if v is None:
            return None
        values.add(v.group("s") if v.group("s") is not None else v.group("i"))
    return values.pop() if len(values) == 1 else None


def int_value(text: str, token: str) -> int | None:
    """``token`` as a dimension: a number, or a constant of the file that is one."""
    token = token.strip()
    if token.isdigit():
        return int(token)
    if re.fullmatch(r"[A-Za-z_][\w.]*", token):
        rhs = constant(text, token.split(".")[-1])
        if rhs:
            m = re.match(r"(\d[\d_]*)\b", rhs)  # Python's and Ruby's `1_536` too
            if m:
                return int(m.group(1).replace("_", ""))
            m = re.search(r"""['"](\d+)['"]""", rhs)  # int(os.getenv("DIM", "768"))
            if m:
                return int(m.group(1))
    return None


def split_args(args: str) -> list[tuple[int, str]]:
    """Top-level comma-separated parts of an argument list, each with its offset."""
    parts, depth, start, quote = [], 0, 0, None
    for i, ch in enumerate(args):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append((start, args[start:i]))
            start = i + 1
    parts.append((start, args[start:]))
    return [(o + len(a) - len(a.lstrip()), a.strip()) for o, a in parts if a.strip()]


# Python's triple-quoted strings, in order (a closing quote alone on its line opens nothing).
_PY_TRIPLE = re.compile(r"""(?s)(?P<q>\"\"\"|\'\'\').*?(?P=q)""")


def py_docstrings(text: str) -> list[tuple[int, int]]:
    """The spans of the triple-quoted strings that open their line: docstrings, whose examples (a DSN, a store's
    constructor) are documentation; one assigned (`SQL = \"\"\"...`) is code. Once per text within ``files.one_look``
    (a fresh list to each caller)."""
    return list(once(("py_docstrings", text), lambda: tuple(_py_docstrings(text))))


def _py_docstrings(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in finditer_at(_PY_TRIPLE, text, '"""', "'''")
            if re.fullmatch(r"[ \t]*[rRuU]?", text[text.rfind("\n", 0, m.start()) + 1:m.start()])]
