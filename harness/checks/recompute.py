"""Re-embed the current text of sampled rows and require cosine >= 0.99 with the stored vector (>= 0.9999 where the
provider reproduces the sample's median row exactly); state what the sample proves.

Rows already flagged by the catalog checks (stale hash, other model name, all-zero)
are left to those checks; this one finds what the catalog cannot see: staleness
without a hash column, a mislabelled model, vectors written to the wrong row.

Two samples are drawn beside the one pass, without reading the vectors twice (nothing
is read whole into Python): the 4n + 50 chunks with the smallest seeded key hashes (among a
seeded Bernoulli sample of a large table) are the candidates; the n smallest with a vector are the uniform sample, whose size follows
from the bound DONE requires and on which the stated bound rests; as many rows again
are ranked among the candidates where errors cluster -- rows of every write
transaction of either table (``xmin``; the most recent first), of every tenant, and
the most recently edited chunks. A bad row in either fails the check.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
from psycopg import sql

from ..errors import ProviderError
from ..model_names import is_model
from ..profile import LENGTH_DISTANCES
from ..provider import OllamaProvider
from .outcome import OFFENDERS_CAP, Offender, Outcome, skipped, unproven, verdict
from .sampling import Proof
from .session import CheckSession, ProviderCheck
from .spill import SpilledList

THRESHOLD = 0.99
# Cosine hardly moves under numerical noise (a relative error d per value costs about d**2 / 2: fp16 rounding, another
# batch or another GPU stay above 0.999999), but a few words more or less in a long text cost only 1e-3..1e-2. Where
# the provider reproduces the median sampled row to REPRODUCED, it is the producer of the stored vectors, and a row
# below EXACT was made from other input (chatgpt-your-files: a sentence appended to a 1,600-character section, 0.998).
REPRODUCED = 0.999999
EXACT = 0.9999
_EMBED_BATCH = 64
_FETCH = 512
# A uniform sample at least this large with most of its rows off says something about the whole corpus.
MOST_OFF_MIN_ROWS = 5


def healthy(session: CheckSession) -> sql.Composable:
    """Rows the catalog checks find nothing wrong with."""
    t, em = session.target, session.profile.embeddings
    parts = [sql.SQL("{} IS NOT NULL").format(t.vector), sql.SQL("{} > 0").format(session.shape.norm())]
    if em.input_hash:
        parts.append(t.hash_equals())
    if em.model:
        parts.append(is_model(t.model))
    return sql.SQL(" AND ").join(parts)


def _row_columns(session: CheckSession) -> sql.Composable:
    t, shape = session.target, session.shape
    return sql.SQL("{id} AS id, {cc} AS collection, {ct} AS tenant, {text} AS text, {v} AS vector").format(
        id=t.chunk_id, cc=shape.chunk_collection(), ct=shape.chunk_tenant(), text=t.text, v=t.vector)


def _pick_sql(conn, session: CheckSession, addressable: bool = True) -> sql.Composed:
    """The pick reads narrow columns of every embedded row (no hash, no norm: the one pass computes those); the
    catalog's verdict on each picked row is applied to the picked rows alone."""
    t, shape = session.target, session.shape
    cx, ex = _xmins(conn, session, addressable)
    recency = sql.SQL("least(age({}), age({}))").format(cx, ex)
    template = sql.SQL(
        "SELECT id, rnd, recency, row_number() OVER (ORDER BY rnd) AS r_rand, least({strata}) AS r_strata, "
        "count(*) OVER () AS population FROM (SELECT {id} AS id, random() AS rnd, {recency} AS recency, "
        "{cx} AS xmin, {exmin} AS e_xmin, {tenant} AS tenant_, {updated} AS updated_ FROM {join} WHERE {f} AND {ok}) AS c"
    )
    ch = session.profile.chunks
    strata = [sql.SQL("row_number() OVER (PARTITION BY xmin::text::bigint ORDER BY rnd)")]
    if not shape.inline:
        strata.append(sql.SQL("row_number() OVER (PARTITION BY e_xmin::text::bigint ORDER BY rnd)"))
    if ch.tenant:
        strata.append(sql.SQL("row_number() OVER (PARTITION BY tenant_ ORDER BY rnd)"))
    if ch.updated_at:
        strata.append(sql.SQL("row_number() OVER (ORDER BY updated_ DESC NULLS LAST, rnd)"))
    ranked = template.format(strata=sql.SQL(", ").join(strata), id=t.chunk_id, recency=recency, cx=cx, exmin=ex,
                           tenant=shape.chunk_tenant(),
                           updated=t.c(ch.updated_at) if ch.updated_at else sql.SQL("NULL::timestamptz"),
                           join=t.join(xmin=_e_xmin(conn, session)), f=t.chunk_filter(),
                           ok=sql.SQL("{} IS NOT NULL").format(t.vector))
    return sql.SQL(
        "WITH ranked AS MATERIALIZED ({ranked}), "
        "chosen AS (SELECT id, rnd, r_rand <= %(n)s AS uniform, population FROM ranked "
        "ORDER BY r_rand <= %(n)s DESC, r_strata, recency, rnd LIMIT 2 * %(n)s) "
        "SELECT ch.uniform, ch.population, ch.rnd AS key, {cols} FROM {join} JOIN chosen ch ON ch.id = {id} WHERE {f} AND {ok}"
    ).format(ranked=ranked, cols=_row_columns(session), join=t.join(), id=t.chunk_id, f=t.chunk_filter(),
             ok=healthy(session))


CANDIDATES_PER_ROW = 4  # chunks drawn per sampled row: the strata are ranked among these
CANDIDATES_EXTRA = 50


# A chunk's address: its table (a partition or inheritance child repeats the addresses of the others) and ctid.
ADDRESS = sql.SQL("c.tableoid::text || '/' || c.ctid::text")


def _a_table(conn, session: CheckSession, schema: str, table: str) -> bool:
    """Whether the relation has row addresses and write transactions (ctid, xmin): a table, not a view or a foreign
    table."""
    def look() -> bool:
        row = conn.execute("SELECT c.relkind::text AS kind FROM pg_class c WHERE c.oid = to_regclass(%s)",
                           (sql.Identifier(schema, table).as_string(conn),)).fetchone()
        return row is not None and row["kind"] in ("r", "p", "m")

    return bool(session.once(("a table", schema, table), look))


def addressable(conn, session: CheckSession) -> bool:
    """Whether the chunk table is a table (``_a_table``): else its rows are drawn and read by their key (and ranked
    without write transactions)."""
    ch = session.profile.chunks
    return _a_table(conn, session, ch.schema, ch.table)


def _address(session: CheckSession, by_address: bool) -> sql.Composable:
    return ADDRESS if by_address else sql.SQL("{}::text").format(session.target.chunk_id)


def _xmins(conn, session: CheckSession, by_address: bool) -> tuple[sql.Composable, sql.Composable]:
    """The chunk's and its embedding row's write transactions (NULL where the table is a view: not ranked by it)."""
    chunk = sql.SQL("c.xmin") if by_address else sql.SQL("NULL::xid")
    if session.shape.inline:
        return chunk, chunk
    return chunk, sql.SQL("e.xmin") if _e_xmin(conn, session) else sql.SQL("NULL::xid")


def _e_xmin(conn, session: CheckSession) -> bool:
    """Whether the embedding rows carry their write transaction: a table's (``Target.embedding_rows_of``)."""
    em = session.profile.embeddings
    return not session.shape.inline and _a_table(conn, session, em.schema, em.table)


def _at(addresses, by_address: bool = True) -> dict[str, list[str]]:
    """``_candidate_sql``'s parameters for these addresses."""
    if not by_address:
        return {"keys": list(addresses)}
    parts = [a.split("/", 1) for a in addresses]
    return {"rels": [rel for rel, _ in parts], "rows": [tid for _, tid in parts]}


def _candidate_sql(session: CheckSession, columns: sql.Composable, by_address: bool = True, *,
                   xmin: bool = False) -> sql.Composed:
    """Columns of the chunks at ``_at(addresses)`` (table and ctid, or key) with their vectors, for rows a sample
    may draw; ``xmin``: ``columns`` read the embedding rows' write transaction."""
    from .stats import placed

    shape = session.shape
    if not by_address:
        return sql.SQL("SELECT {a} AS addr, {cols} FROM unnest(%(keys)s::text[]) AS d(addr) CROSS JOIN {frm} "
                       "WHERE {a} = d.addr AND {p} AND {v} IS NOT NULL").format(
            a=_address(session, False), cols=columns, frm=shape.search_from(xmin=xmin), p=placed(shape),
            v=session.target.vector)
    # Driven by the addresses (one TID lookup each): ``ctid = ANY(...)`` as a filter is planned as a scan of the
    # whole table comparing every row with every address.
    return sql.SQL("SELECT {a} AS addr, {cols} FROM unnest(%(rels)s::oid[], %(rows)s::text[]::tid[]) "
                   "AS d(rel, addr) CROSS JOIN {frm} WHERE c.ctid = d.addr AND c.tableoid = d.rel AND {p} AND {v} IS NOT NULL").format(
        a=ADDRESS, cols=columns, frm=shape.search_from(xmin=xmin), p=placed(shape), v=session.target.vector)


def predraw(session: CheckSession, collection: str, n: int) -> list[dict] | None:
    """The sample, drawn beside the pass (so it is re-embedded while the pass reads): 4n + 50 candidate chunks of
    the collection (``candidates``), then ``draw`` (in each tenant's view)."""
    found: list[dict] = []
    size = CANDIDATES_PER_ROW * n + CANDIDATES_EXTRA
    # Tenant views' draws are merged by their keys: each view must then give its rows the same chance, which a
    # Bernoulli sample in one view and a whole draw in another (too small to sample) would not.
    sampled = len(session.tenants) == 1
    for tenant in session.tenants:
        with session.read_only(tenant, snapshot=True) as conn:
            drawn, complete = candidates(conn, session, collection, size, bernoulli=sampled)
            rows = draw(conn, session, drawn, n, complete=complete, collection=collection)
        if rows is None:
            return None
        found += [{**r, "view": tenant} for r in rows]  # the view it is read in again (citations' search)
    if len(session.tenants) > 1:
        from .session import merge_samples

        return merge_samples(found, n)  # of the population the pass counts in every view
    return found


# Candidates a Bernoulli sample aims for, per one needed: enough that a sample short of ``size`` is rare (then
# the ordered draw reads the whole collection, so the result is the same either way, only slower).
_BERNOULLI_MARGIN = 2.0


def candidates(conn, session: CheckSession, collection: str, size: int, *,
               bernoulli: bool = True) -> tuple[list[tuple[str, int]], bool]:
    """``size`` chunks of the collection with the smallest seeded key hashes (chunk address, draw key) among a
    Bernoulli sample of the table's rows (TABLESAMPLE, seeded: every row in with the same chance, whatever its
    content, so those are a uniform draw too; it reads no text and sorts only what it drew), or among every row
    when the sample drew too few, the table cannot be sampled (a view) or ``bernoulli`` is false; and whether they
    are the whole collection."""
    from .stats import draw_key

    t = session.target
    a = _address(session, addressable(conn, session))
    query = sql.SQL("SELECT {a} AS addr, {dk} AS key FROM {c} AS c {sampled} WHERE {f} ORDER BY 2 LIMIT %(m)s")
    params = {"collection": collection, "seed": session.seed, "m": size}
    percent = _bernoulli_percent(conn, session, size) if bernoulli else None
    if percent is not None:
        drawn = [(r["addr"], r["key"]) for r in conn.execute(query.format(
            a=a, dk=draw_key(session.shape), c=t.chunk_table, f=t.chunk_filter(),
            sampled=sql.SQL("TABLESAMPLE BERNOULLI (%(percent)s) REPEATABLE (%(seed)s)")),
            {**params, "percent": percent}).fetchall()]
        if len(drawn) == size:
            return drawn, False
    drawn = [(r["addr"], r["key"]) for r in conn.execute(query.format(
        a=a, dk=draw_key(session.shape), c=t.chunk_table, f=t.chunk_filter(), sampled=sql.SQL("")), params).fetchall()]
    return drawn, len(drawn) < size


def _bernoulli_percent(conn, session: CheckSession, size: int) -> float | None:
    """The percentage of the chunk table's rows a Bernoulli sample needs for about twice ``size`` rows (by the
    planner's row estimate), or None where sampling saves nothing or cannot be done (a small table, no estimate,
    not a plain table)."""
    ch = session.profile.chunks
    row = conn.execute("SELECT c.relkind::text AS kind, c.reltuples::float8 AS rows FROM pg_class c "
                       "WHERE c.oid = to_regclass(%s)", (sql.Identifier(ch.schema, ch.table).as_string(conn),)).fetchone()
    if row is None or row["kind"] not in ("r", "m") or row["rows"] <= 0:
        return None
    percent = 100.0 * _BERNOULLI_MARGIN * size / row["rows"]
    return percent if percent < 50.0 else None


def draw(conn, session: CheckSession, drawn: list[tuple[str, int]], n: int, *, complete: bool,
         collection: str) -> list[dict] | None:
    """From the candidates (chunk address, draw key) of one collection: the n with the smallest keys among those with
    a vector (a uniform sample of them: the n smallest of all are among the candidates), then up to n more where errors
    cluster, ranked as before among the candidates (each write transaction of either table, each tenant, the most
    recent edits; the most recent first). Only the chosen rows are read whole. None when fewer than n candidates have
    a vector (and the candidates are not the whole collection: ``complete``)."""
    if not drawn:
        return [] if complete else None
    t, shape = session.target, session.shape
    ch = session.profile.chunks
    by_address = addressable(conn, session)
    cx, ex = _xmins(conn, session, by_address)
    narrow = sql.SQL("{cx}::text AS c_xmin, {ex}::text AS e_xmin, {ten} AS tenant_, {upd} AS updated_, "
                     "least(age({cx}), age({ex})) AS recency, ({ok}) AS healthy").format(
        cx=cx, ex=ex, ten=shape.chunk_tenant(),
        upd=t.c(ch.updated_at) if ch.updated_at else sql.SQL("NULL::timestamptz"), ok=healthy(session))
    keys = dict(drawn)
    rows = conn.execute(_candidate_sql(session, narrow, by_address, xmin=_e_xmin(conn, session)),
                        {**_at(keys, by_address), "model": session.model, "collection": collection}).fetchall()
    if len(rows) < n and not complete:
        return None
    for r in rows:
        r["key"] = keys[r["addr"]]
    rows.sort(key=lambda r: r["key"])
    for i, r in enumerate(rows):
        r["uniform"] = i < n
    strata = [lambda r: r["c_xmin"]]
    if not shape.inline:
        strata.append(lambda r: r["e_xmin"])
    if ch.tenant:
        strata.append(lambda r: r["tenant_"])
    rank = {id(r): 10**9 for r in rows}
    for stratum in strata:
        seen: dict = {}
        for r in rows:  # already in key order: the rank inside each stratum
            seen[stratum(r)] = seen.get(stratum(r), 0) + 1
            rank[id(r)] = min(rank[id(r)], seen[stratum(r)])
    if ch.updated_at:
        newest = sorted(rows, key=lambda r: (r["updated_"] is None, _negated(r["updated_"]), r["key"]))
        for i, r in enumerate(newest):
            rank[id(r)] = min(rank[id(r)], i + 1)
    chosen = sorted(rows, key=lambda r: (not r["uniform"], rank[id(r)], r["recency"], r["key"]))[:2 * n]
    chosen = [r for r in chosen if r["healthy"]]
    if not chosen:
        return []
    with conn.cursor(binary=True) as cur:
        full = {r["addr"]: r for r in cur.execute(_candidate_sql(session, _row_columns(session), by_address),
                                                  {**_at((r["addr"] for r in chosen), by_address),
                                                   "collection": collection}).fetchall()}
    return [{**full[r["addr"]], "uniform": r["uniform"], "key": r["key"]} for r in chosen if r["addr"] in full]


def _negated(value):
    """Newest first inside an ascending sort."""
    return -value.timestamp() if hasattr(value, "timestamp") else value


def sample_rows(session: CheckSession, collection: str, n: int, *, strata: bool = True) -> list[dict]:
    """n healthy rows drawn uniformly (``uniform`` true) plus, with ``strata``, up to n where errors cluster: drawn in
    the one pass when it drew for n or more rows, else by a pick of its own."""
    drawn = session.sample(collection)
    if drawn is not None and (n == session.drawn_for or (not strata and n <= session.drawn_for)):
        if strata:
            return drawn
        return sorted((r for r in drawn if r["uniform"]), key=lambda r: r["key"])[:n]
    return pick(session, collection, n, strata=strata)


def pick(session: CheckSession, collection: str, n: int, *, strata: bool = True) -> list[dict]:
    """The sample by a statement of its own (reads the collection again): when the pass drew too few rows. Under
    database.session in each tenant's view, merged as the pass merges its draws."""
    from .session import merge_samples

    views = []
    for tenant in session.tenants:
        with session.read_only(tenant) as conn:
            views.append([{**r, "view": tenant} for r in conn.execute(_pick_sql(conn, session, addressable(conn, session)),
                                      {"collection": collection, "model": session.model, "n": n}).fetchall()])
    rows = views[0] if len(views) == 1 else merge_samples(
        [r for v in views for r in v], n, sum(int(v[0]["population"]) for v in views if v))
    return rows if strata else [r for r in rows if r["uniform"]]


def every_row(session: CheckSession, collection: str) -> Iterator[list[dict]]:
    """Every healthy row, in batches, through a server-side cursor (the table is never held whole in Python)."""
    t = session.target
    query = sql.SQL("SELECT true AS uniform, {cols} FROM {join} WHERE {f} AND {ok}").format(
        cols=_row_columns(session), join=t.join(), f=t.chunk_filter(), ok=healthy(session))
    for tenant in session.tenants:  # under database.session: each tenant's view in turn
        with session.read_only(tenant) as conn:
            with conn.cursor(name="recompute_every_row") as cur:
                cur.execute(query, {"collection": collection, "model": session.model})
                while batch := cur.fetchmany(_FETCH):
                    yield batch


def cosine(a: np.ndarray, b: np.ndarray) -> float | None:
    if a.shape != b.shape:
        return None
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0 or nb == 0:
        return None
    return float(np.dot(a, b) / (na * nb))


def length_ratio(stored: np.ndarray, model: np.ndarray) -> float:
    """The stored vector's length over the model's (1.0 where either is zero: ``cosine`` has said so already)."""
    ns, nm = float(np.linalg.norm(stored)), float(np.linalg.norm(model))
    return ns / nm if ns and nm else 1.0


def length_tolerance(floor: float) -> float:
    """How far a length may stray where the cosine must reach ``floor``: the distance two vectors of one length at
    that cosine are apart, relative to the length (sqrt(2 (1 - cos)): 0.141 at 0.99, 0.0141 at 0.9999)."""
    return math.sqrt(2 * (1 - floor))


def off(sim: float, ratio: float, floor: float, *, lengths: bool, length_floor: float | None = None) -> str | None:
    """Why a re-embedded row is off (None: it matches): a cosine below ``floor``, or, where the application's distance
    compares lengths (``LENGTH_DISTANCES``), a length further from the model's than a cosine of ``length_floor``
    (``floor`` unless said) allows."""
    if sim < floor:
        return f"cosine {sim:.3f}" if floor == THRESHOLD else f"cosine {sim:.6f}"
    if lengths and abs(ratio - 1) > length_tolerance(floor if length_floor is None else length_floor):
        return f"length {ratio:.2f}x the model's (cosine {sim:.6f})"
    return None


def _vector(value) -> np.ndarray:
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, dtype=np.float64)


def recompute(session: CheckSession, collection: str) -> Outcome:
    """Sampled rows re-embedded now must match what is stored (computed once per session and collection, in the
    background as soon as the pass has drawn the sample)."""
    return session.provider_check(RECOMPUTE, collection)


def _measured(session: CheckSession, collection: str, provider: OllamaProvider) -> Outcome:
    budget = session.sample_budget()
    if budget is None:
        batches: Iterator[list[dict]] = every_row(session, collection)
        population = None
        read = "every row, through a cursor (--sample all)"
    else:
        drawn = session.sample(collection) is not None
        rows = sample_rows(session, collection, budget)
        read = (f"{len(rows)} rows drawn beside the shared pass (the chunk keys with the smallest seeded "
                "hashes, then those rows alone)" if drawn else f"{len(rows)} rows picked by a statement of its own "
                "(too few drawn chunks had a vector)")
        population = None if drawn else int(rows[0]["population"]) if rows else 0
        batches = iter([rows])
    # Every row re-embedded gives a cosine and the stored vector's length over the model's, kept as 8-byte doubles
    # (--sample all reads every row); of the rows themselves only those the strictest rule (EXACT) would call off
    # are kept: none of a healthy sample where the provider reproduces the stored vectors, every row within the
    # fixed tolerance but off that rule where it does not.
    lengths = session.profile.distance in LENGTH_DISTANCES
    # (row, cosine, length ratio, in the uniform draw); where the provider does not reproduce the stored vectors every
    # row is one, so past a limit they wait in a temporary file: --sample all never holds a table's rows in memory
    with SpilledList[tuple[Offender, float | None, float, bool]]() as suspects:
        return _judged(session, collection, batches, suspects, provider, budget, population, read, lengths)


def _judged(session: CheckSession, collection: str, batches: Iterator[list[dict]],
            suspects: SpilledList[tuple[Offender, float | None, float, bool]], provider: OllamaProvider,
            budget: int | None, population: int | None, read: str, lengths: bool) -> Outcome:
    sims = array("d")
    ratios = array("d")
    uniform = extra = 0
    # Rows the model answered no usable vector for (NaN, infinite or all zeros): nothing was compared, and a NaN
    # cosine is below no floor, so such a row read as matching ('0 of 29 rows off (lowest cosine nan)').
    unanswered: list[str] = []
    for rows in batches:
        for start in range(0, len(rows), _EMBED_BATCH):
            batch = rows[start:start + _EMBED_BATCH]
            try:
                fresh = provider.embed([r["text"] for r in batch]).vectors
            except ProviderError as stopped:
                close = getattr(batches, "close", None)
                if close is not None:  # --sample all's cursor: its connection goes back now, not when collected
                    close()
                return _off_before_stop(session, collection, suspects, uniform + extra, stopped, read, lengths)
            for row, answer in zip(batch, fresh):
                stored, new = _vector(row["vector"]), np.asarray(answer, dtype=np.float64)
                if not (np.isfinite(new).all() and new.any()):
                    unanswered.append(str(row["id"]))
                    continue
                sim, ratio = cosine(stored, new), length_ratio(stored, new)
                uniform, extra = (uniform + 1, extra) if row["uniform"] else (uniform, extra + 1)
                if sim is None:
                    suspects.append((Offender(row["id"], row["collection"], row["tenant"],
                                              f"stored {stored.shape[0]} dims, model returns {len(new)}"), None, ratio,
                                     bool(row["uniform"])))
                    continue
                sims.append(sim)
                ratios.append(ratio)
                if off(sim, ratio, EXACT, lengths=lengths) is not None:
                    suspects.append((Offender(row["id"], row["collection"], row["tenant"], ""), sim, ratio,
                                     bool(row["uniform"])))
    # The median row, a row (the upper of the two middle ones): the mean of a reproduced and a damaged row, as
    # np.median gives of an even sample, is neither, and hid half a sample made from other input (of 2 rows, 1).
    reproduced = sorted(sims)[len(sims) // 2] if sims else None
    exact = reproduced is not None and reproduced >= REPRODUCED
    floor = EXACT if exact else THRESHOLD
    # Where no row reproduces (another build of the model), lengths are held to the agreement the median row shows
    # (up to EXACT's), not to the 0.99 floor's 14%: the provider's drift is in the cosines, and 1.1x lengths are not.
    length_floor = floor if exact or reproduced is None else min(EXACT, max(THRESHOLD, reproduced))
    offenders: list[Offender] = []  # the first OFFENDERS_CAP, as offenders.jsonl lists them; ``below`` counts all
    below = 0
    uniform_bad = extra_bad = 0
    for offender, sim, ratio, in_uniform in suspects:
        why = offender.detail if sim is None else off(sim, ratio, floor, lengths=lengths, length_floor=length_floor)
        if why is not None:
            below += 1
            if len(offenders) < OFFENDERS_CAP:
                offenders.append(replace(offender, detail=why))
            uniform_bad, extra_bad = (uniform_bad + 1, extra_bad) if in_uniform else (uniform_bad, extra_bad + 1)
    close = sum(1 for sim in sims if THRESHOLD <= sim < EXACT)  # other input where the provider reproduces
    if population is None and budget is not None:
        # What the pass counts: re-embedding overlapped it, and only now is its count waited for.
        population = session.onepass().drawable[collection] if collection in session.collections else uniform
    if population is None:
        population = uniform
    if uniform + extra == 0:
        if unanswered:
            return unproven("recompute", collection, f"{len(unanswered)} rows re-embedded got no usable vector from "
                            f"{session.model} (NaN, infinite or all zeros): nothing was compared (first keys: "
                            f"{', '.join(unanswered[:5])})", metrics={"unanswered": len(unanswered), "read": read})
        return skipped("recompute", collection, "no healthy embedded rows to sample")
    proof = Proof(uniform, uniform_bad, population, session.confidence, session.max_bad_fraction)
    worst = min(sims) if sims else None
    found = proof.sentence()
    if extra:
        found += (f"; {extra_bad} of {extra} more rows picked where errors cluster (the write transactions, tenants "
                  "and recent edits among the drawn candidates: not every one of them on a large collection) off")
    if worst is not None:
        found += f" (lowest cosine {worst:.6f})" if exact else f" (lowest cosine {worst:.3f})"
    if lengths and ratios:
        found += (f"; lengths {min(ratios):.4f}-{max(ratios):.4f}x the model's (distance {session.profile.distance} "
                  "compares them)")
    if exact:
        found += (f"; the median row reproduces to cosine {reproduced:.6f}: {session.model} made these vectors, and a "
                  f"row below {EXACT} was made from other input")
    if uniform >= MOST_OFF_MIN_ROWS and uniform_bad * 2 > uniform:
        # One cause across the corpus explains most rows off better than as many edits; the counts call such rows
        # current (their hashes and model match), so the way to re-embed them is said here.
        found += ("; most rows read are off: one cause across the corpus, more likely than as many edits, is that "
                  "the text the profile composes is not what the application embeds (a task prefix: "
                  "chunks.text_prefix; the newline rule: chunks.text_newlines; a template or other columns: "
                  "chunks.text) or that another model made the vectors; once the profile says what the application "
                  "embeds, rows the counts call current are re-embedded by backfill --all (run --engine --all: every "
                  "row) or backfill --keys-from a file of their keys (offenders.jsonl lists those read)")
    expected = (f"cosine >= {THRESHOLD} between stored vectors and {session.model} re-embedding the current text "
                f"(>= {EXACT} where the median row reproduces to {REPRODUCED})"
                + (f", and the same length within {length_tolerance(length_floor):.4f} (as close as a cosine of "
                   f"{length_floor:.6f} allows)" if lengths else "") + ", "
                f"on a sample proving fewer than {100 * proof.required:g}% of rows off at "
                f"{100 * proof.confidence:g}% confidence")
    metrics = {**proof.metrics(), "extra_sampled": extra, "extra_bad": extra_bad, "min_cosine": worst,
               "median_cosine": reproduced, "threshold": floor,
               "length_ratios": [min(ratios), max(ratios)] if lengths and ratios else None,
               "below": below, "read": read}
    reproducing = sum(1 for sim in sims if sim >= REPRODUCED)
    metrics["unanswered"] = len(unanswered)
    if not offenders and unanswered:
        return unproven("recompute", collection,
                        f"{len(unanswered)} of {uniform + extra + len(unanswered)} rows re-embedded got no usable "
                        f"vector from {session.model} (NaN, infinite or all zeros), so their stored vectors were "
                        f"compared with nothing (first keys: {', '.join(unanswered[:5])}); of the rest: {found}",
                        expected=expected, found=found, metrics=metrics)
    if unanswered:
        found += (f"; {len(unanswered)} more rows got no usable vector from {session.model} (NaN, infinite or all "
                  f"zeros): not compared (first keys: {', '.join(unanswered[:5])})")
    metrics.update(reproducing=reproducing, close=close)
    if not offenders and not exact and close:
        # The floor is the sample's own: where the median row does not reproduce it is 0.99, which a vector of the
        # text a sentence ago stays above. Rows below EXACT are then other input or another build of the model, and
        # the sample cannot tell which: every row of a sample made from the text three words ago passed.
        cause = (f"{session.model} made some of these vectors and not the others (other input, or another build of "
                 "the model); the median row does not reproduce, so which cannot be told" if reproducing else
                 f"{session.model} as it embeds now made none of these vectors (another build of the model, or other "
                 f"input: the median row reproduces to cosine {reproduced:.6f}), so which cannot be told")
        return unproven("recompute", collection,
                        f"{reproducing} of {len(sims)} rows reproduce to cosine {REPRODUCED} and {close} are "
                        f"below {EXACT}: {cause}; the sample proves only "
                        f"{proof.sentence(off=f'below cosine {THRESHOLD}')}, not that the rest are of their current text: an edit that moves a vector less than cosine "
                        f"{THRESHOLD} (a sentence more or less in a long text: 1e-3..1e-2) is not told from the "
                        f"provider's drift (re-embed with the build that made them, or where these are edits: backfill "
                        "--all)", expected=expected, found=found, metrics=metrics)
    if not offenders and not proof.within:
        from .sampling import sample_size

        need = sample_size(proof.required, proof.confidence)
        return unproven("recompute", collection,
                        f"bound too wide: {found}; fewer than {100 * proof.required:g}% needs {need} sampled rows "
                        f"(--sample {need}, or --sample all)", expected=expected, found=found, metrics=metrics)
    return verdict("recompute", collection, not offenders, expected=expected, found=found,
                   offenders=offenders, total=below, metrics=metrics)


def _off_before_stop(session: CheckSession, collection: str,
                     suspects: SpilledList[tuple[Offender, float | None, float, bool]], compared: int,
                     stopped: ProviderError, read: str, lengths: bool) -> Outcome:
    """The provider stopped answering part-way: rows already compared that are off by the loosest tolerance (THRESHOLD,
    which the median of all rows only ever tightens) are off whatever the rest holds, and fail the check by name;
    none such leaves the whole check unproven (raised on, as where nothing was compared)."""
    offenders: list[Offender] = []
    below = 0
    for offender, sim, ratio, _ in suspects:
        why = offender.detail if sim is None else off(sim, ratio, THRESHOLD, lengths=lengths)
        if why is not None:
            below += 1
            if len(offenders) < OFFENDERS_CAP:
                offenders.append(replace(offender, detail=why))
    if not offenders:
        raise stopped
    found = (f"{below} of {compared} rows compared off (by the loosest tolerance, cosine {THRESHOLD}) before "
             f"{session.model} stopped answering ({stopped}); the other rows were not compared, and no bound is "
             "stated for them")
    expected = f"cosine >= {THRESHOLD} between stored vectors and {session.model} re-embedding the current text"
    return verdict("recompute", collection, False, expected=expected, found=found, offenders=offenders, total=below,
                   metrics={"compared": compared, "below": below, "read": read, "stopped": str(stopped)})


RECOMPUTE = ProviderCheck("recompute", _measured, "nothing was re-embedded")
