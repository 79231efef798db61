"""``backfill-harness swap``: replace a live collection by a filled new one atomically; roll back; drop the old."""

from __future__ import annotations

import argparse

from ._common import add_json, add_override, collection_arg, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("swap", help="atomically replace a live collection by a new one (after the DONE gate); rollback; drop",
                       description="Relabel NEW as LIVE in one transaction once NEW passes the DONE gate, keeping the "
                                   "old vectors for --rollback until --drop-retired.")
    p.add_argument("--profile", required=True, help="the target's YAML profile, or a preset: langchain, llamaindex, pgai (also preset:NAME)")
    p.add_argument("--model", help="the model NEW must be embedded with (default: the profile's provider.model)")
    p.add_argument("--to", dest="live", required=True, type=collection_arg, help="the live collection, e.g. global_corpus (pgai preset: the live "
                                                               "vectorizer destination, e.g. blog_embeddings)")
    action = p.add_mutually_exclusive_group(required=True)
    action.add_argument("--from", dest="new", type=collection_arg, help="the filled new collection that replaces LIVE")
    action.add_argument("--rollback", action="store_true", help="undo the last swap of LIVE")
    action.add_argument("--drop-retired", action="store_true", help="delete the old vectors kept by the last swap of LIVE")
    add_override(p)
    add_json(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from typing import cast

    from .. import db
    from ..backfill.swap import drop_retired, rollback, swap
    from ..output import emit
    from ..target import Target

    settings = settings_from(args, require_provider=False)  # without one, swap's gate is unproven and says so
    target = Target(settings.profile)
    scope_gate = None
    if args.new:  # rollback and drop-retired undo or finish an earlier swap: no new vectors go live
        from ..steps.gate import scope_gate as gate_of

        from ..backfill import pgai_swap

        # pgai's --from/--to name vectorizer destinations; the collection scope reads is the source's
        live = settings.profile.chunks.collection_name if pgai_swap.is_pgai(target) else args.live
        scope_gate = gate_of(settings, cast(str, live), command="swap", into=args.new, override=args.override).enforce()
    with db.connect(settings.database_url, autocommit=True) as conn, db.connect(settings.database_url, autocommit=True) as lock_conn:
        if args.rollback:
            result = rollback(conn, lock_conn, target, args.live, override=args.override)
        elif args.drop_retired:
            result = drop_retired(conn, lock_conn, target, args.live)
        else:
            result = swap(conn, lock_conn, target, args.new, args.live, settings, override=args.override)
    text = "\n".join([result.line(), *(f"  {note}" for note in result.notes)])
    if result.override and result.gate:
        gate = result.as_dict()["gate"]
        text += f"\n  DONE gate not proven ({gate['reason']}); override: {result.override}"
    if scope_gate is not None and scope_gate.override:
        text += f"\n  scope gate {scope_gate.status}; override: {scope_gate.override}"
    emit({**result.as_dict(), "scope_gate": scope_gate.as_dict() if scope_gate else None}, args.json, text)
    return 0
