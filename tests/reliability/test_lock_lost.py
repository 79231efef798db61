"""A run whose lock session is killed (pg_terminate_backend, an idle-session reaper) stops before its next commit."""

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.backfill.lock import LockLost
from harness.profile import load_profile
from harness.provider import OllamaProvider
from harness.settings import resolve

from ..conftest import TEST_MODEL

# The session holding the collection's lock (exclusive, session-level). A write session in a transaction holds a
# shared write lock of the same class too (the lock proof), and is not the one a reaper of idle sessions ends: it is
# told apart by its mode, not by pg_stat_activity's state, which is read apart from pg_locks (a writer that committed
# between the two reads looked idle and was terminated too).
LOCK_SESSIONS = ("SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
                 "AND l.mode = 'ExclusiveLock' AND l.classid = hashtext('backfill-harness')::oid "
                 "AND l.objid = hashtext('document_embeddings/global_corpus')::oid")


@pytest.mark.parametrize("writers", [1, 2])
def test_a_run_that_lost_its_lock_stops_and_the_second_run_leaves_no_duplicate(demo_db, demo_profile, embed_server, writers):
    # No unique key on the embeddings: a second writer's rows would simply be added twice.
    demo_db.execute("ALTER TABLE document_embeddings DROP CONSTRAINT document_embeddings_pkey")
    profile = load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL})
    second = []

    def reap_then_start_another(summary):
        if summary.batches == 1:
            for (pid,) in demo_db.connect().execute(LOCK_SESSIONS).fetchall():
                demo_db.execute("SELECT pg_terminate_backend(%s)", (pid,))
            with OllamaProvider(embed_server.url, TEST_MODEL) as other:
                second.append(run_backfill(resolve(profile, database_url=demo_db.dsn, provider_url=other.url),
                                           BackfillOptions("global_corpus", batch_size=20, progress=False), provider=other))

    with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
        with pytest.raises(LockLost, match="lost the lock of collection 'global_corpus'.*writes nothing more"):
            run_backfill(resolve(profile, database_url=demo_db.dsn, provider_url=provider.url),
                         BackfillOptions("global_corpus", batch_size=20, writers=writers, progress=False), provider=provider,
                         on_batch=reap_then_start_another)
    assert second and second[0].ok
    assert demo_db.scalar("SELECT count(*) FROM document_embeddings") == 256
    assert demo_db.scalar("SELECT count(*) FROM (SELECT chunk_id FROM document_embeddings GROUP BY 1 "
                          "HAVING count(*) > 1) d") == 0
