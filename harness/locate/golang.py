"""Go applications: the `package main` commands `go run` runs (and the cobra subcommands of one), langchaingo's
embedders with the model and URL each is made with (a literal, a constant, os.Getenv, or the config field a struct literal or an assignment in the
same file gives one), and the model and URL an Ollama HTTP call sends (the fields of the request its function builds,
read from the environment or given a literal where the file fills them), and the requests of Ollama's own Go client
(github.com/ollama/ollama/api)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path, PurePosixPath

from .embedding_calls import EmbeddingCall
from .entrypoints import _BACKFILLISH, _SECONDARY, Entrypoint
from .lexing import enclosing_body, lex
from .literals import call_args, line_of

_PACKAGE_MAIN = re.compile(rb"(?m)^package\s+main\s*$")
_FUNC_MAIN = re.compile(rb"(?m)^func\s+main\s*\(\s*\)")
# langchaingo's providers: `ollama.New(ollama.WithModel(m))`, `openai.New(openai.WithEmbeddingModel(m))`.
_NEW = re.compile(r"\b(?P<pkg>ollama|openai)\s*\.\s*New\s*\(")
_LANGCHAINGO = re.compile(r'"github\.com/tmc/langchaingo/(?:llms|embeddings)/')
# The LLM is an embedder where the file embeds with it (CreateEmbedding, embeddings.NewEmbedder) or names an
# embedder type; a provider made for chat alone (`ollama.New(ollama.WithModel("llama2"))`) is none.
_EMBEDS = re.compile(r"\bCreateEmbedding\b|\bembeddings\s*\.\s*NewEmbedder\b|\bEmbedder\b")
_OPTION = r"\b{pkg}\s*\.\s*{option}\s*\("
_LITERAL = re.compile(r'^"(?P<s>[^"\n]*)"$|^`(?P<r>[^`]*)`$')
# cobra's `&cobra.Command{Use: "ingest [dir]", ...}`: the subcommand's name is the first word of Use
_COBRA_USE = re.compile(r'\bcobra\s*\.\s*Command\s*\{[^{}]*?\bUse\s*:\s*"(?P<name>[\w:-]+)')
_FUNC = re.compile(r"(?m)^func\b")
# Ollama's own Go client: the package's name where the file imports it (`api`, or the alias it is given)
_OLLAMA_API_IMPORT = re.compile(r'(?m)^\s*(?:import\s+)?(?P<alias>[A-Za-z_]\w*\s+)?"github\.com/ollama/ollama/api"')
# its embedding requests, `&api.EmbedRequest{...}` (/api/embed) and `&api.EmbeddingRequest{...}` (/api/embeddings);
# a ChatRequest or GenerateRequest is no embedder
_OLLAMA_REQUEST = r"\b{alias}\s*\.\s*(?:EmbedRequest|EmbeddingRequest)\s*\{{"
# where it is given its server: ClientFromEnvironment reads OLLAMA_HOST; NewClient(u, ...) is given a URL the
# function builds (from an environment variable it reads, or a literal)
_OLLAMA_CLIENT = r"\b{alias}\s*\.\s*(?P<how>ClientFromEnvironment|NewClient)\s*\("
_GETENV_ANY = re.compile(r'\bos\s*\.\s*(?:Getenv|LookupEnv)\s*\(\s*"(?P<name>\w+)"\s*\)')
_SERVERISH = re.compile(r"OLLAMA|HOST|URL", re.I)
_MODULE = re.compile(r"(?m)^module\s+(?P<path>\S+)")
# an import spec, alone (`import "x"`) or in a group (`import (\n\talias "x"\n)`)
_IMPORT_BLOCK = re.compile(r"(?m)^import\s*(?:\((?P<group>[^)]*)\)|(?:[\w.]+\s+)?\"(?P<one>[^\"]+)\")")
_GETENV = re.compile(r'^os\s*\.\s*(?:Getenv|LookupEnv)\s*\(\s*"(?P<name>\w+)"\s*\)$')
_SELECTOR = re.compile(r"^(?:[A-Za-z_]\w*\s*\.\s*)*(?P<f>[A-Za-z_]\w*)$")


def entrypoint(rel: str, data: bytes) -> Entrypoint | None:
    """A `package main` file with `func main()` whose folder or name says it backfills or ingests (as a Python
    script's must): its folder's command, `go run ./folder`; or a file of a `package main` making a cobra subcommand
    so named (`Use: "ingest"`, in any file of the package): `go run ./folder ingest`. Any other (a server, a chat loop
    on stdin) is none."""
    if not rel.endswith(".go") or rel.endswith("_test.go") or not _PACKAGE_MAIN.search(data):
        return None
    folder = str(PurePosixPath(rel).parent)
    run = "go run ." if folder == "." else f"go run ./{folder}"
    code = lex(data.decode("utf-8", "replace"), "go")[0]
    named = [m.group("name") for m in _COBRA_USE.finditer(code)]
    sub = next((n for n in named if _BACKFILLISH.search(n)), None) or next(
        (n for n in named if _SECONDARY.search(n)), None)
    if sub is not None:
        return Entrypoint(rel, "go-main", f"{folder} {sub}", f"{run} {sub}")
    if not _FUNC_MAIN.search(data) or not _BACKFILLISH.search(rel) and not _SECONDARY.search(rel):
        return None
    return Entrypoint(rel, "go-main", folder, run)


def embedding_calls(rel: str, text: str) -> list[EmbeddingCall]:
    """langchaingo providers made in a file that embeds with them, and the embedding requests of Ollama's own Go
    client, each with its model and server URL."""
    found = ollama_api_requests(rel, text)
    if not _LANGCHAINGO.search(text) or not _EMBEDS.search(text):
        return found
    found = []
    for m in _NEW.finditer(text):
        pkg, args = m.group("pkg"), call_args(text, m.end() - 1)
        # options made beforehand (`modelOptions := ollama.WithModel(...)`) and passed as variables: the file's own
        args = args if re.search(rf"\b{pkg}\s*\.\s*With", args) else text
        model, model_env = _option(text, args, pkg, "WithEmbeddingModel")
        if model is None and model_env is None:
            model, model_env = _option(text, args, pkg, "WithModel")
        url, url_env = _option(text, args, pkg, "WithServerURL" if pkg == "ollama" else "WithBaseURL")
        found.append(EmbeddingCall(rel, line_of(text, m.start()), "ollama-client" if pkg == "ollama" else "openai",
                                   f"langchaingo {pkg}.New", model=model, model_env=model_env, url=url, url_env=url_env))
    return found


def ollama_api_requests(rel: str, text: str) -> list[EmbeddingCall]:
    """Each `&api.EmbedRequest{Model: ...}` (or EmbeddingRequest) of a file importing Ollama's Go client: the model
    its `Model` field is given (a literal, os.Getenv, or what the file gives the name), the server its function's
    client is made with (ClientFromEnvironment: OLLAMA_HOST; NewClient: the variable the function reads it from)."""
    imported = _OLLAMA_API_IMPORT.search(text)
    if imported is None:
        return []
    alias = re.escape((imported.group("alias") or "api").strip())
    code = lex(text, "go")[0]  # a commented-out request is none
    starts = [0] + [m.start() for m in _FUNC.finditer(code)]
    found = []
    for m in re.finditer(_OLLAMA_REQUEST.format(alias=alias), code):
        fields = call_args(code, m.end() - 1)
        given = re.search(r"(?:^|[{,\s])Model\s*:\s*(?P<e>[^,}\n]+)", fields)
        model, model_env = _go_value(code, given.group("e").strip()) if given else (None, None)
        # the function the request is made in: the client it is sent with is made there, else the file's one
        body = code[max(s for s in starts if s <= m.start()):min((s for s in starts if s > m.start()), default=len(code))]
        url, url_env = _client_server(body, alias) or _client_server(code, alias) or (None, None)
        request = m.group().split(".")[-1].strip(" {")
        found.append(EmbeddingCall(rel, line_of(code, m.start()), "ollama-client", f"ollama/api {request}",
                                   model=model, model_env=model_env, url=url, url_env=url_env))
    return found


def _client_server(code: str, alias: str) -> tuple[str | None, str | None] | None:
    """(URL, env variable) of the one Ollama client ``code`` makes: ClientFromEnvironment's OLLAMA_HOST, or for
    NewClient the one server-like variable the code reads (its host, or its URL), else a literal URL it says."""
    made = {m.group("how") for m in re.finditer(_OLLAMA_CLIENT.format(alias=alias), code)}
    if made == {"ClientFromEnvironment"}:
        return None, "OLLAMA_HOST"
    if made != {"NewClient"}:
        return None
    envs = {m.group("name") for m in _GETENV_ANY.finditer(code) if _SERVERISH.search(m.group("name"))}
    if len(envs) == 1:
        return None, envs.pop()
    literals = set(re.findall(r'"(https?://[^"%\s]+)"', code))
    return (literals.pop(), None) if len(literals) == 1 else None


def _option(text: str, args: str, pkg: str, option: str) -> tuple[str | None, str | None]:
    """(literal, env variable) of the option's argument, read as a request's field is (``_go_value``: a literal, a
    constant, a field or variable the file gives one, os.Getenv)."""
    m = re.search(_OPTION.format(pkg=pkg, option=option), args)
    return _go_value(text, call_args(args, m.end() - 1).strip()) if m else (None, None)


def with_request_fields(rel: str, text: str, calls: list[EmbeddingCall]) -> list[EmbeddingCall]:
    """The file's Ollama HTTP calls with the model their request sends (`Model: EXPR` in the struct literal their
    function builds before the call) and the URL they post to (`EXPR + "/api/..."`), where the call named neither."""
    if not rel.endswith(".go"):
        return calls
    code = lex(text, "go")[0]  # a commented-out `// Model: "old"` is no field
    starts = [0] + [m.start() for m in _FUNC.finditer(code)]
    lines = code.split("\n")
    out = []
    for call in calls:
        if call.kind != "ollama-http":
            out.append(call)
            continue
        _, body = enclosing_body(code, starts, call.line)
        if call.model is None and call.model_env is None:
            fields = list(re.finditer(r"\bModel\s*:\s*(?P<e>[^,}\n]+)", body))
            if fields:
                model, env = _go_value(code, fields[-1].group("e").strip())
                call = replace(call, model=model, model_env=env)
        line = lines[call.line - 1] if call.line - 1 < len(lines) else ""
        base = re.search(r'(?P<e>os\s*\.\s*Getenv\s*\(\s*"\w+"\s*\)|[A-Za-z_][\w.]*)\s*\+\s*"/(?:api|v1)/', line)
        if call.url is None and call.url_env is None and base:
            url, env = _go_value(code, base.group("e").strip())
            call = replace(call, url=url, url_env=env)
        out.append(call)
    return out


def _go_value(code: str, expr: str, depth: int = 0) -> tuple[str | None, str | None]:
    """(literal, env variable) an expression gives: a string literal, `os.Getenv("X")`, or a field, variable or
    constant the file gives one of these (a struct literal's `Field: ...`, `x.Field = ...`, `const Name = ...`),
    where every such value agrees."""
    if (lit := _LITERAL.match(expr)) is not None:
        return (lit.group("s") if lit.group("s") is not None else lit.group("r")), None
    if (env := _GETENV.match(expr)) is not None:
        return None, env.group("name")
    field = _SELECTOR.match(expr)
    if depth > 3 or field is None:
        return None, None
    name = re.escape(field.group("f"))
    given = re.finditer(rf"(?:^|[{{,\s]){name}\s*:\s*(?P<a>[^,}}\n]+)|\.{name}\s*=\s*(?P<b>[^\n;]+)"
                        rf"|\b(?:const|var)\s+{name}\s*(?:\w+\s*)?=\s*(?P<c>[^\n;]+)|\b{name}\s*:=\s*(?P<d>[^\n;]+)", code)
    values = {_go_value(code, v.strip(), depth + 1) for m in given for v in m.groups() if v and v.strip() != expr}
    values.discard((None, None))
    return values.pop() if len(values) == 1 else (None, None)


def package_files(target: Path) -> list[Path]:
    """The files `go run TARGET` builds: a .go file itself, else the folder's .go files but its tests."""
    if target.is_file():
        return [target]
    return sorted(p for p in target.glob("*.go") if not p.name.endswith("_test.go")) if target.is_dir() else []


def imported_files(root: Path, path: Path, text: str) -> list[Path]:
    """The files of the packages of its own module a Go file imports (`module/sub/pkg` is the folder sub/pkg beside
    the nearest go.mod above it); the standard library's and other modules' are not in the repository."""
    mod = next((p for p in path.parents if (p / "go.mod").is_file() and (root == p or root in p.parents)), None)
    found = _MODULE.search((mod / "go.mod").read_text(errors="replace")) if mod else None
    if mod is None or found is None:
        return []
    module, code = found.group("path"), lex(text, "go")[0]
    specs = [s for m in _IMPORT_BLOCK.finditer(code)
             for s in ([m.group("one")] if m.group("one") else re.findall(r'"([^"]+)"', m.group("group") or ""))]
    return [f for s in specs if s.startswith(module + "/")
            for f in package_files(mod / s.removeprefix(module + "/"))]
