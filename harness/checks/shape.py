"""SQL expressions the checks need beyond ``harness.target``: both sides' collection and tenant, sources, norms.

Source fields may name a JSON key (``cmetadata->>source``), the way LangChain and
LlamaIndex keep citations in a metadata column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from psycopg import sql

from ..profile import SourceTable
from ..target import Target

NULL = sql.SQL("NULL")


@dataclass(frozen=True)
class Shape:
    target: Target
    # The vector as the expressions below read it: the column, or a copy of it read once (``stats.read_once``)
    vector_expr: sql.Composable | None = None

    @property
    def vector(self) -> sql.Composable:
        return self.vector_expr if self.vector_expr is not None else self.target.vector

    @property
    def profile(self):
        return self.target.profile

    @property
    def inline(self) -> bool:
        return self.target.inline

    def chunk_collection(self) -> sql.Composable:
        """The chunk's collection, ``%(collection)s`` for a chunk of several (``Target.collection_of_chunk``)."""
        return self.target.collection_of_chunk()

    def checked_collection(self) -> sql.Composable:
        """The chunk's collection among ``%(collections)s``, once for each (``Target.checked_collection``)."""
        return self.target.checked_collection()

    def chunk_tenant(self) -> sql.Composable:
        ch = self.profile.chunks
        return sql.SQL("{}::text").format(self.target.c(ch.tenant)) if ch.tenant else NULL

    def emb_collection(self) -> sql.Composable | None:
        """The embedding row's own collection column, when it has one (never for an inline column)."""
        return self.target.collection_of_embedding()

    def emb_tenant(self) -> sql.Composable | None:
        em = self.profile.embeddings
        if self.inline or not em.tenant:
            return None
        return sql.SQL("{}::text").format(self.target.e(em.tenant))

    def emb_key(self) -> sql.Composable:
        return self.target.e(self.profile.embeddings.key) if not self.inline else self.target.chunk_id

    def chunks_in(self) -> sql.Composable:
        """Chunks of any of the listed collections (``%(collections)s``), with the profile's filter; beside
        ``Target.each_checked_collection`` for a chunk of several."""
        return sql.SQL("({coll} = ANY(%(collections)s) AND {f})").format(
            coll=self.checked_collection(), f=self.target.chunk_filter(collection_param=False))

    def sources(self) -> list[sql.Composable]:
        return [source_expr(self.target, name) for name in self.profile.chunks.sources]

    def norm(self) -> sql.Composable:
        # vector_norm is unambiguous; halfvec and sparsevec cast to vector.
        return sql.SQL("vector_norm({}::vector)").format(self.vector)

    def degenerate(self) -> sql.Composable:
        """The stored vector is one pgvector's distances cannot use (``Target.is_degenerate``): the counts need it."""
        return self.target.is_degenerate(self.vector)

    def dims(self) -> sql.Composable:
        # vector_dims has no sparsevec form (a pass over a sparsevec column failed on it); the cast is free for vector.
        return sql.SQL("vector_dims({}::vector)").format(self.vector)

    def emb_filter(self) -> sql.Composable:
        """How the app narrows a search to one collection (``%(collection)s``): the embedding side when it can."""
        coll = self.emb_collection()
        if coll is not None:
            return sql.SQL("{} = %(collection)s").format(coll)
        return self.target.chunk_filter()

    def search_from(self, *, xmin: bool = False) -> sql.Composable:
        """FROM for a search the way apps write it: embeddings joined to their chunks as ``Target.join`` joins them
        (the key, and the collection where both tables name it: chunks keyed ``(collection, id)`` share ids);
        ``xmin``: the embedding rows' write transaction carried (``Target.embedding_rows_of``)."""
        if self.inline:
            return sql.SQL("{} AS c").format(self.target.chunk_table)
        return sql.SQL("{e} AS e JOIN {c} AS c ON {on}").format(
            e=self.target.embedding_rows_of(xmin=xmin), c=self.target.chunk_table, on=self.target.join_on())


def source_match(target: Target, alias: str) -> sql.Composable:
    """The condition pairing a chunk (the target's chunk alias) with its source row ``alias``: the same key, compared
    as text where the chunk holds it under another name or inside JSON (``source.chunk_key``)."""
    src = cast(SourceTable, target.profile.source)
    key = sql.Identifier(alias, src.key)
    if src.chunk_key is None:
        same = sql.SQL("{} = {}").format(key, target.c(src.key))
    else:
        same = sql.SQL("{}::text = {}").format(key, target.field(src.chunk_key))
    return sql.SQL("({} AND {})").format(same, source_chunks(target)) if src.chunk_filter else same


def source_chunks(target: Target) -> sql.Composable:
    """The chunks the source table is the source of (``source.chunk_filter``: a polymorphic type); TRUE for all."""
    src = cast(SourceTable, target.profile.source)
    return sql.SQL(" AND ").join(target.having(src.chunk_filter)) if src.chunk_filter else sql.SQL("TRUE")


def source_expr(target: Target, name: str) -> sql.Composable:
    """A source field: a column, ``column->>key`` for a key of a JSON column, or ``source.column`` of the source table."""
    src = target.profile.source
    if src is not None and name.startswith("source."):
        return sql.SQL("(SELECT s.{col}::text FROM {t} AS s WHERE {match} LIMIT 1)").format(
            col=sql.Identifier(name[len("source."):]), t=sql.Identifier(src.schema, src.table),
            match=source_match(target, "s"))
    return target.field(name)
