"""Arguments in, text or JSON out. Each subcommand lives in ``harness/commands/<name>.py``.

Exit codes: 0 ok, 1 a check or step failed, 2 bad input or configuration.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from . import __version__, redact
from .db import translate_errors
from .errors import HarnessError

COMMANDS_PACKAGE = "harness.commands"


def build_parser() -> argparse.ArgumentParser:
    """The full parser: every module in harness.commands registers its subcommand."""
    parser = _Parser(prog="backfill-harness", description="Run, verify and record embedding backfills in Postgres + pgvector.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (to stderr)")
    sub = parser.add_subparsers(dest="subcommand", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    package = importlib.import_module(COMMANDS_PACKAGE)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{COMMANDS_PACKAGE}.{info.name}").register(sub)
    return parser


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the bad value, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    redact.register_env()
    try:
        # A database failure no step turned into a HarnessError (e.g. the server restarted mid-run): one line, exit 1.
        with translate_errors():
            return int(args.handler(args) or 0)
    except HarnessError as exc:
        print(f"backfill-harness {args.subcommand}: {redact.redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"backfill-harness {args.subcommand}: interrupted", file=sys.stderr)
        return 130
