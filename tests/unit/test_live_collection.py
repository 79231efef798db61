"""A run --into NEW leaves the live collection as it is until swap: counted before and after, a change there (or a
count that failed) is a problem of the run, whatever NEW's closing count says."""

from harness.evidence import RunEvidence

FILLED = {"chunks": 29, "embedded": 29, "missing": 0, "stale": 0, "other_model": 0, "needed": 0}


def _into(live_before, live_after) -> RunEvidence:
    return RunEvidence("tenant_globex_v2", "backfill", 0, "t0", "t1", 1.0, counts_before={**FILLED, "embedded": 0},
                       counts_after=FILLED, settings={"source_collection": "tenant_globex"},
                       live_before=live_before, live_after=live_after)


def test_a_live_collection_left_as_it_was_keeps_the_run_ok():
    assert _into(FILLED, FILLED).ok


def test_a_live_collection_that_could_not_be_counted_after_the_run_leaves_it_not_ok():
    """Before: a count of the live collection that failed read as one that found nothing changed."""
    evidence = _into(FILLED, {"error": "connection refused"})
    assert not evidence.ok
    assert evidence.problems == ["the live collection tenant_globex left as it was unmeasured (connection refused)"]
