"""``backfill-harness locate``: find a repo's embedding config, code, schema, smoke checklist and entrypoints."""

from __future__ import annotations

import argparse

from ._common import add_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("locate", help="find the backfill entrypoints and embedding files of a repository",
                       description="Search a repository for the procedure's terms and rank what it finds.")
    p.add_argument("--repo", default=".", help="the repository to search (default: the current folder)")
    p.add_argument("--profile", help="a profile whose search_terms are added")
    p.add_argument("--term", action="append", default=[], help="another search term (repeatable)")
    add_json(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..output import emit
    from ..profile import load_profile
    from ..steps import locate

    terms = list(load_profile(args.profile).search_terms) if args.profile else []
    result = locate(args.repo, tuple(terms + args.term))
    emit(result, args.json, result.text())
    return 0
