"""SQL fragments for one profile's tables, composed with ``psycopg.sql`` and never by string formatting.

Every query the engine, the steps and the checks run against a target is
built from these pieces, so the mapping from profile to SQL lives in one place.
The chunk table is aliased ``c`` and the embedding table ``e`` (for an inline
embedding column both are the same row, aliased ``c``).
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable
from typing import Any, cast

from psycopg import sql

from . import collection_join, hashing, json_text, text_parts
from .db import TENANT_SETTING
from .introspect import BASE_TYPE, MICROSECOND, declared_digits

from .model_names import other_model
from .profile import DISTANCES, LENGTH_DISTANCES, CollectionTable, NotNull, Profile, SourceTable, json_field

_HAS_VECTOR = "bh_has_vector"  # the state counts' flag column (not a column of the target)
_DIMS = "bh_dims"  # the state counts' dimension column, with dims (not a column of the target)
_VOID = "bh_void"  # the state counts' column saying why a vector embeds nothing (``Target.void``; not the target's)
# Lengths of a vector pgvector's distances can always use: they sum squares in single precision, which overflows only
# past a length of about 1.8e19 (the square root of the largest float) and underflows to 0 only where every component
# is below about 2.6e-23 (a length below 3.3e-21 at pgvector's 16,000 dimensions). Only a vector outside this range has
# its distance to itself computed (``Target.void``): a second pass over a vector no ordinary row makes.
_ORDINARY_LENGTHS = (1e-15, 1e15)
# A stored vector that differs from the one sent by single precision's rounding alone (a trigger that normalises an
# already unit-length vector: 1.1e-7 of l2 distance per unit of length, at 384 to 16,000 dimensions) is the one sent;
# halfvec's rounding is 2e-4 of l2 per unit of length, a vector of another text far more.
_ROUNDING = 1e-6


@dataclass(frozen=True)
class Target:
    profile: Profile

    # -- names ---------------------------------------------------------------------
    @property
    def inline(self) -> bool:
        return self.profile.inline

    @property
    def chunk_table(self) -> sql.Composable:
        ch = self.profile.chunks
        return sql.Identifier(ch.schema, ch.table)

    @property
    def embedding_table(self) -> sql.Composable:
        em = self.profile.embeddings
        return sql.Identifier(em.schema, em.table)

    @property
    def embedding_rows(self) -> sql.Composable:
        """The embedding table as every read sees it: only ``embeddings.filter``'s rows (one model's, where the table
        keeps several side by side), else the whole table."""
        return self.embedding_rows_of()

    def embedding_rows_of(self, *, xmin: bool = False) -> sql.Composable:
        """``embedding_rows``; with ``xmin``, their write transaction carried through ``embeddings.filter``'s subquery
        (recompute ranks by it), which only a table has: a view's has none, and every read of it failed."""
        em = self.profile.embeddings
        if not em.filter:
            return self.embedding_table
        return sql.SQL("(SELECT f.*{} FROM {} AS f WHERE {})").format(
            sql.SQL(", f.xmin" if xmin else ""), self.embedding_table, sql.SQL(" AND ").join(self.filter_rows("f")))

    def embedding_rows_counted(self) -> sql.Composable:
        """``embedding_rows`` with ``bh_rows``: how many rows hold each row's chunk key (and collection, as ``join_on``
        matches them), counted by a window over the key. A selection finds the chunks holding a second row itself
        (``needs_embedding(twice=True)``); sent as a list of keys, every page carried all of them (#12: quadratic)."""
        em = self.profile.embeddings
        part: list[sql.Composable] = [sql.Identifier("f", cast(str, em.key))]
        if em.collection:
            part.append(sql.SQL("{}::text").format(sql.Identifier("f", em.collection)))
        where = sql.SQL(" WHERE {}").format(sql.SQL(" AND ").join(self.filter_rows("f"))) if em.filter else sql.SQL("")
        return sql.SQL("(SELECT f.*, count(*) OVER (PARTITION BY {part}) AS bh_rows FROM {t} AS f{where})").format(
            part=sql.SQL(", ").join(part), t=self.embedding_table, where=where)

    def filter_rows(self, alias: str) -> list[sql.Composable]:
        """``embeddings.filter`` as conditions on the embedding table under ``alias``: what every read sees
        (``embedding_rows``) and the only rows the engine replaces. The value is an untyped literal, read as the
        column's type (a uuid in any case, ``2`` of a numeric ``2.0``), where text would compare spellings."""
        return [sql.SQL("{} = {}").format(sql.Identifier(alias, col), sql.Literal(_as_text(value)))
                for col, value in self.profile.embeddings.filter]

    @property
    def emb_alias(self) -> str:
        return "c" if self.inline else "e"

    def c(self, column: str) -> sql.Composable:
        return sql.Identifier("c", column)

    def field(self, name: str) -> sql.Composable:
        """A chunk field as text: a column, or ``column->>key`` for a key of a JSON column (NULL when absent)."""
        column, key = json_field(name)
        if key is None:
            return sql.SQL("{}::text").format(self.c(column))
        return sql.SQL("({}->>{})").format(self.c(column), sql.Literal(key))

    def e(self, column: str) -> sql.Composable:
        return sql.Identifier(self.emb_alias, column)

    @property
    def chunk_id(self) -> sql.Composable:
        return self.c(self.profile.chunks.id)

    @property
    def vector(self) -> sql.Composable:
        """The stored vector as the model made it: with ``embeddings.pad_to``, its first provider.dimensions values."""
        return self.model_part(self.column_vector)

    @property
    def column_vector(self) -> sql.Composable:
        """The vector column as stored (padded to ``embeddings.pad_to`` where the application pads)."""
        return self.e(self.profile.embeddings.vector)

    def model_part(self, stored: sql.Composable) -> sql.Composable:
        """``stored`` cut to the model's dimension where the application pads vectors (NULL stays NULL)."""
        if self.profile.embeddings.pad_to is None:
            return stored
        return sql.SQL("subvector({}, 1, {})").format(stored, sql.Literal(self.profile.provider.dimensions))

    def model_dims(self, stored: sql.Composable) -> sql.Composable:
        """The dimension of the model's part of ``stored``; with ``embeddings.pad_to`` NULL where it is not pad_to wide
        (a column of no declared width takes any: such a vector is not the model's padded, whatever its first values)."""
        measured = sql.SQL("vector_dims({}::vector)").format(self.model_part(stored))
        if self.profile.embeddings.pad_to is None:
            return measured
        return sql.SQL("CASE WHEN vector_dims({}::vector) = {} THEN {} END").format(
            stored, sql.Literal(self.profile.embeddings.pad_to), measured)

    def padding(self) -> sql.Composable:
        """The part of the stored vector beyond the model's dimension (only with ``embeddings.pad_to``)."""
        dims = cast(int, self.profile.provider.dimensions)  # the profile requires it with pad_to
        return sql.SQL("subvector({}, {}, vector_dims({}) - {})").format(
            self.column_vector, sql.Literal(dims + 1), self.column_vector, sql.Literal(dims))

    @property
    def model(self) -> sql.Composable:
        """The stored vector's model name: ``embeddings.model``, a column or ``column->>key`` of a JSON column
        (Letta's ``embedding_config->>'embedding_model'``)."""
        return self.field_of(self.e, cast(str, self.profile.embeddings.model))  # callers check em.model first

    @staticmethod
    def field_of(side: Callable[[str], sql.Composable], name: str) -> sql.Composable:
        column, key = json_field(name)
        return side(column) if key is None else sql.SQL("({}->>{})").format(side(column), sql.Literal(key))

    @property
    def distance_operator(self) -> sql.Composable:
        return sql.SQL(DISTANCES[self.profile.distance])

    def distance_to(self, query: sql.Composable) -> sql.Composable:
        """The search's ORDER BY: distance from the stored vector to ``query``, a vector of the model. Where the
        application pads (``embeddings.pad_to``) the query is padded the same way and compared with the column as
        stored: the same distance, and what an index on the column serves."""
        em = self.profile.embeddings
        if em.pad_to is None:
            return sql.SQL("{} {} {}").format(self.vector, self.distance_operator, query)
        zeros = em.pad_to - cast(int, self.profile.provider.dimensions)
        return sql.SQL("{} {} ({}::vector || array_fill(0::real, ARRAY[{}])::vector)").format(
            self.column_vector, self.distance_operator, query, sql.Literal(zeros))

    # -- expressions ---------------------------------------------------------------
    @property
    def text(self) -> sql.Composable:
        """The text that is embedded: ``content`` after the application's task prefix (chunks.text_prefix)."""
        prefix = self.profile.chunks.text_prefix
        return sql.SQL("({} || {})").format(sql.Literal(prefix), self.content) if prefix else self.content

    @property
    def content(self) -> sql.Composable:
        """The chunk's own text: one column, or several joined by the separator (NULLs skipped), each newline made a
        space where the application does that before embedding (chunks.text_newlines)."""
        if self.profile.chunks.text_newlines == "space":
            return sql.SQL("replace({}, chr(10), ' ')").format(self._composed_text)
        return self._composed_text

    @property
    def _composed_text(self) -> sql.Composable:
        ch = self.profile.chunks
        if ch.text_format == "llamaindex":
            return llamaindex_embed_text(self.c(ch.text[0]), self.c(cast(str, ch.metadata)))  # the profile defaults it
        if ch.text_format == "pgai":
            src = cast(SourceTable, self.profile.source)  # the profile requires it with this format
            return pgai_embed_text(self.c(ch.text[0]), ch.schema, ch.table, sql.Identifier(src.schema, src.table),
                                   sql.Identifier(src.key), self.c(src.key))
        if ch.text_json is not None:
            return json_text.document(ch.text_json, [(key, self.json_value(f))
                                                     for key, f in zip(ch.text_json_keys, ch.text, strict=True)])
        return self._joined(ch.text)

    def json_value(self, name: str) -> sql.Composable:
        """A chunk field as its value (a JSON column's key as its JSON value), for a JSON document of the fields."""
        column, key = json_field(name)
        return self.c(column) if key is None else sql.SQL("({}->{})").format(self.c(column), sql.Literal(key))

    def _joined(self, items: tuple[str, ...]) -> sql.Composable:
        """``chunks.text`` items as one text: one item, or several joined by the separator (NULLs skipped)."""
        if len(items) == 1:
            return sql.SQL("coalesce({}, '')").format(self.text_part(items[0]))
        return sql.SQL("concat_ws({}, {})").format(
            # a plain column as concat_ws prints it (a boolean as 't'), so stored hashes keep their meaning
            sql.Literal(self.profile.chunks.text_separator),
            sql.SQL(", ").join(self.c(col) if not text_parts.is_template(col) and json_field(col)[1] is None
                               else self.text_part(col) for col in items)
        )

    def text_part(self, item: str) -> sql.Composable:
        """One ``chunks.text`` item as text: a field, or a labelled part (harness.text_parts), NULL where a value in it
        is NULL (so concat_ws leaves the whole part out, label and all)."""
        if not text_parts.is_template(item):
            return self.field(item)
        return sql.SQL("({})").format(sql.SQL(" || ").join(
            sql.Literal(piece.value) if piece.kind == "literal" else self._piece_value(piece)
            for piece in text_parts.parse(item)))

    def _piece_value(self, piece: text_parts.Piece) -> sql.Composable:
        """A labelled part's field or SQL expression as text."""
        if piece.kind == "field":
            return self.field(piece.value)
        # over the chunk's own columns (a name the table lacks would be the outer query's: introspect refuses it)
        return sql.SQL("(SELECT ({})::text FROM (SELECT {}.*) AS chunk)").format(sql.SQL(piece.value), sql.Identifier("c"))

    @property
    def hash_algorithm(self) -> hashing.Algorithm:
        """``embeddings.input_hash_algorithm``: the one place that knows its digest in Python and in SQL."""
        return hashing.algorithm(self.profile.embeddings.input_hash_algorithm)

    @property
    def hashed_text(self) -> sql.Composable:
        """The text the input hash is of: ``embeddings.input_hash_of`` where the application hashes other than what it
        embeds, else the chunk's text as stored (composed), before the newlines an application makes spaces only for
        its embedding call (khoj hashes ``compiled`` as stored: ``chunks.text_newlines``)."""
        if self.profile.embeddings.input_hash_of:
            return self._joined(self.profile.embeddings.input_hash_of)
        return self._composed_text

    def unhashed_fields(self, columns: set[str]) -> list[str]:
        """The fields ``chunks.text`` embeds that ``embeddings.input_hash_of`` does not hash (a whole column hashed
        covers its JSON keys): an edit of one leaves the hash equal, so no hash says the vector is of the current
        text. Empty without input_hash_of (the hash is then of the text embedded). ``columns``: the chunk table's."""
        ch, em = self.profile.chunks, self.profile.embeddings
        if not em.input_hash_of or ch.text_format != "plain":
            return []
        hashed = text_parts.fields_read(em.input_hash_of, columns)
        whole = {json_field(f)[0] for f in hashed if json_field(f)[1] is None}
        return sorted(f for f in text_parts.fields_read(ch.text, columns)
                      if f not in hashed and json_field(f)[0] not in whole)

    def untimed_parts(self) -> list[str]:
        """What the text embedded reads of rows besides the chunk's (a subquery part, ``text_parts.other_rows_read``)
        that no input hash covers: an edit there stamps no ``chunks.updated_at``, so timestamps cannot say the vector
        is of the current text. (pgai's source row is not one: its edit queues the row, and pgai writes new chunks.)"""
        ch, em = self.profile.chunks, self.profile.embeddings
        if ch.text_format != "plain" or (em.input_hash and not em.input_hash_of):
            return []  # the hash is of the whole text embedded, as composed from every row it reads
        hashed = set(text_parts.other_rows_read(em.input_hash_of)) if em.input_hash else set()
        return [part for part in text_parts.other_rows_read(ch.text) if part not in hashed]

    @property
    def text_hash(self) -> sql.Composable:
        """The configured algorithm's lowercase hex of the UTF-8 text, computed inside Postgres (what the engine
        writes; ``harness.hashing.text_hash``); a bytea column receives its bytes (``hashing.as_stored``)."""
        return self.hash_algorithm.hex_sql(self.hashed_text)

    @property
    def embedded_text_hash(self) -> sql.Composable:
        """What tells two chunks' texts apart as embedded (the digest of ``chunks.text`` as stored, whatever
        ``embeddings.input_hash_of`` says the application's hash is of)."""
        return self.hash_algorithm.hex_sql(self._composed_text)

    def hash_differs(self) -> sql.Composed:
        """True where the stored input hash is not the configured digest of the current text, in the column's form
        (hex text or bytea); requires ``embeddings.input_hash``."""
        return self.hash_algorithm.differs_sql(self.e(cast(str, self.profile.embeddings.input_hash)), self.hashed_text)

    def changed_after_vector(self) -> sql.Composable | None:
        """The one rule of "stale by timestamps": true where the chunk changed after its vector was written
        (``chunks.updated_at`` later than ``embeddings.embedded_at``/``updated_at`` at the tick both keep,
        ``compared_digits``), false where it did not, NULL (untimed: neither stale nor fresh) where either is NULL or
        their types differ; None without both names, or where they name one column of an inline table."""
        ch, em = self.profile.chunks, self.profile.embeddings
        if not (ch.updated_at and em.written_at):
            return None
        if self.inline and ch.updated_at == em.written_at:
            # One column of one row says when the row last changed, never that its vector is older than its text:
            # "changed > written" was false on every row, an edited text counted current and fresh passed.
            return None
        changed, written = self.c(ch.updated_at), self.e(em.written_at)
        # A time without a zone against one with a zone is read in the session's TimeZone, which the writer's zone need
        # not be: the same rows were fresh under Asia/Tokyo and stale under UTC. Such a pair is not compared. A tie is
        # not stale; whether it proves the vector current depends on the collection's tick (``tied_in_a_tick``).
        return sql.SQL("CASE WHEN pg_typeof({c}) = pg_typeof({w}) THEN {later} END").format(
            c=changed, w=written, later=self._at_tick(tie=False))

    def compared_digits(self) -> sql.Composable:
        """The tick at which the chunk's time and its vector's compare, as digits below the second: the coarser of the
        two columns' declared ticks (``introspect.declared_digits``). A finer time compared with a coarser one shows a
        later instant in the same tick as later: the trigger's now() of an inline row was stale beside the whole
        second of the ``timestamptz(0)`` vector time the same UPDATE wrote (the comparisons: ``_at_tick``). Requires
        both time columns."""
        return sql.SQL("least({}, {})").format(*self._declared_digits())

    def vector_time_coarser(self) -> sql.Composable:
        """SQL: the vector's time column keeps a coarser tick than the chunk's (``compared_digits``' two). Requires both
        time columns."""
        return sql.SQL("({1} < {0})").format(*self._declared_digits())

    def _declared_digits(self) -> tuple[sql.Composable, sql.Composable]:
        ch, em = self.profile.chunks, self.profile.embeddings
        return (declared_digits(ch.schema, ch.table, cast(str, ch.updated_at)),
                declared_digits(em.schema, em.table, cast(str, em.written_at)))

    def _at_tick(self, *, tie: bool) -> sql.Composable:
        """The chunk's time later than its vector's (``tie``: neither later nor earlier) at ``compared_digits``, one
        addition per row. A column's values lie on its tick, rounded there as stored. The vector's coarser time is the
        start of its tick (``writer.stamp`` floors it): later is at or past the tick's end. The chunk's coarser time
        stands for an instant within half a tick of it (the trigger's now(), rounded up, was a second ahead of the
        vector time the same UPDATE wrote): later is past that half, earlier before it. Columns of one tick compare as
        they are (the vector's time is the chunk's own, ``writer.carried_time``)."""
        ch, em = self.profile.chunks, self.profile.embeddings
        c, w = self.c(cast(str, ch.updated_at)), self.e(cast(str, em.written_at))
        dc, dv = self._declared_digits()
        us = sql.Literal(MICROSECOND)

        def tick(digits: sql.Composable, half: bool = False) -> sql.Composable:
            return sql.SQL("interval '1 microsecond' * power(10, {} - {}){}").format(
                us, digits, sql.SQL(" / 2") if half else sql.SQL(""))

        if not tie:
            return sql.SQL("CASE WHEN {dv} < {dc} THEN {c} >= {w} + {t} WHEN {dc} < {dv} THEN {c} - {h} > {w} "
                           "ELSE {c} > {w} END").format(dv=dv, dc=dc, c=c, w=w, t=tick(dv), h=tick(dc, half=True))
        return sql.SQL("CASE WHEN {dv} < {dc} THEN {c} >= {w} AND {c} < {w} + {t} WHEN {dc} < {dv} THEN {w} >= {c} - {h} "
                       "AND {w} < {c} + {h} ELSE {c} = {w} END").format(dv=dv, dc=dc, c=c, w=w, t=tick(dv), h=tick(dc, half=True))

    def tied_in_a_tick(self) -> sql.Composable:
        """True where the chunk's time equals its vector's at the tick both keep (``compared_digits``). Where no chunk
        of the collection shows a microsecond (``shows_a_microsecond``: a ``date``, a ``timestamp(0)`` to
        ``timestamp(5)`` on either side, times an application writes in whole seconds or milliseconds), an edit made in
        the tick of the vector's time ties with it, so such a tie proves nothing (``untimed``); where others do, both
        columns keep the finest tick Postgres has, a tie is the chunk's own time carried into its vector
        (``writer.stamp``) and ordered, even one that falls on a whole second. Requires both time columns
        (``changed_after_vector``)."""
        ch, em = self.profile.chunks, self.profile.embeddings
        c, w = self.c(cast(str, ch.updated_at)), self.e(cast(str, em.written_at))
        return sql.SQL("(pg_typeof({c}) = pg_typeof({w}) AND {tie})").format(c=c, w=w, tie=self._at_tick(tie=True))

    def shows_a_microsecond(self) -> sql.Composable:
        """True where the chunk's time has a part below a millisecond and both time columns are declared to keep
        microseconds (``compared_digits``; a ``timestamp(0)`` to ``timestamp(5)`` column's 10 us..1 s ticks can show
        such a part too): the columns and the application keep the microsecond tick, so a tie is ordered
        (``tied_in_a_tick``). Times an application writes in milliseconds (JavaScript's ``Date``) never show one.
        Requires both time columns."""
        c = self.c(cast(str, self.profile.chunks.updated_at))
        # A zone's offset moves no fraction of a second. One microsecond time in a thousand is a whole millisecond: a
        # collection of one time (one transaction's now()) reads as coarse that often, unproven, never as fine when it
        # is not.
        return sql.SQL("(date_trunc('milliseconds', {c}) <> {c} AND {p} = {us})").format(
            c=c, p=self.compared_digits(), us=sql.Literal(MICROSECOND))

    def other_tenant(self) -> sql.Composed | None:
        """True where the embedding row is filed under another tenant (``embeddings.tenant``) than its chunk's
        (``chunks.tenant``, NULL included): the application's tenant-filtered search never finds it as the chunk's (and
        another tenant's does), so the chunk needs a vector filed under its own, as one filed under another collection
        does (``join_on``); None without both columns."""
        ch, em = self.profile.chunks, self.profile.embeddings
        if self.inline or not (em.tenant and ch.tenant):
            return None
        return sql.SQL("{}::text IS DISTINCT FROM {}::text").format(self.e(em.tenant), self.c(ch.tenant))

    def hash_equals(self) -> sql.Composed:
        return self.hash_algorithm.equals_sql(self.e(cast(str, self.profile.embeddings.input_hash)), self.hashed_text)

    def collection_names(self) -> sql.Composable:
        """A chunk's collections as text[], for ``chunks.collection`` an array column (``collection_ids[]``): its
        elements, or with ``chunks.collection_table`` the names of the rows they key."""
        ch = self.profile.chunks
        if ch.collection_join:
            return collection_join.names(ch)
        col = self.c(cast(str, ch.collection))
        if ch.collection_table:
            ct = ch.collection_table
            return sql.SQL("ARRAY(SELECT ct.{name}::text FROM {t} AS ct WHERE ct.{key} = ANY({col}) AND ct.{name} IS NOT NULL)").format(
                name=sql.Identifier(ct.name), t=sql.Identifier(ct.schema, ct.table), key=sql.Identifier(ct.key), col=col)
        return sql.SQL("{}::text[]").format(_listed(col))

    def collection_of_chunk(self) -> sql.Composable:
        """The chunk's collection as text. A chunk of an array column is in several: it is then the one of the query's
        ``%(collection)s`` (NULL when not in it); ``checked_collection`` gives each of several checked at once."""
        ch = self.profile.chunks
        if ch.collection_several:
            return sql.SQL("(CASE WHEN %(collection)s = ANY({}) THEN %(collection)s::text END)").format(
                self.collection_names())
        if ch.collection_table:
            return self._named(self.c(cast(str, ch.collection)))  # required with collection_table
        if ch.collection:
            return sql.SQL("{}::text").format(self.c(ch.collection))
        return sql.Literal(ch.collection_name)

    def having(self, pairs: tuple[tuple[str, Any], ...]) -> list[sql.Composable]:
        """One condition per (chunk column, value): the value as text, NULL, or ``{not: null}`` (and, the array
        ``chunks.collection``, not empty) (``chunks.filter``, ``source.chunk_filter``)."""
        ch = self.profile.chunks

        def condition(column: str, value: Any) -> sql.Composable:
            # a key of a JSON column (SurfSense's `status->>'state'`) is compared as its text, as chunks.text reads it
            operand = self.field(column) if json_field(column)[1] is not None else self.c(column)
            if value is None:
                return sql.SQL("{} IS NULL").format(operand)
            if isinstance(value, NotNull):
                if ch.collection_join and column == ch.collection:
                    return collection_join.in_any(ch)
                if ch.collection_array and column == ch.collection:
                    return sql.SQL("coalesce(cardinality({}), 0) > 0").format(_listed(self.c(column)))
                return sql.SQL("{} IS NOT NULL").format(operand)
            return sql.SQL("{}::text = {}").format(operand, sql.Literal(_as_text(value)))

        return [condition(column, value) for column, value in pairs]

    def in_collection(self, column: sql.Composable, array: bool,
                      name: sql.Composable = sql.SQL("%(collection)s")) -> sql.Composable:
        """``column`` (a chunk's, or a source row's of the same kind) places its row in ``%(collection)s`` (or the
        collection ``name`` says): it names it, holds the key of the ``chunks.collection_table`` row of that name,
        or, an array, lists one of those."""
        ct = self.profile.chunks.collection_table
        if ct is not None:
            keys = sql.SQL("SELECT ct.{key} FROM {t} AS ct WHERE ct.{name}::text = {value}").format(
                key=sql.Identifier(ct.key), t=sql.Identifier(ct.schema, ct.table), name=sql.Identifier(ct.name),
                value=name)
            # The name resolves to keys once; the column is then compared as is (a btree index, or a GIN index on
            # an array, serves it).
            return sql.SQL("{} && ARRAY({})" if array else "{} IN ({})").format(column, keys)
        return sql.SQL("{} = ANY({}::text[])" if array else "{}::text = {}").format(
            *((name, column) if array else (column, name)))

    def in_own_collection(self, alias: str, collection: str) -> sql.Composable | None:
        """The inline row ``alias`` is a chunk of ``collection`` (a literal), where its collection column says so: a
        key may name a chunk only within its collection (LightRAG's ``PRIMARY KEY (workspace, id)``), so a write by
        key alone would reach the chunk of the same key in every other collection. None where no column says it."""
        ch = self.profile.chunks
        if not ch.collection or ch.collection_join or ch.collection_array:
            return None
        return self.in_collection(sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(ch.collection)), False,
                                  sql.Literal(collection))

    def chunk_filter(self, collection_param: bool = True) -> sql.Composable:
        """WHERE clause body selecting the chunks of one collection (``%(collection)s``) and the profile's filter."""
        ch = self.profile.chunks
        parts: list[sql.Composable] = []
        if collection_param:
            if ch.collection_join:
                parts.append(collection_join.member(ch))
            elif ch.collection:
                parts.append(self.in_collection(self.c(ch.collection), ch.collection_array))
            else:
                parts.append(sql.SQL("{} = %(collection)s").format(sql.Literal(ch.collection_name)))
        parts += self.having(ch.filter)
        if ch.tenant and self.profile.database.per_tenant:
            # Read tenant by tenant, each view holds its tenant's rows only: a row the policies also show to others
            # (shared) would otherwise be counted, selected and written once per tenant that sees it. Outside a
            # tenant's transaction, for a role row-level security does not apply to, and for rows of no tenant
            # (NULL: no view is theirs), nothing is restricted.
            parts.append(sql.SQL("(coalesce(current_setting({s}, true), '') = '' OR NOT row_security_active({t}) "
                                 "OR {col} IS NULL OR {col}::text = current_setting({s}, true))").format(
                s=sql.Literal(TENANT_SETTING), t=sql.Literal(_qualified(ch.schema, ch.table)), col=self.c(ch.tenant)))
        return sql.SQL(" AND ").join(parts) if parts else sql.SQL("true")

    def join(self, *, counted: bool = False, xmin: bool = False) -> sql.Composable:
        """FROM clause: chunks LEFT JOIN their embedding rows (nothing to join for an inline column); ``counted``: each
        with how many rows its chunk holds (``embedding_rows_counted``); ``xmin``: ``embedding_rows_of``'s."""
        if self.inline:
            return sql.SQL("{} AS c").format(self.chunk_table)
        rows = self.embedding_rows_counted() if counted else self.embedding_rows_of(xmin=xmin)
        return sql.SQL("{} AS c LEFT JOIN {} AS e ON {}").format(self.chunk_table, rows, self.join_on())

    def join_on(self) -> sql.Composable:
        """An embedding row's chunk: the same key and, where the embedding rows name it, the chunk's collection (a key
        may name a chunk only within its collection; ``filed_with_chunk``)."""
        em = self.profile.embeddings
        on = [sql.SQL("{} = {}").format(self.e(em.key), self.chunk_id)]
        if (filed := self.filed_with_chunk()) is not None:
            on.append(filed)
        return sql.SQL(" AND ").join(on)

    def filed_with_chunk(self) -> sql.Composed | None:
        """The embedding row ``e`` is filed under its chunk ``c``'s collection: ``embeddings.collection`` holds the
        chunk's ``chunks.collection`` or the one fixed ``chunks.collection_name`` (a row filed under another name is
        none of the chunk's: the application's search of the collection never finds it, yet it was counted embedded);
        None where the embedding rows name no collection."""
        em, ch = self.profile.embeddings, self.profile.chunks
        if not em.collection:
            return None
        chunk_side = self.c(ch.collection) if ch.collection else sql.Literal(ch.collection_name)
        return sql.SQL("{}::text = {}::text").format(self.e(em.collection), chunk_side)

    def has_vector(self) -> sql.Composable:
        return sql.SQL("{} IS NOT NULL").format(self.vector)

    @property
    def no_text(self) -> sql.Composable:
        """True for a chunk with nothing to embed: its own text empty (NULL columns, an absent JSON key). Applications
        skip such a chunk (LangChain's and Flowise's upserts drop an empty pageContent) and a vector of '' matches
        nothing the row says, so no selection embeds it. A composed format (LlamaIndex's, pgai's) always has a text."""
        ch = self.profile.chunks
        if ch.text_format != "plain":
            return sql.SQL("false")
        if ch.text_json is not None:
            return sql.SQL("({} = '')").format(self.content)
        # Each item empty, not the joined text: items of '' were joined into the separator alone (" "), and a label
        # around a value of '' ("title: ") is the same words on every chunk; either was embedded as if it were a text.
        return sql.SQL("({})").format(sql.SQL(" AND ").join(
            sql.SQL("coalesce({}, '') = ''").format(self._said(item)) for item in ch.text))

    def _said(self, item: str) -> sql.Composable:
        """What a ``chunks.text`` item says of its chunk: its field's value, or a labelled part's values without the
        labels (NULL where any is NULL: the part is then left out, ``text_part``)."""
        if not text_parts.is_template(item):
            return self.field(item)
        return sql.SQL("({})").format(sql.SQL(" || ").join(
            self._piece_value(piece) for piece in text_parts.parse(item) if piece.kind != "literal"))

    def needs_embedding(self, *, dims: bool = False, twice: bool = False) -> sql.Composable:
        """True for chunks with a text whose vector is missing, stale (hash differs, or the chunk changed after the
        vector by ``changed_after_vector``), from another model, embedding nothing (``void``), with ``dims`` of
        another dimension than ``%(dims)s`` (``state.dims_to_measure``), or with ``twice`` holding a second embedding
        row (counted in the query: ``join(counted=True)``; a run replaces every row of a chunk with one). An untimed
        row is not stale by its timestamps: a table whose rows never got a time would otherwise be re-embedded whole on
        every run."""
        needs = self._needs_vector(dims=dims)
        if twice:
            needs = sql.SQL("({} OR coalesce({} > 1, false))").format(needs, self.e("bh_rows"))
        return sql.SQL("(NOT {} AND {})").format(self.no_text, needs)

    def _needs_vector(self, *, dims: bool = False) -> sql.Composable:
        em = self.profile.embeddings
        parts = [sql.SQL("{} IS NULL").format(self.vector)]
        if em.input_hash:
            parts.append(self.hash_differs())
        if (changed := self.changed_after_vector()) is not None:
            parts.append(sql.SQL("coalesce({}, false)").format(changed))
        if (elsewhere := self.other_tenant()) is not None:
            parts.append(elsewhere)
        if em.model:
            parts.append(other_model(self.model))
        elif em.model_value:
            # The profile declares the stored vectors' model: another configured model means every vector is replaced.
            parts.append(other_model(sql.Literal(em.model_value)))
        # A vector that embeds nothing (all zeros: an application's failed embedding; or one whose length pgvector's
        # distances cannot compute with) is no vector.
        parts.append(sql.SQL("{} IS NOT NULL").format(self.void(self.column_vector)))
        if dims:
            # A column declared without a dimension holds whatever was written: a vector of another dimension than
            # the model's (a model switched under one name) matches no query the model embeds.
            parts.append(sql.SQL("({v} IS NOT NULL AND {d} IS DISTINCT FROM %(dims)s::int)").format(
                v=self.column_vector, d=self.model_dims(self.column_vector)))
        return sql.SQL("({})").format(sql.SQL(" OR ").join(parts))

    def state_counts(self, *, dims: bool = False, per_chunk: bool = False, unhashed: bool = False) -> sql.Composed:
        """One pass over a collection: chunks, embedded, missing, stale (by hash or by timestamps), other-model (params:
        collection, model), untimed, the chunks with a text holding a vector that embeds nothing (needed: ``void``), by
        why (all zeros, degenerate), and with ``dims`` the vectors of another dimension than ``%(dims)s``.

        Each joined row is classified once (vector present, hash differs, model differs) and the classes counted,
        so each text is hashed once, and the embedding side is read as a narrow row (its key, collection, hash
        and model plus whether a vector is there): a join that carried the vectors spilled them to temporary
        files (issue #12: 2.8 s instead of 0.6 s at 200,000 rows right after a bulk load).

        ``per_chunk`` (an embedding table whose key no unique index covers): a chunk's rows are classified together,
        so a chunk with two embedding rows is one chunk (it was two: 31 chunks of a 29-chunk collection), needed when
        any of its rows is, and the rows beyond one per chunk with a text are counted (``duplicates``) in the same pass.
        ``unhashed``: the input hash is of fewer columns than the text (``unhashed_fields``), so the times measure the
        others and a vector without a usable time is unmeasured, as where no hash is kept.
        """
        em = self.profile.embeddings
        has = (sql.SQL("{} IS NOT NULL").format(self.vector) if self.inline
               else sql.SQL("{}").format(sql.Identifier("e", _HAS_VECTOR)))
        # CASE, not AND: a chunk without an embedding row has a NULL flag, and "NULL AND x" evaluates x, so every
        # text of a collection with no vectors yet was hashed for nothing (issue #12: most of the count before a load).
        changed = self.changed_after_vector()
        stale = [self.hash_differs()] if em.input_hash else []
        if changed is not None:
            stale.append(sql.SQL("coalesce({}, false)").format(changed))
        differs = (sql.SQL("CASE WHEN {has} THEN {d} END").format(has=has, d=sql.SQL(" OR ").join(stale))
                   if stale else sql.SQL("false"))
        # Where only timestamps measure staleness, a vector whose times do not compare is unmeasured, not current; and
        # every one is where the text embedded reads rows whose edits no chunk's time shows (``untimed_parts``).
        beyond = bool(self.untimed_parts()) if changed is not None else False
        timed_only = changed is not None and (not em.input_hash or beyond or unhashed)
        untimed = (sql.SQL("CASE WHEN {has} THEN ({c}) IS NULL{o} END").format(
            has=has, c=changed, o=sql.SQL(" OR true") if beyond else sql.SQL("")) if timed_only
            # nor does anything measure the columns the hash leaves out where no times are kept (fresh: unproven)
            else sql.SQL("CASE WHEN {has} THEN true END").format(has=has) if unhashed and changed is None
            else sql.SQL("false"))
        # ``k``: a vector whose time ties with its chunk's; ``q``: a chunk whose time shows a microsecond. The ties are
        # untimed only where no chunk of the collection shows one (``tied_in_a_tick``).
        tied = (sql.SQL("CASE WHEN {has} THEN {k} END").format(has=has, k=self.tied_in_a_tick())
                if timed_only and not beyond else sql.SQL("false"))  # beyond: every one is untimed already
        finer = self.shows_a_microsecond() if timed_only else sql.SQL("false")
        model = self.model if em.model else sql.Literal(em.model_value) if em.model_value else None
        other = (sql.SQL("CASE WHEN {has} THEN {o} END").format(has=has, o=other_model(model))
                 if model is not None else sql.SQL("false"))

        measured = (self.model_dims(self.column_vector) if self.inline
                    else sql.SQL("{}").format(sql.Identifier("e", _DIMS)))
        off = (sql.SQL("CASE WHEN {has} THEN {d} IS DISTINCT FROM %(dims)s::int END").format(has=has, d=measured)
               if dims else sql.SQL("false"))
        elsewhere = self.other_tenant()
        misfiled = (sql.SQL("CASE WHEN {has} THEN {f} END").format(has=has, f=elsewhere) if elsewhere is not None
                    else sql.SQL("false"))
        # ``z``: why the vector embeds nothing (``void``: 'zero', 'degenerate'), '' where it embeds something or is none
        void = sql.SQL("coalesce(CASE WHEN {has} THEN {w} END, '')").format(
            has=has, w=self.void(self.column_vector) if self.inline else sql.Identifier("e", _VOID))

        def total(where: str | None) -> sql.Composable:
            return sql.SQL("coalesce(sum(s.n){}, 0)::bigint").format(
                sql.SQL(" FILTER (WHERE {})").format(sql.SQL(where)) if where else sql.SQL(""))

        # A chunk without text is never embedded (the engine's selection, Target.needs_embedding): not missing, and not
        # needed even where it holds a vector of a text it no longer has (that one is stale; fresh says so).
        empty = self.no_text
        # ``g``: a row of the chunk without a vector. The selection takes a chunk when any of its rows needs one, so a
        # chunk whose second row lacks a vector is needed though another row holds one (only ``per_chunk`` has two).
        gap = sql.SQL("NOT {}").format(has) if per_chunk else sql.SQL("false")
        # ``w``: a vector whose row names no model (its model column NULL, or a JSON one without the key): another
        # model's by ``other_model``, said apart, since a run cannot name it where the JSON it writes into is NULL
        unnamed = (sql.SQL("CASE WHEN {has} THEN {m} IS NULL END").format(has=has, m=self.model) if em.model
                   else sql.SQL("false"))
        flags = [has, differs, other, off, empty, untimed, gap, misfiled, unnamed, tied, finer]
        names = ["v", "d", "o", "x", "t", "u", "g", "f", "w", "k", "q"]
        if per_chunk:
            # a chunk of a zero and a degenerate row is counted once, as the greater ('zero')
            rows = sql.SQL("SELECT {flags}, max({void}) AS z, count({k}) AS r FROM {join} WHERE {where} GROUP BY {id}").format(
                flags=sql.SQL(", ").join(sql.SQL("bool_or(coalesce({}, false)) AS {}").format(f, sql.Identifier(n))
                                         for f, n in zip(flags, names)), void=void,
                k=self.e(cast(str, em.key)), join=self._narrow_join(dims=dims), where=self.chunk_filter(), id=self.chunk_id)
            # ``m``: the chunk has a second embedding row, which a run replaces (with the rest) by one: needed
            grouped = sql.SQL("SELECT v, d, o, x, t, u, g, f, w, k, q, z, r > 1 AS m, count(*) AS n, "
                              "sum(greatest(r - 1, 0)) AS r FROM ({}) AS k GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, "
                              "13").format(rows)
            # a chunk without text is never embedded (--keys-from neither), so no run replaces its rows: verify judges them
            duplicates = sql.SQL("coalesce(sum(s.r) FILTER (WHERE NOT s.t), 0)::bigint")
        else:
            grouped = sql.SQL("SELECT {flags}, {void} AS z, false AS m, count(*) AS n FROM {join} WHERE {where} "
                              "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12").format(
                flags=sql.SQL(", ").join(sql.SQL("coalesce({}, false) AS {}").format(f, sql.Identifier(n))
                                         for f, n in zip(flags, names)), void=void,
                join=self.join() if self.inline else self._narrow_join(dims=dims), where=self.chunk_filter())
            duplicates = sql.SQL("0::bigint")  # one row per chunk: inline, or a unique key on the embedding key

        # A vector with a text that nothing else makes needed: the only ones whose times alone decide they are current
        current = "NOT s.t AND NOT (s.g OR s.d OR s.o OR s.z <> '' OR s.x OR s.f OR s.m)"
        return sql.SQL(
            "SELECT {chunks} AS chunks, {embedded} AS embedded, {missing} AS missing, {stale} AS stale, "
            "{other_model} AS other_model, {needed} AS needed, {other_dims} AS other_dims, {no_text} AS no_text, "
            "{untimed} AS untimed, {zero_count} AS zero, {degenerate} AS degenerate, {duplicates} AS duplicates, "
            "{misfiled} AS misfiled, {unnamed} AS unnamed "
            "FROM ({grouped}) AS s"
        ).format(chunks=total(None), embedded=total("s.v"), missing=total("NOT s.v AND NOT s.t"),
                 stale=total("s.d") if stale else sql.SQL("NULL::bigint"),
                 untimed=sql.SQL("{} + CASE WHEN {} = 0 THEN {} ELSE 0 END").format(
                     total(f"s.v AND s.u AND {current}"), total("s.q"), total(f"s.v AND s.k AND {current}")),
                 other_model=total("s.o") if model is not None else sql.SQL("NULL::bigint"),
                 needed=total("NOT s.t AND (NOT s.v OR s.g OR s.d OR s.o OR s.z <> '' OR s.x OR s.f OR s.m)"),
                 misfiled=total("s.f AND NOT s.t"), unnamed=total("s.w AND NOT s.t"),
                 other_dims=total("s.x AND NOT s.t") if dims else sql.SQL("NULL::bigint"),
                 no_text=total("s.t"), zero_count=total("s.z = 'zero' AND NOT s.t"),
                 degenerate=total("s.z = 'degenerate' AND NOT s.t"), duplicates=duplicates, grouped=grouped)

    @classmethod
    def embeds_something(cls, stored: sql.Composable) -> sql.Composed:
        """SQL: ``stored`` (a vector column as stored) holds a vector that embeds something: not NULL, and not one
        that embeds nothing (``void``)."""
        return sql.SQL("({v} IS NOT NULL AND {w} IS NULL)").format(v=stored, w=cls.void(stored))

    @classmethod
    def void(cls, vector: sql.Composable) -> sql.Composed:
        """SQL: why ``vector`` embeds nothing, so that it is needed as a missing one is: ``'zero'`` (all zeros: an
        application's failed embedding written as ``[0.0] * dims``), ``'degenerate'`` (``is_degenerate``), else NULL
        (a NULL vector included). An ordinary vector costs one norm (``_ORDINARY_LENGTHS``), as the zero test did."""
        lo, hi = map(sql.Literal, _ORDINARY_LENGTHS)
        return sql.SQL("(CASE WHEN vector_norm({v}::vector) BETWEEN {lo} AND {hi} THEN NULL WHEN {z} THEN 'zero' "
                       "WHEN {d} THEN 'degenerate' END)").format(v=vector, lo=lo, hi=hi, z=cls.is_zero(vector),
                                                                  d=cls.is_degenerate(vector))

    def holds_sent(self, stored: sql.Composable, sent: sql.Composable) -> sql.Composed:
        """SQL: ``stored`` is the vector ``sent``, up to single precision's rounding under the profile's distance
        (cosine: its direction; l2 and ip: its length too); false where it is NULL, of another dimension (a column of
        no declared dimension: pgvector refuses their distance) or of no ordinary length. Each side as a vector, in
        the CASE's last branch alone: reached only by a vector a trigger changed."""
        lo, hi = map(sql.Literal, _ORDINARY_LENGTHS)
        e, s = sql.SQL("{}::vector").format(stored), sql.SQL("{}::vector").format(sent)
        # cosine: the sent vector brought to the stored one's length first (a trigger normalising a vector the model
        # left at another length keeps its direction), then measured as l2 measures; cosine distance's own float sums
        # measure 0 between a vector and its half-precision rounding (its 1e-6 is 1.4e-3 of direction)
        like = s if self.profile.distance in LENGTH_DISTANCES else sql.SQL(
            "({s} * array_fill((vector_norm({e}) / vector_norm({s}))::real, ARRAY[vector_dims({s})])::vector)").format(
            e=e, s=s)
        return sql.SQL("(CASE WHEN {stored} IS NULL THEN false WHEN {stored} = {sent} THEN true "
                       "WHEN vector_dims({e}) <> vector_dims({s}) THEN false "
                       "WHEN NOT (vector_norm({e}) BETWEEN {lo} AND {hi} AND vector_norm({s}) BETWEEN {lo} AND {hi}) "
                       "THEN false ELSE ({e} <-> {like}) <= {r} * vector_norm({e}) END)").format(
            stored=stored, sent=sent, e=e, s=s, lo=lo, hi=hi, like=like, r=sql.Literal(_ROUNDING))

    @staticmethod
    def is_zero(vector: sql.Composable) -> sql.Composed:
        """Whether a vector is all zeros (halfvec and sparsevec cast to vector for the norm)."""
        return sql.SQL("vector_norm({}::vector) = 0").format(vector)

    @classmethod
    def is_degenerate(cls, vector: sql.Composable) -> sql.Composed:
        """Not all zeros, yet its cosine distance to itself is NaN: its squared length overflows or underflows the
        float sums of pgvector's distances (components past about 1e19, or all below about 3e-23), so the application's
        search gives it NaN or a constant whatever the query (never 0: NaN = NaN holds in Postgres)."""
        return sql.SQL("(({v} <=> {v}) = 'NaN'::float8 AND NOT {z})").format(v=vector, z=cls.is_zero(vector))

    def _narrow_join(self, *, dims: bool = False, void: bool = True) -> sql.Composable:
        """``join()`` with the embedding side projected to the columns the counts compare, plus a has-vector flag and
        (with ``void``) why the vector embeds nothing (``void``; and with ``dims`` each vector's dimension)."""
        em = self.profile.embeddings
        columns = dict.fromkeys(c for c in (em.key, em.collection, em.input_hash, em.model and json_field(em.model)[0],
                                            em.written_at if self.changed_after_vector() is not None else None,
                                            em.tenant if self.other_tenant() is not None else None) if c)
        on = [sql.SQL("{} = {}").format(self.e(em.key), self.chunk_id)]
        if (filed := self.filed_with_chunk()) is not None:
            on.append(filed)
        vector = sql.Identifier(em.vector)

        def at_scan(value: sql.Composable) -> sql.Composable:
            # The planner flattens this subquery, and evaluates a strict expression of its columns above the join,
            # so the join (a hash of the embedding rows, spilled to disk) carried every vector; a CASE is not strict,
            # so it is evaluated where the row is read and only its value is carried (#12: 1.3 s instead of 0.4 s).
            return sql.SQL("CASE WHEN {} IS NOT NULL THEN {} END").format(vector, value)

        measured = sql.SQL("").join([
            *([sql.SQL(", {} AS {}").format(at_scan(self.model_dims(vector)), sql.Identifier(_DIMS))] if dims else []),
            *([sql.SQL(", {} AS {}").format(at_scan(self.void(vector)), sql.Identifier(_VOID))] if void else [])])
        return sql.SQL("{c} AS c LEFT JOIN (SELECT {cols}, {v} IS NOT NULL AS {flag}{measured} FROM {e}) AS e ON {on}").format(
            c=self.chunk_table, cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
            v=sql.Identifier(em.vector), flag=sql.Identifier(_HAS_VECTOR), measured=measured, e=self.embedding_rows,
            on=sql.SQL(" AND ").join(on))

    def missing_by_collection(self) -> sql.Composed:
        """Every collection with its chunks and how many of them hold no vector (a chunk of several counted in each it is in), in
        one grouped pass over the whole chunk table; chunks in no collection are left out. A command that deletes whole
        documents takes their chunks with their vectors, which raises no count here; one that deletes vectors does."""
        ch = self.profile.chunks
        has = (sql.SQL("{} IS NOT NULL").format(self.vector) if self.inline
               else sql.SQL("coalesce({}, false)").format(sql.Identifier("e", _HAS_VECTOR)))
        name: sql.Composable = sql.SQL("n.n") if ch.collection_several else self.collection_of_chunk()
        each: sql.Composable = (sql.SQL(" LEFT JOIN {} ON true").format(self.each_collection()) if ch.collection_several
                                else sql.SQL(""))
        # grouped by chunk first: a chunk with two embedding rows (no unique key) is one chunk, with a vector if any has
        return sql.SQL("SELECT k.n AS collection, count(*) AS chunks, count(*) FILTER (WHERE NOT k.v) AS missing FROM ("
                       "SELECT {name} AS n, bool_or({has}) AS v FROM {join}{each} WHERE {f} GROUP BY 1, {id}) AS k "
                       "WHERE k.n IS NOT NULL GROUP BY 1").format(
            name=name, has=has, join=self.join() if self.inline else self._narrow_join(void=False), each=each,
            f=self.chunk_filter(collection_param=False), id=self.chunk_id)

    def in_no_collection(self) -> sql.Composable:
        """True for a chunk no collection selects: ``chunks.collection`` NULL (an array NULL or empty), or naming no row
        of ``chunks.collection_table``; never with ``chunks.collection_name``."""
        ch = self.profile.chunks
        if not ch.collection:
            return sql.SQL("false")
        if ch.collection_several:
            return sql.SQL("coalesce(cardinality({}), 0) = 0").format(self.collection_names())
        return sql.SQL("{} IS NULL").format(self.collection_of_chunk())

    def collections(self) -> sql.Composed:
        """Every collection name with its chunk count (a chunk of an array column counted in each it lists); the chunks
        in no collection (``in_no_collection``) under the name NULL."""
        if self.profile.chunks.collection_several:
            return sql.SQL("SELECT n AS collection, count(*) AS chunks FROM {t} AS c LEFT JOIN {each} ON true "
                           "WHERE {f} GROUP BY 1 ORDER BY 1").format(
                each=self.each_collection(), t=self.chunk_table, f=self.chunk_filter(collection_param=False))
        return sql.SQL("SELECT {coll} AS collection, count(*) AS chunks FROM {t} AS c WHERE {f} GROUP BY 1 ORDER BY 1").format(
            coll=self.collection_of_chunk(), t=self.chunk_table, f=self.chunk_filter(collection_param=False)
        )

    def collection_of_embedding(self) -> sql.Composable | None:
        """An embedding row's own collection (``embeddings.collection``) as text: beside ``chunks.collection_table`` it
        holds its chunk's key of that table, so the name of that row; None where it has no such column."""
        em, ch = self.profile.embeddings, self.profile.chunks
        if self.inline or not em.collection:
            return None
        if ch.collection_table is not None:
            return self._named(self.e(em.collection))
        return sql.SQL("{}::text").format(self.e(em.collection))

    def _named(self, key: sql.Composable) -> sql.Composed:
        """The name of the ``chunks.collection_table`` row ``key`` holds the key of (a chunk's or an embedding row's)."""
        ct = cast(CollectionTable, self.profile.chunks.collection_table)
        return sql.SQL("(SELECT ct.{name}::text FROM {t} AS ct WHERE ct.{key} = {col})").format(
            name=sql.Identifier(ct.name), t=sql.Identifier(ct.schema, ct.table), key=sql.Identifier(ct.key), col=key)

    def filed_under(self) -> sql.Composable | None:
        """What ``embeddings.collection`` holds for the chunk of key ``s.k``, where that is its chunk's own
        ``chunks.collection`` (a key of ``chunks.collection_table``), not the collection's name; None elsewhere."""
        em, ch = self.profile.embeddings, self.profile.chunks
        if self.inline or not em.collection or ch.collection_table is None:
            return None
        return sql.SQL("(SELECT {col} FROM {t} AS c WHERE {id} = s.k)").format(
            col=self.c(cast(str, ch.collection)), t=self.chunk_table, id=self.chunk_id)

    def stored_collection(self) -> sql.Composable:
        """What ``embeddings.collection`` holds for chunk ``c``: its own ``chunks.collection`` where that keys
        ``chunks.collection_table`` (``filed_under``), else its collection's name."""
        ch = self.profile.chunks
        if ch.collection_table is not None and ch.collection and not ch.collection_several:
            return self.c(ch.collection)
        return self.collection_of_chunk()

    def each_checked_collection(self) -> sql.Composable:
        """For a chunk of several collections, ``LEFT JOIN LATERAL`` its collections among ``%(collections)s`` as
        ``cn.n`` (``cn.first`` true on one of them, or where it is in none): a chunk counted in each checked collection
        it is in, and a row read once where ``first``. Nothing for a chunk of one collection."""
        if not self.profile.chunks.collection_several:
            return sql.SQL("")
        return sql.SQL(" LEFT JOIN LATERAL (SELECT x, x = min(x) OVER () FROM (SELECT DISTINCT x FROM unnest({}) AS x "
                       "WHERE x = ANY(%(collections)s)) AS d) AS cn(n, first) ON true").format(self.collection_names())

    def checked_collection(self) -> sql.Composable:
        """The chunk's collection among ``%(collections)s``: ``cn.n`` beside ``each_checked_collection``, else its one."""
        return sql.SQL("cn.n") if self.profile.chunks.collection_several else self.collection_of_chunk()

    def read_once(self) -> sql.Composable:
        """True on one of the rows ``each_checked_collection`` makes of a row (always, without it)."""
        return sql.SQL("coalesce(cn.first, true)") if self.profile.chunks.collection_several else sql.SQL("true")

    def each_collection(self) -> sql.Composed:
        """A chunk's collections as rows of ``n``, each once (an array may list one twice), for a lateral join: the
        chunk counted in each collection it is in, and once there."""
        return sql.SQL("LATERAL (SELECT DISTINCT x FROM unnest({}) AS x) AS n(n)").format(self.collection_names())

    def declared_dimensions(self) -> sql.Composed:
        """The vector column's declared dimension from the catalog (NULL when declared without one), and its type as
        written; a column of a domain (``CREATE DOMAIN embedding AS vector(768)``) declares the domain's, as its base
        type (the column's own typmod is -1: it was read as declaring none, and scope passed another model's)."""
        em = self.profile.embeddings
        # A column of exactly embeddings.pad_to holds the model's dimension padded: that is what it declares for the model.
        padded = (sql.SQL("WHEN m.typmod = {} THEN {} ").format(sql.Literal(em.pad_to), sql.Literal(self.profile.provider.dimensions))
                  if em.pad_to else sql.SQL(""))
        return sql.SQL(
            "SELECT CASE {padded}WHEN m.typmod > 0 THEN m.typmod END AS dims, format_type(m.base, m.typmod) AS type "
            "FROM pg_attribute a CROSS JOIN {base} WHERE a.attrelid = to_regclass({rel}) AND a.attname = {col} "
            "AND NOT a.attisdropped"
        ).format(padded=padded, base=sql.SQL(BASE_TYPE), rel=sql.Literal(_qualified(em.schema, em.table)),
                 col=sql.Literal(em.vector))


# Python's str.strip() whitespace, which LlamaIndex applies to the metadata string and to the whole text.
_PY_WS = sql.SQL("E' \\t\\n\\r' || chr(11) || chr(12)")
# Python's str() of a JSON value as LlamaIndex formats metadata values (lists and dicts print as JSON, not repr).
_PY_STR = sql.SQL("CASE json_typeof(m.value) WHEN 'string' THEN m.value #>> '{{}}' WHEN 'boolean' THEN "
                  "initcap(m.value::text) WHEN 'null' THEN 'None' ELSE m.value::text END")


def llamaindex_embed_text(text: sql.Composable, metadata: sql.Composable) -> sql.Composable:
    """``node.get_content(MetadataMode.EMBED)`` in SQL, from the node JSON LlamaIndex keeps in ``metadata_``.

    The node's own templates and separator are honoured; metadata keys keep their order (``json``, not ``jsonb``).
    """
    node = sql.SQL("(({m})::json ->> '_node_content')::json").format(m=metadata)
    meta_str = sql.SQL(
        "btrim(coalesce((SELECT string_agg(replace(replace(coalesce({n} ->> 'metadata_template', '{{key}}: {{value}}'), "
        "'{{key}}', m.key), '{{value}}', {s}), coalesce({n} ->> 'metadata_separator', E'\\n') ORDER BY m.ord) "
        "FROM json_each(coalesce({n} -> 'metadata', '{{}}'::json)) WITH ORDINALITY AS m(key, value, ord) "
        "WHERE m.key NOT IN (SELECT json_array_elements_text(coalesce({n} -> 'excluded_embed_metadata_keys', '[]'::json)))), ''), {ws})"
    ).format(n=node, s=_PY_STR, ws=_PY_WS)
    return sql.SQL(
        "(SELECT CASE WHEN x.ms = '' THEN x.t ELSE btrim(replace(replace(x.tt, '{{metadata_str}}', x.ms), '{{content}}', x.t), {ws}) END "
        "FROM (SELECT coalesce({text}::text, '') AS t, {ms} AS ms, "
        "coalesce({n} ->> 'text_template', E'{{metadata_str}}\\n\\n{{content}}') AS tt) AS x)"
    ).format(text=text, ms=meta_str, n=node, ws=_PY_WS)


# Python's string.Template tokens: $$, ${name}, $name, a lone $, and the literal text between them.
_TEMPLATE_TOKENS = sql.Literal(r"\$\$|\$\{[_A-Za-z][_A-Za-z0-9]*\}|\$[_A-Za-z][_A-Za-z0-9]*|\$|[^$]+")
# str() of a source column as pgai's worker formats it (psycopg's Python value): text as is, True/False, None.
_PY_STR_JSONB = sql.SQL("CASE jsonb_typeof(tk.v) WHEN 'string' THEN tk.v #>> '{{}}' WHEN 'boolean' THEN initcap(tk.v::text) "
                        "WHEN 'null' THEN 'None' ELSE tk.v::text END")


def pgai_embed_text(chunk: sql.Composable, store_schema: str, store_table: str, source: sql.Composable,
                    source_key: sql.Composable, chunk_key: sql.Composable) -> sql.Composable:
    """What pgai embeds for a stored chunk: its formatting template (``ai.vectorizer``) over the chunk and the source row.

    pgai stores the *formatted* text in the chunk column, so with the source row unchanged the template's text
    around ``$chunk`` (formatted with the row as it is now) already frames the stored chunk and the stored chunk is
    the answer. When it does not (a source column the template reads was edited since), the current framing is put
    around the stored text, which no longer matches its vector: recompute fails on that row, as it should.
    """
    template = sql.SQL(
        "(SELECT CASE WHEN v.config -> 'formatting' ->> 'implementation' = 'python_template' "
        "THEN v.config -> 'formatting' ->> 'template' ELSE '$chunk' END FROM ai.vectorizer AS v "
        "WHERE v.config -> 'destination' ->> 'target_schema' = {s} AND v.config -> 'destination' ->> 'target_table' = {t} "
        "ORDER BY v.id LIMIT 1)").format(s=sql.Literal(store_schema), t=sql.Literal(store_table))
    tokens = sql.SQL(
        "SELECT tk.o, CASE WHEN tk.tok = '$$' THEN '$' WHEN tk.name IS NULL THEN tk.tok WHEN tk.name = 'chunk' THEN NULL "
        "ELSE coalesce({py}, '') END AS val, tk.name = 'chunk' AS is_chunk "
        "FROM (SELECT m.o, m.a[1] AS tok, n.name, y.r -> n.name AS v "
        "FROM regexp_matches(x.tpl, {re}, 'g') WITH ORDINALITY AS m(a, o) "
        "CROSS JOIN LATERAL (SELECT CASE WHEN left(m.a[1], 2) = '${{' THEN substr(m.a[1], 3, length(m.a[1]) - 3) "
        "WHEN m.a[1] ~ '^[$][_A-Za-z]' THEN substr(m.a[1], 2) END AS name) AS n) AS tk"
    ).format(py=_PY_STR_JSONB, re=_TEMPLATE_TOKENS)
    framing = sql.SQL(
        "SELECT coalesce(string_agg(f.val, '' ORDER BY f.o) FILTER (WHERE f.cpos IS NULL OR f.o < f.cpos), '') AS pre, "
        "coalesce(string_agg(f.val, '' ORDER BY f.o) FILTER (WHERE f.o > f.cpos), '') AS post, "
        "bool_or(f.cpos IS NOT NULL) AS framed "
        "FROM (SELECT t.o, t.val, min(t.o) FILTER (WHERE t.is_chunk) OVER () AS cpos FROM ({tokens}) AS t) AS f"
    ).format(tokens=tokens)
    return sql.SQL(
        "(SELECT CASE WHEN x.tpl IS NULL OR x.tpl = '$chunk' THEN x.t ELSE ("
        "SELECT CASE WHEN NOT coalesce(p.framed, false) THEN p.pre "
        "WHEN starts_with(x.t, p.pre) AND length(x.t) >= length(p.pre) + length(p.post) "
        "AND right(x.t, length(p.post)) = p.post THEN x.t ELSE p.pre || x.t || p.post END "
        "FROM (SELECT (SELECT to_jsonb(s) FROM {source} AS s WHERE s.{key} = {ckey}) AS r) AS y, LATERAL ({framing}) AS p) END "
        "FROM (SELECT coalesce({chunk}::text, '') AS t, {template} AS tpl) AS x)"
    ).format(framing=framing, chunk=chunk, template=template, source=source, key=source_key, ckey=chunk_key)


def _listed(array: sql.Composable) -> sql.Composable:
    """An array column's elements that name something: a NULL element (``'{NULL}'``, an ORM's ``[None]``) names no
    collection, so an array of NULLs is in none, as an empty one is."""
    return sql.SQL("array_remove({}, NULL)").format(array)


def _qualified(schema: str, table: str) -> str:
    """A regclass literal that survives quotes, spaces and upper case in either name."""
    def quote(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    return f"{quote(schema)}.{quote(table)}"


def _as_text(value: object) -> str:
    """A filter value as Postgres prints the column's value (``true``, not Python's ``True``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
