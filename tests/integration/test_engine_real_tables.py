"""Tables apps really have: keys the application fills, NOT NULL bookkeeping columns, row-level security."""

import uuid

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.db import connect, scoped
from harness.errors import RefusedError
from harness.preflight import preflight
from harness.profile import parse_profile
from harness.settings import resolve
from harness.target import Target

from .conftest import SCHEMA

PROFILE = """
name: app-keys
provider: {model: hash-embed:384}
chunks: {table: documents, text: content, collection_name: documents, tenant: tenant_id}
embeddings: {table: document_embeddings, key: document_id, model: model, tenant: tenant_id%s}
%s
"""
DEFAULTS = ', defaults: {id: "gen_random_uuid()::text", dimensions: "{dims}"}'

def _profile(defaults: str = "", extra: str = ""):
    return parse_profile(PROFILE % (defaults, extra), env={})


def _settings(profile, dsn, url):
    return resolve(profile, database_url=dsn, env={"OLLAMA_HOST": url})


def _backfill(profile, dsn, url, **options):
    return run_backfill(_settings(profile, dsn, url), BackfillOptions(collection="documents", batch_size=16,
                                                                      progress=False, **options))


def test_preflight_lists_not_null_columns_the_engine_would_leave_empty(empty_db):
    empty_db.execute(SCHEMA)
    with connect(empty_db.dsn, autocommit=True) as conn:
        outcomes = {o.check: o for o in preflight(conn, Target(_profile()), "documents", model="hash-embed:384", dims=384)}
    assert outcomes["not-null columns"].status == "failed"
    assert "id, dimensions" in outcomes["not-null columns"].found
    assert "embeddings.defaults" in outcomes["not-null columns"].found


def test_engine_refuses_before_writing_when_a_not_null_column_has_no_value(empty_db, embed_server):
    empty_db.execute(SCHEMA)
    with pytest.raises(RefusedError, match="id, dimensions"):
        _backfill(_profile(), empty_db.dsn, embed_server.url)
    assert empty_db.scalar("SELECT count(*) FROM document_embeddings") == 0


def test_profile_defaults_fill_app_generated_keys_and_dimensions(empty_db, embed_server):
    empty_db.execute(SCHEMA)
    summary = _backfill(_profile(DEFAULTS), empty_db.dsn, embed_server.url)
    assert summary.ok and summary.embedded == 40 and summary.after.needed == 0
    assert empty_db.scalar("SELECT count(DISTINCT id) FROM document_embeddings") == 40
    assert empty_db.scalar("SELECT bool_and(id ~ '^[0-9a-f-]{36}$' AND dimensions = 384) FROM document_embeddings")
    assert "INSERT" in summary.write_path


def test_defaults_apply_when_vectors_are_replaced_too(empty_db, embed_server):
    empty_db.execute(SCHEMA)
    _backfill(_profile(DEFAULTS), empty_db.dsn, embed_server.url)
    empty_db.execute("UPDATE documents SET content = content || ' changed' WHERE id IN ('doc-1', 'doc-2')")
    empty_db.execute("UPDATE document_embeddings SET model = 'old' WHERE document_id = 'doc-3'")
    summary = _backfill(_profile(DEFAULTS), empty_db.dsn, embed_server.url, approve_model_change=True)
    assert summary.embedded == 1 and summary.after.needed == 0  # doc-3; no hash column: text changes are not seen
    assert empty_db.scalar("SELECT count(*) FROM document_embeddings") == 40


def test_a_default_of_the_wrong_type_fails_preflight(empty_db):
    empty_db.execute(SCHEMA)
    profile = _profile(', defaults: {id: "gen_random_uuid()::text", dimensions: "now()"}')
    with connect(empty_db.dsn, autocommit=True) as conn:
        outcomes = {o.check: o for o in preflight(conn, Target(profile), "documents", model="m", dims=384)}
    assert outcomes["defaults"].status == "failed" and "embeddings.defaults.dimensions" in outcomes["defaults"].found


def test_plain_tables_keep_the_binary_copy_path(demo_db, demo_profile, embed_server):
    from harness.profile import load_profile

    profile = load_profile(demo_profile, env={"EMBED_MODEL": "hash-embed:384"})
    summary = run_backfill(_settings(profile, demo_db.dsn, embed_server.url),
                           BackfillOptions(collection="tenant_acme", progress=False))
    assert summary.write_path.startswith("binary COPY")


def test_rls_without_session_fails_preflight_naming_the_setting(app_role):
    with connect(app_role, autocommit=True) as conn:
        outcomes = {o.check: o for o in preflight(conn, Target(_profile(DEFAULTS)), "documents", model="m", dims=384)}
    rls = outcomes["row-level security"]
    assert rls.status == "failed"
    assert "app.current_tenant_id" in rls.found and "database.session" in rls.found


def test_engine_refuses_rls_without_session_before_writing(app_role, empty_db, embed_server):
    empty_db.execute("CREATE POLICY peek ON documents USING (tenant_id = 'acme')")  # the role sees half the chunks
    with pytest.raises(RefusedError, match="row-level security"):
        _backfill(_profile(DEFAULTS), app_role, embed_server.url)
    assert empty_db.scalar("SELECT count(*) FROM document_embeddings") == 0


def test_rls_owner_is_exempt(empty_db):
    empty_db.execute(SCHEMA)
    empty_db.execute("ALTER TABLE documents ENABLE ROW LEVEL SECURITY")
    with connect(empty_db.dsn, autocommit=True) as conn:
        outcomes = {o.check: o for o in preflight(conn, Target(_profile(DEFAULTS)), "documents", model="m", dims=384)}
    assert outcomes["row-level security"].status == "passed"
    assert "exempt" in outcomes["row-level security"].found


def test_rls_backfill_goes_tenant_by_tenant_with_insert_not_copy(app_role, auditor, empty_db, embed_server):
    session = 'database: {session: {app.current_tenant_id: "{tenant}"}, tenants: [acme, globex]}'
    summary = _backfill(_profile(DEFAULTS, session), app_role, embed_server.url)
    assert summary.ok, summary.failures
    assert summary.before.chunks == 40 and summary.embedded == 40 and summary.after.needed == 0
    assert "row-level security" in summary.write_path
    # Every vector carries its own document's tenant, so each tenant's view sees its own.
    assert empty_db.scalar("SELECT count(*) FROM document_embeddings e JOIN documents d ON d.id = e.document_id "
                           "WHERE d.tenant_id = e.tenant_id") == 40


def test_rls_session_settings_do_not_leak_past_the_transaction(app_role):
    with connect(app_role, autocommit=True) as conn:
        with scoped(conn, {"app.current_tenant_id": "{tenant}"}, "acme"):
            assert conn.execute("SELECT count(*) AS n FROM documents").fetchone()["n"] == 20
        assert conn.execute("SELECT count(*) AS n FROM documents").fetchone()["n"] == 0


def test_rls_without_session_backfills_only_what_it_sees_and_says_so(app_role, embed_server):
    with pytest.raises(Exception, match="no chunks"):
        _backfill(_profile(DEFAULTS), app_role, embed_server.url)


def test_rls_applying_to_the_role_rules_out_copy_before_any_batch(app_role):
    from harness.backfill.writer import write_path

    with connect(app_role) as conn:
        path = write_path(conn, Target(_profile()))
    assert not path.direct_copy and "row-level security" in path.reason


def test_a_rule_on_the_table_rules_out_copy(empty_db):
    from harness.backfill.writer import write_path

    empty_db.execute(SCHEMA)
    empty_db.execute("CREATE TABLE audit (n int); CREATE RULE log_it AS ON INSERT TO document_embeddings "
                     "DO ALSO INSERT INTO audit VALUES (1)")
    with connect(empty_db.dsn) as conn:
        path = write_path(conn, Target(_profile()))
    assert not path.direct_copy and "rules" in path.reason


# -- scope says so before anything runs ------------------------------------------------------------------------------

def _scope(cli, tmp_path, profile_text, dsn, url, *args):
    path = tmp_path / "profile.yaml"
    path.write_text(profile_text)
    return cli("scope", "--profile", path, "--collection", "documents", "--json", *args,
               env={"DATABASE_URL": dsn, "OLLAMA_HOST": url, "EMBED_MODEL": "hash-embed:384"})


def test_scope_fails_on_not_null_columns_the_engine_would_leave_empty(cli, tmp_path, empty_db, embed_server):
    empty_db.execute(SCHEMA)
    result = _scope(cli, tmp_path, PROFILE % ("", ""), empty_db.dsn, embed_server.url)
    assert result.code == 1 and not result.json["ok"]
    check = next(c for c in result.json["checks"] if c["check"] == "not-null columns")
    assert check["status"] == "failed" and "id, dimensions" in check["found"]


def test_scope_is_ok_once_defaults_fill_them(cli, tmp_path, empty_db, embed_server):
    empty_db.execute(SCHEMA)
    result = _scope(cli, tmp_path, PROFILE % (DEFAULTS, ""), empty_db.dsn, embed_server.url)
    assert result.code == 0, result.json["reason"]


def test_scope_under_rls_without_session_is_not_ok(cli, tmp_path, app_role, embed_server):
    result = _scope(cli, tmp_path, PROFILE % (DEFAULTS, ""), app_role, embed_server.url)
    assert result.code != 0 and "Scope ok" not in result.out


def test_scope_under_rls_counts_every_tenant_with_the_session(cli, tmp_path, app_role, embed_server):
    session = 'database: {session: {app.current_tenant_id: "{tenant}"}, tenants: [acme, globex]}'
    result = _scope(cli, tmp_path, PROFILE % (DEFAULTS, session), app_role, embed_server.url)
    assert result.code == 0, result.json["reason"]
    assert result.json["counts"]["chunks"] == 40 and result.json["counts"]["needed"] == 40
    rls = next(c for c in result.json["checks"] if c["check"] == "row-level security")
    assert rls["status"] == "passed" and "applies to role" in rls["found"] and "tenant by tenant" in rls["note"]


# -- verify: rows the role cannot see are never reported missing ------------------------------------------------------

SESSION = 'database: {session: {app.current_tenant_id: "{tenant}"}, tenants: [acme, globex]}'


def _outcome(check, profile, dsn, url, **options):
    """One DONE check's outcome on ``documents``, through a CheckSession of its own."""
    from harness.checks import CheckOptions, open_session

    session = open_session(_settings(profile, dsn, url), CheckOptions(collections=("documents",), **options))
    try:
        return check(session, "documents")
    finally:
        session.close()


def _coverage(profile, dsn, url):
    from harness.checks.counted import coverage

    return _outcome(coverage, profile, dsn, url)


def test_coverage_under_rls_without_session_is_unproven_not_missing(app_role, empty_db, embed_server):
    _backfill(_profile(DEFAULTS, SESSION), app_role, embed_server.url)
    empty_db.execute("CREATE POLICY peek ON documents USING (tenant_id = 'acme')")  # the role sees some chunks now
    outcome = _coverage(_profile(DEFAULTS), app_role, embed_server.url)
    assert outcome.status == "unproven" and "database.session" in outcome.note


def test_coverage_under_rls_counts_every_tenant_with_the_session(app_role, auditor, embed_server):
    _backfill(_profile(DEFAULTS, SESSION), app_role, embed_server.url)
    outcome = _coverage(_profile(DEFAULTS, SESSION), app_role, embed_server.url)
    assert outcome.status == "passed" and outcome.metrics["chunks"] == 40


def test_coverage_under_rls_still_fails_on_a_missing_vector(app_role, empty_db, embed_server):
    _backfill(_profile(DEFAULTS, SESSION), app_role, embed_server.url)
    empty_db.execute("DELETE FROM document_embeddings WHERE document_id = 'doc-7'")
    outcome = _coverage(_profile(DEFAULTS, SESSION), app_role, embed_server.url)
    assert outcome.status == "failed" and outcome.metrics["missing"] == 1


def test_a_role_without_temp_privilege_writes_through_unnest(app_role, auditor, empty_db, embed_server):
    empty_db.execute(f"REVOKE TEMPORARY ON DATABASE {empty_db.name} FROM PUBLIC")
    summary = _backfill(_profile(DEFAULTS, SESSION), app_role, embed_server.url)
    assert summary.ok and summary.embedded == 40 and summary.after.needed == 0
    assert "unnest" in summary.write_path
    empty_db.execute("UPDATE document_embeddings SET model = 'old' WHERE document_id IN ('doc-1', 'doc-2')")
    again = _backfill(_profile(DEFAULTS, SESSION), app_role, embed_server.url, approve_model_change=True)
    assert again.embedded == 2 and empty_db.scalar("SELECT count(*) FROM document_embeddings") == 40


def test_an_inline_column_without_temp_privilege_is_updated_through_unnest(empty_db, pg, embed_server):
    role = f"app_{uuid.uuid4().hex[:8]}"
    empty_db.execute("CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL, embedding vector(384));"
                     "INSERT INTO notes (body) SELECT 'note ' || g FROM generate_series(1, 25) g;"
                     f"CREATE ROLE {role} LOGIN PASSWORD 'app-secret-pw'; GRANT SELECT, UPDATE ON notes TO {role};"
                     f"REVOKE TEMPORARY ON DATABASE {empty_db.name} FROM PUBLIC")
    profile = parse_profile("name: n\nprovider: {model: hash-embed:384}\nchunks: {table: notes, text: body, "
                            "collection_name: notes}\n", env={})
    try:
        summary = run_backfill(_settings(profile, pg.dsn(empty_db.name, user=role, password="app-secret-pw"),
                                         embed_server.url), BackfillOptions(collection="notes", batch_size=10, progress=False))
        assert summary.ok and summary.embedded == 25 and "unnest" in summary.write_path
        assert empty_db.scalar("SELECT count(*) FROM notes WHERE embedding IS NULL") == 0
    finally:
        empty_db.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_a_role_without_temp_privilege_backfills_a_target_with_hash_and_model_columns(demo_db, demo_profile, pg, embed_server):
    from harness.profile import load_profile

    role = f"app_{uuid.uuid4().hex[:8]}"
    demo_db.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'app-secret-pw'; "
                    f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}; "
                    f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}; "
                    f"REVOKE TEMPORARY ON DATABASE {demo_db.name} FROM PUBLIC")
    profile = load_profile(demo_profile, env={"EMBED_MODEL": "hash-embed:384"})
    try:
        summary = run_backfill(_settings(profile, pg.dsn(demo_db.name, user=role, password="app-secret-pw"),
                                         embed_server.url), BackfillOptions(collection="tenant_acme", progress=False))
        assert summary.ok and summary.after.needed == 0 and "unnest" in summary.write_path
    finally:
        demo_db.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_verify_under_rls_without_session_shows_coverage_unproven(cli, tmp_path, app_role, empty_db, embed_server):
    _backfill(_profile(DEFAULTS, SESSION), app_role, embed_server.url)
    empty_db.execute("CREATE POLICY peek ON documents USING (tenant_id = 'acme')")  # the role sees half the chunks
    path = tmp_path / "profile.yaml"
    path.write_text(PROFILE % (DEFAULTS, ""))
    env = {"DATABASE_URL": app_role, "OLLAMA_HOST": embed_server.url, "EMBED_MODEL": "hash-embed:384"}
    result = cli("verify", "--profile", path, "--collection", "documents", "--run-dir", tmp_path / "run", "--json", env=env)
    outcomes = {c["check"]: c for c in result.json["checks"]}
    assert outcomes["coverage"]["status"] == "unproven" and "database.session" in outcomes["coverage"]["note"]
    assert result.json["counts"]["unproven"] >= 1 and not result.json["ok"]


def test_run_evidence_counts_rows_row_level_security_hides_without_the_session(app_role, embed_server, tmp_path):
    """A command that embeds nothing leaves all 40 rows needed; run must not call that ok because RLS hid them."""
    from harness.steps.common import BackfillCommand
    from harness.steps.run import run_command

    session = 'database: {session: {app.current_tenant_id: "{tenant}"}, tenants: [acme, globex]}'
    settings = _settings(_profile(DEFAULTS, session), app_role, embed_server.url)
    command = BackfillCommand("true", "flag", None, ("true",))
    evidence = run_command(settings, "documents", tmp_path / "run", command)
    assert evidence.counts_after["chunks"] == 40 and evidence.remaining == 40
    assert not evidence.ok


def _two_workers_under_rls(app_role, empty_db, embed_server, cli, tmp_path, database=SESSION):
    from harness.backfill import bookkeeping

    # The owner makes the harness's schema once and lets the application's role use it (the role cannot CREATE).
    role = app_role.split("://", 1)[1].split(":", 1)[0]
    with connect(empty_db.dsn, autocommit=True) as owner:
        bookkeeping.ensure(owner)
        owner.execute(f"GRANT USAGE ON SCHEMA backfill_harness TO {role}; "
                      f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA backfill_harness TO {role}")
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE % (DEFAULTS, database))
    return cli("backfill", "--profile", profile, "--collection", "documents", "--workers", "2", "--batch-size", "4",
               "--rows-per-claim", "4", "--json",
               env={"DATABASE_URL": app_role, "OLLAMA_HOST": embed_server.url, "EMBED_MODEL": "hash-embed:384"})


def test_two_workers_under_rls_apply_each_tenants_session_and_embed_every_tenants_rows(app_role, auditor, empty_db,
                                                                                       embed_server, cli, tmp_path):
    result = _two_workers_under_rls(app_role, empty_db, embed_server, cli, tmp_path)
    assert result.code == 0, result.out + result.err
    assert result.json["remaining"] == 0
    assert len(result.json["workers"]) == 2 and result.json["embedded"] == 40
    # Measured per tenant, in each tenant's own view, and as the owner (whom the policies do not restrict).
    with connect(app_role, autocommit=True) as conn:
        for tenant in ("acme", "globex"):
            with scoped(conn, {"app.current_tenant_id": "{tenant}"}, tenant):
                assert conn.execute("SELECT count(*) AS n FROM document_embeddings").fetchone()["n"] == 20
    assert empty_db.scalar("SELECT count(*) FROM documents d JOIN document_embeddings e ON e.document_id = d.id "
                           "AND e.tenant_id = d.tenant_id") == 40
    assert empty_db.scalar("SELECT count(*) FROM document_embeddings") == 40
    # Every claim was cut inside its tenant's view and finished.
    assert empty_db.scalar("SELECT count(DISTINCT tenant) FROM backfill_harness.claims WHERE state = 'done'") == 2
    assert empty_db.scalar("SELECT count(*) FROM backfill_harness.claims WHERE state <> 'done'") == 0


def test_workers_are_not_ok_while_the_database_still_lacks_vectors(app_role, auditor, empty_db, embed_server, cli,
                                                                   tmp_path):
    # A trigger drops one row silently: every worker believes it wrote its rows; the database says otherwise.
    empty_db.execute("CREATE FUNCTION drop_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "IF NEW.document_id = 'doc-7' THEN RETURN NULL; END IF; RETURN NEW; END $$; "
                     "CREATE TRIGGER drop_one BEFORE INSERT ON document_embeddings FOR EACH ROW EXECUTE FUNCTION drop_one()")
    result = _two_workers_under_rls(app_role, empty_db, embed_server, cli, tmp_path)
    assert result.code == 1 and result.json["ok"] is False, result.out
    assert result.json["remaining"] == 1
    assert any("1 of 40 rows" in p and "still need a vector" in p for p in result.json["problems"]), result.json["problems"]


# -- several models' vectors side by side in one table, the model part of the key (discourse-ai) ----------------------

SIDE_BY_SIDE = """
CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL);
CREATE TABLE note_vectors (note_id bigint NOT NULL, model_id bigint NOT NULL, vec halfvec NOT NULL,
  UNIQUE (model_id, note_id));
INSERT INTO notes (body) SELECT 'note number ' || i || ' about ' || (ARRAY['refunds', 'travel', 'laptops'])[i % 3 + 1]
  FROM generate_series(1, 6) AS i;
"""
SIDE_BY_SIDE_PROFILE = """
name: side-by-side
provider: {model: hash-embed:384}
chunks: {table: notes, text: body, collection_name: documents}
embeddings: {table: note_vectors, key: note_id, vector: vec, filter: {model_id: 2}}
"""


def _side_by_side(db, server) -> None:
    """Model 1 (768 wide) holds every note's vector, model 2 (384, the profile's) notes 1-4 only."""
    from harness.provider import OllamaProvider

    db.execute(SIDE_BY_SIDE)
    with connect(db.dsn, autocommit=True) as conn:
        notes = conn.execute("SELECT id, body FROM notes ORDER BY id").fetchall()
        for model_id, model, upto in ((1, "hash-embed:768", 6), (2, "hash-embed:384", 4)):
            with OllamaProvider(server.url, model) as provider:
                vectors = provider.embed([n["body"] for n in notes[:upto]]).vectors
            for note, vector in zip(notes, vectors):
                conn.execute("INSERT INTO note_vectors VALUES (%s, %s, %s::halfvec)", (note["id"], model_id, str(vector.tolist())))


def test_embeddings_filter_counts_one_models_rows_where_several_sit_side_by_side(cli, tmp_path, empty_db, embed_server):
    """Notes 5 and 6 have model 1's vector only: missing for model 2, not embedded (the whole table said 10 of 10),
    and model 1's 768-wide vectors are no dimension mismatch of model 2's."""
    _side_by_side(empty_db, embed_server)
    result = _scope(cli, tmp_path, SIDE_BY_SIDE_PROFILE, empty_db.dsn, embed_server.url)
    assert result.code == 0, result.out
    counts = result.json["counts"]
    assert (counts["chunks"], counts["embedded"], counts["missing"], counts["needed"]) == (6, 4, 2, 2)
    dims = next(c for c in result.json["checks"] if c["check"] == "dimensions agree")
    assert dims["status"] == "passed", dims


def test_the_engine_replaces_only_the_filters_rows_and_writes_its_values(empty_db, embed_server):
    _side_by_side(empty_db, embed_server)
    before = empty_db.scalar("SELECT array_agg(vec::text ORDER BY note_id) FROM note_vectors WHERE model_id = 1")
    profile = parse_profile(SIDE_BY_SIDE_PROFILE, env={})
    summary = run_backfill(_settings(profile, empty_db.dsn, embed_server.url),
                           BackfillOptions(collection="documents", progress=False))
    assert summary.ok and summary.embedded == 2 and summary.after.needed == 0
    assert "embeddings.filter" in summary.write_path
    assert empty_db.scalar("SELECT count(*) FROM note_vectors WHERE model_id = 2") == 6
    # Model 1's vectors, beside them, are each still there and unchanged.
    assert empty_db.scalar("SELECT array_agg(vec::text ORDER BY note_id) FROM note_vectors WHERE model_id = 1") == before


def test_the_index_check_counts_every_models_vectors_a_search_without_an_index_scans(empty_db, embed_server):
    """The search of model 2's vectors scans model 1's too: 12 vectors from index_min_rows 10 need an index, though
    the filter's rows are 6."""
    from harness.checks.counted import coverage
    from harness.checks.index import index

    _side_by_side(empty_db, embed_server)
    profile = parse_profile(SIDE_BY_SIDE_PROFILE.replace("filter: {model_id: 2}", "filter: {model_id: 2}, "
                                                         "index_min_rows: 10"), env={})
    run_backfill(_settings(profile, empty_db.dsn, embed_server.url), BackfillOptions(collection="documents",
                                                                                      progress=False))
    outcome = _outcome(lambda session, c: coverage(session, c).passed and index(session, c), profile, empty_db.dsn,
                       embed_server.url)  # as verify runs it: after the shared pass, which reads model 2's rows only
    assert outcome.status == "failed" and "on 12 vectors" in outcome.found, outcome.message()


def test_without_the_filter_a_table_of_several_models_is_refused_before_the_engine_replaces_them(empty_db,
                                                                                                  embed_server):
    """model_id given as a default instead: scope would count model 1's vectors as model 2's, and the engine's
    replace would delete them. Refused, naming the column, nothing written."""
    _side_by_side(empty_db, embed_server)
    profile = parse_profile(SIDE_BY_SIDE_PROFILE.replace("filter: {model_id: 2}", 'defaults: {model_id: "2"}'), env={})
    with connect(empty_db.dsn, autocommit=True) as conn:
        rows = {o.check: o for o in preflight(conn, Target(profile), "documents", model="hash-embed:384", dims=384)}
    assert rows["rows per chunk"].status == "failed" and "embeddings.filter" in rows["rows per chunk"].found
    assert "model_id" in rows["rows per chunk"].found
    with pytest.raises(RefusedError, match="rows per chunk"):
        _backfill(profile, empty_db.dsn, embed_server.url)
    assert empty_db.scalar("SELECT count(*) FROM note_vectors WHERE model_id = 1") == 6


def test_into_a_new_collection_is_refused_where_other_models_rows_sit_beside_this_targets(empty_db, embed_server):
    """--into copies the chunks under new keys and fills only the filter's rows for them: after the swap, model 1's
    vectors would stay on the retired chunks (and drop-retired would delete them), the live chunks holding none."""
    empty_db.execute(
        "CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL, coll text NOT NULL);"
        "CREATE TABLE note_vectors (note_id bigint NOT NULL, coll text NOT NULL, model_id bigint NOT NULL, "
        "vec vector NOT NULL, UNIQUE (model_id, note_id));"
        "INSERT INTO notes (body, coll) SELECT 'note ' || i, 'documents' FROM generate_series(1, 3) AS i;"
        "INSERT INTO note_vectors SELECT id, coll, 1, array_fill(1, ARRAY[8])::vector FROM notes")
    profile = parse_profile(SIDE_BY_SIDE_PROFILE.replace("collection_name: documents", "collection: coll").replace(
        "key: note_id,", "key: note_id, collection: coll,"), env={})
    with pytest.raises(RefusedError, match="embeddings.filter"):
        _backfill(profile, empty_db.dsn, embed_server.url, into="documents_v2")
    assert empty_db.scalar("SELECT count(*) FROM notes") == 3
    assert empty_db.scalar("SELECT count(*) FROM note_vectors") == 3


def test_a_chunk_key_two_texts_of_one_tenant_share_is_refused_under_per_tenant_rls(cli, tmp_path, app_role, empty_db,
                                                                                   embed_server):
    """The chunk key is measured in each tenant's view: the role's own view (no tenant's session) shows no chunk,
    and 'no two of the 0 chunks share a value' was a pass over nothing."""
    empty_db.execute("ALTER TABLE documents DROP CONSTRAINT documents_pkey CASCADE; "
                     "INSERT INTO documents VALUES ('doc-2', 'acme', 'another text under the same key')")
    result = _scope(cli, tmp_path, PROFILE % (DEFAULTS, SESSION), app_role, embed_server.url)
    key = next(c for c in result.json["checks"] if c["check"] == "chunk key")
    assert key["status"] == "failed" and "doc-2" in key["found"], key
    assert result.code != 0


def test_an_input_hash_column_of_another_algorithm_is_refused_under_per_tenant_rls(cli, tmp_path, app_role, empty_db,
                                                                                   embed_server):
    """The stored hashes are read in each tenant's view: in the role's own view none was read ('none the role may
    see', passed), and the engine would overwrite the application's MD5s with SHA-256s."""
    empty_db.execute("ALTER TABLE document_embeddings ADD COLUMN content_hash text; "
                     "INSERT INTO document_embeddings SELECT 'e-' || id, id, tenant_id, array_fill(0.1, ARRAY[384])::vector, "
                     "384, 'hash-embed:384', md5(content) FROM documents")
    result = _scope(cli, tmp_path, PROFILE % (DEFAULTS + ", input_hash: content_hash", SESSION), app_role,
                    embed_server.url)
    hashed = next(c for c in result.json["checks"] if c["check"] == "input hash")
    assert hashed["status"] == "failed" and "input_hash_algorithm: md5" in hashed["found"], hashed
    assert result.code != 0


def test_a_uuid_filter_value_matches_its_rows_however_it_is_spelled(empty_db, embed_server):
    """embeddings.filter compares in the column's type: a uuid given in upper case is the rows Postgres prints in
    lower case (compared as text it matched none, and the engine's writes collided with the rows it could not see)."""
    model = "0A1B2C3D-0000-4000-8000-00000000000A"
    empty_db.execute(
        "CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL);"
        "CREATE TABLE note_vectors (note_id bigint NOT NULL, model_id uuid NOT NULL, vec vector NOT NULL, "
        "UNIQUE (model_id, note_id));"
        "INSERT INTO notes (body) SELECT 'note ' || i FROM generate_series(1, 3) AS i;"
        f"INSERT INTO note_vectors SELECT id, '{model}', array_fill(1, ARRAY[384])::vector FROM notes WHERE id < 3")
    profile = parse_profile(SIDE_BY_SIDE_PROFILE.replace("{model_id: 2}", f'{{model_id: "{model}"}}'), env={})
    summary = run_backfill(_settings(profile, empty_db.dsn, embed_server.url),
                           BackfillOptions(collection="documents", progress=False))
    assert summary.before.needed == 1 and summary.embedded == 1 and summary.after.needed == 0, summary
    assert empty_db.scalar("SELECT count(*) FROM note_vectors") == 3
