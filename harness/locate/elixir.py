"""Elixir applications: the Mix tasks that embed (``mix NAME``); ollama-ex's embedding calls (``Ollama.embed(client, model: ..., input: ...)``,
``Ollama.embeddings(client, model: ..., prompt: ...)``) with the model each sends (a literal, a module attribute, or a
function of another module returning one) and the server its client is made for (``Ollama.init(...)``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path, PurePosixPath

from .embedding_calls import EmbeddingCall, has_calls, scan
from .entrypoints import _BACKFILLISH, Entrypoint
from .lexing import lex
from .literals import call_args, line_of

_CALL = re.compile(r"\bOllama\s*\.\s*(?P<fn>embed|embeddings)\s*\(")
_INIT = re.compile(r"\bOllama\s*\.\s*init\s*\(")
_MODEL = re.compile(r"""\bmodel:\s*(?P<v>"[^"\n]*"|@\w+|(?:[A-Z]\w*\.)+[a-z_]\w*[?!]?(?:\s*\(\s*\))?)""")
_VARIABLE = re.compile(r"^\s*[a-z_]\w*\s*,\s*(?P<var>[a-z_]\w*)\s*$")
_ENV = re.compile(r"""System\s*\.\s*(?:get_env|fetch_env!?)\s*\(\s*"(?P<name>\w+)"\s*(?:,\s*"(?P<default>[^"\n]*)")?""")
# ollama-ex's `@default_req_opts` base_url: `Ollama.init()` posts there and reads no environment variable
DEFAULT_URL = "http://localhost:11434/api"


# A Mix task: `defmodule Mix.Tasks.Shelf.EmbedChunks do` ... `use Mix.Task`, its one-line help `@shortdoc "..."`
_MIX_TASK = re.compile(r"(?m)^\s*defmodule\s+Mix\.Tasks\.(?P<m>[A-Z][\w.]*)\s+do\b")
_USE_MIX_TASK = re.compile(r"(?m)^\s*use\s+Mix\.Task\b")
_SHORTDOC = re.compile(r'@shortdoc\s+"(?P<d>[^"\n]*)"')


def _code(text: str) -> str:
    return lex(text, "ruby")[0]  # Elixir's comments are Ruby's (`# Ollama.embed(client, model: "old")`)


def mix_task(root: Path, rel: str, data: bytes) -> Entrypoint | None:
    """A Mix task of the application (``use Mix.Task``) that embeds: named or described (``@shortdoc``) like a
    backfill, or calling an embedder itself; ``mix NAME`` (``Mix.Tasks.Shelf.EmbedChunks`` is ``shelf.embed_chunks``)
    from the folder of the nearest mix.exs above it."""
    if not rel.endswith(".ex") or b"Mix.Task" not in data:
        return None
    code = _code(data.decode("utf-8", "replace"))
    module = _MIX_TASK.search(code)
    if module is None or not _USE_MIX_TASK.search(code):
        return None
    folder = next((p for p in PurePosixPath(rel).parents if (root / p / "mix.exs").is_file()), None)
    if folder is None:
        return None
    name = task_name(module.group("m"))
    doc = _SHORTDOC.search(code)
    if not (_BACKFILLISH.search(name) or doc and _BACKFILLISH.search(doc.group("d")) or embedding_calls(rel, code)
            or has_calls(code) and scan(rel, code, "other")):
        return None
    return Entrypoint(rel, "mix-task", name, f"mix {name}", str(folder))


def mix_task_file(name: str, workdir: Path) -> Path | None:
    """The file of the application's ``lib/`` under ``workdir`` that defines the Mix task ``name``."""
    for path in sorted((workdir / "lib").rglob("*.ex")):
        data = path.read_bytes() if path.is_file() else b""
        module = _MIX_TASK.search(_code(data.decode("utf-8", "replace"))) if b"Mix.Task" in data else None
        if module and task_name(module.group("m")) == name:
            return path
    return None


def task_name(module: str) -> str:
    """Mix's name of a task module's name after ``Mix.Tasks.``: each part underscored, joined by dots."""
    return ".".join(re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", part).lower()
                    for part in module.split("."))


def embedding_calls(rel: str, text: str) -> list[EmbeddingCall]:
    """Each ``Ollama.embed``/``Ollama.embeddings`` call of one file: its model where the file says it (a module
    function's is ``model_from`` ``elixir#Module.fun``, read by ``with_modules``), its URL where the file makes its
    client."""
    if not rel.endswith((".ex", ".exs")) or "Ollama" not in text:
        return []
    code = _code(text)
    found = []
    for m in _CALL.finditer(code):
        args = call_args(code, m.end() - 1)
        said = _MODEL.search(args)
        variable = _VARIABLE.match(args)
        if said is None and variable:  # `params = [model: ..., input: texts]` before the call
            assigned = list(re.finditer(rf"\b{variable.group('var')}\s*=\s*\[", code[:m.start()]))
            said = _MODEL.search(call_args(code, assigned[-1].end() - 1)) if assigned else None
        model, model_from = _model(code, said.group("v")) if said else (None, None)
        url, url_env = _url(code)
        found.append(EmbeddingCall(rel, line_of(code, m.start()), "ollama-client", f"Ollama.{m.group('fn')}",
                                   model=model, url=url, url_env=url_env, model_from=model_from))
    return found


def _model(code: str, value: str) -> tuple[str | None, str | None]:
    """(the literal, None), or (None, "elixir#Module.fun") for a function of another module."""
    if value.startswith('"'):
        return value.strip('"'), None
    if value.startswith("@"):
        return _attribute(code, value[1:]), None
    return None, "elixir#" + re.sub(r"\s*\(\s*\)$", "", value)


def _attribute(code: str, name: str) -> str | None:
    m = re.search(rf'(?m)^\s*@{name}\s+"(?P<s>[^"\n]*)"', code)
    return m.group("s") if m else None


def _url(code: str) -> tuple[str | None, str | None]:
    """The server of the file's ``Ollama.init`` calls where they agree: the library's default for none given, the
    literal, or the env read (with its default); (None, None) where the file makes no client or they differ."""
    said: set[tuple[str | None, str | None]] = set()
    for m in _INIT.finditer(code):
        arg = call_args(code, m.end() - 1).strip()
        env = _ENV.search(arg)
        if not arg or arg == "[]":
            said.add((_root(DEFAULT_URL), None))
        elif re.fullmatch(r'"[^"\n]*"', arg):
            said.add((_root(arg.strip('"')), None))
        elif env:
            said.add((_root(env.group("default")) if env.group("default") else None, env.group("name")))
        else:
            said.add((None, None))
    return said.pop() if len(said) == 1 else (None, None)


def _root(url: str) -> str:
    """The Ollama server of a client's base URL (ollama-ex's end in ``/api``): what OLLAMA_HOST names."""
    return re.sub(r"/api/?$", "", url)


def with_modules(calls: Iterable[EmbeddingCall], listed: Iterable[str],
                 read: Callable[[str], str | None]) -> list[EmbeddingCall]:
    """Elixir calls given the model a function of another module returns (``def fun, do: @attr`` or a literal), and,
    where their own file makes no client, the server every ``Ollama.init`` of the application agrees on."""
    calls = list(calls)
    if not any(c.path.endswith((".ex", ".exs")) and (c.model_from or c.url is None and c.url_env is None)
               for c in calls):
        return calls
    sources = {rel: _code(text) for rel in sorted(listed) if rel.endswith((".ex", ".exs"))
               and (text := read(rel)) is not None}
    made = {rel: _url(code) for rel, code in sources.items() if _INIT.search(code)}
    inits = set(made.values())
    shared = inits.pop() if len(inits) == 1 else (None, None)
    at = next((f"{rel}:{line_of(sources[rel], m.start())}" for rel in made
               for m in [_INIT.search(sources[rel])] if m), None)
    out = []
    for c in calls:
        if c.path.endswith((".ex", ".exs")):
            if c.model_from and c.model_from.startswith("elixir#") and c.model is None:
                c = replace(c, model=_returned(sources.values(), c.model_from.removeprefix("elixir#")))
            if c.url is None and c.url_env is None and shared != (None, None):
                c = replace(c, url=shared[0], url_env=shared[1], url_at=at)
        out.append(c)
    return out


def _returned(sources: Iterable[str], path: str) -> str | None:
    """The literal ``Module.fun`` returns: the module whose name ends with ``Module`` (an alias is its last part)."""
    module, fun = path.rsplit(".", 1)
    said = set()
    for code in sources:
        for m in re.finditer(rf"(?m)^\s*defmodule\s+(?:[\w.]+\.)?{re.escape(module)}\s+do\b", code):
            body = code[m.end():]
            d = re.search(rf"\bdef\s+{re.escape(fun)}(?:\s*\(\s*\))?\s*(?:,\s*do:\s*|do\s+)"
                          rf"""(?P<v>"[^"\n]*"|@\w+)""", body)
            if d:
                value = d.group("v")
                said.add(value.strip('"') if value.startswith('"') else _attribute(body, value[1:]))
    return said.pop() if len(said) == 1 else None
