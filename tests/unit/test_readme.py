"""The README's commands stay true: CI runs exactly the README's test command."""

import re

from ..conftest import REPO


def _commands(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)\n```", text, re.S)


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    test_command = next(c for c in _commands(readme) if "pytest" in c)
    assert test_command in ci


def test_readme_demo_command_runs_the_demo_with_the_minilm_extra():
    readme = (REPO / "README.md").read_text()
    demo = next(c for c in _commands(readme) if c.endswith("backfill-harness demo"))
    assert "[minilm]" in demo


def test_every_subcommand_and_flag_the_readme_quotes_exists():
    import argparse

    from harness.cli import build_parser

    from ..skill_docs import all_invocations

    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    quoted = all_invocations(REPO / "README.md")
    assert quoted, "the README quotes no backfill-harness command"
    for argv in quoted:
        command = subparsers[argv[0]]
        nested = next((a for a in command._actions if isinstance(a, argparse._SubParsersAction)), None)
        if nested and len(argv) > 1 and argv[1] in nested.choices:
            command = nested.choices[argv[1]]
        known = {option for action in command._actions for option in action.option_strings}
        for word in argv[1:]:
            flag = word.strip("[]").split("=")[0].rstrip(".")
            if flag.startswith("--"):
                assert flag in known, f"README quotes backfill-harness {argv[0]} {flag}, which does not exist"
