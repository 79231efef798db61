"""locate finds a repo's embedding files and backfill entrypoints, on shapes it has never seen."""

import shutil

import pytest

from harness.steps.locate import locate

from ..conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "repos"


@pytest.fixture(scope="module")
def ts():
    return locate(FIXTURES / "ts-monorepo")


@pytest.fixture(scope="module")
def py():
    return locate(FIXTURES / "py-backend")


def paths(hits):
    return [h.path for h in hits]


def test_typescript_monorepo_npm_script_is_the_first_entrypoint_run_from_its_package(ts):
    first = ts.entrypoints[0]
    assert (first.kind, first.name, first.workdir) == ("npm-script", "db:backfill-embeddings", "packages/db")
    assert first.command == "npm run db:backfill-embeddings"
    assert first.runner == "npm run db:backfill-embeddings --workspace packages/db"


def test_typescript_backfill_script_is_an_entrypoint(ts):
    assert "packages/db/src/scripts/backfill-embeddings.ts" in [e.path for e in ts.entrypoints]


def test_typescript_monorepo_drizzle_schema_declares_768(ts):
    assert "packages/db/src/schema/embeddings.ts" in paths(ts.schema)
    assert "packages/db/drizzle/0003_embeddings.sql" in paths(ts.schema)
    assert ts.declared_dimensions == (768,)


def test_typescript_monorepo_config_service_and_smoke_are_ranked(ts):
    assert paths(ts.config) == [".env.example"]
    assert "apps/api/src/embeddings.ts" in paths(ts.service)
    assert paths(ts.smoke) == ["docs/smoke-checklist.md"]


def test_vendored_node_modules_are_never_reported(ts):
    everything = paths(ts.config + ts.service + ts.schema + ts.smoke) + [e.path for e in ts.entrypoints]
    assert not [p for p in everything if "node_modules" in p]
    assert 999 not in ts.declared_dimensions


def test_python_backend_script_make_target_and_module_are_entrypoints(py):
    commands = [e.command for e in py.entrypoints]
    assert commands[0] == "make backfill-embeddings"
    assert "python scripts/backfill_embeddings.py" in commands
    assert "python -m worker.reembed" in commands


def test_python_backend_alembic_migration_declares_1536(py):
    assert paths(py.schema) == ["alembic/versions/20240101_add_embeddings.py"]
    assert py.declared_dimensions == (1536,)


def test_python_backend_env_file_and_smoke_checklist(py):
    assert paths(py.config) == [".env"]
    assert set(py.config[0].terms) == {"EMBED_MODEL", "MAX_CHUNK_SIZE"}
    assert paths(py.smoke) == ["docs/SMOKE.md"]


def test_outside_git_the_walk_skips_virtualenvs_and_vendor_folders(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "py-backend", repo)
    for junk in (".venv/lib", "venv", "vendor", "node_modules/x", "dist"):
        (repo / junk).mkdir(parents=True, exist_ok=True)
        (repo / junk / "backfill_embeddings.py").write_text("document_embeddings = 'vector(42)'\n"
                                                            "if __name__ == '__main__':\n    pass\n")
    result = locate(repo)
    assert result.file_source == "walk"
    assert 42 not in result.declared_dimensions
    assert not [e for e in result.entrypoints if e.path.count("/") and e.path.split("/")[0] in
                (".venv", "venv", "vendor", "node_modules", "dist")]


def test_profile_and_flag_terms_are_searched(tmp_path):
    (tmp_path / "retriever.py").write_text("TABLE = 'kb_vectors'\n")
    result = locate(tmp_path, ("kb_vectors",))
    assert paths(result.service) == ["retriever.py"]


@pytest.mark.slow
def test_ten_thousand_files_are_all_scanned(tmp_path):
    for i in range(10_000):
        folder = tmp_path / f"pkg{i // 500}"
        folder.mkdir(exist_ok=True)
        (folder / f"mod{i}.py").write_text(f"VALUE = {i}\n" + ("EMBED_MODEL = 'x'\n" if i == 7_777 else ""))
    result = locate(tmp_path)
    assert result.files_scanned == 10_000
    assert paths(result.service) == ["pkg15/mod7777.py"]


def test_a_missing_repo_is_a_config_error(tmp_path):
    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match="not a folder"):
        locate(tmp_path / "nope")


def test_a_windows_authored_sql_file_declares_its_untyped_column_as_a_unix_one_does(tmp_path):
    """CRLF line ends (rust_3ex's `table.sql`, written on Windows): `embedding vector\r\n` is the column of no width
    its CREATE TABLE makes; the `\r` hid it (`Vector declarations: none found`)."""
    (tmp_path / "table.sql").write_bytes(b"CREATE EXTENSION IF NOT EXISTS vector;\r\n\r\nCREATE TABLE documents (\r\n"
                                         b"  id SERIAL PRIMARY KEY,\r\n  content TEXT NOT NULL,\r\n  embedding vector\r\n);\r\n")
    [found] = locate(tmp_path).declarations
    assert (found.path, found.line, found.table, found.column, found.dimensions) == (
        "table.sql", 6, "documents", "embedding", None)


def test_a_create_table_built_in_a_python_f_string_names_the_table_its_method_returns_by_default():
    from harness.locate.schema import scan

    code = ('import os\n\nclass Store:\n    def table_name(self):\n        return os.getenv("NOTES_TABLE", "py_notes")\n\n'
            '    def other(self):\n        return "not_this"\n\n    def create(self, dims):\n'
            '        return f"CREATE TABLE IF NOT EXISTS {self.table_name()} (id uuid, embedding vector({dims}))"\n')
    [found] = scan("store.py", code, "python")
    assert (found.table, found.column, found.dimensions) == ("py_notes", "embedding", None)


def test_an_unquoted_js_interpolated_table_and_a_constant_dimension_are_resolved():
    from harness.locate.schema import scan

    code = ('const T = process.env.X ?? "js_notes";\nconst DIMS = 768;\n'
            'const ddl = `CREATE TABLE ${T} (id int, embedding vector(${DIMS}))`;\n')
    [found] = scan("store.js", code, "js")
    assert (found.table, found.column, found.dimensions) == ("js_notes", "embedding", 768)


def test_an_interpolated_dimension_outside_a_table_statement_is_no_declaration():
    from harness.locate.schema import scan

    assert scan("query.js", "const q = `SELECT embedding::vector(${n}) FROM t`;", "js") == []


ABSTRACT_PASSAGE = '''
from pgvector.sqlalchemy import Vector
from sqlalchemy.orm import Mapped, mapped_column
from app.constants import MAX_EMBEDDING_DIM


class BasePassage(SqlalchemyBase):
    __abstract__ = True

    text: Mapped[str] = mapped_column()
    embedding = mapped_column(Vector(MAX_EMBEDDING_DIM), nullable=True)


class SourcePassage(BasePassage, FileMixin):
    __tablename__ = "source_passages"


class ArchivalPassage(BasePassage):
    __tablename__ = "archival_passages"
'''


def test_a_column_of_an_abstract_sqlalchemy_class_is_declared_on_each_table_that_inherits_it():
    from harness.locate.schema import scan

    found = scan("app/orm/passage.py", ABSTRACT_PASSAGE, "python")
    assert {(d.table, d.column) for d in found} == {("source_passages", "embedding"), ("archival_passages", "embedding")}


def test_a_dimension_imported_from_a_module_of_the_repository_is_that_constants_value(tmp_path):
    from harness.steps.locate import locate

    (tmp_path / "app" / "orm").mkdir(parents=True)
    (tmp_path / "app" / "orm" / "passage.py").write_text(ABSTRACT_PASSAGE)
    (tmp_path / "app" / "constants.py").write_text("MAX_EMBEDDING_DIM = 4096  # do NOT change\n")
    found = locate(tmp_path).declarations
    assert {(d.table, d.dimensions) for d in found} == {("source_passages", 4096), ("archival_passages", 4096)}


# -- mem0's shapes: SQL composed with psycopg's sql.SQL(...).format(...), an embedder's default model, a store's
#    TypeScript module named like a backfill -------------------------------------------------------------------------

MEM0_LIKE_STORE = '''from psycopg import sql


class Store:
    def __init__(self, collection_name, embedding_model_dims):
        self.collection_name = collection_name
        self.embedding_model_dims = embedding_model_dims

    def _col(self):
        return sql.Identifier(self.collection_name)

    def create_col(self):
        cur.execute(
            sql.SQL("""
            CREATE TABLE IF NOT EXISTS {} (
                id UUID PRIMARY KEY,
                vector vector({}),
                payload JSONB
            );
            """).format(self._col(), sql.Literal(self.embedding_model_dims))
        )
'''


def test_a_create_table_composed_with_psycopg_sql_format_placeholders_is_a_declaration_of_a_computed_table():
    """``sql.SQL("CREATE TABLE {} (... vector({}) ...)").format(ident, dims)``: the table and the dimension are
    arguments of format(); named as the expressions they are, the dimension unknown."""
    from harness.locate.schema import scan

    [found] = scan("store.py", MEM0_LIKE_STORE, "python")
    assert (found.table, found.column, found.dimensions, found.line) == ("{self.collection_name}", "vector", None, 17)


def test_a_numbered_or_named_format_placeholder_takes_its_argument_and_a_literal_dimension_is_read():
    from harness.locate.schema import scan

    code = ('DIMS = 384\nddl = "CREATE TABLE {table} (id int, embedding vector({dims}))".format(table="notes", '
            'dims=DIMS)\nother = sql.SQL("CREATE TABLE {0} (v vector({1}))").format(sql.Identifier("kb"), 768)\n')
    found = {(d.table, d.column, d.dimensions) for d in scan("store.py", code, "python")}
    assert found == {("notes", "embedding", 384), ("kb", "v", 768)}


def test_an_embedders_default_model_given_beside_its_setting_is_its_model():
    """mem0's Ollama embedder: ``self.config.model = self.config.model or "nomic-embed-text"``, then
    ``client.embed(model=self.config.model, ...)``: the literal is the model it embeds with unless configured."""
    from harness.locate.embedding_calls import scan

    code = ('from ollama import Client\n\nclass OllamaEmbedding:\n    def __init__(self, config):\n'
            '        self.config = config\n        self.config.model = self.config.model or "nomic-embed-text"\n'
            '        self.client = Client(host=self.config.ollama_base_url)\n\n    def embed(self, text):\n'
            '        return self.client.embed(model=self.config.model, input=text)["embeddings"][0]\n')
    [call] = scan("ollama.py", code, "python")
    assert (call.kind, call.model) == ("ollama-client", "nomic-embed-text")


def test_ollamas_embed_function_imported_by_name_is_an_embedding_call_at_ollama_host():
    """ChrisTowles/rag-demo-ollama-and-pgvector: ``from ollama import embed, generate`` then
    ``embed(model=OLLAMA_EMBEDDING_MODEL, input=chunk)``: the module's client, which reads OLLAMA_HOST, embeds with
    the module constant's model; the app's own function of that name (``def embed(...)``) is no call."""
    from harness.locate.embedding_calls import scan

    code = ('from ollama import embed, generate\n\nOLLAMA_EMBEDDING_MODEL = "nomic-embed-text"\n\n'
            'def chunks(text):\n    return [embed(model=OLLAMA_EMBEDDING_MODEL, input=c) for c in text.split()]\n\n'
            'def answer(p):\n    return generate(model="llama3.2", prompt=p)["response"]\n')
    [call] = scan("ollama_utils.py", code, "python")
    assert (call.line, call.kind, call.name, call.model, call.url, call.url_env) == (
        6, "ollama-client", "embed", "nomic-embed-text", None, "OLLAMA_HOST"), call
    own = 'from ollama import embed as ollama_embed\n\ndef embed(texts):\n    return ollama_embed(model="all-minilm", input=texts)\n'
    assert [(c.line, c.name, c.model) for c in scan("e.py", own, "python")] == [(4, "ollama_embed", "all-minilm")]


@pytest.mark.parametrize("imported", ["from ollama import embed  # the vectors\n",
                                      "from ollama import (\n    generate,  # answers\n    embed  # the vectors\n)\n"])
def test_ollamas_embed_function_imported_beside_a_comment_is_an_embedding_call(imported):
    """A comment after the imported name was read as part of it: locate found no embedding call."""
    from harness.locate.embedding_calls import scan

    code = imported + '\ndef vectors(texts):\n    return embed(model="nomic-embed-text", input=texts)\n'
    assert [(c.name, c.model) for c in scan("e.py", code, "python")] == [("embed", "nomic-embed-text")]


@pytest.mark.parametrize("path, code, lang, dims, env", [
    ("embed.ts", 'import { OllamaEmbeddings } from "@langchain/ollama";\n'
                 'const e = new OllamaEmbeddings({ model: "nomic-embed-text", dimensions: 256 });\n', "js", 256, None),
    ("embed.py", 'import os\nimport ollama\n\ndef embed(texts):\n    return ollama.embed(model="nomic-embed-text", '
                 'input=texts, dimensions=int(os.getenv("EMBED_DIMENSIONS", "256")))\n', "python", 256,
     "EMBED_DIMENSIONS"),
    ("embed.ts", 'import ollama from "ollama";\nconst dimensions = Number(process.env.EMBED_DIMENSIONS ?? "256");\n'
                 'export const embed = (input: string[]) => ollama.embed({ model: "nomic-embed-text", input, dimensions });\n',
     "js", 256, "EMBED_DIMENSIONS"),
    ("embed.js", 'const OLLAMA = "http://localhost:11434";\nawait fetch(`${OLLAMA}/api/embed`, { method: "POST", '
                 'body: JSON.stringify({ model: "nomic-embed-text", input, dimensions: 256 }) });\n', "js", 256, None),
])
def test_the_dimensions_an_ollama_embedder_call_asks_for_are_read(path, code, lang, dims, env):
    """Matryoshka truncation: Ollama's ``dimensions`` in the same call as the embedder, literal or from the env."""
    from harness.locate.embedding_calls import scan

    [call] = scan(path, code, lang)
    assert (call.model, call.dimensions, call.dimensions_env) == ("nomic-embed-text", dims, env)


def test_an_ollama_embedder_call_without_dimensions_asks_for_none():
    from harness.locate.embedding_calls import scan

    [call] = scan("embed.py", 'import ollama\nollama.embed(model="nomic-embed-text", input=texts)\n', "python")
    assert call.dimensions is None and call.dimensions_env is None


def test_a_sparse_embedder_makes_no_vector_a_vector_column_holds_and_is_not_listed():
    """fastembed's SparseTextEmbedding (BM25, SPLADE) beside a dense store: no model of a vector column."""
    from harness.locate.embedding_calls import scan

    code = ('from fastembed import SparseTextEmbedding\n\nclass Store:\n    def __init__(self):\n'
            '        self.sparse = SparseTextEmbedding(model_name="Qdrant/bm25")\n')
    assert scan("qdrant.py", code, "python") == []


def test_a_typescript_module_that_only_declares_is_no_script_whatever_its_name(tmp_path):
    """A store's module (`vector_stores/vectorize.ts`, Cloudflare Vectorize) exports a class and runs nothing: no
    entrypoint, so never the draft's backfill.command. A script named so that runs code at its top level is one."""
    src = tmp_path / "src" / "vector_stores"
    src.mkdir(parents=True)
    (tmp_path / "package.json").write_text('{"name": "lib", "devDependencies": {"ts-node": "1"}}')
    (src / "vectorize.ts").write_text(
        'import { VectorStore } from "./base";\n\ninterface VectorizeConfig {\n  indexName: string;\n}\n\n'
        'export class VectorizeDB implements VectorStore {\n  async insert(v: number[][]) {\n'
        '    await this.client.upsert(v);\n  }\n}\n')
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "reindex.ts").write_text(
        'import { reembed } from "../src/reembed";\n\nasync function main() {\n  await reembed();\n}\n\n'
        'main().catch((e) => { console.error(e); process.exit(1); });\n')
    paths = [e.path for e in locate(tmp_path).entrypoints]
    assert "src/vector_stores/vectorize.ts" not in paths and "scripts/reindex.ts" in paths


def test_a_js_table_a_typed_method_returns_through_a_quoting_helper_is_named_by_the_attribute_it_quotes():
    """mem0-ts: `CREATE TABLE IF NOT EXISTS ${this.col()} (... vector(${dims}) ...)`, `private col(): string {
    return escapeIdentifier(this.collectionName); }`: no literal default, so the table is the attribute, in braces."""
    from harness.locate.schema import scan

    code = ('class Store {\n  private col(): string {\n    return escapeIdentifier(this.collectionName);\n  }\n\n'
            '  async create(dims: number) {\n    await this.client.query(`\n      CREATE TABLE IF NOT EXISTS ${this.col()} (\n'
            '        id UUID PRIMARY KEY,\n        vector vector(${dims}),\n        payload JSONB\n      );\n    `);\n  }\n}\n')
    [found] = scan("store.ts", code, "js")
    assert (found.table, found.column, found.dimensions) == ("{this.collectionName}", "vector", None)


R2R_LIKE_TOML = '''[app]
quality_llm = "ollama/llama3.1"

[embedding]
provider = "ollama"
base_model = "mxbai-embed-large"
base_dimension = 1_024
batch_size = 128

[completion_embedding]  # the same, for queries
provider = "litellm"
base_model = "ollama/nomic-embed-text"
base_dimension = 768

[completion]
provider = "litellm"
'''


def test_a_configuration_files_embedding_section_names_the_model_and_its_dimension(tmp_path):
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "ollama.toml").write_text(R2R_LIKE_TOML)
    (tmp_path / "configs" / "openai.toml").write_text('[embedding]\nprovider = "litellm"\n'
                                                      'base_model = "openai/text-embedding-3-small"\n')
    calls = {(c.path, c.line, c.kind, c.name, c.model, c.dimensions) for c in locate(tmp_path).embedding_calls}
    assert calls == {
        ("configs/ollama.toml", 6, "ollama-config", "[embedding] base_model", "mxbai-embed-large", 1024),
        # a LiteLLM name `ollama/NAME` is Ollama's NAME
        ("configs/ollama.toml", 12, "ollama-config", "[completion_embedding] base_model", "nomic-embed-text", 768),
        ("configs/openai.toml", 3, "config", "[embedding] base_model", "openai/text-embedding-3-small", None)}


RAW_SQL_STORE = '''"""A store writing raw SQL through asyncpg (the shape of R2R's handlers)."""
from pgvector.asyncpg import register_vector


class Vector:
    def __repr__(self):
        return f"Vector(data={self.data}, length={self.length})"


class Passages:
    async def create_tables(self):
        await self.conn.execute(f"""
        CREATE TABLE IF NOT EXISTS {self.schema}.documents (id UUID PRIMARY KEY, title TEXT);
        ALTER TABLE {self.schema}.documents ADD COLUMN IF NOT EXISTS summary TEXT;
        """)
        vector_col = f"embedding vector({self.dimension})" if self.dimension > 0 else "embedding vector"
        await self.conn.execute(f"""
        CREATE TABLE IF NOT EXISTS passages (
            id UUID PRIMARY KEY,
            {vector_col},
            text TEXT
        );
        """)

    async def search(self, query):
        return await self.conn.fetch(f"""
        SELECT id, (embedding <=> $1::vector({self.dimension})) AS distance FROM passages ORDER BY 2 LIMIT 5
        """, query)
'''


def test_a_column_held_in_a_variable_is_declared_by_the_create_table_it_is_interpolated_into(tmp_path):
    """`vector_col = f"embedding vector({d})"` then `CREATE TABLE passages (..., {vector_col}, ...)`: the table's
    declaration (dimension unknown); a later query's cast and an application's own `Vector(data=...)` are none."""
    (tmp_path / "store.py").write_text(RAW_SQL_STORE)
    declared = [(d.path, d.line, d.table, d.column, d.dimensions) for d in locate(tmp_path).declarations]
    assert declared == [("store.py", 16, "passages", "embedding", None)], declared


def test_a_yaml_configurations_embedding_mapping_names_the_model_and_its_dimension(tmp_path):
    (tmp_path / "config.yaml").write_text("llm:\n  model: llama3.1\nembedder:\n  provider: ollama\n  config:\n"
                                          "    model: nomic-embed-text  # the Ollama name\n    embedding_dims: 768\n"
                                          "    dimensions: 768\nvector_store:\n  model: not-this-one\n")
    calls = [(c.line, c.kind, c.name, c.model, c.dimensions) for c in locate(tmp_path).embedding_calls]
    assert calls == [(6, "ollama-config", "embedder model", "nomic-embed-text", 768)], calls

RUNTIME_COLLECTIONS = {
    "app/vector/pg.py": """from sqlalchemy import JSON, Column
from sqlalchemy.orm import Mapped, mapped_column


class PGAdapter:
    async def create_collection(self, collection_name: str):
        from pgvector.sqlalchemy import Vector

        class PGDataPoint(Base):
            __tablename__ = collection_name
            id: Mapped[UUID] = mapped_column(primary_key=True)
            payload = Column(JSON)
            vector = Column(Vector(self.dimensions))
""",
    "app/vector/lancedb/adapter.py": """from lancedb.pydantic import LanceModel, Vector
from sqlalchemy import JSON


class LanceAdapter:
    def model(self, size):
        class LanceDataPoint(LanceModel):
            id: str
            vector: Vector(size)
        return LanceDataPoint
""",
    "app/vector/own.py": """from app.vector.types import Vector
from sqlalchemy import Column


class Note(Base):
    __tablename__ = "notes"
    embedding = Column(Vector(384))
"""}


def test_a_table_named_at_runtime_is_its_variable_and_another_librarys_vector_type_is_no_column(tmp_path):
    """cognee: `__tablename__ = collection_name` in a class made per collection is a table named by that variable,
    not the class; LanceDB's `Vector(size)` (`from lancedb.pydantic import Vector`) is no pgvector column; a
    `Vector` the application's own module exports still is."""
    for rel, text in RUNTIME_COLLECTIONS.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    declared = sorted((d.path, d.table, d.column, d.dimensions) for d in locate(tmp_path).declarations)
    assert declared == [("app/vector/own.py", "notes", "embedding", 384),
                        ("app/vector/pg.py", "{collection_name}", "vector", None)], declared


ENV_TEMPLATE_WITH_PROVIDER_BLOCKS = """# -- Embedding Provider ------------------------------------------
#EMBEDDING_PROVIDER="openai"
#EMBEDDING_MODEL="openai/text-embedding-3-large"
#EMBEDDING_DIMENSIONS=3072

DB_PROVIDER="sqlite"

########## Local LLM via Ollama ##################################
#LLM_MODEL="llama3.1:8b"
#LLM_PROVIDER="ollama"
#EMBEDDING_PROVIDER="ollama"
#EMBEDDING_MODEL="nomic-embed-text:latest"
#EMBEDDING_ENDPOINT="http://localhost:11434/api/embed"
#EMBEDDING_DIMENSIONS=768

########## LiteLLM names ##########################################
EMBEDDING_MODEL=ollama/mxbai-embed-large
EMBEDDING_DIMENSIONS=1024
"""


def test_an_env_templates_block_choosing_an_embedding_provider_names_its_model_and_dimension(tmp_path):
    """cognee's `.env.template`: a block of settings (commented alternatives included) that sets the embedding
    provider to ollama with the model, endpoint and dimension beside it is the Ollama embedder's configuration; the
    chat model (`LLM_MODEL`) in the same block is not; a LiteLLM name `ollama/NAME` is Ollama's NAME."""
    (tmp_path / ".env.template").write_text(ENV_TEMPLATE_WITH_PROVIDER_BLOCKS)
    calls = [(c.line, c.kind, c.model, c.model_env, c.url, c.dimensions, c.dimensions_env)
             for c in locate(tmp_path).embedding_calls]
    assert calls == [(3, "config", "openai/text-embedding-3-large", "EMBEDDING_MODEL", None, 3072, "EMBEDDING_DIMENSIONS"),
                     (12, "ollama-config", "nomic-embed-text:latest", "EMBEDDING_MODEL", "http://localhost:11434", 768,
                      "EMBEDDING_DIMENSIONS"),
                     (17, "ollama-config", "mxbai-embed-large", "EMBEDDING_MODEL", None, 1024, "EMBEDDING_DIMENSIONS")], calls


def test_of_a_build_step_and_its_forced_variant_the_forced_one_is_the_backfill():
    """nextjs-openai-doc-search: `embeddings` skips every page whose checksum is unchanged, leaving the vectors of an
    earlier model or of a section edited in the database; `embeddings:refresh` (`--refresh`) re-embeds them all."""
    found = locate(FIXTURES / "ts-supabase-docs-checksum")
    assert [e.name for e in found.entrypoints][:2] == ["embeddings:refresh", "embeddings"]
    assert found.best_entrypoint.command == "npm run embeddings:refresh"  # no lock file: npm


_DISPATCHING_MAIN = '''import asyncio, sys
from openai import AsyncOpenAI


async def insert_section(pool, client, section):
    embedding = await client.embeddings.create(input=section.text, model="text-embedding-3-small")
    await pool.execute("INSERT INTO doc_sections (url, embedding) VALUES ($1, $2)", section.url, embedding)


async def build_search_db():
    for section in await fetch_sections():
        TASKS.start_soon(insert_section, POOL, AsyncOpenAI(), section)


async def run_agent(question):
    print(await AGENT.run(question))


if __name__ == "__main__":
    action = sys.argv[1] if len(sys.argv) > 1 else None
    if action == "search":
        asyncio.run(run_agent(sys.argv[2]))
    elif action == "build":
        asyncio.run(build_search_db())
'''


def test_a_module_whose_main_dispatches_to_an_action_that_embeds_and_inserts_is_that_actions_entrypoint(tmp_path):
    """pydantic-ai's rag.py: no backfill in its name, but `python rag.py build` embeds each section and INSERTs it,
    while `search` only reads: the entrypoint is the module with the action that writes."""
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "rag.py").write_text(_DISPATCHING_MAIN)
    (tmp_path / "examples" / "chat.py").write_text(_DISPATCHING_MAIN.replace("INSERT INTO doc_sections", "SELECT 1 FROM"))
    found = [(e.path, e.command) for e in locate(tmp_path).entrypoints]
    assert found == [("examples/rag.py", "python examples/rag.py build")], found


def test_a_text_joined_from_labelled_parts_in_a_file_that_embeds_is_read_as_those_parts():
    """pydantic-ai's rag.py embeds `'\\n\\n'.join((f'path: {self.path}', f'title: {self.title}', self.content))`:
    the parts as chunks.text says them (labels around the attribute's name), with the separator and where."""
    from harness.locate.contract import composed_texts_in

    code = ('from openai import AsyncOpenAI\n\n\nclass Section:\n    def embedding_content(self) -> str:\n'
            "        return '\\n\\n'.join((f'path: {self.path}', f'title: {self.title}', self.content))\n\n\n"
            'async def embed(client, s):\n    await client.embeddings.create(input=s.embedding_content(), model="m")\n'
            "    print('\\n'.join(f'# {r.title}' for r in ROWS))\n")
    assert composed_texts_in("rag.py", code, True) == (("\n\n", ("path: {path}", "title: {title}", "content"), "rag.py:6"),)
    assert composed_texts_in("rag.py", code, False) == ()


def test_a_js_template_literal_handed_to_the_embedder_as_its_input_is_read_as_one_labelled_part():
    """learn-vector-search-with-pg: `const input` set to the template literal `The job role is "${job.role}". The job
    description is ${job.description}`, then `body: JSON.stringify({model, input})`: one labelled part of the row's columns. A
    template literal the embedder is not given (a log line, a URL) composes nothing."""
    from harness.locate.contract import composed_texts_in

    code = ("async function run(job) {\n  const input = `The job role is \"${job.role}\". The job description is "
            "${job.description}`;\n  const url = `${base}/v1/embeddings`;\n"
            "  await fetch(url, {body: JSON.stringify({model: 'm', input})});\n"
            "  console.log(`Updated embedding for job id ${job.id}`);\n}\n")
    assert composed_texts_in("command/jobs.js", code, True) == (
        ("", ('The job role is "{role}". The job description is {description}',), "command/jobs.js:2"),)
    assert composed_texts_in("command/jobs.js", code, False) == ()


# PrivateGPT's shape (zylon-ai/private-gpt before its v1 revamp): settings in YAML profiles filled into pydantic models,
# the embedder and the LlamaIndex store built from attributes of the settings object.
YAML_SETTINGS_APP = {
    "settings.yaml": "embedding:\n  mode: huggingface\n  embed_dim: 768 # for nomic-embed-text\nollama:\n"
                     "  llm_model: llama3.1\n  embedding_model: nomic-embed-text\n"
                     "  embedding_api_base: http://localhost:11434  # another ollama\npostgres:\n  host: localhost\n"
                     "  schema_name: private_gpt\n",
    "settings-ollama-pg.yaml": "embedding:\n  mode: ollama\n  embed_dim: 768\nollama:\n  embedding_model: nomic-embed-text\n"
                               "  api_base: http://localhost:11434\n",
    "settings-docker.yaml": "ollama:\n  embedding_model: ${PGPT_OLLAMA_EMBEDDING_MODEL:nomic-embed-text}\n"
                            "  embedding_api_base: ${PGPT_OLLAMA_EMBEDDING_API_BASE:http://ollama:11434}\n",
    "app/embedding.py": """from llama_index.embeddings.ollama import OllamaEmbedding


class EmbeddingComponent:
    def __init__(self, settings: Settings) -> None:
        ollama_settings = settings.ollama
        model_name = (
            ollama_settings.embedding_model + ":latest"
            if ":" not in ollama_settings.embedding_model
            else ollama_settings.embedding_model
        )
        self.embedding_model = OllamaEmbedding(
            model_name=model_name,
            base_url=ollama_settings.embedding_api_base,
        )
""",
    "app/store.py": """from llama_index.vector_stores.postgres import PGVectorStore


class VectorStoreComponent:
    def __init__(self, settings: Settings) -> None:
        self.vector_store = PGVectorStore.from_params(
            **settings.postgres.model_dump(exclude_none=True),
            table_name="embeddings",
            embed_dim=settings.embedding.embed_dim,
        )
""",
}


def _write(root, files):
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_an_embedders_model_and_url_read_from_a_yaml_filled_settings_object_are_the_values_its_files_give(tmp_path):
    """`OllamaEmbedding(model_name=model_name, base_url=ollama_settings.embedding_api_base)` with
    `ollama_settings = settings.ollama`: the model is `ollama.embedding_model` of the YAML files (an interpolation's
    default counted), the URL the value most files give (a variable only one profile reads is not the URL's)."""
    _write(tmp_path, YAML_SETTINGS_APP)
    [call] = [c for c in locate(tmp_path).embedding_calls if c.name == "OllamaEmbedding"]
    assert (call.model, call.model_env, call.url, call.url_env) == (
        "nomic-embed-text", None, "http://localhost:11434", None), call


def test_a_llamaindex_stores_dimension_and_schema_given_as_settings_are_the_values_its_yaml_files_give(tmp_path):
    """`embed_dim=settings.embedding.embed_dim` is 768 (never LlamaIndex's default 1536), and the table is in the
    schema the settings' `postgres.schema_name` names, which `**settings.postgres.model_dump()` passes."""
    _write(tmp_path, YAML_SETTINGS_APP)
    declared = [(d.path, d.table, d.column, d.dimensions) for d in locate(tmp_path).declarations]
    assert declared == [("app/store.py", "private_gpt.data_embeddings", "embedding", 768)], declared


def test_a_llamaindex_stores_dimension_from_a_setting_no_file_gives_is_unknown_not_the_librarys_default(tmp_path):
    _write(tmp_path, {"app/store.py": YAML_SETTINGS_APP["app/store.py"]})
    declared = [(d.table, d.dimensions) for d in locate(tmp_path).declarations]
    assert declared == [("data_embeddings", None)], declared


def test_a_setting_no_yaml_file_gives_is_the_default_its_settings_class_declares(tmp_path):
    """No YAML file sets `ollama.embedding_api_base` (PrivateGPT's settings-ollama-pg.yaml sets only `api_base`):
    the URL is the default of the field of the class `Settings.ollama` is annotated with."""
    files = {k: v for k, v in YAML_SETTINGS_APP.items() if k in ("app/embedding.py", "settings-ollama-pg.yaml")}
    files["app/settings.py"] = '''from pydantic import BaseModel, Field


class OllamaSettings(BaseModel):
    api_base: str = Field(
        "http://localhost:11434",
        description="Base URL of Ollama API. Example: 'https://localhost:11434'.",
    )
    embedding_api_base: str = Field(
        "http://localhost:11435",
        description="Base URL of Ollama embedding API. Example: 'https://localhost:11434'.",
    )
    embedding_model: str = Field(None, description="Model to use.")


class OtherSettings(BaseModel):
    embedding_api_base: str = "http://elsewhere:1"


class Settings(BaseModel):
    ollama: OllamaSettings
    other: OtherSettings | None = None
'''
    _write(tmp_path, files)
    [call] = [c for c in locate(tmp_path).embedding_calls if c.name == "OllamaEmbedding"]
    assert (call.model, call.url) == ("nomic-embed-text", "http://localhost:11435"), call


def test_a_llamaindex_store_in_a_schema_named_by_a_literal_is_declared_in_that_schema(tmp_path):
    (tmp_path / "store.py").write_text('from llama_index.vector_stores.postgres import PGVectorStore\n\n'
                                       'store = PGVectorStore.from_params(database="db", table_name="docs", '
                                       'schema_name="RAG", embed_dim=384)\n')
    declared = [(d.table, d.dimensions) for d in locate(tmp_path).declarations]
    assert declared == [("rag.data_docs", 384)], declared


def test_a_settings_attribute_one_level_deep_is_not_looked_up_in_every_yaml_file(tmp_path):
    """`OpenAIEmbedding(model=config.model)`: a top-level `model:` of some YAML file (here a chat model's) is not the
    embedder's model."""
    _write(tmp_path, {"chat.yaml": "model: gpt-4o\n", "app/embed.py": (
        "from llama_index.embeddings.openai import OpenAIEmbedding\n\n\ndef embedder(config):\n"
        "    return OpenAIEmbedding(model=config.model)\n")})
    [call] = locate(tmp_path).embedding_calls
    assert call.model is None, call


def test_another_calls_keyword_argument_on_its_own_line_is_no_assignment_of_that_name(tmp_path):
    """`model_name=settings.huggingface.embedding_hf_model_name,` inside the call before is an argument there, not
    what `model_name` holds when `OllamaEmbedding(model_name=model_name)` is called (a parameter here)."""
    _write(tmp_path, {**YAML_SETTINGS_APP, "huggingface.yaml": "huggingface:\n  embedding_hf_model_name: bge-small\n",
                      "app/embedding.py": (
        "from llama_index.embeddings.huggingface import HuggingFaceEmbedding\n"
        "from llama_index.embeddings.ollama import OllamaEmbedding\n\n\n"
        "def local(settings):\n    return HuggingFaceEmbedding(\n"
        "        model_name=settings.huggingface.embedding_hf_model_name,\n    )\n\n\n"
        "def ollama(model_name):\n    return OllamaEmbedding(model_name=model_name)\n")})
    models = {c.name: c.model for c in locate(tmp_path).embedding_calls}
    assert models == {"HuggingFaceEmbedding": "bge-small", "OllamaEmbedding": None}, models


def test_a_yaml_setting_given_as_null_is_no_model(tmp_path):
    """`embedding_model: null` (or `~`) is YAML's null: no value, never a model named 'null'."""
    for given in ("null", "~"):
        root = tmp_path / given.replace("~", "tilde")
        _write(root, {"app/embedding.py": YAML_SETTINGS_APP["app/embedding.py"],
                      "settings.yaml": f"ollama:\n  embedding_model: {given}\n  embedding_api_base: http://localhost:11434\n"})
        [call] = locate(root).embedding_calls
        assert call.model is None, (given, call)


def test_a_yaml_settings_shell_style_default_is_the_value_after_its_dash(tmp_path):
    """`${PGPT_MODEL:-nomic-embed-text}` (the shell's form) defaults to 'nomic-embed-text', not '-nomic-embed-text'."""
    _write(tmp_path, {"app/embedding.py": YAML_SETTINGS_APP["app/embedding.py"],
                      "settings.yaml": "ollama:\n  embedding_model: ${PGPT_MODEL:-nomic-embed-text}\n"
                                       "  embedding_api_base: http://localhost:11434\n"})
    [call] = locate(tmp_path).embedding_calls
    assert (call.model, call.model_env) == ("nomic-embed-text", "PGPT_MODEL"), call


def test_a_settings_root_name_assigned_a_part_of_the_settings_reads_below_that_part(tmp_path):
    """`cfg = settings.rag` then `cfg.embedding.model`: the model is `rag.embedding.model`, not the top-level
    `embedding.model` (another component's) that the bare name `cfg` would read from the settings' root."""
    _write(tmp_path, {"settings.yaml": "embedding:\n  model: all-minilm\nrag:\n  embedding:\n    model: nomic-embed-text\n",
                      "app/embed.py": ("from llama_index.embeddings.ollama import OllamaEmbedding\n\n\n"
                                       "def embedder(settings):\n    cfg = settings.rag\n"
                                       "    return OllamaEmbedding(model_name=cfg.embedding.model)\n")})
    [call] = [c for c in locate(tmp_path).embedding_calls if c.name == "OllamaEmbedding"]
    assert call.model == "nomic-embed-text", call


DJANGO_OLLAMA_APP = {
    "labs/manage.py": ('import os\nimport sys\n\nif __name__ == "__main__":\n'
                       '    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")\n'
                       '    from django.core.management import execute_from_command_line\n'
                       '    execute_from_command_line(sys.argv)\n'),
    "labs/config/__init__.py": "",
    "labs/config/settings.py": ('import os\n\nDEBUG = True\n'
                                'LOCAL_LLM_HOST = os.environ.get("LOCAL_LLM_HOST", "http://ollama:11434")\n'),
    "labs/embeddings/__init__.py": "",
    "labs/embeddings/ollama.py": ("from django.conf import settings\nfrom ollama import Client\n\n\n"
                                 "class OllamaEmbedder:\n    def __init__(self, model):\n"
                                 "        self._model_name = model.name\n"
                                 "        self._client = Client(settings.LOCAL_LLM_HOST)\n\n"
                                 "    def embed(self, prompt):\n"
                                 "        return self._client.embed(self._model_name, prompt)\n"),
}


def test_an_ollama_client_given_a_django_setting_as_its_host_reads_that_settings_env_variable(tmp_path):
    """runtimerevolution/labs: ``Client(settings.LOCAL_LLM_HOST)`` passes the host positionally, from the Django
    settings module manage.py names (``LOCAL_LLM_HOST = os.environ.get("LOCAL_LLM_HOST", ...)``): the URL is that
    variable's, never OLLAMA_HOST, which a client given a host does not read."""
    _write(tmp_path, DJANGO_OLLAMA_APP)
    [call] = locate(tmp_path).embedding_calls
    assert (call.kind, call.url, call.url_env) == ("ollama-client", "http://ollama:11434", "LOCAL_LLM_HOST"), call


def test_an_ollama_client_given_its_host_positionally_embeds_there(tmp_path):
    """``Client("http://gpu-box:11434")``: the first positional argument of the ollama clients is the host."""
    from harness.locate.embedding_calls import scan

    code = ('from ollama import Client\n\nclient = Client("http://gpu-box:11434")\n\n\ndef embed(texts):\n'
            '    return client.embed(model="nomic-embed-text", input=texts)\n')
    [call] = scan("embed.py", code, "python")
    assert (call.url, call.url_env) == ("http://gpu-box:11434", None), call


@pytest.mark.parametrize("code, expected", [
    # labs' OpenAIEmbedder: LiteLLM's function, its model from the argument it is given
    ("from litellm import embedding\n\n\ndef embed(texts, name):\n    return embedding(model=name, input=texts)\n",
     ("litellm", "embedding", None, None, None)),
    # routed to Ollama (`ollama/NAME`) at the api_base it is given
    ('import litellm\n\nresult = litellm.embedding(model="ollama/nomic-embed-text", input=["a"],\n'
     '                           api_base="http://gpu-box:11434")\n',
     ("ollama-litellm", "embedding", "nomic-embed-text", "http://gpu-box:11434", None)),
    ('from litellm import aembedding\n\nasync def embed(texts):\n'
     '    return await aembedding(model="text-embedding-3-small", input=texts)\n',
     ("litellm", "aembedding", "text-embedding-3-small", None, None)),
])
def test_a_litellm_embedding_call_is_an_embedding_call_with_its_model_and_url(code, expected):
    from harness.locate.embedding_calls import scan

    [call] = scan("embed.py", code, "python")
    assert (call.kind, call.name, call.model, call.url, call.url_env) == expected, call


def test_a_function_named_embedding_not_imported_from_litellm_is_no_embedding_call():
    from harness.locate.embedding_calls import scan

    code = "from app.vectors import embedding\n\nvector = embedding(model=m, input=texts)\n"
    assert scan("embed.py", code, "python") == []


@pytest.mark.parametrize("code, expected", [
    # labs' GeminiEmbedder: google.generativeai's module function, its model from the row it is given
    ("import google.generativeai as genai\n\n\nclass GeminiEmbedder:\n    def __init__(self, model):\n"
     "        self._model_name = model.name\n\n    def embed(self, prompt):\n"
     "        return genai.embed_content(model=self._model_name, content=prompt)\n",
     ("gemini", "embed_content", None)),
    # the google-genai SDK's client
    ('from google import genai\n\nclient = genai.Client()\n'
     'result = client.models.embed_content(model="text-embedding-004", contents=["a", "b"])\n',
     ("gemini", "embed_content", "text-embedding-004")),
])
def test_a_google_gemini_embed_content_call_is_an_embedding_call_with_its_model(code, expected):
    from harness.locate.embedding_calls import scan

    [call] = scan("gemini.py", code, "python")
    assert (call.kind, call.name, call.model) == expected, call


@pytest.mark.parametrize("code, expected", [
    # Git-Forge: @google/generative-ai's model object, made by getGenerativeModel beside the call, its client made
    # in another module of the app (`import { genAI } from "./gemini.utils"`)
    ('import { genAI } from "./gemini.utils";\n\nexport const embed = async (summary: string) => {\n'
     '  const model = genAI.getGenerativeModel({\n    model: "text-embedding-004",\n  });\n'
     '  const result = await model.embedContent(summary);\n  return result.embedding;\n};\n',
     ("gemini", "embedContent", "text-embedding-004", 7)),
    # the model object made once at the module's top, batched
    ('import { GoogleGenerativeAI } from "@google/generative-ai";\n'
     'const genAI = new GoogleGenerativeAI(process.env.GEMINI_API_KEY!);\n'
     'const embedder = genAI.getGenerativeModel({ model: process.env.EMBED_MODEL ?? "text-embedding-004" });\n'
     'export const embedAll = (texts: string[]) => embedder.batchEmbedContents({ requests: [] });\n',
     ("gemini", "batchEmbedContents", "text-embedding-004", 4)),
    # @google/genai's client: the model in the call
    ('import { GoogleGenAI } from "@google/genai";\nconst ai = new GoogleGenAI({});\n'
     'const res = await ai.models.embedContent({ model: "gemini-embedding-001", contents: texts });\n',
     ("gemini", "embedContent", "gemini-embedding-001", 3)),
])
def test_a_google_gemini_embed_content_call_in_javascript_is_an_embedding_call_with_its_model(code, expected):
    from harness.locate.embedding_calls import scan

    [call] = scan("embed.ts", code, "js")
    assert (call.kind, call.name, call.model, call.line) == expected, call


def test_a_gemini_chat_model_made_by_get_generative_model_is_no_embedding_call():
    from harness.locate.embedding_calls import scan

    code = ('import { GoogleGenerativeAI } from "@google/generative-ai";\nconst AI_MODEL = "gemini-1.5-flash";\n'
            'export const genAI = new GoogleGenerativeAI(process.env.GEMINI_KEY!);\n'
            'export const aiModel = genAI.getGenerativeModel({ model: AI_MODEL });\n')
    assert scan("gemini.utils.ts", code, "js") == []


def test_an_embed_content_method_of_another_library_is_no_gemini_call():
    from harness.locate.embedding_calls import scan

    code = "from app.store import store\n\nstore.embed_content(model='x', content='y')\n"
    assert scan("store.py", code, "python") == []


@pytest.mark.parametrize("path, code, lang", [
    ("embed_documents.py", 'import requests\n\ndef ollama_embed_batch(ollama_url, model, texts):\n'
                           '    r = requests.post(f"{ollama_url.rstrip(\'/\')}/api/embed", json={"model": model, '
                           '"input": texts}, timeout=180)\n    return r.json()["embeddings"]\n', "python"),
    ("embed.js", 'const OLLAMA_URL = process.env.OLLAMA_URL;\nexport async function embed(input) {\n'
                 '  const r = await fetch(`${OLLAMA_URL.replace(/\\/$/, "")}/api/embed`, { method: "POST", '
                 'body: JSON.stringify({ model: "nomic-embed-text", input }) });\n  return (await r.json()).embeddings;\n}\n',
     "js"),
])
def test_an_ollama_url_whose_interpolation_holds_quotes_is_an_embedding_call(path, code, lang):
    """study-pg-hybrid-search's `requests.post(f"{ollama_url.rstrip('/')}/api/embed", ...)`: the quotes inside the
    f-string's braces ended the URL for the scan, so locate found no embedding call and ranked `make embed_all` (a loop
    over five models) above the script it runs."""
    from harness.locate.embedding_calls import scan

    [call] = scan(path, code, lang)
    assert (call.kind, call.name, call.line) == ("ollama-http", "/api/embed", 4 if lang == "python" else 3), call


def test_a_cast_in_an_index_expression_is_no_declaration_of_the_table_before_it():
    """study-pg-hybrid-search: `embedding vector` of no width, then one partial HNSW index per model on
    `(embedding::halfvec(384))`: locate listed five `document_embeddings halfvec(N)` declarations (and, in a file of
    indexes alone, five of no table) and said `Declared vector dimensions: 384, 768, 1024, 2560`."""
    from harness.locate.schema import scan

    ddl = ("CREATE TABLE document_embeddings (\n  document_id bigint NOT NULL,\n  model text NOT NULL,\n"
           "  embedding vector NOT NULL,\n  PRIMARY KEY (document_id, model)\n);\n\n"
           "-- one index per model\nCREATE INDEX document_embeddings_hnsw_384_idx\n  ON document_embeddings\n"
           "  USING hnsw ((embedding::halfvec(384)) halfvec_cosine_ops)\n  WHERE model = 'snowflake-arctic-embed:22m';\n\n"
           "CREATE INDEX IF NOT EXISTS document_embeddings_hnsw_768_idx ON document_embeddings\n"
           "  USING hnsw (CAST(embedding AS halfvec(768)) halfvec_cosine_ops) WHERE model = 'nomic-embed-text:v1.5';\n")
    assert [(d.table, d.column, d.dimensions, d.type) for d in scan("db/init/010_schema.sql", ddl, "sql")] == [
        ("document_embeddings", "embedding", None, "vector")]
    indexes_only = ddl[ddl.index("-- one index"):]
    assert scan("sql/20_create_vector_index.sql", indexes_only, "sql") == []


def test_a_table_created_in_code_after_an_index_without_a_semicolon_is_still_declared():
    from harness.locate.schema import scan

    code = ('def setup(cur):\n    cur.execute("CREATE INDEX IF NOT EXISTS notes_idx ON notes (id)")\n'
            '    cur.execute("CREATE TABLE IF NOT EXISTS notes (id int, embedding vector(384))")\n')
    assert [(d.table, d.column, d.dimensions) for d in scan("db.py", code, "python")] == [("notes", "embedding", 384)]


def test_the_schema_summary_names_each_files_declared_type_with_its_dimensions(tmp_path):
    """imara's migrations declare halfvec(3072) and halfvec(1024) columns: the summary said `declares vector(1024,
    3072)`, a type the schema does not use (a halfvec column takes halfvec values and halfvec_*_ops indexes)."""
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "001_chunks.sql").write_text(
        "create table document_chunk (id integer primary key, content text not null,\n"
        "  embedding_gemini halfvec(3072));\n"
        "alter table document_chunk add column embedding_ollama halfvec(1024);\n"
        "create table notes (id integer primary key, body text, embedding vector(768));\n")
    text = locate(tmp_path).text()
    assert "migrations/001_chunks.sql:2,3,4  [sql]  declares halfvec(1024, 3072), vector(768)" in text, text


def test_a_typescript_class_fields_model_read_through_this_is_the_embedders_model():
    """AgentF/cortex's NestJS service: ``private readonly EMBEDDING_MODEL = '...'`` then
    ``this.ollama.embeddings({ model: this.EMBEDDING_MODEL, ... })``: the field's literal is the model (locate read
    none, and the draft said the embedder reads it from ``$EMBEDDING_MODEL``, a variable the app never reads)."""
    from harness.locate.embedding_calls import scan

    code = ("import { Ollama } from 'ollama';\n\nexport class AiService {\n  private readonly ollama: Ollama;\n"
            "  private readonly EMBEDDING_MODEL = 'nomic-embed-text-v2-moe';\n  static readonly CHAT: string = 'gemma3:4b';\n\n"
            "  constructor() {\n    this.ollama = new Ollama({ host: 'http://127.0.0.1:11434' });\n  }\n\n"
            "  async embed(content: string): Promise<number[]> {\n"
            "    const response = await this.ollama.embeddings({\n      model: this.EMBEDDING_MODEL,\n"
            "      prompt: content,\n    });\n    return response.embedding;\n  }\n}\n")
    [call] = scan("ai.service.ts", code, "js")
    assert (call.kind, call.model, call.model_env, call.url) == (
        "ollama-client", "nomic-embed-text-v2-moe", None, "http://127.0.0.1:11434"), call


def test_a_vscode_launch_configurations_env_block_is_read_as_settings_with_their_values(tmp_path):
    """`.vscode/launch.json` starts the application with its `env` (JSON, comments allowed): each name's value is
    the repository's own setting, a DSN's password masked."""
    (tmp_path / ".vscode").mkdir()
    (tmp_path / ".vscode" / "launch.json").write_text(
        '{\n    // run it\n    "configurations": [{\n        "env": {\n            "OLLAMA_MODEL_EMB":"bge-m3",\n'
        '            "DATABASE_URL": "postgres://u:secret@localhost:5432/db"\n        }\n    }]\n}\n')
    found = locate(tmp_path)
    assert {(s.path, s.line, s.name, s.value) for s in found.settings if s.name != "url"} == {
        (".vscode/launch.json", 5, "OLLAMA_MODEL_EMB", "bge-m3"),
        (".vscode/launch.json", 6, "DATABASE_URL", "postgres://u:***@localhost:5432/db")}


def test_a_generated_prisma_clients_inlined_schema_declares_nothing_of_its_own():
    """Git-Forge's `generated/prisma/index.js` (and `edge.js`) carry the schema inlined as a string: the
    `schema.prisma` written beside them, read as Prisma, declares the column; the copy was two declarations with no
    table."""
    from harness.locate.schema import scan

    code = ('/* !!! This is code generated by Prisma. Do not edit directly. !!!\n/* eslint-disable */\n'
            'const config = {\n  "inlineSchema": "model SourceCodeEmbedding {\\n  id String @id\\n'
            '  summaryEmbedding Unsupported(\\"vector(768)\\")?\\n}",\n}\n')
    assert scan("server/generated/prisma/index.js", code, "js") == []
