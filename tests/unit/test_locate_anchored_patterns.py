"""locate's quick paths find what its patterns find: a pattern tried only where its words are, line numbers from a
table of line starts, substring tests for alternations of words, and the SQL declaration patterns' whole names."""

import re
import time

import pytest

from harness.locate import distances, embedding_calls, schema
from harness.locate.files import one_look
from harness.locate.literals import env_reads, finditer_at, finditer_where, line_of

ENV_READS = """import os
from os import getenv, environ
a = os.getenv("A", "x") or "y"
b = xos.getenv("B")
c = cos.environ["C"]
d = os.environ["D"]
e = getenv("E", default="z")
f = self.getenv("F")
g = environ.get("G")
h = Secret.from_env_var("H")
i = from_env_vars(["I"])
"""


def test_a_pattern_tried_only_where_its_words_begin_finds_what_finditer_finds():
    pattern = re.compile(r"(?<![\w.])(?:os\.)?(?:getenv|environ\.get)\(\s*['\"](?P<n>\w+)")
    assert [m.span() for m in finditer_at(pattern, ENV_READS, "os.", "getenv(", "environ.get(")] == [
        m.span() for m in pattern.finditer(ENV_READS)]


def test_words_that_begin_at_one_place_or_inside_a_match_give_each_match_once():
    pattern = re.compile(r"env\w*\(\w*\)")
    text = "env(a) environ(b) envx(envy()) env"
    assert [m.group(0) for m in finditer_at(pattern, text, "env", "envi", "envy")] == [
        m.group(0) for m in pattern.finditer(text)]


def test_a_pattern_whose_words_are_not_in_the_text_finds_nothing_and_else_what_finditer_finds():
    pattern = re.compile(r"(?<![\w.])(?P<n>[A-Z]\w*Embeddings?)\s*\(")
    assert list(finditer_where(pattern, "x = Foo()", "mbedding")) == []
    text = "a = OpenAIEmbeddings(model='m')\nb = new OllamaEmbedding()"
    assert [m.span() for m in finditer_where(pattern, text, "mbedding")] == [m.span() for m in pattern.finditer(text)]


def test_python_env_reads_are_each_read_once_at_their_place():
    reads = [(r.name, r.default) for r in env_reads(ENV_READS, "python")]
    assert reads == [("A", "x"), ("D", None), ("E", "z"), ("G", None), ("H", None), ("I", None)]


@pytest.mark.parametrize("size", [10, 70_000, 400_000])
def test_every_place_of_a_text_is_on_the_line_counting_its_newlines_gives(size):
    text = "".join("x" * (i % 7) + "\n" for i in range(size // 4))[:size] + "tail"
    places = [*range(0, len(text) + 1, 97 if size < 100_000 else 997), len(text), len(text) - 1, 65_535, 65_536]
    with one_look():
        for _ in range(3):  # counted first, then from the table of line starts
            assert [line_of(text, p) for p in places] == [text.count("\n", 0, p) + 1 for p in places]


@pytest.mark.parametrize("source", [
    "x = Foo()",
    "vec = self.embed_query(text)",
    "const e = new OpenAIEmbeddings({})",
    "model.embedDocuments(texts)",
    "import ollama",
    "pipeline('feature-extraction')",
    "client.embeddings.create(model='m')",
    "openai.Embedding.create(input=x)",
    "await fetch(`${url}/api/embed`)",
    "Langchain::LLM::Ollama.new",
    "embeddings.py has no call",
])
def test_whether_a_file_may_embed_is_what_the_one_alternation_of_the_words_said(source):
    words = (r"embed\(|embedMany|embedContent|batchEmbedContents|@ai-sdk/|/api/embed|embeddings?\.create|Embedding\.create"
             r"|createEmbedding|AutoEmbeddings|SentenceTransformer|TextEmbedding|Embeddings?\s*\(|ollama|feature-extraction"
             r"|Supabase\.ai\.Session|/v1/embeddings|\.embed(?:dings|_query|_documents|Query|Documents)?\s*\(|Langchain::LLM::")
    assert embedding_calls.has_calls(source) == bool(re.search(words, source))


@pytest.mark.parametrize("source, expected", [
    (b"ORDER BY embedding <=> $1", True),
    (b"USING hnsw (embedding vector_cosine_ops)", True),
    (b"vector_cosine_ops_x", False),
    (b"CosineDistance('embedding', q)", True),
    (b"nothing here", False),
])
def test_whether_a_file_says_a_distance_is_what_the_one_alternation_of_the_words_said(source, expected):
    assert distances.has_distances(source) is expected


@pytest.mark.parametrize("sql, expected", [
    ("CREATE TABLE t (embedding vector(3));", [("embedding", 3)]),
    ("CREATE TABLE t (1embedding vector(3));", [("embedding", 3)]),  # a name begun after a digit begins there
    ('CREATE TABLE t (x"emb" vector(3));', [("emb", 3)]),  # a quoted name right after a letter
    ("CREATE TABLE t (embedding extensions.vector(3));", [("embedding", 3)]),
    ("ALTER TABLE t ALTER COLUMN embedding SET DATA TYPE vector(5);", [("embedding", 5)]),
    ("CREATE TABLE t (embedding vector, body text);", [("embedding", None)]),
    ("CREATE TABLE t (1embedding vector, body text);", [("embedding", None)]),
])
def test_a_columns_name_is_read_whole_wherever_the_declaration_begins(sql, expected):
    assert [(d.column, d.dimensions) for d in schema.scan("m.sql", sql, "sql")] == expected


def test_long_words_and_quoted_names_beside_vector_types_are_read_in_linear_time():
    # the declaration patterns begin with an optional name: tried at every character, each read on to its word's end
    line = "a" * 3000 + ' "' + "b" * 3000 + " x" + "c" * 3000 + ".vector vector(3) halfvec\n"
    text = "CREATE TABLE t (\n" + line * 60 + ");\n"  # 60 lines: 0.7 s; before, over 100 s
    started = time.monotonic()
    schema.scan("m.sql", text, "sql")
    assert time.monotonic() - started < 5



def test_settings_are_found_on_the_lines_str_splitlines_numbers_of_a_config_file_and_of_code():
    from harness.locate.config import scan

    env = ("# settings\rDATABASE_URL=postgres://u@h/db\n\nDEFAULT_FILES_CONFIG=embedding_model=ollama/nomic\u2028"
           "OTHER=1\nx = EMBED_MODEL OLLAMA_HOST\n")
    assert [(s.line, s.name) for s in scan(".env", env, is_config_file=True)] == [
        (2, "DATABASE_URL"), (4, "DEFAULT_FILES_CONFIG"), (6, "EMBED_MODEL"), (6, "OLLAMA_HOST")]
    code = "import os\n\x0cmodel = os.getenv('EMBED_MODEL')\r\nurl = OLLAMA_HOST\n"
    assert [(s.line, s.name) for s in scan("app.py", code, is_config_file=False)] == [
        (3, "EMBED_MODEL"), (4, "OLLAMA_HOST")]
