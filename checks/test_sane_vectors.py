"""No all-zero vectors and no non-finite values."""

from harness.checks import sane_vectors


def test_sane_vectors(check_session, check_collection, check_outcome):
    check_outcome(sane_vectors, check_session, check_collection)
