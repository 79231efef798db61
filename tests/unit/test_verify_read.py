"""verify's text output says, for each check, what it read (#12)."""

from harness.checks.outcome import Outcome, Status
from harness.steps.verify import VerifyResult


def test_the_text_output_names_what_each_check_read():
    read = "the shared pass: 300 rows of notes joined with note_vectors read once in one statement"
    checks = (Outcome("coverage", "c", Status.PASSED, metrics={"read": read}), Outcome("completed", "c", Status.SKIPPED,
                                                                                     note="no run"))
    lines = VerifyResult("c", "pytest", 0, 1.0, checks).text().splitlines()
    assert lines[1] == f"  [ok  ] coverage [c] (read: {read})"
    assert lines[2] == "  [skip] completed [c]: no run"
