"""Vectors filed under another tenant than their chunk's where row-level security hides them from that chunk's tenant.

Without RLS the writer's DELETE of a chunk's rows takes such a row with it. Under RLS, in the chunk's tenant's view,
it cannot see the row: it adds the chunk's own beside it and the misfiled one stays, searchable by the other tenant.
So each is deleted here, in the view of the tenant it is filed under, which sees it; the selection then embeds the
chunk in its own view as a missing one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from psycopg import sql

from .. import rls
from ..db import Conn
from ..target import Target
from .writer import referenced


@dataclass(frozen=True)
class Refiled:
    deleted: int = 0
    left: str | None = None  # how many rows stayed and why (None: none)


def delete_unseen_misfiled(read_conn: Conn, write_conn: Conn, target: Target, collection: str,
                           tenants: list[str | None], guard: Callable[[Conn], None]) -> Refiled:
    """Delete the collection's embedding rows filed under another tenant than their chunk's that no tenant's view shows
    with their chunk (found as a role exempt from RLS: ``rls.hidden_misfiled``), each in its own tenant's view."""
    profile = target.profile
    if not profile.database.per_tenant or len(tenants) < 2 or target.other_tenant() is None:
        return Refiled()
    role = rls.bypass_role(read_conn, profile)
    if role is None:
        return Refiled()  # not measurable: rls.completeness says so, and the run is not ok
    rows = rls.hidden_misfiled(read_conn, target, collection, tenants, role) or {}
    if not rows:
        return Refiled()
    em = target.profile.embeddings
    if referenced(read_conn, target):
        # as the writer never deletes such rows (it updates them in place): their deletion took the application's
        # rows referencing them with it (ON DELETE CASCADE) or unlinked them
        return Refiled(0, f"{sum(rows.values())} embedding rows filed under another tenant than their chunk's, unseen by "
                          f"the chunk's tenant, were not deleted: other tables reference {em.table}'s rows, and their "
                          "deletion would delete or unlink the application's rows that do; re-file them under their "
                          "chunk's tenant (or delete them) by hand")
    match = [sql.SQL("e.{}::text = m.k").format(sql.Identifier(cast(str, em.key))),
             sql.SQL("e.{}::text = m.f").format(sql.Identifier(cast(str, em.tenant)))]
    if em.collection:
        match.append(sql.SQL("e.{}::text IS NOT DISTINCT FROM m.c").format(sql.Identifier(em.collection)))
    delete = sql.SQL("DELETE FROM {t} AS e USING unnest(%s::text[], %s::text[], %s::text[]) AS m(k, f, c) "
                     "WHERE {match}").format(t=target.embedding_table,
                                             match=sql.SQL(" AND ").join(match + target.filter_rows("e")))
    listed = {str(t): t for t in tenants if t is not None}
    deleted = 0
    for name, tenant in listed.items():
        mine = [row for row in rows if row[1] == name]
        if not mine:
            continue
        with rls.scope(write_conn, profile, tenant):
            guard(write_conn)
            cur = write_conn.execute(delete, ([k for k, _, _ in mine], [f for _, f, _ in mine], [c for _, _, c in mine]))
            deleted += max(cur.rowcount, 0)
    total = sum(rows.values())
    if deleted >= total:
        return Refiled(deleted)
    unlisted = sorted({str(f) for _, f, _ in rows if f not in listed})
    whys = [f"filed under tenants no view of database.tenants shows ({', '.join(unlisted)})"] if unlisted else []
    if deleted + sum(n for (_, f, _), n in rows.items() if f not in listed) < total:
        whys.append(f"the policies did not let role {rls.inspect(read_conn, profile)[0].role} delete them in the view "
                    "of the tenant they are filed under")
    return Refiled(deleted, f"{total - deleted} embedding rows filed under another tenant than their chunk's, unseen "
                            f"by the chunk's tenant, could not be deleted: {'; '.join(whys)}")
