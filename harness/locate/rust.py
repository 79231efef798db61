"""Rust applications: the model an Ollama HTTP call sends (reqwest's `.post(".../api/embeddings").json(&request)`),
from the request its function builds before the call, a struct literal or `json!`: a literal, a `const`/`static`, or
a variable read from the environment (`env::var("X")`, its default the one `unwrap_or` gives)."""

from __future__ import annotations

import re
from dataclasses import replace

from .embedding_calls import EmbeddingCall
from .lexing import lex

_FN = re.compile(r"(?m)^[ \t]*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?fn\s+\w+")
# `model: EXPR` in a struct literal, `"model": EXPR` in `json!`: up to the field's end
_MODEL_FIELD = re.compile(r"""(?:\bmodel|"model")\s*:\s*(?P<e>[^,}\n]+)""")
_WRAPPED = re.compile(r"""^&?\s*(?:String::from\((?P<a>.+)\)|(?P<b>.+?)(?:\.(?:to_string|to_owned|clone|into|as_str)\(\))+)$""")
_STRING = re.compile(r'''^"(?P<s>[^"\\\n]*)"$''')
_IDENT = re.compile(r"^[a-z_]\w*$|^[A-Z][A-Z0-9_]*$")
# `std::env::var("X")`, `env::var("X")`, `dotenvy::var("X")`, then `.unwrap_or("d")`, `.unwrap_or_else(|_| "d"...)`
_ENV = re.compile(r"""\b(?:std\s*::\s*)?(?:env|dotenvy?)\s*::\s*var\s*\(\s*"(?P<name>\w+)"\s*\)"""
                  r"""(?:\s*\.\s*unwrap_or(?:_else)?\s*\(\s*(?:\|[^|]*\|\s*)?(?:String::from\(\s*)?"(?P<default>[^"\n]*)")?""")


def with_models(rel: str, text: str, calls: list[EmbeddingCall]) -> list[EmbeddingCall]:
    """The file's Ollama HTTP calls with the model their request sends where the call itself named none."""
    if not rel.endswith(".rs"):
        return calls
    code = lex(text, "rust")[0]  # a commented-out `// model: "old"` is no field
    starts = [0] + [m.start() for m in _FN.finditer(code)]
    lines = code.split("\n")
    out = []
    for call in calls:
        if call.kind != "ollama-http" or call.model or call.model_env:
            out.append(call)
            continue
        at = sum(len(x) + 1 for x in lines[:call.line - 1])
        body = code[max(s for s in starts if s <= at):at]
        fields = list(_MODEL_FIELD.finditer(body))
        model = _resolve(code, fields[-1].group("e").strip(), at) if fields else (None, None)
        out.append(replace(call, model=model[0], model_env=model[1]))
    return out


def _resolve(code: str, expr: str, before: int, depth: int = 0) -> tuple[str | None, str | None]:
    """(model, env variable) an expression gives: a literal, a constant, an environment read, or a variable bound to
    one of these by the nearest `let` before ``before``."""
    if (wrapped := _WRAPPED.match(expr)) is not None:
        expr = (wrapped.group("a") or wrapped.group("b")).strip()
    expr = expr.lstrip("&").strip()
    if (s := _STRING.match(expr)) is not None:
        return s.group("s"), None
    if (env := _ENV.search(expr)) is not None:
        return env.group("default"), env.group("name")
    if depth > 3 or not _IDENT.match(expr):
        return None, None
    name = re.escape(expr)
    bound = [m for m in re.finditer(rf"\blet\s+(?:mut\s+)?{name}\s*(?::[^=;]+)?=\s*(?P<e>[^;]+);", code[:before])]
    if bound:
        return _resolve(code, bound[-1].group("e").strip(), bound[-1].start(), depth + 1)
    const = re.search(rf"\b(?:const|static)\s+{name}\s*:[^=;]+=\s*(?P<e>[^;]+);", code)
    return _resolve(code, const.group("e").strip(), const.start(), depth + 1) if const else (None, None)
