"""``backfill-harness scope``: objective, inputs with sources, assumptions and their checks; writes nothing."""

from __future__ import annotations

import argparse

from ._common import add_change_options, add_command_options, add_json, add_target_options, settings_from


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scope", help="restate the objective, resolve and check the inputs (writes nothing)",
                       description="Resolve a backfill's inputs, say where each came from, and check the assumptions.")
    add_target_options(p)
    add_change_options(p)
    add_command_options(p)
    add_json(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..output import emit
    from ..steps import backfill_command, scope

    settings = settings_from(args)
    # The contract checked is that of the command that will run (--command, --engine: none), as run's gate checks it;
    # without either, the profile's.
    chosen = backfill_command(settings, args.collection, command=args.command, engine=args.engine, into=args.into) \
        if args.command or args.engine else None
    result = scope(settings, args.collection, approve_model_change=args.approve_model_change, into=args.into,
                   check_contract=chosen is None or chosen.source != "engine", command=chosen)
    emit(result, args.json, result.text())
    return result.exit_code
