"""A random sample re-embedded now matches the stored vectors (cosine >= 0.99)."""

from harness.checks import recompute


def test_recompute(check_session, check_collection, check_outcome):
    check_outcome(recompute, check_session, check_collection)
