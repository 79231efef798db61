"""When two model names are one Ollama model: a name fills in Ollama's defaults (registry.ollama.ai, library, latest)."""

import pytest

from harness.model_names import same_model


@pytest.mark.parametrize("a, b", [("nomic-embed-text", "nomic-embed-text:latest"),
                                  ("nomic-embed-text", "library/nomic-embed-text"),
                                  ("nomic-embed-text", "registry.ollama.ai/library/nomic-embed-text:latest"),
                                  ("jina/jina-embeddings-v2-base-en", "registry.ollama.ai/jina/jina-embeddings-v2-base-en:latest"),
                                  ("hash-embed:384 ", "hash-embed:384"), ("\tnomic-embed-text\n", "nomic-embed-text:latest")])
def test_a_name_and_its_spelling_with_ollamas_defaults_are_one_model(a, b):
    """`ollama pull registry.ollama.ai/library/nomic-embed-text:latest` and `ollama pull nomic-embed-text` fetch the
    same weights: the names were two models, a switch of every stored vector."""
    assert same_model(a, b) and same_model(b, a)


@pytest.mark.parametrize("a, b", [("bge-m3", "bge-m3:567m"), ("jina/embed", "embed"), ("host:5000/x", "x"),
                                  ("hf.co/user/embed", "user/embed")])
def test_names_of_another_tag_namespace_or_registry_are_other_models(a, b):
    assert not same_model(a, b)
