"""swap's gate re-embeds a sample of NEW (recompute, verify's sampling): what the catalog cannot see stops the swap."""

import pytest

from .test_engine_swap import LIVE, NEW, NEW_MODEL, _env, _models

# The swap's view of a target that keeps no input hash and no model name: only recompute can vouch for NEW.
# (The demo's columns are NOT NULL, so the profile fills them as such a target's profile would.)
NO_EVIDENCE = {"  model: model_name\n  input_hash: input_hash\n":
               "  defaults: {model_name: \"{model}\", input_hash: \"'unknown'\"}\n"}


@pytest.fixture
def filled(embedded_db, v2_server, demo_profile, cli):
    """NEW filled by backfill --into with the new model; returns the environment to swap with."""
    env = _env(embedded_db, v2_server.url, NEW_MODEL)
    assert cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, env=env).code == 0
    return env


def _rewrite_texts_in_both(db, n=3):
    """Texts rewritten in live and in NEW alike after NEW was embedded: NEW still matches live, its vectors are stale."""
    db.execute("UPDATE document_chunks SET content = 'rewritten entirely: ' || md5(content) || ' zebra quartz' "
               "WHERE collection IN (%s, %s) AND content IN (SELECT content FROM document_chunks WHERE collection = %s "
               "ORDER BY id LIMIT %s)", (LIVE, NEW, NEW, n))


def test_swap_refuses_stale_vectors_that_no_hash_or_model_column_shows(embedded_db, filled, profile_variant, cli):
    profile = profile_variant(NO_EVIDENCE)
    _rewrite_texts_in_both(embedded_db)
    result = cli("swap", "--profile", profile, "--from", NEW, "--to", LIVE, "--json", env=filled)
    assert result.code == 2, result.out + result.err
    assert "recompute" in result.json["error"] and "3 " in result.json["error"] and "nothing was swapped" in result.json["error"]
    assert _models(embedded_db, LIVE)[0] == ["hash-embed:384"] and _models(embedded_db, NEW)[1] == 29


def test_swap_of_a_sound_collection_runs_recompute_in_its_gate(embedded_db, filled, profile_variant, cli):
    result = cli("swap", "--profile", profile_variant(NO_EVIDENCE), "--from", NEW, "--to", LIVE, "--json", env=filled)
    assert result.code == 0, result.out + result.err
    checks = {c["check"]: c["status"] for c in result.json["gate"]["checks"]}
    assert checks["recompute"] == "passed" and checks["fresh"] == "unproven" and checks["model"] == "unproven"
    assert result.json["gate"]["ok"] is True
    assert _models(embedded_db, LIVE) == ([NEW_MODEL], 29)


def test_swap_without_a_provider_is_unproven_and_refused(embedded_db, filled, demo_profile, cli):
    result = cli("swap", "--profile", demo_profile, "--from", NEW, "--to", LIVE, "--json",
                 env={**filled, "OLLAMA_HOST": ""})
    assert result.code == 2, result.out + result.err
    assert "unproven" in result.json["error"] and "--override" in result.json["error"]
    assert _models(embedded_db, NEW)[1] == 29 and _models(embedded_db, LIVE)[0] == ["hash-embed:384"]


def test_swap_with_an_unreachable_provider_is_unproven_and_refused(embedded_db, filled, profile_variant, cli):
    profile = profile_variant({"  timeout_s: 120\n": "  timeout_s: 2\n  retries: 0\n"})
    result = cli("swap", "--profile", profile, "--from", NEW, "--to", LIVE, "--json",
                 env={**filled, "OLLAMA_HOST": "http://127.0.0.1:9"})
    assert result.code == 2, result.out + result.err
    assert "recompute" in result.json["error"] and "unproven" in result.json["error"]
    assert _models(embedded_db, NEW)[1] == 29


def test_an_override_swaps_an_unproven_collection_and_keeps_the_reason(embedded_db, filled, demo_profile, cli):
    result = cli("swap", "--profile", demo_profile, "--from", NEW, "--to", LIVE, "--json",
                 "--override", "owner approved: provider down for maintenance", env={**filled, "OLLAMA_HOST": ""})
    assert result.code == 0, result.out + result.err
    gate = result.json["gate"]
    assert gate["ok"] is False and gate["override"] == "owner approved: provider down for maintenance"
    assert {c["check"]: c["status"] for c in gate["checks"]}["recompute"] == "unproven"
    assert _models(embedded_db, LIVE) == ([NEW_MODEL], 29)


def test_an_override_never_swaps_a_collection_whose_recompute_failed(embedded_db, filled, profile_variant, cli):
    _rewrite_texts_in_both(embedded_db)
    result = cli("swap", "--profile", profile_variant(NO_EVIDENCE), "--from", NEW, "--to", LIVE, "--json",
                 "--override", "owner approved", env=filled)
    assert result.code == 2 and "recompute" in result.json["error"]
    assert _models(embedded_db, NEW)[1] == 29
