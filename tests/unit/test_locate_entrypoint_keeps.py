"""An entrypoint that embeds but keeps nothing (no database, store, request or file written in the files it runs:
a demo printing the vectors' lengths) is no backfill: listed as a candidate, never taken as the backfill command."""

import json
from pathlib import Path

import pytest

from harness.steps.locate import locate

EMBED_AND_PRINT = """import { OllamaEmbeddings } from "@langchain/community/embeddings/ollama";

const embeddings = new OllamaEmbeddings({ model: "llama2", baseUrl: "http://localhost:11434" });
const documentEmbeddings = await embeddings.embedDocuments(["Hello World!", "Bye Bye"]);
console.log(documentEmbeddings.map((x) => x.length));
"""
EMBED_AND_STORE = EMBED_AND_PRINT.replace(
    'import { OllamaEmbeddings }', 'import { PGVectorStore } from "@langchain/community/vectorstores/pgvector";\n'
    'import { OllamaEmbeddings }').replace(
    "console.log(documentEmbeddings.map((x) => x.length));",
    "const store = await PGVectorStore.initialize(embeddings, config);\nawait store.addVectors(documentEmbeddings, docs);")


def app(root: Path, script: str) -> Path:
    (root / "package.json").write_text(json.dumps({"name": "demo", "type": "module",
                                                   "scripts": {"embeddings": "node ollamaembedding.js"}}))
    (root / "ollamaembedding.js").write_text(script)
    return root


def test_a_script_that_embeds_and_prints_is_no_backfill(tmp_path):
    found = locate(app(tmp_path, EMBED_AND_PRINT))
    [entry] = found.entrypoints
    assert (entry.command, entry.may_embed, found.best_entrypoint) == ("npm run embeddings", False, None)
    assert "keeps nothing" in found.text()


def test_a_script_that_embeds_into_a_store_is_the_backfill(tmp_path):
    found = locate(app(tmp_path, EMBED_AND_STORE))
    assert found.best_entrypoint is not None and found.best_entrypoint.command == "npm run embeddings"


def test_a_script_that_embeds_and_reads_the_databases_url_is_taken_to_keep_what_it_embeds(tmp_path):
    found = locate(app(tmp_path, EMBED_AND_PRINT + "console.log(process.env.DATABASE_URL);\n"))
    assert found.best_entrypoint is not None and found.best_entrypoint.command == "npm run embeddings"


EMBED_AND_PRINT_PY = '''"""Local embeddings for the Milvus store (see the OpenSpec design)."""
import sys
from pathlib import Path

from sentence_transformers import SentenceTransformer

sys.path.append(str(Path(__file__).resolve().parents[1]))  # adds src/app

if __name__ == "__main__":
    model = SentenceTransformer("BAAI/bge-small-en-v1.5")
    vecs = model.encode(["hello world", "milvus vector database", "retrieval augmented generation"])
    print({"shape": vecs.shape})
'''


def test_what_a_demo_says_in_strings_and_trailing_comments_is_nothing_it_keeps(tmp_path):
    """A demo embedding "milvus vector database" (a string) after a `# adds src/app` comment: both read as a store and
    a write, so the demo was drafted as the backfill command of a Postgres collection it never touches."""
    (tmp_path / "embedder.py").write_text(EMBED_AND_PRINT_PY)
    found = locate(tmp_path)
    [entry] = found.entrypoints
    assert (entry.may_embed, found.best_entrypoint) == (False, None), entry.contract
    assert entry.contract is not None and entry.contract.keeps == ()


def test_sql_that_writes_counts_inside_a_string(tmp_path):
    (tmp_path / "embedder.py").write_text(EMBED_AND_PRINT_PY.replace(
        '    print({"shape": vecs.shape})', '    print("INSERT INTO chunks (embedding) VALUES (%s)", vecs[0])'))
    found = locate(tmp_path)
    assert found.best_entrypoint is not None and found.best_entrypoint.path == "embedder.py"


def test_a_large_files_keeps_are_its_first_five_places_in_code():
    """4,000 lines of requests (330 kB): the first five places, each on its own line. Reading them compared each place
    with every string of the file and counted its line from the file's start (9 s here, 95 s at locate's 1 MB limit);
    time is for benchmarks (bench/bench_locate.py times locate on real checkouts), never asserted in a test."""
    from harness.locate.contract import read_contract

    text = "".join(f"const r{i} = await fetch('http://x/{i}', {{method: 'post'}}); save(r{i}, \"k{i}\");\n"
                   for i in range(4000))
    assert read_contract("src/big.js", text).keeps == tuple(f"src/big.js:{n}" for n in range(1, 6))


def test_what_a_string_says_keeps_nothing_on_any_line_but_its_sql():
    from harness.locate.contract import read_contract

    text = 'print("save(x) and fetch(y)")\n# store.add(v)\nx = 1\ncur.execute("INSERT INTO t VALUES (1)")\ndb.commit()\n'
    assert read_contract("a.py", text).keeps == ("a.py:4", "a.py:5")


@pytest.mark.parametrize("code", [
    "import psycopg\nconn = psycopg.connect()  # libpq's PGHOST, PGDATABASE...\n",
    'import pg from "pg";\nconst client = new pg.Client();\n',
    'from sqlalchemy import create_engine\nengine = create_engine("postgresql+psycopg://app@db/app")\n',
])
def test_a_script_using_a_postgres_client_reaches_a_database_whatever_setting_it_reads(code):
    """Such a script was said to reach no database (no setting named like one read): with another model named than
    the draft's, or none given, it was left out of the draft, its vectors taken to go elsewhere."""
    from harness.locate.contract import read_contract

    rel = "embed.js" if "from \"pg\"" in code else "embed.py"
    assert not read_contract(rel, code).reaches_no_database()


def test_a_script_writing_only_a_file_reaches_no_database():
    from harness.locate.contract import read_contract

    code = "import numpy as np\nnp.save('out.npy', vectors)  # a postgres-like name in a comment: none\n"
    assert read_contract("embed.py", code).reaches_no_database()
