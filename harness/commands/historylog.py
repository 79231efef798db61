"""``backfill-harness historylog verify|show``: check the chain; print the entries as data."""

from __future__ import annotations

import argparse

from ._common import add_json, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("historylog", help="verify or show a historylog",
                       description="Verify a historylog's SHA-256 chain, or show its entries.")
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    for verb, text in (("verify", "detect edited, deleted, reordered or inserted entries"),
                       ("show", "the entries, newest first")):
        v = verbs.add_parser(verb, help=text, description=text)
        v.add_argument("--path", default="historylog.md", help="the historylog (default ./historylog.md)")
        if verb == "verify":
            v.add_argument("--profile", help="the target's profile: compare the log with the anchors in its database "
                                             "(DATABASE_URL, else the profile's database.url)")
            v.add_argument("--database-url", help="the target database whose anchors the log is compared with")
        if verb == "show":
            v.add_argument("--collection", help="only this collection's entries")
        add_json(v)
        v.set_defaults(handler=run_verify if verb == "verify" else run_show)


def run_verify(args: argparse.Namespace) -> int:
    from contextlib import closing

    from .. import db, historylog, historylog_anchor
    from ..output import emit

    historylog.verify(args.path)  # a missing log is bad input before any database is asked
    url = args.database_url or (settings_from(args, require_provider=False).database_url if args.profile else None)
    view = None
    if url:
        with closing(db.connect(url, autocommit=True, application_name="backfill-harness historylog verify")) as conn, \
                db.translate_errors():
            view = historylog_anchor.read(conn)
    chain, anchor = historylog_anchor.verified(args.path, view)
    ok = chain.ok and anchor.ok
    status = "broken" if not chain.ok else anchor.status if anchor.status != "anchored" else "intact"
    text = chain.text() if not chain.ok else f"{chain.text()}; " + "\n".join(anchor.lines())
    emit({**chain.__dict__, "ok": ok, "status": status, "problems": [p.__dict__ for p in chain.problems],
          "anchor": anchor.as_dict()}, args.json, text)
    return 0 if ok else 1


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
