"""Citations: spot queries return rows with non-empty source fields and the expected source within the top k.

Spot queries come from the profile (those whose expected source lives in the
collection); without any, a few sampled chunks are searched by their own text.
Reports recall@k and MRR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from ..provider import OllamaProvider, unusable
from .outcome import Offender, Outcome, skipped, unproven, verdict
from .recompute import sample_rows
from .sampling import Proof
from .session import CheckSession, ProviderCheck

FALLBACK_QUERIES = 3
FALLBACK_K = 5


@dataclass(frozen=True)
class Probe:
    query: str
    expect: str | None  # a source value, or a chunk id when the profile names no source fields
    k: int
    by_id: bool = False
    sampled: bool = False  # a sampled chunk searched by its own text (no spot query applies)
    view: str | None = None  # the tenant view (database.session) it is searched in: where its expected row is
    row: tuple[Any, Any] | None = None  # a sampled chunk's (key, tenant): the row a miss names
    gone: bool = False  # a spot query whose expected source no chunk of the table cites: nothing can find it

    def embedded(self, query_prefix: str) -> str:
        """What is embedded to search: a spot query as the application's search embeds it (chunks.query_prefix), a
        sampled chunk as its vector was made (its text, already after chunks.text_prefix)."""
        return self.query if self.sampled else query_prefix + self.query


def _source_values(session: CheckSession) -> sql.Composable:
    srcs = session.shape.sources()
    return sql.SQL("ARRAY[{}]::text[]").format(sql.SQL(", ").join(srcs)) if srcs else sql.SQL("ARRAY[]::text[]")


def probes(session: CheckSession, collection: str) -> list[Probe]:
    t = session.target
    srcs = session.shape.sources()
    chosen: list[Probe] = []
    for spot in session.profile.spot_queries:
        if not (spot.expect_source and srcs):
            continue
        for view in session.tenants:  # under database.session, searched as the first tenant whose rows hold it
            with session.read_only(view) as conn:
                present = conn.execute(sql.SQL("SELECT 1 FROM {c} AS c WHERE {f} AND %(s)s = ANY({vals}) LIMIT 1").format(
                    c=t.chunk_table, f=t.chunk_filter(), vals=_source_values(session)),
                    {"collection": collection, "s": spot.expect_source}).fetchone()
            if present:
                chosen.append(Probe(spot.query, spot.expect_source, spot.k, view=view))
                break
        else:
            if not session.rls_note and not _cited_anywhere(session, spot.expect_source):
                # Not another collection's query: every chunk of its source is gone (a re-ingest dropped the page).
                chosen.append(Probe(spot.query, spot.expect_source, spot.k, gone=True))
    if chosen:
        return chosen[:5]

    for row in sample_rows(session, collection, FALLBACK_QUERIES, strata=False):
        view = row.get("view")  # the tenant view it was drawn in: only there can this role read it again
        with session.read_only(view) as conn:
            # in this collection: a key names a chunk within its collection only (a (document_id, chunk) key)
            found = conn.execute(sql.SQL("SELECT {vals} AS vals FROM {c} AS c WHERE {f} AND {id} = %(id)s").format(
                vals=_source_values(session), c=t.chunk_table, f=t.chunk_filter(), id=t.chunk_id),
                {"id": row["id"], "collection": collection}).fetchone()
        source = next((v for v in (found["vals"] if found else []) if v), None)
        chosen.append(Probe(row["text"], source if srcs else str(row["id"]), FALLBACK_K, by_id=not srcs, sampled=True,
                            view=view, row=(row["id"], row.get("tenant"))))
    return chosen


def _cited_anywhere(session: CheckSession, source: str) -> bool:
    """Whether any chunk of the table (any collection, inside chunks.filter) cites ``source``, in any tenant's view."""
    t = session.target
    query = sql.SQL("SELECT 1 FROM {c} AS c WHERE {f} AND %(s)s = ANY({vals}) LIMIT 1").format(
        c=t.chunk_table, f=t.chunk_filter(collection_param=False), vals=_source_values(session))
    for view in session.tenants:
        with session.read_only(view) as conn:
            if conn.execute(query, {"s": source}).fetchone():
                return True
    return False


def _others(session: CheckSession, conn: psycopg.Connection[Any], collection: str, probe: Probe) -> int:
    """How many searched chunks (up to k) do not match the probe: fewer than k, its top k must hold a match (the chunk
    itself, or a chunk of its source), so finding it cannot fail."""
    t, shape = session.target, session.shape
    match = (sql.SQL("{}::text = %(expect)s").format(t.chunk_id) if probe.by_id
             else sql.SQL("coalesce(%(expect)s = ANY({}), false)").format(_source_values(session)))
    row = conn.execute(sql.SQL("SELECT count(*) AS n FROM (SELECT 1 FROM {frm} WHERE {f} AND {v} IS NOT NULL AND NOT {m} "
                               "LIMIT %(k)s) AS o").format(frm=shape.search_from(), f=shape.emb_filter(), v=t.vector,
                                                            m=match),
                       {"collection": collection, "expect": probe.expect, "k": probe.k}).fetchone()
    return int(row["n"]) if row else 0


def _cannot_miss(certain: list[tuple[Probe, int]], embedded: int) -> str:
    """What the searches that could not miss were: k and the candidates other than a match they rank among."""
    k = min(p.k for p, _ in certain)
    most = max(n for _, n in certain)
    what = "the chunk itself" if certain[0][0].by_id else "a chunk of its source"
    other = "other chunks" if certain[0][0].by_id else "other chunks citing another source"
    searched = "sampled chunks" if certain[0][0].sampled else "spot queries"
    return (f"{len(certain)} {searched} cannot be missed: among the collection's {embedded} embedded chunks each "
            f"search ranks at most {most} {other}, fewer than k={k}, so its top {k} always holds {what}")


def citations(session: CheckSession, collection: str) -> Outcome:
    """Spot queries (or sampled chunks) find their sources (computed in the background once the pass has drawn);
    a pass over rows row-level security hid from the searches is unproven (``CheckSession.partial``)."""
    return session.provider_check(CITATIONS, collection)


def _searched(session: CheckSession, collection: str, provider: OllamaProvider) -> Outcome:
    chosen = probes(session, collection)
    if not chosen:
        return skipped("citations", collection, "no spot query applies and no embedded chunk to sample")
    t, shape = session.target, session.shape
    gone = [p for p in chosen if p.gone]
    chosen = [p for p in chosen if not p.gone]
    vectors: list[Any] = (list(provider.embed([p.embedded(session.profile.chunks.query_prefix) for p in chosen]).vectors)
                          if chosen else [])
    # A query vector pgvector cannot rank with (all zeros, as some models answer some inputs): every distance is NaN
    # and the top k is the scan's order, so a hit or a miss says nothing of the vectors. Not searched, and said.
    blind = dict(unusable(np.asarray(vectors))) if vectors else {}
    unsearched = [(p, blind[i]) for i, p in enumerate(chosen) if i in blind]
    chosen, vectors = [p for i, p in enumerate(chosen) if i not in blind], [v for i, v in enumerate(vectors) if i not in blind]
    query = sql.SQL("SELECT {id} AS id, {cc} AS collection, {ct} AS tenant, {vals} AS sources FROM {frm} "
                    "WHERE {f} AND {v} IS NOT NULL ORDER BY {d} LIMIT %(k)s").format(
        id=t.chunk_id, cc=shape.chunk_collection(), ct=shape.chunk_tenant(), vals=_source_values(session),
        frm=shape.search_from(), f=shape.emb_filter(), v=t.vector, d=t.distance_to(sql.Placeholder("q")))
    offenders: list[Offender] = []
    hits, rr, expected = 0, 0.0, 0
    certain: list[tuple[Probe, int]] = []  # sampled probes whose top k holds a match whatever the vectors
    for probe, vec in zip(chosen, vectors):
        with session.read_only(probe.view) as conn:
            # a spot query's source most chunks cite is found whatever the vectors, as a chunk of a tiny collection is
            others = _others(session, conn, collection, probe) if probe.expect is not None else None
            try:
                rows = conn.execute(query, {"collection": collection, "q": vec, "k": probe.k}).fetchall()
            except psycopg.errors.DataException as exc:
                # Vectors of another dimension in an untyped column: the application's own similarity search over
                # the collection raises the same error, so retrieval is broken, not the check.
                return verdict("citations", collection, False,
                               expected="every returned row cites a source and every expected source is within the top k",
                               found=f"the search itself fails: {str(exc).strip().splitlines()[0]} (the application's "
                                     "queries over this collection fail the same way; see the dimensions check)")
            if shape.sources():
                for r in rows:
                    if not all(s not in (None, "") for s in r["sources"]):
                        offenders.append(Offender(r["id"], r["collection"], r["tenant"],
                                                  f"no citation (empty source field) for {probe.query[:40]!r}"))
            if probe.expect is None:
                continue
            rank = next((i + 1 for i, r in enumerate(rows)
                         if (str(r["id"]) == probe.expect if probe.by_id else probe.expect in r["sources"])), None)
            if rank and others is not None and others < probe.k:
                certain.append((probe, others))  # a miss is still one: the source's chunks may all lack a vector
                continue
            expected += 1
            if rank:
                hits += 1
                rr += 1.0 / rank
            else:
                # A chunk not found by its own text is a row (its vector is the suspect, --keys-from re-embeds it);
                # a spot query that misses its source names no row.
                key, tenant = probe.row if probe.row else (None, None)
                offenders.append(Offender(key, collection, tenant,
                                          f"query {probe.query[:60]!r}: {probe.expect} not in top {probe.k}"))
    for probe in gone:  # a finding that names no row: the source's chunks are what is missing
        expected += 1
        offenders.append(Offender(None, collection, None, f"query {probe.query[:60]!r}: {probe.expect} is cited by no "
                                  f"chunk of {session.profile.chunks.table} (its chunks deleted, or the profile's "
                                  "expect_source out of date)"))
    recall = hits / expected if expected else None
    mrr = rr / expected if expected else None
    shown = f"recall@k {recall:.2f}, MRR {mrr:.2f}" if expected else "no expected sources"
    metrics: dict[str, Any] = {"queries": len(chosen) + len(gone), "recall_at_k": recall, "mrr": mrr,
                               "read": f"{len(chosen)} searches (LIMIT k each)" + (
                                   "; the queried chunks drawn in the shared pass" if any(p.sampled for p in chosen) else "")}
    sampled = bool(chosen) and not gone and all(p.sampled for p in chosen)
    by_source = sampled and not chosen[0].by_id
    if certain:
        metrics["cannot_miss"] = len(certain)
        cannot = _cannot_miss(certain, session.stats(collection).embedded)
        if not expected and not offenders:
            searched = "sampled chunks" if sampled else "spot queries"
            return unproven("citations", collection, f"{cannot}: finding them proves nothing of the vectors "
                            "(recompute's bound stands in for it where recompute passes)",
                            expected=("sampled chunks found by their own text" if sampled else
                                      "spot queries finding their source") + " among more than k other chunks",
                            found=f"{len(certain)} of {len(chosen)} {searched} found, none of them could be missed",
                            metrics=metrics)
        shown += f"; {cannot} (not counted)"
    if sampled and expected:
        # Sampled chunks searched by their own text: say what so few prove about the rest.
        off = ("missed by a search by their own text (their source not in its top k; a hit is a chunk of its source "
               "ranked in the top k, not necessarily the chunk itself)") if by_source else "not found by their own text"
        proof = Proof(expected, expected - hits, session.stats(collection).embedded, session.confidence,
                      session.max_bad_fraction)
        shown += f"; {proof.sentence('chunks', off)}"
        metrics.update({k: v for k, v in proof.metrics().items() if k != "max_bad_fraction"})
    if unsearched and not offenders:
        # Not a search that could not miss: recompute's bound does not stand in for a query never searched with.
        metrics = {k: v for k, v in metrics.items() if k != "cannot_miss"} | {"not_searched": len(unsearched)}
        said = "; ".join(f"no usable vector for {p.query[:40]!r} ({why})" for p, why in unsearched)
        return unproven("citations", collection, f"the model answers {said}: not searched, so nothing is known of "
                        f"{'it' if len(unsearched) == 1 else 'them'}",
                        expected="every returned row cites a source and every expected source is within the top k",
                        found=f"{shown} over {len(chosen) + len(gone)} queries searched; {len(unsearched)} not searched",
                        metrics=metrics)
    return verdict("citations", collection, not offenders,
                   expected="every returned row cites a source and every expected source is within the top k",
                   found=f"{shown} over {len(chosen) + len(gone)} queries; {len(offenders)} problems",
                   offenders=offenders, total=len(offenders),
                   metrics=metrics)


CITATIONS = ProviderCheck("citations", _searched, "nothing was searched")
