"""Connections to the target: pgvector's types registered in one round trip, each type read and written."""

import numpy as np
import psycopg
import pytest

from harness import db
from harness.errors import DatabaseError


def test_pgvector_types_are_registered_in_one_round_trip(empty_db, monkeypatch):
    """Every session, run and check opens several connections: four catalog lookups each were four round trips."""
    statements = []
    real = psycopg.Cursor.execute
    monkeypatch.setattr(psycopg.Cursor, "execute", lambda self, query, *a, **k: statements.append(query) or real(self, query, *a, **k))
    db.connect(empty_db.dsn).close()
    assert len(statements) == 1


def test_each_pgvector_type_reads_back_as_written(empty_db):
    with db.connect(empty_db.dsn) as conn:
        row = conn.execute("SELECT %s::vector AS v, '[1,2]'::halfvec AS h, '{1:1.5}/3'::sparsevec AS s, '101'::bit(3) AS b",
                           (np.float32([1, 2, 3]),)).fetchone()
    # pgvector-python loads a vector as numpy (0.3) or as its Vector class (0.4 on): either way, these values
    assert [_values(row[k]) for k in ("v", "h", "s")] == [[1, 2, 3], [1, 2], [1.5, 0, 0]]
    assert str(row["b"]) in ("101", "Bit('101')") or row["b"].to_text() == "101"


def _values(vector) -> list[float]:
    return [float(x) for x in (vector.to_list() if hasattr(vector, "to_list") else vector)]


def test_a_database_without_pgvector_is_refused_in_one_line_and_left_as_it_was(empty_db):
    with psycopg.connect(empty_db.dsn, autocommit=True) as conn:
        conn.execute("DROP EXTENSION vector")
    with pytest.raises(DatabaseError, match="has no pgvector extension; expected CREATE EXTENSION vector") as caught:
        db.connect(empty_db.dsn)
    assert "\n" not in str(caught.value)
    with psycopg.connect(empty_db.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'vector'").fetchone()[0] == 0
