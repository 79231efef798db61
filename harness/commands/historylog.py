"""``backfill-harness historylog verify|show``: check the chain; print the entries as data."""

from __future__ import annotations

import argparse

from ._common import add_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("historylog", help="verify or show a historylog",
                       description="Verify a historylog's SHA-256 chain, or show its entries.")
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    for verb, text in (("verify", "detect edited, deleted, reordered or inserted entries"),
                       ("show", "the entries, newest first")):
        v = verbs.add_parser(verb, help=text, description=text)
        v.add_argument("--path", default="historylog.md", help="the historylog (default ./historylog.md)")
        if verb == "show":
            v.add_argument("--collection", help="only this collection's entries")
        add_json(v)
        v.set_defaults(handler=run_verify if verb == "verify" else run_show)


def run_verify(args: argparse.Namespace) -> int:
    from .. import historylog
    from ..output import emit

    report = historylog.verify(args.path)
    emit({**report.__dict__, "ok": report.ok, "problems": [p.__dict__ for p in report.problems]}, args.json, report.text())
    return 0 if report.ok else 1


def run_show(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .. import historylog
    from ..errors import ConfigError
    from ..output import emit

    if not Path(args.path).exists():
        raise ConfigError(f"historylog {args.path!r} does not exist; expected a file written by backfill-harness record")
    entries = [e for e in historylog.read_entries(args.path) if not args.collection or args.collection in
               (e.collection, e.target_collection)]
    lines = [f"{args.path}: {len(entries)} entries (newest first)"]
    lines += [f"  {e.when}  {e.collection:<16} {e.outcome:<9} {e.model}  exit {e.exit_code}  "
              f"failed rows {e.failed_rows}  {str(e.sha256)[:12]}" for e in entries]
    emit({"path": args.path, "entries": [e.as_dict() for e in entries]}, args.json, "\n".join(lines))
    return 0
