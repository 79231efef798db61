""".NET applications' settings: an options class (``IOptions<T>``) bound to a configuration section
(``Configure<T>(...GetSection("S"))``) that appsettings.json fills and the environment overrides as ``S__Key``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import replace

from .distances import DistanceUse
from .embedding_calls import EmbeddingCall

_INJECTED = re.compile(r"\bIOptions(?:Snapshot|Monitor)?<\s*(?P<cls>\w+)\s*>")
_BOUND = re.compile(r"\bConfigure<\s*(?P<cls>\w+)\s*>\s*\([^;]*?GetSection\(\s*\"(?P<s>[^\"]+)\"\s*\)"
                    r"|\bAddOptions<\s*(?P<cls2>\w+)\s*>\s*\(\s*\)[^;]*?(?:GetSection|BindConfiguration)\(\s*\"(?P<s2>[^\"]+)\"")
_PROPERTY = re.compile(r"\bpublic\s+[\w?<>]+\s+(?P<name>\w+)\s*\{\s*get;[^}]*\}(?:\s*=\s*\"(?P<default>[^\"]*)\")?")
_MODEL = re.compile(r"(?i)model")
_URL = re.compile(r"(?i)url|uri|endpoint|host|address")
# appsettings.json, not appsettings.Development.json: the file every environment reads (Production by default)
_APPSETTINGS = re.compile(r"(?:^|/)appsettings\.json$", re.I)
_JSON_COMMENT = re.compile(r'("(?:[^"\\]|\\.)*")|//[^\n]*|/\*.*?\*/', re.S)


def with_options(calls: Iterable[EmbeddingCall], listed: Iterable[str],
                 read: Callable[[str], str | None]) -> list[EmbeddingCall]:
    """C# calls given the model and URL of the options class their file is injected with: appsettings.json's value
    for the key of its section (else the property's default), and the ``Section__Key`` name the environment sets."""
    calls = list(calls)
    if not any(c.path.endswith(".cs") and (c.model is None or c.url is None) for c in calls):
        return calls
    names = sorted(listed)
    sources = {rel: text for rel in names if rel.endswith(".cs") and (text := read(rel)) is not None}
    sections = {m.group("cls") or m.group("cls2"): m.group("s") or m.group("s2")
                for text in sources.values() for m in _BOUND.finditer(text)}
    settings = [s for rel in names if _APPSETTINGS.search(rel) and (s := _json(read(rel))) is not None]
    out = []
    for c in calls:
        text = sources.get(c.path) if c.path.endswith(".cs") else None
        for cls in dict.fromkeys(m.group("cls") for m in _INJECTED.finditer(text or "")):
            properties = _properties(cls, sources.values())
            section = sections.get(cls)
            read_here = [p for p in properties if re.search(rf"\.\s*{p}\b", text or "")]
            for prop in read_here:
                value = _setting(settings, section, prop) or properties[prop]
                env = f"{section.replace(':', '__')}__{prop}" if section else None
                if _MODEL.search(prop) and c.model is None and c.model_env is None:
                    c = replace(c, model=value, model_env=env)
                elif _URL.search(prop) and c.url is None and c.url_env is None:
                    c = replace(c, url=value, url_env=env)
        out.append(c)
    return out


# The column an entity's property maps to: `[Column("embedding")]` on it, or the fluent `.HasColumnName("embedding")`
# after `.Property(e => e.Embedding)` / `.Property<Vector>("Embedding")` (a model snapshot's)
_COLUMN_ATTRIBUTE = re.compile(r"\[Column\(\s*\"(?P<col>[^\"]+)\"[^\]]*\]\s*(?:\[[^\]]*\]\s*)*public\s+[\w?<>.]+\s+"
                               r"(?P<prop>\w+)\s*\{")
_COLUMN_FLUENT = re.compile(r"\.Property(?:<[\w?]+>)?\(\s*(?:\w+\s*=>\s*\w+\.(?P<prop>\w+)|\"(?P<prop2>\w+)\")\s*\)"
                            r"[^;]*?\.HasColumnName\(\s*\"(?P<col>[^\"]+)\"")


def with_columns(uses: Iterable[DistanceUse], listed: Iterable[str],
                 read: Callable[[str], str | None]) -> list[DistanceUse]:
    """Pgvector.EntityFrameworkCore's distance helpers and Npgsql's indexes on a property, on the column the property
    maps to where the repository maps it to one (EF Core's default, the property's own name, otherwise)."""
    uses = list(uses)
    if not any(u.kind.startswith("efcore") and u.table is None for u in uses):
        return uses
    mapped: dict[str, set[str]] = {}
    for rel in sorted(listed):
        text = read(rel) if rel.endswith(".cs") else None
        for m in [*_COLUMN_ATTRIBUTE.finditer(text or ""), *_COLUMN_FLUENT.finditer(text or "")]:
            mapped.setdefault(m.group("prop") or m.group("prop2"), set()).add(m.group("col"))
    # a migration's index names its table and the table's own column: no property
    return [replace(u, column=next(iter(mapped[u.column]))) if u.kind.startswith("efcore") and u.table is None
            and u.column and len(mapped.get(u.column, ())) == 1 else u for u in uses]


def _properties(cls: str, sources: Iterable[str]) -> dict[str, str | None]:
    """The public properties of class ``cls`` with their string defaults, from the first file that declares it."""
    for text in sources:
        m = re.search(rf"\bclass\s+{re.escape(cls)}\b[^{{]*\{{", text)
        if m:
            body = text[m.end():]
            return {p.group("name"): p.group("default") for p in _PROPERTY.finditer(body[:_closing(body)])}
    return {}


def _closing(body: str) -> int:
    depth = 1
    for i, ch in enumerate(body):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth == 0:
            return i
    return len(body)


def _json(text: str | None) -> dict | None:
    """appsettings.json as .NET reads it (comments allowed), or None where it is no JSON object."""
    try:
        data = json.loads(_JSON_COMMENT.sub(lambda m: m.group(1) or "", text)) if text else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _setting(files: list[dict], section: str | None, key: str) -> str | None:
    """The one string value the files give ``section:key`` (keys compared without case, as .NET's configuration
    does); None where none or several differ."""
    if section is None:
        return None
    values = set()
    for file in files:
        node: object = file
        for part in [*section.split(":"), key]:
            node = next((v for k, v in node.items() if k.lower() == part.lower()), None) if isinstance(node, dict) else None
        if isinstance(node, str) and node:
            values.add(node)
    return values.pop() if len(values) == 1 else None


__all__ = ["with_columns", "with_options"]
