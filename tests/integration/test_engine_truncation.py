"""Over-context texts cost one more request per batch, not a split: the batch is sent again truncated, and counted exactly."""

from harness.backfill import BackfillOptions, run_backfill
from harness.profile import load_profile
from harness.provider import OllamaProvider
from harness.settings import resolve

from ..conftest import TEST_MODEL


def _globex(db, n):
    with db.connect() as conn:
        return [r[0] for r in conn.execute("SELECT id FROM document_chunks WHERE collection = 'tenant_globex' ORDER BY id "
                                           "LIMIT %s", (n,)).fetchall()]


def test_three_over_context_texts_in_a_batch_take_a_handful_of_requests_and_are_counted(demo_db, embed_server, demo_profile):
    ids = _globex(demo_db, 100)
    demo_db.execute("UPDATE document_chunks SET content = repeat('word ', 3000) WHERE id = ANY(%s)", (ids[5:8],))
    profile = load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL})
    with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
        summary = run_backfill(resolve(profile, database_url=demo_db.dsn, provider_url=provider.url),
                               BackfillOptions(collection="tenant_globex", batch_size=100, progress=False),
                               provider=provider)
    assert summary.ok and summary.truncated == 3 and summary.failed == 0
    batches = -(-summary.before.needed // 100)
    # each batch once; the over-context batch once more truncated, plus one probe per text longer than the context
    assert summary.requests == batches + 1 + 3, summary.requests


def test_a_long_text_within_the_context_is_not_counted_as_truncated(demo_db, embed_server, demo_profile):
    ids = _globex(demo_db, 100)
    # 2,000 words fit hash-embed's 2,048-token context although the text is far longer than 2,048 bytes
    demo_db.execute("UPDATE document_chunks SET content = repeat('word ', 2000) WHERE id = %s", (ids[1],))
    demo_db.execute("UPDATE document_chunks SET content = repeat('word ', 3000) WHERE id = %s", (ids[2],))
    profile = load_profile(demo_profile, env={"EMBED_MODEL": TEST_MODEL})
    with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
        summary = run_backfill(resolve(profile, database_url=demo_db.dsn, provider_url=provider.url),
                               BackfillOptions(collection="tenant_globex", batch_size=100, progress=False),
                               provider=provider)
    assert summary.ok and summary.truncated == 1
