"""Rust applications: the binaries `cargo run` runs, the modules a file declares (`mod name;`), and the model an
Ollama HTTP call sends (reqwest's `.post(".../api/embeddings").json(&request)`), from the request its function builds
before the call, a struct literal or `json!`: a literal, a `const`/`static`, or a variable read from the environment
(`env::var("X")`, its default the one `unwrap_or` gives)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from .embedding_calls import EmbeddingCall
from .entrypoints import _BACKFILLISH, _SECONDARY, Entrypoint
from .lexing import enclosing_body, lex
from .literals import ENV_RUST as _ENV
from .literals import call_args, chained_calls, split_args

_FN = re.compile(r"(?m)^[ \t]*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?fn\s+\w+")
# `model: EXPR` in a struct literal, `"model": EXPR` in `json!`: up to the field's end
_MODEL_FIELD = re.compile(r"""(?:\bmodel|"model")\s*:\s*(?P<e>[^,}\n]+)""")
_WRAPPED = re.compile(r"""^&?\s*(?:String::from\((?P<a>.+)\)|(?P<b>.+?)(?:\.(?:to_string|to_owned|clone|into|as_str)\(\))+)$""")
_STRING = re.compile(r'''^"(?P<s>[^"\\\n]*)"$''')
_IDENT = re.compile(r"^[a-z_]\w*$|^[A-Z][A-Z0-9_]*$")
_FN_MAIN = re.compile(rb"(?m)^[ \t]*(?:pub\s+)?(?:async\s+)?fn\s+main\s*\(\s*\)")
_MOD = re.compile(r"(?m)^[ \t]*(?:pub(?:\([^)]*\))?\s+)?mod\s+(?P<name>\w+)\s*;")


def entrypoint(root: Path, rel: str, data: bytes) -> Entrypoint | None:
    """A binary target with `fn main()` whose name (or, for the crate's own `src/main.rs`, whose crate's folder) says
    it backfills or ingests, as a Python script's must: `cargo run --release --bin NAME` for `src/bin/NAME.rs` or
    `src/bin/NAME/main.rs`, `--example NAME` for `examples/NAME.rs`, plain `cargo run` for `src/main.rs`, each in its
    crate's folder (optimised: a job over a whole collection); of a binary whose clap subcommands are declared in it,
    the subcommand whose name says so, given after `--` (none if none does). Any other (a server, a chat loop) is none."""
    if not rel.endswith(".rs") or not _FN_MAIN.search(data):
        return None
    path = PurePosixPath(rel)
    crate = next((p for p in path.parents if (root / p / "Cargo.toml").is_file()), None)
    if crate is None:
        return None
    inner = path.relative_to(crate).parts
    if inner[:2] == ("src", "bin") and len(inner) in (3, 4) and (len(inner) == 3 or inner[3] == "main.rs"):
        name, flag = PurePosixPath(inner[2]).stem, "--bin"
    elif inner[:1] == ("examples",) and len(inner) == 2:
        name, flag = path.stem, "--example"
    elif inner == ("src", "main.rs"):
        name, flag = crate.name, ""
    else:
        return None
    named = rel if flag else str(crate)
    # a binary of clap subcommands runs none unless given one: the one whose name says it backfills, after `--`
    subs = [n for _, _, n, _ in subcommands(lex(data.decode("utf-8", "replace"), "rust")[0])] if b"Subcommand" in data else []
    sub = next((n for pattern in (_BACKFILLISH, _SECONDARY) for n in subs if pattern.search(n)), None)
    if sub is None and (subs or not _BACKFILLISH.search(named) and not _SECONDARY.search(named)):
        return None
    command = "cargo run --release" + (f" {flag} {name}" if flag else "") + (f" -- {sub}" if sub else "")
    return Entrypoint(rel, "cargo-bin", f"{name} {sub}" if sub else name, command, workdir=str(crate))


def binary_file(args: list[str], workdir: Path) -> Path | str:
    """The file `cargo run ARGS` runs in ``workdir`` (`--bin NAME`, `--example NAME`, else `src/main.rs`), or why none
    is found."""
    flags = dict(zip(args, args[1:]))
    if (name := flags.get("--bin")) is not None:
        candidates = [workdir / "src" / "bin" / f"{name}.rs", workdir / "src" / "bin" / name / "main.rs"]
    elif (name := flags.get("--example")) is not None:
        candidates = [workdir / "examples" / f"{name}.rs"]
    else:
        candidates = [workdir / "src" / "main.rs"]
    found = next((c for c in candidates if c.is_file()), None)
    return found or f"cargo run: {candidates[0].name} not found in {workdir}"


def modules(path: Path, text: str) -> list[Path]:
    """The files of the modules ``path`` declares (`mod name;`): beside a crate root or `mod.rs`, else in its folder."""
    code, _ = lex(text, "rust")
    folder = path.parent if path.name in ("main.rs", "lib.rs", "mod.rs") else path.parent / path.stem
    if path.parent.name == "bin" and path.name != "main.rs":  # src/bin/NAME.rs is a crate root of its own
        folder = path.parent
    return [candidate for m in _MOD.finditer(code)
            for candidate in (folder / f"{m.group('name')}.rs", folder / m.group("name") / "mod.rs")
            if candidate.is_file()]


def with_models(rel: str, text: str, calls: list[EmbeddingCall]) -> list[EmbeddingCall]:
    """The file's Ollama HTTP calls with the model their request sends where the call itself named none."""
    if not rel.endswith(".rs"):
        return calls
    code = lex(text, "rust")[0]  # a commented-out `// model: "old"` is no field
    starts = [0] + [m.start() for m in _FN.finditer(code)]
    out = []
    for call in calls:
        if call.kind != "ollama-http" or call.model or call.model_env:
            out.append(call)
            continue
        at, body = enclosing_body(code, starts, call.line)
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


# clap's arguments: derive style, an attribute on a field (`#[arg(long, env = "X", default_value = "y")]`; clap 3's
# `#[clap(...)]`, structopt's `#[structopt(...)]`), and builder style, an `Arg::new("id")` (clap 2's `with_name`) or an
# `arg!(-m --model <NAME>)` followed by its calls (`.long("model").env("X").default_value("y").required(true)`).
_CLAP_ATTR = re.compile(r"#\[\s*(?:arg|clap|structopt)\s*\(")
# the field an attribute is on: past any further one-line attributes (`#[serde(...)]`), `pub name: Type`
_CLAP_FIELD = re.compile(r"\s*\)\s*\]\s*(?:#\[[^\]\n]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?(?:r#)?(?P<f>[a-z_][a-z0-9_]*)\s*:"
                         r"\s*(?P<t>[^,\n}]+)")
_CLAP_BUILDER = re.compile(r"\bArg\s*::\s*(?:new|with_name)\s*\(|\barg!\s*\(")
_CLAP_STRING = re.compile(r"""^(?:String::from\(\s*)?"(?P<s>[^"\\\n]*)"|^'(?P<c>\w)'""")
# what needs no value on the command line: an Option, a Vec, a switch, a count
_CLAP_OPTIONAL = re.compile(r"^(?:Option|Vec)\s*<|^bool$|ArgAction::(?:SetTrue|SetFalse|Count|Append|Help|Version)")


@dataclass(frozen=True)
class ClapArg:
    """One flag a clap parser declares: its names (the long first), whether it must be given, the environment variable
    it falls back to, its literal default, and the span of its declaration."""
    names: tuple[str, ...]
    needed: bool
    env: str | None
    default: str | None
    span: tuple[int, int]


def clap_args(text: str) -> list[ClapArg]:
    """The flags a Rust file's clap parser declares, derive or builder style (positional arguments are no flags)."""
    if not (_CLAP_ATTR.search(text) or _CLAP_BUILDER.search(text)):
        return []
    code = lex(text, "rust")[0]
    out = []
    for m in _CLAP_ATTR.finditer(code):
        args = call_args(code, m.end() - 1)
        field = _CLAP_FIELD.match(code, m.end() + len(args))
        if field is None:
            continue
        settings = dict(_setting(part) for _, part in split_args(args))
        name, kind = field.group("f"), field.group("t").strip()
        long = _literal(code, settings["long"]) if settings.get("long") else name.replace("_", "-")
        short = _literal(code, settings["short"]) if settings.get("short") else name[:1]
        names = (*([f"--{long}"] if "long" in settings and long else []),
                 *([f"-{short}"] if "short" in settings and short else []))
        env = (_literal(code, settings["env"]) if settings["env"] else name.upper()) if "env" in settings else None
        default = next((_literal(code, settings[k]) for k in ("default_value", "default_value_t") if settings.get(k)), None)
        optional = _CLAP_OPTIONAL.search(kind) or _CLAP_OPTIONAL.search(settings.get("action") or "") or any(
            k.startswith("default_") for k in settings)
        needed = settings.get("required") == "true" or not (optional or env)
        if names:
            out.append(ClapArg(names, needed, env, default, (m.start(), field.end())))
    for m in _CLAP_BUILDER.finditer(code):
        head = call_args(code, m.end() - 1)
        calls, end = chained_calls(code, m.end() + len(head) + 1)
        if m.group(0).startswith("arg!"):  # `arg!(-m --model <NAME> "help")`: its names outside the help's quotes
            bare = re.sub(r'"[^"\n]*"', "", head)
            names = (*(f"--{n}" for n in re.findall(r"(?<![\w-])--([A-Za-z][\w-]*)", bare)),
                     *(f"-{n}" for n in re.findall(r"(?<![\w-])-([A-Za-z])(?![\w-])", bare)))
        else:
            long, short = _literal(code, calls.get("long", "")), _literal(code, calls.get("short", ""))
            names = (*([f"--{long}"] if long else []), *([f"-{short}"] if short else []))
        if names:
            out.append(ClapArg(names, calls.get("required") == "true", _literal(code, calls.get("env", "")) or None,
                               _literal(code, calls.get("default_value", "")), (m.start(), end)))
    return out


def _setting(part: str) -> tuple[str, str]:
    """An attribute's `key = value` (or bare `key`) as (key, value)."""
    key, _, value = part.partition("=")
    return key.strip(), value.strip()


def _literal(code: str, expr: str) -> str | None:
    """A string or char literal (`"x"`, `'m'`, `String::from("x")`, `"x".to_string()`), or a `const`'s (by its last
    path segment: `crate::env::OLLAMA_HOST`)."""
    if (s := _CLAP_STRING.match(expr.strip())) is not None:
        return s.group("s") if s.group("s") is not None else s.group("c")
    name = expr.strip().rsplit("::", 1)[-1]
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
        return None
    const = re.search(rf"\b(?:const|static)\s+{name}\s*:[^=;]+=\s*\"(?P<s>[^\"\\\n]*)\"", code)
    return const.group("s") if const else None


# clap's subcommands: the variants of a `#[derive(Subcommand)]` enum, each run as its kebab-case name (`ReEmbed`:
# `re-embed`) or the name its `#[command(name = "...")]` gives
_SUBCOMMAND_ENUM = re.compile(r"#\[\s*derive\s*\([^)\]]*\bSubcommand\b[^)\]]*\)\s*\]\s*(?:#\[[^\]\n]*\]\s*)*"
                              r"(?:pub(?:\([^)]*\))?\s+)?enum\s+(?P<e>\w+)\s*\{")
_VARIANT_NAME = re.compile(r"""#\[\s*(?:command|clap|structopt)\s*\([^\]]*?\bname\s*=\s*"(?P<n>[^"]+)\"""")
_ARM_SPAN = 20000  # an arm's body at most


def subcommands(code: str) -> list[tuple[str, str, str, tuple[int, int]]]:
    """(enum, variant, the name a command line gives it, the variant's span) of each clap subcommand the code
    (``lex``'s) declares."""
    out = []
    for m in _SUBCOMMAND_ENUM.finditer(code):
        for offset, part in split_args(call_args(code, m.end() - 1, limit=_ARM_SPAN)):
            named = _VARIANT_NAME.search(part)
            variant = re.match(r"[A-Z]\w*", re.sub(r"#\[[^\]]*\]", "", part).strip())
            if variant:
                kebab = re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", variant.group(0)).lower()
                out.append((m.group("e"), variant.group(0), named.group("n") if named else kebab,
                            (m.end() + offset, m.end() + offset + len(part))))
    return out


def given_subcommand(args: list[str]) -> str | None:
    """The subcommand a `cargo run` line gives its binary: the first word after `--` that is no flag."""
    rest = args[args.index("--") + 1:] if "--" in args else []
    return next((a for a in rest if not a.startswith("-")), None)


def other_subcommands(code: str, given: str | None) -> list[tuple[int, int]]:
    """The spans that belong only to another subcommand than ``given``: the others' variants (their flags) and the
    structs they wrap (`Serve(ServeArgs)`), their `match` arms (`Commands::Serve { port } => serve(port).await?,`),
    and the functions called from those arms alone (none where no subcommand is given, or none is declared)."""
    subs = subcommands(code)
    if given is None or not any(name == given for _, _, name, _ in subs):
        return []
    dead = []
    for enum, variant, name, span in subs:
        if name == given:
            continue
        dead.append(span)
        wrapped = re.match(rf"[^(]*\b{variant}\s*\(\s*(?P<t>[A-Z]\w*)\s*\)", code[span[0]:span[1]])
        if wrapped and (struct := re.search(rf"\bstruct\s+{wrapped.group('t')}\s*\{{", code)):
            dead.append((struct.start(), struct.end() + len(call_args(code, struct.end() - 1, limit=_ARM_SPAN)) + 1))
        for m in re.finditer(rf"\b{re.escape(enum)}\s*::\s*{re.escape(variant)}\b", code):
            arrow = re.compile(r"\s*(?:\{[^{}]*\}|\([^()]*\))?\s*(?:if\b[^=\n]*)?=>").match(code, m.end())
            if arrow is not None:
                dead.append((m.start(), _arm_end(code, arrow.end())))
    functions = [(f.group("n"), f.start(), _body_end(code, f.end())) for f in _FN_NAMED.finditer(code)]
    calls: dict[str, list[int]] = {}
    for c in _CALL.finditer(code):  # one pass over the file: where each name is called
        calls.setdefault(c.group("n"), []).append(c.start("n"))
    for _ in range(3):  # functions called only from dead code are dead, three calls deep
        for name, start, end in functions:
            if (start, end) in dead or name == "main":
                continue
            outside = [c for c in calls.get(name, []) if not start <= c < end]
            if outside and all(any(a <= c < b for a, b in dead) for c in outside):
                dead.append((start, end))
    return dead


_CALL = re.compile(r"(?<![\w.])(?P<n>[a-z_]\w*)\s*\(")


_FN_NAMED = re.compile(r"\bfn\s+(?P<n>\w+)\s*(?:<[^>{]*>)?\s*\(")


def _arm_end(code: str, at: int) -> int:
    """Where a `match` arm's body starting at ``at`` ends: its block's closing brace, or the `,` (or the `match`'s
    closing brace) that ends its expression."""
    start = at + len(code[at:at + _ARM_SPAN]) - len(code[at:at + _ARM_SPAN].lstrip())
    if code.startswith("{", start):
        return start + len(call_args(code, start, limit=_ARM_SPAN)) + 2
    depth = 0
    for i in range(start, min(len(code), start + _ARM_SPAN)):
        depth += (code[i] in "([{") - (code[i] in ")]}")
        if depth < 0 or (depth == 0 and code[i] == ","):
            return i
    return min(len(code), start + _ARM_SPAN)


def _body_end(code: str, after_paren: int) -> int:
    """Where the body of a function whose parameter list opens at ``after_paren - 1`` ends (its closing brace)."""
    brace = code.find("{", after_paren - 1 + len(call_args(code, after_paren - 1)))
    return after_paren if brace < 0 else brace + len(call_args(code, brace, limit=_ARM_SPAN * 5)) + 2
