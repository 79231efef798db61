"""The procedure's verify line says every check's status: an unproven check is never left out of an ok verify."""

from harness.checks.outcome import Outcome, Status
from harness.steps.verify import VerifyResult


def test_an_ok_verify_with_unproven_checks_says_how_many_and_what_covers_them():
    checks = (Outcome("coverage", "memories", Status.PASSED), Outcome("recompute", "memories", Status.PASSED,
                                                                  metrics={"bound": 0.00997, "max_bad_fraction": 0.01}),
              Outcome("fresh", "memories", Status.UNPROVEN, note="no input-hash column"),
              Outcome("source_coverage", "memories", Status.SKIPPED, note="no source table"))
    result = VerifyResult("memories", "pytest", 0, 1.0, checks)
    assert result.tally() == "2 passed, 1 skipped, 1 unproven (covered by recompute's bound: fresh [memories])"
    plain = VerifyResult("memories", "pytest", 0, 1.0, checks[:2])
    assert plain.tally() == "2 passed, 0 skipped"


def test_a_verify_where_no_check_ran_says_why_as_pytest_said_it():
    tail = "collected 0 items\nERROR: chunks.collection 'collection_ids[]' is an array ...; expected one --collection\n"
    result = VerifyResult("all", "pytest", 4, 1.0, (), output_tail=tail)
    assert result.reason == ("no DONE check ran (pytest exit code 4): chunks.collection 'collection_ids[]' is an array "
                             "...; expected one --collection")
    assert VerifyResult("all", "pytest", 4, 1.0, ()).reason == "no DONE check ran (pytest exit code 4)"
