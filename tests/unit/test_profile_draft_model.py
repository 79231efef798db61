"""The model a draft takes from the entrypoint's contract is a model's name, never a placeholder for an unknown one."""

from types import SimpleNamespace

from harness.locate.contract import Contract
from harness.profile_draft import contract_models


def test_an_in_process_embedder_whose_model_locate_cannot_read_names_no_model_for_the_draft():
    """PrivateGPT's entrypoint reaches HuggingFaceEmbedding(model_name=settings...) among its embedders: its model is
    unknown ("?") or a variable ("$NAME"), which the draft must not write as provider.model."""
    entrypoint = SimpleNamespace(contract=Contract(in_process_models=("?", "$EMBEDDING_MODEL_PATH")))
    assert contract_models(entrypoint) == ()


def test_an_in_process_embedders_literal_model_is_named_for_the_draft():
    entrypoint = SimpleNamespace(contract=Contract(in_process_models=("?", "./models/all-MiniLM-L6-v2")))
    assert contract_models(entrypoint) == ("./models/all-MiniLM-L6-v2",)
