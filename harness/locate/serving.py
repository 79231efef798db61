"""Whether a command serves: starts a server, a queue worker or a file watcher that never exits, rather than running
to completion as a backfill does. Read from its command line (`uvicorn app:app`, `next dev`, `php artisan serve`) or
from the code of the file it runs (`uvicorn.run(app)` reached from its ``__main__`` block, `app.listen(3000)`,
`http.ListenAndServe`, `axum::serve`, `WebApplication.CreateBuilder`): run would wait for it until its timeout."""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence, Set
from pathlib import Path, PurePosixPath

from .files import read
from .lexing import in_strings, lex
from .literals import call_args, chained_calls, js_imports, line_of


def server(what: str) -> str:
    return f"it starts a server ({what}) and never exits"


def watcher(what: str) -> str:
    return f"it runs under a file watcher ({what}) and never exits"


def located(reason: str, where: str) -> str:
    """A command line's reason with where the line is said (``package.json:4``); a reason from code has its own."""
    if not reason or re.search(r":\d+\) and never exits$", reason):
        return reason
    return re.sub(r"\) and never exits$", f", {where}) and never exits", reason)


# -- command lines ---------------------------------------------------------------------------------------------------

# tool -> the subcommands that serve (None: the tool serves whatever follows it)
_SERVERS: dict[str, frozenset[str] | None] = {
    # Python
    "uvicorn": None, "gunicorn": None, "hypercorn": None, "daphne": None, "granian": None, "waitress-serve": None,
    "fastapi": frozenset({"dev", "run"}), "flask": frozenset({"run"}), "streamlit": frozenset({"run", "hello"}),
    "chainlit": frozenset({"run"}), "gradio": None, "panel": frozenset({"serve"}), "mcp": frozenset({"run", "dev"}),
    "langgraph": frozenset({"dev", "up"}), "mlflow": frozenset({"server", "ui"}),
    # JavaScript
    "next": frozenset({"dev", "start"}), "nuxt": frozenset({"dev", "start", "preview"}),
    "nuxi": frozenset({"dev", "preview"}), "remix": frozenset({"dev"}), "remix-serve": None,
    "astro": frozenset({"dev", "preview"}), "react-scripts": frozenset({"start"}), "webpack-dev-server": None,
    "webpack": frozenset({"serve"}), "ng": frozenset({"serve"}), "gatsby": frozenset({"develop", "serve"}),
    "nest": frozenset({"start"}), "wrangler": frozenset({"dev"}), "vercel": frozenset({"dev"}),
    "netlify": frozenset({"dev"}), "serve": None, "http-server": None, "live-server": None, "json-server": None,
    "mastra": frozenset({"dev"}), "svelte-kit": frozenset({"dev", "preview"}),
    # Ruby, Elixir, PHP workers and servers
    "puma": None, "rackup": None, "unicorn": None, "thin": frozenset({"start"}), "sidekiq": None,
    "foreman": frozenset({"start"}), "iex": None,
}
# Vite serves unless told to build.
_VITE_EXITS = frozenset({"build", "optimize"})
_WATCHERS = frozenset({"nodemon", "ts-node-dev", "tsnd", "node-dev", "watchexec", "chokidar"})


def command(words: list[str]) -> str:
    """Why the command line (its environment assignments and wrappers already taken off) serves; "" if it does not
    say so itself (the file it runs may)."""
    if not words:
        return ""
    name = PurePosixPath(words[0]).name
    args = [w for w in words[1:] if not w.startswith("-")]
    flags = [w for w in words[1:] if w.startswith("-")]
    said = " ".join(words[:2]) if len(words) > 1 and not words[1].startswith("-") else name
    if re.match(r"python(?:3(?:\.\d+)?)?$", name):
        module = words[words.index("-m") + 1:] if "-m" in words[:-1] else []
        if module[:1] == ["http.server"]:
            return server("python -m http.server")
        if module[:1] and module[0] in _SERVERS:
            return command(module)
        if args[:2] == ["manage.py", "runserver"]:
            return server("manage.py runserver")
        return ""
    if name in ("tsx", "node", "bun", "deno") and ("watch" in args[:1] or "--watch" in flags or "--hot" in flags):
        return watcher(f"{name} watch" if "watch" in args[:1] else f"{name} {next(f for f in flags if f in ('--watch', '--hot'))}")
    if name in _WATCHERS:
        return watcher(name)
    if name == "vite":
        return server(said) if not args or args[0] not in _VITE_EXITS else ""
    if name == "celery" and ("worker" in args or "beat" in args):
        return server(f"celery {'worker' if 'worker' in args else 'beat'}")
    if name == "rq" and args[:1] == ["worker"]:
        return server("rq worker")
    if name == "php":
        if words[1:2] == ["-S"]:
            return server("php -S")
        if args[:1] == ["artisan"] and len(args) > 1:
            task = args[1]
            if task in ("serve", "octane:start", "reverb:start", "horizon", "schedule:work", "pulse:work") or (
                    task in ("queue:work", "queue:listen") and not {"--stop-when-empty", "--once"} & set(flags)):
                return server(f"artisan {task}")
        return ""
    if name in ("rails", "rake") and args[:1] in (["server"], ["s"]):
        return server(f"rails {args[0]}")
    if name == "mix" and (args[:1] == ["phx.server"] or (args[:1] == ["run"] and "--no-halt" in flags)):
        return server(f"mix {args[0]}" + (" --no-halt" if args[0] == "run" else ""))
    if name in _SERVERS:
        subcommands = _SERVERS[name]
        if subcommands is None:
            return server(name)
        if args[:1] and args[0] in subcommands:
            return server(said)
    return ""


# -- the code of the file run ----------------------------------------------------------------------------------------

# Python: calls that serve whatever object they are on, and an application object's own run (`app = Flask(...)` or
# `app = create_app()` ... `app.run()`; FastMCP's `mcp.run()`, `mcp.run_stdio_async()`; Gradio's `demo.launch()`).
_PY_SERVES = re.compile(r"\b(?P<call>uvicorn\s*\.\s*run|uvicorn\s*\.\s*Server|hypercorn\.asyncio\s*\.\s*serve"
                        r"|web\s*\.\s*run_app|waitress\s*\.\s*serve|bottle\s*\.\s*run|socketio\s*\.\s*run"
                        r"|\w+\s*\.\s*serve_forever|stdio_server)\s*\(")
_PY_APP = re.compile(r"\b(?P<v>\w+)\s*(?::\s*[\w.]+\s*)?=\s*(?:[\w.]+\.)?(?P<cls>Flask|Quart|Sanic|FastMCP|MCPServer|Dash"
                     r"|Bottle|Blocks|Interface|ChatInterface|create_app)\s*\(|\b(?:Blocks|Interface|ChatInterface)\s*\([^\n]*\)\s+as\s+(?P<w>\w+)")
# JavaScript: a server that listens, Bun's and Deno's, Hono's `serve({ fetch })`, an MCP server's transport.
# `http.createServer(handler).listen(3000)`: a listen on what a call returns
_JS_SERVES = re.compile(r"(?<![\w$])(?P<call>[\w$]+\s*\.\s*listen|(?<=\))\s*\.\s*listen|Bun\s*\.\s*serve|Deno\s*\.\s*serve"
                        r"|serve(?=\s*\(\s*\{\s*fetch\b)"
                        r"|(?<=new\s)(?:Stdio|SSE|StreamableHTTP)ServerTransport)\s*\(")
# Ruby: a classic Sinatra application (`require 'sinatra'` serves when the file is run), a Rack handler or server run,
# WEBrick's or Puma's server.
_RUBY_SERVES = re.compile(r"""(?m)^[ \t]*(?P<call>require\s*\(?\s*['"]sinatra['"])|\b(?P<c1>Rack(?:up)?::Handler::\w+\s*\.\s*run"""
                          r"""|Rack(?:up)?::Server\s*\.\s*start|WEBrick::HTTPServer\s*\.\s*new|Puma::Server\s*\.\s*new"""
                          r"""|Thin::Server\s*\.\s*start|\w+\s*\.\s*run!)""")
# PHP: a long-running server of Swoole / OpenSwoole, ReactPHP or Workerman, or an event loop run.
_PHP_SERVES = re.compile(r"(?<=new\s)\\?(?P<call>(?:Open)?Swoole\\(?:Http|HTTP|WebSocket)\\Server|React\\Socket\\(?:Socket)?Server"
                         r"|React\\Http\\(?:Http)?Server)\s*\(|\b(?P<c1>Worker\s*::\s*runAll|Loop\s*::\s*run)\s*\(")
_GO_SERVES = re.compile(r"\b(?P<call>(?:http\s*\.\s*)?ListenAndServe(?:TLS)?|\w+\s*\.\s*Serve)\s*\(")
# gin's `r.Run()`, echo's `e.Start(":8080")`, fiber's `app.Listen(":3000")`: only where the file imports them
_GO_FRAMEWORKS = {"gin-gonic/gin": r"\w+\s*\.\s*Run", "labstack/echo": r"\w+\s*\.\s*Start", "gofiber/fiber": r"\w+\s*\.\s*Listen"}
_RUST_SERVES = re.compile(r"(?P<call>\baxum::serve|\bHttpServer::new|\bwarp::serve|\brocket::build"
                          r"|\b(?:axum::|hyper::)?Server::bind|\bServer::builder|\bpoem::Server::new)\s*\(")
_DOTNET_SERVES = re.compile(r"\bWebApplication\s*\.\s*Create(?:Builder|SlimBuilder|EmptyBuilder)?\s*\(")
_DOTNET_RUNS = re.compile(r"\.\s*Run(?:Async)?\s*\(")


# Bun serves the file it runs when the file's default export has a `fetch` (Hono's and Elysia's apps, an object with a
# `fetch` key or method, an app handed to a wrapper: `export default instrument(app)`); node and tsx run it to its end.
_DEFAULT_EXPORT = re.compile(r"\bexport\s+default\s+(?:(?P<obj>\{)|(?:(?P<wrap>[\w$.]+)\s*\(\s*)?(?P<name>[A-Za-z_$][\w$]*)\b)")
_FETCH_KEY = re.compile(r"(?<![\w$.])fetch\s*(?:[:(,}]|$)")
_FETCH_APP = r"(?:Hono|OpenAPIHono|Elysia)"


# (no run of blanks split two ways: a bundle's `import` before a long run of spaces took minutes)
def bun_default_export(rel: str, text: str, made_in: tuple[str, str] | None = None) -> str:
    """Why Bun serves the file it runs: its default export is a fetch handler, "Bun serving export default app at
    path:line"; "" if it is none (a function, an object without `fetch`, an Express app). ``made_in``: the path and
    text of the module the default export is imported from (``default_import``), where the app may be made."""
    code, strings = lex(text, "js")
    for m in _DEFAULT_EXPORT.finditer(code):
        if in_strings(m.start(), strings):
            continue
        where = ""
        if m.group("obj"):
            said = "export default { fetch }"
            if not _FETCH_KEY.search(_top_level(call_args(code, m.start("obj"), limit=20000))):
                continue
        else:
            name = m.group("name")
            said = f"export default {m.group('wrap')}({name})" if m.group("wrap") else f"export default {name}"
            imported = _imported_as(code, name)
            if made_in is not None and imported is not None and _makes_fetch_app(*made_in, imported[1]):
                where = f", made in {made_in[0]}"
            elif not _makes(code, name):
                continue
        return server(f"Bun serving {said} at {rel}:{line_of(code, m.start())}{where}")
    return ""


def default_import(text: str) -> str | None:
    """The module a file's default export is imported from (`import app from "./app"; export default app`: "./app"),
    else None."""
    code, strings = lex(text, "js")
    for m in _DEFAULT_EXPORT.finditer(code):
        if not in_strings(m.start(), strings) and m.group("name") and (found := _imported_as(code, m.group("name"))):
            return found[0]
    return None


def _imported_as(code: str, name: str) -> tuple[str, str] | None:
    """(the module, the name it exports it under: "default" for a default import) of ``name`` where ``code`` imports
    it (`import { api as app } from "./app"`: ("./app", "api"))."""
    return next(((spec, exported) for local, exported, spec in js_imports(code) if local == name), None)


def _makes(code: str, name: str) -> bool:
    return bool(re.search(rf"\b(?:const|let|var)\s+{re.escape(name)}\s*(?::[^=\n]+)?=\s*new\s+{_FETCH_APP}\b", code))


def _makes_fetch_app(rel: str, text: str, exported: str) -> bool:
    """Whether the module exports a fetch app under ``exported`` ("default": its default export)."""
    if exported == "default":
        return bool(bun_default_export(rel, text))
    code, _ = lex(text, "js")
    return _makes(code, exported) and bool(re.search(
        rf"\bexport\s+(?:const|let|var)\s+{re.escape(exported)}\b|\bexport\s*\{{[^}}]*\b{re.escape(exported)}\b", code))


def _top_level(body: str) -> str:
    """``body`` without what its brackets hold: an object literal's own keys, not those of the values nested in it."""
    out, depth = [], 0
    for ch in body:
        depth -= ch in ")]}"
        if depth == 0:
            out.append(ch)
        depth += ch in "([{"
    return "".join(out)


def in_code(rel: str, text: str, lang: str, args: tuple[str, ...] = ()) -> str:
    """Why running the file serves: a serving call its code makes (a Python file: at its top level or in its
    ``__main__`` block, or in a function these reach, in the branch of the action ``args`` names), as
    "call at path:line"; "" if none."""
    if lang == "python":
        found = _python(text, args)
    elif lang == "js":
        # Hono's node server serves whatever it is given (`serve(app)`): only where the file imports it
        pattern = _JS_SERVES if "@hono/node-server" not in text else re.compile(
            _JS_SERVES.pattern + r"|(?<![\w$.])(?P<c1>serve)\s*\(")
        found = _first(pattern, text, "js", dead=other_js_subcommands(lex(text, "js")[0], args))
    elif lang in ("ruby", "php"):
        found = _first(_RUBY_SERVES if lang == "ruby" else _PHP_SERVES, text, lang)
    else:
        return ""
    return server(f"{found[0]} at {rel}:{found[1]}") if found else ""


def _first(pattern: re.Pattern[str], text: str, lang: str, lines: set[int] | None = None,
           dead: Sequence[tuple[int, int]] = ()) -> tuple[str, int] | None:
    """The first match of ``pattern`` in code (no comment, no string), on one of ``lines`` if given, in none of the
    ``dead`` spans."""
    code, strings = lex(text, lang)
    for m in pattern.finditer(code):
        group = next(g for g in ("call", "c1") if m.group(g) is not None)  # `c1`: a second kind of call, if any
        at = m.start(group)
        if not in_strings(at, strings) and (lines is None or line_of(code, at) in lines) and not any(
                a <= at < b for a, b in dead):
            return re.sub(r"\s+", "" if group == "c1" or not m.group(group).startswith("require") else " ",
                          m.group(group)), line_of(code, at)
    return None


# A JS CLI's subcommand: commander's and cac's `program.command('serve [port]')`, yargs' `.command('serve', ...)` or
# `.command(['serve', '$0'], ...)`; what follows it in its chain (`.option(...).action(...)`) up to the next one is its.
_JS_SUBCOMMAND = re.compile(r"""\.\s*command\s*\(\s*(?P<list>\[)?\s*(?P<q>['"`])(?P<n>[^'"`\n]*)(?P=q)""")
_SUBCOMMAND_SPAN = 20000  # a handler's body at most: bounded, as each is read once


def other_js_subcommands(code: str, args: tuple[str, ...]) -> list[tuple[int, int]]:
    """The spans of a JS CLI's subcommands that the command line does not run: all but the one its first word names
    (with none named, all but a default one: yargs' `$0`, commander's `isDefault: true`)."""
    given = next((a for a in args if not a.startswith("-")), None)
    spans, names_of = [], []
    for m in _JS_SUBCOMMAND.finditer(code):
        opened = code.index("(", m.start())
        inner = call_args(code, opened, limit=_SUBCOMMAND_SPAN)
        _, end = chained_calls(code, opened + len(inner) + 2, stop="command", limit=_SUBCOMMAND_SPAN)
        if m.group("list"):
            names = set(re.findall(r"""['"`]([^'"`\s]+)""", inner[:inner.find("]") + 1]))
        else:
            names = {m.group("n").split(" ", 1)[0]}
        if re.search(r"\bisDefault\s*:\s*true", code[m.start():end]):
            names.add("$0")
        spans.append((m.start(), end))
        names_of.append(names)
    if given is not None and not any(given in names for names in names_of):
        given = None  # an argument of the CLI itself, no subcommand's name
    return [span for span, names in zip(spans, names_of) if (given or "$0") not in names]


def _python(text: str, args: tuple[str, ...]) -> tuple[str, int] | None:
    if not (_PY_SERVES.search(text) or _PY_APP.search(text)):
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    lines = _live_lines(tree, args, _flags(text, args), set(other_python_subparsers(text, args)))
    found = _first(_PY_SERVES, text, "python", lines)
    apps = {m.group("v") or m.group("w") for m in _PY_APP.finditer(lex(text, "python")[0])}
    if apps:
        names = "|".join(sorted(map(re.escape, apps)))
        own = _first(re.compile(rf"\b(?P<call>(?:{names})\s*\.\s*(?:run|run_server|run_\w+_async|launch|serve))\s*\("),
                     text, "python", lines)
        if own and (found is None or own[1] < found[1]):
            found = own
    return found


def _live_lines(tree: ast.Module, args: tuple[str, ...], flags: dict[str, bool] | None = None,
                parsers: Set[str] = frozenset()) -> set[int]:
    """The lines that run when the module is run as a script: its top-level statements (not the bodies of its
    functions and classes), and the functions they refer to, through one another; an ``if x == "action":`` branch
    only where the command line gives that action (or gives none), an ``if args.serve:`` one as ``flags`` says; no
    call on one of the subcommands' ``parsers`` not run (`p_serve.set_defaults(func=serve)` calls no ``serve``)."""
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    lines: set[int] = set()
    todo: list[str] = []

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if isinstance(node, ast.If) and args and (action := _action(node.test)) is not None and action not in args:
                visit(node.orelse)
                continue
            if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute)
                    and isinstance(node.value.func.value, ast.Name) and node.value.func.value.id in parsers):
                continue
            if isinstance(node, ast.If) and flags and (gate := _gate(node.test, flags)) is not None:
                _mark(node.test, lines, todo)
                visit(node.body if gate else node.orelse)
                continue
            if isinstance(node, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try)):
                head = node.test if isinstance(node, (ast.If, ast.While)) else None
                if head is not None:
                    _mark(head, lines, todo)
                for block in ("body", "orelse", "finalbody"):
                    visit(getattr(node, block, []) or [])
                for handler in getattr(node, "handlers", []) or []:
                    visit(handler.body)
                if isinstance(node, (ast.With, ast.AsyncWith)):
                    for item in node.items:
                        _mark(item.context_expr, lines, todo)
                continue
            _mark(node, lines, todo)

    visit(tree.body)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in functions:
            continue
        seen.add(name)
        visit(functions[name].body)
    return lines


def _mark(node: ast.AST, lines: set[int], todo: list[str]) -> None:
    lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))  # type: ignore[attr-defined]
    todo.extend(r.id if isinstance(r, ast.Name) else r.attr for r in ast.walk(node)
                if isinstance(r, (ast.Name, ast.Attribute)))


# A flag a Python file declares (argparse's, click's, typer's `"--serve"`), with the short name before it, if any.
_DECLARED_FLAG = re.compile(r"""(?:['"](?P<s>-\w)['"]\s*,\s*)?['"]--(?P<f>[A-Za-z][\w-]*)['"]""")


def _flags(text: str, args: tuple[str, ...]) -> dict[str, bool]:
    """Each flag the file declares, by the name its value is read under (`--serve`: ``args.serve``, a click or typer
    parameter ``serve``) and as it is written (`--serve`): whether the command line gives it."""
    given = {a.split("=", 1)[0] for a in args if a.startswith("-")}
    out: dict[str, bool] = {}
    for m in _DECLARED_FLAG.finditer(text):
        flag = "--" + m.group("f")
        out[flag] = out[m.group("f").replace("-", "_")] = flag in given or m.group("s") in given
    return out


# argparse's subcommands: `p_serve = sub.add_parser("serve", aliases=["s"])`
_ADD_PARSER = re.compile(r"""\b(?P<v>[A-Za-z_]\w*)\s*=\s*[\w.]+\s*\.\s*add_parser\(\s*['"](?P<n>[\w:-]+)['"]""")


def other_python_subparsers(text: str, args: tuple[str, ...]) -> dict[str, str]:
    """{variable: name} of the argparse subparsers of a Python file that the command line does not run: all but the
    one its arguments name (none where they name none: which runs is not known)."""
    found = _python_subparsers(text)
    given = next((a for a in args if a in found.values()), None)
    return {v: n for v, n in found.items() if n != given} if given else {}


def _python_subparsers(text: str) -> dict[str, str]:
    return {m.group("v"): m.group("n") for m in _ADD_PARSER.finditer(text)} if "add_parser" in text else {}


# A command of a typer app or click group: `@app.command()` / `@cli.command("name")`, its other decorators, its def.
_PY_COMMAND = re.compile(r"""(?m)^@(?:[A-Za-z_]\w*\.)+command\((?P<a>[^)\n]*)\)[ \t]*\n(?:.*\n)*?"""
                         r"""(?:async[ \t]+)?def[ \t]+(?P<f>\w+)""")
# The next top-level statement or decorator: where a command's def ends (a closing `) -> None:` is no statement).
_PY_TOP = re.compile(r"(?m)^[@A-Za-z_]")


def other_python_commands(text: str, args: tuple[str, ...]) -> list[tuple[int, int]]:
    """The spans of the commands of a typer app or click group that the command line does not run: all but the one
    its arguments name, each called as declared or by its function's name dashed (none where they name none, or where
    the file declares one command, which typer runs without its name)."""
    found = _python_commands(text)
    given = _given_command(found, args)
    return [span for name, span in found if name != given] if given else []


def given_python_commands(text: str, args: tuple[str, ...]) -> tuple[str, ...]:
    """The words of ``args`` that name the subparser or the typer or click command of a Python file that runs: no
    argument of that command's."""
    subparsers = set(_python_subparsers(text).values())
    named = [next((a for a in args if a in subparsers), None), _given_command(_python_commands(text), args)]
    return tuple(n for n in named if n)


def _python_commands(text: str) -> list[tuple[str, tuple[int, int]]]:
    """(name, span) of each command of a typer app or click group the file declares."""
    found = []
    for m in _PY_COMMAND.finditer(text) if ".command(" in text else ():
        declared = re.match(r"""\s*(?:name\s*=\s*)?['"]([^'"]+)['"]""", m.group("a"))
        end = _PY_TOP.search(text, m.end())
        found.append((declared.group(1) if declared else m.group("f").replace("_", "-"),
                      (m.start(), end.start() if end else len(text))))
    return found


def _given_command(found: list[tuple[str, tuple[int, int]]], args: tuple[str, ...]) -> str | None:
    """The command ``args`` name, of several (one is run without its name)."""
    return next((a for a in args if a in {n for n, _ in found}), None) if len(found) > 1 else None


def _gate(test: ast.expr, flags: dict[str, bool]) -> bool | None:
    """Whether an ``if`` whose test reads a declared flag takes its body (`args.serve`, `serve`, `not args.serve`,
    `"--serve" in sys.argv`, `args.serve and ...`), given what the command line gives; None for any other test."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _gate(test.operand, flags)
        return None if inner is None else not inner
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        # the body runs only if every part holds: a flag part that fails decides; one that holds decides nothing
        return False if any(_gate(v, flags) is False for v in test.values) else None
    name = test.attr if isinstance(test, ast.Attribute) else test.id if isinstance(test, ast.Name) else None
    if name is not None:
        return flags.get(name)
    if (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.In)
            and isinstance(test.left, ast.Constant) and isinstance(test.left.value, str)):
        return flags.get(test.left.value)
    return None


def _action(test: ast.expr) -> str | None:
    """The literal an ``if`` compares with (``action == "build"``, ``args.command == "serve"``), if that is its test."""
    if (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
            and isinstance(test.comparators[0], ast.Constant) and isinstance(test.comparators[0].value, str)
            and not isinstance(test.left, ast.Constant)):
        value = test.comparators[0].value
        return value if value != "__main__" else None
    return None


def go_package(folder: Path, root: Path) -> str:
    """Why `go run` of the package in ``folder`` serves (a serving call in one of its files), "" if none does."""
    for path in sorted(folder.glob("*.go")) if folder.is_dir() else [folder]:
        if path.name.endswith("_test.go") or (data := read(path)) is None:
            continue
        text = data.decode("utf-8", "replace")
        pattern = _GO_SERVES.pattern + "".join(f"|\\b(?P<c{i}>{call})\\s*\\(" for i, (lib, call) in
                                               enumerate(_GO_FRAMEWORKS.items()) if f'"github.com/{lib}' in text)
        code, strings = lex(text, "other")
        for m in re.finditer(pattern, code):
            at = m.start(next(k for k, v in m.groupdict().items() if v))
            if not in_strings(at, strings):
                call = re.sub(r"\s+", "", next(v for v in m.groupdict().values() if v))
                return server(f"{call} at {_rel(path, root)}:{line_of(code, at)}")
    return ""


def rust_binary(words: list[str], workdir: Path, root: Path) -> str:
    """Why `cargo run [--bin NAME | --example NAME] [-- SUBCOMMAND]` in ``workdir`` serves: a serving call in the file
    it runs, where the subcommand given reaches it."""
    from .rust import binary_file, given_subcommand, other_subcommands

    path = binary_file(words[2:], workdir)
    data = read(path) if isinstance(path, Path) else None
    if not isinstance(path, Path) or data is None:
        return ""
    text = data.decode("utf-8", "replace")
    # a server in another clap subcommand's arm than the one given (`cargo run -- reembed`) is not started
    dead = other_subcommands(lex(text, "rust")[0], given_subcommand(words[2:]))
    if found := _first(_RUST_SERVES, text, "rust", dead=dead):
        return server(f"{found[0]} at {_rel(path, root)}:{found[1]}")
    return ""


def dotnet_project(words: list[str], workdir: Path, root: Path) -> str:
    """Why `dotnet run [--project P]` in ``workdir`` serves: its code builds an ASP.NET WebApplication and runs it."""
    project = words[words.index("--project") + 1] if "--project" in words[:-1] else None
    folder = workdir / project if project else workdir
    folder = folder.parent if folder.suffix == ".csproj" else folder
    for path in sorted(folder.glob("*.cs")):
        data = read(path)
        text = data.decode("utf-8", "replace") if data else ""
        if (found := _first(re.compile(rf"(?P<call>{_DOTNET_SERVES.pattern})"), text, "other")) and _DOTNET_RUNS.search(
                lex(text, "other")[0]):
            return server(f"{found[0].rstrip('(')} at {_rel(path, root)}:{found[1]}")
    return ""


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
