"""record and historylog through the CLI: entries from the run folder, newest first, tamper-evident."""

from harness import historylog


def env_for(db, target_env):
    return {**target_env, "DATABASE_URL": db.dsn}


def ran(cli, db, demo_profile, target_env, run_dir, *args, collection="tenant_globex"):
    return cli("run", "--profile", demo_profile, "--collection", collection, "--run-dir", run_dir, *args,
               env=env_for(db, target_env))


def record(cli, db, demo_profile, target_env, run_dir, *logs, collection="tenant_globex"):
    args = [a for log in logs for a in ("--historylog", log)]
    return cli("record", "--profile", demo_profile, "--collection", collection, "--run-dir", run_dir, *args, "--json",
               env=env_for(db, target_env))


def test_a_run_is_recorded_with_its_command_counts_and_settings(cli, demo_db, demo_profile, target_env, tmp_path):
    ran(cli, demo_db, demo_profile, target_env, tmp_path / "run")
    result = record(cli, demo_db, demo_profile, target_env, tmp_path / "run", tmp_path / "historylog.md")
    assert result.code == 0, result.err
    (entry,) = historylog.read_entries(tmp_path / "historylog.md")
    assert (entry.collection, entry.model, entry.dimensions, entry.batch_size) == ("tenant_globex", "hash-embed:384", 384, 100)
    assert entry.chunking == {"max_chunk_size": 800, "overlap": 100}
    assert entry.counts_before["embedded"] == 0 and entry.counts_after["embedded"] == 29
    assert entry.command.endswith("--collection tenant_globex") and entry.settings["EMBED_MODEL"] == "hash-embed:384"
    assert entry.exit_code == 0 and entry.repo_commit
    assert entry.outcome == "failed" and "DONE checks did not run" in entry.reason
    assert result.json["entry"]["sha256"] == entry.sha256


def test_a_failing_backfill_command_is_recorded_as_a_failed_entry(cli, demo_db, demo_profile, target_env, tmp_path):
    ran(cli, demo_db, demo_profile, target_env, tmp_path / "run", "--command", "echo 'connection refused' >&2; exit 4")
    record(cli, demo_db, demo_profile, target_env, tmp_path / "run", tmp_path / "historylog.md")
    latest = historylog.latest_entry(tmp_path / "historylog.md", "tenant_globex")
    assert (latest.outcome, latest.exit_code) == ("failed", 4)
    assert "did not complete: exit code 4" in latest.reason and "29 of 29 rows still need a vector" in latest.reason


def test_the_same_entry_goes_to_every_historylog_given(cli, demo_db, demo_profile, target_env, tmp_path):
    ran(cli, demo_db, demo_profile, target_env, tmp_path / "run")
    agents = tmp_path / "target" / "agents" / "historylog.md"
    record(cli, demo_db, demo_profile, target_env, tmp_path / "run", tmp_path / "historylog.md", agents)
    (a,), (b,) = historylog.read_entries(tmp_path / "historylog.md"), historylog.read_entries(agents)
    assert a == b


def test_newer_records_go_on_top(cli, demo_db, demo_profile, target_env, tmp_path):
    log = tmp_path / "historylog.md"
    for collection in ("tenant_globex", "tenant_acme"):
        ran(cli, demo_db, demo_profile, target_env, tmp_path / collection, collection=collection)
        record(cli, demo_db, demo_profile, target_env, tmp_path / collection, log, collection=collection)
    assert [e.collection for e in historylog.read_entries(log)] == ["tenant_acme", "tenant_globex"]


def test_historylog_verify_passes_an_intact_log_and_show_lists_it(cli, demo_db, demo_profile, target_env, tmp_path):
    ran(cli, demo_db, demo_profile, target_env, tmp_path / "run")
    record(cli, demo_db, demo_profile, target_env, tmp_path / "run", tmp_path / "historylog.md")
    ok = cli("historylog", "verify", "--path", tmp_path / "historylog.md", "--json")
    assert ok.code == 0 and ok.json["ok"] and ok.json["entries"] == 1
    shown = cli("historylog", "show", "--path", tmp_path / "historylog.md", "--json")
    assert shown.json["entries"][0]["collection"] == "tenant_globex"
    text = cli("historylog", "show", "--path", tmp_path / "historylog.md")
    assert shown.json["entries"][0]["sha256"][:12] in text.out


def test_historylog_verify_detects_tampering(cli, demo_db, demo_profile, target_env, tmp_path):
    log = tmp_path / "historylog.md"
    for n in range(3):
        ran(cli, demo_db, demo_profile, target_env, tmp_path / f"r{n}", "--command", f"exit {n}")
        record(cli, demo_db, demo_profile, target_env, tmp_path / f"r{n}", log)
    original = log.read_text()
    log.write_text(original.replace("- exit code: 1", "- exit code: 0", 1))
    result = cli("historylog", "verify", "--path", log)
    assert result.code == 1 and "chain BROKEN" in result.out and "entry 2: text was edited" in result.out
    marker = "\n<!-- entry sha256="
    header, *entries = original.split(marker)
    entries = [marker + e for e in entries]
    assert len(entries) == 3
    tampered = {
        "deleted": header + entries[0] + entries[2],
        "reordered": header + entries[1] + entries[0] + entries[2],
        "inserted": header + entries[0] + entries[1] + entries[1] + entries[2],
    }
    for name, text in tampered.items():
        log.write_text(text)
        assert cli("historylog", "verify", "--path", log).code == 1, name


def test_verify_of_a_missing_log_is_a_config_error(cli, tmp_path):
    assert cli("historylog", "verify", "--path", tmp_path / "none.md").code == 2


def test_the_password_is_in_no_historylog(cli, demo_db, demo_profile, target_env, tmp_path, pg_password):
    ran(cli, demo_db, demo_profile, target_env, tmp_path / "run", "--command", "echo $DATABASE_URL; exit 1")
    record(cli, demo_db, demo_profile, target_env, tmp_path / "run", tmp_path / "historylog.md")
    assert pg_password not in (tmp_path / "historylog.md").read_text()


def test_record_text_and_json_name_the_same_entry(cli, demo_db, demo_profile, target_env, tmp_path):
    ran(cli, demo_db, demo_profile, target_env, tmp_path / "run")
    data = record(cli, demo_db, demo_profile, target_env, tmp_path / "run", tmp_path / "a.md").json
    text = cli("record", "--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", tmp_path / "run",
               "--historylog", tmp_path / "b.md", env=env_for(demo_db, target_env)).out
    entry = data["entry"]
    assert f"Recorded {entry['outcome']} run of {entry['collection']} ({entry['model']})" in text
    assert data["paths"] == [str(tmp_path / "a.md")]


def test_a_run_folder_of_another_collection_is_refused_with_nothing_recorded(cli, demo_db, demo_profile, target_env,
                                                                               tmp_path):
    """tenant_acme's run folder given for tenant_globex: the entry said 'succeeded run of tenant_globex' on acme's run
    and acme's DONE checks (and completed then trusted it for globex)."""
    import json

    from ..conftest import finished_run

    run_dir = finished_run(tmp_path / "run", "tenant_acme")
    (run_dir / "verify.json").write_text(json.dumps({"collection": "tenant_acme", "ok": True, "checks": []}))
    log = tmp_path / "historylog.md"
    result = record(cli, demo_db, demo_profile, target_env, run_dir, log, collection="tenant_globex")
    assert result.code == 2 and "tenant_acme" in result.json["error"] and "run.json" in result.json["error"], result.out
    assert not log.exists()


def test_a_run_after_the_last_verify_is_recorded_without_that_verify(cli, demo_db, demo_profile, target_env, tmp_path):
    """The folder's verify.json checked the collection before this run: recorded as this run's DONE checks, the entry
    said 'succeeded' for a run no check had looked at."""
    import json

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "verify.json").write_text(json.dumps({"collection": "tenant_globex", "ok": True, "checks": []}))
    ran(cli, demo_db, demo_profile, target_env, run_dir)
    log = tmp_path / "historylog.md"
    assert record(cli, demo_db, demo_profile, target_env, run_dir, log).code == 0
    (entry,) = historylog.read_entries(log)
    assert entry.outcome == "failed" and "DONE checks did not run" in entry.reason, entry


def test_a_run_folder_of_another_database_is_refused_with_nothing_recorded(cli, demo_db, embedded_db, demo_profile,
                                                                            target_env, tmp_path):
    """A run against one database recorded against another: the entry was anchored in the second database with the
    first one's counts, and completed then trusted it there (the second database's vectors no run had written)."""
    run_dir = tmp_path / "run"
    assert ran(cli, demo_db, demo_profile, target_env, run_dir).code == 0
    log = tmp_path / "historylog.md"
    result = record(cli, embedded_db, demo_profile, target_env, run_dir, log)
    assert result.code == 2 and "run.json" in result.json["error"] and demo_db.name in result.json["error"], result.out
    assert not log.exists()


def test_a_run_folder_of_another_model_is_refused_with_nothing_recorded(cli, demo_db, demo_profile, target_env,
                                                                         tmp_path):
    """A run with --model recorded without it: the entry named the profile's model for vectors of another."""
    run_dir = tmp_path / "run"
    assert ran(cli, demo_db, demo_profile, target_env, run_dir).code == 0
    log = tmp_path / "historylog.md"
    result = cli("record", "--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", run_dir,
                 "--historylog", log, "--model", "hash-embed:768", "--json", env=env_for(demo_db, target_env))
    assert result.code == 2 and "hash-embed:384" in result.json["error"], result.out
    assert not log.exists()


def test_a_verify_of_another_database_in_the_run_folder_is_refused_with_nothing_recorded(cli, demo_db, embedded_db,
                                                                                          demo_profile, target_env,
                                                                                          tmp_path):
    """The run folder's verify.json measured another database (a staging copy verified into the production run's
    folder): recorded as this run's DONE checks, the entry said 'succeeded' over vectors this database no longer has."""
    run_dir = tmp_path / "run"
    assert ran(cli, demo_db, demo_profile, target_env, run_dir).code == 0
    demo_db.execute("DELETE FROM document_embeddings WHERE collection = 'tenant_globex'")
    checked = cli("verify", "--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", run_dir, "--json",
                  env=env_for(embedded_db, target_env))
    assert checked.code == 0, checked.out
    log = tmp_path / "historylog.md"
    result = record(cli, demo_db, demo_profile, target_env, run_dir, log)
    assert result.code == 2 and "verify.json" in result.json["error"] and embedded_db.name in result.json["error"], \
        result.out
    assert not log.exists()


def test_a_run_folder_of_another_profiles_tables_is_refused_with_nothing_recorded(cli, demo_db, demo_profile,
                                                                                   profile_variant, target_env,
                                                                                   tmp_path):
    """The demo's run of tenant_globex recorded under a profile of another table: the entry said that table's
    collection was filled, and completed then trusted it there."""
    demo_db.execute("CREATE TABLE archived_chunks (LIKE document_chunks INCLUDING ALL);"
                    "INSERT INTO archived_chunks SELECT * FROM document_chunks")
    run_dir = tmp_path / "run"
    assert ran(cli, demo_db, demo_profile, target_env, run_dir).code == 0
    other = profile_variant({"table: document_chunks": "table: archived_chunks"})
    log = tmp_path / "historylog.md"
    result = cli("record", "--profile", other, "--collection", "tenant_globex", "--run-dir", run_dir,
                 "--historylog", log, "--json", env=env_for(demo_db, target_env))
    assert result.code == 2 and "public.document_chunks" in result.json["error"], result.out
    assert not log.exists()


def test_a_verify_of_another_profiles_tables_in_the_run_folder_is_refused_with_nothing_recorded(
        cli, demo_db, demo_profile, profile_variant, target_env, tmp_path):
    """The run folder's verify.json checked another profile's tables (a copy of them, complete, verified into this
    run's folder): recorded as this run's DONE checks, the entry said 'succeeded' over the run's tables, whose
    vectors were gone."""
    run_dir = tmp_path / "run"
    assert ran(cli, demo_db, demo_profile, target_env, run_dir).code == 0
    demo_db.execute("CREATE TABLE archived_chunks (LIKE document_chunks INCLUDING ALL);"
                    "INSERT INTO archived_chunks SELECT * FROM document_chunks;"
                    "CREATE TABLE archived_embeddings (LIKE document_embeddings INCLUDING ALL);"
                    "INSERT INTO archived_embeddings SELECT * FROM document_embeddings;"
                    "DELETE FROM document_embeddings WHERE collection = 'tenant_globex'")
    other = profile_variant({"table: document_chunks": "table: archived_chunks",
                             "table: document_embeddings": "table: archived_embeddings"})
    checked = cli("verify", "--profile", other, "--collection", "tenant_globex", "--run-dir", run_dir, "--json",
                  env=env_for(demo_db, target_env))
    assert checked.code == 0, checked.out
    log = tmp_path / "historylog.md"
    result = record(cli, demo_db, demo_profile, target_env, run_dir, log)
    assert result.code == 2 and "verify.json" in result.json["error"] and "public.archived_chunks" in result.json["error"], \
        result.out
    assert not log.exists()


def test_an_into_run_whose_checks_are_of_the_live_collection_is_refused_with_nothing_recorded(cli, embedded_db,
                                                                                               demo_profile, target_env,
                                                                                               tmp_path):
    """run --into NEW, then verify of the live collection (untouched, so it passes) into the run folder: the entry said
    'succeeded' for the run that filled NEW, on checks that never read NEW (here every vector of it deleted since)."""
    env = env_for(embedded_db, target_env)
    run_dir = tmp_path / "run"
    args = ("--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", run_dir)
    assert cli("plan", *args, "--into", "tenant_globex_v2", "--engine", "--json", env=env).code == 0
    filled = cli("run", *args, "--into", "tenant_globex_v2", "--engine", "--json", env=env)
    assert filled.code == 0, filled.out
    embedded_db.execute("DELETE FROM document_embeddings WHERE collection = 'tenant_globex_v2'")
    checked = cli("verify", *args, "--json", env=env)
    assert checked.code == 0, checked.out
    log = tmp_path / "historylog.md"
    result = record(cli, embedded_db, demo_profile, target_env, run_dir, log)
    assert result.code == 2 and "verify.json" in result.json["error"], result.out
    assert "expected the DONE checks of 'tenant_globex_v2'" in result.json["error"], result.out
    assert not log.exists()


def test_a_sampled_checks_pass_is_recorded_with_what_its_sample_proves(cli, demo_db, demo_profile, target_env, tmp_path):
    """A pass on 10 sampled rows at a 50% bound and one on every row read alike in the log ('recompute passed'): the
    entry keeps the numbers the check found."""
    ran(cli, demo_db, demo_profile, target_env, tmp_path / "run")
    checked = cli("verify", "--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", tmp_path / "run",
                  "--sample", "10", "--max-bad-fraction", "0.5", env=env_for(demo_db, target_env))
    assert checked.code == 0, checked.out + checked.err
    record(cli, demo_db, demo_profile, target_env, tmp_path / "run", tmp_path / "historylog.md")
    (entry,) = historylog.read_entries(tmp_path / "historylog.md")
    assert entry.outcome == "succeeded"
    (recompute,) = [c for c in entry.checks if c.name.startswith("recompute")]
    assert recompute.outcome == "passed"
    assert "0 of 10 sampled rows off: at 95% confidence fewer than" in recompute.message, recompute
    assert "of the 29 rows are off" in recompute.message
