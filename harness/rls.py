"""Row-level security: is it on for the target's tables, does it apply to the connecting role, what do policies read?

Postgres decides per query whether RLS applies (``row_security_active``): an owner without
FORCE, a superuser and a BYPASSRLS role are exempt. When it applies, every count is what the
role can see, so a check that cannot set the policies' session settings cannot prove coverage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg

from .checks.outcome import PASS, Outcome, unproven, verdict
from .profile import Profile
from .target import _qualified

_SETTING = re.compile(r"current_setting\(\s*'([^']+)'")


@dataclass(frozen=True)
class TableSecurity:
    table: str
    enabled: bool  # relrowsecurity
    forced: bool  # relforcerowsecurity
    applies: bool  # to the connecting role, now (row_security_active)
    role: str
    policies: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()  # current_setting(...) names the policies read

    def line(self) -> str:
        if not self.enabled:
            return f"{self.table}: no row-level security"
        if not self.applies:
            return f"{self.table}: row-level security on, but role {self.role} is exempt (owner without FORCE, superuser or BYPASSRLS)"
        read = f", reading {', '.join(self.settings)}" if self.settings else ""
        return (f"{self.table}: row-level security applies to role {self.role} "
                f"(policies {', '.join(self.policies) or 'none: every row is hidden'}{read})")


def inspect(conn: psycopg.Connection, profile: Profile) -> tuple[TableSecurity, ...]:
    """The chunk table's security, and the embedding table's when it is a separate table."""
    tables = [(profile.chunks.schema, profile.chunks.table)]
    if not profile.inline:
        tables.append((profile.embeddings.schema, profile.embeddings.table))
    out = []
    for schema, table in tables:
        row = conn.execute(
            "SELECT c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced, current_user AS role, "
            "row_security_active(c.oid) AS applies, "
            "ARRAY(SELECT p.polname::text FROM pg_policy p WHERE p.polrelid = c.oid ORDER BY 1) AS policies, "
            "ARRAY(SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || ' ' || "
            "coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') FROM pg_policy p WHERE p.polrelid = c.oid) AS exprs "
            "FROM pg_class c WHERE c.oid = to_regclass(%s)",
            (_qualified(schema, table),),
        ).fetchone()
        if row is None:
            continue
        settings = sorted({m.group(1) for e in row["exprs"] for m in _SETTING.finditer(e)})
        out.append(TableSecurity(f"{schema}.{table}", row["enabled"], row["forced"], bool(row["applies"]), row["role"],
                                 tuple(row["policies"]), tuple(settings)))
    return tuple(out)


def applies(securities: tuple[TableSecurity, ...]) -> bool:
    return any(s.applies for s in securities)


def outcome(securities: tuple[TableSecurity, ...], profile: Profile, collection: str | None) -> Outcome:
    """Passed when RLS does not hide rows from this role or the profile sets the policies' session; else unproven."""
    found = "; ".join(s.line() for s in securities)
    session = profile.database.session
    if not applies(securities):
        return verdict("row-level security", collection, True, "every row visible to the connecting role", found)
    if session:
        unread = sorted({name for s in securities for name in s.settings} - set(session))
        if unread:
            return unproven("row-level security", collection,
                            f"{found}; the policies read {', '.join(unread)}, which database.session does not set; "
                            "counts would show only the rows this role can see",
                            expected="database.session to set every setting the policies read", found=found)
        how = "tenant by tenant" if profile.database.per_tenant else "in every transaction"
        return Outcome("row-level security", collection, PASS, "the policies' settings set in every transaction",
                       found, note=f"database.session sets {', '.join(session)} {how}")
    wanted = sorted({name for s in securities for name in s.settings}) or ["the setting your policies read"]
    return unproven("row-level security", collection,
                    f"{found}; no database.session is set, so counts are only the rows this role can see; expected "
                    f"database.session: {{{wanted[0]}: \"{{tenant}}\"}} (with database.tenants) or a role exempt from RLS")
