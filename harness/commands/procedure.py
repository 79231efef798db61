"""``backfill-harness procedure``: scope, locate, plan, run, verify and record in order; always records."""

from __future__ import annotations

import argparse
import sys

from ._common import (add_change_options, add_command_options, add_json, add_override, add_run_dir, add_sampling_options,
                      add_target_options, settings_from)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("procedure", help="scope, locate, plan, run, verify, record: the whole procedure",
                       description="Run every step in order; stop at the first failing gate; always record.")
    add_target_options(p)
    add_change_options(p)
    add_run_dir(p)
    p.add_argument("--repo", help="the target application's repository (default: the profile's folder)")
    add_command_options(p)
    p.add_argument("--timeout", type=float, help="seconds before the backfill command is stopped")
    p.add_argument("--historylog", action="append", default=[],
                   help="historylog to append to (repeatable; default ./historylog.md)")
    p.add_argument("--term", action="append", default=[], help="another search term for locate (repeatable)")
    add_sampling_options(p)
    p.add_argument("--checks", help="the checks folder (default: this project's checks/)")
    add_override(p)
    add_json(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..output import emit
    from ..steps import run_procedure

    result = run_procedure(
        settings_from(args), args.collection, repo=args.repo, run_dir=args.run_dir, engine=args.engine,
        command=args.command, approve_model_change=args.approve_model_change, into=args.into,
        historylogs=args.historylog, terms=tuple(args.term), timeout_s=args.timeout, checks_dir=args.checks,
        sample=args.sample, max_bad_fraction=args.max_bad_fraction, echo=lambda line: print(line, file=sys.stderr, flush=True),
        override=args.override,
    )
    emit(result, args.json, result.text())
    return result.exit_code
