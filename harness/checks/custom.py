"""Custom checks: the profile's own SQL assertions (name, sql, expect), run read-only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from psycopg.rows import tuple_row

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
                # Tuples: two columns of one name (two count(*)s) are one key of a dict row.
                with conn.cursor(row_factory=tuple_row) as cur:
                    rows = cur.execute(check.sql, {"collection": collection} if per_collection else None,
                                       prepare=True).fetchmany(2)
        except DatabaseError as exc:  # session.read_only() translates psycopg's errors
            ok = False
            results.append(f"error: {str(exc).strip().splitlines()[0]}")
            continue
        where = f"{collection}: " if collection else ""
        values = [list(r) for r in rows]
        if len(values) > 1 or (values and len(values[0]) != 1):
            # Only the first value was compared: a value per group, UNION part or column passed on its first alone.
            ok = False
            shown = "2 or more rows" if len(values) > 1 else f"{len(values[0])} values in its row"
            results.append(f"{where}{shown} (first {values[0]!r}): expected one row of one value")
            continue
        value = values[0][0] if values else None
        good = bool(values) and same(value, check.expect)
        ok = ok and good
        results.append(f"{where}{'no row' if not values else repr(value)}")
    measured = verdict(f"custom {name}", None, ok, expected=f"{check.sql.strip()!r} returns {check.expect!r}",
                       found="; ".join(results), metrics={"results": results, **({"read_as": exempt} if exempt else {})})
    # Under row-level security with no database.session the SQL saw only this role's rows: a pass is unproven.
    return measured if exempt else session.partial(f"custom {name}", None, measured)
