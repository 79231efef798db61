"""``backfill-harness locate``: read a repo's vector declarations, embedding calls, configuration, docs, smoke
checklist and entrypoints with their contract; or the contract of one command (``--command``)."""

from __future__ import annotations

import argparse

from ._common import add_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("locate", help="find the backfill entrypoints, schema, embedding calls and contract of a repository",
                       description="Read a repository's structure: vector declarations with dimensions, embedding "
                                   "calls, configuration names, docs (apart from code), smoke checklists, and the "
                                   "entrypoints with the command that runs each and what it reads (its contract).")
    p.add_argument("--repo", default=".", help="the repository to search (default: the current folder)")
    p.add_argument("--profile", help="a profile whose search_terms are added")
    p.add_argument("--term", action="append", default=[], help="another search term (repeatable)")
    p.add_argument("--command", dest="contract_command", metavar="CMD",
                   help="print only the contract of this command (what it reads and hard-codes), run in --workdir")
    p.add_argument("--workdir", help="where --command runs, relative to --repo (default: the repository)")
    add_json(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..errors import ConfigError
    from ..locate.contract import command_contract
    from ..output import emit
    from ..profile import load_profile
    from ..steps import locate

    if args.contract_command:
        repo = Path(args.repo)
        if not repo.is_dir():
            raise ConfigError(f"--repo {args.repo!r} is not a folder; expected the target application's repository")
        contract = command_contract(args.contract_command, repo / (args.workdir or "."), repo)
        never = f"\n{contract.serves}: run would wait for it until backfill.timeout_s" if contract.serves else ""
        emit(contract, args.json, contract.text() + never)
        return 0 if contract.known else 1
    terms = list(load_profile(args.profile).search_terms) if args.profile else []
    result = locate(args.repo, tuple(terms + args.term))
    emit(result, args.json, result.text())
    return 0

