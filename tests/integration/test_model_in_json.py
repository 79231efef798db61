"""The model each row names under a key of a JSON column beside an inline vector (Letta's
``embedding_config->>'embedding_model'``): read by scope, the engine and the checks as a model column, and written by
the engine under that key, the rest of the application's JSON kept."""

import json

import pytest

ROWS = """
CREATE TABLE passage (id text PRIMARY KEY, body text NOT NULL, embedding vector(8), embedding_config json);
INSERT INTO passage SELECT 'p' || g, 'passage number ' || g, NULL,
  json_build_object('embedding_endpoint_type', 'openai', 'embedding_model', CASE WHEN g <= 2 THEN 'old-embed' ELSE
                    'hash-embed:8' END, 'embedding_dim', 8)
  FROM generate_series(1, 10) g;
UPDATE passage SET embedding = array_fill(0.1::real, ARRAY[8])::vector WHERE id IN ('p1', 'p2');
INSERT INTO passage VALUES ('p11', 'a passage without a config', NULL, NULL);
"""
PROFILE = ("name: passage\nprovider: {model: hash-embed:8}\n"
           "chunks: {table: passage, id: id, text: body, collection_name: passage}\n"
           "embeddings: {vector: embedding, model: \"embedding_config->>'embedding_model'\"}\n")


def _setup(cli, db, embed_server, tmp_path):
    db.execute(ROWS)
    profile = tmp_path / "passage.yaml"
    profile.write_text(PROFILE)
    return ("--profile", profile, "--collection", "passage"), {"DATABASE_URL": db.dsn, "OLLAMA_HOST": embed_server.url}


def test_scope_counts_the_vectors_another_model_a_json_key_names_and_refuses_the_switch(cli, empty_db, embed_server,
                                                                                         tmp_path):
    target, env = _setup(cli, empty_db, embed_server, tmp_path)
    scoped = cli("scope", *target, "--json", env=env)
    assert scoped.code != 0 and "holds 2 vectors of old-embed (2)" in scoped.out, scoped.out
    assert scoped.json["counts"]["other_model"] == 2 and scoped.json["counts"]["missing"] == 9


def test_the_engine_writes_the_model_under_its_key_and_keeps_the_rest_of_the_json(cli, empty_db, embed_server,
                                                                                   tmp_path):
    target, env = _setup(cli, empty_db, embed_server, tmp_path)
    filled = cli("backfill", *target, "--approve-model-change", "--json", env=env)
    assert filled.json["embedded"] == 11, filled.out + filled.err
    configs = dict(empty_db.connect(autocommit=True).execute(
        "SELECT id, embedding_config::text FROM passage ORDER BY id").fetchall())
    for key in (f"p{i}" for i in range(1, 11)):
        config = json.loads(configs[key])
        assert config["embedding_model"] == "hash-embed:8" and config["embedding_endpoint_type"] == "openai", config
    # A row without a config keeps none (an object of one key is no config the application could read back): its
    # model stays unrecorded, so the closing count says so and the run is not ok.
    assert configs["p11"] is None
    assert filled.code == 1 and "1 of 11 rows of passage still need a vector after the run" in filled.out + filled.err


def test_a_row_left_without_a_model_after_the_run_is_said_to_name_none_not_blamed_on_edits(cli, empty_db, embed_server,
                                                                                          tmp_path):
    target, env = _setup(cli, empty_db, embed_server, tmp_path)
    filled = cli("backfill", *target, "--approve-model-change", "--json", env=env)
    said = filled.json["summary"] + " " + (filled.json.get("stopped") or "")
    assert filled.code == 1 and filled.json["after"]["unnamed"] == 1, filled.out
    assert "1 of them name no model (passage.embedding_config->>'embedding_model' is NULL" in said, said
    assert "edited or added while it ran" not in said and "run backfill again" not in said, said


@pytest.mark.slow
def test_verify_fails_the_model_check_on_a_row_whose_json_names_another_model(cli, empty_db, embed_server, tmp_path):
    target, env = _setup(cli, empty_db, embed_server, tmp_path)
    empty_db.execute("DELETE FROM passage WHERE id = 'p11'")
    assert cli("backfill", *target, "--approve-model-change", "--json", env=env).code == 0
    assert cli("verify", *target, "--run-dir", tmp_path / "v0", "--json", env=env).code == 0
    empty_db.execute("UPDATE passage SET embedding_config = json_build_object('embedding_model', 'old-embed') "
                     "WHERE id = 'p4'")
    checked = cli("verify", *target, "--run-dir", tmp_path / "v1", "--json", env=env)
    model = next(c for c in checked.json["checks"] if c["check"] == "model")
    assert checked.code == 1 and model["status"] == "failed", model
    offenders = [json.loads(line) for line in (tmp_path / "v1" / "offenders.jsonl").read_text().splitlines()]
    assert {o["key"] for o in offenders if o["check"] == "model"} == {"p4"}
