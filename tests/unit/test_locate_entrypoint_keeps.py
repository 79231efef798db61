"""An entrypoint that embeds but keeps nothing (no database, store, request or file written in the files it runs:
a demo printing the vectors' lengths) is no backfill: listed as a candidate, never taken as the backfill command."""

import json
from pathlib import Path

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
