"""A backfill command template made into an argument list: values fill placeholders, never become shell code.

The template is split once (``shlex.split``); each placeholder (``{collection}``, ``{into}``) is
substituted inside its own argument, so a value is one argument whatever it holds. A template that
uses shell syntax itself (``;``, ``&&``, ``|``, ``$VAR``, redirections) or calls a shell with ``-c``
runs as ``sh -c SCRIPT``, and inside a script every placeholder becomes a quoted reference to the
environment variable holding its value (``"$BACKFILL_COLLECTION"``): the value never enters the script.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Collection, Mapping, Sequence

from ..errors import ConfigError

# placeholder -> the environment variable the backfill command gets its value in
PLACEHOLDERS = {"collection": "BACKFILL_COLLECTION", "into": "BACKFILL_TARGET_COLLECTION"}
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
_SHELL_SYNTAX = re.compile(r"[;&|<>$`*?~()\n]")
_SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "ash", "busybox"}


def _fill(argument: str, values: Mapping[str, str]) -> str:
    # One pass over the template's own text: a value holding "{into}" is never substituted again.
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], argument)


def _script(script: str) -> str:
    """Each placeholder of a shell script replaced by a quoted reference to its variable, whatever quotes it is in."""
    out, quote, i = [], "", 0
    while i < len(script):
        match = _PLACEHOLDER.match(script, i)
        if match:
            ref = "${" + PLACEHOLDERS[match.group(1)] + "}"
            out.append({"": f'"{ref}"', '"': ref, "'": f"'\"{ref}\"'"}[quote])
            i = match.end()
            continue
        ch = script[i]
        if ch == "\\" and quote != "'" and i + 1 < len(script):
            out.append(script[i:i + 2])
            i += 2
            continue
        if ch in "'\"" and quote in ("", ch):
            quote = "" if quote else ch
        out.append(ch)
        i += 1
    return "".join(out)


def _script_index(argv: Sequence[str]) -> int | None:
    """Where a shell's ``-c SCRIPT`` script is in argv, if argv runs one."""
    if not argv or os.path.basename(argv[0]) not in _SHELLS:
        return None
    for i, arg in enumerate(argv[1:], start=1):
        if arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]:
            return i + 1 if i + 1 < len(argv) else None
        if not arg.startswith("-"):
            return None
    return None


_BUILTINS = {"exit", "cd", "export", "source", ".", "set", "unset", "eval", "exec", "if", "for", "while", "until",
             "case", "alias", "ulimit", "umask", "wait", "trap", "return", "shift", "read", "{", "!"}
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def needs_shell(template: str) -> bool:
    """Whether the template's own text (placeholders aside) is shell syntax rather than a plain argument list:
    shell operators or expansions, a shell builtin as the program (``exit 3``), or ``VAR=value`` before it."""
    text = _PLACEHOLDER.sub("", template)
    if _SHELL_SYNTAX.search(text):
        return True
    try:
        first = shlex.split(text)[:1]
    except ValueError:
        return False
    return bool(first) and (first[0] in _BUILTINS or bool(_ASSIGNMENT.match(first[0])))


def refuse_nul(values: Mapping[str, str]) -> None:
    """No argument can hold NUL (the kernel would cut it there): refuse the value instead."""
    for name, value in values.items():
        if "\x00" in value:
            raise ConfigError(f"{{{name}}} value {value!r} holds a NUL character; expected a collection name without NUL")


def build_argv(template: str, values: Mapping[str, str], extra_args: Sequence[str] = ()) -> list[str]:
    """The argument list to start; ConfigError for a template that does not split or a value holding NUL."""
    refuse_nul(values)
    if needs_shell(template):
        script = _script(template)
        if extra_args:
            script += " " + " ".join(_script(shlex.quote(a)) for a in extra_args)
        return ["/bin/sh", "-c", script]
    try:
        argv = shlex.split(template)
    except ValueError as exc:
        raise ConfigError(f"backfill command {template!r} does not split into arguments ({exc}); "
                          "expected a command line with balanced quotes") from None
    if not argv:
        raise ConfigError("the backfill command is empty; expected a program and its arguments")
    argv += list(extra_args)
    at = _script_index(argv)
    return [_script(a) if i == at else _fill(a, values) for i, a in enumerate(argv)]


def into_unreceived(template: str, extra: Sequence[str], env: Mapping[str, str], source: str,
                    into: str, reads: Collection[str] = ()) -> str | None:
    """Why a target's own command cannot write ``--into NEW``: neither its command line nor backfill.env holds
    ``{into}`` (or the variable carrying it), nor does its code read that variable (``reads``: the contract's
    ``reads_env``, where locate could read it), so it writes the collection it always writes, the live one; None where
    it receives it."""
    if PLACEHOLDERS["into"] in reads:
        return None
    if any("{into}" in text or PLACEHOLDERS["into"] in text for text in (template, *extra, *env.values())):
        return None
    return (f"the backfill command ({source}) {template!r} lacks the {{into}} placeholder, so with --into {into!r} it "
            "would write the live collection; expected {into} where it takes the collection it writes (or "
            "backfill.env mapping its setting to \"{into}\"), or --engine, which fills the new collection itself")


def shown(argv: Sequence[str]) -> str:
    """The argument list as one line people can read and paste (for logs and evidence, never executed)."""
    if len(argv) == 3 and argv[:2] == ["/bin/sh", "-c"]:
        return argv[2]
    return shlex.join(argv)
