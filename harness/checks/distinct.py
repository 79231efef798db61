"""No vector stored on two rows whose texts differ: a copy, an off-by-one write, a provider returning one vector for all.

Every vector is read once, with no provider: a cheap exact-arithmetic fingerprint
(its norm and its inner product with a fixed pseudo-random probe) groups the
vector table in one parallel-friendly aggregate; only fingerprints seen twice are
then confirmed by comparing the vectors themselves and the SHA-256 of their texts.
"""

from __future__ import annotations

import numpy as np
from psycopg import sql

from .outcome import OFFENDERS_CAP, Offender, Outcome, verdict
from .session import CheckSession

_PROBE_SEED = 20_240_611


def probe(dims: int) -> str:
    """The fixed probe vector, as pgvector text."""
    values = np.random.default_rng(_PROBE_SEED).standard_normal(dims)
    return "[" + ",".join(f"{v:.6f}" for v in values) + "]"


def _fingerprint(session: CheckSession) -> sql.Composable:
    """Two text columns: the norm, and the inner product with the probe (or, with no dimension known, an md5 of the bytes)."""
    v = sql.SQL("{}::vector").format(session.target.vector)
    if session.expected_dimensions():
        other = sql.SQL("CASE WHEN vector_dims({v}) = %(dims)s THEN {v} <#> %(probe)s::vector END").format(v=v)
    else:
        other = sql.SQL("md5(vector_send({}))").format(v)
    return sql.SQL("vector_norm({v})::text, ({o})::text").format(v=v, o=other)


def _params(session: CheckSession) -> dict:
    dims = session.expected_dimensions()
    return {"dims": dims, "probe": probe(dims) if dims else None}


def candidates(session: CheckSession) -> list[tuple]:
    """Fingerprints held by more than one vector in the whole vector table (usually none): one aggregate pass."""
    def compute() -> list[tuple]:
        t = session.target
        table = t.chunk_table if session.shape.inline else t.embedding_table
        alias = sql.Identifier(t.emb_alias)
        query = sql.SQL("SELECT a, b FROM (SELECT {fp} FROM {t} AS {al} WHERE {v} IS NOT NULL) AS f(a, b) "
                        "GROUP BY a, b HAVING count(*) > 1").format(fp=_fingerprint(session), t=table, al=alias,
                                                                     v=t.vector)
        with session.read_only() as conn:
            return [(r["a"], r["b"]) for r in conn.execute(query, _params(session)).fetchall()]
    return session.once(("distinct_vectors", "candidates"), compute)


def shared_rows(session: CheckSession, collection: str, found: list[tuple]) -> list[Offender]:
    """Rows of the collection whose exact vector is stored on another row with a different text, unless the model
    itself gives those texts one vector (a lexical model reads ``Mr. Mime`` and ``mr mime`` alike)."""
    t, shape = session.target, session.shape
    query = sql.SQL(
        "WITH fp(a, b) AS (SELECT * FROM unnest(%(a)s::text[], %(b)s::text[])), "
        "cand AS (SELECT {id} AS id, {cc} AS collection, {ct} AS tenant, {v}::vector AS v, {th} AS th, {text} AS text "
        "FROM {join} WHERE {v} IS NOT NULL AND ({fp}) IN (SELECT a, b FROM fp)), "
        "shared AS (SELECT v, count(*) AS n, count(DISTINCT th) AS texts FROM cand GROUP BY v "
        "HAVING count(DISTINCT th) > 1) "
        "SELECT cand.id, cand.collection, cand.tenant, 'same vector as ' || (s.n - 1) || ' other rows (' || "
        "s.texts || ' different texts)' AS detail, md5(s.v::text) AS grp, cand.text FROM cand JOIN shared s ON s.v = cand.v "
        "WHERE cand.collection = %(collection)s ORDER BY 1 LIMIT {cap}").format(
        id=t.chunk_id, cc=shape.chunk_collection(), ct=shape.chunk_tenant(), v=t.vector, th=t.text_hash, text=t.text,
        join=t.join(), fp=_fingerprint(session), cap=sql.Literal(OFFENDERS_CAP))
    params = {**_params(session), "collection": collection, "a": [a for a, _ in found], "b": [b for _, b in found]}
    with session.read_only() as conn:
        rows = conn.execute(query, params).fetchall()
    alike = _groups_the_model_makes_alike(session, rows)
    return [Offender(r["id"], r["collection"], r["tenant"], r["detail"]) for r in rows if r["grp"] not in alike]


_CONFIRM_GROUPS = 50  # groups re-embedded to tell a model's own ties from misplaced vectors; the rest stay offenders


def _groups_the_model_makes_alike(session: CheckSession, rows: list[dict]) -> set[str]:
    """Groups of shared vectors whose different texts the model itself embeds to one vector (asked, a few groups)."""
    from ..errors import HarnessError

    texts: dict[str, list[str]] = {}
    for r in rows:
        group = texts.setdefault(r["grp"], [])
        if r["text"] not in group:
            group.append(r["text"])
    alike: set[str] = set()
    try:
        provider = session.provider()
        for grp, group in list(texts.items())[:_CONFIRM_GROUPS]:
            vectors = np.asarray(provider.embed(group[:8]).vectors, dtype=np.float64)
            if len(vectors) > 1 and np.allclose(vectors, vectors[0], rtol=0, atol=1e-6):
                alike.add(grp)
    except HarnessError:
        return alike  # no provider to ask: every shared vector stays an offender
    return alike


def distinct_vectors(session: CheckSession, collection: str) -> Outcome:
    """Two rows with different texts never hold the same vector, on every row, without the provider."""
    st = session.stats(collection)
    found = candidates(session)
    offenders = shared_rows(session, collection, found) if found else []
    return verdict("distinct_vectors", collection, not offenders,
                   expected="no vector stored on two rows whose texts differ (every row read)",
                   found=f"{len(offenders)} of {st.embedded} vectors shared with a row of another text",
                   offenders=offenders, total=len(offenders),
                   metrics={"shared": len(offenders), "fingerprints_seen_twice": len(found), "read": st.embedded})
