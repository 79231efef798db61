"""profile init says where the application's own Ollama embedders read their URL: the harness reads OLLAMA_HOST, the
application perhaps another name a user's environment already sets."""

from harness.locate.embedding_calls import EmbeddingCall
from harness.profile_draft import app_provider_urls


def test_the_names_the_applications_ollama_embedders_read_their_url_from_are_said_with_their_defaults():
    """cokingtins1/local-llm: its ingest and its query embedder both read OLLAMA_URL, with two defaults."""
    calls = [EmbeddingCall("app/actions/updatePrismaDB.ts", 24, "ollama-http", "/api/embeddings", "nomic-embed-text",
                           url="http://ollama:11434", url_env="OLLAMA_URL"),
             EmbeddingCall("app/actions/evaluation/example.ts", 28, "langchain", "OpenAIEmbeddings", "text-embedding-3-large",
                           url_env="OPENAI_BASE_URL"),
             EmbeddingCall("app/actions/embeddings/ollamaEmbeddings.ts", 4, "langchain", "OllamaEmbeddings",
                           url="http://localhost:11434", url_env="OLLAMA_URL")]
    assert app_provider_urls(calls) == ("OLLAMA_URL (default http://ollama:11434 at app/actions/updatePrismaDB.ts:24, "
                                        "http://localhost:11434 at app/actions/embeddings/ollamaEmbeddings.ts:4)",)


def test_an_embedder_reading_ollama_host_or_no_name_says_nothing_more():
    calls = [EmbeddingCall("a.py", 3, "ollama-client", "embed", "all-minilm", url_env="OLLAMA_HOST"),
             EmbeddingCall("b.py", 5, "ollama-http", "/api/embed", "all-minilm", url="http://localhost:11434")]
    assert app_provider_urls(calls) == ()


def test_a_default_url_with_credentials_is_said_with_its_password_masked():
    """The draft profile file (profile init --output) said the default whole: its password written to disk."""
    calls = [EmbeddingCall("app.py", 4, "ollama-client", "client.embed", "nomic-embed-text",
                           url="https://bob:s3cretpw@ollama.example.com", url_env="OLLAMA_URL")]
    assert app_provider_urls(calls) == ("OLLAMA_URL (default https://bob:***@ollama.example.com at app.py:4)",)


def test_one_default_of_many_embedders_is_said_once_with_every_place():
    """nsbucky/prism-demo: five Prism calls read config/prism.php's OLLAMA_URL, one default: said once, with its five
    places (it was said five times over)."""
    calls = [EmbeddingCall(f"app/{name}.php", line, "ollama-prism", "Prism::embeddings(ollama)", "mxbai-embed-large",
                           url="http://ollama:11434", url_env="OLLAMA_URL")
             for name, line in (("A", 55), ("B", 17), ("C", 44), ("D", 172), ("E", 40))]
    assert app_provider_urls(calls) == ("OLLAMA_URL (default http://ollama:11434 at app/A.php:55, app/B.php:17, "
                                        "app/C.php:44, app/D.php:172, app/E.php:40)",)
