"""Checks read from the one-pass counts: coverage, dimensions, model, fresh, sane vectors.

Offending rows are only looked up (ten at most) when a count says there are some,
so a healthy target costs one pass in all.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

from ..db import one
from ..errors import HarnessError
from ..model_names import other_model
from .live import copy_stopped
from .outcome import FAIL, OFFENDERS_CAP, Offender, Outcome, unproven, verdict
from .session import CheckSession
from .shape import NULL
from .stats import stale_by_time


def _rows(session: CheckSession, where: sql.Composable, detail: sql.Composable = sql.SQL("''"),
          collection: str = "", source: str = "join", distinct: bool = False) -> list[Offender]:
    t, shape = session.target, session.shape
    if source == "join":
        frm = t.join()
        cond: sql.Composable = sql.SQL("{} AND {}").format(t.chunk_filter(), where)
        ident, coll, ten = t.chunk_id, shape.chunk_collection(), shape.chunk_tenant()
    else:  # the embedding table alone (orphans)
        frm = sql.SQL("{} AS e").format(t.embedding_rows)
        cond = where
        ident, coll, ten = shape.emb_key(), shape.emb_collection() or NULL, shape.emb_tenant() or NULL
    query = sql.SQL("SELECT {dist}{i} AS id, {c} AS collection, {t} AS tenant, {d}::text AS detail FROM {f} WHERE {w} "
                    "ORDER BY 1 LIMIT {n}").format(dist=sql.SQL("DISTINCT " if distinct else ""), i=ident, c=coll, t=ten, d=detail, f=frm, w=cond, n=sql.Literal(OFFENDERS_CAP))
    params = {"collection": collection, "model": session.model, "dims": session.expected_dimensions()}
    found: list[Offender] = []
    for tenant in session.tenants:  # where the pass counted them: under database.session, each tenant's view
        with session.read_only(tenant) as conn:
            found += [Offender(**r) for r in conn.execute(query, params).fetchall()]
    return found[:OFFENDERS_CAP]


def _without_text(session: CheckSession, collection: str) -> int:
    """The collection's chunks with neither a vector nor a text (``Target.no_text``): nothing to embed, not missing."""
    t = session.target
    query = sql.SQL("SELECT count(*) AS n FROM {} WHERE {} AND {} IS NULL AND {}").format(
        t.join(), t.chunk_filter(), t.vector, t.no_text)
    total = 0
    for tenant in session.tenants:  # as the pass counted them: under database.session, each tenant's view
        with session.read_only(tenant) as conn:
            total += int(one(conn.execute(query, {"collection": collection}).fetchone())["n"])
    return total


def _some_text(session: CheckSession, collection: str) -> bool:
    """Whether any chunk of the collection has a text, with a vector or not (a vector proves nothing of the column the
    profile names: the application may have embedded another); stops at the first one."""
    t = session.target
    query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {} AS c WHERE {} AND NOT {}) AS some").format(
        t.chunk_table, t.chunk_filter(), t.no_text)
    for tenant in session.tenants:
        with session.read_only(tenant) as conn:
            if one(conn.execute(query, {"collection": collection}).fetchone())["some"]:
                return True
    return False


def coverage(session: CheckSession, collection: str) -> Outcome:
    """Every chunk has a non-NULL vector, per collection and per tenant; no embedding outlives its chunk."""
    from ..preflight import chunk_key_outcome, collection_key_outcome  # here: preflight imports the checks' outcome type

    if (hidden := session.unseen("coverage", collection)) is not None:
        return hidden
    st = session.stats(collection)
    t = session.target
    offenders: list[Offender] = []
    no_text = _without_text(session, collection) if st.missing else 0
    missing = st.missing - no_text
    if missing:
        offenders += _rows(session, sql.SQL("{} IS NULL AND NOT {}").format(t.vector, t.no_text),
                           sql.SQL("'missing: no vector'"), collection)
    if st.textless:
        offenders += _rows(session, sql.SQL("{} IS NOT NULL AND {}").format(t.vector, t.no_text),
                           sql.SQL("'no text: its vector embeds nothing the chunk says'"), collection, distinct=True)
    if st.orphans:
        from .stats import keyed_per_collection

        shape = session.shape
        with session.read_only() as conn:
            # As the pass joined them: where ids repeat across collections, another collection's chunk of the same
            # number is not this embedding's.
            same = t.join_on() if keyed_per_collection(conn, shape) else sql.SQL("{} = {}").format(
                t.chunk_id, shape.emb_key())
        cond = sql.SQL("{k} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {c} AS c WHERE {same})").format(
            c=t.chunk_table, same=same, k=shape.emb_key())
        if shape.emb_collection() is not None:
            cond = sql.SQL("{} = %(collection)s AND {}").format(shape.emb_collection(), cond)
        offenders += _rows(session, cond, sql.SQL("'orphan: its chunk is gone'"), collection, source="embeddings")
    if st.duplicates:
        key = session.shape.emb_key()
        dup = sql.SQL("{k} IN (SELECT {k} FROM {t} AS e GROUP BY 1 HAVING count(*) > 1)").format(
            k=key, t=t.embedding_rows)
        offenders += _rows(session, dup, sql.SQL("'duplicate: several embedding rows'"), collection, distinct=True)
    # Per tenant where there are tenants; a collection of no tenant at all says nothing more than its totals.
    tenants = "; ".join(f"tenant {tc.tenant}: {tc.embedded}/{tc.chunks}" for tc in st.tenants
                        if tc.tenant is not None or len(st.tenants) > 1)
    with session.read_only() as conn:
        stopped = copy_stopped(conn, t, collection)  # its chunks all embedded, yet live's are not all there
        keyed = collection_key_outcome(conn, t, collection)
        # One embedding row joined to chunks of different texts sharing its key is the vector of one of them at most,
        # yet each was counted embedded (scope's rule; an inline row holds its own vector whatever its key).
        shared = None if t.inline else chunk_key_outcome(conn, t, collection, session.tenants)
    # A name held by several rows of the collection table: the application reads one of them, so the chunks counted
    # here are not the ones it serves (scope's rule).
    several = "; ".join(o.found for o in (keyed, shared) if o is not None and o.status == FAIL) or None
    # No chunk with a text is a profile naming the wrong column or JSON key (scope's "chunk text"), never a collection
    # with nothing to embed.
    textless = f"no chunk has a text in chunks.text {', '.join(session.profile.chunks.text)}" \
        if st.chunks and not _some_text(session, collection) else None
    ok = missing == 0 and st.orphans == 0 and st.duplicates == 0 and st.chunks > 0 and st.embedded + no_text == st.chunks \
        and st.textless == 0 and stopped is None and several is None and textless is None
    return session.partial("coverage", collection, verdict(
                   "coverage", collection, ok,
                   expected=(f"{st.chunks - no_text} chunks with a text or a vector" if no_text else f"{st.chunks} chunks")
                            + " with one vector each and no orphan embeddings"
                            + (", and every chunk of the collection it copies" if stopped else ""),
                   found=f"{st.embedded} embedded, {missing} missing, {st.orphans} orphans"
                         + (f"; {no_text} chunks with no text (nothing to embed)" if no_text else "")
                         + (f"; {st.textless} chunks with no text hold a vector (of nothing the chunk says, which the "
                            "application's search still returns: delete it, or give the chunk its text; no run embeds "
                            "a chunk without text)" if st.textless else "")
                         + (f", {st.duplicates} duplicate embedding rows" if st.duplicates else "") + (f" ({tenants})" if tenants else "")
                         + (f"; {st.keyless} rows with no chunk key left out (they reference no chunk: no chunk's "
                            "vector, no orphan)" if st.keyless else "")
                         + (f"; {stopped}" if stopped else "") + (f"; {several}" if several else "")
                         + (f"; {textless}" if textless else ""),
                   offenders=offenders, total=missing + st.orphans + st.duplicates + st.textless,
                   metrics={"chunks": st.chunks, "embedded": st.embedded, "missing": missing, "no_text": no_text,
                            "textless": st.textless,
                            "orphans": st.orphans,
                            "keyless": st.keyless,
                            "duplicates": st.duplicates,
                            "tenants": {str(tc.tenant): [tc.embedded, tc.chunks] for tc in st.tenants},
                            "read": session.read_by_pass()}))


def dimensions(session: CheckSession, collection: str) -> Outcome:
    """Declared column dimension = profile's = the model's real one; per-row dims where the column has none."""
    declared, typename = session.declared()
    provider = session.profile.provider
    wanted = provider.vector_dimensions
    problems, found = [], [f"column {typename}"]
    unknown = None  # why the model's real dimension could not be asked
    if wanted is not None:
        found.append(f"profile {wanted}" + (f" (the model's vectors truncated to {wanted} and re-normalised: "
                                            "provider.request_dimensions)" if provider.request_dimensions else ""))
        if declared is not None and declared != wanted:
            problems.append(f"column declares {declared} but the profile says {wanted}")
    try:
        real = session.real_dimensions()
        found.append(f"model {session.model} {real}")
        for name, value in (("column", declared), ("profile", wanted)):
            if value is not None and value != real:
                problems.append(f"{name} says {value} but model {session.model} returns {real}")
    except HarnessError as exc:
        unknown = f"the model's real dimension is unknown: {exc}"
    offenders: list[Offender] = []
    st = session.stats(collection)
    if declared is None:
        found.append(f"{st.wrong_dims} rows of another dimension")
        if st.wrong_dims:
            problems.append(f"{st.wrong_dims} rows are not {session.expected_dimensions()}-dimensional")
            offenders = _rows(session, sql.SQL("{v} IS NOT NULL AND {d} IS DISTINCT FROM %(dims)s").format(
                v=session.target.vector, d=session.shape.dims()), sql.SQL("'dims ' || {}").format(session.shape.dims()), collection)
    pad_to, unpadded = session.profile.embeddings.pad_to, 0
    if pad_to is not None and wanted is not None:
        # The application pads the model's vectors with zeros: a vector with anything there is not the model's.
        from ..state import zero_padded

        for tenant in session.tenants:
            with session.read_only(tenant) as conn:
                widths = zero_padded(conn, session.target, collection, wanted, width=pad_to)
            unpadded += widths["vectors"] - widths["padded"]
        # A column of no declared width takes vectors of any: those not pad_to wide are not padded either.
        beyond = f"zeros beyond {wanted}" + (f" or not {pad_to} wide" if declared is None else "")
        found.append(f"padded with zeros to {pad_to} (embeddings.pad_to): {unpadded} vectors are not {beyond}")
        if unpadded:
            stored = sql.SQL("vector_dims({}::vector)").format(session.target.column_vector)
            problems.append(f"{unpadded} stored vectors are not {beyond.replace('beyond', 'beyond dimension')}: not "
                            f"the model's vectors padded to {pad_to}")
            listed = {o.id for o in offenders}  # a vector narrower than the model's is not pad_to wide either
            offenders += [o for o in _rows(session, sql.SQL("{v} IS NOT NULL AND CASE WHEN {d} = {w} THEN vector_norm({p}::vector) "
                                                "> 0 ELSE true END").format(
                v=session.target.column_vector, d=stored, w=sql.Literal(pad_to), p=session.target.padding()),
                sql.SQL("CASE WHEN {d} = {w} THEN {z} ELSE {n} || {d} END").format(
                    d=stored, w=sql.Literal(pad_to), z=sql.Literal(f"not zeros beyond {wanted}"),
                    n=sql.Literal("stored dims ")), collection) if o.id not in listed]
    expected = "the column's declared dimension = the profile's = the model's real dimension" + (
        f" (truncated to {wanted}: provider.request_dimensions)" if provider.request_dimensions else "")
    metrics = {"declared": declared, "profile": wanted, "real": session._real_dims}
    if unknown and not problems:
        # Nothing measured disagrees; what the model returns was not asked: unproven, not failed.
        return unproven("dimensions", collection, unknown, expected=expected, found=", ".join(found), metrics=metrics)
    if unknown:
        problems.append(unknown)
    measured = verdict("dimensions", collection, not problems, expected=expected,
                   found=", ".join(found) + ("" if not problems else " -- " + "; ".join(dict.fromkeys(problems))),
                   offenders=offenders, total=(unpadded or None) if pad_to is not None else
                   st.wrong_dims if declared is None else None,
                   metrics={**metrics, "read": "the catalog, one model probe (beside the pass)" + (
                       f"; per-row dimensions from {session.read_by_pass()}" if declared is None else "")})
    # A declared dimension holds for every row, hidden or not; per-row dimensions and zero padding hold for the rows read.
    return measured if declared is not None and pad_to is None else session.partial("dimensions", collection, measured)


def covered_by_recompute(session: CheckSession, check: str, collection: str, missing: str,
                         metrics: dict[str, Any] | None = None) -> Outcome:
    """Unproven: the table keeps no evidence for the claim; recompute's sample is what stands in, with its bound."""
    from .recompute import recompute

    rc = recompute(session, collection)
    if rc.status == "passed":
        stands = f"recompute stands in: {rc.found}"
    elif rc.status == "failed":
        stands = f"recompute, which stands in, failed: {rc.found}"
    else:
        stands = f"recompute, which would stand in, is {rc.status}: {rc.note or rc.found}"
    keys: dict[str, Any] = {k: rc.metrics[k] for k in ("sampled", "bad", "bound", "confidence", "population", "max_bad_fraction")
            if k in rc.metrics}
    keys["read"] = f"nothing of its own; recompute's sample ({rc.metrics.get('read', 'none')})"
    return unproven(check, collection, f"{missing}; {stands}", metrics={"covered_by": "recompute", **keys, **(metrics or {})})


def model(session: CheckSession, collection: str) -> Outcome:
    """Every vector was made by the configured model (where the table keeps a model name)."""
    em = session.profile.embeddings
    if not em.model:
        return covered_by_recompute(session, "model", collection,
                                    "the profile names no model column (embeddings.model), so the model of stored "
                                    "vectors is unknown")
    st = session.stats(collection)
    col = session.target.model
    offenders = _rows(session, sql.SQL("{v} IS NOT NULL AND {m}").format(
        v=session.target.vector, m=other_model(col)), sql.SQL("'model ' || coalesce({}::text, 'NULL')").format(col), collection) if st.other_model else []
    return session.partial("model", collection, verdict("model", collection, st.other_model == 0,
                   expected=f"every vector made by {session.model}",
                   found=f"{st.other_model} of {st.embedded} vectors made by another model",
                   offenders=offenders, total=st.other_model, metrics={"other_model": st.other_model, "read": session.read_by_pass()}))


def fresh(session: CheckSession, collection: str) -> Outcome:
    """Every vector embeds the chunk's current text: stored input hash = hash of the text (in Postgres), and/or
    the chunk not changed after its vector was written (where the profile names both timestamps)."""
    em = session.profile.embeddings
    t = session.target
    timed = stale_by_time(session.shape)
    if not em.input_hash and timed is None:
        ch = session.profile.chunks
        times = (f"one column ({ch.table}.{ch.updated_at}) named as both the chunk's time and the vector's, which "
                 "compares nothing" if ch.updated_at and ch.updated_at == em.written_at and t.inline
                 else "no timestamps (chunks.updated_at with embeddings.updated_at or embedded_at)")
        return covered_by_recompute(session, "fresh", collection,
                                    f"no input-hash column (embeddings.input_hash) and {times} prove freshness")
    st = session.stats(collection)
    if em.input_hash and timed is None and not st.stale and (unhashed := _unhashed(session)):
        # The hash is of fewer columns than the text embedded: an edit of the others leaves it equal (a title edited
        # after its vector passed as fresh on every row), and no timestamp says it either.
        return session.partial("fresh", collection, covered_by_recompute(
            session, "fresh", collection,
            f"the input hash is of {', '.join(em.input_hash_of)} (embeddings.input_hash_of), not of "
            f"{', '.join(unhashed)}, which chunks.text embeds too: an edit of {'it' if len(unhashed) == 1 else 'them'} "
            "leaves the hash equal, and no timestamps (chunks.updated_at with embeddings.updated_at or embedded_at) "
            "say it", metrics={"unhashed": unhashed}))
    if not st.stale and not st.stale_time and (others := _other_vectors(session)):
        # One hash (or time) for two vectors of a row: a run writing the other vector writes it too, with the new
        # text's hash, and this vector of the old text passed on every row.
        proof = " and ".join(name for name in (em.input_hash, em.written_at if timed is not None else None) if name)
        return session.partial("fresh", collection, covered_by_recompute(
            session, "fresh", collection,
            f"{proof} is beside another vector column of the same rows ({', '.join(others)}): a write of that "
            f"vector sets it too, so it does not say this one ({em.vector}) embeds the current text",
            metrics={"other_vectors": others}))
    if timed is not None and not st.stale and not st.stale_time and (beyond := t.untimed_parts()):
        # The chunk's time is its own row's: a parent's title edited (read by a subquery part) changes the text
        # embedded and leaves every time as it was, and fresh passed the old title's vectors on every row.
        ch = session.profile.chunks
        return session.partial("fresh", collection, covered_by_recompute(
            session, "fresh", collection,
            f"chunks.text reads rows besides the chunk's ({'; '.join(beyond)}), whose edits change the text embedded "
            f"and stamp no {ch.table}.{ch.updated_at}" + (
                ", and no input hash (embeddings.input_hash) says it" if not em.input_hash else
                f", and {em.input_hash} is of {', '.join(em.input_hash_of)} (embeddings.input_hash_of) alone"),
            metrics={"untimed_parts": len(beyond)}))
    tests: list[sql.Composable] = []
    details: list[tuple[sql.Composable, str]] = []
    counts: list[str] = []
    if em.input_hash:
        by_hash = t.hash_differs()
        tests.append(by_hash)
        details.append((by_hash, "text changed after embedding"))
        counts.append(f"{st.stale} by input hash")
    if timed is not None:
        tests.append(timed)
        details.append((timed, "chunk updated after its vector was written"))
        counts.append(f"{st.stale_time} by timestamp")
    bad = st.stale + st.stale_time
    # Ties prove nothing where no chunk's time shows a microsecond, or either column keeps none
    # (``Target.tied_in_a_tick``).
    tied = st.tied if not st.fine else 0
    # A hash of fewer columns than the text embedded leaves the others to the times (``_unhashed``): a vector with no
    # usable time proves nothing of them either.
    if not bad and (st.untimed or tied) and (not em.input_hash or (unhashed := _unhashed(session))):
        ch = session.profile.chunks
        whys = [f"{n} of {st.embedded} vectors {why}" for n, why in (
            (st.untimed, f"have no timestamp to compare ({em.table}.{em.written_at} or {ch.table}.{ch.updated_at} "
                                "is NULL, or one with a time zone and the other without, which the session's TimeZone "
                                "would decide)"),
            (tied, f"have the same time as their chunk ({em.table}.{em.written_at} = {ch.table}.{ch.updated_at} at "
                   "the coarser tick of the two columns) where no chunk's time shows a microsecond or either column is "
                   "declared coarser (a date, a timestamp(0) to timestamp(5), or times written in whole seconds or "
                   "milliseconds), which an edit in that same tick leaves as it is")) if n]
        return session.partial("fresh", collection, covered_by_recompute(
            session, "fresh", collection,
            f"{'; '.join(whys)}, so whether their chunk changed after them is unknown " + (
                "(an input hash, embeddings.input_hash, would prove it)" if not em.input_hash else
                f"({em.input_hash} is of {', '.join(em.input_hash_of)} alone, not of {', '.join(unhashed)}, which "
                "chunks.text embeds too)"), metrics={"untimed": st.untimed + tied, "tied": tied}))
    offenders = []
    if bad:
        detail = sql.SQL("CASE {} END").format(sql.SQL(" ").join(
            sql.SQL("WHEN {} THEN {}").format(cond, sql.Literal(text)) for cond, text in details))
        offenders = _rows(session, sql.SQL("{v} IS NOT NULL AND ({any})").format(
            v=t.vector, any=sql.SQL(" OR ").join(tests)), detail, collection)
    stale = len(offenders) if bad and len(offenders) < OFFENDERS_CAP else max(st.stale, st.stale_time)
    by = (f"every input hash equal to the {t.hash_algorithm.label} of the current text (embeddings.input_hash_algorithm: "
          f"{em.input_hash_algorithm})")
    return session.partial("fresh", collection, verdict("fresh", collection, bad == 0,
                   expected=by if em.input_hash and timed is None
                   else ("no chunk updated after its vector was written" if not em.input_hash
                         else f"{by} and no chunk updated after its vector"),
                   found=f"{stale} of {st.embedded} vectors embed an older text" + (
                       f" ({', '.join(counts)})" if timed is not None else ""),
                   offenders=offenders, total=stale, metrics={"stale": stale, "stale_hash": st.stale,
                                                              "stale_time": st.stale_time, "read": session.read_by_pass()}))


def _other_vectors(session: CheckSession) -> list[str]:
    """``introspect.other_vector_columns``: vector columns beside the profile's whose writes set its hash and time."""
    from ..introspect import other_vector_columns

    with session.read_only() as conn:
        return other_vector_columns(conn, session.profile)


def _unhashed(session: CheckSession) -> list[str]:
    """``introspect.unhashed_fields``: what chunks.text embeds that embeddings.input_hash_of does not hash."""
    from ..introspect import unhashed_fields

    if not session.profile.embeddings.input_hash_of:
        return []
    with session.read_only() as conn:
        return unhashed_fields(conn, session.profile)


def sane_vectors(session: CheckSession, collection: str) -> Outcome:
    """No all-zero vector (cosine undefined), none whose length pgvector's distances cannot compute with (``Shape.
    degenerate``); non-finite values cannot be stored (pgvector refuses them)."""
    st = session.stats(collection)
    offenders: list[Offender] = []
    shape = session.shape
    norm = shape.norm()
    if st.zero:
        offenders = _rows(session, sql.SQL("{v} IS NOT NULL AND {n} = 0").format(v=session.target.vector, n=norm),
                          sql.SQL("'all-zero vector'"), collection)
    if st.degenerate:
        offenders += _rows(session, sql.SQL("{v} IS NOT NULL AND {d}").format(v=session.target.vector, d=shape.degenerate()),
                           sql.SQL("'length ' || {} || ': pgvector''s cosine distance to it is NaN'").format(norm),
                           collection)
    bad = st.zero + st.degenerate
    return session.partial("sane_vectors", collection, verdict("sane_vectors", collection, bad == 0,
                   expected="no all-zero vector, none whose length pgvector's distances cannot compute with, and no "
                            "non-finite one",
                   found=f"{st.zero} all-zero of {st.embedded}, {st.degenerate} whose length pgvector's distances "
                         "cannot compute with (its cosine distance to itself NaN: a squared length past float's range, "
                         "or below it); non-finite: none possible (pgvector refuses NaN and Infinity on input and on "
                         "overflow, so the column cannot hold one; not counted per row)",
                   offenders=offenders[:OFFENDERS_CAP], total=bad,
                   metrics={"zero": st.zero, "degenerate": st.degenerate, "read": session.read_by_pass()}))
