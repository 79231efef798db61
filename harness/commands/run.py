"""``backfill-harness run``: run the target's backfill command; keep run.json and output.log."""

from __future__ import annotations

import argparse
import sys

from ._common import (collection_arg, add_approve_model_change, add_command_options, add_json, add_override, add_run_dir,
                      add_target_options, settings_from)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the target's backfill command and keep the evidence",
                       description="Run the backfill command with the resolved settings; write run.json + output.log.")
    add_target_options(p)
    add_run_dir(p)
    add_command_options(p)
    p.add_argument("--timeout", type=float, help="seconds before the command is stopped (default: the profile's)")
    p.add_argument("--into", metavar="NEW", type=collection_arg, help="the new collection the command backfills into")
    p.add_argument("--all", dest="every", action="store_true",
                   help="with --engine: re-embed every chunk with a text, even those that look current (a task "
                        "prefix changed, a model re-pulled under its name); see backfill --all")
    add_approve_model_change(p)
    add_override(p)
    add_json(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..output import emit
    from ..steps import backfill_command, default_run_dir
    from ..steps.gate import scope_gate
    from ..steps.run import describe, run_command

    settings = settings_from(args)
    command = backfill_command(settings, args.collection, command=args.command, engine=args.engine, into=args.into,
                               every=args.every).require_runnable()
    gate = scope_gate(settings, args.collection, command="run", into=args.into,
                      approve_model_change=args.approve_model_change, override=args.override,
                      runs_target_command=command.source != "engine", backfill=command).enforce()
    run_dir = args.run_dir or default_run_dir(args.collection)
    echo = (lambda line: print(line, file=sys.stderr, flush=True))
    evidence = run_command(settings, args.collection, run_dir, command, target_collection=args.into,
                           timeout_s=args.timeout, echo=echo, gate=gate.as_dict())
    emit({**evidence.as_dict(), "run_dir": str(run_dir)}, args.json, describe(evidence) + f"\n  run folder: {run_dir}")
    return 0 if evidence.ok else 1
