"""Tables holding the vectors that a crash empties: an UNLOGGED table (or partition, or inheritance child).

Postgres truncates an unlogged table in crash recovery and never sends its rows to a standby, so a batch the engine
committed does not survive a crash there, as its commits promise elsewhere, and a replica serving the application's
searches holds none of them. The target stays valid (an application may keep its vectors so on purpose, a cache it
rebuilds): scope's ``durability`` check and the run's summary say it, naming the tables.
"""

from __future__ import annotations

from ..checks.outcome import Outcome, unproven
from ..db import Conn
from ..introspect import TREE
from ..target import Target, _qualified

CHECK = "durability"


def unlogged_line(conn: Conn, target: Target) -> str | None:
    """What a crash does to the vectors, naming each unlogged table of the tree that holds them; None where none is."""
    table = target.profile.chunks if target.inline else target.profile.embeddings
    names = [r["name"] for r in conn.execute(TREE + (
        "SELECT c.oid::regclass::text AS name FROM tree JOIN pg_class c ON c.oid = tree.oid "
        "WHERE c.relpersistence = 'u' ORDER BY 1"), {"t": _qualified(table.schema, table.table)}).fetchall()]
    if not names:
        return None
    return (f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} UNLOGGED: a database crash empties "
            f"{'it' if len(names) == 1 else 'them'} (every vector there, not only this run's) and no standby receives "
            "the rows, so the vectors written and checked do not survive a crash (ALTER TABLE ... SET LOGGED keeps them)")


def outcome(conn: Conn, target: Target, collection: str | None) -> Outcome | None:
    """Scope's ``durability`` check: unproven where a crash would empty the vectors' table, else nothing said."""
    line = unlogged_line(conn, target)
    return None if line is None else unproven(CHECK, collection, line)
