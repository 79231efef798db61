"""scope through the CLI on the demo app: inputs with sources, counts, and the refusals that protect a collection."""

import pytest

COUNT_EMBEDDINGS = "SELECT count(*) FROM document_embeddings"


@pytest.fixture
def scope(cli, demo_profile, target_env):
    def run(db, *args, env=None):
        return cli("scope", "--profile", demo_profile, *args, env={**target_env, "DATABASE_URL": db.dsn, **(env or {})})
    return run


def test_happy_path_counts_what_the_collection_needs(scope, demo_db):
    result = scope(demo_db, "--collection", "tenant_acme")
    assert result.code == 0, result.err
    assert "Scope ok: 107 rows to embed into tenant_acme." in result.out
    assert "hash-embed:384" in result.out and "(profile provider.model (env EMBED_MODEL))" in result.out


def test_json_carries_the_same_facts_as_the_text(scope, demo_db):
    text, data = scope(demo_db, "--collection", "tenant_acme"), scope(demo_db, "--collection", "tenant_acme", "--json").json
    assert data["ok"] and data["exit_code"] == 0
    assert data["counts"]["needed"] == 107 and "needed 107" in text.out
    assert data["objective"] in text.out
    for item in data["inputs"]:
        assert item["source"] in text.out
    for check in data["checks"]:
        assert f"{check['check']}: {check['found'] or check['note']}" in text.out
    assert data["dimensions"] == {"profile": 384, "column": 384, "model": 384}


def test_batch_size_flag_is_an_input_from_the_flag(scope, demo_db):
    data = scope(demo_db, "--collection", "tenant_acme", "--batch-size", "7", "--json").json
    assert {"name": "batch size", "value": 7, "source": "flag"} in data["inputs"]


def test_dimension_mismatch_is_caught_before_anything_is_written(scope, demo_db):
    result = scope(demo_db, "--collection", "tenant_acme", "--json", env={"EMBED_MODEL": "hash-embed:768"})
    assert result.code == 1
    failed = [c for c in result.json["checks"] if c["status"] == "failed"]
    assert [c["check"] for c in failed] == ["dimensions agree"]
    assert "model 768" in failed[0]["found"] and "column 384" in failed[0]["found"]
    assert demo_db.scalar(COUNT_EMBEDDINGS) == 0


def test_unknown_collection_is_refused(scope, demo_db):
    result = scope(demo_db, "--collection", "tenant_nobody")
    assert result.code == 2
    assert "REFUSED: collection 'tenant_nobody' has no chunks" in result.out and "tenant_acme" in result.out


def relabel(db, model="legacy-embed:384", collection="tenant_acme"):
    db.execute("UPDATE document_embeddings SET model_name = %s WHERE collection = %s", (model, collection))


def test_model_switch_is_refused_without_approval(scope, embedded_db):
    relabel(embedded_db)
    result = scope(embedded_db, "--collection", "tenant_acme", "--json")
    assert result.code == 2
    assert "holds 107 vectors of legacy-embed:384 (107)" in result.json["refusal"]
    assert "--approve-model-change" in result.json["refusal"]
    assert result.json["stored_models"] == {"legacy-embed:384": 107}


def test_model_switch_to_another_dimension_is_refused(scope, embedded_db):
    result = scope(embedded_db, "--collection", "tenant_acme", "--model", "hash-embed:768", "--json")
    assert result.code == 2 and "hash-embed:384 (107)" in result.json["refusal"]


def test_approved_model_switch_replaces_in_place_as_the_engine_does(scope, embedded_db):
    relabel(embedded_db)
    result = scope(embedded_db, "--collection", "tenant_acme", "--approve-model-change", "--json")
    assert result.code == 0, result.out
    assert any("model change approved" in a and "in place" in a for a in result.json["assumptions"])


def test_model_switch_into_a_new_collection_needs_no_approval(scope, embedded_db):
    relabel(embedded_db)
    result = scope(embedded_db, "--collection", "tenant_acme", "--into", "tenant_acme_v2", "--json")
    assert result.code == 0, result.out
    assert result.json["target_collection"] == "tenant_acme_v2"
    assert any("into the new collection 'tenant_acme_v2'" in a for a in result.json["assumptions"])


def test_same_model_on_an_embedded_collection_needs_no_approval(scope, embedded_db):
    result = scope(embedded_db, "--collection", "tenant_acme", "--json")
    assert result.code == 0 and result.json["counts"]["needed"] == 0


def test_unreachable_provider_fails_the_provider_check(scope, demo_db):
    result = scope(demo_db, "--collection", "tenant_acme", "--json", env={"OLLAMA_HOST": "http://127.0.0.1:9"})
    assert result.code == 1
    assert [c["check"] for c in result.json["checks"] if c["status"] == "failed"] == ["provider answers"]
