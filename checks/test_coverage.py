"""Every chunk has a non-NULL vector, per collection and per tenant; no embedding outlives its chunk."""

from harness.checks import coverage


def test_coverage(check_session, check_collection, check_outcome):
    check_outcome(coverage, check_session, check_collection)
