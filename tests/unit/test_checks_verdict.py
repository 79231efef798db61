"""The DONE rule: nothing failed, something passed, every unproven claim covered by a passing recompute bound."""

from harness.checks.verdict import Claim, decide

BOUND = {"bound": "0.00997", "max_bad_fraction": "0.01"}


def test_fresh_unproven_is_covered_by_a_passing_recompute_of_the_same_collection():
    verdict = decide([Claim("coverage", "c", "passed"), Claim("fresh", "c", "unproven"),
                      Claim("recompute", "c", "passed", BOUND)])
    assert verdict.ok and [c.check for c in verdict.covered] == ["fresh"]


def test_an_unproven_recompute_covers_nothing():
    verdict = decide([Claim("coverage", "c", "passed"), Claim("fresh", "c", "unproven"),
                      Claim("recompute", "c", "unproven", {"bound": "0.139", "max_bad_fraction": "0.01"})])
    assert not verdict.ok and verdict.reason.startswith("unproven:")
    assert {c.check for c in verdict.uncovered} == {"fresh", "recompute"}


def test_a_skipped_recompute_leaves_freshness_unproven():
    verdict = decide([Claim("coverage", "c", "passed"), Claim("fresh", "c", "unproven"),
                      Claim("recompute", "c", "skipped")])
    assert not verdict.ok


def test_citations_that_no_search_could_miss_are_covered_by_a_passing_recompute():
    """A collection of fewer chunks than k: every search holds a match whatever the vectors, so citations proves
    nothing of them; recompute's bound is what does (a small collection was never DONE after citations said so)."""
    verdict = decide([Claim("coverage", "c", "passed"), Claim("citations", "c", "unproven", {"cannot_miss": "3"}),
                      Claim("recompute", "c", "passed", BOUND)])
    assert verdict.ok and [c.check for c in verdict.covered] == ["citations"]


def test_citations_unproven_for_another_reason_are_covered_by_nothing():
    verdict = decide([Claim("coverage", "c", "passed"), Claim("citations", "c", "unproven", {"queries": "3"}),
                      Claim("recompute", "c", "passed", BOUND)])
    assert not verdict.ok and [c.check for c in verdict.uncovered] == ["citations"]


def test_a_recompute_of_another_collection_covers_nothing():
    verdict = decide([Claim("fresh", "a", "unproven"), Claim("recompute", "b", "passed", BOUND)])
    assert not verdict.ok


def test_a_passing_recompute_whose_bound_exceeds_the_required_one_covers_nothing():
    verdict = decide([Claim("fresh", "c", "unproven"),
                      Claim("recompute", "c", "passed", {"bound": "0.05", "max_bad_fraction": "0.01"})])
    assert not verdict.ok


def test_any_failure_is_not_done_and_named():
    verdict = decide([Claim("coverage", "c", "failed", message="3 missing"), Claim("recompute", "c", "passed", BOUND)])
    assert not verdict.ok and verdict.reason == "coverage: 3 missing"


def test_nothing_passed_is_not_done():
    assert not decide([Claim("index", "c", "skipped")]).ok


def test_a_check_expected_and_not_run_is_not_done_naming_it():
    verdict = decide([Claim("coverage", "c", "passed")], expected=[("coverage", "c"), ("fresh", "c"), ("index", "c")])
    assert not verdict.ok and verdict.reason == "not run: fresh [c], index [c]"


def test_every_check_expected_run_and_passed_is_done():
    verdict = decide([Claim("coverage", "c", "passed"), Claim("custom url", None, "passed")],
                     expected=[("coverage", "c"), ("custom url", None)])
    assert verdict.ok, verdict.reason


def test_a_passing_recompute_that_states_no_bound_covers_nothing():
    """A claim read back without its bound (a checks file that records no figures) proves no fraction at all."""
    verdict = decide([Claim("coverage", "c", "passed"), Claim("fresh", "c", "unproven"),
                      Claim("recompute", "c", "passed")])
    assert not verdict.ok and [c.check for c in verdict.uncovered] == ["fresh"]
