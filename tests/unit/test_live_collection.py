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


OLD = {**FILLED, "other_model": 29}  # the live collection of the model the run --into NEW replaces


def test_a_document_the_application_adds_to_the_live_collection_during_the_run_keeps_it_ok():
    """Before: 3 chunks the application added meanwhile, embedded with the live (old) model, read as the live
    collection's vectors written again in place: every run against an application in use was not ok."""
    added = {**OLD, "chunks": 32, "embedded": 32, "other_model": 32}
    assert _into(OLD, added).problems == []


def test_a_document_the_application_deletes_from_the_live_collection_during_the_run_keeps_it_ok():
    deleted = {**OLD, "chunks": 26, "embedded": 26, "other_model": 26}
    assert _into(OLD, deleted).problems == []


def test_chunks_the_application_adds_without_a_vector_yet_during_the_run_keep_it_ok():
    """An application that embeds its new chunks after inserting them (a queue) has them without a vector a while."""
    queued = {**OLD, "chunks": 31, "missing": 2, "needed": 2}
    assert _into(OLD, queued).problems == []


def test_the_live_collections_vectors_re_embedded_in_place_beside_an_application_adding_chunks_is_not_ok():
    rewritten = {**OLD, "chunks": 31, "embedded": 31, "other_model": 2}
    assert not _into(OLD, rewritten).ok


def test_the_live_collections_vectors_deleted_beside_an_application_adding_chunks_is_not_ok():
    emptied = {**OLD, "chunks": 31, "embedded": 2, "other_model": 2, "missing": 29, "needed": 29}
    assert not _into(OLD, emptied).ok


def _in_place(others_before, others_after) -> RunEvidence:
    return RunEvidence("tenant_globex", "app-backfill", 0, "t0", "t1", 1.0, counts_before={**FILLED, "embedded": 0},
                       counts_after=FILLED, settings={"source_collection": "tenant_globex"},
                       others_before=others_before, others_after=others_after)


def test_a_collection_the_run_does_not_fill_with_more_chunks_without_a_vector_after_it_leaves_it_not_ok():
    evidence = _in_place({"missing": {"tenant_acme": 0, "tenant_globex": 29}},
                         {"missing": {"tenant_acme": 3, "tenant_globex": 0}})
    assert len(evidence.problems) == 1 and "tenant_acme has 3 more chunks without a vector" in evidence.problems[0]


def test_a_collection_whose_documents_were_deleted_or_that_appeared_meanwhile_keeps_the_run_ok():
    """Deleting whole documents takes their chunks with their vectors; a collection counted once was not left."""
    assert _in_place({"missing": {"tenant_acme": 2, "gone": 5}}, {"missing": {"tenant_acme": 1, "new": 4}}).ok


def test_other_collections_that_could_not_be_counted_leave_the_run_not_ok():
    evidence = _in_place({"missing": {"tenant_acme": 0}}, {"error": "connection refused"})
    assert evidence.problems == ["the other collections, which the run leaves as they are, unmeasured (connection refused)"]


def test_chunks_the_application_adds_without_a_vector_to_another_collection_during_the_run_keep_it_ok():
    """An application queueing new chunks of another collection (embedded later) while the command runs."""
    assert _in_place({"chunks": {"tenant_acme": 107}, "missing": {"tenant_acme": 0}},
                     {"chunks": {"tenant_acme": 110}, "missing": {"tenant_acme": 3}}).ok


def test_another_collections_vectors_deleted_beside_an_application_adding_chunks_is_not_ok():
    evidence = _in_place({"chunks": {"tenant_acme": 107}, "missing": {"tenant_acme": 0}},
                         {"chunks": {"tenant_acme": 110}, "missing": {"tenant_acme": 50}})
    assert len(evidence.problems) == 1 and "tenant_acme has 50 more chunks without a vector" in evidence.problems[0]
