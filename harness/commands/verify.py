"""``backfill-harness verify``: run the DONE checks for a collection; write verify.json + junit.xml."""

from __future__ import annotations

import argparse

from ._common import add_json, existing_file, add_run_dir, add_sampling_options, add_target_options, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="run the DONE checks (pytest checks/) for a collection",
                       description="Run pytest checks/ for the collection and collect each check's outcome.")
    add_target_options(p)
    add_run_dir(p)
    add_sampling_options(p)
    p.add_argument("--historylog", type=existing_file("--historylog", "a historylog written by record (or no --historylog)"),
                   help="the historylog the 'completed' check reads (it must exist)")
    p.add_argument("--checks", help="the checks folder (default: this project's checks/)")
    add_json(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..output import emit
    from ..steps import default_run_dir, verify

    run_dir = args.run_dir or default_run_dir(args.collection)
    result = verify(settings_from(args), args.collection, run_dir, checks_dir=args.checks, sample=args.sample, max_bad_fraction=args.max_bad_fraction,
                    historylog=args.historylog)
    emit({**result.as_dict(), "run_dir": str(run_dir)}, args.json, result.text())
    return 0 if result.ok else 1
