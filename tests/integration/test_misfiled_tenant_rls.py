"""A vector filed under another tenant than its chunk's, where row-level security shows each tenant its own rows
only: no tenant's view holds both the chunk and the row, so every count read view by view missed the row (the
chunk's tenant added its own vector and the run said ok). Counted as a role exempt from RLS, such a row makes the
counts unproven, and a backfill deletes it in the view of the tenant it is filed under."""

from harness.checks.counted import coverage

from .test_engine_real_tables import DEFAULTS, PROFILE, _backfill, _outcome, _profile, _scope, _settings

BOTH = 'database: {session: {app.current_tenant_id: "{tenant}"}, tenants: [acme, globex]}'
MISFILED = ("SELECT count(*) FROM document_embeddings e JOIN documents d ON d.id = e.document_id "
            "WHERE e.tenant_id <> d.tenant_id")


def _misfile(db) -> None:
    """acme's doc-2 has one embedding row, filed under globex: acme's view lacks it, globex's holds it."""
    db.execute("UPDATE document_embeddings SET tenant_id = 'globex' WHERE document_id = 'doc-2'")


def _second_row_under_globex(db) -> None:
    """What a run in acme's view left: doc-2's own row, and beside it a copy filed under globex that acme cannot see."""
    db.execute("INSERT INTO document_embeddings SELECT 'copy-' || id, document_id, 'globex', embedding, dimensions, "
               "model FROM document_embeddings WHERE document_id = 'doc-2'")


def test_a_backfill_deletes_a_vector_its_chunks_tenant_cannot_see_and_embeds_the_chunk_in_its_own_view(
        app_role, auditor, empty_db, embed_server):
    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    _misfile(empty_db)
    summary = _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    assert summary.ok and summary.embedded == 1, summary
    assert empty_db.scalar(MISFILED) == 0 and empty_db.scalar("SELECT count(*) FROM document_embeddings") == 40
    assert _outcome(coverage, _profile(DEFAULTS, BOTH), app_role, embed_server.url).status == "passed"


def test_run_that_left_a_vector_filed_under_another_tenant_beside_the_chunks_own_is_not_ok(
        app_role, auditor, empty_db, embed_server, tmp_path):
    from harness.steps.common import BackfillCommand
    from harness.steps.run import run_command

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    _second_row_under_globex(empty_db)
    settings = _settings(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    evidence = run_command(settings, "documents", tmp_path / "run", BackfillCommand("true", "flag", None, ("true",)))
    assert evidence.remaining == 0 and not evidence.ok  # each tenant's view alone looks complete
    assert any("1 embedding rows of its chunks are filed under another tenant than their chunk's" in p
               for p in evidence.problems), evidence.problems


def test_the_workers_closing_count_says_it_misses_a_vector_filed_under_another_tenant(app_role, auditor, empty_db,
                                                                                       embed_server):
    from harness.backfill.workers import closing_count

    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    _second_row_under_globex(empty_db)
    state, unproven = closing_count(_settings(_profile(DEFAULTS, BOTH), app_role, embed_server.url), "documents")
    assert state.needed == 0 and "1 embedding rows of its chunks are filed under another tenant" in (unproven or "")


def test_scope_says_the_counts_miss_a_vector_filed_under_another_tenant(cli, tmp_path, app_role, auditor, empty_db,
                                                                        embed_server):
    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    _second_row_under_globex(empty_db)
    result = _scope(cli, tmp_path, PROFILE % (DEFAULTS, BOTH), app_role, embed_server.url)
    check = next(c for c in result.json["checks"] if c["check"] == "tenant coverage")
    assert check["status"] == "unproven" and "1 embedding rows" in check["note"], check


def test_a_backfill_the_policies_do_not_let_delete_such_a_vector_is_not_ok_and_says_why(
        app_role, auditor, empty_db, embed_server):
    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    _misfile(empty_db)
    empty_db.execute("CREATE POLICY keep_globex ON document_embeddings AS RESTRICTIVE FOR DELETE "
                     "USING (tenant_id <> 'globex')")
    summary = _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    assert not summary.ok and empty_db.scalar(MISFILED) == 1
    assert "1 embedding rows filed under another tenant than their chunk's, unseen by the chunk's tenant, could not " \
           "be deleted: the policies did not let role" in (summary.unproven or ""), summary.unproven


def test_a_vector_its_chunks_tenant_cannot_see_that_other_tables_reference_is_never_deleted_with_their_rows(
        app_role, auditor, empty_db, embed_server):
    # refile deleted the misfiled row in globex's view: the application's ratings of it went with it (ON DELETE
    # CASCADE) while the run said ok. Rows other tables reference are never deleted (writer.referenced); the run is
    # not ok and says why.
    _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    empty_db.execute("CREATE TABLE ratings (embedding_id text REFERENCES document_embeddings (id) ON DELETE CASCADE, "
                     "stars int); INSERT INTO ratings SELECT id, 5 FROM document_embeddings")
    _misfile(empty_db)
    summary = _backfill(_profile(DEFAULTS, BOTH), app_role, embed_server.url)
    assert empty_db.scalar("SELECT count(*) FROM ratings r JOIN document_embeddings e ON e.id = r.embedding_id") == 40
    assert not summary.ok and "other tables reference" in (summary.unproven or ""), summary.unproven
