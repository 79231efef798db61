"""No vector is stored on two rows whose texts differ (a copy, an off-by-one, one vector for all), on every row."""

from harness.checks import distinct_vectors


def test_distinct_vectors(check_session, check_collection, check_outcome):
    check_outcome(distinct_vectors, check_session, check_collection)
