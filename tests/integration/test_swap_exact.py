"""swap is exact: NEW must hold the live collection's chunks as they are now, and drop-retired loses nothing."""


from .test_engine_swap import LIVE, NEW, NEW_MODEL, TEST_MODEL, _env


def _edit_live_after_the_copy(db) -> None:
    """What users do while NEW is being filled: add chunks and correct some in the live collection."""
    db.execute("INSERT INTO document_chunks (document_id, collection, tenant_id, chunk_index, content, title, url) "
               "SELECT document_id, collection, tenant_id, chunk_index + 1000, 'added later ' || id, title, url "
               "FROM document_chunks WHERE collection = %s ORDER BY id LIMIT 2", (LIVE,))
    db.execute("UPDATE document_chunks SET content = content || ' (corrected)' WHERE id IN "
               "(SELECT id FROM document_chunks WHERE collection = %s ORDER BY id LIMIT 1)", (LIVE,))


def _texts(db, collection):
    return sorted(r[0] for r in db.connect().execute("SELECT content FROM document_chunks WHERE collection = %s",
                                                      (collection,)).fetchall())


def test_swap_refuses_when_live_changed_after_the_copy_and_names_the_chunks(embedded_db, v2_server, demo_profile, cli):
    env = _env(embedded_db, v2_server.url, NEW_MODEL)
    assert cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, env=env).code == 0
    _edit_live_after_the_copy(embedded_db)
    assert cli("backfill", "--profile", demo_profile, "--collection", LIVE, env=_env(embedded_db, v2_server.url)).code == 0
    live_before = _texts(embedded_db, LIVE)
    result = cli("swap", "--profile", demo_profile, "--from", NEW, "--to", LIVE, env=env)
    assert result.code == 2, result.out
    assert "matches_live" in result.err and "3 chunks of tenant_globex missing or different" in result.err
    assert "added or edited in live" in result.err and "--sync" in result.err
    assert _texts(embedded_db, LIVE) == live_before


def test_sync_brings_the_changes_over_and_the_swap_then_keeps_them(embedded_db, v2_server, demo_profile, cli):
    env = _env(embedded_db, v2_server.url, NEW_MODEL)
    assert cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, env=env).code == 0
    _edit_live_after_the_copy(embedded_db)
    synced = cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, "--sync", "--json", env=env)
    assert synced.code == 0, synced.err
    assert synced.json["copied"] == 3 and synced.json["embedded"] == 3
    live_now = _texts(embedded_db, LIVE)
    swapped = cli("swap", "--profile", demo_profile, "--from", NEW, "--to", LIVE, "--json", env=env)
    assert swapped.code == 0, swapped.err
    assert {c["check"] for c in swapped.json["gate"]["checks"]} >= {"coverage", "fresh", "model", "matches_live"}
    assert _texts(embedded_db, LIVE) == live_now and len(live_now) == 31
    assert embedded_db.scalar("SELECT count(*) FROM document_chunks c JOIN document_embeddings e ON e.chunk_id = c.id "
                              "AND e.model_name = %s WHERE c.collection = %s", (NEW_MODEL, LIVE)) == 31


def test_drop_retired_refuses_while_retired_holds_a_chunk_live_lacks(embedded_db, v2_server, demo_profile, cli):
    env = _env(embedded_db, v2_server.url, NEW_MODEL)
    assert cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, env=env).code == 0
    assert cli("swap", "--profile", demo_profile, "--from", NEW, "--to", LIVE, env=env).code == 0
    embedded_db.execute("DELETE FROM document_chunks WHERE id IN (SELECT id FROM document_chunks WHERE collection = %s "
                        "ORDER BY id LIMIT 1)", (LIVE,))
    result = cli("swap", "--profile", demo_profile, "--drop-retired", "--to", LIVE, env=env)
    assert result.code == 2 and "holds 1 chunks that" in result.err
    assert embedded_db.scalar("SELECT count(*) FROM document_chunks WHERE collection = %s", (LIVE + "__retired",)) == 29
    assert embedded_db.scalar("SELECT count(*) FROM document_embeddings WHERE collection = %s", (LIVE + "__retired",)) == 29


def test_a_collection_the_app_rechunked_is_compared_by_source(embedded_db, v2_server, demo_profile, cli, monkeypatch):
    from examples.ragapp.app import load_corpus

    monkeypatch.setenv("MAX_CHUNK_SIZE", "400")
    load_corpus(embedded_db.dsn, collections=[LIVE], into=NEW)
    env = _env(embedded_db, v2_server.url, NEW_MODEL)
    assert cli("backfill", "--profile", demo_profile, "--collection", NEW, env=env).code == 0
    swapped = cli("swap", "--profile", demo_profile, "--from", NEW, "--to", LIVE, "--json", env=env)
    assert swapped.code == 0, swapped.err
    live = next(c for c in swapped.json["gate"]["checks"] if c["check"] == "matches_live")
    assert live["status"] == "passed" and live["metrics"]["by"] == "source"


def test_a_rechunked_collection_missing_a_live_source_is_refused(embedded_db, v2_server, demo_profile, cli, monkeypatch):
    from examples.ragapp.app import load_corpus

    monkeypatch.setenv("MAX_CHUNK_SIZE", "400")
    load_corpus(embedded_db.dsn, collections=[LIVE], into=NEW)
    embedded_db.execute("INSERT INTO document_chunks (document_id, collection, tenant_id, chunk_index, content, title, url) "
                        "SELECT document_id, collection, tenant_id, 99, 'a new page', 'New page', 'https://new.example' "
                        "FROM document_chunks WHERE collection = %s LIMIT 1", (LIVE,))
    env = _env(embedded_db, v2_server.url, NEW_MODEL)
    assert cli("backfill", "--profile", demo_profile, "--collection", NEW, env=env).code == 0
    result = cli("swap", "--profile", demo_profile, "--from", NEW, "--to", LIVE, env=env)
    assert result.code == 2 and "matches_live" in result.err and "1 chunks of tenant_globex missing" in result.err


def test_a_rechunked_collection_that_cannot_be_compared_is_not_swapped(embedded_db, v2_server, demo_profile, cli,
                                                                        monkeypatch, tmp_path):
    """Without chunks.sources matches_live is unproven: swapping anyway could drop a live page for good."""
    from examples.ragapp.app import load_corpus

    profile = tmp_path / "profile.yaml"
    profile.write_text(demo_profile.read_text().replace("  sources: [title, url]\n", ""))
    monkeypatch.setenv("MAX_CHUNK_SIZE", "400")
    load_corpus(embedded_db.dsn, collections=[LIVE], into=NEW)
    embedded_db.execute("DELETE FROM document_chunks WHERE collection = %s AND url = "
                        "(SELECT min(url) FROM document_chunks WHERE collection = %s)", (NEW, NEW))
    env = _env(embedded_db, v2_server.url, NEW_MODEL)
    assert cli("backfill", "--profile", profile, "--collection", NEW, env=env).code == 0
    live_before = _texts(embedded_db, LIVE)
    result = cli("swap", "--profile", profile, "--from", NEW, "--to", LIVE, env=env)
    assert result.code != 0, result.out
    assert "matches_live" in result.err and "unproven" in result.err
    assert _texts(embedded_db, LIVE) == live_before


def test_drop_retired_refuses_when_it_cannot_compare_retired_with_live(embedded_db, demo_profile, cli, tmp_path, target_env):
    """A swap recorded without a way to compare (no copy record, no chunks.sources): nothing proves retired is redundant."""
    profile = tmp_path / "profile.yaml"
    profile.write_text(demo_profile.read_text().replace("  sources: [title, url]\n", ""))
    env = {**target_env, "DATABASE_URL": embedded_db.dsn}
    assert cli("swap", "--profile", profile, "--rollback", "--to", LIVE, env=env).code == 2  # creates the bookkeeping
    embedded_db.execute("UPDATE document_chunks SET collection = %s WHERE collection = %s", (LIVE + "__retired", LIVE))
    embedded_db.execute("UPDATE document_embeddings SET collection = %s WHERE collection = %s", (LIVE + "__retired", LIVE))
    embedded_db.execute("INSERT INTO backfill_harness.swaps (target, live, retired, replaced_by) "
                        "VALUES ('public.document_embeddings', %s, %s, %s)", (LIVE, LIVE + "__retired", NEW))
    result = cli("swap", "--profile", profile, "--drop-retired", "--to", LIVE, env=env)
    assert result.code == 2, result.out
    assert embedded_db.scalar("SELECT count(*) FROM document_chunks WHERE collection = %s", (LIVE + "__retired",)) == 29


def test_swap_refuses_when_new_is_named_as_lives_retired_collection(embedded_db, v2_server, demo_profile, cli):
    retired = LIVE + "__retired"
    env = _env(embedded_db, v2_server.url, NEW_MODEL)
    # A target without the demo's unique (collection, document_id, chunk_index), whose error would stop the merge.
    embedded_db.execute("ALTER TABLE document_chunks DROP CONSTRAINT document_chunks_collection_document_id_chunk_index_key")
    assert cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", retired, env=env).code == 0
    live_before = _texts(embedded_db, LIVE)
    result = cli("swap", "--profile", demo_profile, "--from", retired, "--to", LIVE, env=env)
    assert result.code == 2, result.out
    assert retired in result.err
    assert _texts(embedded_db, LIVE) == live_before  # not merged with NEW's copy into twice the chunks


def test_swap_refuses_while_a_collection_already_holds_the_retired_name(embedded_db, v2_server, demo_profile, cli):
    """Otherwise live is merged into it, and a rollback brings that collection's chunks into live."""
    retired = LIVE + "__retired"
    env = _env(embedded_db, v2_server.url, NEW_MODEL)
    embedded_db.execute("INSERT INTO document_chunks (document_id, collection, tenant_id, chunk_index, content, title, url) "
                        "SELECT document_id, %s, tenant_id, chunk_index + 1000, 'other ' || content, title, url "
                        "FROM document_chunks WHERE collection = %s ORDER BY id LIMIT 3", (retired, LIVE))
    assert cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, env=env).code == 0
    live_before = _texts(embedded_db, LIVE)
    result = cli("swap", "--profile", demo_profile, "--from", NEW, "--to", LIVE, env=env)
    assert result.code == 2, result.out
    assert retired in result.err and "3 chunks" in result.err
    assert _texts(embedded_db, LIVE) == live_before


def test_into_by_a_role_exempt_from_rls_with_a_per_tenant_session_copies_each_chunk_once(embedded_db, v2_server,
                                                                                         demo_profile, cli, tmp_path):
    """Row-level security filters nothing for this role (here: none is on), so every tenant's view is the whole
    table: reading view by view would copy each live chunk once per tenant."""
    profile = tmp_path / "profile.yaml"
    profile.write_text(demo_profile.read_text().replace(
        "database:\n", 'database:\n  session: {app.current_tenant_id: "{tenant}"}\n', 1))
    env = _env(embedded_db, v2_server.url, NEW_MODEL)
    result = cli("backfill", "--profile", profile, "--collection", LIVE, "--into", NEW, "--json", env=env)
    assert result.code == 0, result.err
    assert result.json["copied"] == 29 and len(_texts(embedded_db, NEW)) == 29


def _rls_on_the_demo(db, pg) -> str:
    """The demo's tables under row-level security by tenant, and a DSN of an application role they apply to, which
    may use the harness's schema (made by the owner) and become a BYPASSRLS role (so hidden rows can be counted)."""
    import uuid

    from harness.backfill import bookkeeping
    from harness.db import connect

    role, auditor = f"app_{uuid.uuid4().hex[:8]}", f"audit_{uuid.uuid4().hex[:8]}"
    db.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'app-secret-pw'; "
               f"CREATE ROLE {auditor} NOLOGIN BYPASSRLS; GRANT {auditor} TO {role}; "
               f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {auditor}; "
               f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}; "
               f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}; "
               "ALTER TABLE document_chunks ENABLE ROW LEVEL SECURITY; "
               "ALTER TABLE document_embeddings ENABLE ROW LEVEL SECURITY; "
               "CREATE POLICY t ON document_chunks USING (tenant_id = current_setting('app.current_tenant_id', true)); "
               "CREATE POLICY t ON document_embeddings USING (tenant_id = current_setting('app.current_tenant_id', true))")
    with connect(db.dsn, autocommit=True) as owner:
        bookkeeping.ensure(owner)
        owner.execute(f"GRANT USAGE ON SCHEMA backfill_harness TO {role}; "
                      f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA backfill_harness TO {role}")
    return pg.dsn(db.name, user=role, password="app-secret-pw")


def _rls_profile(demo_profile, tmp_path, tenants: str):
    profile = tmp_path / "profile.yaml"
    profile.write_text(demo_profile.read_text().replace(
        "database:\n", f'database:\n  session: {{app.current_tenant_id: "{{tenant}}"}}\n  tenants: [{tenants}]\n', 1))
    return profile


def _two_tenants(db) -> None:
    """The live collection's first 10 chunks (and their vectors) belong to acme, the other 19 to globex."""
    db.execute("UPDATE document_chunks SET tenant_id = 'acme' WHERE id IN "
               "(SELECT id FROM document_chunks WHERE collection = %s ORDER BY id LIMIT 10)", (LIVE,))
    db.execute("UPDATE document_embeddings e SET tenant_id = c.tenant_id FROM document_chunks c WHERE e.chunk_id = c.id")


def _by_tenant(db, collection, model=None) -> dict[str, int]:
    """Chunks of ``collection`` per tenant (with a vector of ``model`` when given), counted by the owner."""
    join = "JOIN document_embeddings e ON e.chunk_id = c.id AND e.model_name = %s " if model else ""
    rows = db.connect().execute(f"SELECT c.tenant_id, count(*) FROM document_chunks c {join}WHERE c.collection = %s "
                                "GROUP BY 1", ((model,) if model else ()) + (collection,)).fetchall()
    return {t: n for t, n in rows}


def _filled_under_rls(db, pg, v2_server, profile, cli):
    _two_tenants(db)
    env = {**_env(db, v2_server.url, NEW_MODEL), "DATABASE_URL": _rls_on_the_demo(db, pg)}
    filled = cli("backfill", "--profile", profile, "--collection", LIVE, "--into", NEW, env=env)
    assert filled.code == 0, filled.err
    return env


def test_swap_under_rls_moves_every_tenants_rows(embedded_db, pg, v2_server, demo_profile, cli, tmp_path):
    profile = _rls_profile(demo_profile, tmp_path, "acme, globex")
    env = _filled_under_rls(embedded_db, pg, v2_server, profile, cli)
    old = _by_tenant(embedded_db, LIVE, TEST_MODEL)
    assert old == {"acme": 10, "globex": 19} and _by_tenant(embedded_db, NEW) == old
    swapped = cli("swap", "--profile", profile, "--from", NEW, "--to", LIVE, "--json", env=env)
    assert swapped.code == 0, swapped.err
    assert swapped.json["chunks"] == 29 and swapped.json["embeddings"] == 29
    assert _by_tenant(embedded_db, LIVE, NEW_MODEL) == old and _by_tenant(embedded_db, LIVE) == old
    assert _by_tenant(embedded_db, LIVE + "__retired", TEST_MODEL) == old and _by_tenant(embedded_db, NEW) == {}


def _swapped_under_rls(db, pg, v2_server, demo_profile, cli, tmp_path):
    """NEW filled by the app role under RLS for both tenants and swapped in; the profile and the role's environment."""
    profile = _rls_profile(demo_profile, tmp_path, "acme, globex")
    env = _filled_under_rls(db, pg, v2_server, profile, cli)
    assert cli("swap", "--profile", profile, "--from", NEW, "--to", LIVE, env=env).code == 0
    return profile, env


def test_rollback_under_rls_restores_every_tenants_rows(embedded_db, pg, v2_server, demo_profile, cli, tmp_path):
    profile, env = _swapped_under_rls(embedded_db, pg, v2_server, demo_profile, cli, tmp_path)
    rolled = cli("swap", "--profile", profile, "--rollback", "--to", LIVE, "--json", env=env)
    assert rolled.code == 0, rolled.err
    assert rolled.json["chunks"] == 29
    assert _by_tenant(embedded_db, LIVE, TEST_MODEL) == {"acme": 10, "globex": 19} == _by_tenant(embedded_db, LIVE)
    assert _by_tenant(embedded_db, NEW, NEW_MODEL) == {"acme": 10, "globex": 19}
    assert _by_tenant(embedded_db, LIVE + "__retired") == {}


def test_swap_under_rls_refuses_while_a_tenant_is_not_listed(embedded_db, pg, v2_server, demo_profile, cli, tmp_path):
    """NEW filled in globex's view alone matches globex's live rows; acme's live rows, hidden, would stay behind."""
    profile = _rls_profile(demo_profile, tmp_path, "globex")
    env = _filled_under_rls(embedded_db, pg, v2_server, profile, cli)
    swapped = cli("swap", "--profile", profile, "--from", NEW, "--to", LIVE, env=env)
    assert swapped.code == 2, swapped.out
    assert "matches_live unproven" in swapped.err and "10 rows belong to tenants not listed" in swapped.err
    assert _by_tenant(embedded_db, LIVE, TEST_MODEL) == {"acme": 10, "globex": 19}
    assert _by_tenant(embedded_db, NEW) == {"globex": 19}


def test_swap_under_rls_refuses_when_a_tenants_rows_cannot_be_relabelled(embedded_db, pg, v2_server, demo_profile,
                                                                         cli, tmp_path):
    """acme may read its chunks but not update them: the relabel would leave them behind, so nothing is swapped."""
    profile = _rls_profile(demo_profile, tmp_path, "acme, globex")
    env = _filled_under_rls(embedded_db, pg, v2_server, profile, cli)
    embedded_db.execute("CREATE POLICY frozen ON document_chunks AS RESTRICTIVE FOR UPDATE USING (tenant_id <> 'acme')")
    swapped = cli("swap", "--profile", profile, "--from", NEW, "--to", LIVE, env=env)
    assert swapped.code == 2, swapped.out
    assert "moved 19 chunks" in swapped.err and "where 29 and 29 were counted" in swapped.err
    assert "Swapped" not in swapped.out
    assert _by_tenant(embedded_db, LIVE, TEST_MODEL) == {"acme": 10, "globex": 19} == _by_tenant(embedded_db, NEW)
    assert _by_tenant(embedded_db, LIVE + "__retired") == {}


def test_drop_retired_under_rls_deletes_every_tenants_old_rows(embedded_db, pg, v2_server, demo_profile, cli, tmp_path):
    profile, env = _swapped_under_rls(embedded_db, pg, v2_server, demo_profile, cli, tmp_path)
    dropped = cli("swap", "--profile", profile, "--drop-retired", "--to", LIVE, "--json", env=env)
    assert dropped.code == 0, dropped.err
    assert dropped.json["chunks"] == 29 and dropped.json["embeddings"] == 29
    assert _by_tenant(embedded_db, LIVE + "__retired") == {}
    assert _by_tenant(embedded_db, LIVE, NEW_MODEL) == {"acme": 10, "globex": 19}


def test_drop_retired_under_rls_refuses_when_a_tenants_rows_cannot_be_deleted(embedded_db, pg, v2_server, demo_profile,
                                                                             cli, tmp_path):
    profile, env = _swapped_under_rls(embedded_db, pg, v2_server, demo_profile, cli, tmp_path)
    embedded_db.execute("CREATE POLICY kept ON document_chunks AS RESTRICTIVE FOR DELETE USING (tenant_id <> 'acme')")
    dropped = cli("swap", "--profile", profile, "--drop-retired", "--to", LIVE, env=env)
    assert dropped.code == 2, dropped.out
    assert "deleted 19 chunks where 29 were counted" in dropped.err
    assert _by_tenant(embedded_db, LIVE + "__retired", TEST_MODEL) == {"acme": 10, "globex": 19}


def test_drop_retired_under_rls_refuses_while_a_tenant_is_not_listed(embedded_db, pg, v2_server, demo_profile, cli,
                                                                     tmp_path):
    env = _filled_under_rls(embedded_db, pg, v2_server, _rls_profile(demo_profile, tmp_path, "acme, globex"), cli)
    assert cli("swap", "--profile", tmp_path / "profile.yaml", "--from", NEW, "--to", LIVE, env=env).code == 0
    dropped = cli("swap", "--profile", _rls_profile(demo_profile, tmp_path, "globex"), "--drop-retired", "--to", LIVE,
                  env=env)
    assert dropped.code == 2, dropped.out
    assert "cannot be dropped whole" in dropped.err and "10 rows belong to tenants not listed" in dropped.err
    assert _by_tenant(embedded_db, LIVE + "__retired", TEST_MODEL) == {"acme": 10, "globex": 19}


def test_rollback_refuses_while_a_collection_already_holds_the_replacements_name(embedded_db, v2_server, demo_profile,
                                                                                  cli):
    """Rollback relabels live back to NEW's name: were NEW filled again meanwhile, the two would be merged."""
    embedded_db.execute("ALTER TABLE document_chunks DROP CONSTRAINT document_chunks_collection_document_id_chunk_index_key")
    env = _env(embedded_db, v2_server.url, NEW_MODEL)
    assert cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, env=env).code == 0
    assert cli("swap", "--profile", demo_profile, "--from", NEW, "--to", LIVE, env=env).code == 0
    assert cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, env=env).code == 0
    result = cli("swap", "--profile", demo_profile, "--rollback", "--to", LIVE, env=env)
    assert result.code == 2, result.out
    assert NEW in result.err
    assert len(_texts(embedded_db, NEW)) == 29 and len(_texts(embedded_db, LIVE)) == 29


def test_a_live_edit_between_the_gate_and_the_relabel_refuses_the_swap(embedded_db, v2_server, demo_profile, cli,
                                                                       monkeypatch):
    import importlib

    swap_module = importlib.import_module("harness.backfill.swap")
    env = _env(embedded_db, v2_server.url, NEW_MODEL)
    assert cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, env=env).code == 0
    measured = swap_module.matches_live

    def then_edit(session, new, live):
        outcome = measured(session, new, live)
        _edit_live_after_the_copy(embedded_db)  # the application writes on meanwhile
        return outcome

    monkeypatch.setattr(swap_module, "matches_live", then_edit)
    result = cli("swap", "--profile", demo_profile, "--from", NEW, "--to", LIVE, env=env)
    assert result.code == 2, result.out
    assert "changed after the gate" in result.err and "--sync" in result.err
    assert len(_texts(embedded_db, LIVE)) == 31 and len(_texts(embedded_db, NEW)) == 29  # nothing swapped
