"""One pass over chunks and embeddings that counts what checks 2 to 5 and 8 need, for every checked collection.

A full join on the key (not the collection) sees, in the same scan, chunks without
a vector, embeddings whose chunk is gone, embeddings filed under another
collection or tenant, and the model, hash, norm and dimension of every vector.
Groups are (chunk collection, embedding collection, chunk tenant, embedding tenant),
so a healthy table yields one group per tenant.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, cast

from psycopg import sql

from ..db import Conn, one
from .shape import NULL, Shape


@dataclass(frozen=True)
class Group:
    collection: str | None  # the chunk's collection (None: no chunk, an orphan embedding)
    emb_collection: str | None
    tenant: str | None
    emb_tenant: str | None
    has_chunk: bool
    has_embedding: bool
    rows: int
    vectors: int
    other_model: int
    stale: int
    zero: int
    nonfinite: int
    wrong_dims: int
    stale_time: int = 0  # chunk changed after its vector was written (where the profile names both timestamps)


@dataclass(frozen=True)
class TenantCounts:
    tenant: str | None
    chunks: int
    embedded: int


@dataclass(frozen=True)
class CollectionStats:
    collection: str
    chunks: int
    embedded: int
    orphans: int
    misplaced: int
    other_model: int
    stale: int
    zero: int
    nonfinite: int
    wrong_dims: int
    tenants: tuple[TenantCounts, ...]
    emb_tenants: tuple[str | None, ...]
    duplicates: int = 0  # embedding rows beyond one per chunk (a table without a unique key)
    stale_time: int = 0

    @property
    def missing(self) -> int:
        return self.chunks - self.embedded if self.chunks > self.embedded else 0


def stale_by_time(shape: Shape) -> sql.Composable | None:
    """A chunk edited after its vector was written, where the profile names both timestamps."""
    ch, em = shape.profile.chunks, shape.profile.embeddings
    if not (ch.updated_at and em.written_at):
        return None
    return sql.SQL("{} > {}").format(shape.target.c(ch.updated_at), shape.target.e(em.written_at))


def placed(shape: Shape) -> sql.Composable:
    """An embedding row filed under its chunk's collection, the way ``Target.join`` matches them."""
    em, ch = shape.profile.embeddings, shape.profile.chunks
    if shape.inline or not (em.collection and ch.collection):
        return sql.SQL("true")
    return sql.SQL("{}::text = {}::text").format(shape.target.e(em.collection), shape.target.c(ch.collection))


def vector_row(shape: Shape) -> sql.Composable:
    """The address (ctid) of the row holding the vector: later statements of the same snapshot fetch it directly."""
    return sql.SQL("{}.ctid").format(sql.Identifier(shape.target.emb_alias))


_PROBE_SEED = 20_240_611


def probe(dims: int) -> str:
    """The fixed probe vector of the fingerprint, as pgvector text."""
    import numpy as np

    values = np.random.default_rng(_PROBE_SEED).standard_normal(dims)
    return "[" + ",".join(f"{v:.6f}" for v in values) + "]"


def fingerprint(shape: Shape) -> sql.Composable:
    """One int8 per vector, equal for equal vectors: hashes of its norm and of its inner product with a fixed probe
    (``%(probe)s``; without a known dimension, of its bytes). Vectors seen twice are then compared exactly."""
    v = sql.SQL("{}::vector").format(shape.target.vector)
    return sql.SQL("(hashfloat8extended(vector_norm({v}), 0) # CASE WHEN vector_dims({v}) = %(dims)s "
                   "THEN hashfloat8extended({v} <#> %(probe)s::vector, 1) ELSE hashtextextended(md5(vector_send({v})), 1) END)"
                   ).format(v=v)


def draw_key(shape: Shape) -> sql.Composable:
    """The sample's random order: a hash of the key seeded per run (``%(seed)s``), uniform and parallel-safe."""
    return sql.SQL("hashtextextended({}::text, %(seed)s)").format(shape.target.chunk_id)


def stats_sql(shape: Shape, *, has_model: bool, has_hash: bool, check_dims: bool) -> sql.Composed:
    """The one pass: every count the row checks need, every vector's fingerprint (duplicates found in the same
    statement) and the rows a sample may draw, for every checked collection, in one statement."""
    t = shape.target
    em = shape.profile.embeddings
    cc, ct = shape.chunk_collection(), shape.chunk_tenant()
    ec, et = shape.emb_collection() or NULL, shape.emb_tenant() or NULL
    vec = t.vector
    has_c: sql.Composable
    has_e: sql.Composable
    if shape.inline:
        has_c, has_e = sql.SQL("true"), sql.SQL("true")
        frm = sql.SQL("{} AS c").format(t.chunk_table)
        scope = shape.chunks_in()
        matched = sql.SQL("{} IS NOT NULL").format(vec)
    else:
        has_c = sql.SQL("({} IS NOT NULL)").format(t.chunk_id)
        has_e = sql.SQL("({} IS NOT NULL)").format(shape.emb_key())
        # The embedding table first: the planner then hashes the chunk side when it hashes, and reads the wide
        # vector rows once, in parallel.
        frm = sql.SQL("{e} AS e FULL JOIN {c} AS c ON {k} = {id}").format(
            c=t.chunk_table, e=t.embedding_table, k=shape.emb_key(), id=t.chunk_id)
        if shape.emb_collection() is not None:
            emb_side = sql.SQL("{} = ANY(%(collections)s)").format(ec)
        else:
            emb_side = sql.SQL("{} IS NULL").format(t.chunk_id)  # orphans cannot be told apart by collection
        scope = sql.SQL("({} OR {})").format(shape.chunks_in(), emb_side)
        matched = sql.SQL("{hc} AND {he} AND {v} IS NOT NULL").format(hc=has_c, he=has_e, v=vec)
    no = sql.SQL("false")
    other = (sql.SQL("({m} AND {col} IS DISTINCT FROM %(model)s)").format(m=matched, col=t.e(em.model))
             if has_model else no)
    # Only chunks of the checked collections are hashed: a misplaced row's other collection is never folded.
    stale = (sql.SQL("({m} AND {cc} = ANY(%(collections)s) AND {h} IS DISTINCT FROM {th})").format(
        m=matched, cc=cc, h=t.e(em.input_hash), th=t.text_hash)
             if has_hash else no)
    dims = (sql.SQL("({m} AND vector_dims({v}) IS DISTINCT FROM %(dims)s)").format(m=matched, v=vec)
            if check_dims else no)
    timed = stale_by_time(shape)
    stale_time = (sql.SQL("({m} AND {cc} = ANY(%(collections)s) AND {s})").format(m=matched, cc=cc, s=timed)
                  if timed is not None else no)
    # Each count is a FILTER straight over the join (no inner query): the planner can then run the pass as a
    # parallel partial aggregate. Non-finite values are not counted per row: pgvector refuses NaN and Infinity on
    # input (text and binary) and on arithmetic overflow, so a vector, halfvec or sparsevec column cannot hold
    # one; ``nonfinite`` is kept (always 0) for the report. Arrays are aggregated in parallel too (array_agg
    # combines partial states), so fingerprints and sample draws cost no second scan.
    zero = sql.SQL("{m} AND {norm} = 0").format(m=matched, norm=shape.norm())
    drawable = sql.SQL("{ci} AND {p} AND {v} IS NOT NULL").format(ci=shape.chunks_in(), p=placed(shape), v=vec)
    # Each collection draws below its own cut (a small collection whole, a large one about the rows it needs).
    drawn = sql.SQL("{d} AND {k} <= (%(cuts)s::bigint[])[array_position(%(collections)s::text[], {cc})]").format(
        d=drawable, k=draw_key(shape), cc=cc)
    grouped = sql.SQL(
        "SELECT {cc} AS collection, {ec} AS emb_collection, {ct} AS tenant, {et} AS emb_tenant, "
        "{hc} AS has_chunk, {he} AS has_embedding, coalesce({scope}, false) AS in_scope, count(*) AS rows, "
        "count(*) FILTER (WHERE {m}) AS vectors, count(*) FILTER (WHERE {other}) AS other_model, "
        "count(*) FILTER (WHERE {stale}) AS stale, count(*) FILTER (WHERE {zero}) AS zero, "
        "0 AS nonfinite, count(*) FILTER (WHERE {dims}) AS wrong_dims, "
        "count(*) FILTER (WHERE {stale_time}) AS stale_time, count(*) FILTER (WHERE {drawable}) AS drawable, "
        "count({v}) AS all_vectors, "
        "array_agg({vt}) FILTER (WHERE {drawn}) AS drawn_rows, array_agg({dk}) FILTER (WHERE {drawn}) AS drawn_keys, "
        "array_agg({fp}) FILTER (WHERE {v} IS NOT NULL) AS fps "
        "FROM {frm} GROUP BY 1, 2, 3, 4, 5, 6, 7"
    ).format(cc=cc, ec=ec, ct=ct, et=et, hc=has_c, he=has_e, scope=scope, m=matched, other=other, stale=stale,
             zero=zero, dims=dims, stale_time=stale_time, drawable=drawable, drawn=drawn, vt=vector_row(shape),
             dk=draw_key(shape), fp=fingerprint(shape), v=vec, frm=frm)
    # Fingerprints held twice (usually none) are found in the same statement; only they return.
    return sql.SQL(
        "WITH g AS ({grouped}) "
        "SELECT collection, emb_collection, tenant, emb_tenant, has_chunk, has_embedding, in_scope, rows, vectors, "
        "other_model, stale, zero, nonfinite, wrong_dims, stale_time, drawable, all_vectors, "
        "drawn_rows::text[] AS drawn_rows, "
        "drawn_keys, (SELECT array_agg(f) FROM (SELECT f FROM g AS g2, unnest(g2.fps) AS f GROUP BY f "
        "HAVING count(*) > 1) AS twice) AS shared_fps FROM g"
    ).format(grouped=grouped)


def chunk_counts_sql(shape: Shape) -> sql.Composed:
    """Chunks per collection from the chunk table alone (narrow, often index-only): the join's rows minus these are duplicates."""
    return sql.SQL("SELECT {cc} AS collection, {ct} AS tenant, count(*) AS chunks FROM {t} AS c WHERE {w} GROUP BY 1, 2").format(
        cc=shape.chunk_collection(), ct=shape.chunk_tenant(), t=shape.target.chunk_table, w=shape.chunks_in())


@dataclass(frozen=True)
class Pass:
    """What the one pass found: the counts per collection, and what later statements of the same snapshot fetch."""

    stats: dict[str, CollectionStats]
    rows: int  # rows of the join the statement read
    vectors: int  # non-NULL vectors among them (every collection)
    drawable: dict[str, int]  # per collection: embedded rows a sample draws from
    drawn: dict[str, list[tuple[str, int]]]  # per collection: (row address, draw key) of the rows a sample may take
    shared_fps: list[int]  # fingerprints held by more than one vector (usually none)


def gather(conn: Conn, shape: Shape, collections: list[str], model: str, dims: int | None, check_dims: bool, *,
           probe: str | None = None, seed: int = 0, cuts: list[int] | None = None) -> Pass:
    """Run the one pass for every collection at once and fold its groups per collection (inside a snapshot
    transaction, so the row addresses it returns stay valid for the statements that follow)."""
    em = shape.profile.embeddings
    query = stats_sql(shape, has_model=bool(em.model), has_hash=bool(em.input_hash), check_dims=check_dims and dims is not None)
    params = {"collections": list(collections), "model": model, "dims": dims, "probe": probe, "seed": seed,
              "cuts": cuts or [2**63 - 1] * len(collections)}
    _allow_parallel(conn)
    rows = conn.execute(query, params).fetchall()
    groups = [Group(**cast(dict[str, Any], {k: (int(v) if k in _COUNTS else v) for k, v in r.items() if k in _GROUP}))
              for r in rows if r["in_scope"]]
    result = {c: fold(c, groups, has_emb_collection=shape.emb_collection() is not None,
                      has_emb_tenant=shape.emb_tenant() is not None) for c in collections}
    if not shape.inline and not _key_is_unique(conn, shape):
        true = {(r["collection"], r["tenant"]): int(r["chunks"]) for r in conn.execute(chunk_counts_sql(shape), params).fetchall()}
        for c, st in result.items():
            extra = st.chunks - sum(n for (coll, _), n in true.items() if coll == c)
            if extra > 0:
                tenants = tuple(TenantCounts(tc.tenant, true.get((c, tc.tenant), 0),
                                             tc.embedded - (tc.chunks - true.get((c, tc.tenant), 0))) for tc in st.tenants)
                result[c] = replace(st, chunks=st.chunks - extra, embedded=st.embedded - extra, duplicates=extra,
                                    tenants=tenants)
    drawable = {c: sum(int(r["drawable"]) for r in rows if r["has_chunk"] and r["collection"] == c) for c in collections}
    drawn = {c: [pair for r in rows if r["has_chunk"] and r["collection"] == c and r["drawn_rows"]
                 for pair in zip(_addresses(r["drawn_rows"]), r["drawn_keys"])] for c in collections}
    shared = list(rows[0]["shared_fps"] or []) if rows else []
    return Pass(result, sum(int(r["rows"]) for r in rows), sum(int(r["all_vectors"]) for r in rows), drawable, drawn,
                shared)


def _addresses(value: Any) -> list[str]:
    """Row addresses (ctid) as text, however the driver read the tid[] (a list, or its text form)."""
    if isinstance(value, str):
        return [part.strip('"') for part in value.strip("{}").split('","')] if value.strip("{}") else []
    return [str(v) for v in value]


def _key_is_unique(conn: Conn, shape: Shape) -> bool:
    """Whether a unique index on the embedding key alone rules out duplicate rows (then no second pass is needed)."""
    em = shape.profile.embeddings
    row = one(conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
        "WHERE i.indrelid = to_regclass(%s) AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL "
        "AND i.indexprs IS NULL AND a.attname = %s) AS unique_key",
        (sql.Identifier(em.schema, em.table).as_string(conn), em.key)).fetchone())
    return bool(row["unique_key"])


def _allow_parallel(conn: Conn) -> None:
    """Inside the read-only transaction: let the planner split the pass over workers and hash without spilling."""
    for name, value in _PASS_SETTINGS.items():
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))


# The pass reads every row of both tables once: worker start-up is cheap next to that, and the
# default 4MB work_mem makes the hash join spill the wide embedding rows to temp files.
_PASS_SETTINGS = {"parallel_setup_cost": "10", "parallel_tuple_cost": "0.001", "work_mem": "64MB"}

_COUNTS = {"rows", "vectors", "other_model", "stale", "zero", "nonfinite", "wrong_dims", "stale_time"}
_GROUP = {f for f in Group.__dataclass_fields__}


def fold(collection: str, groups: list[Group], *, has_emb_collection: bool, has_emb_tenant: bool = False) -> CollectionStats:
    """The counts of one collection from the pass's groups."""
    def placed(g: Group) -> bool:
        return not has_emb_collection or g.emb_collection == g.collection

    mine = [g for g in groups if g.has_chunk and g.collection == collection]
    matched = [g for g in mine if g.has_embedding and placed(g)]
    tenants: dict[Any, list[int]] = {}
    for g in mine:
        slot = tenants.setdefault(g.tenant, [0, 0])
        slot[0] += g.rows
        if g.has_embedding and placed(g):
            slot[1] += g.vectors
    orphans = sum(g.rows for g in groups if not g.has_chunk and (not has_emb_collection or g.emb_collection == collection))
    misplaced = sum(
        g.rows for g in groups
        if g.has_chunk and g.has_embedding and collection in (g.collection, g.emb_collection)
        and ((has_emb_collection and g.emb_collection != g.collection) or
             (has_emb_tenant and g.emb_tenant != g.tenant))
    )
    emb_tenants = sorted({g.emb_tenant for g in groups if g.has_embedding and g.emb_tenant is not None
                          and collection in (g.collection, g.emb_collection)}, key=str)
    return CollectionStats(
        collection=collection,
        chunks=sum(g.rows for g in mine),
        embedded=sum(g.vectors for g in matched),
        orphans=orphans,
        misplaced=misplaced,
        other_model=sum(g.other_model for g in matched),
        stale=sum(g.stale for g in matched),
        zero=sum(g.zero for g in matched),
        nonfinite=sum(g.nonfinite for g in matched),
        wrong_dims=sum(g.wrong_dims for g in matched),
        stale_time=sum(g.stale_time for g in matched),
        tenants=tuple(TenantCounts(t, c, e) for t, (c, e) in sorted(tenants.items(), key=lambda kv: str(kv[0]))),
        emb_tenants=tuple(emb_tenants),
    )
