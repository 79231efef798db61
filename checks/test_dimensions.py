"""The vector column's declared dimension equals the profile's and the model's real dimension."""

from harness.checks import dimensions


def test_dimensions(check_session, check_collection, check_outcome):
    check_outcome(dimensions, check_session, check_collection)
