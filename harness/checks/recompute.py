"""Re-embed the current text of a random sample and require cosine >= 0.99 with the stored vector.

Rows already flagged by the catalog checks (stale hash, other model name, all-zero)
are left to those checks; this one finds what the catalog cannot see: staleness
without a hash column, a mislabelled model, vectors written to the wrong row.
"""

from __future__ import annotations

import numpy as np
from psycopg import sql

from ..errors import HarnessError
from .outcome import Offender, Outcome, skipped, verdict
from .session import CheckSession

THRESHOLD = 0.99
_EMBED_BATCH = 64


def healthy(session: CheckSession) -> sql.Composable:
    """Rows the catalog checks find nothing wrong with."""
    t, em = session.target, session.profile.embeddings
    parts = [sql.SQL("{} IS NOT NULL").format(t.vector), sql.SQL("{} > 0").format(session.shape.norm())]
    if em.input_hash:
        parts.append(sql.SQL("{} = {}").format(t.e(em.input_hash), t.text_hash))
    if em.model:
        parts.append(sql.SQL("{} = %(model)s").format(t.e(em.model)))
    return sql.SQL(" AND ").join(parts)


def sample_rows(session: CheckSession, collection: str, n: int) -> list[dict]:
    """A random sample of n healthy rows; pages are sampled (TABLESAMPLE SYSTEM) so large tables are not read whole."""
    st = session.stats(collection)
    t, shape = session.target, session.shape
    if st.embedded == 0:
        return []
    pct = min(100.0, 100.0 * 10 * n / st.embedded)
    base = t.chunk_table if shape.inline else t.embedding_table
    alias = "c" if shape.inline else "e"
    for percent in ([pct, 100.0] if pct < 100 else [100.0]):
        sampled = sql.SQL("{} AS {} TABLESAMPLE SYSTEM ({})").format(base, sql.Identifier(alias), sql.Literal(percent))
        if shape.inline:
            frm = sampled
        else:
            on = [sql.SQL("{} = {}").format(shape.emb_key(), t.chunk_id)]
            if shape.emb_collection() is not None:
                on.append(sql.SQL("{} = {}").format(shape.emb_collection(), shape.chunk_collection()))
            frm = sql.SQL("{} JOIN {} AS c ON {}").format(sampled, t.chunk_table, sql.SQL(" AND ").join(on))
        query = sql.SQL("SELECT {id} AS id, {cc} AS collection, {ct} AS tenant, {text} AS text, {v} AS vector "
                        "FROM {frm} WHERE {f} AND {ok} ORDER BY random() LIMIT %(n)s").format(
            id=t.chunk_id, cc=shape.chunk_collection(), ct=shape.chunk_tenant(), text=t.text, v=t.vector,
            frm=frm, f=t.chunk_filter(), ok=healthy(session))
        with session.read_only() as conn:
            rows = conn.execute(query, {"collection": collection, "model": session.model, "n": n}).fetchall()
        if len(rows) >= min(n, st.embedded) or percent >= 100:
            return rows
    return rows


def cosine(a: np.ndarray, b: np.ndarray) -> float | None:
    if a.shape != b.shape:
        return None
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0 or nb == 0:
        return None
    return float(np.dot(a, b) / (na * nb))


def recompute(session: CheckSession, collection: str) -> Outcome:
    """Sampled rows re-embedded now must match what is stored."""
    n = session.options.sample
    try:
        provider = session.provider()
    except HarnessError as exc:
        return skipped("recompute", collection, str(exc))
    rows = sample_rows(session, collection, n)
    if not rows:
        return skipped("recompute", collection, "no healthy embedded rows to sample")
    offenders: list[Offender] = []
    sims: list[float] = []
    for start in range(0, len(rows), _EMBED_BATCH):
        batch = rows[start:start + _EMBED_BATCH]
        fresh = provider.embed([r["text"] for r in batch]).vectors
        for row, new in zip(batch, fresh):
            stored = np.asarray(row["vector"].to_numpy() if hasattr(row["vector"], "to_numpy") else row["vector"], dtype=np.float64)
            sim = cosine(stored, np.asarray(new, dtype=np.float64))
            if sim is None:
                offenders.append(Offender(row["id"], row["collection"], row["tenant"],
                                          f"stored {stored.shape[0]} dims, model returns {len(new)}"))
                continue
            sims.append(sim)
            if sim < THRESHOLD:
                offenders.append(Offender(row["id"], row["collection"], row["tenant"], f"cosine {sim:.3f}"))
    worst = min(sims) if sims else None
    return verdict("recompute", collection, not offenders,
                   expected=f"cosine >= {THRESHOLD} between stored vectors and {session.model} re-embedding the current text",
                   found=f"{len(offenders)} of {len(rows)} sampled rows below"
                         + (f" (lowest cosine {worst:.3f})" if worst is not None else ""),
                   offenders=offenders, total=len(offenders),
                   metrics={"sampled": len(rows), "min_cosine": worst, "below": len(offenders)})
