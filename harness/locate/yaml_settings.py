"""Settings an application reads as attributes of an object its YAML files fill (PrivateGPT's
``settings.ollama.embedding_model`` from ``ollama: {embedding_model: ...}`` of ``settings*.yaml``): the attribute path
an argument comes from, and the value the repository's YAML files give it."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from .literals import call_args, split_args

_CHAIN = re.compile(r"(?<![\w.])(?P<chain>(?:self\.)?[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?![\w(])")
# `${VAR}` / `${VAR:default}`: the interpolation the YAML loaders of such applications do (PrivateGPT's settings/yaml.py);
# `${VAR:-default}` is the shell's form of the same default (its dash is no part of the value)
_INTERPOLATED = re.compile(r"^\$\{(?P<env>\w+)(?::-?(?P<default>[^}]*))?\}$")
# YAML's null: a setting given no value, never a value named 'null'
_NULL = frozenset({"null", "Null", "NULL", "~"})
# where a chain's attribute path starts: the settings object itself (a parameter, or the attribute holding it)
_ROOTS = frozenset({"settings", "config", "cfg", "conf", "self.settings", "self.config", "self._settings"})


@dataclass(frozen=True)
class YamlValue:
    path: str  # the YAML file
    line: int
    value: str | None  # the literal, or the interpolation's default
    env: str | None = None  # the variable an interpolation reads


def _rhs(text: str, name: str, before: int) -> str | None:
    """The expression last assigned to a bare ``name`` before ``before`` (a parenthesised one across its lines)."""
    found = None
    for m in re.finditer(rf"(?m)^[ \t]*{re.escape(name)}\s*(?::[^=\n]+)?=(?!=)[ \t]*(?P<rest>[^\n]*)", text[:before]):
        if not m.group("rest").rstrip().endswith(","):  # `name=value,` on its own line: another call's argument
            found = m
    if found is None:
        return None
    if text.startswith("(", found.start("rest")):
        return call_args(text, found.start("rest"))
    return found.group("rest")


def keyword_path(text: str, args: str, offset: int, pattern: re.Pattern) -> tuple[str, ...] | None:
    """The settings attribute path of the keyword argument ``pattern`` finds in a call's ``args`` (at ``offset``)."""
    for _at, arg in split_args(args):
        m = pattern.match(arg)
        if m:
            return attribute_path(text, arg[m.end():], offset)
    return None


def attribute_path(text: str, expr: str, at: int, depth: int = 0) -> tuple[str, ...] | None:
    """The attribute path below the settings object an argument expression reads (``ollama_settings.embedding_model``
    after ``ollama_settings = settings.ollama``: ``("ollama", "embedding_model")``), following local names to what
    they were assigned; None when it reads no settings object."""
    expr = expr.strip()
    if depth > 4:
        return None
    if re.fullmatch(r"[A-Za-z_]\w*", expr):
        rhs = _rhs(text, expr, at)
        return attribute_path(text, rhs, at, depth + 1) if rhs else None
    m = _CHAIN.search(expr)
    if not m:
        return None
    parts = m.group("chain").split(".")
    if parts[0] == "self":
        parts = [f"self.{parts[1]}", *parts[2:]]
    head = _rhs(text, parts[0], at)
    above = attribute_path(text, head, at, depth + 1) if head else None
    if parts[0] in _ROOTS:
        # the settings object itself, unless the name was given a part of it (`cfg = settings.rag`; not
        # `settings = config.settings`, the object again)
        part = above if above and above[-1] not in _ROOTS else ()
        return (*part, *parts[1:]) or None
    return (*above, *parts[1:]) if above else None


def values(files: Mapping[str, str], key_path: tuple[str, ...]) -> list[YamlValue]:
    """Each YAML file's value at ``key_path`` (nested mappings, by indentation)."""
    out = []
    for rel, text in sorted(files.items()):
        stack: list[tuple[int, str]] = []
        for number, line in enumerate(text.splitlines(), 1):
            m = re.match(r"^(?P<i>[ \t]*)(?P<k>[\w\-]+)[ \t]*:(?:[ \t]+(?P<v>[^#\n]*?))?[ \t]*(?:#.*)?$", line)
            if not m:
                continue
            indent = len(m.group("i").expandtabs())
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, m.group("k")))
            if tuple(k for _, k in stack) == key_path:
                raw = (m.group("v") or "").strip().strip("\"'")
                raw = "" if raw in _NULL else raw
                interpolated = _INTERPOLATED.match(raw)
                out.append(YamlValue(rel, number, interpolated.group("default") if interpolated else (raw or None),
                                     interpolated.group("env") if interpolated else None))
                break
    return out


_CLASS = re.compile(r"(?m)^class\s+(?P<name>[A-Za-z_]\w*)\s*(?:\([^)]*\))?\s*:[ \t]*(?:#[^\n]*)?\n")
_FIELD = re.compile(r"(?m)^(?P<i>[ \t]+)(?P<f>[A-Za-z_]\w*)\s*:\s*(?P<t>[^=\n]+?)\s*(?:=\s*(?P<d>[^\n]*))?$")
_LITERAL = re.compile(r"""^\s*(?:default\s*=\s*)?(?:(?P<q>['"])(?P<s>[^'"\n]*)(?P=q)|(?P<n>-?\d+(?:\.\d+)?))\s*$""")


def _fields(text: str) -> dict[str, dict[str, tuple[str, str | None]]]:
    """Each class's fields at its first indentation: name -> (annotation, default literal or None)."""
    out: dict[str, dict[str, tuple[str, str | None]]] = {}
    for c in _CLASS.finditer(text):
        end = re.search(r"(?m)^\S", text[c.end():])
        body_end = c.end() + end.start() if end else len(text)
        fields: dict[str, tuple[str, str | None]] = {}
        indent = None
        for f in _FIELD.finditer(text, c.end(), body_end):
            indent = indent or f.group("i")
            if f.group("i") != indent:
                continue
            default, given = None, f.group("d") or ""
            if given.startswith("Field("):
                parts = split_args(call_args(text, f.start("d") + len("Field")))
                first = next((a for _, a in parts if not re.match(r"\w+\s*=", a) or a.startswith("default")), "")
                lit = _LITERAL.match(first)
                default = lit and (lit.group("s") if lit.group("q") else lit.group("n"))
            elif lit := _LITERAL.match(given):
                default = lit.group("s") if lit.group("q") else lit.group("n")
            fields[f.group("f")] = (f.group("t"), default or None)
        out[c.group("name")] = fields
    return out


def class_default(modules: Mapping[str, str], key_path: tuple[str, ...]) -> str | None:
    """The default the settings classes give ``key_path`` (``ollama.embedding_api_base``: the field of the class the
    ``ollama`` field is annotated with): the one literal every class path that reaches it agrees on."""
    classes: dict[str, dict[str, tuple[str, str | None]]] = {}
    for text in modules.values():
        classes.update(_fields(text))
    at = [fields for fields in classes.values() if key_path[0] in fields]
    for prev, key in zip(key_path, key_path[1:]):
        at = [classes[n] for fields in at for n in re.findall(r"[A-Za-z_]\w*", fields[prev][0])
              if n in classes and key in classes[n]]
    found = {fields[key_path[-1]][1] for fields in at} - {None}
    return found.pop() if len(found) == 1 else None


def agreed(found: list[YamlValue]) -> tuple[str | None, str | None]:
    """(value, env) the files give: the value most of them give; the variable only when every file reads the same."""
    given = [v.value for v in found if v.value]
    if not given:
        return None, None
    envs = {v.env for v in found}
    # A tie goes to the base file (`settings.yaml` before the `settings-<profile>.yaml` every profile merges over it).
    counts = Counter(given)
    shortest = {value: min(len(v.path) for v in found if v.value == value) for value in counts}
    value = min(counts, key=lambda v: (-counts[v], shortest[v]))
    return value, (envs.pop() if len(envs) == 1 else None)


@dataclass(frozen=True)
class SettingsFiles:
    """The repository's YAML files (path -> text) and the Python modules that may declare the settings classes."""
    yaml: Mapping[str, str]
    modules: Mapping[str, str]

    def value(self, key_path: tuple[str, ...]) -> tuple[str | None, str | None]:
        """(value, env) of ``key_path``: what the YAML files agree on, else the settings classes' default."""
        if len(key_path) < 2:  # a top-level `model:` of any YAML file (a chat model's, a tool's) says too little
            return None, None
        value, env = agreed(values(self.yaml, key_path))
        return (value, env) if value is not None else (class_default(self.modules, key_path), None)
