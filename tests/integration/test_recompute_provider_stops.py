"""The provider stops answering part-way through recompute: rows already found off fail the check (they are bad
whatever the rest holds); where none was, nothing is proven."""

import numpy as np

from ._engine_servers import FaultyProxy
from .test_recompute_reproduced import _recompute

ROWS = 100  # two embedding batches of recompute's 64: the first is compared, the second is refused


def _notes(db, url, *, vector_of: str | None) -> None:
    """ROWS notes; each stored with the vector of ``vector_of`` (another text: off), or of its own text (None)."""
    from harness.provider import OllamaProvider

    from ..conftest import TEST_MODEL
    from .test_recompute_reproduced import NOTES

    db.execute(NOTES)
    texts = {f"n{i:03d}": f"note number {i} about topic {i * 7}" for i in range(ROWS)}
    with OllamaProvider(url, TEST_MODEL) as provider, db.connect(autocommit=True) as conn:
        vectors = provider.embed([vector_of] if vector_of else list(texts.values())).vectors
        for i, (key, text) in enumerate(texts.items()):
            conn.execute("INSERT INTO notes VALUES (%s, %s, %s)",
                         (key, text, np.asarray(vectors[0 if vector_of else i])))


def _stops_after_one_batch():
    """Answers until one request of a whole batch was served, then refuses every request."""
    served: list[int] = []

    def fault(number, body):
        if served:
            return ("status", 400, "model unloaded")
        if len(body.get("input") or []) > 50:
            served.append(number)
        return None
    return fault


def test_rows_found_off_before_the_provider_stopped_fail_recompute_by_name(empty_db, embed_server):
    _notes(empty_db, embed_server.url, vector_of="an unrelated sentence about the weather")
    with FaultyProxy(embed_server.url, _stops_after_one_batch()) as proxy:
        outcome = _recompute(empty_db.dsn, proxy.url)
    assert str(outcome.status) == "failed", outcome
    assert outcome.offending_total == 64 and len({o.id for o in outcome.offenders}) == 64
    assert all(str(o.id).startswith("n") for o in outcome.offenders)
    assert "not compared" in outcome.found and "model unloaded" in outcome.found


def test_no_row_off_before_the_provider_stopped_leaves_recompute_unproven(empty_db, embed_server):
    _notes(empty_db, embed_server.url, vector_of=None)
    with FaultyProxy(embed_server.url, _stops_after_one_batch()) as proxy:
        outcome = _recompute(empty_db.dsn, proxy.url)
    assert str(outcome.status) == "unproven", outcome
    assert "model unloaded" in outcome.message()
