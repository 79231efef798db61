"""locate reads the task prefix an application puts before what it embeds (harness.task_prefixes)."""

import textwrap

from harness.locate.contract import read_contract
from harness.task_prefixes import query_prefix_of


def _prefixes(name: str, code: str) -> tuple[tuple[str, str], ...]:
    return read_contract(name, textwrap.dedent(code)).task_prefixes


def test_a_python_concatenation_before_an_ollama_embed_is_read_with_its_line():
    code = """\
        import ollama
        def embed(chunks):
            return ollama.embed(model="nomic-embed-text", input=["search_document: " + c for c in chunks])
        """
    assert _prefixes("ingest.py", code) == (("search_document: ", "ingest.py:3"),)


def test_an_fstring_and_a_js_template_are_read():
    assert _prefixes("a.py", 'import ollama\nollama.embed(model="m", input=f"passage: {text}")\n') == (
        ("passage: ", "a.py:2"),)
    js = ("import ollama from 'ollama';\n"
          "const r = await ollama.embed({ model: 'nomic-embed-text', input: `search_document: ${chunk}` });\n")
    assert _prefixes("b.ts", js) == (("search_document: ", "b.ts:2"),)


def test_a_constant_holding_a_prefix_and_the_query_prefix_beside_it_are_both_read():
    code = """\
        DOC = "search_document: "
        QUERY = "search_query: "
        import ollama
        vectors = ollama.embed(model="nomic-embed-text", input=[DOC + t for t in texts])
        """
    assert _prefixes("p.py", code) == (("search_document: ", "p.py:1"), ("search_query: ", "p.py:2"))


def test_a_prefix_in_a_comment_is_not_read():
    code = 'import ollama\n# nomic wants "search_document: " + text, we do not\nollama.embed(model="m", input=t)\n'
    assert _prefixes("c.py", code) == ()


def test_a_generic_query_label_in_a_file_that_embeds_nothing_is_not_a_prefix():
    assert _prefixes("log.py", 'print("query: " + q)\nprint(f"passage: {p}")\n') == ()


def test_a_prefix_in_a_file_that_embeds_nothing_is_no_evidence():
    """AnythingLLM keeps a table of its in-process models' prefixes (`chunkPrefix: "search_document: "` for one of
    them) and prose in its settings UI; its Ollama embedder, elsewhere, puts none before the text."""
    table = 'const MODELS = {\n  "Xenova/nomic-embed-text-v1": {\n    chunkPrefix: "search_document: ",\n  },\n};\n'
    prose = '<p>Some models require this (e.g. "passage: " or "search_document: ").</p>\n'
    assert _prefixes("constants.js", table) == () and _prefixes("Options.jsx", prose) == ()


def test_each_document_prefix_names_the_query_prefix_its_model_pairs_it_with():
    assert query_prefix_of("search_document: ") == "search_query: "
    assert query_prefix_of("passage: ") == "query: "
    assert query_prefix_of("summary: ") is None


EMBEDDER = """\
    from app.ollama_client import OllamaClient

    DOCUMENT_PREFIX = "search_document: "
    QUERY_PREFIX = "search_query: "
    LABELS = {"doc": "passage: "}


    class Embedder:
        def __init__(self, client: OllamaClient) -> None:
            self._client = client

        def embed_document(self, text: str) -> list[float]:
            return self._embed_prefixed(DOCUMENT_PREFIX, text)

        def embed_query(self, text: str) -> list[float]:
            return self._embed_prefixed(QUERY_PREFIX, text)

        def _embed_prefixed(self, prefix: str, text: str) -> list[float]:
            return self._client.embed(model="m", text=f"{prefix}{text}")
    """


def test_a_prefix_constant_passed_to_an_embedding_helper_is_read_where_the_file_calls_no_known_embedder():
    """Meeting-RAG-Local's embedder.py hands DOCUMENT_PREFIX to its own `_embed_prefixed`, which calls the app's
    Ollama wrapper (no library call locate knows in this file): the prefix still goes before every text embedded."""
    assert _prefixes("embedder.py", EMBEDDER) == (("search_document: ", "embedder.py:3"),
                                                  ("search_query: ", "embedder.py:4"))


def test_a_prefix_literal_given_to_an_embedding_helper_is_read():
    code = 'from app.client import client\nvectors = client.embed_many([f"passage: {t}" for t in texts])\n'
    assert _prefixes("ingest.py", code) == (("passage: ", "ingest.py:2"),)


def test_a_prefix_that_is_a_settings_default_inside_an_embedding_call_is_the_settings_not_read():
    """LightRAG's sample builds its EmbeddingFunc with `document_prefix=os.getenv("EMBEDDING_DOCUMENT_PREFIX",
    "search_document: ")`: the innermost call is the setting's read, whose default says nothing of what is embedded."""
    code = ('import os\nfunc = EmbeddingFunc(func=partial(embed, document_prefix=os.getenv("EMBEDDING_DOCUMENT_PREFIX", '
            '"search_document: ")))\n')
    assert _prefixes("sample.py", code) == ()


def test_a_prefix_default_of_an_embedding_methods_definition_is_not_read():
    """A JS class method is defined without `function`: its parameter's default (never passed by the file, which
    embeds nothing with it) was read as handed to an embedder, where Python's `def` with the same default is not."""
    code = ('class Store {\n  async embedMany(texts, prefix = "search_document: ") {\n'
            '    return this.client.embed(texts)\n  }\n}\n')
    assert _prefixes("store.js", code) == ()
    typed = code.replace(") {\n    return", "): Promise<number[][]> {\n    return")
    assert _prefixes("store.ts", typed) == ()
