"""One pass over chunks and embeddings: every count the row checks need and every vector's fingerprint, for every
checked collection, in one statement.

The embedding rows joined to their chunks on the key (not the collection) show, in the
same scan, embeddings whose chunk is gone, embeddings filed under another collection or
tenant, and the model, hash, norm, dimension and fingerprint of every vector; chunks
without a vector are the chunk count minus the matched ones (a full join where the
embedding key is not unique). Groups are (chunk collection, embedding collection, chunk
tenant, embedding tenant), so a healthy table yields one group per tenant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, cast

from psycopg import sql

from ..db import Conn, one
from ..introspect import unique_alone
from ..model_names import other_model
from ..profile import json_field
from ..target import Target
from .fingerprints import Spool, held_twice_in
from .fingerprints import zeros as count_zeros
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
    degenerate: int  # not all zeros, yet pgvector's distances cannot use it (``Shape.degenerate``)
    wrong_dims: int
    stale_time: int = 0  # chunk changed after its vector was written (where the profile names both timestamps)
    untimed: int = 0  # a timestamp NULL, or the two of different types: whether the chunk changed after cannot be told
    tied: int = 0  # times equal at the columns' coarser tick (``Target.tied_in_a_tick``): untimed where no chunk
    # shows a microsecond
    fine: int = 0  # chunks whose time shows a microsecond, both columns keeping it (``Target.shows_a_microsecond``)
    textless: int = 0  # vectors of chunks without a text (``Target.no_text``): of nothing the chunk says


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
    degenerate: int
    wrong_dims: int
    tenants: tuple[TenantCounts, ...]
    emb_tenants: tuple[str | None, ...]
    duplicates: int = 0  # embedding rows beyond one per chunk (a table without a unique key)
    stale_time: int = 0
    untimed: int = 0
    tied: int = 0
    fine: int = 0
    textless: int = 0
    # Embedding rows whose key is NULL: they reference no chunk, so they are no chunk's vector and no orphan
    # (lobe-chat keeps its search queries' vectors in `embeddings` with `chunk_id` NULL).
    keyless: int = 0

    @property
    def missing(self) -> int:
        return self.chunks - self.embedded if self.chunks > self.embedded else 0


def stale_by_time(shape: Shape) -> sql.Composable | None:
    """A chunk edited after its vector was written: the engine's rule (``Target.changed_after_vector``), NULL
    (untimed) where either time is NULL or their types differ."""
    return shape.target.changed_after_vector()


def placed(shape: Shape) -> sql.Composable:
    """An embedding row filed under its chunk's collection, the way ``Target.join`` matches them."""
    filed = None if shape.inline else shape.target.filed_with_chunk()
    return sql.SQL("true") if filed is None else filed


_PROBE_SEED = 20_240_611


def probe(dims: int) -> str:
    """The fixed probe vector of the fingerprint, as pgvector text."""
    import numpy as np

    values = np.random.default_rng(_PROBE_SEED).standard_normal(dims)
    return "[" + ",".join(f"{v:.6f}" for v in values) + "]"


def fingerprint(shape: Shape) -> sql.Composable:
    """One int8 per vector, equal for equal vectors: hashes of its norm and of its inner product with a fixed probe
    (``%(probe)s``; without a known dimension, of its bytes). Vectors seen twice are then compared exactly."""
    v = sql.SQL("{}::vector").format(shape.vector)
    return sql.SQL("(hashfloat8extended(vector_norm({v}), 0) # CASE WHEN vector_dims({v}) = %(dims)s "
                   "THEN hashfloat8extended({v} <#> %(probe)s::vector, 1) ELSE hashtextextended(md5(vector_send({v})), 1) END)"
                   ).format(v=v)


def draw_key(shape: Shape) -> sql.Composable:
    """The sample's random order: a hash of the key seeded per run (``%(seed)s``), uniform and parallel-safe."""
    return sql.SQL("hashtextextended({}::text, %(seed)s)").format(shape.target.chunk_id)


def stats_sql(shape: Shape, *, has_model: bool, has_hash: bool, check_dims: bool, unique_key: bool = False,
              count_chunks: bool = True, narrow: bool = False, keyed_per_collection: bool = False,
              out_of_line: bool = False) -> sql.Composed:
    """The one pass: every count the row checks need, every vector's fingerprint (duplicates found in the same
    statement) and the rows a sample may draw, for every checked collection, in one statement.

    With a unique embedding key the join is driven by the embedding table (``e LEFT JOIN c``: the shape of the
    floor, a parallel merge join over both keys) and chunks without a vector are the chunk count minus the
    matched ones (the chunk table's narrow count, in the same statement); without one, a full join.

    ``narrow``: the same counts, with each row reduced to its keys, flags and fingerprint in the scan's workers
    (``_narrowed``), for plans that would carry vectors through a sort or a spilling hash join (``gather``).

    ``out_of_line``: the vectors are stored out of line (``stored_out_of_line``): each is read once (``read_once``), in
    the embedding rows or, inline, in the chunk table's.

    ``keyed_per_collection``: ``chunks.id`` names a chunk only within its collection (``keyed_per_collection``), so
    an embedding row is matched on its collection too, as ``Target.join`` (the engine's) matches it."""
    t = shape.target
    em = shape.profile.embeddings
    # A chunk of several collections is read once for each checked collection it is in (``each_checked_collection``).
    cc, ct = shape.checked_collection(), shape.chunk_tenant()
    ec, et = shape.emb_collection() or NULL, shape.emb_tenant() or NULL
    each = t.each_checked_collection()
    # What the pass needs of each vector: has one, its fingerprint, whether it has another dimension than expected,
    # and whether such a vector is zero (a zero vector of the expected dimension has the fingerprint
    # ``fingerprints.ZERO_FINGERPRINT``: both hashes of 0 are their seeds, ``fingerprints.zeros`` counts them).
    once = out_of_line
    if once:  # each vector fetched once (``read_once``)
        shape = replace(shape, vector_expr=sql.SQL("{}.bh_vec").format(sql.Identifier(t.emb_alias)))
    v = shape.vector
    per_vector = {
        "has_vector": sql.SQL("{} IS NOT NULL").format(v),
        "fp": sql.SQL("CASE WHEN {v} IS NOT NULL THEN {fp} END").format(v=v, fp=fingerprint(shape)),
        "off_dims": sql.SQL("{} IS DISTINCT FROM %(dims)s").format(shape.dims()),
        "zero_off_dims": sql.SQL("{d} IS DISTINCT FROM %(dims)s AND {norm} = 0").format(d=shape.dims(), norm=shape.norm()),
        "degenerate": shape.degenerate(),
    }
    if shape.profile.chunks.collection_several:  # zero vectors counted per row, not from the fingerprints (below)
        per_vector["zero"] = sql.SQL("{} = 0").format(shape.norm())
    has_c: sql.Composable
    has_e: sql.Composable
    vector = per_vector
    if shape.inline:
        has_c, has_e = sql.SQL("true"), sql.SQL("true")
        frm = sql.SQL("{} AS c{}").format(read_once(t) if once else t.chunk_table, each)
        scope = shape.chunks_in()
        matched = vector["has_vector"]
    else:
        has_c = sql.SQL("({} IS NOT NULL)").format(t.chunk_id)
        has_e = sql.SQL("({} IS NOT NULL)").format(shape.emb_key())
        emb: sql.Composable = read_once(t) if once else t.embedding_rows
        if narrow:
            # Each embedding row reduced, where it is read, to the columns compared and its per-vector values (the
            # set-returning generate_series keeps the planner from moving them above the join): a hash join that
            # spills, as it does right after a load when the table has no statistics, then writes these few bytes
            # to its batch files instead of every vector (#12: 1.8 GB of temporary files, 21 s at 1,000,000 rows).
            columns = dict.fromkeys(c for c in (em.key, em.collection, em.tenant, em.model and json_field(em.model)[0],
                                                em.input_hash, em.written_at) if c)
            emb = sql.SQL("(SELECT {cols}, {values}, generate_series(1, 1) AS bh_once FROM {e} AS e)").format(
                cols=sql.SQL(", ").join(t.e(c) for c in columns), e=emb,
                values=sql.SQL(", ").join(sql.SQL("{} AS {}").format(expr, sql.Identifier(f"bh_{name}"))
                                          for name, expr in per_vector.items()))
            vector = {name: sql.SQL("e.{}").format(sql.Identifier(f"bh_{name}")) for name in per_vector}
        # The embedding table first: its wide vector rows are read once, in parallel.
        on = t.join_on() if keyed_per_collection else sql.SQL("{} = {}").format(shape.emb_key(), t.chunk_id)
        frm = sql.SQL("{e} AS e {kind} JOIN {c} AS c ON {on}{each}").format(
            e=emb, c=t.chunk_table, on=on, kind=sql.SQL("LEFT" if unique_key else "FULL"), each=each)
        if shape.emb_collection() is not None:
            # Filed under a checked collection, and its chunk (if any) inside chunks.filter: a chunk the filter leaves
            # out (soft-deleted, keeping its vector) is no chunk of the collection, so it must not be counted as one
            # (it stood in for a chunk without a vector: 106 embedded, 0 missing, of 106 chunks with 105 vectors).
            emb_side = sql.SQL("({} = ANY(%(collections)s) AND ({} IS NULL OR {}))").format(
                ec, t.chunk_id, t.chunk_filter(collection_param=False))
        else:
            emb_side = sql.SQL("{} IS NULL").format(t.chunk_id)  # orphans cannot be told apart by collection
        scope = sql.SQL("({} OR {})").format(shape.chunks_in(), emb_side)
        matched = sql.SQL("{hc} AND {he} AND {v}").format(hc=has_c, he=has_e, v=vector["has_vector"])
    no = sql.SQL("false")
    # Non-finite values are not counted per row: pgvector refuses NaN and Infinity on input (text and binary) and
    # on arithmetic overflow, so a vector, halfvec or sparsevec column cannot hold one. Finite values whose squares
    # overflow or underflow pgvector's float sums are (``degenerate``). Only a vector the fingerprint hashes by its
    # bytes (another dimension, or none expected) has its norm computed a second time, for ``zero``.
    timed = stale_by_time(shape)
    flags = {
        "m": matched,
        "other": (sql.SQL("({m} AND {o})").format(m=matched, o=other_model(t.model))
                  if has_model else no),
        # Only chunks of the checked collections are hashed: a misplaced row's other collection is never folded.
        "stale": (sql.SQL("({m} AND {cc} = ANY(%(collections)s) AND {d})").format(
            m=matched, cc=cc, d=t.hash_differs()) if has_hash else no),
        "zero": sql.SQL("({m} AND {z})").format(m=matched, z=vector["zero_off_dims"]),
        "degenerate": sql.SQL("({m} AND {d})").format(m=matched, d=vector["degenerate"]),
        "wrong_dims": sql.SQL("({m} AND {d})").format(m=matched, d=vector["off_dims"]) if check_dims else no,
        "stale_time": (sql.SQL("({m} AND {cc} = ANY(%(collections)s) AND {s})").format(m=matched, cc=cc, s=timed)
                       if timed is not None else no),
        # A NULL time compares as unknown: such a row is neither fresh nor stale by its timestamps.
        "untimed": (sql.SQL("({m} AND {cc} = ANY(%(collections)s) AND ({s}) IS NULL)").format(m=matched, cc=cc, s=timed)
                    if timed is not None else no),
        "tied": (sql.SQL("({m} AND {cc} = ANY(%(collections)s) AND {k})").format(m=matched, cc=cc, k=t.tied_in_a_tick())
                 if timed is not None else no),
        "fine": (sql.SQL("({hc} AND {cc} = ANY(%(collections)s) AND {q})").format(hc=has_c, cc=cc, q=t.shows_a_microsecond())
                 if timed is not None else no),
        # A vector of a chunk without a text embeds nothing the chunk says (at most the separator of empty columns),
        # yet its hash and its re-embedding agreed with it: counted here, on every row.
        "textless": sql.SQL("({m} AND {cc} = ANY(%(collections)s) AND {t})").format(m=matched, cc=cc, t=t.no_text),
        "drawable": sql.SQL("({ci} AND {p} AND {v})").format(ci=shape.chunks_in(), p=placed(shape), v=vector["has_vector"]),
        "has_vector": vector["has_vector"],
    }
    if shape.profile.chunks.collection_several:
        # A row read for each checked collection of its chunk: its vector counted, and its fingerprint sent, once (a
        # fingerprint sent twice with one text sends the sort down its slow path, and every tenant's view down a
        # second read); so its zero vectors are counted here, in each collection, not from the fingerprints.
        flags["all_vectors"] = sql.SQL("({} AND {})").format(vector["has_vector"], t.read_once())
        flags["zero"] = sql.SQL("({} AND {})").format(matched, vector["zero"])
    # Each vector's fingerprint goes with a hash of its row's text: a vector held by rows of one text is no
    # candidate for ``distinct_vectors``.
    fingerprints = sql.SQL("int8send({fp}) || int8send(coalesce(hashtextextended({text}, 0), 0))").format(
        fp=vector["fp"], text=t.text)
    keys = {"collection": cc, "emb_collection": ec, "tenant": ct, "emb_tenant": et, "has_chunk": has_c,
            "has_embedding": has_e, "in_scope": sql.SQL("coalesce({}, false)").format(scope)}
    grouped = (_narrowed(keys, flags, fingerprints, frm) if narrow else sql.SQL(
        # Each count is a FILTER straight over the join: the planner can run the pass as a parallel partial
        # aggregate, string_agg included (it combines partial states), so finding shared vectors costs no second scan.
        "SELECT {keys}, {counts}, string_agg({fps}, ''::bytea) FILTER (WHERE {hv}) AS fps FROM {frm} "
        "GROUP BY 1, 2, 3, 4, 5, 6, 7").format(
            keys=sql.SQL(", ").join(sql.SQL("{} AS {}").format(expr, sql.Identifier(n)) for n, expr in keys.items()),
            counts=_counts({name: sql.SQL("({})").format(expr) for name, expr in flags.items()}), fps=fingerprints,
            hv=flags.get("all_vectors", flags["has_vector"]), frm=frm))
    counted = (sql.SQL("(SELECT json_agg(json_build_array(collection, tenant, chunks)) FROM ({}) AS n)").format(
        chunk_counts_sql(shape)) if unique_key and not shape.inline and count_chunks else sql.SQL("NULL::json"))
    # The fingerprints come back as one bytea per group (16 bytes a vector: its fingerprint and a hash of its row's
    # text; no row, no text), cut into pieces of %(piece)s bytes, one row each (the group's counts repeated, ``at`` 1
    # on its first): sorting them with numpy finds the ones held with two texts several times faster than a hash
    # aggregate after the pass, and pieces let the caller keep them in bounded memory (``fingerprints.Spool``).
    # The chunk counts come on a row of their own (``rows`` NULL): on every group's row they were sent and parsed
    # once per group and piece, quadratic in tenants (a tenant column of 4,000 tenants: 24 s).
    return sql.SQL(
        "WITH g AS ({grouped}) "
        "SELECT collection, emb_collection, tenant, emb_tenant, has_chunk, has_embedding, in_scope, rows, vectors, "
        "other_model, stale, zero, degenerate, wrong_dims, stale_time, untimed, tied, fine, textless, drawable, "
        "all_vectors, "
        "p.piece, p.at, NULL::json AS chunk_counts "
        "FROM g LEFT JOIN LATERAL (SELECT substring(g.fps FROM s FOR %(piece)s) AS piece, s AS at "
        "FROM generate_series(1, length(g.fps), %(piece)s) AS s) AS p ON true "
        "UNION ALL SELECT {nulls}, {counted}"
    ).format(grouped=grouped, counted=counted, nulls=sql.SQL(", ").join([NULL] * 23))


def stored_out_of_line(declared_type: str | None, dims: int | None) -> bool:
    """Whether the column's vectors are stored out of line: past about 2 kB a row (a vector of 480 dimensions and up, a
    halfvec of 950), where every function given the column fetches the vector again."""
    written = (declared_type or "").rsplit(".", 1)[-1]
    width = {"vector": 4, "halfvec": 2}.get(written.split("(")[0])
    size = int(written.split("(")[1].rstrip(")")) if "(" in written else dims
    return bool(width and size and 8 + width * size > 1900)


def read_once(t: Target) -> sql.Composed:
    """The embedding rows (the chunk table where the vector is inline), each with ``bh_vec``: its vector as one copy
    in memory. A vector stored out of line (past
    about 2 kB: 768 dimensions and up) is fetched again by every function given the column, five to seven times a row
    in the pass (#12: 1.38 s against the floor's 0.38 s per 100,000 vectors of 768 dimensions; read once, 0.8 s).
    pgvector's ``vector(v, -1, true)`` (its length coercion, called as a function so that it is never left out) returns
    the value it reads; the set-returning ``generate_series`` keeps the planner from folding the copy into each use."""
    a = sql.Identifier(t.emb_alias)
    return sql.SQL("(SELECT {a}.*, vector({v}::vector, -1, true) AS bh_vec, generate_series(1, 1) AS bh_read "
                   "FROM {rows} AS {a})").format(a=a, v=t.vector, rows=t.chunk_table if t.inline else t.embedding_rows)


PIECE_BYTES = 1 << 20  # fingerprint pairs per row of the pass's result: 65,536 vectors


def _counts(flags: Mapping[str, sql.Composable]) -> sql.Composable:
    """The pass's counts over rows whose flags are ``flags`` (expressions, or the narrowed rows' columns)."""
    return sql.SQL(
        "count(*) AS rows, count(*) FILTER (WHERE {m}) AS vectors, count(*) FILTER (WHERE {other}) AS other_model, "
        "count(*) FILTER (WHERE {stale}) AS stale, count(*) FILTER (WHERE {zero}) AS zero, "
        "count(*) FILTER (WHERE {degenerate}) AS degenerate, "
        "count(*) FILTER (WHERE {wrong_dims}) AS wrong_dims, count(*) FILTER (WHERE {stale_time}) AS stale_time, "
        "count(*) FILTER (WHERE {untimed}) AS untimed, count(*) FILTER (WHERE {tied}) AS tied, "
        "count(*) FILTER (WHERE {fine}) AS fine, count(*) FILTER (WHERE {textless}) AS textless, "
        "count(*) FILTER (WHERE {drawable}) AS drawable, count(*) FILTER (WHERE {all_vectors}) AS all_vectors"
    ).format(**{"all_vectors": flags["has_vector"], **flags})


def _narrowed(keys: Mapping[str, sql.Composable], flags: Mapping[str, sql.Composable], fingerprints: sql.Composable,
              frm: sql.Composable) -> sql.Composable:
    """The grouped counts over rows first reduced to their keys, flags and fingerprint in the scan's own workers (the
    set-returning generate_series keeps the planner from folding them into the aggregate): where the planner groups
    by sorting (tenant columns all NULL, many tenants, no statistics right after a load: it expects a group per
    row), the sort carries these few bytes, not every vector and text (#12: at 2,000,000 rows 54 s instead of 4).
    A key that is a constant (a column the profile does not name: NULL, or the one collection's name) is written in
    the grouping query, not carried: a constant column of the rows has no statistics, so the planner would count 200
    values for it and expect a group per row where the few real groups take a hash aggregate."""
    carried = {name: expr for name, expr in keys.items() if not _constant(expr)}
    per_row = sql.SQL("SELECT {carried}, {flags}, {fps} AS fps, generate_series(1, 1) AS once FROM {frm}").format(
        carried=sql.SQL(", ").join(sql.SQL("{} AS {}").format(expr, sql.Identifier(n)) for n, expr in carried.items()),
        flags=sql.SQL(", ").join(sql.SQL("coalesce({}, false) AS {}").format(expr, sql.Identifier(n))
                                 for n, expr in flags.items()), fps=fingerprints, frm=frm)
    return sql.SQL("SELECT {keys}, {counts}, string_agg(fps, ''::bytea) FILTER (WHERE {sent}) AS fps "
                   "FROM ({per_row}) AS r GROUP BY 1, 2, 3, 4, 5, 6, 7").format(
        sent=sql.Identifier("all_vectors" if "all_vectors" in flags else "has_vector"),
        keys=sql.SQL(", ").join(sql.SQL("{} AS {}").format(sql.Identifier(n) if n in carried else expr, sql.Identifier(n))
                                for n, expr in keys.items()),
        counts=_counts({name: sql.Identifier(name) for name in flags}), per_row=per_row)


def _constant(expr: sql.Composable) -> bool:
    """A key the same for every row: NULL (no such column) or a literal (the one collection's name)."""
    return expr is NULL or isinstance(expr, sql.Literal)


def chunk_counts_sql(shape: Shape, *, every: bool = False) -> sql.Composed:
    """Chunks per collection and tenant from the chunk table alone (narrow, often index-only): the join's rows minus
    these are duplicates. ``every``: of every collection (no ``%(collections)s``), in collection order."""
    where = shape.target.chunk_filter(collection_param=False) if every else shape.chunks_in()
    cc, frm = shape.checked_collection(), shape.target.chunk_table
    if every and shape.profile.chunks.collection_several:  # a chunk counted in each collection it lists; in none: NULL
        cc, frm = sql.SQL("n"), sql.SQL("{} AS c LEFT JOIN {} ON true").format(frm, shape.target.each_collection())
    else:  # a chunk of several counted in each checked collection it is in
        frm = sql.SQL("{} AS c{}").format(frm, shape.target.each_checked_collection())
    return sql.SQL("SELECT {cc} AS collection, {ct} AS tenant, count(*) AS chunks FROM {t} WHERE {w} GROUP BY 1, 2{o}").format(
        cc=cc, ct=shape.chunk_tenant(), t=frm, w=where, o=sql.SQL(" ORDER BY 1") if every else sql.SQL(""))


@dataclass(frozen=True)
class Pass:
    """What the one pass found: the counts per collection, and what later statements of the same snapshot fetch."""

    stats: dict[str, CollectionStats]
    rows: int  # rows of the join the statement read
    vectors: int  # non-NULL vectors among them (every collection)
    drawable: dict[str, int]  # per collection: embedded rows a sample draws from
    shared_fps: list[int]  # fingerprints held by more than one vector (usually none)
    spool: Spool  # every fingerprint with its text's hash, as the statement sent them (compared across tenants' views)


def gather(conn: Conn, shape: Shape, collections: list[str], model: str, dims: int | None, check_dims: bool, *,
           probe: str | None = None, counts: list[tuple] | None = None, out_of_line: bool = False) -> Pass:
    """Run the one pass for every collection at once and fold its groups per collection (inside a snapshot
    transaction, so the row addresses it returns stay valid for the statements that follow). ``counts``: the
    chunk counts (``chunk_counts_sql`` rows) already read in this transaction's snapshot, not counted again."""
    em = shape.profile.embeddings
    unique = not shape.inline and _key_is_unique(conn, shape)
    options = dict(has_model=bool(em.model), has_hash=bool(em.input_hash), check_dims=check_dims and dims is not None,
                   unique_key=unique, count_chunks=counts is None, keyed_per_collection=keyed_per_collection(conn, shape),
                   out_of_line=out_of_line)
    params = pass_params(collections, model, dims, probe)
    query = pass_query(conn, shape, params, **options)
    if counts is not None:
        counts = [tuple(r) for r in counts if r[0] in collections]
    spool = Spool()
    try:
        return _fold_pass(conn, shape, collections, params, query, spool, unique=unique, counts=counts,
                          zeros=probe is not None and dims is not None and not shape.profile.chunks.collection_several)
    except BaseException:  # a statement after the pass may fail too (the chunk count): its file is closed
        spool.close()
        raise


def _fold_pass(conn: Conn, shape: Shape, collections: list[str], params: dict, query: sql.Composed, spool: Spool, *,
               unique: bool, counts: list[tuple] | None, zeros: bool) -> Pass:
    """``gather``'s statements after the plan is chosen, the fingerprints going to ``spool``."""
    rows, chunk_counts = _read_pass(conn, query, params, spool, zeros=zeros)
    groups = [Group(**cast(dict[str, Any], {k: (int(v) if k in _COUNTS else v) for k, v in r.items() if k in _GROUP}))
              for r in rows if r["in_scope"]]
    if unique:
        groups += _without_vector_rows(groups, chunk_counts or [] if counts is None else counts)
    has_emb_collection = shape.emb_collection() is not None
    result = {c: fold(c, mine, has_emb_collection=has_emb_collection, has_emb_tenant=shape.emb_tenant() is not None)
              for c, mine in _by_collection(groups, collections, has_emb_collection=has_emb_collection).items()}
    if not shape.inline and not unique:
        if counts is None:
            counts = [(r["collection"], r["tenant"], r["chunks"]) for r in conn.execute(chunk_counts_sql(shape), params).fetchall()]
        true = {(collection, tenant): int(chunks) for collection, tenant, chunks in counts}
        for c, st in result.items():
            extra = st.chunks - sum(n for (coll, _), n in true.items() if coll == c)
            if extra > 0:
                tenants = tuple(TenantCounts(tc.tenant, true.get((c, tc.tenant), 0),
                                             tc.embedded - (tc.chunks - true.get((c, tc.tenant), 0))) for tc in st.tenants)
                result[c] = replace(st, chunks=st.chunks - extra, embedded=st.embedded - extra, duplicates=extra,
                                    tenants=tenants)
    drawable = dict.fromkeys(collections, 0)
    for r in rows:
        if r["has_chunk"] and r["collection"] in drawable:
            drawable[r["collection"]] += int(r["drawable"])
    shared = held_twice_in([spool])
    return Pass(result, sum(int(r["rows"]) for r in rows), sum(int(r["all_vectors"]) for r in rows), drawable,
                shared, spool)


def _read_pass(conn: Conn, query: sql.Composed, params: dict, spool: Spool, *, zeros: bool) -> tuple[list[dict], Any]:
    """The pass's groups (one dict each, ``zero`` counting the zero vectors its fingerprints show where ``zeros``) and
    its chunk counts, streamed row by row in binary: each group's fingerprints arrive in pieces that go to ``spool``,
    so this process never holds them whole as text (#12: about 70 bytes a vector at the peak, fetched at once)."""
    groups: dict[tuple, dict] = {}
    chunk_counts = None
    for r in conn.cursor(binary=True).stream(query, params):
        if r["rows"] is None:  # the chunk counts' own row
            chunk_counts = r["chunk_counts"]
            continue
        key = tuple(r[k] for k in _KEYS)
        group = groups.setdefault(key, {k: v for k, v in r.items() if k not in ("piece", "at", "chunk_counts")})
        if r["piece"] is not None:
            piece = bytes(r["piece"])
            spool.add(piece)
            if zeros and group["has_chunk"] and group["has_embedding"]:
                group["zero"] += count_zeros(piece)
    return list(groups.values()), chunk_counts


def pass_params(collections: list[str], model: str, dims: int | None, probe: str | None) -> dict[str, Any]:
    """The parameters of ``stats_sql``."""
    # Every group's bytes are whole 16-byte pairs and each piece starts at a multiple of the piece size: a size that
    # is not one of 16 would cut a pair in two (``fingerprints.pairs`` then fails on the piece).
    assert PIECE_BYTES > 0 and PIECE_BYTES % 16 == 0, f"PIECE_BYTES {PIECE_BYTES}: expected a multiple of 16"
    return {"collections": list(collections), "model": model, "dims": dims, "probe": probe, "piece": PIECE_BYTES}


def pass_query(conn: Conn, shape: Shape, params: dict, **options: Any) -> sql.Composed:
    """``stats_sql`` as the planner would run it best here: direct, or narrowed where its plan ``carries_rows``."""
    query = stats_sql(shape, **options)
    return stats_sql(shape, **options, narrow=True) if carries_rows(conn, query, params) else query


def carries_rows(conn: Conn, query: sql.Composable, params: dict) -> bool:
    """Whether the planner would move the pass's whole rows (vectors, texts) through a sort or a hash join's batch
    files: it groups raw rows by sorting, or hashes the join (which spills past ``work_mem``). The narrowed pass
    then costs far less (#12: 4-10x at 200,000 to 2,000,000 rows); where the plan aggregates by hashing over a merge
    join, as with statistics and few tenants, the direct one is a third cheaper."""
    plan = one(conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) {}").format(query), params).fetchone())
    nodes = [next(iter(plan.values()))[0]["Plan"]]
    while nodes:
        node = nodes.pop()
        if node.get("Node Type") == "Hash Join":
            return True
        if node.get("Node Type") == "Aggregate" and node.get("Strategy") in ("Sorted", "Mixed") \
                and node.get("Partial Mode") != "Finalize" and node.get("Group Key"):
            return True
        nodes += node.get("Plans", [])
    return False


def _without_vector_rows(groups: list[Group], counts: list) -> list[Group]:
    """Chunks without an embedding row, per collection and tenant: the chunk count minus the chunks matched (one
    row each under a unique key), as the groups a full join would have made."""
    matched: dict[tuple, int] = {}
    for g in groups:
        if g.has_chunk:
            matched[(g.collection, g.tenant)] = matched.get((g.collection, g.tenant), 0) + g.rows
    extra = []
    for collection, tenant, chunks in counts:
        missing = int(chunks) - matched.get((collection, tenant), 0)
        if missing > 0:
            extra.append(Group(collection, None, tenant, None, True, False, missing, 0, 0, 0, 0, 0, 0))
    return extra


def _key_is_unique(conn: Conn, shape: Shape) -> bool:
    """Whether a unique index on the embedding key alone rules out duplicate rows (then no second pass is needed)."""
    em = shape.profile.embeddings
    return unique_alone(conn, em.schema, em.table, em.key)


def keyed_per_collection(conn: Conn, shape: Shape) -> bool:
    """Whether both tables name the collection in a column of their own and no unique index on ``chunks.id`` alone
    says it names one chunk: the same id may then be a chunk of each collection (a key of ``(collection, id)``)."""
    ch, em = shape.profile.chunks, shape.profile.embeddings
    if shape.inline or not (em.collection and ch.collection) or ch.collection_several or ch.collection_table:
        return False
    return not unique_alone(conn, ch.schema, ch.table, ch.id)


def _by_collection(groups: list[Group], collections: list[str], *, has_emb_collection: bool) -> dict[str, list[Group]]:
    """The groups ``fold`` reads for each collection: those of its chunks or filed under it, and orphans that no
    collection column tells apart (folding every group for every collection was quadratic: 30,000 collections took
    minutes)."""
    found: dict[str, list[Group]] = {c: [] for c in collections}
    everyone = []
    for g in groups:
        if not g.has_chunk and not has_emb_collection:
            everyone.append(g)
            continue
        for c in {g.collection, g.emb_collection}:
            if c in found:
                found[c].append(g)
    return {c: mine + everyone for c, mine in found.items()}


_KEYS = ("collection", "emb_collection", "tenant", "emb_tenant", "has_chunk", "has_embedding", "in_scope")
_COUNTS = {"rows", "vectors", "other_model", "stale", "zero", "degenerate", "wrong_dims", "stale_time", "untimed", "tied",
           "fine", "textless"}
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
    outside = [g for g in groups if not g.has_chunk and (not has_emb_collection or g.emb_collection == collection)]
    orphans = sum(g.rows for g in outside if g.has_embedding)
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
        keyless=sum(g.rows for g in outside if not g.has_embedding),
        misplaced=misplaced,
        other_model=sum(g.other_model for g in matched),
        stale=sum(g.stale for g in matched),
        zero=sum(g.zero for g in matched),
        degenerate=sum(g.degenerate for g in matched),
        wrong_dims=sum(g.wrong_dims for g in matched),
        stale_time=sum(g.stale_time for g in matched),
        untimed=sum(g.untimed for g in matched),
        tied=sum(g.tied for g in matched),
        fine=sum(g.fine for g in mine),
        textless=sum(g.textless for g in matched),
        tenants=tuple(TenantCounts(t, c, e) for t, (c, e) in sorted(tenants.items(), key=lambda kv: str(kv[0]))),
        emb_tenants=tuple(emb_tenants),
    )
