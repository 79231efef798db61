"""procedure through the CLI: every step in order, a stop at the first failing gate, and always an entry."""

import json

import yaml

from harness import historylog

COUNT_EMBEDDINGS = "SELECT count(*) FROM document_embeddings"


def procedure(cli, db, profile, target_env, tmp_path, *args, checks_dir=None, env=None, collection="tenant_globex"):
    extra = ["--checks", checks_dir] if checks_dir else []
    return cli("procedure", "--profile", profile, "--collection", collection, "--run-dir", tmp_path / "run",
               "--historylog", tmp_path / "historylog.md", *extra, *args, "--json",
               env={**target_env, "DATABASE_URL": db.dsn, **(env or {})})


def statuses(result):
    return {s["step"]: s["status"] for s in result.json["steps"]}


def test_happy_path_runs_every_step_and_records_success(cli, demo_db, demo_profile, target_env, tmp_path, checks_dir):
    result = procedure(cli, demo_db, demo_profile, target_env, tmp_path, checks_dir=checks_dir)
    assert result.code == 0, result.out + result.err
    assert statuses(result) == dict.fromkeys(("scope", "locate", "plan", "run", "verify", "record"), "ok")
    assert {p.name for p in (tmp_path / "run").iterdir()} >= {"plan.json", "plan.md", "run.json", "output.log",
                                                                "verify.json", "junit.xml"}
    entry = historylog.latest_entry(tmp_path / "historylog.md", "tenant_globex")
    assert (entry.outcome, entry.exit_code, entry.failed_rows) == ("succeeded", 0, 0)
    assert [c.outcome for c in entry.checks] == ["passed", "passed", "skipped"]
    assert demo_db.scalar(COUNT_EMBEDDINGS + " WHERE collection = 'tenant_globex'") == 29


def test_text_output_names_each_step_and_the_outcome(cli, demo_db, demo_profile, target_env, tmp_path, checks_dir):
    result = cli("procedure", "--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", tmp_path / "run",
                 "--historylog", tmp_path / "historylog.md", "--checks", checks_dir,
                 env={**target_env, "DATABASE_URL": demo_db.dsn})
    assert "Procedure for tenant_globex: SUCCEEDED" in result.out
    for step in ("scope", "locate", "plan", "run", "verify", "record"):
        assert f"  {step} " in result.out


def test_dimension_mismatch_stops_at_scope_writes_nothing_and_is_recorded(cli, demo_db, demo_profile, target_env,
                                                                           tmp_path, checks_dir):
    result = procedure(cli, demo_db, demo_profile, target_env, tmp_path, checks_dir=checks_dir,
                       env={"EMBED_MODEL": "hash-embed:768"})
    assert result.code == 1 and result.json["stopped_at"] == "scope"
    assert "dimensions agree" in result.json["reason"]
    assert statuses(result)["run"] == "skipped" and not (tmp_path / "run" / "run.json").exists()
    assert demo_db.scalar(COUNT_EMBEDDINGS) == 0
    entry = historylog.latest_entry(tmp_path / "historylog.md", "tenant_globex")
    assert entry.outcome == "failed" and "dimensions agree" in entry.reason and entry.exit_code is None


def test_model_switch_is_refused_and_recorded(cli, embedded_db, demo_profile, target_env, tmp_path, checks_dir):
    embedded_db.execute("UPDATE document_embeddings SET model_name = 'legacy-embed:384' WHERE collection = 'tenant_globex'")
    result = procedure(cli, embedded_db, demo_profile, target_env, tmp_path, checks_dir=checks_dir)
    assert result.code == 2 and result.json["outcome"] == "refused"
    assert "--approve-model-change" in result.json["reason"]
    assert embedded_db.scalar(COUNT_EMBEDDINGS + " WHERE model_name = 'legacy-embed:384'") == 29
    assert historylog.latest_entry(tmp_path / "historylog.md", "tenant_globex").outcome == "refused"


def test_a_failing_backfill_command_stops_at_run_and_is_recorded(cli, demo_db, demo_profile, target_env, tmp_path,
                                                                 checks_dir):
    result = procedure(cli, demo_db, demo_profile, target_env, tmp_path, "--command", "echo 'provider down' >&2; exit 5",
                       checks_dir=checks_dir)
    assert result.code == 1 and result.json["stopped_at"] == "run"
    assert statuses(result)["verify"] == "skipped" and statuses(result)["record"] == "ok"
    entry = historylog.latest_entry(tmp_path / "historylog.md", "tenant_globex")
    assert (entry.outcome, entry.exit_code) == ("failed", 5)
    assert entry.command == "echo 'provider down' >&2; exit 5"


def test_a_run_that_leaves_rows_unembedded_stops_at_run_and_is_recorded(cli, demo_db, demo_profile, target_env, tmp_path,
                                                                         checks_dir):
    result = procedure(cli, demo_db, demo_profile, target_env, tmp_path, "--command", "true", checks_dir=checks_dir)
    assert result.code == 1 and result.json["stopped_at"] == "run"
    entry = historylog.latest_entry(tmp_path / "historylog.md", "tenant_globex")
    assert entry.outcome == "failed" and "29 of 29 rows still need a vector" in entry.reason


def test_engine_backfills_a_profile_without_a_command(cli, demo_db, demo_profile, target_env, tmp_path, checks_dir):
    raw = yaml.safe_load(demo_profile.read_text())
    del raw["backfill"]["command"]
    profile = tmp_path / "profile.yaml"
    profile.write_text(yaml.safe_dump(raw))
    without = procedure(cli, demo_db, profile, target_env, tmp_path / "a", "--repo", tmp_path, checks_dir=checks_dir)
    assert without.code == 2 and "--engine" in without.json["reason"]
    result = procedure(cli, demo_db, profile, target_env, tmp_path / "b", "--engine", checks_dir=checks_dir)
    assert result.code == 0, result.out + result.err
    assert " -m harness backfill " in result.json["run"]["command"]


def test_the_password_is_in_no_artifact(cli, demo_db, demo_profile, target_env, tmp_path, checks_dir, pg_password):
    result = procedure(cli, demo_db, demo_profile, target_env, tmp_path, checks_dir=checks_dir)
    assert result.code == 0
    assert pg_password not in result.out + result.err
    for path in [*(tmp_path / "run").iterdir(), tmp_path / "historylog.md"]:
        assert pg_password not in path.read_text(), path


def test_the_historylog_stays_a_valid_chain_across_runs(cli, demo_db, demo_profile, target_env, tmp_path, checks_dir):
    for n, collection in enumerate(("tenant_globex", "tenant_acme")):
        procedure(cli, demo_db, demo_profile, target_env, tmp_path, "--run-dir", tmp_path / f"run{n}",
                  checks_dir=checks_dir, collection=collection)
    report = cli("historylog", "verify", "--path", tmp_path / "historylog.md", "--json")
    assert report.code == 0 and report.json["entries"] == 2


def test_json_output_is_one_document_with_every_step(cli, demo_db, demo_profile, target_env, tmp_path, checks_dir):
    result = procedure(cli, demo_db, demo_profile, target_env, tmp_path, checks_dir=checks_dir)
    data = json.loads(result.out)
    assert set(data) >= {"scope", "locate", "plan", "run", "verify", "record", "steps", "outcome"}
    assert data["record"]["entry"]["outcome"] == "succeeded"


def test_a_repository_whose_candidates_embed_nothing_runs_none_of_them(cli, empty_db, embed_server, tmp_path):
    from ..conftest import REPO

    empty_db.execute("CREATE TABLE store_vectors (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), namespace text, "
                     "embedding vector(384), metadata jsonb);"
                     "INSERT INTO store_vectors (namespace, metadata) SELECT 'handbook', "
                     "jsonb_build_object('text', 'chunk ' || g) FROM generate_series(1, 5) g;")
    profile = tmp_path / "profile.yaml"
    profile.write_text("name: store\nprovider: {model: hash-embed:384}\n"
                       "chunks: {table: store_vectors, text: \"metadata->>'text'\", collection: namespace}\n")
    repo = REPO / "tests" / "fixtures" / "repos" / "js-own-vector-store"  # prisma generate, and a seed of settings
    result = cli("procedure", "--profile", profile, "--collection", "handbook", "--repo", repo, "--run-dir",
                 tmp_path / "run", "--historylog", tmp_path / "historylog.md", "--json",
                 env={"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url})
    assert result.code == 2
    steps = {s["step"]: s for s in result.json["steps"]}
    assert "none embeds" in steps["locate"]["summary"] and steps["plan"]["status"] == "refused"
    assert steps["run"]["status"] == "skipped"
    assert empty_db.scalar("SELECT count(*) FROM store_vectors WHERE embedding IS NOT NULL") == 0


def test_the_run_step_says_what_it_embedded_apart_from_what_the_collection_holds(cli, demo_db, demo_profile, target_env,
                                                                                tmp_path, checks_dir):
    """Open WebUI trial: after 5 lost vectors were filled the run step said `embedded 24/24`, read as every row
    re-embedded (4 of them still held an older model's vectors)."""
    first = procedure(cli, demo_db, demo_profile, target_env, tmp_path / "a", checks_dir=checks_dir)
    assert first.code == 0, first.out + first.err
    demo_db.execute("DELETE FROM document_embeddings WHERE chunk_id IN (SELECT chunk_id FROM document_embeddings "
                    "WHERE collection = 'tenant_globex' ORDER BY chunk_id LIMIT 3)")
    again = procedure(cli, demo_db, demo_profile, target_env, tmp_path / "b", checks_dir=checks_dir)
    run = next(s for s in again.json["steps"] if s["step"] == "run")
    assert "3 needed before, 0 after" in run["summary"] and "29 of 29 chunks have a vector" in run["summary"], run
    assert "embedded 29/29" not in run["summary"]


def test_a_procedure_stopped_at_scope_records_none_of_an_earlier_runs_evidence_in_its_folder(
        cli, demo_db, demo_profile, target_env, tmp_path, checks_dir):
    """The same --run-dir a second time, stopped at scope: its entry took the earlier procedure's run.json and
    verify.json for its own, claiming exit code 0, 0 rows needed and DONE checks passed that this one never ran."""
    assert procedure(cli, demo_db, demo_profile, target_env, tmp_path, checks_dir=checks_dir).code == 0
    again = procedure(cli, demo_db, demo_profile, target_env, tmp_path, checks_dir=checks_dir,
                      env={"EMBED_DIMENSIONS": "768"})
    assert again.json["stopped_at"] == "scope", again.json["steps"]
    assert again.json["steps"][-1]["status"] == "ok", again.json["steps"]
    entry = historylog.latest_entry(tmp_path / "historylog.md", "tenant_globex")
    assert entry.outcome == "failed" and "dimensions agree" in entry.reason
    assert (entry.exit_code, entry.failed_rows, entry.counts_after, entry.checks) == (None, None, {}, ())
