"""Every source row has chunks and none is still waiting in the library's queue (pgai); skipped without a source table."""

from harness.checks import source_coverage


def test_source_coverage(check_session, check_collection, check_outcome):
    check_outcome(source_coverage, check_session, check_collection)
