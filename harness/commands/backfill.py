"""``backfill-harness backfill``: the engine, for a target that has no backfill of its own."""

from __future__ import annotations

import argparse

from ..backfill.engine import DEFAULT_CONCURRENCY
from ._common import add_json, add_target_options, positive_int, settings_from


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
    p.add_argument("--limit", type=positive_int, help="embed at most this many rows (for a trial run)")
    p.add_argument("--into", metavar="NEW", help="fill collection NEW beside the live one (copying its chunks if NEW has "
                                                 "none), reusing unchanged vectors; then `swap --from NEW --to LIVE`")
    p.add_argument("--approve-model-change", action="store_true",
                   help="replace vectors of another model in place (without it, a model switch needs --into NEW)")
    p.add_argument("--workers", type=positive_int,
                   help="worker processes sharing this backfill (default: one per --provider-url, else 1)")
    p.add_argument("--provider-url", action="append", default=[], metavar="URL",
                   help="an Ollama base URL; repeat to spread workers over several servers (default: OLLAMA_HOST/profile)")
    p.add_argument("--run-id", help="join backfill run RUN_ID (workers on other hosts pass the same id)")
    p.add_argument("--concurrency", type=positive_int, default=DEFAULT_CONCURRENCY,
                   help=f"embed requests in flight at once per worker (default {DEFAULT_CONCURRENCY}; a server "
                        "serving several at once, like Ollama with OLLAMA_NUM_PARALLEL or a GPU server, stays busy)")
    add_json(p)
    p.set_defaults(handler=run, on_failure="continue")


def run(args: argparse.Namespace) -> int:
    from ..backfill import BackfillOptions, run_backfill
    from ..output import emit

    settings = settings_from(args)
    if args.workers is None:
        args.workers = max(1, len(args.provider_url))
    if args.workers > 1 and not args.dry_run:
        return _run_workers(args, settings)
    if args.provider_url:
        import dataclasses

        settings = dataclasses.replace(settings, provider_url=args.provider_url[0])
    options = BackfillOptions(collection=args.collection, batch_size=settings.batch_size, dry_run=args.dry_run,
                              on_failure=args.on_failure, limit=args.limit, progress=None,
                              into=args.into, run_id=args.run_id, approve_model_change=args.approve_model_change,
                              concurrency=args.concurrency)
    with settings.provider() as provider:
        summary = run_backfill(settings.profile, settings.database_url, provider, options, dimensions=settings.dimensions)
    lines = [summary.line()]
    if summary.copied:
        lines.append(f"  copied {summary.copied} chunks of {summary.source} into {summary.collection}")
    for failure in summary.failures[:20]:
        lines.append(f"  failed: key {failure.key} ({failure.collection}): {failure.reason}")
    if summary.stopped:
        lines.append(f"  stopped: {summary.stopped}")
    emit(summary, args.json, "\n".join(lines))
    return 0 if summary.ok else 1


def _run_workers(args: argparse.Namespace, settings) -> int:
    from ..backfill.workers import new_run_id, run_workers
    from ..output import emit

    base = ["--profile", str(args.profile), "--collection", args.collection, "--model", settings.model,
            "--batch-size", str(settings.batch_size), "--concurrency", str(args.concurrency), f"--{args.on_failure if args.on_failure == 'fail-fast' else 'continue-on-error'}"]
    if args.into:
        base += ["--into", args.into]
    if args.limit:
        base += ["--limit", str(args.limit)]
    if args.approve_model_change:
        base.append("--approve-model-change")
    summary = run_workers(base, args.workers, args.provider_url, args.run_id or new_run_id(),
                          env={"DATABASE_URL": settings.database_url})
    lines = [summary.line(), *(f"  {e}" for e in summary.errors)]
    for worker in summary.workers:
        for failure in worker.get("failures", [])[:20]:
            lines.append(f"  failed: key {failure['key']} ({failure['collection']}): {failure['reason']}")
    emit(summary, args.json, "\n".join(lines))
    return 0 if summary.ok else 1
