"""One model-switch rule (harness.state.model_switch): refusals only on evidence; unknown is not other."""

import pytest

from harness.state import UNKNOWN_MODEL, model_switch

NO_MODEL_COLUMN = {"  model: model_name\n": ""}
DECLARED_LEGACY = {"  model: model_name\n": "  model_value: legacy-embed:384\n"}


def test_vectors_of_an_unknown_model_are_never_a_switch():
    assert model_switch({UNKNOWN_MODEL: 300}, "nomic-embed-text", "skills") is None


def test_vectors_of_another_named_model_are_a_switch_that_says_both_ways_out():
    refusal = model_switch({"old": 3, "new": 1}, "new", "skills")
    assert "holds 3 vectors of old (3)" in refusal and "--into NEW" in refusal and "--approve-model-change" in refusal


def test_the_owners_approval_allows_replacing_in_place():
    assert model_switch({"old": 3}, "new", "skills", approve=True) is None


def test_a_new_collection_that_holds_another_models_vectors_is_refused():
    refusal = model_switch({"old": 3}, "new", "skills", into="skills_v2")
    assert "target collection 'skills_v2' already holds 3 vectors of old (3)" in refusal


def test_the_same_model_is_no_switch():
    assert model_switch({"m": 10}, "m", "c") is None and model_switch({}, "m", "c") is None


@pytest.fixture
def env(embedded_db, target_env):
    return {**target_env, "DATABASE_URL": embedded_db.dsn}


@pytest.fixture
def bare_env(embedded_db, env):
    """The backfilled demo app with no model-name column at all: the stored vectors' model is unknown."""
    embedded_db.execute("ALTER TABLE document_embeddings DROP COLUMN model_name")
    return env


def test_no_model_column_is_not_refused_by_scope_and_says_the_model_is_unknown(cli, profile_variant, bare_env):
    result = cli("scope", "--profile", profile_variant(NO_MODEL_COLUMN), "--collection", "tenant_acme", "--json", env=bare_env)
    assert result.code == 0, result.out + result.err
    data = result.json
    assert data["refusal"] is None and data["counts"]["other_model"] is None
    assert data["stored_models"] == {UNKNOWN_MODEL: 107}
    unknown = [c for c in data["checks"] if c["check"] == "stored model"]
    assert unknown and unknown[0]["status"] == "unproven" and "recompute" in unknown[0]["note"]
    assert any("model of stored vectors is unknown" in a for a in data["assumptions"])


def test_no_model_column_is_not_refused_by_plan(cli, profile_variant, bare_env, tmp_path):
    result = cli("plan", "--profile", profile_variant(NO_MODEL_COLUMN), "--collection", "tenant_acme",
                 "--run-dir", tmp_path / "run", "--json", env=bare_env)
    assert result.code == 0, result.out + result.err
    assert result.json["rows"]["other_model"] is None


def test_no_model_column_is_not_refused_by_backfill_or_its_dry_run(cli, profile_variant, bare_env):
    profile = profile_variant(NO_MODEL_COLUMN)
    dry = cli("backfill", "--profile", profile, "--collection", "tenant_acme", "--dry-run", "--json", env=bare_env)
    assert dry.code == 0 and dry.json["refused"] is None, dry.out + dry.err
    real = cli("backfill", "--profile", profile, "--collection", "tenant_acme", "--json", env=bare_env)
    assert real.code == 0 and real.json["ok"], real.out + real.err


def test_no_model_column_is_not_refused_by_the_procedure(cli, profile_variant, bare_env, checks_dir, tmp_path):
    result = cli("procedure", "--profile", profile_variant(NO_MODEL_COLUMN), "--collection", "tenant_acme",
                 "--run-dir", tmp_path / "run", "--engine", "--command", "true", "--checks", checks_dir,
                 "--historylog", tmp_path / "historylog.md", "--json", env=bare_env)
    steps = {s["step"]: s["status"] for s in result.json["steps"]}
    assert steps["scope"] == "ok" and steps["plan"] == "ok" and steps["run"] == "ok", result.json["steps"]


def test_a_declared_model_value_of_another_model_is_a_switch(cli, profile_variant, bare_env):
    result = cli("scope", "--profile", profile_variant(DECLARED_LEGACY), "--collection", "tenant_acme", "--json", env=bare_env)
    assert result.code == 2 and "107 vectors of legacy-embed:384" in result.json["refusal"]
    assert result.json["counts"]["other_model"] == 107 and result.json["stored_models"] == {"legacy-embed:384": 107}
    dry = cli("backfill", "--profile", profile_variant(DECLARED_LEGACY), "--collection", "tenant_acme", "--dry-run",
              "--json", env=bare_env)
    assert dry.code == 2 and dry.json["before"]["other_model"] == 107


def test_a_declared_model_value_of_the_configured_model_is_no_switch(cli, profile_variant, bare_env):
    profile = profile_variant({"  model: model_name\n": "  model_value: hash-embed:384\n"})
    result = cli("scope", "--profile", profile, "--collection", "tenant_acme", "--json", env=bare_env)
    assert result.code == 0 and result.json["counts"]["other_model"] == 0 and result.json["counts"]["needed"] == 0


def test_a_name_without_a_tag_is_the_same_model_as_its_latest_tag():
    """Ollama reads ``nomic-embed-text`` as ``nomic-embed-text:latest``: one model under two names, never a switch."""
    assert model_switch({"nomic-embed-text": 22}, "nomic-embed-text:latest", "c") is None
    assert model_switch({"library/all-minilm:latest": 3}, "library/all-minilm", "c") is None
    assert model_switch({"bge-m3:567m": 3}, "bge-m3", "c") is not None


@pytest.mark.parametrize("stored, configured", [("hash-embed", "hash-embed:latest"), ("hash-embed:latest", "hash-embed")])
def test_vectors_stored_under_the_models_other_name_are_current_in_scope_backfill_and_verify(
        cli, embedded_db, demo_profile, env, tmp_path, stored, configured):
    """The app stores the name it passed (``nomic-embed-text``), the user gives the one ``ollama list`` shows
    (``nomic-embed-text:latest``): scope refused a model switch, 107 of 107 vectors of another model, and verify's
    model check failed every row."""
    embedded_db.execute("UPDATE document_embeddings SET model_name = %s WHERE collection = 'tenant_acme'", (stored,))
    named = {**env, "EMBED_MODEL": configured}
    scoped = cli("scope", "--profile", demo_profile, "--collection", "tenant_acme", "--json", env=named)
    assert scoped.code == 0 and scoped.json["refusal"] is None, scoped.out + scoped.err
    assert (scoped.json["counts"]["other_model"], scoped.json["counts"]["needed"]) == (0, 0)
    dry = cli("backfill", "--profile", demo_profile, "--collection", "tenant_acme", "--dry-run", "--json", env=named)
    assert dry.code == 0 and dry.json["before"]["needed"] == 0, dry.out + dry.err
    verified = cli("verify", "--profile", demo_profile, "--collection", "tenant_acme", "--run-dir", tmp_path / "run",
                   "--json", env=named)
    statuses = {c["check"]: c["status"] for c in verified.json["checks"]}
    assert statuses["model"] == "passed" and statuses["fresh"] == "passed", verified.json["checks"]


@pytest.mark.parametrize("into", [False, True], ids=["in-place", "into"])
def test_a_run_writes_the_name_the_collection_stores_its_model_under(cli, embedded_db, demo_profile, env, into):
    """A run of ``hash-embed:latest`` over vectors stored as ``hash-embed`` wrote its re-embedded rows (and, with
    --into, every row) as ``hash-embed:latest``: two names of one model in the column, and an application that
    selects its rows by the name it stores misses the ones the harness wrote."""
    embedded_db.execute("UPDATE document_embeddings SET model_name = 'hash-embed' WHERE collection = 'tenant_acme'")
    embedded_db.execute("DELETE FROM document_embeddings WHERE chunk_id IN (SELECT chunk_id FROM document_embeddings "
                        "WHERE collection = 'tenant_acme' ORDER BY chunk_id LIMIT 3)")
    written = "tenant_acme_v2" if into else "tenant_acme"
    result = cli("backfill", "--profile", demo_profile, "--collection", "tenant_acme", *(["--into", written] if into else []),
                 "--json", env={**env, "EMBED_MODEL": "hash-embed:latest"})
    assert result.code == 0 and result.json["embedded"] == 3, result.out + result.err
    names = embedded_db.connect().execute("SELECT DISTINCT model_name FROM document_embeddings WHERE collection = %s",
                                          (written,)).fetchall()
    assert [n[0] for n in names] == ["hash-embed"]


def test_approve_model_change_means_the_same_in_scope_and_in_the_engine(cli, embedded_db, demo_profile, env):
    embedded_db.execute("UPDATE document_embeddings SET model_name = 'legacy-embed:384' WHERE collection = 'tenant_acme'")
    scoped = cli("scope", "--profile", demo_profile, "--collection", "tenant_acme", "--approve-model-change", env=env)
    filled = cli("backfill", "--profile", demo_profile, "--collection", "tenant_acme", "--approve-model-change", env=env)
    assert scoped.code == 0 and filled.code == 0, scoped.out + filled.err
    assert embedded_db.scalar("SELECT count(*) FROM document_embeddings WHERE model_name = 'legacy-embed:384'") == 0


def test_every_command_shows_the_same_help_for_approve_model_change():
    from harness.cli import build_parser
    from harness.commands._common import APPROVE_MODEL_CHANGE_HELP

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "subcommand")
    helps = {name: [a.help for a in p._actions if "--approve-model-change" in a.option_strings]
             for name, p in sub.choices.items()}
    having = {name: h for name, h in helps.items() if h}
    assert set(having) >= {"scope", "plan", "procedure", "backfill", "run"}
    assert all(h == [APPROVE_MODEL_CHANGE_HELP] for h in having.values())


@pytest.mark.parametrize("stored", ["hash-embed:384 ", " hash-embed:384\t"])
def test_vectors_stored_under_the_models_name_with_surrounding_whitespace_are_current_and_a_run_is_ok(
        cli, embedded_db, demo_profile, env, tmp_path, stored):
    """Ollama reads ``'hash-embed:384 '`` as ``hash-embed:384`` and so did the switch rule, yet every SQL count called
    its vectors another model's: scope counted 107 of them needed, each run re-embedded them and verify never passed."""
    embedded_db.execute("UPDATE document_embeddings SET model_name = %s WHERE collection = 'tenant_acme'", (stored,))
    scoped = cli("scope", "--profile", demo_profile, "--collection", "tenant_acme", "--json", env=env)
    assert scoped.code == 0 and scoped.json["refusal"] is None, scoped.out + scoped.err
    assert (scoped.json["counts"]["other_model"], scoped.json["counts"]["needed"]) == (0, 0)
    filled = cli("backfill", "--profile", demo_profile, "--collection", "tenant_acme", "--json", env=env)
    assert filled.code == 0 and filled.json["embedded"] == 0, filled.out + filled.err
    verified = cli("verify", "--profile", demo_profile, "--collection", "tenant_acme", "--run-dir", tmp_path / "run",
                   "--json", env=env)
    statuses = {c["check"]: c["status"] for c in verified.json["checks"]}
    assert statuses["model"] == "passed" and statuses["fresh"] == "passed", verified.json["checks"]
