"""Every answer is validated before it is written; a bad answer leaves nothing of its batch; both failure policies."""

import math

import pytest

from harness.backfill import CONTINUE, BackfillOptions, run_backfill
from harness.profile import load_profile
from harness.provider import OllamaProvider
from harness.settings import resolve

from ..conftest import TEST_MODEL
from ._engine_servers import FaultyProxy

BATCH = 10


def _first_answer(edit):
    return lambda number, body: ("edit", edit) if number == 1 else None


def _wrong_dimension(answer):
    answer["embeddings"] = [v[:100] for v in answer["embeddings"]]
    return answer


def _nan_in_one_vector(answer):
    answer["embeddings"][3][7] = math.nan
    return answer


def _short_batch(answer):
    answer["embeddings"] = answer["embeddings"][:-1]
    return answer


def _globex_ids(db):
    return [r[0] for r in db.connect().execute(
        "SELECT id FROM document_chunks WHERE collection = 'tenant_globex' ORDER BY id").fetchall()]


def _written(db, ids):
    return db.scalar("SELECT count(*) FROM document_embeddings WHERE chunk_id = ANY(%s)", (ids,))


def _run(db, url, profile_path, on_failure=CONTINUE):
    profile = load_profile(profile_path, env={"EMBED_MODEL": TEST_MODEL})
    with OllamaProvider(url, TEST_MODEL, retries=0) as provider:
        return run_backfill(resolve(profile, database_url=db.dsn, provider_url=provider.url),
                            BackfillOptions("tenant_globex", batch_size=BATCH, on_failure=on_failure, progress=False),
                            provider=provider)


@pytest.mark.parametrize("edit, reason", [
    (_wrong_dimension, "dimension 100, expected 384"),
    (_nan_in_one_vector, "non-finite"),
    (_short_batch, "returned 9 vectors for 10 inputs"),
], ids=["wrong-dimension", "nan", "short-batch"])
def test_a_bad_answer_is_refused_and_nothing_of_its_batch_is_written(demo_db, embed_server, demo_profile, edit, reason):
    ids = _globex_ids(demo_db)
    with FaultyProxy(embed_server.url, _first_answer(edit)) as proxy:
        summary = _run(demo_db, proxy.url, demo_profile)
    assert summary.failed == BATCH and all(reason in f.reason for f in summary.failures)
    assert _written(demo_db, ids[:BATCH]) == 0
    assert _written(demo_db, ids[BATCH:]) == len(ids) - BATCH
    assert not summary.ok


def _poison(number, body):
    if any("POISON" in text for text in body["input"]):
        return ("status", 400, "input rejected: POISON")
    return None


def test_continue_policy_isolates_the_bad_row_and_embeds_the_rest(demo_db, embed_server, cli, demo_profile):
    ids = _globex_ids(demo_db)
    demo_db.execute("UPDATE document_chunks SET content = content || ' POISON' WHERE id = %s", (ids[4],))
    with FaultyProxy(embed_server.url, _poison) as proxy:
        result = cli("backfill", "--profile", demo_profile, "--collection", "tenant_globex", "--batch-size", BATCH,
                     "--continue-on-error", env={"OLLAMA_HOST": proxy.url, "EMBED_MODEL": TEST_MODEL, "DATABASE_URL": demo_db.dsn})
    assert result.code == 1
    assert f"Done. Embedded {len(ids) - 1}/{len(ids)} rows. 1 failures." in result.out
    assert f"failed: key {ids[4]}" in result.out and "POISON" in result.out
    assert _written(demo_db, ids) == len(ids) - 1


def test_fail_fast_stops_at_the_first_failure_with_nothing_of_that_batch_written(demo_db, embed_server, cli, demo_profile):
    ids = _globex_ids(demo_db)
    demo_db.execute("UPDATE document_chunks SET content = content || ' POISON' WHERE id = %s", (ids[BATCH + 2],))
    with FaultyProxy(embed_server.url, _poison) as proxy:
        result = cli("backfill", "--profile", demo_profile, "--collection", "tenant_globex", "--batch-size", BATCH,
                     "--fail-fast", env={"OLLAMA_HOST": proxy.url, "EMBED_MODEL": TEST_MODEL, "DATABASE_URL": demo_db.dsn})
    assert result.code == 1 and "stopped: fail-fast" in result.out
    assert _written(demo_db, ids[:BATCH]) == BATCH
    assert _written(demo_db, ids[BATCH:]) == 0


def test_an_over_context_text_is_truncated_deliberately_and_counted(demo_db, embed_server, demo_profile):
    ids = _globex_ids(demo_db)
    demo_db.execute("UPDATE document_chunks SET content = repeat('word ', 3000) WHERE id = %s", (ids[2],))
    summary = _run(demo_db, embed_server.url, demo_profile)
    assert summary.ok and summary.embedded == len(ids) and summary.truncated == 1
    assert _written(demo_db, ids) == len(ids)


def test_a_ragged_answer_is_refused_like_any_other_bad_answer(demo_db, embed_server, demo_profile):
    ids = _globex_ids(demo_db)

    def ragged(answer):
        answer["embeddings"][0] = answer["embeddings"][0][:10]
        return answer

    with FaultyProxy(embed_server.url, _first_answer(ragged)) as proxy:
        summary = _run(demo_db, proxy.url, demo_profile)
    assert summary.failed == BATCH and "differing dimensions" in summary.failures[0].reason
    assert _written(demo_db, ids[:BATCH]) == 0 and _written(demo_db, ids[BATCH:]) == len(ids) - BATCH
