"""``backfill-harness backfill``: the engine, for a target that has no backfill of its own."""

from __future__ import annotations

import argparse

from ._common import add_json, add_target_options, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backfill", help="embed what a collection is missing (missing, stale, other model)",
                       description="Embed the rows of a collection that are missing, stale or from another model.")
    add_target_options(p)
    p.add_argument("--dry-run", action="store_true", help="print what needs embedding; write nothing")
    policy = p.add_mutually_exclusive_group()
    policy.add_argument("--fail-fast", dest="on_failure", action="store_const", const="fail-fast",
                        help="stop at the first failed row; nothing of its batch is written")
    policy.add_argument("--continue-on-error", dest="on_failure", action="store_const", const="continue",
                        help="log each failed row, embed the rest, exit 1 at the end if any failed (default)")
    p.add_argument("--limit", type=int, help="embed at most this many rows (for a trial run)")
    add_json(p)
    p.set_defaults(handler=run, on_failure="continue")


def run(args: argparse.Namespace) -> int:
    from ..backfill import BackfillOptions, run_backfill
    from ..output import emit

    settings = settings_from(args)
    options = BackfillOptions(collection=args.collection, batch_size=settings.batch_size, dry_run=args.dry_run,
                              on_failure=args.on_failure, limit=args.limit, progress=None if not args.json else False)
    with settings.provider() as provider:
        summary = run_backfill(settings.profile, settings.database_url, provider, options, dimensions=settings.dimensions)
    lines = [summary.line()]
    for failure in summary.failures[:20]:
        lines.append(f"  failed: key {failure.key} ({failure.collection}): {failure.reason}")
    if summary.stopped:
        lines.append(f"  stopped: {summary.stopped}")
    emit(summary, args.json, "\n".join(lines))
    return 0 if summary.ok else 1
