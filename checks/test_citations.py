"""Spot queries return rows that cite their source, with the expected source in the top k."""

from harness.checks import citations


def test_citations(check_session, check_collection, check_outcome):
    check_outcome(citations, check_session, check_collection)
