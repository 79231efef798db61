"""Options several subcommands share."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ..errors import ConfigError


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a positive integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"invalid value {text!r}: expected a positive integer")
    return value


def sample_arg(text: str) -> int | str | None:
    """``--sample``: a positive row count or ``all``."""
    from ..checks.session import parse_sample
    from ..errors import ConfigError

    try:
        return parse_sample(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def fraction_arg(text: str) -> float | None:
    """``--max-bad-fraction``: a fraction in (0, 1), as 0.01 or 1%."""
    from ..checks.session import parse_fraction
    from ..errors import ConfigError

    try:
        return parse_fraction(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def collection_arg(text: str) -> str:
    """A collection option (--collection, --into): the one rule of a valid name (harness.state.valid_collection)."""
    from ..state import valid_collection

    try:
        return valid_collection(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def folder_arg(flag: str) -> Callable[[str], str]:
    """A folder the command writes into (--run-dir, --out): new or existing, never a file nor under one (the mkdir
    would fail half-way, after the command had started)."""
    def parse(text: str) -> str:
        path = Path(text)
        for part in (path, *path.parents):
            if part.exists() or part.is_symlink():
                if not part.is_dir():
                    where = "" if part == path else f" ({str(part)!r} is a file)"
                    raise argparse.ArgumentTypeError(f"{flag} {text!r} is not a folder{where}; expected a folder "
                                                     "(new or existing) to write into")
                break
        return text
    parse.__name__ = flag.lstrip("-")
    return parse


def existing_file(flag: str, expected: str) -> Callable[[str], str]:
    """A file the command reads: a path that names none is refused, never read as an empty one."""
    def parse(text: str) -> str:
        if not Path(text).is_file():
            said = "is a folder" if Path(text).is_dir() else "does not exist"
            raise argparse.ArgumentTypeError(f"{flag} {text!r} {said}; expected {expected}")
        return text
    parse.__name__ = flag.lstrip("-")
    return parse


def add_sampling_options(parser: argparse.ArgumentParser) -> None:
    """The bound DONE requires of the sampled checks, and how many rows they draw."""
    parser.add_argument("--sample", type=sample_arg,
                        help="rows the sampling checks re-embed: N, or 'all' (default: as many as the bound needs, "
                             "299 for 1%% at 95%%); fewer than the bound needs leaves them unproven")
    parser.add_argument("--max-bad-fraction", type=fraction_arg,
                        help="largest fraction of bad rows DONE accepts, proven at the profile's verify.confidence "
                             "(default: the profile's verify.max_bad_fraction, else 0.01)")


def add_target_options(parser: argparse.ArgumentParser, *, collection: bool = True) -> None:
    parser.add_argument("--profile", required=True, help="the target's YAML profile, or a preset: langchain, llamaindex, pgai (also preset:NAME)")
    if collection:
        parser.add_argument("--collection", required=True, type=collection_arg, help="the collection, e.g. global_corpus or tenant_42")
    parser.add_argument("--model", help="embedding model (default: the profile's provider.model)")
    parser.add_argument("--batch-size", type=positive_int, help="texts per embedding request (default 100)")


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document (for agents) instead of text")


def settings_from(args: argparse.Namespace, *, require_provider: bool = True):
    """Settings from the command's flags; ``require_provider=False`` where a missing provider is the command's own
    finding (swap's gate says unproven)."""
    from ..settings import resolve

    if not getattr(args, "profile", None):
        raise ConfigError("--profile is required")
    urls = getattr(args, "provider_url", None) or []  # backfill's --provider-url (repeatable): the first serves here
    return resolve(args.profile, model=getattr(args, "model", None), batch_size=getattr(args, "batch_size", None),
                   provider_url=urls[0] if isinstance(urls, list) and urls else None, require_provider=require_provider)


APPROVE_MODEL_CHANGE_HELP = (
    "the owner approved a model switch: replace vectors of another (named) model in place in the collection written. "
    "Without it such a switch is refused; --into NEW (fill a new collection, verify, swap) needs no approval. "
    "Vectors of an unknown model (no model column) never need it. Never pass it without the owner's approval")
OVERRIDE_HELP = ("go ahead although scope refuses these settings (for swap, also although its DONE gate is only "
                 "unproven, never failed); REASON (who approved and why) is recorded in the evidence and the historylog")


def add_approve_model_change(parser: argparse.ArgumentParser) -> None:
    """The one --approve-model-change flag, with the same meaning in every command (harness.state.model_switch)."""
    parser.add_argument("--approve-model-change", action="store_true", help=APPROVE_MODEL_CHANGE_HELP)


def add_override(parser: argparse.ArgumentParser) -> None:
    """--override REASON: pass a closed scope gate, on the record."""
    parser.add_argument("--override", metavar="REASON", help=OVERRIDE_HELP)


def add_change_options(parser: argparse.ArgumentParser) -> None:
    """--approve-model-change and --into, for the steps that decide whether a model switch may go ahead."""
    add_approve_model_change(parser)
    parser.add_argument("--into", metavar="NEW", type=collection_arg, help="backfill into this new collection (swap later)")


def add_run_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--run-dir", type=folder_arg("--run-dir"), help="the run folder (default runs/<UTC time>-<collection>/)")


def add_command_options(parser: argparse.ArgumentParser) -> None:
    """Which backfill command runs: the profile's, one given here, or the harness's own engine."""
    parser.add_argument("--command", help="the backfill command (default: the profile's backfill.command)")
    parser.add_argument("--engine", action="store_true", help="use backfill-harness backfill when the profile has no command")
