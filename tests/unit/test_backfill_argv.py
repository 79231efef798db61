"""BackfillOptions serialise to `backfill` arguments in one place, and every field survives the round trip."""

from __future__ import annotations

import dataclasses
import types
import typing

import pytest

from harness.backfill.engine import FAIL_FAST, BackfillOptions
from harness.cli import build_parser


def _other_value(f: dataclasses.Field, hints: dict) -> object:
    """A value of the field's type that differs from its default."""
    kind = hints[f.name]
    if f.name == "on_failure":
        return FAIL_FAST
    args = set(typing.get_args(kind)) - {type(None)} if isinstance(kind, types.UnionType) else {kind}
    if args == {bool}:
        return not f.default
    if args == {int} or args == {int, str}:  # a number, or a word (--concurrency auto)
        return 7 if f.default != 7 else 8
    if args == {str}:
        return f"value of {f.name}"
    raise AssertionError(f"BackfillOptions.{f.name}: no test value for type {kind}; extend this test")


def everything_changed() -> BackfillOptions:
    hints = typing.get_type_hints(BackfillOptions)
    values = {f.name: _other_value(f, hints) for f in dataclasses.fields(BackfillOptions)
              if f.metadata.get("flag") is not None}
    return BackfillOptions(**values)


def parsed(argv: list[str]) -> BackfillOptions:
    return BackfillOptions.from_args(build_parser().parse_args(["backfill", "--profile", "p.yaml", *argv]))


def test_every_field_names_its_flag_or_says_it_is_not_forwarded():
    for f in dataclasses.fields(BackfillOptions):
        assert "flag" in f.metadata, f"BackfillOptions.{f.name} has no flag: add field(metadata={{'flag': ...}})"


def test_options_with_every_field_changed_round_trip_through_the_backfill_parser():
    options = everything_changed()
    assert parsed(options.to_argv()) == options


def test_default_options_round_trip_through_the_backfill_parser():
    options = BackfillOptions("tenant_acme")
    assert parsed(options.to_argv()) == options


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(BackfillOptions) if f.metadata.get("flag")])
def test_each_field_reaches_the_parser_on_its_own(name):
    changed = dataclasses.replace(BackfillOptions("c"), **{name: getattr(everything_changed(), name)})
    assert getattr(parsed(changed.to_argv()), name) == getattr(changed, name)


def test_to_argv_with_settings_names_the_profile_file_and_model(tmp_path):
    from harness.profile import load_profile
    from harness.settings import resolve

    profile = tmp_path / "p.yaml"
    profile.write_text((__import__("pathlib").Path(__file__).parents[2] / "examples/ragapp/profile.yaml").read_text())
    settings = resolve(load_profile(profile, env={}), env={}, database_url="postgresql://h/db",
                       provider_url="http://localhost:11434", model="m1")
    argv = BackfillOptions("c").to_argv(settings)
    assert argv[:4] == ["--profile", str(profile.resolve()), "--model", "m1"]
