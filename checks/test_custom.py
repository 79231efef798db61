"""The profile's own SQL assertions (custom_checks: name, sql, expect), run read-only."""

from harness.checks import custom


def test_custom(check_session, check_custom, check_outcome):
    check_outcome(custom, check_session, check_custom)
