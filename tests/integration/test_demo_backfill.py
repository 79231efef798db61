"""End to end: the demo app's own backfill entrypoint fills every collection against real Postgres and HTTP."""

import os
import subprocess
import sys

from harness.backfill import BackfillOptions, collection_state, run_backfill
from harness.db import connect
from harness.profile import load_profile
from harness.provider import OllamaProvider
from harness.target import Target
from harness.settings import resolve

from ..conftest import REPO, TEST_MODEL

COLLECTIONS = ("global_corpus", "tenant_acme", "tenant_globex")


def test_demo_corpus_has_a_global_collection_and_two_tenants(demo_db):
    counts = dict(demo_db.connect().execute("SELECT collection, count(*) FROM document_chunks GROUP BY 1").fetchall())
    assert set(counts) == set(COLLECTIONS)
    assert sum(counts.values()) >= 300


def test_app_backfill_entrypoint_embeds_every_chunk_of_each_collection(demo_db, demo_env, demo_profile):
    env = {**os.environ, **demo_env, "DATABASE_URL": demo_db.dsn}
    for collection in COLLECTIONS:
        proc = subprocess.run([sys.executable, "-m", "examples.ragapp.backfill_embeddings", "--collection", collection],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip().startswith("Done. Embedded ")
    profile = load_profile(demo_profile, env=env)
    with connect(demo_db.dsn, autocommit=True) as conn:
        for collection in COLLECTIONS:
            state = collection_state(conn, Target(profile), collection, TEST_MODEL)
            assert state.chunks > 0 and state.embedded == state.chunks and state.needed == 0


def test_second_backfill_embeds_nothing(embedded_db, demo_env, demo_profile, embed_server):
    profile = load_profile(demo_profile, env=demo_env)
    with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
        summary = run_backfill(resolve(profile, database_url=embedded_db.dsn, provider_url=provider.url),
                               BackfillOptions(collection="tenant_acme", progress=False), provider=provider)
    assert summary.selected == 0 and summary.embedded == 0 and summary.ok


def test_the_summary_says_what_the_counts_before_and_after_took(embedded_db, demo_env, demo_profile, embed_server):
    """The evidence has a cost, and the JSON says it: both counts run even when nothing needs embedding."""
    profile = load_profile(demo_profile, env=demo_env)
    with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
        summary = run_backfill(resolve(profile, database_url=embedded_db.dsn, provider_url=provider.url),
                               BackfillOptions(collection="tenant_acme", progress=False), provider=provider)
    assert 0 < summary.count_seconds < summary.seconds
    assert summary.as_dict()["count_seconds"] == round(summary.count_seconds, 3)


def test_stored_vectors_carry_model_and_hash_of_the_chunk_text(embedded_db):
    row = embedded_db.connect().execute(
        "SELECT e.model_name, e.input_hash = encode(sha256(convert_to(c.content, 'UTF8')), 'hex') "
        "FROM document_embeddings e JOIN document_chunks c ON c.id = e.chunk_id LIMIT 1"
    ).fetchone()
    assert row == (TEST_MODEL, True)
