"""``backfill-harness indexes restore``: rebuild vector indexes dropped for a bulk load that were not rebuilt."""

from __future__ import annotations

import argparse

from ._common import add_json, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("indexes", help="rebuild vector indexes a bulk load dropped and could not rebuild",
                       description="Rebuild, from their recorded definitions, the vector indexes dropped for a bulk load.")
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    v = verbs.add_parser("restore", help="rebuild every pending deferred index of the profile's embedding table",
                         description="Rebuild every pending deferred index of the profile's embedding table "
                                     "(own session, no statement timeout, original options and tablespace).")
    v.add_argument("--profile", required=True, help="the target's YAML profile")
    add_json(v)
    v.set_defaults(handler=run_restore)


def run_restore(args: argparse.Namespace) -> int:
    from ..backfill import indexes
    from ..output import emit
    from ..target import Target

    settings = settings_from(args)
    rebuilt = indexes.rebuild(settings.database_url, Target(settings.profile))
    text = f"Rebuilt {len(rebuilt)} vector indexes: {', '.join(rebuilt)}" if rebuilt else "No deferred vector index is pending."
    emit({"rebuilt": rebuilt, "summary": text}, args.json, text)
    return 0
