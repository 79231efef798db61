"""plan through the CLI: plan.json + plan.md in the run folder, measured against the real provider."""

import json


def run_plan(cli, db, demo_profile, target_env, run_dir, *args, env=None):
    return cli("plan", "--profile", demo_profile, "--collection", "tenant_acme", "--run-dir", run_dir, *args,
               env={**target_env, "DATABASE_URL": db.dsn, **(env or {})})


def test_plan_writes_json_and_markdown(cli, demo_db, demo_profile, target_env, tmp_path):
    result = run_plan(cli, demo_db, demo_profile, target_env, tmp_path / "run")
    assert result.code == 0, result.err
    plan = json.loads((tmp_path / "run" / "plan.json").read_text())
    assert plan["rows"] == {"chunks": 107, "to_embed": 107, "missing": 107, "stale": 0, "other_model": 0, "current": 0,
                            "untimed": 0}
    assert plan["command"].endswith("-m examples.ragapp.backfill_embeddings --collection tenant_acme")
    assert plan["env"]["EMBED_MODEL"] == "hash-embed:384" and plan["env"]["MAX_CHUNK_SIZE"] == "800"
    assert plan["risk"]["level"] == "low"
    assert any(c.startswith("coverage") for c in plan["done_checks"])
    markdown = (tmp_path / "run" / "plan.md").read_text()
    assert "## Rows to embed: 107 of 107" in markdown and plan["command"] in markdown


def test_estimate_comes_from_a_probe_batch(cli, demo_db, demo_profile, target_env, tmp_path):
    plan = run_plan(cli, demo_db, demo_profile, target_env, tmp_path / "run", "--json").json
    estimate = plan["estimate"]
    assert estimate["probe_rows"] == 16 and estimate["probe_seconds"] > 0
    assert estimate["seconds"] == pytest_approx(107 / estimate["rows_per_second"])


def pytest_approx(value):
    import pytest

    return pytest.approx(value, rel=1e-6)


def test_stale_rows_are_counted_and_raise_the_risk(cli, embedded_db, demo_profile, target_env, tmp_path):
    embedded_db.execute("UPDATE document_chunks SET content = content || ' (edited)' "
                        "WHERE id IN (SELECT id FROM document_chunks WHERE collection = 'tenant_acme' LIMIT 5)")
    plan = run_plan(cli, embedded_db, demo_profile, target_env, tmp_path / "run", "--json").json
    assert plan["rows"]["stale"] == 5 and plan["rows"]["to_embed"] == 5
    assert plan["risk"]["level"] == "medium" and "5 stale vectors will be overwritten" in plan["risk"]["reasons"]


def test_json_and_text_carry_the_same_plan(cli, demo_db, demo_profile, target_env, tmp_path):
    text = run_plan(cli, demo_db, demo_profile, target_env, tmp_path / "a")
    data = run_plan(cli, demo_db, demo_profile, target_env, tmp_path / "b", "--json").json
    assert f"rows to embed: {data['rows']['to_embed']} of {data['rows']['chunks']}" in text.out
    assert data["command"] in text.out and f"risk:          {data['risk']['level']}" in text.out


def test_dimension_mismatch_writes_no_plan(cli, demo_db, demo_profile, target_env, tmp_path):
    result = run_plan(cli, demo_db, demo_profile, target_env, tmp_path / "run", env={"EMBED_MODEL": "hash-embed:768"})
    assert result.code == 1 and "no plan written" in result.err
    assert not (tmp_path / "run").exists()


def test_the_password_is_in_no_plan_file(cli, demo_db, demo_profile, target_env, tmp_path, pg_password):
    run_plan(cli, demo_db, demo_profile, target_env, tmp_path / "run")
    for path in (tmp_path / "run").iterdir():
        assert pg_password not in path.read_text()


def test_an_approved_model_change_in_place_is_said_to_replace_the_vectors_in_place(cli, embedded_db, demo_profile,
                                                                                      target_env, tmp_path):
    # Without --into the approved switch overwrites the live vectors: no new collection, no swap (lobe-chat's trial
    # was told "the new vectors go to a new collection, a swap follows").
    embedded_db.execute("UPDATE document_embeddings SET model_name = 'old-model' WHERE chunk_id IN "
                        "(SELECT id FROM document_chunks WHERE collection = 'tenant_acme' ORDER BY id LIMIT 3)")
    plan = run_plan(cli, embedded_db, demo_profile, target_env, tmp_path / "run", "--approve-model-change", "--json").json
    assert plan["rows"]["other_model"] == 3
    reasons = plan["risk"]["reasons"]
    assert plan["risk"]["level"] == "high"
    assert "approved model change in place: the vectors of another model in tenant_acme are overwritten; the "\
           "application searches a mix of models until the run ends" in reasons, reasons
    assert not [r for r in reasons if "swap" in r or "new collection" in r], reasons


def test_vectors_whose_freshness_nothing_measures_are_never_called_current(cli, empty_db, embed_server, tmp_path):
    """No input-hash and no model column (LlamaIndex's table): a stored vector may be stale or of another model, so the
    plan counts it as embedded, current unknown, never as current."""
    empty_db.execute("CREATE TABLE notes (id bigserial PRIMARY KEY, body text, embedding vector(384));"
                     "INSERT INTO notes (body) SELECT 'note ' || g FROM generate_series(1, 10) g;")
    empty_db.execute("UPDATE notes SET embedding = array_fill(0.1::real, ARRAY[384])::vector WHERE id <= 6")
    profile = tmp_path / "notes.yaml"
    profile.write_text("name: notes\nprovider: {model: hash-embed:384}\n"
                       "chunks: {table: notes, text: body, collection_name: notes}\nembeddings: {vector: embedding}\n")
    result = cli("plan", "--profile", profile, "--collection", "notes", "--run-dir", tmp_path / "run", "--engine",
                 "--json", env={"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url})
    assert result.code == 0, result.out + result.err
    assert result.json["rows"]["current"] is None and result.json["rows"]["to_embed"] == 4
    markdown = (tmp_path / "run" / "plan.md").read_text()
    assert "and current" not in markdown
    assert "- already embedded, whether current unknown (no hash column, no model column): 6" in markdown, markdown


def test_the_speed_probe_reads_its_texts_in_the_tenants_views(cli, supabase_reader, empty_db, embed_server, tmp_path):
    """Under database.session the policies show the connecting role no row outside a tenant's view: the probe read
    nothing there and plan said `nothing to embed: no probe needed` (0.0 s) for chatgpt-your-files' lost vectors."""
    from .conftest import ALICE, BOB, SUPABASE_PROFILE

    empty_db.execute("UPDATE files SET sharing = 'private'")  # no row outside its owner's view
    (tmp_path / "p.yaml").write_text(SUPABASE_PROFILE % f"[{ALICE}, {BOB}]")
    result = cli("plan", "--profile", tmp_path / "p.yaml", "--collection", "file_items", "--run-dir", tmp_path / "run",
                 "--engine", "--json", env={"DATABASE_URL": supabase_reader, "OLLAMA_HOST": embed_server.url})
    assert result.code == 0, result.out + result.err
    estimate = result.json["estimate"]
    assert result.json["rows"]["to_embed"] == 6
    assert estimate["probe_rows"] > 0 and estimate["seconds"] is not None, estimate
    assert "nothing to embed" not in estimate["note"], estimate


def test_an_engine_plan_never_calls_the_vectors_it_replaces_untouched(cli, embedded_db, demo_profile, target_env,
                                                                      tmp_path):
    """Two all-zero vectors (an app's failed embeddings) are needed and the engine writes over them; the plan said
    'only missing vectors are added; existing vectors are untouched'."""
    embedded_db.execute("UPDATE document_embeddings SET embedding = array_fill(0, ARRAY[384])::vector WHERE chunk_id IN "
                        "(SELECT chunk_id FROM document_embeddings WHERE collection = 'tenant_acme' LIMIT 2)")
    plan = run_plan(cli, embedded_db, demo_profile, target_env, tmp_path / "run", "--engine", "--json").json
    assert (plan["rows"]["to_embed"], plan["rows"]["missing"]) == (2, 0), plan["rows"]
    assert plan["risk"]["reasons"] == ["0 missing vectors are added and 2 stored ones replaced (2 of them hold an "
                                       "all-zero vector); the other vectors are untouched"], plan["risk"]


def test_a_plan_times_the_rows_it_counts_needed_for_a_second_embedding_row(cli, embedded_db, demo_profile, target_env,
                                                                          tmp_path):
    """Two chunks holding a second row are the run's 2 rows to embed: the probe read none of them and the plan said
    'nothing to embed: no probe needed', 0 seconds."""
    embedded_db.execute("ALTER TABLE document_embeddings DROP CONSTRAINT document_embeddings_pkey")
    embedded_db.execute("INSERT INTO document_embeddings SELECT * FROM document_embeddings WHERE chunk_id IN "
                        "(SELECT id FROM document_chunks WHERE collection = 'tenant_acme' ORDER BY id LIMIT 2)")
    plan = run_plan(cli, embedded_db, demo_profile, target_env, tmp_path / "run", "--engine", "--json").json
    assert plan["rows"]["to_embed"] == 2, plan["rows"]
    assert plan["estimate"]["probe_rows"] == 2 and plan["estimate"]["seconds"] > 0, plan["estimate"]


def test_a_secret_given_to_the_command_as_a_flag_is_in_no_plan_file(cli, demo_db, profile_variant, target_env,
                                                                      tmp_path):
    """A command taking its credentials as flags (--password VALUE, --api-key=VALUE, --auth-token 'VALUE'): plan.json,
    plan.md and the JSON printed carried them as written, where a DSN's password and password=VALUE were masked."""
    secrets = ["hunter2-sekrit", "sk-live-9f8e7d6c5b4a", "ghp_abcdefghijklmnop"]
    profile = profile_variant({"--collection {collection}\n": "--collection {collection} --password hunter2-sekrit "
                                                              "--openai-api-key=sk-live-9f8e7d6c5b4a "
                                                              "--auth-token 'ghp_abcdefghijklmnop'\n"})
    result = run_plan(cli, demo_db, profile, target_env, tmp_path / "run", "--json")
    assert result.code == 0, result.out + result.err
    assert "--collection tenant_acme --password ***" in result.json["command"], result.json["command"]
    for text in [result.out, result.err, *(p.read_text() for p in (tmp_path / "run").iterdir())]:
        assert not [s for s in secrets if s in text]


def test_vectors_beside_another_vector_column_sharing_the_hash_are_never_called_current(cli, embedded_db, demo_profile,
                                                                                       target_env, tmp_path):
    """A second model's vector on the same rows (``embedding_v2``) and one input hash, which its writes set too: plan
    called all 29 vectors current."""
    embedded_db.execute("ALTER TABLE document_embeddings ADD COLUMN embedding_v2 vector(384)")
    result = cli("plan", "--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", tmp_path / "run",
                 "--engine", "--json", env={**target_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 0, result.out + result.err
    assert result.json["rows"]["current"] is None, result.json["rows"]
    markdown = (tmp_path / "run" / "plan.md").read_text()
    assert ("- already embedded, whether current unknown (the input hash or vector time beside another vector column "
            "of the same rows (embedding_v2)): 29") in markdown, markdown
