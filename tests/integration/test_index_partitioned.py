"""The index check on an embeddings table partitioned by collection: a search of one collection reads its partition,
through the partition's own index (made by an index on the parent, or on each partition alone)."""

import pytest

from harness.checks import index

from ..conftest import DEMO_PROFILE, TEST_MODEL
from .conftest import checked

PARTITIONED = """
ALTER TABLE document_embeddings RENAME TO unpartitioned;
DROP INDEX document_embeddings_embedding_idx;
CREATE TABLE document_embeddings (LIKE unpartitioned INCLUDING DEFAULTS, PRIMARY KEY (chunk_id, collection))
  PARTITION BY LIST (collection);
CREATE TABLE embeddings_global PARTITION OF document_embeddings FOR VALUES IN ('global_corpus');
CREATE TABLE embeddings_acme PARTITION OF document_embeddings FOR VALUES IN ('tenant_acme');
CREATE TABLE embeddings_globex PARTITION OF document_embeddings FOR VALUES IN ('tenant_globex');
INSERT INTO document_embeddings SELECT * FROM unpartitioned;
DROP TABLE unpartitioned;
"""
ON_PARENT = "CREATE INDEX document_embeddings_embedding_idx ON document_embeddings USING hnsw (embedding vector_cosine_ops)"
ON_EACH = "; ".join(f"CREATE INDEX {p}_hnsw ON {p} USING hnsw (embedding vector_cosine_ops)"
                    for p in ("embeddings_global", "embeddings_acme", "embeddings_globex"))


def index_of(db, server):
    profile = DEMO_PROFILE.read_text().replace("${EMBED_MODEL:-all-minilm}", TEST_MODEL).replace(
        "  tenant: tenant_id\nchunking:", "  tenant: tenant_id\n  index_min_rows: 100\nchunking:")
    return checked(index, "tenant_acme", profile, db.dsn, server.url)


@pytest.mark.parametrize("made", [ON_PARENT, ON_EACH], ids=["on the parent", "on each partition"])
def test_a_partitioned_embeddings_table_passes_index_by_its_partitions_index(embedded_db, embed_server, made):
    """A partitioned table's search scans a partition through the partition's index: the parent's index name never
    appears in its plan (the check said 'exists but EXPLAIN of the spot query never uses it'), and indexes made on each
    partition alone are on no index of the parent (it said 'vector indexes: none')."""
    embedded_db.execute(PARTITIONED)
    embedded_db.execute(made)
    outcome = index_of(embedded_db, embed_server)
    assert outcome.status == "passed", outcome.message()
    assert outcome.found.startswith("embeddings_acme_") and "used by the spot query" in outcome.found, outcome.found


def test_a_table_that_is_not_partitioned_passes_index_by_its_own_index(embedded_db, embed_server):
    outcome = index_of(embedded_db, embed_server)
    assert (outcome.status, outcome.found) == ("passed", "document_embeddings_embedding_idx used by the spot query")


def test_a_partition_without_a_vector_index_fails_index(embedded_db, embed_server):
    """The searched collection's partition lacks an index where the others have one: its searches scan it."""
    embedded_db.execute(PARTITIONED)
    embedded_db.execute(ON_EACH.replace("; CREATE INDEX embeddings_acme_hnsw ON embeddings_acme USING hnsw (embedding "
                                        "vector_cosine_ops)", ""))
    outcome = index_of(embedded_db, embed_server)
    assert outcome.status == "failed", outcome.message()
