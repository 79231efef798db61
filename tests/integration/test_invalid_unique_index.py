"""A unique index a failed ``CREATE UNIQUE INDEX CONCURRENTLY`` left behind (invalid: the rows it was built on hold
duplicates) proves nothing unique: the checks and counts measure the duplicates it did not rule out."""

import psycopg
import pytest

from harness.checks import coverage

from ..conftest import TEST_MODEL, demo_profile_with
from .conftest import checked

COLLECTION = "tenant_acme"


def _one_chunk_twice_and_one_without(db) -> tuple[int, int]:
    """tenant_acme's first chunk gets a second embedding row, its second chunk loses its one; then a unique index on
    the key is tried concurrently, fails on the duplicate, and stays, invalid."""
    first, second = [r[0] for r in db.connect().execute(
        "SELECT id FROM document_chunks WHERE collection = %s ORDER BY id LIMIT 2", (COLLECTION,)).fetchall()]
    db.execute("ALTER TABLE document_embeddings DROP CONSTRAINT document_embeddings_pkey")
    db.execute("INSERT INTO document_embeddings SELECT * FROM document_embeddings WHERE chunk_id = %s", (first,))
    db.execute("DELETE FROM document_embeddings WHERE chunk_id = %s", (second,))
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute("CREATE UNIQUE INDEX CONCURRENTLY document_embeddings_chunk_key ON document_embeddings (chunk_id)")
    assert db.scalar("SELECT NOT indisvalid FROM pg_index WHERE indexrelid = 'document_embeddings_chunk_key'::regclass")
    return first, second


def test_coverage_counts_the_duplicates_and_the_missing_chunk_an_invalid_unique_index_left(embedded_db, embed_server):
    """The invalid index was read as proof of one row per key: the chunk with two rows made up for the chunk with
    none, and coverage passed ('107 embedded, 0 missing')."""
    first, second = _one_chunk_twice_and_one_without(embedded_db)
    profile = demo_profile_with("custom_checks: []\n").replace("${EMBED_MODEL:-all-minilm}", TEST_MODEL)
    outcome = checked(coverage, COLLECTION, profile, embedded_db.dsn, embed_server.url)
    assert outcome.status == "failed", outcome
    assert "1 missing" in outcome.found and "1 duplicate" in outcome.found, outcome.found
    assert {str(first), str(second)} <= {str(o.id) for o in outcome.offenders}, outcome.offenders
