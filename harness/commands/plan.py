"""``backfill-harness plan``: scope, then write plan.json and plan.md into the run folder."""

from __future__ import annotations

import argparse
import sys

from ._common import add_change_options, add_command_options, add_json, add_run_dir, add_target_options, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="write the plan (plan.json, plan.md) for a backfill",
                       description="Check the scope, measure a probe batch, and write plan.json + plan.md.")
    add_target_options(p)
    add_change_options(p)
    add_run_dir(p)
    add_command_options(p)
    add_json(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import HarnessError
    from ..output import emit
    from ..steps import backfill_command, default_run_dir, make_plan, scope
    from ..steps.common import BackfillCommand

    settings = settings_from(args)

    def chosen() -> BackfillCommand:
        return backfill_command(settings, args.collection, command=args.command, engine=args.engine, into=args.into)

    try:
        command = chosen()
    except HarnessError:
        command = None  # no command at all: said once scope has passed, as run says it
    # The contract checked is that of the command the plan is for, as run's gate checks it: the engine runs none.
    checked = scope(settings, args.collection, approve_model_change=args.approve_model_change, into=args.into,
                    check_contract=command is None or command.source != "engine", command=command)
    if not checked.ok:
        print(f"backfill-harness plan: scope {'refused' if checked.refusal else 'failed'}: {checked.reason}; "
              "no plan written", file=sys.stderr)
        emit({"ok": False, "written": False, "scope": checked}, args.json, checked.text())
        return checked.exit_code
    command = command or chosen()
    plan = make_plan(settings, checked, args.run_dir or default_run_dir(args.collection), command)
    emit({"ok": True, "written": True, **plan.as_dict()}, args.json, plan.text())
    return 0
