"""Every command quoted in SKILL.md and EXAMPLES.md exists: each subcommand, each flag, each full argument list
(and every `pytest checks/` call the README quotes for engineers)."""

import argparse
import contextlib
import io
import re
import subprocess
import sys

import pytest

from harness.cli import build_parser

from ..skill_docs import EXAMPLES_MD, REPO, SKILL_MD, all_invocations

DOCS = {"SKILL.md": SKILL_MD, "EXAMPLES.md": EXAMPLES_MD}
# The procedure's steps: the skill must show each of them.
STEPS = ("scope", "locate", "plan", "run", "backfill", "verify", "record", "historylog", "swap", "procedure")


def _calls(program: str) -> list[tuple[str, list[str]]]:
    return [(name, argv) for name, path in DOCS.items() for argv in all_invocations(path, program)]


HARNESS_CALLS = _calls("backfill-harness")
PYTEST_CALLS = _calls("pytest") + [("README.md", argv) for argv in all_invocations(REPO / "README.md", "pytest")
                                    if argv[:1] == ["checks/"]]


def _id(call: tuple[str, list[str]]) -> str:
    return f"{call[0]}: {' '.join(call[1])[:90]}"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _walk(argv: list[str]) -> tuple[argparse.ArgumentParser, list[str], list[str]]:
    """The innermost parser the words name, the subcommand path, and the words left for it."""
    parser, path, rest = build_parser(), [], list(argv)
    while rest and (choices := _subparsers(parser)) and not rest[0].startswith("-"):
        if rest[0] not in choices:
            raise AssertionError(f"unknown subcommand {' '.join(path + rest[:1])!r}; expected one of {sorted(choices)}")
        parser, path, rest = choices[rest[0]], path + [rest[0]], rest[1:]
    return parser, path, rest


def test_the_documents_quote_the_procedure_commands():
    named = {argv[0] for _, argv in HARNESS_CALLS if argv}
    assert set(STEPS) <= named, f"not shown: {sorted(set(STEPS) - named)}"
    assert any(argv[:2] == ["skill", "install"] for _, argv in HARNESS_CALLS)


def test_agents_are_shown_the_json_flag_for_every_step_of_the_quick_start():
    skill_calls = [argv for name, argv in HARNESS_CALLS if name == "SKILL.md"]
    for step in ("scope", "locate", "plan", "run", "verify", "record"):
        assert any(argv[0] == step and "--json" in argv for argv in skill_calls), step


@pytest.mark.parametrize("call", HARNESS_CALLS, ids=[_id(c) for c in HARNESS_CALLS])
def test_each_flag_exists_on_its_subcommand(call):
    _, argv = call
    parser, path, rest = _walk(argv)
    assert path, f"no subcommand in {argv}"
    known = {opt for action in parser._actions for opt in action.option_strings}
    for word in rest:
        if word.startswith("-") and not re.fullmatch(r"-\d+", word):
            flag = word.split("=", 1)[0]
            assert flag in known, f"backfill-harness {' '.join(path)} has no {flag}; it has {sorted(known)}"


@pytest.mark.parametrize("call", HARNESS_CALLS, ids=[_id(c) for c in HARNESS_CALLS])
def test_each_command_parses_as_written(call):
    _, argv = call
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            build_parser().parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"backfill-harness {' '.join(argv)} does not parse (exit {exc.code}): {err.getvalue().strip()}")


@pytest.fixture(scope="module")
def pytest_options() -> set[str]:
    """Every option `pytest --help` lists in this repository, the checks plugin's included."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "--help"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", proc.stdout))


def test_the_checks_plugin_options_are_registered(pytest_options):
    assert {"--bh-profile", "--bh-collection", "--bh-sample", "--bh-run-dir", "--bh-historylog", "--bh-database-url",
            "--bh-statement-timeout-ms"} <= pytest_options


@pytest.mark.parametrize("call", PYTEST_CALLS, ids=[_id(c) for c in PYTEST_CALLS])
def test_each_pytest_checks_flag_exists(call, pytest_options):
    _, argv = call
    assert argv and argv[0] == "checks/", f"pytest is quoted for the DONE checks only: {argv}"
    for word in argv[1:]:
        if word.startswith("-"):
            flag = word.split("=", 1)[0]
            assert flag in pytest_options, f"pytest has no {flag} (the checks plugin adds --bh-profile, --bh-collection, ...)"
