"""Every stored input hash equals the hash of the chunk's current text, computed inside Postgres."""

from harness.checks import fresh


def test_fresh(check_session, check_collection, check_outcome):
    check_outcome(fresh, check_session, check_collection)
