"""Tenant isolation: every embedding sits in its chunk's collection and tenant, and tenant-filtered search leaks nothing."""

from __future__ import annotations

from psycopg import sql

from .outcome import MAX_SHOWN, Offender, Outcome, skipped, unproven, verdict
from .session import CheckSession
from .shape import NULL
from .stats import keyed_per_collection

_K = 10


def misplaced_rows(session: CheckSession, collection: str) -> list[Offender]:
    t, shape = session.target, session.shape
    ec, et = shape.emb_collection(), shape.emb_tenant()
    cc, ct = shape.chunk_collection(), shape.chunk_tenant()
    wrong = []
    if ec is not None:
        wrong.append(sql.SQL("{} IS DISTINCT FROM {}").format(ec, cc))
    if et is not None:
        wrong.append(sql.SQL("{} IS DISTINCT FROM {}").format(et, ct))
    if not wrong:
        return []
    mine = sql.SQL("({cc} = %(collection)s{or_ec})").format(
        cc=cc, or_ec=sql.SQL(" OR {} = %(collection)s").format(ec) if ec is not None else sql.SQL(""))
    with session.read_only() as conn:
        # A row filed under another collection does not meet its chunk on the key and the collection (the search's
        # join, which the pass counted it without): joined on the key alone, unless the key names a chunk only within
        # its collection.
        frm = shape.search_from() if keyed_per_collection(conn, shape) else sql.SQL(
            "{e} AS e JOIN {c} AS c ON {k} = {id}").format(e=t.embedding_rows, c=t.chunk_table, k=shape.emb_key(),
                                                          id=t.chunk_id)
        query = sql.SQL("SELECT {id} AS id, {cc} AS collection, {ct} AS tenant, "
                        "'filed under collection ' || coalesce({ec}, '-') || ', tenant ' || coalesce({et}, '-') AS detail "
                        "FROM {frm} WHERE {mine} AND ({wrong}) ORDER BY 1 LIMIT {n}").format(
            id=t.chunk_id, cc=cc, ct=ct, ec=ec or NULL, et=et or NULL, frm=frm, mine=mine,
            wrong=sql.SQL(" OR ").join(wrong), n=sql.Literal(MAX_SHOWN))
        return [Offender(**r) for r in conn.execute(query, {"collection": collection}).fetchall()]


def leaks(session: CheckSession, collection: str, tenant: str) -> tuple[int, list[Offender]] | None:
    """Search as the tenant (filtered the way the app filters, in the tenant's own view under row-level security):
    (rows returned, those whose chunk belongs to someone else); None when no vector of the tenant could be searched
    with, so nothing was searched."""
    t, shape = session.target, session.shape
    tenant_col = shape.emb_tenant() or shape.chunk_tenant()
    # The tenant column's values may be numbers; database.tenants are the session's strings.
    views = {str(v): v for v in session.tenants if v is not None}
    view = views.get(str(tenant)) if session.per_tenant_rls else None
    with session.read_only(view) as conn:
        probe = conn.execute(sql.SQL("SELECT {v} AS v FROM {frm} WHERE {f} AND {tc} = %(tenant)s AND {v} IS NOT NULL "
                                     "AND {n} > 0 LIMIT 1").format(
            v=t.vector, frm=shape.search_from(), f=shape.emb_filter(), tc=tenant_col, n=shape.norm()),
            {"collection": collection, "tenant": tenant}).fetchone()
        if probe is None:
            return None
        rows = conn.execute(sql.SQL(
            "SELECT {id} AS id, {cc} AS collection, {ct} AS tenant FROM {frm} "
            "WHERE {f} AND {tc} = %(tenant)s ORDER BY {d} LIMIT {k}").format(
            id=t.chunk_id, cc=shape.chunk_collection(), ct=shape.chunk_tenant(), frm=shape.search_from(),
            f=shape.emb_filter(), tc=tenant_col, d=t.distance_to(sql.Placeholder("q")), k=sql.Literal(_K)),
            {"collection": collection, "tenant": tenant, "q": probe["v"]}).fetchall()
    return len(rows), [Offender(r["id"], r["collection"], r["tenant"], f"returned to tenant {tenant}")
                       for r in rows if r["tenant"] != tenant]


def tenant_isolation(session: CheckSession, collection: str) -> Outcome:
    st = session.stats(collection)
    offenders = misplaced_rows(session, collection) if st.misplaced else []
    searched: list[str] = []
    unsearched: list[str] = []  # tenants with rows but no vector visible to search with: nothing was tested for them
    returned = 0
    leaked: list[Offender] = []
    if session.profile.chunks.tenant:
        tenants = {tc.tenant for tc in st.tenants} | set(st.emb_tenants)
        for tenant in sorted(x for x in tenants if x is not None):
            found = leaks(session, collection, tenant)
            if found is None:
                unsearched.append(tenant)
                continue
            searched.append(tenant)
            returned += found[0]
            leaked += found[1]
    placement = session.shape.emb_collection() is not None or session.shape.emb_tenant() is not None
    if not placement and not searched and not unsearched:  # tenants with rows that went unsearched: unproven below
        # Nothing here can be misfiled or leak: a pass would claim a test that never ran.
        reason = ("the profile names no tenant column (chunks.tenant) and the embeddings carry no collection or "
                  "tenant of their own: nothing to isolate" if not session.profile.chunks.tenant
                  else "no tenant has a row in this collection: nothing to search as a tenant")
        return skipped("tenant_isolation", collection, reason)
    note = "" if session.profile.chunks.tenant else "the profile names no tenant column: collection placement only"
    total = st.misplaced + len(leaked)
    metrics = {"misplaced": st.misplaced, "leaked": len(leaked), "tenants_searched": searched,
               "tenants_not_searched": unsearched, "rows_returned": returned,
               "read": f"placement from {session.read_by_pass()}; {len(searched)} tenant searches (LIMIT {_K} each)"}
    if total == 0 and unsearched:
        return unproven("tenant_isolation", collection,
                        f"no search ran as tenants {unsearched}: none of their vectors was visible to search with",
                        expected="tenant-filtered search as every tenant with rows", metrics=metrics)
    # Searches ran as the tenants read one by one: a tenant left out of database.tenants was never searched.
    return session.partial("tenant_isolation", collection, verdict("tenant_isolation", collection, total == 0,
                   expected="every embedding in its chunk's collection and tenant; tenant-filtered search returns only that tenant's rows",
                   found=f"{st.misplaced} embeddings filed under another collection or tenant; "
                         f"{len(leaked)} foreign rows returned by searches as tenants {searched or 'none'}",
                   offenders=(offenders + leaked), total=total, note=note, metrics=metrics))
