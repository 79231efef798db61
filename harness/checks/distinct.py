"""No vector stored on two rows whose texts differ: a copy, an off-by-one write, a provider returning one vector for all.

Every vector is read once, in the one pass, with no provider: a cheap exact-arithmetic
fingerprint (hashes of its norm and of its inner product with a fixed pseudo-random
probe, ``stats.fingerprint``) is aggregated there, and fingerprints seen twice are found
in the same statement; only the rows holding them are then read again (by address, in
the pass's snapshot) and confirmed by comparing the vectors themselves and the hash (``embeddings.input_hash_algorithm``)
of their texts.
"""

from __future__ import annotations

import numpy as np
from psycopg import sql

from .outcome import OFFENDERS_CAP, Offender, Outcome, verdict
from .session import CheckSession
from .stats import fingerprint, probe

__all__ = ["confirm", "distinct_vectors", "first_rows", "held_across", "probe", "rows_holding", "vectors_held"]


def _fingerprint_params(dims: int | None) -> dict:
    """The parameters ``stats.fingerprint`` reads."""
    return {"dims": dims, "probe": probe(dims) if dims else None}


def _holding(session: CheckSession, *, each: bool = False) -> sql.Composed:
    """The join's rows holding a vector whose fingerprint is one of ``%(fps)s`` (a FROM clause and its WHERE);
    ``each``: a chunk of several collections once for each checked one (``Target.each_checked_collection``)."""
    t = session.target
    return sql.SQL("{join}{each} WHERE {v} IS NOT NULL AND {fp} = ANY(%(fps)s::bigint[])").format(
        join=t.join(), each=t.each_checked_collection() if each else sql.SQL(""), v=t.vector, fp=fingerprint(session.shape))


def confirm(conn, session: CheckSession, fingerprints: list[int], collections: list[str], dims: int | None) -> list[dict]:
    """Rows whose exact vector another row with a different text holds, among the rows whose fingerprint the pass saw
    twice, those of the checked collections first (``checked``; the others' texts tell whose the vector is); run in the
    pass's snapshot. Only then are the vectors read a second time (a healthy target has no such fingerprint)."""
    if not fingerprints:
        return []
    t, shape = session.target, session.shape
    query = sql.SQL(
        "WITH cand AS (SELECT {id} AS id, {cc} AS collection, {ct} AS tenant, {v}::vector AS v, {th} AS th, "
        "{text} AS text, {once} AS once FROM {holding}), "
        "shared AS (SELECT v, count(*) FILTER (WHERE once) AS n, count(DISTINCT th) AS texts FROM cand GROUP BY v "
        "HAVING count(DISTINCT th) > 1) "
        "SELECT cand.id, cand.collection, cand.tenant, 'same vector as ' || (s.n - 1) || ' other rows (' || "
        "s.texts || ' different texts)' AS detail, md5(s.v::text) AS grp, cand.text, "
        "coalesce(cand.collection = ANY(%(collections)s), false) AS checked FROM cand JOIN shared s ON s.v = cand.v "
        "ORDER BY checked DESC, 1 LIMIT {cap}").format(
        id=t.chunk_id, cc=shape.checked_collection(), ct=shape.chunk_tenant(), v=t.vector, th=t.embedded_text_hash, text=t.text,
        once=t.read_once(), holding=_holding(session, each=True), cap=sql.Literal(OFFENDERS_CAP))
    params = {"fps": fingerprints, "collections": collections, **_fingerprint_params(dims)}
    return conn.execute(query, params).fetchall()


def vectors_held(conn, session: CheckSession, fingerprints: list[int], dims: int | None) -> list[dict]:
    """Each exact vector (``grp``, a digest of its text form) among this view's rows holding one of ``fingerprints``:
    its rows, its lowest and highest text hash and its texts; one row a vector, never the rows themselves (read
    into this process, a vector every row holds was every row, vector and text each)."""
    if not fingerprints:
        return []
    t = session.target
    query = sql.SQL(
        "SELECT md5({v}::vector::text) AS grp, count(*) AS n, min({th}) AS lo, max({th}) AS hi, "
        "count(DISTINCT {th}) AS texts FROM {holding} GROUP BY 1").format(v=t.vector, th=t.embedded_text_hash,
                                                                          holding=_holding(session))
    return conn.execute(query, {"fps": fingerprints, **_fingerprint_params(dims)}).fetchall()


def held_across(views: list[list[dict]]) -> dict[str, dict]:
    """``vectors_held`` of several tenants' views together: the vectors held with more than one text in all of them
    (a vector shared across tenants is seen by no single view twice), with their rows and texts (at least)."""
    held: dict[str, dict] = {}
    for rows in views:
        for r in rows:
            h = held.setdefault(r["grp"], {"n": 0, "lo": None, "hi": None, "texts": 0})
            h["n"] += r["n"]  # a row two views show (overlapping policies) counts twice
            h["texts"] = max(h["texts"], r["texts"])
            if r["lo"] is not None:  # rows of NULL texts only: no hash, no text (``confirm`` counts them so)
                h["lo"] = r["lo"] if h["lo"] is None else min(h["lo"], r["lo"])
                h["hi"] = r["hi"] if h["hi"] is None else max(h["hi"], r["hi"])
    return {grp: {**h, "texts": max(h["texts"], 2)} for grp, h in held.items() if h["lo"] != h["hi"]}


def rows_holding(conn, session: CheckSession, held: dict[str, dict], fingerprints: list[int], collections: list[str],
                 dims: int | None) -> list[dict]:
    """This view's rows holding one of the ``held`` vectors (``held_across``), in ``confirm``'s form: the first
    ``OFFENDERS_CAP`` by key, those of ``collections`` first."""
    if not held:
        return []
    t, shape = session.target, session.shape
    query = sql.SQL(
        "SELECT {id} AS id, {cc} AS collection, {ct} AS tenant, md5({v}::vector::text) AS grp, {text} AS text, "
        "coalesce({cc} = ANY(%(collections)s), false) AS checked FROM {holding} AND md5({v}::vector::text) = ANY(%(grps)s) "
        "ORDER BY checked DESC, 1 LIMIT {cap}").format(id=t.chunk_id, cc=shape.checked_collection(), ct=shape.chunk_tenant(), v=t.vector,
                              text=t.text, holding=_holding(session, each=True), cap=sql.Literal(OFFENDERS_CAP))
    rows = conn.execute(query, {"fps": fingerprints, "collections": collections, "grps": list(held),
                                **_fingerprint_params(dims)}).fetchall()
    return [{**r, "detail": f"same vector as {held[r['grp']]['n'] - 1} other rows of the tenants' views (at least "
                            f"{held[r['grp']]['texts']} different texts)"} for r in rows]


def first_rows(rows: list[dict]) -> list[dict]:
    """Offending rows found in several views: each once, the first ``OFFENDERS_CAP`` by key, those of the checked
    collections first (kept at that bound as views are read, not views x the cap). Rows without a key (an inline
    table's NULL key) cannot be told apart: each is kept, after those with one (as ORDER BY sorts NULL)."""
    unique: dict[tuple, dict] = {}
    keyless = []
    for r in rows:
        if r["id"] is None:
            keyless.append(r)
        else:
            unique.setdefault((r["collection"], str(r["id"])), r)  # the first seen of a row two views show
    return (sorted(unique.values(), key=lambda r: (not r.get("checked", True), r["id"])) + keyless)[:OFFENDERS_CAP]


def shared_rows(session: CheckSession, collection: str) -> list[Offender]:
    """Rows of the collection whose exact vector is stored on another row with a different text, unless the model
    embeds the row's own text to that vector: the vector is then its own (the row a copy was made from, re-embedding
    it changes nothing), or the model gives those texts one vector (it reads ``Mr. Mime`` and ``mr mime`` alike)."""
    every = session.onepass().shared
    rows = [r for r in every if r["checked"] and r["collection"] == collection]
    groups = {r["grp"] for r in rows}
    # rows read up to the cap may leave out a shared vector's other texts (and rows): then none is the vector's own
    complete = len(every) < OFFENDERS_CAP
    own = _texts_the_vector_is_of(session, [r for r in every if r["grp"] in groups]) if rows and complete else set()
    return [Offender(r["id"], r["collection"], r["tenant"], r["detail"]) for r in rows
            if (r["grp"], r["text"]) not in own]


_CONFIRM_GROUPS = 50  # groups re-embedded to tell a model's own ties from misplaced vectors; the rest stay offenders
_CONFIRM_TEXTS = 64  # a group holding more different texts is not asked (each text must be): its rows stay offenders
# Asked beside each group: a provider that embeds it to the group's vector too answers one vector for every text, and
# its ties excuse nothing (recompute, asking it, would pass the same vectors).
_UNLIKE = "zygote quorum 4711 lantern"


def _texts_the_vector_is_of(session: CheckSession, rows: list[dict]) -> set[tuple[str, str]]:
    """(group, text) of the shared vectors' texts that the model itself embeds to the vector their rows hold, as closely
    as any other text of the group (``rows``: every collection's), where it embeds an unrelated text to another (asked,
    a few groups)."""
    from ..errors import HarnessError
    from .recompute import THRESHOLD, cosine

    texts: dict[str, list[str]] = {}
    first: dict[str, dict] = {}
    for r in rows:
        group = texts.setdefault(r["grp"], [])
        first.setdefault(r["grp"], r)
        if r["text"] not in group:
            group.append(r["text"])
    own: set[tuple[str, str]] = set()
    try:
        provider = session.provider()
        for grp, group in list(texts.items())[:_CONFIRM_GROUPS]:
            if len(group) > _CONFIRM_TEXTS:
                continue
            vectors = np.asarray(provider.embed(group + [_UNLIKE]).vectors, dtype=np.float64)
            made, unlike = vectors[:len(group)], vectors[len(group):]
            held = _held_vector(session, first[grp])
            if held is None or (cosine(held, unlike[0]) or 0.0) >= THRESHOLD:
                continue  # a provider answering one vector for every text excuses nothing
            # The model's vector of the text must be the one held (to recompute's tolerance, which another build of
            # the model stays within), and no other text's closer: a text edited after the vector was made is
            # within that tolerance too, but its vector is the original text's, which the model makes exactly.
            near = [cosine(held, vector) or 0.0 for vector in made]
            best = max(near)
            own.update((grp, text) for text, c in zip(group, near) if c >= THRESHOLD and c >= best - 1e-6)
    except HarnessError:
        return own  # no provider to ask: every shared vector stays an offender
    return own


def _held_vector(session: CheckSession, row: dict) -> np.ndarray | None:
    """The vector a shared row holds, read again by its key (in each tenant's view until one shows it)."""
    from .recompute import _vector

    t, shape = session.target, session.shape
    query = sql.SQL("SELECT {v} AS v FROM {join} WHERE {id}::text = %(id)s AND {cc} = %(collection)s AND {v} IS NOT NULL "
                    "LIMIT 1").format(v=t.vector, join=t.join(), id=t.chunk_id, cc=shape.chunk_collection())
    for tenant in session.tenants:
        with session.read_only(tenant) as conn:
            found = conn.execute(query, {"id": str(row["id"]), "collection": row["collection"]}).fetchone()
        if found is not None:
            return _vector(found["v"])
    return None


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
