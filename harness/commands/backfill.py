"""``backfill-harness backfill``: the engine, for a target that has no backfill of its own."""

from __future__ import annotations

import argparse

from ..backfill.engine import DEFAULT_CONCURRENCY, DEFAULT_WRITERS
from ..backfill.inflight import CEILING
from ._common import collection_arg, add_approve_model_change, add_json, add_override, add_target_options, positive_int, settings_from


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
    p.add_argument("--into", metavar="NEW", type=collection_arg, help="fill collection NEW beside the live one (copying its chunks if NEW has "
                                                 "none), reusing unchanged vectors; then `swap --from NEW --to LIVE`")
    add_approve_model_change(p)
    add_override(p)
    again = p.add_mutually_exclusive_group()
    again.add_argument("--keys-from", metavar="FILE",
                       help="re-embed exactly the chunk keys listed in FILE (offenders.jsonl from verify, or one key per "
                            "line, spaces kept), even when they look current")
    again.add_argument("--all", dest="every", action="store_true",
                       help="re-embed every chunk of the collection that has a text, even those that look current: "
                            "after a change no count can see (a task prefix or newline rule, a model re-pulled under "
                            "its name, recompute failing rows whose hash and model look current); each batch replaces "
                            "its vectors in one transaction, so search keeps working; with --run-id, the same command "
                            "again continues a run that stopped")
    p.add_argument("--sync", action="store_true",
                   help="with --into NEW: bring chunks added, edited or deleted in the live collection since NEW was "
                        "filled over to NEW (and embed them), so swap's matches_live check passes")
    p.add_argument("--workers", type=positive_int,
                   help="worker processes sharing this backfill (default: one per --provider-url, else 1)")
    p.add_argument("--provider-url", action="append", default=[], metavar="URL",
                   help="an Ollama base URL; repeat to spread workers over several servers (default: OLLAMA_HOST/profile)")
    p.add_argument("--run-id", help="join backfill run RUN_ID (workers on other hosts pass the same id)")
    # Set by --workers on the processes it starts (its own pid): it counts the collection itself once they have all
    # ended. A worker whose parent is not that process counts it as a worker joined by hand does.
    p.add_argument("--counted-by-parent", type=int, metavar="PID", help=argparse.SUPPRESS)
    p.add_argument("--no-reuse", dest="reuse", action="store_false",
                   help="embed every selected row, even one whose text and model match a vector of another collection")
    p.add_argument("--rows-per-claim", type=positive_int, metavar="N",
                   help="rows per key range a worker claims (default: 4 batches)")
    p.add_argument("--defer-index-min-rows", type=positive_int, metavar="N",
                   help="drop and rebuild vector indexes around a load into an empty table of at least N rows "
                        "(default 1000)")
    p.add_argument("--concurrency", type=concurrency_arg, default=DEFAULT_CONCURRENCY, metavar="N|auto",
                   help=f"embed requests in flight at once per worker: N, or auto (default {DEFAULT_CONCURRENCY}: "
                        f"between 1 and {CEILING}, a few more than the server serves at once, judged by its latency, "
                        "so Ollama with OLLAMA_NUM_PARALLEL or a GPU server stays busy and a one-at-a-time server "
                        "gets no queue)")
    p.add_argument("--writers", type=positive_int, default=DEFAULT_WRITERS, metavar="N",
                   help=f"sessions writing batches at once per worker, each batch one transaction (default "
                        f"{DEFAULT_WRITERS}; opened only while a batch waits for a free one; --fail-fast writes with one)")
    p.add_argument("--target-latency-ms", type=positive_int, metavar="MS",
                   help="adapt the batch size to the provider: aim each request at MS milliseconds, within "
                        "--batch-size/8 .. --batch-size*8 (default: a fixed batch size)")
    add_json(p)
    p.set_defaults(handler=run, on_failure="continue")


def concurrency_arg(text: str) -> int | str:
    from ..backfill.inflight import parse_concurrency
    from ..errors import ConfigError

    try:
        return parse_concurrency(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--concurrency: ")) from None


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import os

    from ..backfill import BackfillOptions, run_backfill
    from ..backfill.selection import findings_without_chunks, read_keys
    from ..errors import ConfigError
    from ..output import emit
    from ..steps.gate import scope_gate
    from ..steps.run import APPROVE_ENV, OVERRIDE_ENV

    settings = settings_from(args)
    if args.workers is None:
        args.workers = max(1, len(args.provider_url))
    approve = args.approve_model_change or os.environ.get(APPROVE_ENV) == "1"
    override = args.override if args.override is not None else os.environ.get(OVERRIDE_ENV)
    keys = read_keys(args.keys_from, args.into or args.collection) if args.keys_from else None
    if keys is not None and (args.workers > 1 or args.run_id):
        raise ConfigError("--keys-from re-embeds the listed rows in one process; expected no --workers or --run-id with it")
    # Every process meets the gate, a worker joining a run (--run-id) too: a run id proves nothing by itself.
    gate = scope_gate(settings, args.collection, command="backfill", into=args.into, approve_model_change=approve,
                      override=override)
    if gate.closed and not args.dry_run:
        gate.enforce()
    if args.workers > 1 and not args.dry_run:
        return _run_workers(args, settings, approve, override)
    if args.provider_url:
        settings = dataclasses.replace(settings, provider_url=args.provider_url[0])
    options = BackfillOptions.from_args(args, batch_size=settings.batch_size, approve_model_change=approve, keys=keys)
    summary = run_backfill(settings, options)
    if gate is not None:
        summary.gate = gate.as_dict()
        if gate.closed:  # a dry run meets the refusal the real run would meet first
            summary.refused, summary.refused_code = gate.refusal(), 2
    lines = [summary.line(), *(f"  note: {note}" for note in summary.notes)]
    if args.keys_from and (elsewhere := findings_without_chunks(args.keys_from, args.into or args.collection)):
        # A source row without chunks has no text to embed here: said, never counted as repaired.
        summary.notes.append(f"{len(elsewhere)} findings of {args.keys_from} name no chunk and are not re-embedded "
                             f"(nothing of them to embed; verify names them until the application stores their "
                             f"chunks): {'; '.join(elsewhere[:5])}")
        lines.append(f"  not re-embedded: {summary.notes[-1]}")
    if gate is not None and gate.override:
        lines.append(f"  scope gate {gate.status}; override: {gate.override}")
    if summary.copied:
        lines.append(f"  copied {summary.copied} chunks of {summary.source} into {summary.collection}")
    for failure in summary.failures[:20]:
        lines.append(f"  failed: key {failure.key} ({failure.collection}): {failure.reason}")
    if summary.stopped:
        lines.append(f"  stopped: {summary.stopped}")
    if summary.unproven:
        lines.append(f"  unproven: {summary.unproven}")
    emit(summary, args.json, "\n".join(lines))
    if summary.refused:
        return summary.refused_code or 2
    return 0 if summary.ok else 1


def _run_workers(args: argparse.Namespace, settings, approve: bool, override: str | None) -> int:
    from ..backfill import BackfillOptions
    from ..backfill.workers import new_run_id, run_workers
    from ..output import emit
    from ..steps.run import OVERRIDE_ENV

    options = BackfillOptions.from_args(args, batch_size=settings.batch_size, run_id=args.run_id or new_run_id(),
                                        approve_model_change=approve)
    # The override the starter was given reaches each worker's own gate (as run hands it to the engine).
    summary = run_workers(settings, options, args.workers, args.provider_url,
                          env={OVERRIDE_ENV: override} if override else None)
    lines = [summary.line(), *(f"  not ok: {p}" for p in summary.problems)]
    for worker in summary.workers:
        for failure in worker.get("failures", [])[:20]:
            lines.append(f"  failed: key {failure['key']} ({failure['collection']}): {failure['reason']}")
    emit(summary, args.json, "\n".join(lines))
    return 0 if summary.ok else 1
