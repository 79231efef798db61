"""Write one batch of vectors: binary COPY into a temporary staging table, then one statement into place.

The staging table is created from the target's own columns (``WITH NO DATA``)
so COPY's binary types always match. A batch lands whole or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from ..target import Target, _qualified

STAGE = "bh_stage"


@dataclass(frozen=True)
class Embedding:
    key: Any
    vector: np.ndarray
    text_hash: str
    collection: str
    tenant: Any
    exists: bool = True  # False when selection saw no embedding row for the key: a plain COPY may land it


class BatchWriter:
    """Owns one connection's staging table and writes batches through it."""

    def __init__(self, conn: psycopg.Connection, target: Target, model: str):
        self.conn = conn
        self.target = target
        self.model = model
        self._columns = self._stage_columns()
        self._types: list[str] | None = None
        self._target_types: list[str] | None = None
        self.direct_batches = 0

    def _stage_columns(self) -> list[tuple[str, str]]:
        """(staging column, target column) pairs for what this target stores."""
        em, ch = self.target.profile.embeddings, self.target.profile.chunks
        cols = [("k", em.key), ("v", em.vector)]
        if em.input_hash:
            cols.append(("h", em.input_hash))
        if em.model:
            cols.append(("m", em.model))
        if not self.target.inline:
            if em.collection:
                cols.append(("coll", em.collection))
            if em.tenant:
                cols.append(("ten", em.tenant))
        if self.target.inline and ch.id != em.key:
            cols[0] = ("k", ch.id)
        return cols

    def _ensure_stage(self) -> None:
        if self._types is not None:
            return
        alias = sql.Identifier("t")
        select = sql.SQL(", ").join(
            sql.SQL("{}.{} AS {}").format(alias, sql.Identifier(target_col), sql.Identifier(stage_col))
            for stage_col, target_col in self._columns
        )
        with self.conn.transaction():
            self.conn.execute(
                sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} AS SELECT {} FROM {} AS t WITH NO DATA").format(
                    sql.Identifier(STAGE), select, self.target.embedding_table
                )
            )
            rows = self.conn.execute(
                "SELECT t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                (STAGE,),
            ).fetchall()
        self._types = [r["typname"] for r in rows]

    def write(self, batch: Sequence[Embedding]) -> int:
        """Write every embedding of the batch in one transaction; return how many rows were written."""
        if not batch:
            return 0
        if not self.target.inline and not any(item.exists for item in batch):
            try:
                return self._copy_direct(batch)
            except psycopg.errors.UniqueViolation:
                pass  # someone wrote one of these keys since selection: replace through the staging table
        self._ensure_stage()
        names = [c for c, _ in self._columns]
        with self.conn.transaction():
            self.conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(STAGE)))
            copy_sql = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT BINARY)").format(
                sql.Identifier(STAGE), sql.SQL(", ").join(map(sql.Identifier, names))
            )
            self._copy_rows(copy_sql, self._types, names, batch)
            for statement in self._apply_sql():
                self.conn.execute(statement)
        return len(batch)

    def _copy_direct(self, batch: Sequence[Embedding]) -> int:
        """Rows with no embedding yet go straight into the table with one binary COPY (a bulk load's fast path)."""
        names = [c for c, _ in self._columns]
        if self._target_types is None:
            em = self.target.profile.embeddings
            rows = self.conn.execute(
                "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                (_qualified(em.schema, em.table),),
            ).fetchall()
            self.conn.rollback()
            by_name = {r["attname"]: r["typname"] for r in rows}
            self._target_types = [by_name[col] for _, col in self._columns]
        copy_sql = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT BINARY)").format(
            self.target.embedding_table, sql.SQL(", ").join(sql.Identifier(col) for _, col in self._columns)
        )
        with self.conn.transaction():
            self._copy_rows(copy_sql, self._target_types, names, batch)
        self.direct_batches += 1
        return len(batch)

    def _copy_rows(self, copy_sql: sql.Composed, types: list[str] | None, names: list[str],
                   batch: Sequence[Embedding]) -> None:
        with self.conn.cursor().copy(copy_sql) as copy:
            copy.set_types(types)
            for item in batch:
                values = {"k": item.key, "v": item.vector, "h": item.text_hash, "m": self.model,
                          "coll": item.collection, "ten": item.tenant}
                copy.write_row([values[n] for n in names])

    def _apply_sql(self) -> list[sql.Composed]:
        stage = sql.Identifier(STAGE)
        if self.target.inline:
            sets = sql.SQL(", ").join(
                sql.SQL("{} = s.{}").format(sql.Identifier(col), sql.Identifier(st))
                for st, col in self._columns
                if st != "k"
            )
            return [sql.SQL("UPDATE {t} AS c SET {sets} FROM {s} AS s WHERE c.{k} = s.k").format(
                t=self.target.chunk_table, sets=sets, s=stage, k=sql.Identifier(self._columns[0][1])
            )]
        em = self.target.profile.embeddings
        # Delete-then-insert in one transaction works whatever unique constraint the table has (or lacks),
        # and removes duplicates a hand-written script may have left behind.
        match = [sql.SQL("e.{} = s.k").format(sql.Identifier(em.key))]
        if em.collection:
            match.append(sql.SQL("e.{}::text = s.coll::text").format(sql.Identifier(em.collection)))
        columns = sql.SQL(", ").join(sql.Identifier(col) for _, col in self._columns)
        picks = sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(st)) for st, _ in self._columns)
        return [
            sql.SQL("DELETE FROM {t} AS e USING {s} AS s WHERE {match}").format(
                t=self.target.embedding_table, s=stage, match=sql.SQL(" AND ").join(match)
            ),
            sql.SQL("INSERT INTO {t} ({cols}) SELECT {picks} FROM {s} AS s").format(
                t=self.target.embedding_table, cols=columns, picks=picks, s=stage
            ),
        ]
