"""Binding gates: run, backfill and swap refuse what scope refuses, unless an override says who approved it."""

import json

import pytest

from harness.historylog import read_entries

COUNT = "SELECT count(*) FROM document_embeddings WHERE collection = 'tenant_acme'"
LEGACY = "SELECT count(*) FROM document_embeddings WHERE collection = 'tenant_acme' AND model_name = 'legacy-embed:384'"


@pytest.fixture
def legacy_acme(embedded_db):
    """tenant_acme's 107 vectors labelled as another model: scope refuses an in-place switch."""
    embedded_db.execute("UPDATE document_embeddings SET model_name = 'legacy-embed:384' WHERE collection = 'tenant_acme'")
    return embedded_db


def env_of(db, target_env):
    return {**target_env, "DATABASE_URL": db.dsn}


def test_run_after_a_refusing_scope_exits_2_and_writes_nothing(cli, legacy_acme, demo_profile, target_env, tmp_path):
    result = cli("run", "--profile", demo_profile, "--collection", "tenant_acme", "--run-dir", tmp_path / "run",
                 "--command", "touch ran", env=env_of(legacy_acme, target_env))
    assert result.code == 2
    assert "scope does not pass" in result.err and "legacy-embed:384" in result.err and "--override" in result.err
    assert not (tmp_path / "run").exists()
    assert legacy_acme.scalar(LEGACY) == 107


def test_run_with_an_override_goes_ahead_and_the_entry_names_it(cli, legacy_acme, demo_profile, target_env, tmp_path):
    env = env_of(legacy_acme, target_env)
    result = cli("run", "--profile", demo_profile, "--collection", "tenant_acme", "--run-dir", tmp_path / "run", "--json",
                 "--command", "echo override=$BACKFILL_HARNESS_OVERRIDE", "--override", "owner approved", env=env)
    assert result.code == 1  # it ran; the 107 vectors of another model still need replacing
    assert result.json["gate"]["status"] == "overridden" and result.json["gate"]["override"] == "owner approved"
    assert "override=owner approved" in (tmp_path / "run" / "output.log").read_text()
    log = tmp_path / "historylog.md"
    recorded = cli("record", "--profile", demo_profile, "--collection", "tenant_acme", "--run-dir", tmp_path / "run",
                   "--historylog", log, env=env)
    assert recorded.code == 0, recorded.err
    entry = read_entries(log)[0]
    overridden = [g for g in entry.gates if "overridden (owner approved)" in g]
    assert overridden and "legacy-embed:384" in overridden[0]
    assert any("plan skipped" in g for g in entry.gates)
    assert "107 of" in entry.reason and "still need a vector" in entry.reason


def test_an_empty_override_is_refused(cli, legacy_acme, demo_profile, target_env, tmp_path):
    result = cli("run", "--profile", demo_profile, "--collection", "tenant_acme", "--run-dir", tmp_path / "run",
                 "--command", "true", "--override", " ", env=env_of(legacy_acme, target_env))
    assert result.code == 2 and "--override needs a reason" in result.err


def test_backfill_after_a_refusing_scope_exits_2_and_writes_nothing(cli, legacy_acme, demo_profile, target_env):
    result = cli("backfill", "--profile", demo_profile, "--collection", "tenant_acme", "--json",
                 env=env_of(legacy_acme, target_env))
    assert result.code == 2
    assert result.json["ok"] is False and "scope does not pass" in result.json["error"]
    assert legacy_acme.scalar(LEGACY) == 107


def test_backfill_dry_run_meets_the_same_refusal_and_prints_the_counts(cli, legacy_acme, demo_profile, target_env):
    result = cli("backfill", "--profile", demo_profile, "--collection", "tenant_acme", "--dry-run", "--json",
                 env=env_of(legacy_acme, target_env))
    assert result.code == 2
    assert result.json["before"]["other_model"] == 107 and "legacy-embed:384" in result.json["refused"]
    text = cli("backfill", "--profile", demo_profile, "--collection", "tenant_acme", "--dry-run",
               env=env_of(legacy_acme, target_env))
    assert text.code == 2 and "107 of 107 rows" in text.out and "would be refused" in text.out


def test_backfill_dry_run_refuses_a_dimension_mismatch_as_the_real_run_does(cli, demo_db, demo_profile, target_env):
    env = {**env_of(demo_db, target_env), "EMBED_MODEL": "hash-embed:768", "EMBED_DIMENSIONS": "768"}
    real = cli("backfill", "--profile", demo_profile, "--collection", "tenant_acme", env=env)
    dry = cli("backfill", "--profile", demo_profile, "--collection", "tenant_acme", "--dry-run", "--json", env=env)
    assert real.code != 0 and dry.code == real.code
    assert "column 384" in dry.json["refused"] and dry.json["before"]["needed"] == 107


def test_backfill_dry_run_refuses_into_on_a_shape_that_cannot_take_it(cli, demo_db, profile_variant, target_env):
    profile = profile_variant({"  collection: collection\n  tenant: tenant_id\n  sources": "  collection_name: all\n  tenant: tenant_id\n  sources"})
    result = cli("backfill", "--profile", profile, "--collection", "all", "--into", "all_v2", "--dry-run", "--json",
                 env=env_of(demo_db, target_env))
    assert result.code == 2 and "--into" in (result.json.get("refused") or result.json.get("error"))


def test_backfill_with_an_override_records_it_in_the_summary(cli, legacy_acme, demo_profile, target_env):
    result = cli("backfill", "--profile", demo_profile, "--collection", "tenant_acme", "--dry-run", "--json",
                 "--override", "owner approved", env=env_of(legacy_acme, target_env))
    assert result.json["gate"]["status"] == "overridden" and result.json["gate"]["override"] == "owner approved"


def test_swap_from_a_collection_of_another_model_is_refused_by_the_gate(cli, legacy_acme, demo_profile, target_env):
    result = cli("swap", "--profile", demo_profile, "--from", "tenant_acme", "--to", "tenant_globex", "--json",
                 env=env_of(legacy_acme, target_env))
    assert result.code == 2 and "swap refused: scope does not pass" in result.json["error"]
    assert legacy_acme.scalar(COUNT) == 107


def test_a_failed_procedure_records_the_first_failing_check_as_its_reason(cli, demo_db, demo_profile, target_env,
                                                                            checks_dir, tmp_path):
    log = tmp_path / "historylog.md"
    result = cli("procedure", "--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", tmp_path / "run",
                 "--command", "echo 'Done. Embedded 29/29 rows. 0 failures.'", "--override", "rehearsal",
                 "--checks", checks_dir, "--historylog", log, "--json", env=env_of(demo_db, target_env))
    assert result.code == 1
    entry = read_entries(log)[0]
    assert entry.outcome == "failed" and "29 of 29 rows still need a vector" in entry.reason
    assert "exit code" not in entry.reason.split(":")[0]


def test_record_names_the_first_failing_check_not_an_exit_code(cli, demo_db, demo_profile, target_env, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    ok_run = cli("run", "--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", run_dir,
                 env=env_of(demo_db, target_env))
    assert ok_run.code == 0, ok_run.err
    (run_dir / "verify.json").write_text(json.dumps({"ok": False, "reason": "pytest exit code 1", "checks": [
        {"check": "sane_vectors", "collection": "tenant_globex", "status": "passed"},
        {"check": "coverage", "collection": "tenant_globex", "status": "failed", "expected": "29 vectors",
         "found": "28", "note": ""},
        {"check": "fresh", "collection": "tenant_globex", "status": "failed", "expected": "fresh", "found": "stale"},
    ]}))
    log = tmp_path / "historylog.md"
    cli("record", "--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", run_dir, "--historylog", log,
        env=env_of(demo_db, target_env))
    entry = read_entries(log)[0]
    assert entry.reason == "coverage [tenant_globex]: expected 29 vectors; found 28"
    assert entry.gates == ("plan skipped: no plan.json in the run folder",)


def test_backfill_with_a_new_run_id_meets_the_same_scope_gate(cli, demo_db, demo_profile, target_env):
    result = cli("backfill", "--profile", demo_profile, "--collection", "tenant_acme", "--into", "tenant_acme",
                 "--run-id", "made-up", env=env_of(demo_db, target_env))
    assert result.code == 2 and "scope does not pass" in result.err
    assert demo_db.scalar(COUNT) == 0
