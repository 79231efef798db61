"""What a plain backfill needs, checked before anything is written: each missing privilege named with its object."""

from __future__ import annotations

from ..db import Conn, one
from ..errors import RefusedError
from ..target import Target, _qualified
from .writer import referenced


def needed(target: Target, in_place: bool = False) -> list[tuple[str, tuple[str, str]]]:
    """(privilege, (schema, table)) a plain backfill uses: read the chunks, replace rows in the embeddings (or column);
    ``in_place``: other tables reference the embedding rows, which are updated, not deleted (``writer.referenced``)."""
    ch, em = target.profile.chunks, target.profile.embeddings
    chunks = (ch.schema, ch.table)
    pairs = [("SELECT", chunks)]
    if ch.collection_table:
        pairs.append(("SELECT", (ch.collection_table.schema, ch.collection_table.table)))
    if target.inline:
        pairs.append(("UPDATE", chunks))
    else:
        pairs += [(p, (em.schema, em.table)) for p in ("SELECT", "INSERT", "UPDATE" if in_place else "DELETE")]
    return pairs


def require(conn: Conn, target: Target) -> None:
    """RefusedError naming every privilege (and its table) the connected role lacks for a backfill."""
    pairs = needed(target, referenced(conn, target))
    missing = [f"{priv} on table {'.'.join(table)}" for priv, table in pairs
               if not one(conn.execute("SELECT has_table_privilege(%s, %s) AS ok", (_qualified(*table), priv)).fetchone())["ok"]]
    # TEMP is not needed: without it the writer sends each batch as arrays (INSERT ... SELECT FROM unnest(...)).
    if missing:
        role = one(conn.execute("SELECT current_user AS u").fetchone())["u"]
        raise RefusedError(f"role {role!r} lacks {', '.join(missing)}; expected "
                           + ", ".join(f"{p} on {'.'.join(t)}" for p, t in pairs) + "; nothing was written")
