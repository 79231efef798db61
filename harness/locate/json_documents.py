"""JSON documents the code writes from a literal object of named fields (PHP's ``json_encode(['name' => $c['name'],
...])``, ``JSON.stringify({name: c.name})``, Python's ``json.dumps({'name': c.name})``): what an application may embed
in place of a column (chunks.text_json), each member with the field its value reads."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .literals import call_args, finditer_at, line_of, split_args

_CALLS = {
    "php": re.compile(r"\bjson_encode\s*\(\s*\["),
    "js": re.compile(r"\bJSON\s*\.\s*stringify\s*\(\s*\{"),
    "python": re.compile(r"\bjson\s*\.\s*dumps\s*\(\s*\{"),
}
_CALL_WORDS = {"php": "json_encode", "js": "JSON", "python": "json"}  # what each call begins with
_ENTRY = {
    "php": re.compile(r"""^\s*(['"])(?P<key>[^'"]+)\1\s*=>\s*(?P<value>.+?)\s*$""", re.S),
    "js": re.compile(r"""^\s*(?:(['"])(?P<qkey>[^'"]+)\1|(?P<key>[A-Za-z_$][\w$]*))\s*(?::\s*(?P<value>.+?))?\s*$""", re.S),
    "python": re.compile(r"""^\s*(['"])(?P<key>[^'"]+)\1\s*:\s*(?P<value>.+?)\s*$""", re.S),
}
# The field a member's value reads: a subscript (`$data['published_at']`, `row["title"]`), a getter
# (`$c->getPublishedAt()`), an attribute or property (`c.title`, `$c->title`, `c.get("title")`).
_FIELD = re.compile(r"""\[\s*(['"])(?P<sub>\w+)\1\s*\]|->\s*get(?P<getter>[A-Z]\w*)\s*\(\s*\)"""
                    r"""|(?:->|\.)\s*get\s*\(\s*(['"])(?P<get>\w+)\4|(?:->|\??\.)\s*(?P<attr>[A-Za-z_]\w*)\b(?!\s*\()""")


# A request's body to a model's API (`JSON.stringify({model, input})`), not a document of a row's fields.
_REQUEST_KEYS = frozenset({"input", "prompt", "messages", "texts", "inputs"})


@dataclass(frozen=True)
class JsonDocument:
    path: str
    line: int
    style: str | None  # harness.profile.JSON_STYLES as the call spells it; None where its flags spell it otherwise
    members: tuple[tuple[str, str], ...]  # (key, the field its value reads, snake_case)

    def as_dict(self) -> dict:
        return {"path": self.path, "line": self.line, "style": self.style, "members": [list(m) for m in self.members]}


def scan(rel: str, text: str, language: str) -> list[JsonDocument]:
    """Each literal object of two or more members the file serializes, with the style its call's flags give."""
    lang = "js" if language in ("js", "ts") else language
    call = _CALLS.get(lang)
    if call is None:
        return []
    found = []
    for m in finditer_at(call, text, _CALL_WORDS[lang]):
        body = call_args(text, m.end() - 1, limit=4000)
        members = []
        for _, entry in split_args(body):
            e = _ENTRY[lang].match(entry)
            if e is None:
                break
            key = e.group("key") or e.group("qkey") if lang == "js" else e.group("key")
            value = e.group("value") or key  # `{title}`: JS's shorthand reads the variable of the name
            members.append((key, _field(value, key)))
        else:
            keys = {k for k, _ in members}
            if len(members) >= 2 and not ("model" in keys and keys & _REQUEST_KEYS):
                paren = text.index("(", m.start())
                rest = call_args(text, paren, limit=8000)[m.end() - 1 - (paren + 1) + len(body) + 2:]
                found.append(JsonDocument(rel, line_of(text, m.start()), _style(lang, rest), tuple(members)))
    return found


def _field(value: str, key: str) -> str:
    """The field a member's value reads (its last subscript, getter or attribute), else its key; snake_case."""
    last = None
    for m in _FIELD.finditer(value):
        last = m.group("sub") or m.group("getter") or m.group("get") or m.group("attr")
        if m.group("sub") or m.group("getter") or m.group("get"):
            break  # `$c->getPublishedAt()?->format('Y-m-d')`: the getter, not what is done with its value
    return snake(last or key)


def snake(name: str) -> str:
    """``publishedAt`` and ``PublishedAt`` as ``published_at``; a snake_case name as it is."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _style(lang: str, rest: str) -> str | None:
    """The style the arguments after the object give: PHP's flags, Python's keywords, JSON.stringify's indent."""
    if lang == "php":
        flags = set(re.findall(r"JSON_\w+", rest)) - {"JSON_THROW_ON_ERROR", "JSON_PRESERVE_ZERO_FRACTION"}
        if not flags:
            return "php"
        return "js" if flags == {"JSON_UNESCAPED_UNICODE", "JSON_UNESCAPED_SLASHES"} else None
    if lang == "python":
        compact = re.search(r"""separators\s*=\s*\(\s*(['"]),\1\s*,\s*(['"]):\2\s*\)""", rest)
        plain = re.sub(r"""separators\s*=\s*\([^)]*\)|ensure_ascii\s*=\s*False|,|\s""", "", rest)
        if plain:
            return None
        return ("js" if compact and "ensure_ascii" in rest else None) if compact or "ensure_ascii" in rest else "python"
    return "js" if not rest.strip(", \n") else None
