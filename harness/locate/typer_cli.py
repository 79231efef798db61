"""A typer command line's parameters, read from the parsed source: each function parameter declared with
``typer.Option``/``typer.Argument`` (as its default or in ``Annotated``), and every parameter of a function typer runs
(``@app.command()``, ``@app.callback()``, ``typer.run(main)``), which typer makes an option or, bare and without a
default, a required argument."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from .files import once

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class Parameter:
    names: tuple[str, ...]  # as a command line gives them: `--model`, `-m`; an argument's parameter name
    needed: bool  # no default and no environment variable fills it: typer exits 2 without it
    env: tuple[str, ...]  # its `envvar=` (the first is read first)
    default: str | None  # its default where that is a string literal
    at: int  # where it is declared in the text


def parameters(text: str) -> tuple[Parameter, ...] | None:
    """The typer parameters ``text`` declares, in their order; None where it does not parse as Python."""
    return once(("typer parameters", text), lambda: _parameters(text))


def _parameters(text: str) -> tuple[Parameter, ...] | None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    names = _TyperNames(tree)
    offsets = _Offsets(text)
    run = names.run_functions(tree)
    out = []
    for fn in sorted((n for n in ast.walk(tree) if isinstance(n, _FUNCTIONS)), key=lambda n: (n.lineno, n.col_offset)):
        runs = fn.name in run or any(names.is_command(d) for d in fn.decorator_list)
        a = fn.args
        positional = [*a.posonlyargs, *a.args]
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
        for arg, default in [*zip(positional, defaults), *zip(a.kwonlyargs, a.kw_defaults)]:
            p = names.parameter(arg, default, runs, offsets.of(arg.lineno, arg.col_offset))
            if p is not None:
                out.append(p)
    return tuple(out)


class _TyperNames:
    """How the module names typer's parts: `import typer as t`, `from typer import Option`, its apps
    (`app = typer.Typer()`) and its type aliases (`Out = Annotated[Path, typer.Option("--out")]`)."""

    def __init__(self, tree: ast.Module):
        self.modules: set[str] = set()
        self.members: dict[str, str] = {}
        self.apps: set[str] = set()
        self.aliases: dict[str, ast.expr] = {}
        self.click = False
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                self.modules.update(a.asname or a.name for a in node.names if a.name == "typer")
                self.click = self.click or any(a.name == "click" for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module == "typer":
                self.members.update({a.asname or a.name: a.name for a in node.names})
            elif isinstance(node, ast.ImportFrom) and node.module == "click":
                self.click = True
        for node in tree.body:  # module-level assignments: the apps and the aliases commands use
            target, value = ((node.targets[0], node.value) if isinstance(node, ast.Assign) and len(node.targets) == 1
                             else (node.target, node.value) if isinstance(node, ast.AnnAssign) else (None, None))
            if not isinstance(target, ast.Name) or value is None:
                continue
            if isinstance(value, ast.Call) and self.member(value.func) == "Typer":
                self.apps.add(target.id)
            elif self._annotated(value) is not None:
                self.aliases[target.id] = value

    def member(self, node: ast.expr) -> str | None:
        """The name of typer's member ``node`` refers to (`typer.Option`, `Option` imported from typer), else None."""
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in self.modules:
            return node.attr
        return self.members.get(node.id) if isinstance(node, ast.Name) else None

    def kind(self, node: ast.expr | None) -> str | None:
        """"Option" or "Argument" where ``node`` is a call of typer's, else None."""
        if isinstance(node, ast.Call) and (m := self.member(node.func)) in ("Option", "Argument"):
            return m
        return None

    def is_command(self, decorator: ast.expr) -> bool:
        """``@app.command(...)`` or ``@app.callback(...)`` of a typer app the module makes, or of one it imports where
        it imports no click (a click group's ``@cli.command()`` declares its parameters with ``@click.option``)."""
        func = decorator.func if isinstance(decorator, ast.Call) else decorator
        if not (isinstance(func, ast.Attribute) and func.attr in ("command", "callback")
                and isinstance(func.value, ast.Name)):
            return False
        return func.value.id in self.apps or (not self.click and bool(self.modules or self.members))

    def run_functions(self, tree: ast.Module) -> set[str]:
        """The functions ``typer.run(f)`` runs."""
        return {n.args[0].id for n in ast.walk(tree) if isinstance(n, ast.Call) and self.member(n.func) == "run"
                and n.args and isinstance(n.args[0], ast.Name)}

    def _annotated(self, node: ast.expr | None) -> tuple[str, ast.Call] | None:
        """(kind, call) of the typer.Option/Argument an ``Annotated[T, ...]`` (or an alias of one) holds."""
        if isinstance(node, ast.Name) and node.id in self.aliases:
            node = self.aliases[node.id]
        if not isinstance(node, ast.Subscript) or not isinstance(node.slice, ast.Tuple):
            return None
        head = node.value
        if (head.attr if isinstance(head, ast.Attribute) else head.id if isinstance(head, ast.Name) else "") != "Annotated":
            return None
        return next(((k, _call(m)) for m in node.slice.elts[1:] if (k := self.kind(m))), None)

    def parameter(self, arg: ast.arg, default: ast.expr | None, runs: bool, at: int) -> Parameter | None:
        """``arg`` as typer reads it; None where it is none of typer's (a parameter of a function typer does not run,
        declared with neither typer.Option nor typer.Argument, or a `typer.Context`)."""
        annotated = self._annotated(arg.annotation)
        if (kind := self.kind(default)) is not None:  # `name: T = typer.Option(default, *decls)`
            call = _call(default)
            keywords = {k.arg: k.value for k in call.keywords if k.arg}
            given = keywords.get("default", call.args[0] if call.args else None)
            decls = call.args if "default" in keywords else call.args[1:]
            missing = given is None and "default_factory" not in keywords
            value = given
        elif annotated is not None:  # `name: Annotated[T, typer.Option(*decls)] = default`
            kind, call = annotated
            keywords = {k.arg: k.value for k in call.keywords if k.arg}
            decls, value = call.args, default
            missing = default is None and "default_factory" not in keywords
        elif runs and not _is_context(arg.annotation):  # bare: an argument without a default, else an option
            kind, keywords, decls, value, missing = ("Argument" if default is None else "Option"), {}, [], default, \
                default is None
        else:
            return None
        missing = missing or (isinstance(value, ast.Constant) and value.value is Ellipsis)
        flags = [d.value.split("/", 1)[0] for d in decls
                 if isinstance(d, ast.Constant) and isinstance(d.value, str) and d.value.startswith("-")]
        names = flags or ["--" + arg.arg.replace("_", "-") if kind == "Option" else arg.arg]
        env = _strings(keywords.get("envvar"))
        literal = value.value if isinstance(value, ast.Constant) and isinstance(value.value, str) else None
        return Parameter(tuple(names), missing and not env, env, literal, at)


def _call(node: ast.expr | None) -> ast.Call:
    assert isinstance(node, ast.Call)
    return node


def _is_context(annotation: ast.expr | None) -> bool:
    """`typer.Context` (click's): typer passes it, no command line gives it."""
    return (isinstance(annotation, ast.Attribute) and annotation.attr == "Context") or (
        isinstance(annotation, ast.Name) and annotation.id == "Context")


def _strings(node: ast.expr | None) -> tuple[str, ...]:
    """The string literal ``node`` is, or those its list or tuple holds."""
    items = node.elts if isinstance(node, (ast.List, ast.Tuple)) else [node] if node is not None else []
    return tuple(i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str))


class _Offsets:
    """A node's (line, UTF-8 column) as an index into the text (lines end as Python's tokenizer ends them)."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0, *(m.end() for m in re.finditer(r"\r\n|\r|\n", text))]

    def of(self, line: int, column: int) -> int:
        start = self.starts[line - 1]
        return start + len(self.text[start:start + column].encode("utf-8")[:column].decode("utf-8", "ignore"))
