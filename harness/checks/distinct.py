"""No vector stored on two rows whose texts differ: a copy, an off-by-one write, a provider returning one vector for all.

Every vector is read once, in the one pass, with no provider: a cheap exact-arithmetic
fingerprint (hashes of its norm and of its inner product with a fixed pseudo-random
probe, ``stats.fingerprint``) is aggregated there, and fingerprints seen twice are found
in the same statement; only the rows holding them are then read again (by address, in
the pass's snapshot) and confirmed by comparing the vectors themselves and the SHA-256
of their texts.
"""

from __future__ import annotations

import hashlib

import numpy as np
from psycopg import sql

from .outcome import OFFENDERS_CAP, Offender, Outcome, verdict
from .session import CheckSession
from .stats import fingerprint, probe

__all__ = ["confirm", "confirm_across", "distinct_vectors", "probe"]


def confirm(conn, session: CheckSession, fingerprints: list[int], collections: list[str], dims: int | None) -> list[dict]:
    """Rows (of every checked collection) whose exact vector another row with a different text holds, among the rows
    whose fingerprint the pass saw twice; run in the pass's snapshot. Only then are the vectors read a second time
    (a healthy target has no such fingerprint)."""
    if not fingerprints:
        return []
    t, shape = session.target, session.shape
    query = sql.SQL(
        "WITH cand AS (SELECT {id} AS id, {cc} AS collection, {ct} AS tenant, {v}::vector AS v, {th} AS th, "
        "{text} AS text FROM {join} WHERE {v} IS NOT NULL AND {fp} = ANY(%(fps)s::bigint[])), "
        "shared AS (SELECT v, count(*) AS n, count(DISTINCT th) AS texts FROM cand GROUP BY v "
        "HAVING count(DISTINCT th) > 1) "
        "SELECT cand.id, cand.collection, cand.tenant, 'same vector as ' || (s.n - 1) || ' other rows (' || "
        "s.texts || ' different texts)' AS detail, md5(s.v::text) AS grp, cand.text FROM cand JOIN shared s ON s.v = cand.v "
        "WHERE cand.collection = ANY(%(collections)s) ORDER BY 1 LIMIT {cap}").format(
        id=t.chunk_id, cc=shape.chunk_collection(), ct=shape.chunk_tenant(), v=t.vector, th=t.text_hash, text=t.text,
        join=t.join(), fp=fingerprint(shape), cap=sql.Literal(OFFENDERS_CAP))
    params = {"fps": fingerprints, "collections": collections, "dims": dims, "probe": probe(dims) if dims else None}
    return conn.execute(query, params).fetchall()


def candidates(conn, session: CheckSession, fingerprints: list[int], dims: int | None) -> list[dict]:
    """The rows of this view holding one of ``fingerprints``, with their exact vector (as text) and text hash."""
    if not fingerprints:
        return []
    t, shape = session.target, session.shape
    query = sql.SQL(
        "SELECT {id} AS id, {cc} AS collection, {ct} AS tenant, {v}::vector::text AS v, {th} AS th, {text} AS text "
        "FROM {join} WHERE {v} IS NOT NULL AND {fp} = ANY(%(fps)s::bigint[])").format(
        id=t.chunk_id, cc=shape.chunk_collection(), ct=shape.chunk_tenant(), v=t.vector, th=t.text_hash, text=t.text,
        join=t.join(), fp=fingerprint(shape))
    return conn.execute(query, {"fps": fingerprints, "dims": dims, "probe": probe(dims) if dims else None}).fetchall()


def confirm_across(rows: list[dict], collections: list[str]) -> list[dict]:
    """``confirm`` over rows read in several tenants' views (a vector shared across tenants is seen by no single
    view twice): the rows whose exact vector another row with a different text holds, in confirm's form."""
    unique = {(r["collection"], str(r["id"])): r for r in rows}.values()  # overlapping views show a row twice
    groups: dict[str, list[dict]] = {}
    for r in unique:
        groups.setdefault(r["v"], []).append(r)
    found = []
    for v, held in groups.items():
        texts = {r["th"] for r in held}
        if len(texts) < 2:
            continue
        grp = hashlib.md5(v.encode()).hexdigest()
        found += [{"id": r["id"], "collection": r["collection"], "tenant": r["tenant"], "grp": grp, "text": r["text"],
                   "detail": f"same vector as {len(held) - 1} other rows ({len(texts)} different texts)"}
                  for r in held if r["collection"] in collections]
    return sorted(found, key=lambda r: str(r["id"]))[:OFFENDERS_CAP]


def shared_rows(session: CheckSession, collection: str) -> list[Offender]:
    """Rows of the collection whose exact vector is stored on another row with a different text, unless the model
    itself gives those texts one vector (a lexical model reads ``Mr. Mime`` and ``mr mime`` alike)."""
    rows = [r for r in session.onepass().shared if r["collection"] == collection]
    alike = _groups_the_model_makes_alike(session, rows) if rows else set()
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
    found = session.onepass()
    offenders = shared_rows(session, collection)
    return session.partial("distinct_vectors", collection, verdict("distinct_vectors", collection, not offenders,
                   expected="no vector stored on two rows whose texts differ (every row read)",
                   found=f"{len(offenders)} of {st.embedded} vectors shared with a row of another text",
                   offenders=offenders, total=len(offenders),
                   metrics={"shared": len(offenders), "fingerprints_seen_twice": len(found.shared_fps),
                            "read": session.read_by_pass() + (f"; rows of {len(found.shared_fps)} fingerprints seen twice read again to "
                                                               "compare them exactly" if found.shared_fps else "")}))
