"""Arguments in, text or JSON out. Each subcommand lives in ``harness/commands/<name>.py``.

Exit codes: 0 ok, 1 a check or step failed, 2 bad input or configuration.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import logging
import pkgutil
import sys

from . import __version__, redact
from .db import translate_errors
from .errors import HarnessError

COMMANDS_PACKAGE = "harness.commands"


@functools.cache
def build_parser() -> argparse.ArgumentParser:
    """The full parser: every module in harness.commands registers its subcommand (built once per process: parsing
    leaves it as it was, and a process that runs several commands, the procedure or a test, need not rebuild it)."""
    parser = _Parser(prog="backfill-harness", description="Run, verify and record embedding backfills in Postgres + pgvector.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (to stderr)")
    # Not dest="command": run, plan and procedure have a --command option of their own.
    sub = parser.add_subparsers(dest="subcommand", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    package = importlib.import_module(COMMANDS_PACKAGE)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{COMMANDS_PACKAGE}.{info.name}").register(sub)
    return parser


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the bad value, exit 2."""

    last_error: str | None = None  # the last usage error, for the JSON document main prints with --json

    def error(self, message: str) -> None:  # type: ignore[override]
        _Parser.last_error = f"{self.prog}: error: {message}"
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; with ``--json`` exactly one JSON document reaches stdout on every exit path."""
    argv = list(sys.argv[1:] if argv is None else argv)
    wants_json = "--json" in argv
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser()
    _Parser.last_error = None
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage error (message already on stderr), --help or --version
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        if wants_json and code != 0:
            _error_json(_Parser.last_error or "usage error", code, command)
        raise
    command = args.subcommand
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    redact.register_env()
    as_json = bool(getattr(args, "json", False))
    try:
        with translate_errors():
            return int(args.handler(args) or 0)
    except HarnessError as exc:
        message = redact.redact(str(exc))
        code = exc.exit_code
    except KeyboardInterrupt:
        message, code = "interrupted", 130
    except Exception as exc:  # noqa: BLE001 - a bug or an unforeseen OS error: say so, keep the --json promise
        import traceback

        traceback.print_exc(file=sys.stderr)
        message, code = redact.redact(f"unexpected error: {type(exc).__name__}: {exc}"), 1
    print(f"backfill-harness {command}: {message}", file=sys.stderr)
    if as_json:
        _error_json(message, code, command)
    return code


def _error_json(message: str, code: int, command: str | None) -> None:
    from .output import dumps

    sys.stdout.write(dumps({"ok": False, "error": message, "exit_code": code, "command": command}) + "\n")
    sys.stdout.flush()
