"""What a plain backfill needs, checked before anything is written: each missing privilege named with its object."""

from __future__ import annotations

from ..db import Conn, one
from ..errors import RefusedError
from ..target import Target, _qualified
from .writer import referenced, retimed_by


def needed(target: Target, in_place: bool = False, retimed: list[str] | None = None
           ) -> list[tuple[str, tuple[str, str], str | None]]:
    """(privilege, (schema, table), why) a plain backfill uses: read the chunks, replace rows in the embeddings (or
    column); ``in_place``: other tables reference the embedding rows, which are updated, not deleted
    (``writer.referenced``); ``retimed``: the embedding table's triggers that may stamp the chunk when its vector is
    written, whose time the writer then gives the vector with an UPDATE (``writer.retimed_by``)."""
    ch, em = target.profile.chunks, target.profile.embeddings
    chunks, embeddings = (ch.schema, ch.table), (em.schema, em.table)
    pairs: list[tuple[str, tuple[str, str], str | None]] = [("SELECT", chunks, None)]
    if ch.collection_table:
        pairs.append(("SELECT", (ch.collection_table.schema, ch.collection_table.table), None))
    if target.inline:
        pairs.append(("UPDATE", chunks, None))
        return pairs
    pairs += [(p, embeddings, None) for p in ("SELECT", "INSERT", "UPDATE" if in_place else "DELETE")]
    if retimed and not in_place:
        pairs.append(("UPDATE", embeddings, f"its trigger {', '.join(retimed)} may stamp the chunk when its vector is "
                                            "written, and the vector is then given that time"))
    return pairs


def lacking(conn: Conn, target: Target) -> str | None:
    """What the connected role lacks for a backfill, in one line naming each privilege and its table; None if nothing."""
    pairs = needed(target, referenced(conn, target), retimed_by(conn, target))
    missing = [f"{priv} on table {'.'.join(table)}" + (f" ({why})" if why else "") for priv, table, why in pairs
               if not one(conn.execute("SELECT has_table_privilege(%s, %s) AS ok", (_qualified(*table), priv)).fetchone())["ok"]]
    # TEMP is not needed: without it the writer sends each batch as arrays (INSERT ... SELECT FROM unnest(...)).
    if not missing:
        return None
    role = one(conn.execute("SELECT current_user AS u").fetchone())["u"]
    return (f"role {role!r} lacks {', '.join(missing)}; expected "
            + ", ".join(f"{p} on {'.'.join(t)}" for p, t, _ in pairs))


def require(conn: Conn, target: Target) -> None:
    """RefusedError naming every privilege (and its table) the connected role lacks for a backfill."""
    if (lacks := lacking(conn, target)) is not None:
        raise RefusedError(lacks + "; nothing was written")
