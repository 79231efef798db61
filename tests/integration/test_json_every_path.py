"""--json prints exactly one JSON document on every exit path, errors included; the one-line message stays on stderr."""

import json

import pytest

MISSING = "/nonexistent/profile.yaml"

BAD_INPUTS = {
    "scope": ["scope", "--profile", MISSING, "--collection", "c"],
    "plan": ["plan", "--profile", MISSING, "--collection", "c"],
    "run": ["run", "--profile", MISSING, "--collection", "c"],
    "backfill": ["backfill", "--profile", MISSING, "--collection", "c"],
    "swap": ["swap", "--profile", MISSING, "--from", "a", "--to", "b"],
    "procedure": ["procedure", "--profile", MISSING, "--collection", "c"],
    "record": ["record", "--profile", MISSING, "--collection", "c", "--run-dir", "/nonexistent/run"],
    "verify": ["verify", "--profile", MISSING, "--collection", "c", "--run-dir", "/nonexistent/run"],
    "locate": ["locate", "--repo", "/nonexistent/repo"],
    "historylog verify": ["historylog", "verify", "--path", "/nonexistent/historylog.md"],
    "historylog show": ["historylog", "show", "--path", "/nonexistent/historylog.md"],
    "usage error": ["backfill", "--profile", "p.yaml", "--collection", "c", "--limit", "zero"],
    "missing argument": ["scope", "--profile", "p.yaml"],
}


def one_document(out: str) -> dict:
    """The whole of stdout parses as one JSON value (json.loads refuses trailing data)."""
    return json.loads(out)


@pytest.mark.parametrize("argv", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_a_bad_input_prints_one_json_error_document(cli, argv):
    result = cli(*argv, "--json")
    assert result.code == 2, result.err
    doc = one_document(result.out)
    assert doc["ok"] is False and doc["exit_code"] == 2 and doc["command"] == argv[0] and doc["error"]
    assert result.err.strip()  # the message for people is still on stderr


def test_without_json_an_error_prints_nothing_on_stdout(cli):
    result = cli("scope", "--profile", MISSING, "--collection", "c")
    assert result.code == 2 and result.out == "" and "does not exist" in result.err


def test_a_failing_database_write_in_backfill_still_prints_one_json_document(cli, demo_db, demo_profile, demo_env):
    demo_db.execute("""
        CREATE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'disk full (simulated)'; END $$;
        CREATE TRIGGER refuse_write BEFORE INSERT OR UPDATE ON document_embeddings
        FOR EACH ROW EXECUTE FUNCTION refuse_write();
    """)
    result = cli("backfill", "--profile", demo_profile, "--collection", "tenant_globex", "--json",
                 env={**demo_env, "DATABASE_URL": demo_db.dsn})
    assert result.code == 1
    doc = one_document(result.out)
    assert doc["ok"] is False and doc["exit_code"] == 1 and "disk full (simulated)" in doc["error"]
    assert "disk full (simulated)" in result.err


def test_an_unforeseen_error_still_prints_one_json_document(cli, demo_db, demo_profile, target_env, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the run folder's parent should be")
    result = cli("run", "--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", blocker / "run",
                 "--command", "true", "--json", env={**target_env, "DATABASE_URL": demo_db.dsn})
    doc = one_document(result.out)
    assert result.code == doc["exit_code"] != 0 and doc["ok"] is False and doc["command"] == "run"


def test_an_unreachable_database_prints_one_json_document(cli, demo_profile, demo_env):
    result = cli("scope", "--profile", demo_profile, "--collection", "tenant_acme", "--json",
                 env={**demo_env, "DATABASE_URL": "postgresql://nobody:secret@127.0.0.1:9/none"})
    doc = one_document(result.out)
    assert doc["ok"] is False and doc["exit_code"] == result.code != 0 and "secret" not in result.out


def test_an_interrupt_prints_one_json_document(cli, monkeypatch, request, demo_profile):
    import harness.commands.scope as scope_command

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(scope_command, "run", interrupted)
    from harness.cli import build_parser

    # The handler is bound when the parser is built, once per process: build it with the stand-in, and again after.
    build_parser.cache_clear()
    request.addfinalizer(build_parser.cache_clear)

    result = cli("scope", "--profile", demo_profile, "--collection", "c", "--json")
    doc = one_document(result.out)
    assert result.code == 130 and doc == {"ok": False, "error": "interrupted", "exit_code": 130, "command": "scope"}
