"""With --bh-collection all: the chunks in no collection, which no collection's check reads, are unproven in numbers
(where there are none, the plugin deselects this test: nothing is added)."""

from harness.checks import no_collection


def test_no_collection(check_no_collection, check_outcome):
    check_outcome(no_collection, check_no_collection)
