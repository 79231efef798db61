"""Values never become shell code: hostile collection names through run, procedure and procedure --engine.

A recorder program writes the arguments it got; a payload that ran would create the canary file.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from harness.errors import ConfigError
from harness.steps.commandline import build_argv

CANARY = Path(tempfile.gettempdir()) / f"bh-pwned-{os.getpid()}"
RECORDER = "import json, sys; open(sys.argv[1], 'a').write(json.dumps(sys.argv[2:]) + chr(10))"
PIECES = ["'", '"', f"$(touch {CANARY})", f"`touch {CANARY}`", f";touch {CANARY};#", f"{{into}};touch {CANARY};#",
          "\n", "{", "}", "{into}", "{collection}", "&&", "|", " ", "\\", "${IFS}", "a", "-x", "*"]
hostile = st.lists(st.sampled_from(PIECES), min_size=1, max_size=5).map("".join).filter(lambda s: s.strip() == s and s)
quick = settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(autouse=True)
def no_canary():
    CANARY.unlink(missing_ok=True)
    yield
    assert not CANARY.exists(), "a payload in a collection name ran"


def add_collection(db, name: str) -> None:
    db.execute("INSERT INTO document_chunks (document_id, collection, chunk_index, content, title, url) "
               "SELECT id, %s, 0, 'hostile ' || %s, title, url FROM documents LIMIT 1 ON CONFLICT DO NOTHING", (name, name))


def recorded(path: Path) -> list[list[str]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


TEMPLATES = [
    "{py} -c {rec} {log} {{collection}} {{into}}",  # a plain argument list
    "{py} -c {rec} {log} \"{{collection}}\" '{{into}}'",  # placeholders the profile quoted itself
    "true; {py} -c {rec} {log} {{collection}} x{{into}}",  # shell syntax: values go through the environment
]


@pytest.mark.parametrize("template", TEMPLATES)
@quick
@given(name=hostile.filter(lambda s: "\n" not in s), into=hostile.filter(lambda s: "\n" not in s))
def test_run_passes_hostile_names_verbatim_and_runs_no_payload(cli, demo_db, demo_profile, target_env, tmp_path, template,
                                                               name, into):
    # run refuses a collection scope does not know, so the hostile name is a real collection here.
    assume(into != name)
    CANARY.unlink(missing_ok=True)
    add_collection(demo_db, name)
    # --into names a new collection: an earlier example's (the database is the same for every example) is removed,
    # or its chunk, never embedded by the recorder, left the run not ok whenever its name came back as an --into.
    demo_db.execute("DELETE FROM document_chunks WHERE collection = %s", (into,))
    log = tmp_path / f"args-{abs(hash((name, into)))}.jsonl"
    log.unlink(missing_ok=True)
    command = template.format(py=sys.executable, rec=f"'{RECORDER}'" if "'" not in RECORDER else json.dumps(RECORDER),
                              log=log)
    result = cli("run", "--profile", demo_profile, f"--collection={name}", f"--into={into}", "--run-dir", tmp_path / "run",
                 "--command", command, "--json", env={**target_env, "DATABASE_URL": demo_db.dsn})
    assert not CANARY.exists(), f"payload ran for {name!r} / {into!r}"
    # The recorder exits 0 and fills nothing: the run is not ok for that alone (NEW holds no chunk after it).
    assert result.json["exit_code"] == 0, result.out + result.err
    assert result.json["problems"] == [f"{into} holds no chunk after the run: nothing of it was backfilled"], result.out
    args = recorded(log)[0]
    assert args[0] == name and args[1] in (into, "x" + into)


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=hostile.filter(lambda s: "\n" not in s))
def test_procedure_passes_a_hostile_name_verbatim(cli, demo_db, demo_profile, target_env, tmp_path, checks_dir, name):
    CANARY.unlink(missing_ok=True)
    add_collection(demo_db, name)
    log = tmp_path / "args.jsonl"
    log.unlink(missing_ok=True)
    command = f"{sys.executable} -c {json.dumps(RECORDER)} {log} {{collection}}"
    cli("procedure", "--profile", demo_profile, f"--collection={name}", "--run-dir", tmp_path / f"run{abs(hash(name))}",
        "--command", command, "--checks", checks_dir, "--historylog", tmp_path / "h.md", "--json",
        env={**target_env, "DATABASE_URL": demo_db.dsn})
    assert not CANARY.exists(), f"payload ran for {name!r}"
    assert recorded(log) == [[name]]


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=hostile.filter(lambda s: "\n" not in s))
def test_procedure_engine_backfills_exactly_the_hostile_collection(cli, demo_db, demo_profile, target_env, tmp_path,
                                                                    checks_dir, name):
    CANARY.unlink(missing_ok=True)
    add_collection(demo_db, name)
    result = cli("procedure", "--profile", demo_profile, f"--collection={name}", "--engine", "--checks", checks_dir,
                 "--run-dir", tmp_path / f"run{abs(hash(name))}", "--historylog", tmp_path / "h.md", "--json",
                 env={**target_env, "DATABASE_URL": demo_db.dsn})
    assert not CANARY.exists(), f"payload ran for {name!r}"
    assert result.json["run"]["exit_code"] == 0, result.out
    assert demo_db.scalar("SELECT count(*) FROM document_embeddings WHERE collection = %s", (name,)) == \
        demo_db.scalar("SELECT count(*) FROM document_chunks WHERE collection = %s", (name,))


def test_a_nul_in_a_name_is_refused():
    with pytest.raises(ConfigError, match="NUL"):
        build_argv("prog {collection}", {"collection": "a\x00b", "into": "a"})


def test_profile_args_are_one_argument_each_with_placeholders_filled():
    argv = build_argv("prog --x", {"collection": "a b;c", "into": "n"}, ("--collection", "{collection}", "{into}-v2"))
    assert argv == ["prog", "--x", "--collection", "a b;c", "n-v2"]


def test_an_explicit_shell_script_gets_values_through_the_environment():
    argv = build_argv("bash -c 'echo {collection}'", {"collection": "$(id)", "into": "$(id)"})
    assert argv == ["bash", "-c", "echo \"${BACKFILL_COLLECTION}\""]


def test_a_shell_builtin_or_an_assignment_runs_through_sh_with_values_from_the_environment():
    assert build_argv("exit 3", {"collection": "c", "into": "c"}) == ["/bin/sh", "-c", "exit 3"]
    assert build_argv("FOO=1 prog {collection}", {"collection": "$(id)", "into": "c"}) == \
        ["/bin/sh", "-c", 'FOO=1 prog "${BACKFILL_COLLECTION}"']


@pytest.mark.parametrize("template", TEMPLATES)
@settings(max_examples=15, deadline=None)
@given(name=hostile, into=hostile)
def test_started_commands_get_any_name_verbatim_newlines_included(tmp_path_factory, template, name, into):
    """The argument list itself, started for real (no database): even names run refuses never reach a shell."""
    import subprocess

    CANARY.unlink(missing_ok=True)
    log = tmp_path_factory.mktemp("args") / "args.jsonl"
    argv = build_argv(template.format(py=sys.executable, rec=json.dumps(RECORDER), log=log),
                      {"collection": name, "into": into})
    subprocess.run(argv, env={**os.environ, "BACKFILL_COLLECTION": name, "BACKFILL_TARGET_COLLECTION": into},
                   check=True, timeout=30)
    assert not CANARY.exists(), f"payload ran for {name!r} / {into!r}"
    args = recorded(log)[0]
    assert args[0] == name and args[1] in (into, "x" + into)
