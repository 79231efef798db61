"""Fixtures the integration tests share beyond tests/conftest.py."""

import pytest

from harness.embedserver import EmbeddingServer

from ..conftest import TEST_MODEL

NEW_MODEL = "hash-embed-v2:384"  # same dimension, another model name: a model change the column can hold


@pytest.fixture(scope="module")
def v2_server():
    """An embedding server that also answers for ``NEW_MODEL`` (an alias of the test model)."""
    with EmbeddingServer(models=[TEST_MODEL], aliases={NEW_MODEL: TEST_MODEL}) as server:
        yield server
