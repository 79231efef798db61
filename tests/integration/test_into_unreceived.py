"""--into NEW with a target's own command that is never given NEW ({into}): it can only write the collection it
always writes, the live one. It ran, changed live data, and only then was the run reported not ok; now it is refused
before anything runs, and scope's "command receives the target collection" check says so up front."""

import sys

COLLECTION, NEW = "tenant_globex", "tenant_globex_v2"
LIVE_VECTORS = "SELECT count(*) FROM document_embeddings WHERE collection = 'tenant_globex'"


def _live_wiper(tmp_path):
    """A command of the application's that deletes the live collection's vectors: whether it ran is measured."""
    script = tmp_path / "reembed.py"
    script.write_text("import os, sys, psycopg\npsycopg.connect(os.environ['DATABASE_URL'], autocommit=True).execute("
                      "'DELETE FROM document_embeddings WHERE collection = %s', (sys.argv[1],))\n")
    return f"{sys.executable} {script} {{collection}}"


def test_run_into_new_with_a_command_lacking_into_is_refused_before_it_runs(cli, embedded_db, demo_profile, target_env,
                                                                            tmp_path):
    command = _live_wiper(tmp_path)
    result = cli("run", "--profile", demo_profile, "--collection", COLLECTION, "--into", NEW, "--run-dir",
                 tmp_path / "run", "--command", command, "--json", env={**target_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 2 and result.json["ok"] is False, result.out + result.err
    assert "lacks the {into} placeholder" in result.json["error"] and "reembed.py" in result.json["error"]
    assert embedded_db.scalar(LIVE_VECTORS) == 29 and not (tmp_path / "run").exists()


def test_run_into_new_with_a_command_lacking_into_is_refused_even_with_an_override(cli, embedded_db, demo_profile,
                                                                                   target_env, tmp_path):
    result = cli("run", "--profile", demo_profile, "--collection", COLLECTION, "--into", NEW, "--run-dir",
                 tmp_path / "run", "--command", _live_wiper(tmp_path), "--override", "owner approved", "--json",
                 env={**target_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 2 and "lacks the {into} placeholder" in result.json["error"], result.out
    assert embedded_db.scalar(LIVE_VECTORS) == 29


def test_scope_into_new_fails_where_the_profiles_command_lacks_into(cli, embedded_db, demo_profile, target_env):
    result = cli("scope", "--profile", demo_profile, "--collection", COLLECTION, "--into", NEW, "--json",
                 env={**target_env, "DATABASE_URL": embedded_db.dsn})
    check = next(c for c in result.json["checks"] if c["check"] == "command receives the target collection")
    assert check["status"] == "failed" and "profile backfill.command" in check["found"], check
    assert result.code == 1 and "lacks the {into} placeholder" in result.json["reason"], result.out


def test_scope_into_new_passes_a_command_given_into(cli, embedded_db, demo_profile, target_env, tmp_path):
    result = cli("scope", "--profile", demo_profile, "--collection", COLLECTION, "--into", NEW, "--json", "--command",
                 f"{sys.executable} -m examples.ragapp.backfill_embeddings --collection {{into}}",
                 env={**target_env, "DATABASE_URL": embedded_db.dsn})
    check = next(c for c in result.json["checks"] if c["check"] == "command receives the target collection")
    assert check["status"] == "passed", check


def test_procedure_into_new_with_a_command_lacking_into_never_runs_it(cli, embedded_db, demo_profile, target_env,
                                                                      tmp_path):
    """Scope's failed check stops it; with an override, the run step refuses it before it starts."""
    result = cli("procedure", "--profile", demo_profile, "--collection", COLLECTION, "--into", NEW, "--run-dir",
                 tmp_path / "run", "--command", _live_wiper(tmp_path), "--override", "rehearsal",
                 "--historylog", tmp_path / "historylog.md", "--json",
                 env={**target_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 2 and result.json["stopped_at"] == "run", result.out
    assert "lacks the {into} placeholder" in result.json["reason"]
    assert embedded_db.scalar(LIVE_VECTORS) == 29


def _reader_of_the_target(tmp_path):
    """A command whose code takes the collection it writes from BACKFILL_TARGET_COLLECTION, as run documents it gets
    it: given NEW without {into} in its command line. It only notes the collection it was given."""
    script = tmp_path / "writer.py"
    script.write_text("import os, pathlib\n"
                      f"pathlib.Path({str(tmp_path / 'given')!r}).write_text(os.environ['BACKFILL_TARGET_COLLECTION'])\n")
    return f"{sys.executable} {script}"


def test_scope_into_new_passes_a_command_reading_the_target_collection_from_its_environment(
        cli, embedded_db, demo_profile, target_env, tmp_path):
    result = cli("scope", "--profile", demo_profile, "--collection", COLLECTION, "--into", NEW, "--json", "--command",
                 _reader_of_the_target(tmp_path), env={**target_env, "DATABASE_URL": embedded_db.dsn})
    check = next(c for c in result.json["checks"] if c["check"] == "command receives the target collection")
    assert check["status"] == "passed", check


def test_run_into_new_starts_a_command_reading_the_target_collection_from_its_environment(
        cli, embedded_db, demo_profile, target_env, tmp_path):
    result = cli("run", "--profile", demo_profile, "--collection", COLLECTION, "--into", NEW, "--run-dir",
                 tmp_path / "run", "--command", _reader_of_the_target(tmp_path), "--json",
                 env={**target_env, "DATABASE_URL": embedded_db.dsn})
    assert "lacks the {into} placeholder" not in result.out + result.err, result.out
    assert (tmp_path / "given").read_text() == NEW, result.out + result.err
