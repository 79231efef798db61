"""Custom checks: the profile's own SQL assertions (name, sql, expect), run read-only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..errors import ConfigError, DatabaseError
from ..profile import CustomCheck
from .outcome import Outcome, unproven, verdict
from .session import CheckSession

COLLECTION_PARAM = "%(collection)s"


def find(session: CheckSession, name: str) -> CustomCheck:
    for check in session.profile.custom_checks:
        if check.name == name:
            return check
    raise ConfigError(f"custom check {name!r} is not in the profile; known: {[c.name for c in session.profile.custom_checks]}")


def same(found: Any, expect: Any) -> bool:
    """Equal as values, or as text for a YAML value compared with a database value of another type. A boolean equals
    no number (Python's True == 1 passed a count of one offending row as 'expect: true')."""
    if isinstance(found, bool) != isinstance(expect, bool):
        other = expect if isinstance(found, bool) else found
        if isinstance(other, (int, float, Decimal)):
            return False
    if found == expect:
        return True
    if isinstance(found, (int, float, Decimal)) and isinstance(expect, (int, float)) and not isinstance(expect, bool):
        return Decimal(str(found)) == Decimal(str(expect))
    return str(found).strip().lower() == str(expect).strip().lower()


def custom(session: CheckSession, name: str) -> Outcome:
    """Run one custom check (once per collection when its SQL uses %(collection)s)."""
    check = find(session, name)
    per_collection = COLLECTION_PARAM in check.sql
    exempt = None
    if session.per_tenant_rls:
        # The profile's SQL asks once, in no tenant's view, where the policies show no row at all (a count of bad
        # rows is 0 whatever the table holds): it runs as a role that sees every row, or proves nothing.
        from .. import rls

        with session.read_only() as conn:
            exempt = rls.bypass_role(conn, session.profile)
        if exempt is None:
            return unproven(f"custom {name}", None,
                            "row-level security is read tenant by tenant, and outside a tenant's view the policies "
                            "show no row; this role can become no role exempt from it (BYPASSRLS, superuser, or the "
                            "owner without FORCE) to run the check over every row; expected such a role granted to it")
    results: list[str] = []
    ok = True
    for collection in (session.collections if per_collection else [None]):
        try:
            with session.read_only() as conn:
                if exempt is not None:  # until this read-only transaction ends
                    rls.become(conn, exempt)
                # prepare=True sends one statement by the extended protocol: "COMMIT; DELETE ..." cannot run.
                row = conn.execute(check.sql, {"collection": collection} if per_collection else None,
                                   prepare=True).fetchone()
        except DatabaseError as exc:  # session.read_only() translates psycopg's errors
            ok = False
            results.append(f"error: {str(exc).strip().splitlines()[0]}")
            continue
        value = None if row is None else next(iter(row.values()), None)
        good = row is not None and same(value, check.expect)
        ok = ok and good
        where = f"{collection}: " if collection else ""
        results.append(f"{where}{'no row' if row is None else repr(value)}")
    measured = verdict(f"custom {name}", None, ok, expected=f"{check.sql.strip()!r} returns {check.expect!r}",
                       found="; ".join(results), metrics={"results": results, **({"read_as": exempt} if exempt else {})})
    # Under row-level security with no database.session the SQL saw only this role's rows: a pass is unproven.
    return measured if exempt else session.partial(f"custom {name}", None, measured)
