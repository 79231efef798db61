"""Row-level security: is it on for the target's tables, does it apply to the connecting role, what do policies read?

Postgres decides per query whether RLS applies (``row_security_active``): an owner without
FORCE, a superuser and a BYPASSRLS role are exempt. When it applies, every count is what the
role can see, so a check that cannot set the policies' session settings cannot prove coverage.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import psycopg
from psycopg import sql

from . import db as dbmod
from .checks.outcome import PASS, Outcome, unproven, verdict
from .db import Conn, one
from .errors import HarnessError, RefusedError
from .profile import Profile
from .state import CollectionState, collection_state, require_collection
from .target import Target, _qualified

_SETTING = re.compile(r"current_setting\(\s*'([^']+)'")
T = TypeVar("T")


@dataclass(frozen=True)
class TableSecurity:
    table: str
    enabled: bool  # relrowsecurity
    forced: bool  # relforcerowsecurity
    applies: bool  # to the connecting role, now (row_security_active)
    role: str
    policies: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()  # current_setting(...) names the policies read
    readers: tuple[tuple[str, str | None], ...] = ()  # (setting, the function reading it; None: the policy itself)
    unseen: str = ""  # why the rows it shows cannot be read from here (a foreign table, a function's rows); '' if they can

    def unset(self, session: Mapping[str, str]) -> set[str]:
        """The settings the policies read that ``session`` leaves unset. A function reading several (Supabase's
        auth.uid(): the JWT's subject, else the subject inside the claims) is served by any one of them."""
        groups: dict[str, set[str]] = {}
        for name, via in self.readers or tuple((n, None) for n in self.settings):
            groups.setdefault(via or f"setting {name}", set()).add(name)
        return {n for names in groups.values() if not names & set(session) for n in names}

    def line(self) -> str:
        if self.unseen:
            return f"{self.table}: {self.unseen}, which cannot be read from here"
        if not self.enabled:
            return f"{self.table}: no row-level security"
        if not self.applies:
            return f"{self.table}: row-level security on, but role {self.role} is exempt (owner without FORCE, superuser or BYPASSRLS)"
        read = f", reading {', '.join(self.settings)}" if self.settings else ""
        return (f"{self.table}: row-level security applies to role {self.role} "
                f"(policies {', '.join(self.policies) or 'none: every row is hidden'}{read})")


def inspect(conn: Conn, profile: Profile) -> tuple[TableSecurity, ...]:
    """The chunk table's security, the embedding table's when it is a separate table, and the join table's that
    places chunks in collections (``chunks.collection_join``): a join row it hides takes its chunk out of a collection."""
    tables = [(profile.chunks.schema, profile.chunks.table)]
    if not profile.inline:
        tables.append((profile.embeddings.schema, profile.embeddings.table))
    if profile.chunks.collection_join is not None:
        tables.append((profile.chunks.collection_join.schema, profile.chunks.collection_join.table))
    out = []
    for schema, table in tables:
        named = _qualified(schema, table)
        for row in conn.execute(_READS, {"rel": named}).fetchall():
            readers = policy_settings(conn, _qualified(row["schema"], row["table"])) if row["kind"] != "function" else {}
            where = f" (read through view {schema}.{table})" if row["through"] else ""
            out.append(TableSecurity(f"{row['schema']}.{row['table']}{where}", row["enabled"], row["forced"],
                                     bool(row["applies"]), row["role"], tuple(row["policies"]),
                                     tuple(sorted(readers)), tuple(readers.items()), _UNSEEN.get(row["kind"], "")))
    return tuple(out)


# The named relation, then the tables a view reads (through views it reads), each with the role its rows are read
# as: the invoking role through a view with security_invoker, else the view's owner (pg_depend of the view's rewrite
# rule). A view with security_invoker over a table whose policies show a role only public rows was 'no row-level
# security': every count, the run and DONE covered the 6 public notes of 12. Whether RLS applies is one rule for both:
# Postgres's own answer for the connecting role, the same test spelled out for a view's owner. The option is stored as
# written ('TRUE', 't', 'on'): read as Postgres reads it, a boolean. A foreign table (postgres_fdw), named or read by a
# view, is one too: its relrowsecurity is never set, yet the remote table's policies decide which rows it shows. So is
# a set-returning function a view reads its rows from: the tables its body reads are no dependency of the view's rule
# (a view over `SELECT ... FROM visible_notes()` passed while the policies on notes hid 6 of 12).
_READS = """
WITH RECURSIVE reads(oid, as_role, through) AS (
  SELECT c.oid, (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user), false FROM pg_class c
  WHERE c.oid = to_regclass(%(rel)s)
  UNION
  SELECT d.refobjid, CASE WHEN coalesce((SELECT o.option_value::boolean FROM pg_options_to_table(v.reloptions) o
    WHERE o.option_name = 'security_invoker'), false) THEN r.as_role ELSE v.relowner END, true
  FROM reads r JOIN pg_class v ON v.oid = r.oid AND v.relkind = 'v' JOIN pg_rewrite w ON w.ev_class = v.oid
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid AND d.refclassid = 'pg_class'::regclass
   AND d.refobjid <> v.oid)
SELECT DISTINCT r.through, n.nspname AS schema, c.relname AS table, c.relrowsecurity AS enabled,
  c.relforcerowsecurity AS forced, a.rolname AS role, CASE WHEN a.rolname = current_user
  THEN row_security_active(c.oid) ELSE c.relrowsecurity AND NOT (a.rolsuper OR a.rolbypassrls)
  AND (c.relforcerowsecurity OR NOT pg_has_role(a.oid, c.relowner, 'USAGE')) END AS applies,
  ARRAY(SELECT p.polname::text FROM pg_policy p WHERE p.polrelid = c.oid ORDER BY 1) AS policies,
  CASE WHEN c.relkind = 'f' THEN 'foreign' ELSE 'table' END AS kind
FROM reads r JOIN pg_class c ON c.oid = r.oid AND (NOT r.through OR c.relkind IN ('r', 'p', 'f'))
JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_roles a ON a.oid = r.as_role
UNION
SELECT true, n.nspname, f.proname || '()', false, false, a.rolname, false, '{}'::text[], 'function'
FROM reads r JOIN pg_class v ON v.oid = r.oid AND v.relkind = 'v' JOIN pg_rewrite w ON w.ev_class = v.oid
JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid AND d.refclassid = 'pg_proc'::regclass
JOIN pg_proc f ON f.oid = d.refobjid AND f.proretset
JOIN pg_namespace n ON n.oid = f.pronamespace AND n.nspname NOT IN ('pg_catalog', 'information_schema')
JOIN pg_roles a ON a.oid = r.as_role ORDER BY 1, 2, 3
"""
_UNSEEN = {"foreign": "a foreign table, whose rows the remote server shows as its own row-level security and the user "
                      "mapping's role allow",
           "function": "a function the view reads its rows from, whose body reads tables the catalog does not link to "
                       "the view, under their own row-level security"}


def policy_settings(conn: Conn, table: str) -> dict[str, str | None]:
    """The ``current_setting(...)`` names the table's policies read, in the order they appear, each with the function
    that reads it (None: the policy itself). Followed one call deep: Supabase's policies read the caller through
    ``auth.uid()``, a function over ``request.jwt.claim.sub``, never the setting itself."""
    rows = conn.execute(
        "SELECT NULL::text AS via, coalesce(pg_get_expr(p.polqual, p.polrelid), '') || ' ' || "
        "coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') AS src, 0 AS o "
        "FROM pg_policy p WHERE p.polrelid = to_regclass(%s) "
        "UNION ALL "
        "SELECT DISTINCT f.oid::regprocedure::text, f.prosrc, 1 FROM pg_policy p "
        "JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid AND d.refclassid = 'pg_proc'::regclass "
        "JOIN pg_proc f ON f.oid = d.refobjid "
        "WHERE p.polrelid = to_regclass(%s) ORDER BY 3, 1",
        (table, table),
    ).fetchall()
    found: dict[str, str | None] = {}
    for row in rows:
        for m in _SETTING.finditer(row["src"] or ""):
            found.setdefault(m.group(1), row["via"])
    return found


def applies(securities: tuple[TableSecurity, ...]) -> bool:
    return any(s.applies for s in securities)


def unseen(securities: tuple[TableSecurity, ...]) -> bool:
    """Whether rows are read from something whose row-level security cannot be read here (a foreign table, a function
    a view reads), whose policies may hide rows unseen (``outcome``: unproven)."""
    return any(s.unseen for s in securities)


def outcome(securities: tuple[TableSecurity, ...], profile: Profile, collection: str | None) -> Outcome:
    """Passed when RLS hides no rows from this role or the profile sets the policies' session; failed when it hides
    rows and no session is set; unproven when the session misses a setting the policies read, or where what cannot be
    read here (``unseen``: a foreign table's remote policies, a function's tables) would otherwise be passed."""
    said = _outcome(securities, profile, collection)
    if said.status != PASS or not unseen(securities):
        return said
    lines = "; ".join(s.line() for s in securities if s.unseen)
    return unproven("row-level security", collection,
                    f"{lines}: every count may be only the rows their row-level security shows this role",
                    expected="tables whose row-level security can be read", found=said.found)


def _outcome(securities: tuple[TableSecurity, ...], profile: Profile, collection: str | None) -> Outcome:
    """``outcome`` of the tables' own row-level security, as read here."""
    found = "; ".join(s.line() for s in securities)
    session = profile.database.session
    if not applies(securities):
        return verdict("row-level security", collection, True, "every row visible to the connecting role", found)
    if session:
        unread = sorted({name for s in securities for name in s.unset(session)})
        if unread:
            return unproven("row-level security", collection,
                            f"{found}; the policies read {', '.join(unread)}, which database.session does not set; "
                            "counts would show only the rows this role can see",
                            expected="database.session to set every setting the policies read", found=found)
        how = "tenant by tenant" if profile.database.per_tenant else "in every transaction"
        return Outcome("row-level security", collection, PASS, "the policies' settings set in every transaction",
                       found, note=f"database.session sets {', '.join(session)} {how}")
    bare = [s for s in securities if s.applies and not s.policies]
    if bare:
        # No policy: Postgres hides every row from a role row-level security applies to, whatever a session sets.
        return verdict("row-level security", collection, False,
                       "a role exempt from row-level security", found,
                       note=(f"row-level security on {', '.join(s.table for s in bare)} has no policy, so it hides "
                             f"every row from role {bare[0].role} whatever a session sets; expected a role exempt "
                             "from it: the table's owner, or a BYPASSRLS role (Supabase's service_role)"))
    wanted = sorted({name for s in securities for name in s.settings}) or ["the setting your policies read"]
    # Failed, not unproven: every count scope shows and every row the engine selects would be only what the
    # policies let this role see. The checks, which cannot refuse, say "unproven" with the same reason.
    return verdict("row-level security", collection, False,
                   "database.session for the policies, or a role exempt from row-level security", found,
                   note=(f"no database.session is set, so counts are only the rows this role can see; expected "
                         f"database.session: {{{wanted[0]}: \"{{tenant}}\"}} (with database.tenants) or a role "
                         "exempt from RLS"))


# -- reading as the policies allow: one session per tenant -------------------------------------------------------

def tenants(conn: Conn, profile: Profile) -> list[str | None]:
    """The tenants to go through one by one ([None]: one pass, when no session setting uses {tenant}; the first
    alone where every tenant's view is the whole table)."""
    db = profile.database
    if not db.per_tenant:
        return [None]
    if db.tenants:
        listed: list[str | None] = list(db.tenants)
        return listed[:1] if _one_view(conn, profile) else listed
    ch = profile.chunks
    if not ch.tenant:
        raise RefusedError("profile key 'database.session' uses {tenant} but names no tenants; expected "
                           "database.tenants: [...] or chunks.tenant (the column whose values are the tenants)")
    found = [r["t"] for r in conn.execute(sql.SQL("SELECT DISTINCT {}::text AS t FROM {} AS c WHERE {} IS NOT NULL ORDER BY 1").format(
        sql.Identifier("c", ch.tenant), Target(profile).chunk_table, sql.Identifier("c", ch.tenant))).fetchall()]
    if not found:
        raise RefusedError(f"profile key 'database.session' uses {{tenant}} but this role sees no {ch.table}.{ch.tenant} "
                           "values (row-level security hides them); expected database.tenants: [...] listing the tenants")
    return found[:1] if _one_view(conn, profile) else found


def _one_view(conn: Conn, profile: Profile) -> bool:
    """Every tenant's session shows the whole of both tables: plain tables that row-level security filters nothing
    in for this role (owner without FORCE, superuser, BYPASSRLS); read view by view, each row would count (and be
    copied) once per tenant. A view may read the session's settings itself, so it never counts as one."""
    if applies(inspect(conn, profile)):
        return False
    tables = [_qualified(profile.chunks.schema, profile.chunks.table)]
    if not profile.inline:
        tables.append(_qualified(profile.embeddings.schema, profile.embeddings.table))
    return bool(one(conn.execute("SELECT coalesce(bool_and(relkind IN ('r', 'p')), false) AS plain FROM pg_class "
                                 "WHERE oid IN (SELECT to_regclass(t) FROM unnest(%s::text[]) AS t)",
                                 (tables,)).fetchone())["plain"])


def scope(conn: Conn, profile: Profile, tenant: str | None) -> AbstractContextManager[Conn]:
    return dbmod.scoped(conn, profile.database.session, tenant)


def views(conn: Conn, profile: Profile, tenants: list[str | None]) -> Iterator[Conn]:
    """``conn`` in each tenant's view in turn (the views ``across`` adds up), for reads that are not a name -> count."""
    for tenant in tenants:
        with scope(conn, profile, tenant):
            yield conn


def across(conn: Conn, profile: Profile, tenants: list[str | None], read) -> dict[str, Any]:
    """``read()`` (a name -> count mapping, or a name -> such mapping) in each tenant's view, added up."""
    total: dict[str, Any] = {}
    for tenant in tenants:
        with scope(conn, profile, tenant):
            _add(total, read())
    return total


def _add(total: dict[str, Any], counts: Mapping[str, Any]) -> None:
    for name, n in counts.items():
        if isinstance(n, Mapping):
            _add(total.setdefault(name, {}), n)
        else:
            total[name] = total.get(name, 0) + n


def visible_state(conn: Conn, target: Target, collection: str, model: str, tenants: list[str | None],
                  dims: int | None = None) -> CollectionState:
    """The collection's state as the sum over the tenants' views (one view without row-level-security settings);
    ``dims``: also count the vectors of another dimension (a column declared without one)."""
    states = []
    for tenant in tenants:
        with scope(conn, target.profile, tenant):
            states.append(collection_state(conn, target, collection, model, dims))
    if len(states) == 1:
        return states[0]

    def total(name: str) -> int | None:
        values = [getattr(s, name) for s in states]
        return None if any(v is None for v in values) else sum(values)

    counts: dict[str, Any] = {n: total(n) for n in ("chunks", "embedded", "missing", "stale", "other_model", "needed",
                                                   "other_dims", "no_text", "untimed", "zero", "degenerate",
                                                   "duplicates", "misfiled", "unnamed")}
    return CollectionState(collection=collection, **counts, beside=states[0].beside)


def visible_count(conn: Conn, target: Target, collection: str, tenants: list[str | None]) -> int:
    total = 0
    for tenant in tenants:
        with scope(conn, target.profile, tenant):
            total += chunk_count(conn, target, collection)
    return total


def require_visible(conn: Conn, target: Target, collection: str, tenants: list[str | None]) -> None:
    """require_collection, passed when any tenant's view holds the collection."""
    problem: Exception | None = None
    for tenant in tenants:
        try:
            with scope(conn, target.profile, tenant):
                require_collection(conn, target, collection)
            return
        except HarnessError as exc:
            problem = exc
    raise cast(HarnessError, problem)  # callers pass at least one tenant (None: no RLS)



# -- whether the tenants' views, added up, are the whole collection ---------------------------------------------------

COMPLETENESS = "tenant coverage"


def bypass_role(conn: Conn, profile: Profile) -> str | None:
    """A role this session may SET ROLE to that row-level security on the chunk table does not apply to (a
    superuser, a BYPASSRLS role, or the table's owner without FORCE), if it has one; None otherwise."""
    return exempt_role(conn, _qualified(profile.chunks.schema, profile.chunks.table))


def exempt_everywhere(conn: Conn) -> bool:
    """Whether row-level security applies to the connecting role on no table (a superuser or a BYPASSRLS role)."""
    row = conn.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user").fetchone()
    return bool(row and (row[0] if not isinstance(row, dict) else next(iter(row.values()))))


def exempt_role(conn: Conn, table: str | None = None) -> str | None:
    """A role this session may SET ROLE to that row-level security does not apply to: a superuser or BYPASSRLS role
    (on every table), or ``table``'s owner where it does not FORCE it; None where it may become no such role."""
    row = conn.execute(
        "SELECT r.rolname FROM pg_roles r WHERE r.rolname <> current_user "
        "AND pg_has_role(current_user, r.oid, 'MEMBER') AND (r.rolsuper OR r.rolbypassrls OR r.oid = "
        "(SELECT relowner FROM pg_class WHERE oid = to_regclass(%s) AND NOT relforcerowsecurity)) "
        "ORDER BY r.rolsuper, r.rolname LIMIT 1", (table,)).fetchone()
    if row is None:
        return None
    return row["rolname"] if isinstance(row, dict) else row[0]


def completeness(conn: Conn, target: Target, collection: str, tenants: list[str | None]) -> Outcome | None:
    """Whether the tenants' views (``database.session`` per tenant) add up to every chunk of ``collection``: rows of
    a tenant not listed are invisible to a role row-level security applies to. Counted as a role exempt from it
    when this session may become one; else unproven, saying it cannot be measured. None where no tenant-by-tenant
    reading hides anything (no RLS applying, or no database.session). A fixed database.session (no {tenant}) is one
    view, ``tenants`` [None]: its rows are what the policies show for those settings, and another tenant's are hidden
    as surely as an unlisted tenant's."""
    profile = target.profile
    if not profile.database.session or not applies(inspect(conn, profile)):
        return None
    visible = visible_count(conn, target, collection, tenants)
    if profile.database.per_tenant:
        listed = f"{', '.join(str(t) for t in tenants)}" + (" (database.tenants)" if profile.database.tenants
                                                           else f" (the {profile.chunks.tenant} values this role sees)")
        through, read, remedy = (f"tenants {listed}", f"tenants it reads one by one ({listed}",
                                 "database.tenants to list every tenant")
    else:
        listed = f"the one view database.session sets ({', '.join(profile.database.session)})"
        through, read, remedy = (listed, listed[len("the "):].replace(" (", " (for ", 1),
                                 "database.session to read tenant by tenant ({tenant}) with database.tenants listing "
                                 "every tenant")
    role = bypass_role(conn, profile)
    total = None
    if role is not None:
        # None where the exempt role may not read the table: then it cannot be measured.
        total = counted_as(conn, role, lambda: chunk_count(conn, target, collection))
    expected = "the tenants read one by one to show every chunk of the collection"
    if total is None:
        return unproven(COMPLETENESS, collection,
                        f"coverage is partial or unknown: row-level security shows this role only the rows of the "
                        f"{read}: {visible} chunks of {collection}); rows of any "
                        "tenant not listed are invisible, and how many there are cannot be measured: the role can "
                        "become no role exempt from row-level security (BYPASSRLS, superuser, or the owner without "
                        f"FORCE); expected {remedy} and such a role granted to count them",
                        expected=expected, found=f"{visible} chunks visible; total not measurable",
                        metrics={"visible": visible, "total": None, "hidden": None})
    found = f"{visible} of {total} chunks of {collection} visible through {through} (counted as role {role})"
    if visible == total and not _each_row_once(conn, target, collection, tenants, cast(str, role)):
        # As many rows counted twice (seen by two tenants) as a tenant not listed hides: equal counts, other rows.
        return unproven(COMPLETENESS, collection,
                        f"coverage is unknown: {found}, but not the same rows: the tenants' views overlap (a row "
                        "visible to more than one tenant is counted once per tenant) and hide as many rows as they "
                        "count twice, rows of tenants not listed that are neither counted nor checked; expected "
                        "database.tenants to list every tenant, under policies where each row belongs to one "
                        "tenant's view", expected=expected, found=found,
                        metrics={"visible": visible, "total": total, "hidden": None})
    if visible == total:
        # Every chunk is seen; an embedding row no listed tenant sees (a second vector, an orphan filed under another
        # tenant) is not: the checks cannot say one vector each, no orphan, over rows they never read.
        hidden = _hidden_embeddings(conn, target, collection, tenants, cast(str, role))
        if hidden is None:
            return unproven(COMPLETENESS, collection,
                            f"coverage is unknown: {found}, but role {role} may not read the embedding table, so "
                            "embedding rows of tenants not listed cannot be counted; expected it granted SELECT on it",
                            expected=expected, found=found,
                            metrics={"visible": visible, "total": total, "hidden": 0, "hidden_embeddings": None})
        if hidden:
            return unproven(COMPLETENESS, collection,
                            f"coverage is partial: {found}, but {hidden} embedding rows belong to tenants not listed, "
                            f"so they are neither counted nor checked; expected {remedy}",
                            expected=expected, found=f"{found}; {hidden} embedding rows hidden",
                            metrics={"visible": visible, "total": total, "hidden": 0, "hidden_embeddings": hidden})
        # Filed under another tenant than its chunk's: the chunk's tenant cannot see the row and the other tenant
        # cannot see the chunk, so no view pairs them and every count missed it (the chunk looked embedded by its own).
        elsewhere = hidden_misfiled(conn, target, collection, tenants, cast(str, role))
        if elsewhere is None:
            return unproven(COMPLETENESS, collection,
                            f"coverage is unknown: {found}, but role {role} may not read the chunks with their "
                            "embedding rows, so rows filed under another tenant than their chunk's cannot be counted; "
                            "expected it granted SELECT on both tables", expected=expected, found=found,
                            metrics={"visible": visible, "total": total, "hidden": 0, "misfiled_unseen": None})
        if elsewhere:
            n = sum(elsewhere.values())
            return unproven(COMPLETENESS, collection,
                            f"coverage is unknown: {found}, but {n} embedding rows of its chunks are filed under "
                            "another tenant than their chunk's, where the chunk's own tenant's view cannot see them, "
                            f"so no tenant's counts pair them with their chunk (counted as role {role}); expected each "
                            "vector filed under its chunk's tenant (backfill deletes such rows in the view of the tenant "
                            "they are filed under)", expected=expected, found=f"{found}; {n} rows filed under another "
                            "tenant, unseen by their chunk's", metrics={"visible": visible, "total": total, "hidden": 0,
                                                                       "misfiled_unseen": n})
        return verdict(COMPLETENESS, collection, True, expected, found,
                       metrics={"visible": visible, "total": total, "hidden": 0})
    if visible > total:
        # Rows visible in several views are counted once per view: the excess could hide a tenant not listed.
        return unproven(COMPLETENESS, collection,
                        f"coverage is unknown: {found}; the tenants' views overlap ({visible - total} more chunks "
                        "counted than the collection holds: rows visible to more than one tenant are counted once per "
                        "tenant), so their sum neither counts each row once nor shows whether a tenant not listed "
                        "hides rows; expected policies under which each row belongs to one tenant's view",
                        expected=expected, found=found, metrics={"visible": visible, "total": total, "hidden": None})
    return unproven(COMPLETENESS, collection,
                    f"coverage is partial: {found}; {total - visible} rows belong to tenants not listed, so they are "
                    f"neither counted nor checked; expected {remedy}",
                    expected=expected, found=found, metrics={"visible": visible, "total": total, "hidden": total - visible})


def _hidden_embeddings(conn: Conn, target: Target, collection: str, tenants: list[str | None], role: str) -> int | None:
    """Embedding rows of the collection (of the whole table where it has no collection column) that the tenants'
    views do not show, counted as the exempt ``role``; 0 for an inline vector (its row is the chunk's); None when the
    exempt role may not read them."""
    if target.inline:
        return 0
    filed = target.collection_of_embedding()
    query = sql.SQL("SELECT count(*) AS n FROM {} AS e WHERE {}").format(
        target.embedding_rows, sql.SQL("{} = %(collection)s").format(filed) if filed is not None else sql.SQL("true"))
    visible = 0
    for tenant in tenants:
        with scope(conn, target.profile, tenant):
            visible += int(one(conn.execute(query, {"collection": collection}).fetchone())["n"])
    total = counted_as(conn, role, lambda: int(one(conn.execute(query, {"collection": collection}).fetchone())["n"]))
    return None if total is None else max(total - visible, 0)


MisfiledRow = tuple[str, str | None, str | None]  # the chunk's key, the tenant the row is filed under, its collection


def _misfiled_rows(conn: Conn, target: Target, collection: str) -> dict[MisfiledRow, int]:
    """The embedding rows of the collection's chunks with a text filed under another tenant than their chunk's
    (``Target.other_tenant``) that this view shows with their chunk, how many of each (key, filed tenant, collection)."""
    em = target.profile.embeddings
    coll = sql.SQL("{}::text").format(target.e(em.collection)) if em.collection else sql.SQL("NULL::text")
    query = sql.SQL("SELECT {id}::text AS k, {tenant}::text AS filed, {coll} AS coll, count(*) AS n FROM {join} "
                    "WHERE {where} AND NOT {empty} AND {key} IS NOT NULL AND {elsewhere} GROUP BY 1, 2, 3").format(
        id=target.chunk_id, tenant=target.e(cast(str, em.tenant)), coll=coll, join=target.join(),
        where=target.chunk_filter(), empty=target.no_text, key=target.e(cast(str, em.key)),
        elsewhere=target.other_tenant())
    return {(r["k"], r["filed"], r["coll"]): int(r["n"])
            for r in conn.execute(query, {"collection": collection}).fetchall()}


def hidden_misfiled(conn: Conn, target: Target, collection: str, tenants: list[str | None],
                    role: str) -> dict[MisfiledRow, int] | None:
    """The embedding rows filed under another tenant than their chunk's that no tenant's view shows with their chunk,
    read as the exempt ``role``; {} where no column tells the tenants apart, None where that role may not read them."""
    if target.other_tenant() is None:
        return {}
    seen: set[MisfiledRow] = set()
    for tenant in tenants:
        with scope(conn, target.profile, tenant):
            seen.update(_misfiled_rows(conn, target, collection))
    whole = counted_as(conn, role, lambda: _misfiled_rows(conn, target, collection))
    return None if whole is None else {row: n for row, n in whole.items() if row not in seen}


def become(conn: Conn, role: str) -> None:
    """Read as ``role`` (one exempt from row-level security) until the current transaction ends."""
    conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))


def counted_as(conn: Conn, role: str, count: Callable[[], T]) -> T | None:
    """``count()`` read as ``role`` in a transaction of its own; None where that role may not read what it counts."""
    try:
        # Rolled back, not committed: a savepoint's release would keep SET LOCAL ROLE for the outer transaction.
        with conn.transaction(force_rollback=True):
            become(conn, role)
            return count()
    except psycopg.Error:
        return None


def _each_row_once(conn: Conn, target: Target, collection: str, tenants: list[str | None], role: str) -> bool:
    """Whether the tenants' views hold the collection's rows once each: the sums of their keys' hashes add up to the
    whole table's, counted as ``role`` (True where it cannot be read: the counts alone are then the evidence)."""
    seen = 0
    for tenant in tenants:
        with scope(conn, target.profile, tenant):
            seen += _keys_digest(conn, target, collection)
    whole = counted_as(conn, role, lambda: _keys_digest(conn, target, collection))
    return whole is None or whole == seen


def _keys_digest(conn: Conn, target: Target, collection: str) -> int:
    return int(one(conn.execute(sql.SQL("SELECT coalesce(sum(hashtextextended({}::text, 0)), 0)::text AS d FROM {} AS c "
                                        "WHERE {}").format(target.chunk_id, target.chunk_table, target.chunk_filter()),
                                {"collection": collection}).fetchone())["d"])


def chunk_count(conn: Conn, target: Target, collection: str) -> int:
    return int(one(conn.execute(sql.SQL("SELECT count(*) AS n FROM {} AS c WHERE {}").format(target.chunk_table, target.chunk_filter()),
                            {"collection": collection}).fetchone())["n"])
