"""profile init says the Ollama URLs the application's embedders hard-code: the server the application embeds with
when it reads no environment name for it."""

from harness.locate.embedding_calls import EmbeddingCall
from harness.profile_draft import app_fixed_urls


def test_the_urls_the_applications_ollama_embedders_hard_code_are_said_where():
    """mjcarnaje/catsight.ai: `OllamaEmbeddings(model=..., base_url="http://ollama:11434")`, no environment read: the
    server the application embeds with is that one (the draft said only "OLLAMA_HOST wins")."""
    calls = [EmbeddingCall("backend/app/services/vectorstore.py", 18, "langchain", "OllamaEmbeddings",
                           "mxbai-embed-large", url="http://ollama:11434"),
             EmbeddingCall("a.py", 3, "ollama-client", "embed", "all-minilm", url="http://x:1", url_env="OLLAMA_HOST"),
             EmbeddingCall("b.py", 5, "langchain", "OpenAIEmbeddings", "text-embedding-3-small",
                           url="https://api.openai.com/v1")]
    assert app_fixed_urls(calls) == ("http://ollama:11434 at backend/app/services/vectorstore.py:18",)


def test_a_hard_coded_url_is_said_with_its_password_masked():
    """The draft is written to a file as it is: a hard-coded URL's password never reaches it."""
    calls = [EmbeddingCall("app.py", 7, "langchain", "OllamaEmbeddings", "all-minilm",
                           url="https://bob:s3cretpw@ollama.example:11434")]
    said = app_fixed_urls(calls)
    assert len(said) == 1 and "s3cretpw" not in said[0] and "ollama.example:11434 at app.py:7" in said[0], said


def test_a_url_said_where_the_client_is_made_is_said_there_not_at_the_call():
    """ViktorVonlex/rag_phoenix: `Ollama.embed(client, params)` in the embedder, the client `Ollama.init()` (ollama-ex's
    default server) in the LiveView that passes it: the URL is hard-coded where the client is made."""
    calls = [EmbeddingCall("lib/app/embedder.ex", 9, "ollama-client", "Ollama.embed", "bge", url="http://localhost:11434",
                           url_at="lib/app_web/live/rag_live.ex:56")]
    assert app_fixed_urls(calls) == ("http://localhost:11434 at lib/app_web/live/rag_live.ex:56",)


def test_one_url_hard_coded_by_several_embedders_is_said_once_with_each_place():
    """kuc-arc-f/rust_3ex: the ingest and the search each POST to `http://localhost:11434/api/embeddings`; the draft
    said the URL again before each place (seven times over the repository's examples)."""
    calls = [EmbeddingCall("src/main.rs", 331, "ollama-http", "/api/embeddings", url="http://localhost:11434"),
             EmbeddingCall("src/mod_search.rs", 62, "ollama-http", "/api/embeddings", url="http://localhost:11434"),
             EmbeddingCall("tools/probe.rs", 9, "ollama-http", "/api/embed", url="http://ollama:11434")]
    assert app_fixed_urls(calls) == ("http://localhost:11434 at src/main.rs:331, src/mod_search.rs:62",
                                     "http://ollama:11434 at tools/probe.rs:9")
