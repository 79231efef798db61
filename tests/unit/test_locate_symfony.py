"""locate reads a Symfony application's service container: an embedding client the container builds from
config/services.yaml (no `new` in the code), its model and URL given as `%env(NAME)%` directly or through a
parameter."""

from pathlib import Path

from harness.steps.locate import locate

SERVICES = '''parameters:
    app.embed_url: '%env(EMBED_URL)%'
    app.embed_model: '%env(string:EMBED_MODEL)%'
    app.page_size: 20

services:
    _defaults:
        autowire: true

    App\\:
        resource: '../src/'

    App\\Mailer\\Transport:
        arguments:
            $url: '%env(MAILER_URL)%'

    NeuronAI\\RAG\\Embeddings\\OllamaEmbeddingsProvider:
        arguments:
            $model: '%app.embed_model%'
            $url: '%app.embed_url%'

    app.openai_embedder:
        class: NeuronAI\\RAG\\Embeddings\\OpenAIEmbeddingsProvider
        arguments:
            $key: '%env(OPENAI_KEY)%'
            $model: text-embedding-3-small
'''

USER = '''<?php
namespace App\\Command;

use NeuronAI\\RAG\\Embeddings\\OllamaEmbeddingsProvider;

class Reindex
{
    public function __construct(private readonly OllamaEmbeddingsProvider $embedder) {}

    public function run(string $text): array
    {
        return $this->embedder->embedText($text);
    }
}
'''


def symfony_app(root: Path) -> Path:
    for rel, text in {"config/services.yaml": SERVICES, "src/Command/Reindex.php": USER,
                      ".env": "EMBED_URL=http://localhost:11434/api\nEMBED_MODEL=nomic-embed-text\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_an_embedding_client_the_container_builds_names_the_env_of_its_model_and_url(tmp_path):
    calls = {(c.path, c.line, c.kind, c.name, c.model, c.model_env, c.url_env)
             for c in locate(symfony_app(tmp_path)).embedding_calls if c.path == "config/services.yaml"}
    # the parameter each argument names, filled from the environment; a literal argument is the model itself; a
    # service of another kind (the mailer's URL) is no embedder
    assert calls == {
        ("config/services.yaml", 17, "ollama-config", "NeuronAI\\RAG\\Embeddings\\OllamaEmbeddingsProvider", None,
         "EMBED_MODEL", "EMBED_URL"),
        ("config/services.yaml", 22, "config", "NeuronAI\\RAG\\Embeddings\\OpenAIEmbeddingsProvider",
         "text-embedding-3-small", None, None)}, calls
