"""A TypeScript ingest script beside a Hono or Bun server (fiberplane's cf-retrieval-augmented-goose): found by a name
that says it makes vectors, read through the runner's own flags, and judged by what its drizzle calls write."""

import json
from pathlib import Path

import pytest

from harness.locate.contract import command_contract
from harness.locate.entrypoints import script_entrypoint
from harness.steps.locate import locate

SCHEMA = """import { integer, pgTable, text, uuid, vector } from "drizzle-orm/pg-core";

export const chunkRows = pgTable("chunks", {
  id: uuid("id").defaultRandom().primaryKey(),
  text: text("text").notNull(),
  embedding: vector("embedding", { dimensions: 1536 }),
});
"""
INGEST = """import { openai } from "@ai-sdk/openai";
import { embedMany } from "ai";
import { drizzle } from "drizzle-orm/neon-http";
import { neon } from "@neondatabase/serverless";
import { chunkRows } from "../src/db/schema";

const db = drizzle(neon(process.env.DATABASE_URL));
const values = ["a", "b"];
const { embeddings } = await embedMany({ model: openai.embedding("text-embedding-3-small"), values });
await db.insert(chunkRows).values(values.map((text, i) => ({ text, embedding: embeddings[i] })));
"""


def app(root: Path, ingest: str = INGEST) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "package.json").write_text(json.dumps({
        "name": "goose", "type": "module", "devDependencies": {"tsx": "^4"},
        "scripts": {"dev": "wrangler dev src/index.tsx",
                    "vectors:create": "tsx --tsconfig tsconfig.scripts.json scripts/create-vectors.ts"}}))
    (root / "tsconfig.scripts.json").write_text('{"compilerOptions": {"module": "esnext"}}')
    (root / "src" / "db").mkdir(parents=True)
    (root / "src" / "db" / "schema.ts").write_text(SCHEMA)
    (root / "scripts").mkdir()
    (root / "scripts" / "create-vectors.ts").write_text(ingest)
    return root


def test_a_package_script_named_for_the_vectors_it_creates_is_an_entrypoint(tmp_path):
    commands = {e.command for e in locate(app(tmp_path)).entrypoints}
    assert {"npm run vectors:create", "npx tsx scripts/create-vectors.ts"} <= commands, commands


@pytest.mark.parametrize("rel", ["scripts/create-vectors.ts", "scripts/generate_vectors.mjs", "bin/vectors-update.js"])
def test_a_script_file_named_for_the_vectors_it_makes_is_a_script(tmp_path, rel):
    assert script_entrypoint(tmp_path, rel, b"await main();\n") is not None


@pytest.mark.parametrize("rel", ["src/vector_store.ts", "src/vectors.ts", "src/lib/vectorStore.js"])
def test_a_module_named_for_vectors_alone_is_no_script(tmp_path, rel):
    assert script_entrypoint(tmp_path, rel, b"await main();\n") is None


def test_a_runners_flag_value_is_not_the_script_it_runs(tmp_path):
    contract = command_contract("tsx --tsconfig tsconfig.scripts.json scripts/create-vectors.ts", app(tmp_path))
    assert contract.files[:1] == ("scripts/create-vectors.ts",), contract.files
    assert contract.embedding_calls, contract


def test_a_drizzle_insert_of_the_chunk_table_only_adds_its_rows(tmp_path):
    contract = command_contract("npm run vectors:create", app(tmp_path))
    # the variable the script inserts through is bound to the table by the schema module it imports
    assert "it only adds rows (INSERT INTO chunks at scripts/create-vectors.ts:10" in contract.adds_again("chunks")


def test_a_drizzle_upsert_or_update_of_the_chunk_table_changes_its_rows(tmp_path):
    upsert = INGEST.replace(");\n", ").onConflictDoUpdate({ target: chunkRows.id, set: { text: chunkRows.text } });\n")
    assert command_contract("npm run vectors:create", app(tmp_path / "a", upsert)).adds_again("chunks") == ""
    update = INGEST + 'await db.update(chunkRows).set({ embedding: null }).where(sql`true`);\n'
    assert command_contract("npm run vectors:create", app(tmp_path / "b", update)).adds_again("chunks") == ""


@pytest.mark.parametrize("rel", ["scripts/create-vector-index.ts", "scripts/create_vector_extension.py",
                                 "scripts/vectors-create-table.mjs", "scripts/update_vector_indexes.py"])
def test_a_script_named_for_the_schema_vectors_are_kept_in_is_no_script(tmp_path, rel):
    # `create-vector-index` builds an HNSW index (DDL): listed as an entrypoint that may embed, profile init could
    # draft it as the application's backfill
    assert script_entrypoint(tmp_path, rel, b"await main();\nif __name__ == '__main__':\n    main()\n") is None


def test_a_package_script_named_for_the_vector_index_it_creates_may_not_embed(tmp_path):
    root = app(tmp_path)
    data = json.loads((root / "package.json").read_text())
    data["scripts"] = {"db:create-vector-index": "tsx scripts/create-index.ts"}
    (root / "package.json").write_text(json.dumps(data))
    (root / "scripts" / "create-index.ts").write_text(
        'import postgres from "postgres";\nconst sql = postgres(process.env.DATABASE_URL!);\n'
        "await sql`CREATE INDEX IF NOT EXISTS chunks_embedding_idx ON chunks USING hnsw (embedding vector_cosine_ops)`;\n")
    assert not any(e.may_embed for e in locate(root).entrypoints if "create-vector-index" in e.command)


def _through_its_own_db(tmp_path, instead_of_the_client: str):
    """The ingest app with its drizzle client made in its own module (`import { db } from "../src/db"`, the usual
    layout), the script's own client line replaced by ``instead_of_the_client``; its root."""
    script = INGEST.replace('import { drizzle } from "drizzle-orm/neon-http";\nimport { neon } from '
                            '"@neondatabase/serverless";\n', 'import { db } from "../src/db";\n').replace(
        "const db = drizzle(neon(process.env.DATABASE_URL));\n", instead_of_the_client)
    root = app(tmp_path, script)
    (root / "src" / "db" / "index.ts").write_text('import { drizzle } from "drizzle-orm/neon-http";\n'
                                                  'export const db = drizzle(process.env.DATABASE_URL!);\n')
    return root


def test_a_drizzle_insert_through_a_db_its_own_module_makes_only_adds_its_rows(tmp_path):
    # the script names no drizzle-orm: its insert was not read, and the command passed as one that changes the rows
    root = _through_its_own_db(tmp_path, "")
    assert "it only adds rows (INSERT INTO chunks" in command_contract("npm run vectors:create", root).adds_again("chunks")


def test_a_maps_delete_in_a_file_without_drizzle_changes_no_table(tmp_path):
    root = _through_its_own_db(tmp_path, "const seen = new Map();\nseen.delete(chunkRows);\n")
    assert "it only adds rows" in command_contract("npm run vectors:create", root).adds_again("chunks")


def test_a_drizzle_delete_of_every_row_through_a_db_its_own_module_makes_changes_the_table(tmp_path):
    # wipe and reload (`await db.delete(chunkRows)` before the insert): a backfill that re-embeds every text
    root = _through_its_own_db(tmp_path, "await db.delete(chunkRows);\n")
    assert command_contract("npm run vectors:create", root).adds_again("chunks") == ""
