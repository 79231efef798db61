"""The provider client against the real server: batches, dimensions, and errors it passes on."""

import pytest

from harness.errors import ProviderRejected, ProviderUnavailable
from harness.provider import OllamaProvider
from harness.stack import free_port


def test_embed_returns_one_vector_per_input(embed_server):
    with OllamaProvider(embed_server.url, "hash-embed:384") as provider:
        result = provider.embed(["a", "b", "c"])
    assert result.vectors.shape == (3, 384) and result.attempts == 1


def test_dimensions_come_from_show(embed_server):
    with OllamaProvider(embed_server.url, "hash-embed:768") as provider:
        assert provider.dimensions() == 768


def test_unknown_model_is_rejected_not_retried(embed_server):
    with OllamaProvider(embed_server.url, "nomic-embed-text", backoff_s=0) as provider:
        assert not provider.has_model()
        with pytest.raises(ProviderRejected) as err:
            provider.embed(["x"])
    assert err.value.status == 404 and "not found" in str(err.value)


def test_nobody_listening_ends_in_a_clear_error_after_the_retries():
    with OllamaProvider(f"http://127.0.0.1:{free_port()}", "hash-embed:384", retries=2, backoff_s=0) as provider:
        with pytest.raises(ProviderUnavailable, match=r"failed after 3 attempts; last error: ConnectError"):
            provider.embed(["x"])


@pytest.mark.parametrize(("url", "loads"), [("http://127.0.0.1:11434", 0), ("https://ollama.example.org", 1)])
def test_only_an_https_provider_loads_certificates(monkeypatch, url, loads):
    """A plain-http server never uses TLS; loading the CA bundle costs each client about 20 ms of CPU."""
    import ssl

    calls = []
    real = ssl.SSLContext.load_verify_locations
    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", lambda self, *a, **k: calls.append(a) or real(self, *a, **k))
    OllamaProvider(url, "hash-embed:384").close()
    assert len(calls) == loads
