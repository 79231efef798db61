"""Row-level security with database.tenants that misses a tenant: its rows are invisible, so nothing says ok.

Counted in numbers when the role may become one that RLS does not apply to (a BYPASSRLS role granted to it);
otherwise the outcome says the hidden part cannot be measured. Either way: unproven, never passed.
"""

import pytest

from .test_engine_real_tables import (DEFAULTS, PROFILE, _backfill, _coverage, _outcome, _profile, _scope, _settings,
                                     _two_workers_under_rls)

ONLY_ACME = 'database: {session: {app.current_tenant_id: "{tenant}"}, tenants: [acme]}'
BOTH = 'database: {session: {app.current_tenant_id: "{tenant}"}, tenants: [acme, globex]}'


def test_coverage_with_a_tenant_missing_from_the_list_is_unproven_in_numbers(app_role, auditor, embed_server):
    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    outcome = _coverage(_profile(DEFAULTS, ONLY_ACME), app_role, embed_server.url)
    assert outcome.status == "unproven"
    assert "20 of 40 chunks of documents visible" in outcome.note and "20 rows belong to tenants not listed" in outcome.note
    assert outcome.metrics["hidden"] == 20


def test_coverage_that_cannot_count_unlisted_tenants_says_it_cannot_be_measured(app_role, embed_server):
    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    outcome = _coverage(_profile(DEFAULTS, ONLY_ACME), app_role, embed_server.url)
    assert outcome.status == "unproven" and "cannot be measured" in outcome.note and "20 chunks" in outcome.note


def test_coverage_read_in_the_one_view_a_fixed_session_sets_is_unproven_where_it_hides_another_tenants_rows(
        app_role, auditor, empty_db, embed_server):
    """database.session without {tenant} shows acme's rows only: globex's 20 lost vectors were never read, and
    coverage passed 20 of 20."""
    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    empty_db.execute("DELETE FROM document_embeddings WHERE tenant_id = 'globex'")
    outcome = _coverage(_profile(DEFAULTS, 'database: {session: {app.current_tenant_id: acme}}'), app_role,
                        embed_server.url)
    assert outcome.status == "unproven", outcome.message()
    assert "20 of 40 chunks of documents visible through the one view database.session sets" in outcome.note
    assert "20 rows belong to tenants not listed" in outcome.note and outcome.metrics["hidden"] == 20


def test_a_missing_vector_in_a_listed_tenant_still_fails_coverage(app_role, empty_db, embed_server):
    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    empty_db.execute("DELETE FROM document_embeddings WHERE document_id = 'doc-2'")  # an acme row
    outcome = _coverage(_profile(DEFAULTS, ONLY_ACME), app_role, embed_server.url)
    assert outcome.status == "failed" and outcome.metrics["missing"] == 1


def test_scope_says_coverage_is_partial_with_the_numbers(cli, tmp_path, app_role, auditor, embed_server):
    result = _scope(cli, tmp_path, PROFILE % (DEFAULTS, ONLY_ACME), app_role, embed_server.url)
    check = next(c for c in result.json["checks"] if c["check"] == "tenant coverage")
    assert check["status"] == "unproven" and "20 of 40 chunks" in check["note"]
    assert "unproven" in cli("scope", "--profile", tmp_path / "profile.yaml", "--collection", "documents",
                             env={"DATABASE_URL": app_role}).out


def test_backfill_of_listed_tenants_only_is_not_ok(app_role, auditor, empty_db, embed_server):
    summary = _backfill(_profile(DEFAULTS, ONLY_ACME), app_role, embed_server.url)
    assert summary.embedded == 20 and summary.after.needed == 0
    assert not summary.ok and "20 rows belong to tenants not listed" in (summary.unproven or "")
    assert empty_db.scalar("SELECT count(*) FROM document_embeddings") == 20


def test_backfill_in_the_one_view_a_fixed_session_sets_is_not_ok_where_it_hides_another_tenants_rows(
        app_role, auditor, empty_db, embed_server):
    summary = _backfill(_profile(DEFAULTS, 'database: {session: {app.current_tenant_id: acme}}'), app_role,
                        embed_server.url)
    assert summary.embedded == 20 and summary.after.needed == 0
    assert not summary.ok and "20 rows belong to tenants not listed" in (summary.unproven or "")


def test_run_evidence_of_listed_tenants_only_is_not_ok(app_role, auditor, embed_server, tmp_path):
    from harness.steps.common import BackfillCommand
    from harness.steps.run import run_command

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    settings = _settings(_profile(DEFAULTS, ONLY_ACME), app_role, embed_server.url)
    evidence = run_command(settings, "documents", tmp_path / "run", BackfillCommand("true", "flag", None, ("true",)))
    assert evidence.remaining == 0 and not evidence.ok
    assert any("20 rows belong to tenants not listed" in p for p in evidence.problems)


def test_tenant_isolation_that_searched_the_listed_tenants_only_is_unproven(app_role, auditor, embed_server):
    from harness.checks import tenant_isolation

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    outcome = _outcome(tenant_isolation, _profile(DEFAULTS, ONLY_ACME), app_role, embed_server.url)
    assert outcome.status == "unproven" and "20 rows belong to tenants not listed" in outcome.note
    assert outcome.metrics["tenants_searched"] == ["acme"]


def _misplace_a_vector(db) -> None:
    """A vector written to the wrong row: acme's doc-2 holds globex's doc-3 vector."""
    db.execute("UPDATE document_embeddings SET embedding = (SELECT embedding FROM document_embeddings "
               "WHERE document_id = 'doc-3') WHERE document_id = 'doc-2'")


def test_recompute_of_every_row_under_rls_reads_every_tenants_view(app_role, empty_db, embed_server):
    from harness.checks.recompute import recompute

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    _misplace_a_vector(empty_db)
    outcome = _outcome(recompute, _profile(DEFAULTS, BOTH), app_role, embed_server.url, sample="all")
    assert outcome.status == "failed", outcome.message()  # was skipped: no row visible outside a tenant's view
    assert outcome.metrics["population"] == 40 and [o.id for o in outcome.offenders] == ["doc-2"]


def test_recompute_own_pick_under_rls_draws_from_every_tenants_view(app_role, embed_server):
    """The pick recompute falls back to when the pass drew too few rows (a collection small beside its table)."""
    from harness.checks.recompute import pick

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    rows = _outcome(lambda session, collection: pick(session, collection, 30), _profile(DEFAULTS, BOTH), app_role,
                    embed_server.url)
    uniform = [r for r in rows if r["uniform"]]
    assert len(uniform) == 30 and {r["tenant"] for r in uniform} == {"acme", "globex"}
    assert {r["population"] for r in rows} == {40}


def test_recompute_sample_across_tenants_is_bounded_by_the_whole_population(app_role, embed_server):
    """25 of 40 rows sampled (20 per tenant) is not every row checked: the bound is too wide for DONE."""
    from harness.checks.recompute import recompute

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    outcome = _outcome(recompute, _profile(DEFAULTS, BOTH), app_role, embed_server.url, sample=25)
    assert outcome.metrics["population"] == 40 and not outcome.metrics["exhaustive"]
    assert outcome.status == "unproven" and "bound too wide" in outcome.note


def test_coverage_by_a_role_exempt_from_rls_counts_each_row_once(app_role, empty_db, embed_server):
    """The owner (no FORCE) sees every row in every tenant's session: one view, not one per tenant."""
    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    outcome = _coverage(_profile(DEFAULTS, BOTH), empty_db.dsn, embed_server.url)
    assert outcome.status == "passed" and outcome.metrics["chunks"] == 40 and outcome.metrics["embedded"] == 40


@pytest.mark.slow  # two worker processes, each importing the harness
def test_workers_of_listed_tenants_only_are_not_ok(app_role, auditor, empty_db, embed_server, cli, tmp_path):
    """The starter's closing count adds up the listed tenants' views: the unlisted tenant's rows are not in it."""
    result = _two_workers_under_rls(app_role, empty_db, embed_server, cli, tmp_path, database=ONLY_ACME)
    assert empty_db.scalar("SELECT count(*) FROM document_embeddings") == 20
    assert result.code != 0 and not result.json["ok"], result.out
    assert any("20 rows belong to tenants not listed" in p for p in result.json["problems"])


def test_distinct_vectors_under_rls_finds_a_vector_shared_across_tenants(app_role, empty_db, embed_server):
    # No single tenant's view sees both rows: the fingerprints of every view are compared together.
    from harness.checks.distinct import distinct_vectors

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    _misplace_a_vector(empty_db)  # acme's doc-2 holds globex's doc-3 vector
    outcome = _outcome(distinct_vectors, _profile(DEFAULTS, BOTH), app_role, embed_server.url)
    assert outcome.status == "failed", outcome.message()
    # only the copy: globex's doc-3 holds its own text's vector
    assert {(o.tenant, str(o.id)) for o in outcome.offenders} == {("acme", "doc-2")}, outcome.offenders


def test_distinct_vectors_under_rls_finds_a_vector_shared_across_tenants_when_the_views_spill(
        app_role, empty_db, embed_server, monkeypatch):
    """Each view's fingerprints arrive in pieces and, past the memory bound together, go to one file: the vector
    shared across two views is found the same, and a zero vector in a view is counted once."""
    from harness.checks import fingerprints, stats
    from harness.checks.distinct import distinct_vectors
    from harness.checks.counted import sane_vectors

    monkeypatch.setattr(stats, "PIECE_BYTES", 32)
    monkeypatch.setattr(fingerprints, "MEMORY_LIMIT", 400)  # one view's 20 vectors (320 bytes) fit; two do not
    files = []
    monkeypatch.setattr(fingerprints.Spool, "spill",
                        lambda self, *file, real=fingerprints.Spool.spill: (real(self, *file), files.append(self.file))[0])
    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    _misplace_a_vector(empty_db)
    empty_db.execute("UPDATE document_embeddings SET embedding = array_fill(0, ARRAY[384])::vector "
                     "WHERE document_id = 'doc-4'")
    outcome = _outcome(distinct_vectors, _profile(DEFAULTS, BOTH), app_role, embed_server.url)
    sane = _outcome(sane_vectors, _profile(DEFAULTS, BOTH), app_role, embed_server.url)
    assert outcome.status == "failed" and {(o.tenant, str(o.id)) for o in outcome.offenders} == {("acme", "doc-2")}, \
        outcome.offenders
    assert sane.status == "failed" and sane.metrics["zero"] == 1, sane.message()
    assert len(files) >= 4 and len(set(map(id, files))) == 2, "each session's two views spilled to one file"


def test_a_vector_every_tenant_holds_is_confirmed_without_reading_every_row_into_memory(
        app_role, empty_db, embed_server, monkeypatch):
    """A provider that answered one vector for every text, read tenant by tenant: the rows holding it were read into
    this process whole, vector and text each (10,000,000 rows: tens of GB), to be compared; now each view sends one
    row per vector and at most the offenders' cap of rows."""
    import threading

    import psycopg

    from harness.checks import distinct
    from harness.checks.distinct import distinct_vectors

    monkeypatch.setattr(distinct, "OFFENDERS_CAP", 5)
    fetched = []
    real = psycopg.Cursor.fetchall

    def fetchall(cursor):
        rows = real(cursor)
        if threading.current_thread() is threading.main_thread() and b"bigint[]" in getattr(cursor._query, "query", b""):
            fetched.append(len(rows))  # the statements that look up rows by their fingerprint
        return rows

    monkeypatch.setattr(psycopg.Cursor, "fetchall", fetchall)
    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    empty_db.execute("UPDATE document_embeddings SET embedding = (SELECT embedding FROM document_embeddings "
                     "WHERE document_id = 'doc-3')")
    outcome = _outcome(distinct_vectors, _profile(DEFAULTS, BOTH), app_role, embed_server.url)
    assert outcome.status == "failed" and len(outcome.offenders) == 5, outcome.message()
    assert fetched and max(fetched) <= 5, fetched


def test_distinct_vectors_under_rls_finds_a_vector_shared_across_tenants_that_one_tenant_holds_twice(
        app_role, empty_db, embed_server):
    # globex holds one text twice (doc-3, doc-5: same text, same vector, rightly); that vector copied onto acme's doc-2
    # is still a vector shared with a different text, though globex's own view already sees its fingerprint twice.
    from harness.checks.distinct import distinct_vectors

    empty_db.execute("UPDATE documents SET content = 'text number 3' WHERE id = 'doc-5'")
    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    _misplace_a_vector(empty_db)  # acme's doc-2 holds globex's doc-3 vector
    outcome = _outcome(distinct_vectors, _profile(DEFAULTS, BOTH), app_role, embed_server.url)
    assert outcome.status == "failed", outcome.message()
    assert "doc-2" in {str(o.id) for o in outcome.offenders}, outcome.offenders


def test_distinct_vectors_under_rls_passes_a_healthy_store_read_tenant_by_tenant(app_role, auditor, empty_db,
                                                                                  embed_server):
    """Passed only where the tenants read are measured to be every tenant (the auditor role counts them)."""
    from harness.checks.distinct import distinct_vectors

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    outcome = _outcome(distinct_vectors, _profile(DEFAULTS, BOTH), app_role, embed_server.url)
    assert outcome.status == "passed", outcome.message()


def test_coverage_with_rows_every_tenant_sees_and_a_tenant_left_out_is_not_passed(app_role, auditor, empty_db,
                                                                                   embed_server):
    """Shared rows (visible in every tenant's view) are counted once per view: their extra counts must not make up
    for a tenant left out of database.tenants."""
    for name in ("tenant_docs ON documents", "tenant_vecs ON document_embeddings"):
        empty_db.execute(f"ALTER POLICY {name} USING (tenant_id = current_setting('app.current_tenant_id', true) "
                         "OR tenant_id = 'shared')")
    empty_db.execute("UPDATE documents SET tenant_id = 'shared' WHERE id IN "
                     "(SELECT 'doc-' || g FROM generate_series(1, 19, 2) g)")  # 10 rows every tenant sees
    empty_db.execute("UPDATE documents SET tenant_id = 'initech' WHERE id IN "
                     "(SELECT 'doc-' || g FROM generate_series(21, 29, 2) g)")  # 5 rows of a tenant not listed
    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    # Each row is read in its own tenant's view: the 10 of tenant 'shared' and initech's 5, not listed, have no vector.
    assert empty_db.scalar("SELECT count(*) FROM document_embeddings") == 25
    outcome = _coverage(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    assert outcome.status != "passed", outcome.message()


def test_tenant_isolation_under_rls_searches_each_tenant_in_its_own_view(app_role, auditor, embed_server):
    from harness.checks import tenant_isolation

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    outcome = _outcome(tenant_isolation, _profile(DEFAULTS, BOTH), app_role, embed_server.url)
    # Before: each search read outside every view, found no vector to search with, and still named the tenant.
    assert outcome.status == "passed", outcome
    assert outcome.metrics["tenants_searched"] == ["acme", "globex"] and outcome.metrics["tenants_not_searched"] == []
    assert outcome.metrics["rows_returned"] == 20  # LIMIT 10 per tenant, each in its own view


def test_tenant_isolation_with_tenants_that_have_rows_but_could_not_be_searched_is_unproven_not_skipped(
        app_role, empty_db, embed_server):
    # tenant only on the chunks (the embeddings carry no tenant or collection): the searches are the whole check
    from harness.checks.tenants import tenant_isolation
    from harness.profile import parse_profile

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    empty_db.execute("UPDATE document_embeddings SET embedding = array_fill(0, ARRAY[384])::vector")  # nothing to search with
    profile = parse_profile((PROFILE % (DEFAULTS, BOTH)).replace(", tenant: tenant_id,", ","), env={})
    assert profile.embeddings.tenant is None
    outcome = _outcome(tenant_isolation, profile, app_role, embed_server.url)
    assert outcome.status == "unproven", outcome.message()
    assert "acme" in outcome.note and "globex" in outcome.note


def test_tenant_isolation_matches_a_numeric_tenant_column_with_the_listed_tenants(app_role, auditor, empty_db,
                                                                                  embed_server):
    # database.tenants are the session's strings; the column holds integers: each must still be searched in its view.
    from harness.checks import tenant_isolation

    empty_db.execute(
        "DROP POLICY tenant_docs ON documents; DROP POLICY tenant_vecs ON document_embeddings; "
        "ALTER TABLE documents ALTER COLUMN tenant_id TYPE int USING (CASE tenant_id WHEN 'acme' THEN 1 ELSE 2 END); "
        "ALTER TABLE document_embeddings ALTER COLUMN tenant_id TYPE int USING (CASE tenant_id WHEN 'acme' THEN 1 ELSE 2 END); "
        "CREATE POLICY tenant_docs ON documents USING (tenant_id = nullif(current_setting('app.current_tenant_id', true), '')::int); "
        "CREATE POLICY tenant_vecs ON document_embeddings USING (tenant_id = nullif(current_setting('app.current_tenant_id', true), '')::int)")
    numeric = 'database: {session: {app.current_tenant_id: "{tenant}"}, tenants: [1, 2]}'
    assert _backfill(_profile(DEFAULTS, numeric), app_role, embed_server.url).ok
    outcome = _outcome(tenant_isolation, _profile(DEFAULTS, numeric), app_role, embed_server.url)
    assert outcome.status == "passed", outcome.message()
    assert outcome.metrics["tenants_searched"] == ["1", "2"] and outcome.metrics["tenants_not_searched"] == []
    assert outcome.metrics["rows_returned"] == 20


@pytest.mark.parametrize("name", ["model", "sane_vectors", "distinct_vectors", "recompute"])
def test_a_row_check_that_read_the_listed_tenants_only_is_unproven_not_passed(app_role, auditor, embed_server, name):
    """Every visible row is sound, but the unlisted tenant's 20 rows were never read: nothing says they are."""
    from harness import checks

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    outcome = _outcome(getattr(checks, name), _profile(DEFAULTS, ONLY_ACME), app_role, embed_server.url)
    assert outcome.status == "unproven", outcome.message()
    assert "20 rows belong to tenants not listed" in outcome.note


@pytest.mark.parametrize("name", ["model", "sane_vectors", "distinct_vectors"])
def test_a_row_check_under_rls_without_session_is_unproven_not_passed(app_role, empty_db, embed_server, name):
    """Row-level security hides rows and no database.session shows them: what was read proves nothing of the rest."""
    from harness import checks

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    empty_db.execute("CREATE POLICY peek ON documents USING (tenant_id = 'acme')")  # the role sees some chunks now
    outcome = _outcome(getattr(checks, name), _profile(DEFAULTS), app_role, embed_server.url)
    assert outcome.status == "unproven", outcome.message()
    assert "database.session" in outcome.note


def test_a_row_check_that_finds_a_bad_row_among_the_listed_tenants_still_fails(app_role, auditor, empty_db, embed_server):
    from harness.checks import model

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    empty_db.execute("UPDATE document_embeddings SET model = 'another-model' WHERE document_id = 'doc-2'")  # acme's
    outcome = _outcome(model, _profile(DEFAULTS, ONLY_ACME), app_role, embed_server.url)
    assert outcome.status == "failed" and outcome.metrics["other_model"] == 1


def test_citations_under_rls_without_session_is_unproven_not_passed(app_role, empty_db, embed_server):
    """The searches saw only the rows this role may see: what the hidden rows cite, or return, was never read."""
    from harness.checks import citations

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    empty_db.execute("CREATE POLICY peek ON documents USING (tenant_id = 'acme')")
    empty_db.execute("CREATE POLICY peek ON document_embeddings USING (tenant_id = 'acme')")
    outcome = _outcome(citations, _profile(DEFAULTS), app_role, embed_server.url)
    assert outcome.status == "unproven", outcome.message()
    assert "database.session" in outcome.note


def test_citations_read_tenant_by_tenant_searches_in_the_tenants_views(app_role, auditor, embed_server):
    """Every tenant listed and counted: the sampled chunks are found by their own text, each in its tenant's view."""
    from harness.checks import citations

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    outcome = _outcome(citations, _profile(DEFAULTS, BOTH), app_role, embed_server.url)
    assert outcome.status == "passed", outcome.message()


def test_citations_that_read_the_listed_tenants_only_is_unproven_not_passed(app_role, auditor, embed_server):
    from harness.checks import citations

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    outcome = _outcome(citations, _profile(DEFAULTS, ONLY_ACME), app_role, embed_server.url)
    assert outcome.status == "unproven", outcome.message()
    assert "20 rows belong to tenants not listed" in outcome.note


SOURCES = "\nsource: {table: sources, key: src}"


def _with_sources(db) -> None:
    """A source table of 40 rows, one per chunk (documents.src names it), readable by every role."""
    db.execute("CREATE TABLE sources (src text PRIMARY KEY); INSERT INTO sources SELECT 'src-' || g FROM "
               "generate_series(1, 40) g; GRANT SELECT ON sources TO PUBLIC; ALTER TABLE documents ADD COLUMN src text; "
               "UPDATE documents SET src = 'src-' || substr(id, 5)")


def test_source_coverage_under_rls_without_session_is_unproven_not_failed(app_role, empty_db, embed_server):
    """The role sees acme's chunks only: globex's sources look chunkless, but their chunks are hidden, not missing."""
    from harness.checks import source_coverage

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    _with_sources(empty_db)
    empty_db.execute("CREATE POLICY peek ON documents USING (tenant_id = 'acme')")
    outcome = _outcome(source_coverage, _profile(DEFAULTS, SOURCES), app_role, embed_server.url)
    assert outcome.status == "unproven", outcome.message()
    assert "database.session" in outcome.note


def test_source_coverage_read_tenant_by_tenant_sees_every_tenants_chunks(app_role, auditor, empty_db, embed_server):
    from harness.checks import source_coverage

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    _with_sources(empty_db)
    outcome = _outcome(source_coverage, _profile(DEFAULTS, BOTH + SOURCES), app_role, embed_server.url)
    assert outcome.status == "passed", outcome.message()
    assert outcome.metrics["source_rows"] == 40 and outcome.metrics["without_chunks"] == 0


def test_source_coverage_read_tenant_by_tenant_still_fails_on_a_source_without_chunks(app_role, auditor, empty_db,
                                                                                      embed_server):
    from harness.checks import source_coverage

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    _with_sources(empty_db)
    empty_db.execute("INSERT INTO sources VALUES ('src-41')")
    outcome = _outcome(source_coverage, _profile(DEFAULTS, BOTH + SOURCES), app_role, embed_server.url)
    assert outcome.status == "failed" and [o.id for o in outcome.offenders] == ["src-41"], outcome.message()


def test_source_coverage_read_tenant_by_tenant_with_no_exempt_role_is_unproven(app_role, empty_db, embed_server):
    from harness.checks import source_coverage

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    _with_sources(empty_db)
    outcome = _outcome(source_coverage, _profile(DEFAULTS, BOTH + SOURCES), app_role, embed_server.url)
    assert outcome.status == "unproven" and "exempt" in outcome.note, outcome.message()


def test_source_coverage_with_rls_hiding_source_rows_is_unproven_not_passed(app_role, empty_db, embed_server):
    """Row-level security on the source table alone: the rows it hides were never asked for chunks."""
    from harness.checks import source_coverage

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    _with_sources(empty_db)
    empty_db.execute("ALTER TABLE documents DISABLE ROW LEVEL SECURITY; "
                     "ALTER TABLE document_embeddings DISABLE ROW LEVEL SECURITY; INSERT INTO sources VALUES ('src-41'); "
                     "ALTER TABLE sources ENABLE ROW LEVEL SECURITY; CREATE POLICY few ON sources USING (src <> 'src-41')")
    outcome = _outcome(source_coverage, _profile(DEFAULTS, SOURCES), app_role, embed_server.url)
    assert outcome.status == "unproven" and "sources" in outcome.note, outcome.message()


# globex's doc-3 holds this text: a custom check that sees only acme's rows finds none.
CUSTOM = "\ncustom_checks: [{name: no_third, sql: \"SELECT count(*) FROM documents WHERE content = 'text number 3'\", expect: 0}]"


def _custom(profile, dsn, url):
    from harness.checks import custom

    return _outcome(lambda session, _: custom(session, "no_third"), profile, dsn, url)


def test_custom_check_under_rls_without_session_is_unproven_not_passed(app_role, empty_db, embed_server):
    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    empty_db.execute("CREATE POLICY peek ON documents USING (tenant_id = 'acme')")
    outcome = _custom(_profile(DEFAULTS, CUSTOM), app_role, embed_server.url)
    assert outcome.status == "unproven" and "database.session" in outcome.note, outcome.message()


def test_custom_check_read_tenant_by_tenant_sees_every_row(app_role, auditor, embed_server):
    """In no tenant's view, the policies show no row at all: a count of bad rows there is 0 whatever the table holds."""
    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    outcome = _custom(_profile(DEFAULTS, BOTH + CUSTOM), app_role, embed_server.url)
    assert outcome.status == "failed" and "1" in outcome.found, outcome.message()


def test_custom_check_read_tenant_by_tenant_with_no_exempt_role_is_unproven(app_role, embed_server):
    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    outcome = _custom(_profile(DEFAULTS, BOTH + CUSTOM), app_role, embed_server.url)
    assert outcome.status == "unproven" and "exempt" in outcome.note, outcome.message()


def test_custom_check_read_tenant_by_tenant_passes_over_every_row(app_role, auditor, empty_db, embed_server):
    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    empty_db.execute("UPDATE documents SET content = 'text number three' WHERE id = 'doc-3'")
    outcome = _custom(_profile(DEFAULTS, BOTH + CUSTOM), app_role, embed_server.url)
    assert outcome.status == "passed" and outcome.metrics["read_as"] == auditor, outcome.message()


def test_index_read_tenant_by_tenant_counts_every_tenants_vectors(app_role, auditor, embed_server):
    """40 vectors, no vector index, one required from 30: counted in no tenant's view, the table looked empty."""
    from harness.checks import index

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    outcome = _outcome(index, _profile(DEFAULTS + ", index_min_rows: 30", BOTH), app_role, embed_server.url)
    assert outcome.status == "failed" and outcome.metrics["vectors"] == 40, outcome.message()


def test_index_not_needed_under_rls_without_session_is_unproven_not_passed(app_role, empty_db, embed_server):
    """The role sees 20 of 40 vectors: under the threshold of 30 as far as it can tell, which proves nothing."""
    from harness.checks import index

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    empty_db.execute("CREATE POLICY peek ON documents USING (tenant_id = 'acme'); "
                     "CREATE POLICY peek ON document_embeddings USING (tenant_id = 'acme')")
    outcome = _outcome(index, _profile(DEFAULTS + ", index_min_rows: 30"), app_role, embed_server.url)
    assert outcome.status == "unproven" and "database.session" in outcome.note, outcome.message()


def test_index_read_tenant_by_tenant_is_used_by_a_search_in_a_tenants_view(app_role, auditor, empty_db, embed_server):
    """The search EXPLAIN plans needs a vector to search with: outside every tenant's view there is none."""
    from harness.checks import index

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    empty_db.execute("CREATE INDEX ON document_embeddings USING hnsw (embedding vector_cosine_ops)")
    outcome = _outcome(index, _profile(DEFAULTS + ", index_min_rows: 30", BOTH), app_role, embed_server.url)
    assert outcome.status == "passed", outcome.message()


def test_a_failed_row_check_read_tenant_by_tenant_lists_its_offending_rows(app_role, auditor, empty_db, embed_server):
    """The count comes from the tenants' views; the rows it counted are looked up there too (in none, none show)."""
    from harness.checks import model

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    empty_db.execute("UPDATE document_embeddings SET model = 'another-model' WHERE document_id IN ('doc-2', 'doc-3')")
    outcome = _outcome(model, _profile(DEFAULTS, BOTH), app_role, embed_server.url)
    assert outcome.status == "failed" and sorted(o.id for o in outcome.offenders) == ["doc-2", "doc-3"], outcome.message()


def test_coverage_with_an_embedding_row_of_a_tenant_not_listed_is_unproven(app_role, auditor, empty_db, embed_server):
    """Every chunk is visible and embedded, but one embedding row belongs to a tenant the views do not show (here a
    second vector of doc-2 filed under initech): coverage read none of it, so it cannot say one vector each."""
    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    empty_db.execute("INSERT INTO document_embeddings (id, document_id, tenant_id, embedding, dimensions, model) "
                     "SELECT 'extra', document_id, 'initech', embedding, dimensions, model FROM document_embeddings "
                     "WHERE document_id = 'doc-2'")
    outcome = _coverage(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    assert outcome.status == "unproven", outcome.message()
    assert "1 embedding rows belong to tenants not listed" in outcome.note


def test_rows_a_policy_shows_but_does_not_let_the_role_update_are_failures_never_counted_embedded(
        supabase_reader, empty_db, embed_server):
    # chatbot-ui: Bob's file is shared with everyone, so Alice's view reads its items (a SELECT policy), but only
    # their owner may update them; an UPDATE there changes no row and raises nothing.
    from harness.backfill import BackfillOptions, run_backfill
    from harness.profile import parse_profile
    from harness.settings import resolve

    from .conftest import ALICE, SUPABASE_PROFILE

    # No chunks.tenant: nothing says whose row it is, so Alice's view reads Bob's shared items too.
    untenanted = SUPABASE_PROFILE.replace(", tenant: user_id", "")
    settings = resolve(parse_profile(untenanted % f"[{ALICE}]", env={"DATABASE_URL": supabase_reader,
                                                                         "OLLAMA_HOST": embed_server.url}),
                       database_url=supabase_reader,
                       env={"OLLAMA_HOST": embed_server.url})
    summary = run_backfill(settings, BackfillOptions(collection="file_items", progress=False))
    written = empty_db.scalar("SELECT count(*) FROM file_items WHERE local_embedding IS NOT NULL")
    assert written == 3 and summary.embedded == 3
    assert summary.failed == 3 and not summary.ok
    bobs = {r[0] for r in psycopg_rows(empty_db, "SELECT id::text FROM file_items WHERE local_embedding IS NULL")}
    assert {str(f.key) for f in summary.failures} == bobs
    assert all("row-level security" in f.reason for f in summary.failures)


def psycopg_rows(db, query):
    with db.connect() as conn:
        return conn.execute(query).fetchall()


def test_a_row_shared_with_every_tenant_is_counted_once_in_its_owners_view(cli, supabase_reader, tmp_path,
                                                                          embed_server):
    # Bob's file is shared: Alice's view shows its items too. Read in its owner's view only (chunks.tenant), each
    # row counts once and the views add up to the table.
    from .conftest import ALICE, BOB, SUPABASE_PROFILE

    (tmp_path / "p.yaml").write_text(SUPABASE_PROFILE % f"[{ALICE}, {BOB}]")
    scoped = cli("scope", "--profile", tmp_path / "p.yaml", "--collection", "file_items", "--json",
                 env={"DATABASE_URL": supabase_reader, "OLLAMA_HOST": embed_server.url})
    assert (scoped.json["counts"]["chunks"], scoped.json["counts"]["missing"]) == (6, 6), scoped.out
    check = next(c for c in scoped.json["checks"] if c["check"] == "collection exists")
    assert check["found"] == "6 chunks"


def test_coverage_read_in_one_view_by_a_role_exempt_from_rls_files_no_rows_under_the_first_tenant(empty_db,
                                                                                                  embed_server):
    """Without chunks.tenant a tenant's view holds its tenant's rows; a role row-level security does not apply to reads
    the whole table once (under the first tenant's setting): those rows are everyone's, not the first tenant's."""
    from harness.checks import CheckOptions, open_session
    from harness.checks.counted import coverage
    from harness.profile import parse_profile
    from harness.settings import resolve

    empty_db.execute("CREATE TABLE notes (id text PRIMARY KEY, owner text NOT NULL, body text NOT NULL, "
                     "embedding vector(3)); INSERT INTO notes VALUES ('n1', 'alice', 'one', '[1,0,0]'), "
                     "('n2', 'bob', 'two', '[0,1,0]'); ALTER TABLE notes ENABLE ROW LEVEL SECURITY; "
                     "CREATE POLICY mine ON notes USING (owner = current_setting('app.user', true))")
    profile = parse_profile("name: notes\nprovider: {model: hash-embed:3}\n"
                            "chunks: {table: notes, id: id, text: body, collection_name: notes}\n"
                            "embeddings: {vector: embedding}\n"
                            "database: {session: {app.user: '{tenant}'}, tenants: [alice, bob]}\n", env={})
    session = open_session(resolve(profile, database_url=empty_db.dsn, env={"OLLAMA_HOST": embed_server.url}),
                           CheckOptions(collections=("notes",)))
    try:
        outcome = coverage(session, "notes")
    finally:
        session.close()
    assert outcome.status == "passed", outcome.message()
    assert outcome.metrics["tenants"] == {"None": [2, 2]}, outcome.metrics


def test_tenant_views_that_overlap_as_many_rows_as_a_tenant_not_listed_hides_are_not_every_row(pg, empty_db,
                                                                                               embed_server):
    """chatgpt-your-files' shape (no tenant column; the policies find the owner): a row both listed users see is
    counted twice, and as many rows of a user not listed are never read; their counts add up to the table."""
    import uuid

    from harness.checks import CheckOptions, open_session
    from harness.checks.counted import coverage
    from harness.profile import parse_profile
    from harness.settings import resolve

    app, audit = f"app_{uuid.uuid4().hex[:8]}", f"audit_{uuid.uuid4().hex[:8]}"
    empty_db.execute(
        "CREATE TABLE notes (id text PRIMARY KEY, owner text NOT NULL, shared boolean NOT NULL, body text NOT NULL, "
        "embedding vector(3)); INSERT INTO notes VALUES ('a1', 'alice', false, 'one', '[1,0,0]'), "
        "('a2', 'alice', false, 'two', '[0,1,0]'), ('b1', 'bob', false, 'three', '[0,0,1]'), "
        "('s1', 'alice', true, 'four', '[1,1,0]'), ('c1', 'carol', false, 'five', NULL);"
        "ALTER TABLE notes ENABLE ROW LEVEL SECURITY;"
        "CREATE POLICY mine ON notes USING (shared OR owner = current_setting('app.user', true));"
        f"CREATE ROLE {app} LOGIN PASSWORD 'app-secret-pw'; GRANT SELECT ON notes TO {app};"
        f"CREATE ROLE {audit} NOLOGIN BYPASSRLS; GRANT SELECT ON notes TO {audit}; GRANT {audit} TO {app}")
    profile = parse_profile("name: notes\nprovider: {model: hash-embed:3}\n"
                            "chunks: {table: notes, id: id, text: body, collection_name: notes}\n"
                            "embeddings: {vector: embedding}\n"
                            "database: {session: {app.user: '{tenant}'}, tenants: [alice, bob]}\n", env={})
    try:
        session = open_session(resolve(profile, database_url=pg.dsn(empty_db.name, user=app, password="app-secret-pw"),
                                       env={"OLLAMA_HOST": embed_server.url}), CheckOptions(collections=("notes",)))
        try:
            outcome = coverage(session, "notes")
        finally:
            session.close()
        # carol's row has no vector and was never read: 5 counted of 5 (s1 twice) must not pass.
        assert outcome.status == "unproven", outcome.message()
        assert "overlap" in outcome.note, outcome.note
    finally:
        empty_db.execute(f"DROP OWNED BY {app}; DROP OWNED BY {audit}; DROP ROLE {app}; DROP ROLE {audit}")


def test_counts_by_collection_add_up_over_every_tenants_view(app_role, empty_db, embed_server):
    from harness import db as dbmod
    from harness import rls
    from harness.state import missing_by_collection
    from harness.target import Target

    settings = _settings(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    with dbmod.connect(app_role, autocommit=True) as conn:
        tenants = rls.tenants(conn, settings.profile)
        counted = rls.across(conn, settings.profile, tenants, lambda: missing_by_collection(conn, Target(settings.profile)))
    assert counted == {"chunks": {"documents": 40}, "missing": {"documents": 40}}  # 20 of each tenant
