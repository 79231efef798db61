"""An HNSW or IVFFlat index with the distance's operator class exists and the planner uses it."""

from harness.checks import index


def test_index(check_session, check_collection, check_outcome):
    check_outcome(index, check_session, check_collection)
