"""Where a collection stands, read from the database: the floor that the engine, the steps and the checks share.

What a collection holds (chunks, vectors, what needs embedding), which collections exist, and
which models made the stored vectors are facts of the target, not of any one step; keeping them
here lets ``backfill`` and ``checks`` both build on them without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, cast

from psycopg import sql

from .db import Conn, one
from .errors import CheckFailed, ConfigError, HarnessError
from .introspect import leads_an_index, proof_shared_with, require_names, unhashed_fields, unique_alone
from .profile import Profile, json_field
from .model_names import same_model
from .target import Target

UNKNOWN_MODEL = "unknown"  # the model of a stored vector when the target keeps no model name


@dataclass(frozen=True)
class CollectionState:
    collection: str
    chunks: int
    embedded: int
    missing: int
    stale: int | None  # by input hash or by timestamps (Target.changed_after_vector); None when the target keeps neither
    other_model: int | None  # None when the target keeps no model name
    needed: int
    # vectors of chunks with a text of another dimension than the model's, in a column declared without one: each is
    # needed (``Target.needs_embedding``) as a missing one is; None when not measured (``dims_to_measure``)
    other_dims: int | None = None
    no_text: int = 0  # chunks without a text, with a vector or not: nothing to embed (``Target.no_text``)
    # vectors only timestamps could measure (no input hash) whose times do not compare (a NULL, or a naive time against
    # one with a zone): neither stale nor current, so never selected and never counted current
    untimed: int = 0
    # vectors of chunks with a text that are all zeros: they embed nothing (an application's failed embedding written
    # as [0.0] * dims), so each is needed (``Target.needs_embedding``) as a missing one is
    zero: int = 0
    # vectors of chunks with a text, not all zeros, whose length pgvector's distances cannot compute with
    # (``Target.is_degenerate``): they embed nothing the application's search can rank, so each is needed too
    degenerate: int = 0
    # embedding rows beyond one per chunk with a text (a table without a unique key on the embedding key; 0 where one
    # rules them out): each chunk is counted once above, however many rows it has
    duplicates: int = 0
    # chunks with a text whose vector is filed under another tenant than theirs (``Target.other_tenant``): needed
    misfiled: int = 0
    # vectors of chunks with a text whose row names no model (``embeddings.model`` NULL): counted in ``other_model``
    unnamed: int = 0
    # the vector columns of the same rows whose writes set the input hash (or vector time) too
    # (``introspect.proof_shared_with``): it proves no vector current, so those counted current are unmeasured
    beside: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def into_new(source: CollectionState, into: str) -> CollectionState:
    """What a collection ``--into`` makes from ``source`` needs before it is made: every chunk is copied without a
    vector (the engine may still reuse a vector of the same text and model instead of embedding it)."""
    wanted = source.chunks - source.no_text
    return CollectionState(into, source.chunks, 0, wanted, None if source.stale is None else 0,
                           None if source.other_model is None else 0, wanted, no_text=source.no_text)


def dims_to_measure(conn: Conn, target: Target, dims: int | None | Callable[[], int | None]
                    ) -> tuple[int | None, str | None]:
    """The dimension every count and the selection compare each vector with: the model's ``dims`` (or what the callable
    gives, asked only then: ``Settings.model_dimensions``) where the vector column declares none, as it then holds
    whatever was written; None where the column's type rules another one out, or no dimension is known. Second, why
    vectors of another dimension go unmeasured where one was asked and none answered (the counts are then unproven)."""
    if declared_dimensions(conn, target) is not None:
        return None, None
    if not callable(dims):
        return dims, None
    try:
        return dims(), None
    except HarnessError as exc:
        return None, (f"vectors of another dimension unmeasured: the column declares none, the profile names no "
                      f"provider.dimensions and the model's could not be asked ({exc})")


def declared_dimensions(conn: Conn, target: Target) -> int | None:
    """The vector column's declared dimension from the catalog; None for a column declared without one."""
    row = conn.execute(target.declared_dimensions()).fetchone()
    if row is None:
        em = target.profile.embeddings
        raise CheckFailed(f"embedding column {em.vector!r} does not exist in table {em.table!r}")
    return row["dims"]


def unmeasured(counts: dict[str, Any]) -> int | None:
    """Stored vectors whose currency nothing measures (no input hash nor timestamps, or no model name: stale or
    other_model unknown; a hash or time another vector column's writes set too: ``beside``; or timestamps alone, not
    comparable on a row: ``untimed``): counted embedded, never current; None when every one is measured."""
    if counts.get("stale") is not None and counts.get("other_model") is not None and not counts.get("beside"):
        return int(counts.get("untimed") or 0) or None
    return int(counts.get("chunks") or 0) - int(counts.get("needed") or 0) - int(counts.get("no_text") or 0)


def unknown_if_none(count: Any) -> str:
    """A count no column can measure (no hash or model column) as text: ``unknown``, never Python's ``None``."""
    return "unknown" if count is None else str(count)


def unmeasured_why(counts: dict[str, Any]) -> str:
    """Which measure is missing, as plan and run say it."""
    whys = [w for w, k in (("no hash column", "stale"), ("no model column", "other_model"))
            if counts.get(k) is None]
    if counts.get("beside"):
        # the one hash of two vectors: the other's write sets it to its new text (``introspect.proof_shared_with``)
        whys.append(f"the input hash or vector time is beside another vector column of the same rows "
                    f"({', '.join(counts['beside'])}), which a write of that vector sets too")
    if not whys and counts.get("untimed"):
        whys.append(f"{counts['untimed']} with a timestamp NULL, one with a time zone and the other without, or the "
                    "same time as their chunk where no chunk's time shows a microsecond or either time column is "
                    "declared coarser (an edit in that tick, a day to 10 us, cannot be ordered after the vector), or of "
                    "a text read from other rows than the chunk's "
                    "(a chunks.text part with a subquery, whose edits no chunk's time shows), and no hash column of "
                    "the whole text (embeddings.input_hash_of hashing fewer columns than chunks.text embeds, with no "
                    "times to say the others' edits)")
    return ", ".join(whys)


def needed_why(counts: Mapping[str, Any], unnamed: str = "their embeddings.model is NULL") -> str:
    """What the rows still needed hold that no missing, stale or other-model count says, as run and the engine say it
    (``unnamed``: why a row names no model)."""
    kinds = [(counts.get("zero"), "hold an all-zero vector"),
             (counts.get("degenerate"), "hold a vector whose length pgvector's distances cannot compute with"),
             (counts.get("other_dims"), "hold a vector of another dimension than the model's"),
             (counts.get("misfiled"), "have a vector filed under another tenant than their chunk's"),
             (counts.get("unnamed"), f"name no model ({unnamed})")]
    parts = [f"{n} of them {what}" for n, what in kinds if n]
    if counts.get("duplicates"):
        # rows, not chunks: a chunk with three rows has two beyond its one
        parts.append(f"their embedding rows include {counts['duplicates']} beyond one per chunk")
    return f" ({'; '.join(parts)})" if parts else ""


def emptied(counts: Mapping[str, Any]) -> str | None:
    """A closing count of no chunk: nothing of the collection was backfilled (a command that ignored ``--into NEW``, or
    deleted the chunks it was to embed), whatever it printed; None where it counts chunks or counted nothing."""
    if counts.get("chunks") == 0:
        return f"{counts.get('collection')} holds no chunk after the run: nothing of it was backfilled"
    return None


def inserted_again(before: Mapping[str, Any], after: Mapping[str, Any]) -> str | None:
    """A run that grew the collection with copies of texts it already held, nearly every row it added one
    (``text_copies`` before and after): a command that ingests again, inserting chunks beside the ones it was to embed,
    whose closing count then needs nothing; None where the counts say otherwise or lack the measure."""
    grew = _int(after.get("chunks")) - _int(before.get("chunks"))
    copies = _int(after.get("text_copies")) - _int(before.get("text_copies"))
    # An ingest again copies every text it inserts; a sync adding new documents adds a copy where one repeats the
    # corpus's boilerplate (a footer, a standard section): half of a two-chunk document. A collection that held no
    # chunk held no text to copy (a first fill, --into).
    if grew <= 0 or copies <= 0 or 10 * copies < 9 * grew or not _int(before.get("chunks")) \
            or not isinstance(before.get("text_copies"), int):
        return None
    return (f"the run added {grew} chunks to {after.get('collection')} ({before.get('chunks')} -> {after.get('chunks')}), "
            f"{copies} of them a copy of a text it already held: the command inserted texts again instead of embedding "
            "the chunks in place (an ingest, not a backfill); delete the copies, and name a command that updates the "
            "vectors as backfill.command")


def shrank(before: Mapping[str, Any], after: Mapping[str, Any]) -> str | None:
    """A run that ended with fewer chunks than it began with: a command that deletes the chunks it could not embed (or
    files them where ``chunks.filter`` leaves them out) leaves every chunk still there embedded, and its closing count
    needed nothing; None where the collection did not shrink, is empty (``emptied`` says that) or was not counted."""
    b, a = before.get("chunks"), after.get("chunks")
    if not isinstance(b, int) or not isinstance(a, int) or not a or a >= b:
        return None
    return (f"{after.get('collection')} holds {b - a} fewer chunks after the run than before ({b} -> {a}): chunks left "
            "the collection instead of getting a vector (deleted, or moved where chunks.filter leaves them out); if "
            "fewer chunks is what was meant (a re-chunking into larger pieces, deletions on purpose meanwhile), run "
            "again: the next run is measured from the chunks now there")


def live_lost(live: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> str | None:
    """A run ``--into NEW`` after which the live collection (which it leaves as it is until swap, and the application
    searches meanwhile) has more chunks without a vector than before, or another number of vectors of another model than
    the run's (re-embedded in place, or written under another model's name), beyond the chunks the application added or
    deleted meanwhile: a command that filled NEW and then deleted
    the live vectors (an application's clean-up of the old model's) was ok; None where neither or nothing was counted."""
    # The application goes on meanwhile: chunks it adds (with the live model's vectors, or none yet) or deletes move
    # these counts by as many as the chunks, in the same direction; only a change beyond that is the command's.
    added = _int(after.get("chunks")) - _int(before.get("chunks"))
    said = [grew] if (grew := more_missing(before.get("missing"), after.get("missing"), added)) else []
    b, a = before.get("other_model"), after.get("other_model")
    if isinstance(b, int) and isinstance(a, int) and a != b and not (
            (a - b > 0) == (added > 0) and added != 0 and abs(a - b) <= abs(added)):
        said.append(f"holds {a} vectors of another model than the run's after it, {b} before (its vectors written "
                    "again in place)")
    if not said:
        return None
    return (f"the live collection {live} {' and '.join(said)}: --into leaves it as it is until swap, and the "
            "application searches it meanwhile")


def more_missing(before: Any, after: Any, added: int = 0) -> str | None:
    """The one rule of a collection a run must leave as it is: it has more chunks without a vector after the run than
    before, beyond the ``added`` chunks the application put in it meanwhile (which may wait for a vector of their
    own); ``before``/``after``: the counts, None where uncounted. None where it has not or was not counted."""
    if not isinstance(before, int) or not isinstance(after, int) or after - before <= max(added, 0):
        return None
    return (f"has {after - before} more chunks without a vector after the run than before ({before} -> {after}; a "
            f"command that deleted its vectors; the application added {max(added, 0)} chunks meanwhile)")


def others_lost(before: Mapping[str, Any], after: Mapping[str, Any], leave: Collection[str]) -> str | None:
    """A command run in place after which a collection it does not fill (any but those in ``leave``) has more chunks
    without a vector (``more_missing``; ``missing_by_collection``'s counts, or an ``error``): a clean-up that deleted
    other collections' vectors was ok, and their search found nothing. A count not taken is said as unmeasured."""
    if unread := next((c["error"] for c in (before, after) if c.get("error")), None):
        return f"the other collections, which the run leaves as they are, unmeasured ({unread})"
    b, a = before.get("missing", {}), after.get("missing", {})
    chunks_b, chunks_a = before.get("chunks", {}), after.get("chunks", {})
    said = [f"{name} {grew}" for name in sorted(set(b) & set(a) - set(leave))
            if (grew := more_missing(b[name], a[name], _int(chunks_a.get(name)) - _int(chunks_b.get(name))))]
    if not said:
        return None
    return (f"collections the run does not fill lost vectors: {'; '.join(said)}: the command is to embed its own "
            "collection and leave the others as they are")


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


def text_copies(conn: Conn, target: Target, collection: str) -> int:
    """The collection's chunks whose embedded text another of its chunks also has (all but one of each such text)."""
    return int(one(conn.execute(sql.SQL(
        "SELECT (count(*) - count(DISTINCT sha256(convert_to({text}, 'UTF8'))))::bigint AS n FROM {chunks} AS c "
        "WHERE {where} AND NOT {empty}").format(text=target.text, chunks=target.chunk_table, where=target.chunk_filter(),
                                                 empty=target.no_text), {"collection": collection}).fetchone())["n"])


def still_needed(after: CollectionState, profile: Profile | None = None) -> str | None:
    """The one completion rule of a run meant to cover a collection: None when the closing count, measured in the
    database after the run, says no row still needs a vector; else how many do (with ``profile``, the model column
    a row left without a model names, ``unnamed_why``)."""
    problems = [gone] if (gone := emptied(after.as_dict())) else []
    if after.needed:
        problems.append(f"{after.needed} of {after.chunks} rows of {after.collection} still need a vector after the run"
                        + needed_why(after.as_dict(), *([unnamed_why(profile)] if profile else [])))
    return "; ".join(problems) or None


def unnamed_why(profile: Profile) -> str:
    """Why a row names no model after a run wrote it: its model column is NULL; a model kept under a key of a JSON
    column is written only into an object there (``writer.profile_defaults``), so a NULL column stays NULL."""
    em = profile.embeddings
    column, key = json_field(em.model or "")
    said = f"{em.table}.{em.model} is NULL"
    if key is not None:
        said += (f": a run writes the model's name under {key!r} only into a JSON object, and their {column} holds "
                 "none; give them one ('{}') for the next run to name it")
    return said


def collection_state(conn: Conn, target: Target, collection: str, model: str, dims: int | None = None) -> CollectionState:
    """Count a collection's chunks and what they need, in one pass (a missing table is a ConfigError naming its key);
    with ``dims`` (for a column declared without a dimension) also the vectors of another dimension. Where no unique
    key covers the embedding key, each chunk's rows are counted together and the rows beyond one counted too."""
    require_names(conn, target.profile)
    em = target.profile.embeddings
    per_chunk = not target.inline and not unique_alone(conn, em.schema, em.table, cast(str, em.key))
    with conn.transaction():
        # Right after a bulk load the embedding table has no statistics: the planner sizes the join's hash for a few
        # thousand rows and, at the default work_mem, spills it to temporary files in batches (issue #12: a third of
        # the closing count at 200,000 rows). Raised for this statement only, never lowered, then put back.
        was = one(conn.execute("SELECT current_setting('work_mem') AS w").fetchone())["w"]
        conn.execute("SELECT set_config('work_mem', %(m)s, true) WHERE pg_size_bytes(current_setting('work_mem')) "
                     "< pg_size_bytes(%(m)s)", {"m": COUNT_WORK_MEM})
        row = one(conn.execute(target.state_counts(dims=dims is not None, per_chunk=per_chunk,
                                                   unhashed=bool(unhashed_fields(conn, target.profile))),
                               {"collection": collection, "model": model, "dims": dims}).fetchone())
        conn.execute("SELECT set_config('work_mem', %s, true)", (was,))
    return CollectionState(collection=collection, **row, beside=tuple(proof_shared_with(conn, target.profile)))


COUNT_WORK_MEM = "32MB"  # the count's hash table at 200,000 rows is about 29 MB (up to 3x this with parallel workers)


def list_collections(conn: Conn, target: Target) -> dict[str, int]:
    """Every collection in the chunk table with its chunk count (a table or column the profile names but the
    database lacks is a ConfigError naming the profile key, not a database error); chunks in no collection are none's."""
    return {name: n for name, n in collection_counts(conn, target).items() if name is not None}


def collection_counts(conn: Conn, target: Target) -> dict[str | None, int]:
    """``list_collections`` with the chunks in no collection (``Target.in_no_collection``) counted under None."""
    require_names(conn, target.profile)
    return {r["collection"]: r["chunks"] for r in conn.execute(target.collections()).fetchall()}


def missing_by_collection(conn: Conn, target: Target) -> dict[str, dict[str, int]]:
    """Every collection's chunks and those without a vector (``Target.missing_by_collection``), for ``others_lost``:
    {"chunks": {name: n}, "missing": {name: n}}."""
    require_names(conn, target.profile)
    rows = conn.execute(target.missing_by_collection()).fetchall()
    return {"chunks": {r["collection"]: int(r["chunks"]) for r in rows},
            "missing": {r["collection"]: int(r["missing"]) for r in rows}}


def filed_only(conn: Conn, target: Target, listed: list[str]) -> list[str]:
    """The collections embedding rows are filed under (``embeddings.collection``) that no chunk of ``listed`` is in:
    their chunks gone, the rows are orphans no collection of the chunks would read."""
    own = target.collection_of_embedding()
    if own is None:
        return []
    em = target.profile.embeddings
    column = cast(str, em.collection)
    if not em.filter and target.profile.chunks.collection_table is None and leads_an_index(conn, em.schema, em.table, column):
        # One index probe per collection (a skip scan), not a read of every embedding row with its vector (issue #12:
        # 0.08 s of the checks' 0.7 s at 200,000 rows).
        c = sql.Identifier(column)
        query = sql.SQL(
            "WITH RECURSIVE s(v) AS (SELECT min({c}) FROM {e} UNION ALL "
            "SELECT (SELECT min({c}) FROM {e} WHERE {c} > s.v) FROM s WHERE s.v IS NOT NULL) "
            "SELECT v::text AS collection FROM s WHERE v IS NOT NULL AND NOT (v::text = ANY(%(listed)s)) ORDER BY 1"
        ).format(c=c, e=target.embedding_table)
    else:
        query = sql.SQL("SELECT DISTINCT {own} AS collection FROM {e} AS e WHERE {own} IS NOT NULL "
                        "AND NOT ({own} = ANY(%(listed)s)) ORDER BY 1").format(own=own, e=target.embedding_rows)
    return [r["collection"] for r in conn.execute(query, {"listed": listed}).fetchall()]


def valid_collection(collection: str) -> str:
    """The collection name, or ConfigError: '' or a control character names no collection (shown as None, or not at
    all, further on)."""
    if not collection or any(ord(ch) < 32 for ch in collection):
        raise ConfigError(f"collection {collection!r} is not a valid name; expected printable text such as tenant_42")
    return collection


def require_collection(conn: Conn, target: Target, collection: str) -> int:
    """Return the collection's chunk count; refuse a collection with no chunks instead of embedding nothing."""
    valid_collection(collection)
    require_names(conn, target.profile)
    state = one(conn.execute(
        sql.SQL("SELECT count(*) AS n FROM {} AS c WHERE {}").format(target.chunk_table, target.chunk_filter()),
        {"collection": collection},
    ).fetchone())
    if state["n"] == 0:
        raise ConfigError(no_chunks(collection, target.profile, list_collections(conn, target)))
    return int(state["n"])


def no_chunks(collection: str, profile: Any, known: Any) -> str:
    """Why a collection is refused for having no chunks: an empty table that is the whole collection is said as such
    (a freshly migrated application), not as a collection among others that none of the known ones is."""
    table = profile.chunks.table
    if not known and profile.chunks.collection_name == collection:
        return (f"collection {collection!r} has no chunks: the table {table}, the whole collection "
                "(chunks.collection_name), is empty; nothing to backfill")
    shown = ", ".join(sorted(known)[:10]) or "none"
    return f"collection {collection!r} has no chunks in {table}; known collections: {shown}"


def stored_models(conn: Conn, target: Target, collection: str) -> dict[str, int]:
    """Vectors already stored for the collection, by model name.

    ``UNKNOWN_MODEL`` where the target keeps no model name (no column, no ``embeddings.model_value``) or a row's is NULL.
    """
    em = target.profile.embeddings
    fallback = sql.Literal(em.model_value or UNKNOWN_MODEL)
    model = sql.SQL("coalesce({}::text, {})").format(target.model, fallback) if em.model else fallback
    query = sql.SQL("SELECT {m} AS model, count(*) AS n FROM {j} WHERE {w} AND {v} IS NOT NULL GROUP BY 1").format(
        m=model, j=target.join(), w=target.chunk_filter(), v=target.vector)
    return {r["model"]: int(r["n"]) for r in conn.execute(query, {"collection": collection}).fetchall()}


def stored_dimensions(conn: Conn, target: Target, collection: str) -> dict[str, int]:
    """Stored vectors of the collection by dimension (as text, so tenants' views add up with ``rls.across``).

    What an untyped ``vector`` column (Django's ``VectorField(dimensions=None)``) holds: it takes any dimension,
    so only the rows say which. With ``embeddings.pad_to`` a vector of that width counts by its model part, any other
    by its own width (``Target.model_dims``: it is not the model's vector padded, as every count says)."""
    stored = target.column_vector
    query = sql.SQL("SELECT coalesce({m}, vector_dims({v}::vector))::text AS d, count(*) AS n FROM {j} WHERE {w} "
                    "AND {v} IS NOT NULL GROUP BY 1").format(m=target.model_dims(stored), v=stored, j=target.join(),
                                                             w=target.chunk_filter())
    return {r["d"]: int(r["n"]) for r in conn.execute(query, {"collection": collection}).fetchall()}


def zero_padded(conn: Conn, target: Target, collection: str, model_dims: int, width: int | None = None) -> dict[str, int]:
    """``vectors`` of the collection longer than ``model_dims``, and how many of them are ``padded``: zeros beyond
    it, a shorter vector widened to the column (Open WebUI pads to PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH). With
    ``width`` (``embeddings.pad_to``) every vector counts, and is padded only at exactly that width: a column of no
    declared width takes any, and the application's padded queries fail on the others."""
    v = sql.SQL("{}::vector").format(target.column_vector)  # as stored, padding included
    wide = sql.SQL("vector_dims({v}) > %(dims)s").format(v=v)
    if width is not None:
        wide = sql.SQL("vector_dims({v}) = %(width)s").format(v=v)
    # CASE: the tail of a vector no wider than the model's is no vector (subvector raises on it).
    query = sql.SQL("SELECT count(*) AS vectors, count(*) FILTER (WHERE CASE WHEN {wide} THEN vector_norm(subvector("
                    "{v}, %(from)s, vector_dims({v}) - %(dims)s)) = 0 ELSE false END) AS padded FROM {j} WHERE {w} "
                    "AND {col} IS NOT NULL AND ({every} OR vector_dims({v}) > %(dims)s)").format(
        v=v, wide=wide, col=target.column_vector, j=target.join(), w=target.chunk_filter(),
        every=sql.SQL("true" if width is not None else "false"))
    row = one(conn.execute(query, {"collection": collection, "dims": model_dims, "from": model_dims + 1,
                                   "width": width}).fetchone())
    return {"padded": int(row["padded"]), "vectors": int(row["vectors"])}


def text_presence(conn: Conn, target: Target, collection: str) -> dict[str, int]:
    """``chunks``, and ``empty``: how many have no text (``Target.no_text``: NULL or empty columns, an absent JSON
    key); for a composed text format (LlamaIndex, pgai: costly per row) only ``some_text`` (1 when at least one chunk has a text)."""
    params = {"collection": collection}
    if target.profile.chunks.text_format == "plain":
        query = sql.SQL("SELECT count(*) AS chunks, count(*) FILTER (WHERE {empty}) AS empty FROM {t} AS c WHERE {w}")
    else:
        query = sql.SQL("SELECT count(*) AS chunks, (EXISTS (SELECT 1 FROM {t} AS c WHERE {w} AND {text} <> ''))::int "
                        "AS some_text FROM {t} AS c WHERE {w}")
    # The chunk's own text: a task prefix (chunks.text_prefix) never makes an empty chunk a text.
    row = one(conn.execute(query.format(text=target.content, empty=target.no_text, t=target.chunk_table,
                                        w=target.chunk_filter()), params).fetchone())
    return {k: int(v) for k, v in row.items()}


def model_switch(stored: dict[str, int], model: str, collection: str, *, into: str | None = None,
                 approve: bool = False) -> str | None:
    """The one model-switch rule: the refusal text, or None when writing ``model`` may go ahead.

    ``stored`` holds the vectors of the collection that will be written (``into`` when given, else
    ``collection``), by model. Only evidence refuses: vectors of ``UNKNOWN_MODEL`` are not another model
    (recompute in verify shows a real switch as low cosine). Vectors of another named model are replaced
    in place only with ``approve`` (the owner's approval); filling a new collection (``into``) leaves the
    live one untouched and needs none, as long as the new one holds no other model's vectors.
    """
    others = other_models(stored, model)
    if not others or approve:
        return None
    written = into or collection
    shown = ", ".join(f"{m} ({n})" for m, n in sorted(others.items()))
    if into and into != collection:
        return (f"target collection {into!r} already holds {sum(others.values())} vectors of {shown}; "
                f"expected a new (empty) collection, or --approve-model-change to replace them with {model}")
    return (f"collection {written!r} holds {sum(others.values())} vectors of {shown}; replacing them with {model} is a "
            "model switch: expected --into NEW (fill a new collection, verify, swap) or --approve-model-change "
            "(the owner approved replacing them in place)")


def dimension_switch(stored: Mapping[str, int], dims: int, collection: str, *, approve: bool = False) -> str | None:
    """The model-switch rule where the vector column declares no dimension, over the ``stored`` vectors of the
    collection a run writes by dimension (``stored_dimensions``): when every one has another dimension than the model's
    ``dims``, they are another model's, replaced in place only with ``approve``; beside vectors of the model's own
    dimension they are needed rows, re-embedded as missing ones are (None)."""
    vectors = sum(stored.values())
    if not vectors or any(int(d) == dims for d in stored) or approve:
        return None
    return (f"every stored vector of collection {collection!r} ({vectors}) has another dimension than the model's "
            f"({dims}): replacing them is a model switch: expected --into NEW (fill a new collection, verify, swap) or "
            "--approve-model-change (the owner approved replacing them in place)")


def stored_name(stored: dict[str, int], model: str) -> str:
    """The name a run writes for ``model``: the one most of ``stored``'s vectors of that model carry (``nomic-embed-text``
    for ``--model nomic-embed-text:latest``), so a run never adds a second name of one model to the column (an
    application selecting its rows by the name it stores would miss the rest); ``model`` where none carries one."""
    names = [(n, m) for m, n in stored.items() if m != UNKNOWN_MODEL and same_model(m, model)]
    return max(names)[1] if names else model


def other_models(stored: dict[str, int], model: str) -> dict[str, int]:
    """Stored vectors of a model other than ``model``, by name; unknown models are not counted as other."""
    return {m: n for m, n in stored.items() if m != UNKNOWN_MODEL and not same_model(m, model)}
