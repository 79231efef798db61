"""Every vector was produced by the configured model (where the table keeps a model name)."""

from harness.checks import model


def test_model(check_session, check_collection, check_outcome):
    check_outcome(model, check_session, check_collection)
