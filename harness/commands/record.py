"""``backfill-harness record``: append the run folder's entry at the top of each historylog."""

from __future__ import annotations

import argparse

from ._common import add_json, add_target_options, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("record", help="append a historylog entry for a run folder",
                       description="Append one entry (newest first) to each historylog from the run folder's evidence.")
    add_target_options(p)
    p.add_argument("--run-dir", required=True, help="the run folder holding plan.json, run.json, verify.json")
    p.add_argument("--historylog", action="append", default=[],
                   help="historylog to append to (repeatable; default ./historylog.md)")
    p.add_argument("--repo", help="the target repository whose git commit is recorded (default: current folder)")
    add_json(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..errors import ConfigError
    from ..output import emit
    from ..steps import entry_from_run, record

    if not Path(args.run_dir).is_dir():
        raise ConfigError(f"--run-dir {args.run_dir!r} is not a folder; expected a run folder written by plan/run")
    settings = settings_from(args)
    result = record(entry_from_run(settings, args.collection, args.run_dir, repo=args.repo or "."), args.historylog,
                    settings.database_url)
    emit(result, args.json, result.text())
    return 0
