"""Stored vectors whose currency nothing measures (no hash column, no model column) are never said to need
nothing: plan and run say how many, and that verify's recompute measures them (mem0's memories table)."""

from harness.evidence import RunEvidence
from harness.state import unmeasured
from harness.steps.run import describe

NO_HASH_NO_MODEL = {"chunks": 21, "embedded": 21, "missing": 0, "stale": None, "other_model": None, "needed": 0}
MEASURED = {**NO_HASH_NO_MODEL, "stale": 0, "other_model": 0}


def test_vectors_are_unmeasured_where_staleness_or_model_is_unknown():
    assert unmeasured(NO_HASH_NO_MODEL) == 21
    assert unmeasured({**NO_HASH_NO_MODEL, "other_model": 0}) == 21
    assert unmeasured(MEASURED) is None


def test_a_run_with_nothing_missing_says_how_many_stored_vectors_no_count_can_call_current():
    evidence = RunEvidence("memories", "backfill", 0, "t0", "t1", 1.0, counts_before=NO_HASH_NO_MODEL,
                           counts_after=NO_HASH_NO_MODEL)
    text = describe(evidence)
    assert "21 stored vectors whether current unknown (no hash column, no model column)" in text, text
    assert "verify's recompute" in text
    measured = describe(RunEvidence("memories", "backfill", 0, "t0", "t1", 1.0, counts_after=MEASURED))
    assert "whether current unknown" not in measured


def test_plan_never_says_nothing_to_embed_of_vectors_it_cannot_call_current():
    from harness.steps.plan import risk_reason_when_quiet

    assert risk_reason_when_quiet({"to_embed": 0, "chunks": 21, "missing": 0, "current": None, "stale": None,
                                   "other_model": None}) != "nothing to embed"
    assert "21 stored vectors whether current unknown" in risk_reason_when_quiet(
        {"to_embed": 0, "chunks": 21, "missing": 0, "current": None, "stale": None, "other_model": None})
    assert risk_reason_when_quiet({"to_embed": 0, "chunks": 21, "missing": 0, "current": 21, "stale": 0,
                                   "other_model": 0}) == "nothing to embed"


def test_plan_promises_untouched_vectors_only_of_the_engine_never_of_the_targets_own_command():
    """A target's own command (cognee's cognify: an LLM pipeline that rewrites every collection) decides itself what
    it writes; only the engine is known to add the missing vectors and leave the rest as they are."""
    from harness.steps.plan import risk_reason_when_quiet

    rows = {"to_embed": 3, "chunks": 12, "missing": 3, "current": 9, "stale": 0, "other_model": 0}
    assert risk_reason_when_quiet(rows) == "only missing vectors are added; existing vectors are untouched"
    own = risk_reason_when_quiet(rows, engine=False)
    assert "untouched" not in own and own.startswith("3 rows need a vector; what else the target's own command "
                                                     "writes is its own and not known before it runs"), own


def test_plan_raises_the_risk_of_a_command_that_may_call_a_language_model_and_says_why():
    """scope's unproven `command needs only the embedder` (cognify reads LLM_*) is the plan's risk too: it may not
    run here at all."""
    from types import SimpleNamespace

    from harness.checks.outcome import unproven
    from harness.steps.common import BackfillCommand
    from harness.steps.plan import risk_of

    note = "it reads a language model's settings (LLM_MODEL): besides embedding it may call that model"
    scope = SimpleNamespace(approve_model_change=False, dimensions={"profile": 768},
                            checks=(unproven("command needs only the embedder", "c", note),))
    rows = {"to_embed": 3, "chunks": 12, "missing": 3, "current": 9, "stale": 0, "other_model": 0}
    estimate = SimpleNamespace(seconds=1.0, human="1 s")
    risk = risk_of(scope, rows, estimate, BackfillCommand("python cognify_all.py", "profile backfill.command"))
    assert risk.level == "medium" and risk.reasons == (note,), risk


def test_scope_ok_says_how_many_stored_vectors_no_count_can_call_current():
    from harness.steps.scope import ok_line

    assert "21 stored vectors whether current unknown (no hash column, no model column)" in ok_line(
        NO_HASH_NO_MODEL, "memories")
    assert ok_line(MEASURED, "memories") == "Scope ok: 0 rows to embed into memories."


def test_chunks_without_text_are_no_stored_vectors_of_unknown_currency():
    """A chunk with neither text nor vector (counts.no_text) is neither to embed nor a stored vector."""
    assert unmeasured({"chunks": 12, "needed": 2, "no_text": 2, "stale": None, "other_model": None}) == 8


def test_plan_never_says_the_targets_own_command_re_embeds_none_of_the_unmeasured_vectors():
    """Haystack's indexing script re-embeds every document it reads (DuplicatePolicy.OVERWRITE): of a target's own
    command the plan cannot say which stored vectors a run re-embeds; of the engine it can (none it does not count)."""
    from harness.steps.plan import risk_reason_when_quiet

    rows = {"to_embed": 3, "chunks": 12, "missing": 3, "current": None, "stale": None, "other_model": None}
    command = risk_reason_when_quiet(rows, engine=False)
    assert "9 stored vectors whether current unknown" in command and "re-embeds none" not in command, command
    assert "a run re-embeds none of them" in risk_reason_when_quiet(rows, engine=True)
