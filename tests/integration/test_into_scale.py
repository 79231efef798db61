"""--into stays linear in rows: the copy is analysed before it is joined, and vectors are taken over in pieces."""

from harness.backfill import reuse
from harness.db import connect
from harness.profile import load_profile
from harness.target import Target

from ..conftest import TEST_MODEL

LIVE, NEW = "tenant_globex", "tenant_globex_v2"


def test_into_analyses_the_tables_it_just_filled(embedded_db, demo_profile, demo_env, cli):
    result = cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, "--json",
                 env={**demo_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 0 and result.json["reused"] == 29, result.err
    analysed = dict(embedded_db.connect().execute(
        "SELECT relname, last_analyze IS NOT NULL FROM pg_stat_user_tables "
        "WHERE relname IN ('document_chunks', 'document_embeddings')").fetchall())
    assert analysed == {"document_chunks": True, "document_embeddings": True}


def test_reused_vectors_are_committed_in_pieces_each_proving_the_lock(embedded_db, demo_profile):
    profile = load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL})
    target = Target(profile)
    embedded_db.execute("INSERT INTO document_chunks (document_id, collection, tenant_id, chunk_index, content, title, url) "
                        "SELECT document_id, %s, tenant_id, chunk_index, content, title, url FROM document_chunks "
                        "WHERE collection = %s", (NEW, LIVE))
    guarded = []
    with connect(embedded_db.dsn) as conn:
        written = reuse.reuse_vectors(conn, target, NEW, TEST_MODEL, guard=lambda c: guarded.append(c.info.transaction_status),
                                      piece=10)
    assert written == 29 and len(guarded) == 3
    assert embedded_db.scalar("SELECT count(*) FROM document_embeddings WHERE collection = %s", (NEW,)) == 29


def test_into_takes_over_no_all_zero_vector(embedded_db, demo_profile, demo_env, cli):
    """The live collection's failed embeddings (all zeros beside their text's hash) are no vector to take over: --into
    said it reused 29 vectors and embedded 3 of a 29-chunk collection, the 3 zeros it had just copied."""
    embedded_db.execute("UPDATE document_embeddings SET embedding = array_fill(0, ARRAY[384])::vector WHERE chunk_id IN "
                        "(SELECT chunk_id FROM document_embeddings WHERE collection = %s ORDER BY chunk_id LIMIT 3)", (LIVE,))
    result = cli("backfill", "--profile", demo_profile, "--collection", LIVE, "--into", NEW, "--json",
                 env={**demo_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 0 and (result.json["reused"], result.json["embedded"]) == (26, 3), result.out + result.err
