"""The Ollama-compatible server: Ollama's endpoints, shapes and error bodies, over real HTTP."""

import math
import re
import statistics
import time

import httpx
import numpy as np
import ollama
import pytest

from harness.embedserver import EmbeddingServer, minilm_available
from harness.embedserver.models import Embedded, HashEmbed


@pytest.fixture
def http(embed_server):
    with httpx.Client(base_url=embed_server.url, timeout=30) as client:
        yield client


def test_root_says_ollama_is_running(http):
    response = http.get("/")
    assert response.status_code == 200 and response.text == "Ollama is running"


def test_version_answers(http):
    assert http.get("/api/version").json()["version"]


def test_embed_a_list_returns_normalised_vectors_in_order(http):
    body = http.post("/api/embed", json={"model": "hash-embed:384", "input": ["alpha beta", "gamma", "alpha beta"]}).json()
    vectors = np.array(body["embeddings"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[0], vectors[2]) and not np.allclose(vectors[0], vectors[1])
    assert body["model"] == "hash-embed:384"
    assert {"total_duration", "load_duration", "prompt_eval_count"} <= set(body)


def test_vectors_go_out_as_float32_text_and_read_back_exactly(http):
    """Like Ollama (Go writes a float32 in at most 9 significant digits): half the bytes of float64 text, and read
    back as float32 each value is the model's own."""
    texts = ["alpha beta", "gamma delta epsilon", ""]
    response = http.post("/api/embed", json={"model": "hash-embed:384", "input": texts})
    vectors = response.text.split('"embeddings"', 1)[1].split("]]", 1)[0]
    digits = [re.sub(r"^[-0.]+|[.]|e.*$", "", number) for number in re.findall(r"-?[0-9][0-9.e+-]*", vectors)]
    assert len(digits) == 3 * 384 and max(map(len, digits)) <= 9
    expected = HashEmbed(384).embed(texts).vectors
    assert np.array_equal(np.array(response.json()["embeddings"], dtype=np.float32), expected)


def test_a_preloaded_model_answers_under_its_name():
    class Constant:
        info = HashEmbed(4).info

        def embed(self, texts, truncate=True):
            return Embedded(np.tile(np.float32([0.5, 0.5, 0.5, 0.5]), (len(texts), 1)), len(texts), 0)

    with EmbeddingServer(models=["hash-embed:4"]) as server:
        server.registry.preload("hash-embed:4", Constant())
        body = httpx.post(f"{server.url}/api/embed", json={"model": "hash-embed:4", "input": ["a", "b"]}).json()
    assert body["embeddings"] == [[0.5] * 4, [0.5] * 4]


def test_a_model_cannot_be_preloaded_under_a_name_the_server_does_not_serve():
    with EmbeddingServer(models=["hash-embed:4"]) as server, \
            pytest.raises(ValueError, match="'nomic-embed-text' is not a name this server serves"):
        server.registry.preload("nomic-embed-text", HashEmbed(4))


def test_embed_a_single_string(http):
    body = http.post("/api/embed", json={"model": "hash-embed:768", "input": "one text"}).json()
    assert len(body["embeddings"]) == 1 and len(body["embeddings"][0]) == 768


def test_similar_texts_are_closer_than_unrelated_ones(http):
    texts = ["the cat sat on the mat", "a cat sat on a mat", "quarterly revenue grew in europe"]
    v = np.array(http.post("/api/embed", json={"model": "hash-embed:384", "input": texts}).json()["embeddings"])
    assert v[0] @ v[1] > v[0] @ v[2]


def test_legacy_embeddings_endpoint_takes_a_prompt(http):
    body = http.post("/api/embeddings", json={"model": "hash-embed:384", "prompt": "hello"}).json()
    assert len(body["embedding"]) == 384


def test_unknown_model_is_404_with_ollamas_error_body(http):
    response = http.post("/api/embed", json={"model": "nomic-embed-text", "input": "x"})
    assert response.status_code == 404
    assert response.json() == {"error": 'model "nomic-embed-text" not found, try pulling it first'}


def test_missing_model_is_400(http):
    response = http.post("/api/embed", json={"input": "x"})
    assert response.status_code == 400 and response.json() == {"error": "model is required"}


def test_invalid_json_is_400_with_an_error_body(http):
    response = http.post("/api/embed", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "error" in response.json()


def test_input_beyond_context_is_truncated_by_default_and_refused_without_truncation(http):
    long_text = "word " * 5000
    ok = http.post("/api/embed", json={"model": "hash-embed:384", "input": [long_text]})
    assert ok.status_code == 200 and ok.json()["prompt_eval_count"] == 2048
    refused = http.post("/api/embed", json={"model": "hash-embed:384", "input": [long_text], "truncate": False})
    assert refused.status_code == 400 and "context length" in refused.json()["error"]


def test_show_reports_embedding_length_in_model_info(http):
    body = http.post("/api/show", json={"model": "hash-embed:768"}).json()
    assert body["model_info"]["hash-embed.embedding_length"] == 768
    assert body["capabilities"] == ["embedding"]


def test_tags_lists_the_served_models(http):
    names = [m["name"] for m in http.get("/api/tags").json()["models"]]
    assert "hash-embed:384" in names


def test_empty_text_still_gets_a_unit_vector(http):
    vector = np.array(http.post("/api/embed", json={"model": "hash-embed:384", "input": [""]}).json()["embeddings"][0])
    assert math.isclose(float(np.linalg.norm(vector)), 1.0, rel_tol=1e-5)


def test_alias_serves_a_real_model_under_the_asked_name_and_says_so():
    with EmbeddingServer(aliases={"nomic-embed-text": "hash-embed:768"}) as server:
        with httpx.Client(base_url=server.url) as http:
            body = http.post("/api/embed", json={"model": "nomic-embed-text", "input": ["x"]}).json()
            assert body["model"] == "nomic-embed-text" and len(body["embeddings"][0]) == 768
            shown = http.post("/api/show", json={"model": "nomic-embed-text"}).json()
            assert shown["details"]["alias_of"] == "hash-embed:768"
            assert "alias of hash-embed:768" in shown["modelfile"]
            tags = {m["name"]: m for m in http.get("/api/tags").json()["models"]}
            assert tags["nomic-embed-text:latest"]["details"]["parent_model"] == "hash-embed:768"


def test_alias_to_a_model_the_server_cannot_run_is_refused():
    with pytest.raises(ValueError, match="not a model this server can run"):
        EmbeddingServer(aliases={"x": "llama3"})


def test_official_ollama_client_embeds_unchanged(embed_server):
    client = ollama.Client(host=embed_server.url)
    response = client.embed(model="hash-embed:384", input=["first", "second"])
    assert len(response.embeddings) == 2 and len(response.embeddings[0]) == 384
    assert response.prompt_eval_count > 0


def test_official_ollama_client_sees_unknown_models_as_errors(embed_server):
    client = ollama.Client(host=embed_server.url)
    with pytest.raises(ollama.ResponseError) as err:
        client.embed(model="nope", input="x")
    assert err.value.status_code == 404


def test_official_ollama_client_lists_and_shows(embed_server):
    client = ollama.Client(host=embed_server.url)
    assert any(m.model == "hash-embed:384" for m in client.list().models)
    assert client.show("hash-embed:384").modelinfo["hash-embed.embedding_length"] == 384


@pytest.mark.slow
@pytest.mark.skipif(not minilm_available(), reason="the minilm extra (all-MiniLM-L6-v2 weights) is not installed")
def test_all_minilm_is_the_real_model():
    with EmbeddingServer(models=["all-minilm"]) as server:
        client = ollama.Client(host=server.url)
        v = np.array(client.embed(model="all-minilm", input=[
            "How do I reset my password?", "Steps to change your account password", "The weather in Lisbon is mild"]).embeddings)
        assert v.shape == (3, 384)
        # A semantic model puts paraphrases together, unlike a lexical one (few shared words here).
        assert v[0] @ v[1] > 0.5 > v[0] @ v[2]
        assert client.show("all-minilm").modelinfo["bert.embedding_length"] == 384


def test_answers_on_a_kept_alive_connection_are_not_held_for_a_delayed_ack(http):
    """Like Ollama (Go sets TCP_NODELAY), the body is not held back until the client acknowledges the headers (40 ms)."""
    http.post("/api/embed", json={"model": "hash-embed:384", "input": ["warm"]})
    times = []
    for i in range(7):
        started = time.perf_counter()
        http.post("/api/embed", json={"model": "hash-embed:384", "input": [f"text {i}"]}).raise_for_status()
        times.append(time.perf_counter() - started)
    assert statistics.median(times) < 0.03


@pytest.mark.parametrize("model", ["nomic-embed-text=hash-embed:768", "nomic-embed-text", "hash-embed:99999"])
def test_serve_embeddings_refuses_a_model_it_cannot_serve_instead_of_serving_nothing(model):
    import subprocess
    import sys

    command = [sys.executable, "-m", "harness", "serve-embeddings", "--port", "0", "--model", model]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            pytest.fail(f"serve-embeddings --model {model} started serving: {err}")
    lines = err.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, err
    assert repr(model) in lines[0] and "--alias NAME=MODEL" in lines[0] and "hash-embed:N" in lines[0], err
