"""An embedding row filed under another tenant than its chunk's is no vector of that chunk: the application's
tenant-filtered search never finds it (another tenant's does), so every count needs it and a run replaces it, as one
filed under another collection."""

import sys

from harness.backfill import BackfillOptions, collection_state, run_backfill
from harness.db import connect
from harness.profile import load_profile
from harness.provider import OllamaProvider
from harness.settings import resolve
from harness.target import Target

from ..conftest import TEST_MODEL

COLLECTION = "tenant_globex"  # 29 chunks, tenant globex
MISFILED = "SELECT count(*) FROM document_embeddings e JOIN document_chunks c ON c.id = e.chunk_id " \
           "WHERE e.tenant_id IS DISTINCT FROM c.tenant_id"


def _misfile(db, n: int = 3) -> list[int]:
    ids = [r[0] for r in db.connect().execute(
        "SELECT id FROM document_chunks WHERE collection = %s ORDER BY id LIMIT %s", (COLLECTION, n)).fetchall()]
    db.execute("UPDATE document_embeddings SET tenant_id = 'acme' WHERE chunk_id = ANY(%s)", (ids,))
    return ids


def test_a_vector_filed_under_another_tenant_is_needed(embedded_db, demo_env, demo_profile):
    _misfile(embedded_db)
    with connect(embedded_db.dsn, autocommit=True) as conn:
        state = collection_state(conn, Target(load_profile(demo_profile, env=demo_env)), COLLECTION, TEST_MODEL)
    assert (state.embedded, state.missing, state.needed, state.misfiled) == (29, 0, 3, 3)


def test_a_plain_backfill_files_them_under_their_chunks_tenant(embedded_db, demo_env, demo_profile, embed_server):
    _misfile(embedded_db)
    with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
        summary = run_backfill(resolve(load_profile(demo_profile, env=demo_env), database_url=embedded_db.dsn,
                                       provider_url=provider.url),
                               BackfillOptions(COLLECTION, progress=False), provider=provider)
    assert (summary.selected, summary.embedded, summary.after.needed) == (3, 3, 0)
    assert embedded_db.scalar(MISFILED) == 0


def test_run_of_a_command_that_files_its_vectors_under_no_tenant_is_not_ok(cli, demo_db, demo_profile, target_env,
                                                                            tmp_path):
    # The application's own script embeds every chunk, and files the rows under no tenant (it forgot the column).
    script = tmp_path / "backfill.py"
    script.write_text("import os, runpy, sys, psycopg\n"
                      "sys.argv = ['backfill_embeddings', '--collection', sys.argv[1]]\n"
                      "try:\n    runpy.run_module('examples.ragapp.backfill_embeddings', run_name='__main__')\n"
                      "except SystemExit:\n    pass\n"
                      "psycopg.connect(os.environ['DATABASE_URL'], autocommit=True).execute("
                      "'UPDATE document_embeddings SET tenant_id = NULL')\n")
    result = cli("run", "--profile", demo_profile, "--collection", COLLECTION, "--run-dir", tmp_path / "run", "--json",
                 "--command", f"{sys.executable} {script} {{collection}}", env={**target_env, "DATABASE_URL": demo_db.dsn})
    assert result.code == 1 and result.json["ok"] is False
    assert result.json["problems"] == ["29 of 29 rows still need a vector (29 of them have a vector filed under "
                                       "another tenant than their chunk's)"]
