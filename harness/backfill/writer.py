"""Write one batch of vectors: binary COPY into a temporary staging table, then one statement into place.

The staging table is created from the target's own columns (``WITH NO DATA``)
so COPY's binary types always match. A batch lands whole or not at all.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
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

    def __init__(self, conn: psycopg.Connection, target: Target, model: str,
                 guard: Callable[[psycopg.Connection], None] | None = None):
        self.conn = conn
        self.guard = guard or (lambda conn: None)  # run first in every write transaction: proves the lock is still held
        self.target = target
        self.model = model
        self._columns = self._stage_columns()
        self._types: list[str] | None = None
        self._target_types: list[str] | None = None
        self.direct_batches = 0
        # A batch lost to a database crash (not a client crash) before it reaches disk is simply selected
        # again by the next run, so the writer need not wait for each commit's WAL flush.
        conn.execute("SET synchronous_commit TO off")
        conn.commit()

    def tables(self) -> list[str]:
        """The tables a write locks (for naming who holds them when a write waits too long)."""
        em, ch = self.target.profile.embeddings, self.target.profile.chunks
        return [_qualified(ch.schema, ch.table) if self.target.inline else _qualified(em.schema, em.table)]

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
            self.guard(self.conn)
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
            self.guard(self.conn)
            if binary_copy_data(self._target_types, names, batch[:1], self.model) is None:
                self._copy_rows(copy_sql, self._target_types, names, batch)
            else:
                with self.conn.cursor().copy(copy_sql) as copy:
                    # Sent in slices so the server parses one while the next is encoded.
                    for start in range(0, len(batch), _SLICE):
                        part = batch[start:start + _SLICE]
                        copy.write(binary_copy_data(self._target_types, names, part, self.model,
                                                    header=start == 0, trailer=start + _SLICE >= len(batch)))
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


_INT = {"int8": ">q", "int4": ">i", "int2": ">h"}
_TEXT = {"text", "varchar", "bpchar", "name"}
_SLICE = 128  # rows per COPY message
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)


def binary_copy_data(types: Sequence[str], names: Sequence[str], batch: Sequence[Embedding], model: str, *,
                     header: bool = True, trailer: bool = True) -> bytes | None:
    """The whole COPY BINARY stream for a batch, built at once (vectors through one numpy conversion).

    None when a column has a type this encoder does not know; the caller then lets psycopg dump row by row.
    """
    if not all(t in _INT or t in _TEXT or (t == "vector" and n == "v") for t, n in zip(types, names)):
        return None
    matrix = np.stack([item.vector for item in batch]).astype(">f4", copy=False)
    columns = {name: _column_values(name, batch, model) for name in names}
    fixed = _fixed_width_rows(names, types, columns, matrix)
    head, tail = (_SIGNATURE if header else b""), (struct.pack(">h", -1) if trailer else b"")
    if fixed is not None:
        return head + fixed + tail
    dims = matrix.shape[1]
    vector_head = struct.pack(">ihh", 4 + 4 * dims, dims, 0)
    count = struct.pack(">h", len(names))
    null = struct.pack(">i", -1)
    parts = [head]
    for i in range(len(batch)):
        parts.append(count)
        for name, typ in zip(names, types):
            if name == "v":
                parts.append(vector_head)
                parts.append(matrix[i].tobytes())
                continue
            value = columns[name][i]
            if value is None:
                parts.append(null)
            elif typ in _INT:
                parts.append(struct.pack(">i" + _INT[typ][1], struct.calcsize(_INT[typ]), int(value)))
            else:
                parts.append(_text_field(str(value)))
    parts.append(tail)
    return b"".join(parts)


def _column_values(name: str, batch: Sequence[Embedding], model: str) -> list[Any]:
    if name == "m":
        return [model] * len(batch)
    attr = {"k": "key", "v": "vector", "h": "text_hash", "coll": "collection", "ten": "tenant"}[name]
    return [getattr(item, attr) for item in batch]


def _fixed_width_rows(names, types, columns, matrix: np.ndarray) -> bytes | None:
    """When every text column of the batch has one byte length (hashes, one collection, one tenant), lay the
    rows out as one numpy record array: the common bulk-load case, encoded without a Python loop per row."""
    n, dims = matrix.shape
    fields: list[tuple[str, Any]] = [("count", ">i2")]
    values: dict[str, Any] = {"count": len(names)}
    for name, typ in zip(names, types):
        if name == "v":
            fields += [("v_len", ">i4"), ("v_dim", ">i2"), ("v_unused", ">i2"), ("v", ">f4", (dims,))]
            values.update(v_len=4 + 4 * dims, v_dim=dims, v_unused=0, v=matrix)
            continue
        column = columns[name]
        if typ in _INT:
            if any(v is None for v in column):
                return None
            fields += [(name + "_len", ">i4"), (name, _INT[typ])]
            values.update({name + "_len": struct.calcsize(_INT[typ]), name: np.asarray(column, dtype=np.int64)})
            continue
        if all(v is None for v in column):
            fields.append((name + "_len", ">i4"))
            values[name + "_len"] = -1
            continue
        encoded = [str(v).encode("utf-8") if v is not None else None for v in column]
        widths = {len(e) if e is not None else -1 for e in encoded}
        if len(widths) != 1 or -1 in widths:
            return None
        width = widths.pop()
        fields += [(name + "_len", ">i4"), (name, f"S{width}")] if width else [(name + "_len", ">i4")]
        values[name + "_len"] = width
        if width:
            values[name] = np.array(encoded, dtype=f"S{width}")
    rows = np.empty(n, dtype=np.dtype(fields))  # packed: numpy adds no padding without align=True
    for key, value in values.items():
        rows[key] = value
    return rows.tobytes()


def _text_field(value: str) -> bytes:
    data = value.encode("utf-8")
    return struct.pack(">i", len(data)) + data
