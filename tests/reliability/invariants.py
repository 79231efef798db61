"""What must hold after any fault, for the demo schema: coverage, freshness, no duplicates, exact vectors.

Plain SQL over the demo app's tables, so a failure names the invariant that broke.
"""

from __future__ import annotations

import numpy as np
import psycopg

from harness.provider import OllamaProvider
from harness.settings import resolve

_STATE = """
SELECT
  (SELECT count(*) FROM document_chunks c WHERE c.collection = %(c)s) AS chunks,
  (SELECT count(*) FROM document_embeddings e WHERE e.collection = %(c)s) AS rows,
  (SELECT count(*) FROM document_chunks c WHERE c.collection = %(c)s
     AND NOT EXISTS (SELECT 1 FROM document_embeddings e WHERE e.chunk_id = c.id)) AS missing,
  (SELECT count(*) FROM document_chunks c JOIN document_embeddings e ON e.chunk_id = c.id
     WHERE c.collection = %(c)s AND e.input_hash <> encode(sha256(convert_to(c.content, 'UTF8')), 'hex')) AS stale,
  (SELECT count(*) - count(DISTINCT chunk_id) FROM document_embeddings e WHERE e.collection = %(c)s) AS duplicates,
  (SELECT count(*) FROM document_embeddings e WHERE e.collection = %(c)s
     AND NOT EXISTS (SELECT 1 FROM document_chunks c WHERE c.id = e.chunk_id)) AS orphans,
  (SELECT count(*) FROM document_embeddings e WHERE e.collection = %(c)s AND e.model_name <> %(m)s) AS other_model
"""


def state(dsn: str, collection: str, model: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        cur = conn.execute(_STATE, {"c": collection, "m": model})
        return dict(zip([d.name for d in cur.description], cur.fetchone()))


def assert_complete(dsn: str, collection: str, model: str) -> None:
    """Coverage and freshness: every chunk has exactly one fresh vector of the model, nothing else is there."""
    s = state(dsn, collection, model)
    assert s == {**s, "missing": 0, "stale": 0, "duplicates": 0, "orphans": 0, "other_model": 0, "rows": s["chunks"]}, s


def stored(dsn: str, collection: str) -> dict:
    """{chunk_id: (vector text, input_hash, model)} for one collection."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT chunk_id, embedding::text, input_hash, model_name FROM document_embeddings WHERE collection = %s",
            (collection,),
        ).fetchall()
    return {key: (vector, digest, model) for key, vector, digest, model in rows}


def assert_exact(dsn: str, collection: str, reference: dict) -> None:
    """Every stored row equals what a clean run stores for it (same vector, hash and model)."""
    got = stored(dsn, collection)
    wrong = [key for key, value in got.items() if reference[collection].get(key) != value]
    assert not wrong, f"{len(wrong)} rows differ from a clean run, e.g. chunk {wrong[0]}"


def assert_recomputes(dsn: str, collection: str, provider: OllamaProvider, sample: int = 20) -> None:
    """Recompute: re-embedding a sample of chunk texts gives back the stored vectors."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT c.content, e.embedding::text FROM document_chunks c JOIN document_embeddings e ON e.chunk_id = c.id "
            "WHERE c.collection = %s ORDER BY md5(c.id::text) LIMIT %s",
            (collection, sample),
        ).fetchall()
    assert rows
    fresh = provider.embed([text for text, _ in rows]).vectors
    stored_vectors = np.array([[float(x) for x in vec.strip("[]").split(",")] for _, vec in rows], dtype=np.float32)
    cosine = (fresh * stored_vectors).sum(axis=1) / (np.linalg.norm(fresh, axis=1) * np.linalg.norm(stored_vectors, axis=1))
    assert (cosine > 0.9999).all(), cosine.min()


def assert_checks_pass(dsn: str, collection: str, provider_url: str,
                       checks: tuple[str, ...] = ("coverage", "fresh", "recompute", "model", "sane_vectors")) -> None:
    """The project's DONE checks (harness.checks) pass for the collection: coverage, freshness, recompute..."""
    from harness.checks import PER_COLLECTION, CheckOptions, open_session
    from harness.profile import load_profile

    from ..conftest import DEMO_PROFILE, TEST_MODEL

    env = {"OLLAMA_HOST": provider_url, "EMBED_MODEL": TEST_MODEL}
    session = open_session(resolve(load_profile(DEMO_PROFILE, env=env), database_url=dsn, env=env),
                           CheckOptions(collections=(collection,)))
    try:
        outcomes = [PER_COLLECTION[name](session, collection) for name in checks]
    finally:
        session.close()
    failed = [o.message() for o in outcomes if not o.passed]
    assert not failed, failed
