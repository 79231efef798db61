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
