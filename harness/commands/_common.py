"""Options several subcommands share."""

from __future__ import annotations

import argparse

from ..errors import ConfigError


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a positive integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a positive integer")
    return value


def add_target_options(parser: argparse.ArgumentParser, *, collection: bool = True) -> None:
    parser.add_argument("--profile", required=True, help="the target's YAML profile, or a preset: langchain, llamaindex, pgai (also preset:NAME)")
    if collection:
        parser.add_argument("--collection", required=True, help="the collection, e.g. global_corpus or tenant_42")
    parser.add_argument("--model", help="embedding model (default: the profile's provider.model)")
    parser.add_argument("--batch-size", type=positive_int, help="texts per embedding request (default 100)")


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document (for agents) instead of text")


def settings_from(args: argparse.Namespace):
    from ..settings import resolve

    if not getattr(args, "profile", None):
        raise ConfigError("--profile is required")
    return resolve(args.profile, model=getattr(args, "model", None), batch_size=getattr(args, "batch_size", None))


def add_change_options(parser: argparse.ArgumentParser) -> None:
    """--approve-model-change and --into, for the steps that decide whether a model switch may go ahead."""
    parser.add_argument("--approve-model-change", action="store_true",
                        help="allow switching a collection that holds vectors of another model (needs --into)")
    parser.add_argument("--into", metavar="NEW", help="backfill into this new collection (swap later)")


def add_run_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-dir", help="the run folder (default runs/<UTC time>-<collection>/)")


def add_command_options(parser: argparse.ArgumentParser) -> None:
    """Which backfill command runs: the profile's, one given here, or the harness's own engine."""
    parser.add_argument("--command", help="the backfill command (default: the profile's backfill.command)")
    parser.add_argument("--engine", action="store_true", help="use backfill-harness backfill when the profile has no command")
