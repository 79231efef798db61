"""scope reads the backfill command's contract and fails before anything runs when the command would not receive
the database, provider or model it is meant to use; an in-process embedder is stated."""

import pytest
import yaml

from ..conftest import DEMO_PROFILE, REPO

FIXTURES = REPO / "tests" / "fixtures" / "repos"
COUNT_EMBEDDINGS = "SELECT count(*) FROM document_embeddings"
# a script that reads DB_DSN (not DATABASE_URL) and hard-codes its provider
REEMBED = {"command": "python scripts/reembed.py", "workdir": str(FIXTURES / "py-sqlalchemy-dsn")}


def profile_with(tmp_path, backfill: dict):
    """The demo profile with ``backfill`` merged into its backfill section, written under ``tmp_path``."""
    data = yaml.safe_load(DEMO_PROFILE.read_text())
    data["backfill"] = {**data["backfill"], **backfill}
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def scope_with(cli, tmp_path, target_env):
    def run(db, backfill: dict, *args):
        env = {**target_env, "DATABASE_URL": db.dsn}
        return cli("scope", "--profile", profile_with(tmp_path, backfill), "--collection", "tenant_acme", "--json", *args,
                   env=env)
    return run


def failed(result):
    return {c["check"]: c["found"] for c in result.json["checks"] if c["status"] == "failed"}


def test_a_command_reading_db_dsn_unmapped_fails_scope_and_nothing_is_written(scope_with, demo_db):
    result = scope_with(demo_db, REEMBED)
    assert result.code == 1 and not result.json["ok"]
    detail = failed(result)["command receives the database"]
    assert 'add backfill.env: {DB_DSN: "{database_url}"} to the profile' in detail
    assert "command reaches the provider" in failed(result)  # it hard-codes localhost:11434
    assert demo_db.scalar(COUNT_EMBEDDINGS) == 0


def test_a_workspace_command_with_every_name_mapped_passes_scope(scope_with, demo_db):
    result = scope_with(demo_db, {"command": "pnpm --filter @notes/db run embeddings:backfill",
                                  "workdir": str(FIXTURES / "ts-drizzle-pnpm"),
                                  "env": {"OLLAMA_URL": "{provider_url}", "EMBEDDING_MODEL": "{model}"}})
    assert result.code == 0, result.json["reason"]
    passed = {c["check"] for c in result.json["checks"] if c["status"] == "passed"}
    assert {"command receives the database", "command reaches the provider", "command uses the model"} <= passed


def test_an_unreadable_command_is_contract_unknown_not_ok(scope_with, demo_db):
    result = scope_with(demo_db, {"command": "reembed-binary --all", "workdir": str(FIXTURES / "py-sqlalchemy-dsn")})
    assert not [c for c in result.json["checks"] if c["check"].startswith("command ")]
    contract = next(c for c in result.json["checks"] if c["check"] == "contract")
    assert contract["status"] == "unproven" and contract["note"].startswith("contract unknown:")
    assert any(a.startswith("contract unknown:") for a in result.json["assumptions"])


def test_an_in_process_embedder_is_an_input_and_an_assumption(scope_with, demo_db):
    result = scope_with(demo_db, {"command": "python -m app.embed_chunks", "workdir": str(FIXTURES / "py-inprocess-skill"),
                                  "env": {"PG_DSN": "{database_url}"}, "embeds_in_process": True,
                                  "in_process_model": "./models/all-MiniLM-L6-v2"})
    assert result.code == 0, result.json["reason"]
    assert {"name": "embeds in process", "value": "./models/all-MiniLM-L6-v2",
            "source": "profile backfill.in_process_model (the provider only checks)"} in result.json["inputs"]
    assert any("used only to check" in a for a in result.json["assumptions"])
    assert "command reaches the provider" not in {c["check"] for c in result.json["checks"]}


def test_the_engine_is_not_refused_for_the_target_commands_contract(cli, tmp_path, target_env, demo_db):
    path = profile_with(tmp_path, REEMBED)
    env = {**target_env, "DATABASE_URL": demo_db.dsn}
    refused = cli("run", "--profile", path, "--collection", "tenant_acme", "--run-dir", tmp_path / "run", "--json",
                  env=env)
    assert refused.code == 2 and "command receives the database" in refused.json["error"]
    engine = cli("backfill", "--profile", path, "--collection", "tenant_acme", "--json", env=env)
    assert engine.code == 0, engine.out + engine.err
    assert demo_db.scalar(COUNT_EMBEDDINGS) == engine.json["embedded"] > 0


def profile_without_command(tmp_path, workdir=None):
    data = yaml.safe_load(DEMO_PROFILE.read_text())
    data["backfill"].pop("command", None)
    if workdir:
        data["backfill"]["workdir"] = str(workdir)
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_run_checks_the_contract_of_the_command_it_runs_not_only_the_profiles(cli, tmp_path, target_env, demo_db):
    path = profile_without_command(tmp_path, FIXTURES / "py-sqlalchemy-dsn")
    result = cli("run", "--profile", path, "--collection", "tenant_acme", "--run-dir", tmp_path / "run",
                 "--command", "python scripts/reembed.py", "--json", env={**target_env, "DATABASE_URL": demo_db.dsn})
    assert result.code == 2 and 'DB_DSN: "{database_url}"' in result.json["error"], result.out
    assert not (tmp_path / "run" / "output.log").exists()


def test_procedure_refuses_a_command_flag_reading_db_dsn_before_it_runs(cli, tmp_path, target_env, demo_db):
    path = profile_without_command(tmp_path, FIXTURES / "py-sqlalchemy-dsn")
    result = cli("procedure", "--profile", path, "--collection", "tenant_acme", "--run-dir", tmp_path / "run",
                 "--historylog", tmp_path / "historylog.md", "--command", "python scripts/reembed.py", "--json",
                 env={**target_env, "DATABASE_URL": demo_db.dsn})
    assert result.code == 1 and result.json["stopped_at"] == "scope", result.out  # scope failed: procedure stops
    assert 'add backfill.env: {DB_DSN: "{database_url}"} to the profile' in result.json["reason"]
    assert not (tmp_path / "run" / "output.log").exists() and demo_db.scalar(COUNT_EMBEDDINGS) == 0


def test_procedure_checks_the_contract_of_the_command_locate_picked(cli, tmp_path, target_env, demo_db):
    path = profile_without_command(tmp_path)
    result = cli("procedure", "--profile", path, "--collection", "tenant_acme", "--run-dir", tmp_path / "run",
                 "--historylog", tmp_path / "historylog.md", "--repo", FIXTURES / "py-sqlalchemy-dsn", "--json",
                 env={**target_env, "DATABASE_URL": demo_db.dsn})
    assert result.code == 1 and result.json["stopped_at"] == "scope", result.out  # scope failed: procedure stops
    assert "DB_DSN" in result.json["reason"]
    checked = {c["check"] for c in result.json["scope"]["checks"]}
    assert "command receives the database" in checked
    assert not (tmp_path / "run" / "output.log").exists()


def test_procedure_with_the_names_mapped_is_not_refused_for_them(cli, tmp_path, target_env, demo_db):
    path = profile_without_command(tmp_path, FIXTURES / "py-sqlalchemy-dsn")
    data = yaml.safe_load(path.read_text())
    data["backfill"]["env"] = {"DB_DSN": "{database_url}", "EMBEDDING_MODEL": "{model}"}
    path.write_text(yaml.safe_dump(data))
    result = cli("procedure", "--profile", path, "--collection", "tenant_acme", "--run-dir", tmp_path / "run",
                 "--historylog", tmp_path / "historylog.md", "--command", "python scripts/reembed.py", "--json",
                 env={**target_env, "DATABASE_URL": demo_db.dsn})
    checks = {c["check"]: c["status"] for c in result.json["scope"]["checks"]}
    assert checks["command receives the database"] == "passed" and checks["command uses the model"] == "passed"
    # The script hard-codes localhost:11434 while the provider is elsewhere: that alone is refused.
    assert checks["command reaches the provider"] == "failed" and result.json["stopped_at"] == "scope"


def test_plan_for_the_engine_is_not_refused_for_the_target_commands_contract(cli, tmp_path, target_env, demo_db):
    """`plan --engine` plans what `run --engine` does (the engine, never the profile's command): the command's contract
    (here it reads DB_DSN and hard-codes its provider) does not stop it; a plan for the command itself still stops."""
    path = profile_with(tmp_path, REEMBED)
    env = {**target_env, "DATABASE_URL": demo_db.dsn}
    target = ("plan", "--profile", path, "--collection", "tenant_acme")
    engine = cli(*target, "--engine", "--run-dir", tmp_path / "engine", "--json", env=env)
    assert engine.code == 0 and engine.json["command_source"] == "engine", engine.out + engine.err
    own = cli(*target, "--run-dir", tmp_path / "own", "--json", env=env)
    assert own.code == 1 and "command receives the database" in own.err, own.out + own.err


def test_scope_for_the_engine_checks_no_contract_of_the_target_command(scope_with, demo_db):
    """`scope --engine` scopes what `run --engine` does: the profile's command (it reads DB_DSN, hard-codes its
    provider) is not checked, and nothing is written; `scope --command CMD` checks CMD's contract instead."""
    engine = scope_with(demo_db, REEMBED, "--engine")
    assert engine.code == 0, engine.json["reason"]
    assert not [c for c in engine.json["checks"] if c["check"].startswith("command ")]
    assert any(a.startswith("the harness's engine embeds") for a in engine.json["assumptions"])
    other = scope_with(demo_db, {**REEMBED, "command": "reembed-binary --all"}, "--command", "python scripts/reembed.py")
    assert other.code == 1 and "command receives the database" in failed(other)
    assert demo_db.scalar(COUNT_EMBEDDINGS) == 0
