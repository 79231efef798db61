"""profile init says the application's embedders make each newline a space (a library's default) only from the
embedders themselves: a setting that names the model is no embedder."""

from harness.locate.embedding_calls import EmbeddingCall
from harness.profile_draft import _stripping_embedders

MODEL = "text-embedding-3-small"
STRIPPING = EmbeddingCall("src/modules/rag/embeddings/embedding.service.ts", 10, "langchain", "OpenAIEmbeddings", None,
                          newlines_to_spaces=True)


def test_a_setting_naming_the_model_leaves_the_embedder_reading_it_to_say_how_newlines_are_embedded():
    """ai-agentic-rag-nestjs: `.env-example`'s OPENAI_EMBEDDING_MODEL=text-embedding-3-small and LangChain.js's
    OpenAIEmbeddings (stripNewLines by default) whose model comes through the app's config service: the setting, taken
    for an embedder keeping newlines, left text_newlines undrafted."""
    setting = EmbeddingCall(".env-example", 11, "config", "OPENAI_EMBEDDING_MODEL", MODEL,
                            model_env="OPENAI_EMBEDDING_MODEL")
    assert _stripping_embedders([setting, STRIPPING], MODEL) == (
        "OpenAIEmbeddings, src/modules/rag/embeddings/embedding.service.ts:10",)


def test_an_embedder_keeping_newlines_beside_one_making_them_spaces_drafts_nothing():
    keeping = EmbeddingCall("src/ingest.ts", 4, "langchain", "OllamaEmbeddings", None)
    assert _stripping_embedders([STRIPPING, keeping], MODEL) == ()


def test_an_embedder_naming_the_model_is_the_one_asked_before_those_naming_none():
    naming = EmbeddingCall("src/ingest.ts", 4, "openai", "embeddings.create", MODEL)
    assert _stripping_embedders([STRIPPING, naming], MODEL) == ()
