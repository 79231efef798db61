"""The last recorded backfill run of the collection ended with exit code 0 and no failed rows."""

from harness.checks import completed


def test_completed(check_session, check_collection, check_outcome):
    check_outcome(completed, check_session, check_collection)
