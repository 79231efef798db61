"""locate reads structure in every common stack: vector declarations, embedding calls, configuration by pattern,
docs apart from code, the installed skill ignored, and entrypoint commands that work in workspaces."""

import json

import pytest

from harness.steps.locate import locate

from ..conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "repos"


@pytest.fixture(scope="module")
def found():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = locate(FIXTURES / name)
        return cache[name]
    return get


def decls(result):
    return {(d.path, d.table, d.column, d.dimensions, d.kind) for d in result.declarations}


def calls(result):
    return {(c.path, c.kind, c.model, c.model_env, c.url, c.url_env) for c in result.embedding_calls}


def test_drizzle_positional_dimension_and_custom_type_are_read(found):
    result = found("ts-drizzle-pnpm")
    assert ("packages/db/src/schema/notes.ts", "note_embeddings", "embedding", 768, "drizzle") in decls(result)
    assert ("packages/db/src/schema/notes.ts", "note_chunks", "embedding", 768, "drizzle-customType") in decls(result)
    assert ("packages/db/drizzle/0002_embeddings.sql", "note_embeddings", "embedding", 768, "sql") in decls(result)


def test_stale_dimensions_in_plans_and_research_are_docs_never_schema(found):
    result = found("ts-drizzle-pnpm")
    assert result.declared_dimensions == (768,)
    docs = [h.path for h in result.docs]
    assert ".planning/PHASE-2-embeddings.md" in docs and "research/embedding-models.md" in docs
    code = [h.path for h in result.service + result.schema + result.config]
    assert not [p for p in code if p.startswith((".planning", "research"))]
    assert "vector(1536)" in next(h for h in result.docs if h.path.startswith(".planning")).names


def test_smoke_checklist_is_still_found_but_a_plan_with_checkboxes_is_not_one(found):
    result = found("ts-drizzle-pnpm")
    assert [h.path for h in result.smoke] == ["docs/smoke-checklist.md"]


def test_ollama_http_call_reports_the_env_names_and_defaults_of_model_and_url(found):
    assert ("packages/db/src/embeddings.ts", "ollama-http", "nomic-embed-text", "EMBEDDING_MODEL",
            "http://localhost:11434", "OLLAMA_URL") in calls(found("ts-drizzle-pnpm"))


def test_the_embedding_service_module_is_service_code(found):
    assert "packages/db/src/embeddings.ts" in [h.path for h in found("ts-drizzle-pnpm").service]


def test_configuration_names_by_pattern_with_secrets_masked(found):
    settings = {s.name: s.value for s in found("ts-drizzle-pnpm").settings if s.path == ".env.example"}
    assert {"DATABASE_URL", "OLLAMA_URL", "EMBEDDING_MODEL"} <= set(settings)
    assert "secret-pw" not in settings["DATABASE_URL"] and "***" in settings["DATABASE_URL"]
    assert settings["url"] == "http://localhost:11434"


def test_pnpm_workspace_script_runs_from_its_package_or_through_pnpm_filter(found):
    first = found("ts-drizzle-pnpm").entrypoints[0]
    assert (first.command, first.workdir, first.package_manager) == ("pnpm run embeddings:backfill", "packages/db", "pnpm")
    assert first.runner == "pnpm --filter @notes/db run embeddings:backfill"


def test_tsx_script_runs_from_the_package_that_depends_on_tsx(found):
    script = next(e for e in found("ts-drizzle-pnpm").entrypoints if e.path.endswith("scripts/backfill.ts"))
    assert (script.command, script.workdir) == ("pnpm exec tsx src/scripts/backfill.ts", "packages/db")


def test_entrypoint_contract_follows_the_script_into_the_modules_it_imports(found):
    contract = found("ts-drizzle-pnpm").entrypoints[0].contract
    assert contract.known
    assert {"DATABASE_URL", "OLLAMA_URL", "EMBEDDING_MODEL"} <= set(contract.reads_env)
    assert "packages/db/src/embeddings.ts" in contract.files
    assert dict(contract.env_defaults)["OLLAMA_URL"] == "http://localhost:11434"
    assert contract.hardcoded_urls == () and contract.hardcoded_models == ()


def test_sqlalchemy_vector_with_a_constant_and_dim_keyword_and_alembic_alter_type(found):
    result = found("py-sqlalchemy-dsn")
    assert {("kb/models.py", "passages", "embedding", 384, "sqlalchemy"),
            ("kb/models.py", "passage_vectors", "vec", 384, "sqlalchemy"),
            ("migrations/versions/0001_vectors.py", "passages", "embedding", 384, "alembic"),
            ("migrations/versions/0001_vectors.py", "passage_vectors", "vec", 384, "sql")} <= decls(result)


def test_argparse_flags_env_defaults_and_a_hard_coded_url_are_the_contract(found):
    contract = found("py-sqlalchemy-dsn").entrypoints[0].contract
    assert {"--dsn", "--model", "--limit"} <= set(contract.flags)
    assert {"DB_DSN", "EMBEDDING_MODEL"} <= set(contract.reads_env)
    assert dict(contract.flag_env)["--dsn"] == "DB_DSN"
    assert contract.hardcoded_urls == ("http://localhost:11434/api/embeddings",)


def test_django_vector_field_in_model_and_migration(found):
    result = found("django-vectors")
    assert ("library/models.py", "library_book", "summary_embedding", 1024, "django") in decls(result)
    assert ("library/migrations/0002_embedding.py", "library_book", "summary_embedding", 1024, "django") in decls(result)


def test_django_management_command_is_an_entrypoint_with_the_ollama_client_contract(found):
    first = found("django-vectors").entrypoints[0]
    assert (first.kind, first.command) == ("django-command", "python manage.py embed_books")
    assert "OLLAMA_BASE_URL" in first.contract.reads_env
    assert first.contract.hardcoded_models == ("mxbai-embed-large",)


def test_prisma_unsupported_vector_with_mapped_names(found):
    assert ("prisma/schema.prisma", "documents", "content_embedding", 1536, "prisma") in decls(found("prisma-yarn"))


def test_openai_style_embeddings_create_with_its_model(found):
    assert any(c[1] == "openai" and c[2] == "text-embedding-3-small" for c in calls(found("prisma-yarn")))


def test_yarn_lock_makes_yarn_the_runner_and_ts_node_the_script_runner(found):
    commands = {e.command for e in found("prisma-yarn").entrypoints}
    assert {"yarn run backfill", "yarn ts-node scripts/backfill-embeddings.ts"} <= commands


def test_typeorm_column_and_knex_specific_type(found):
    result = found("ts-typeorm-knex")
    assert ("src/entities/Faq.ts", "faqs", "answerEmbedding", 512, "typeorm") in decls(result)
    assert ("migrations/20240301_faq_vectors.js", "faq_vectors", "embedding", 512, "knex") in decls(result)


def test_a_typeorm_entity_with_other_class_decorators_before_the_class_names_its_table(tmp_path):
    """ai-agentic-rag-nestjs: `@Entity({ name: "vectors" })` then `@Index(...)` decorators above `export class Vector`
    (the declaration's table was None: only a class right after `@Entity(...)` was read)."""
    (tmp_path / "vector.entity.ts").write_text(
        'import { Entity, PrimaryColumn, Column, Index } from "typeorm";\n\n'
        '@Entity({ name: "vectors" })\n@Index("vectors_collection_idx", ["collection"])\n'
        '@Index(["collection", "id"], { unique: true, where: "(collection IS NOT NULL)" })\nexport class Vector {\n'
        '  @PrimaryColumn("text")\n  id: string;\n\n  @Column({ type: "vector", nullable: true })\n'
        '  embedding?: number[];\n}\n')
    assert [(d.table, d.column, d.dimensions) for d in locate(tmp_path).declarations] == [("vectors", "embedding", None)]


def test_a_knex_specific_type_vector_of_no_width_is_declared_on_each_table_it_creates(tmp_path):
    """learn-vector-search-with-pg: `table.specificType('embedding_vector', 'vector')` in two chained createTable
    calls declares a column of no declared width on each (none found until then: only `vector(N)` was read)."""
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations/20250607_setup.js").write_text(
        "exports.up = async (knex) => {\n  await knex.raw('CREATE EXTENSION IF NOT EXISTS vector');\n"
        "  await knex.schema\n    .createTable('jobs', function (table) {\n      table.increments('id').primary();\n"
        "      table.specificType('embedding_vector', 'vector').nullable();\n    })\n"
        "    .createTable('basic_users', function (table) {\n      table.string('name');\n"
        "      table.specificType(\"embedding_vector\", \"halfvec\");\n    });\n};\n")
    assert {(d.path, d.line, d.table, d.column, d.dimensions, d.type, d.kind) for d in locate(tmp_path).declarations} == {
        ("migrations/20250607_setup.js", 6, "jobs", "embedding_vector", None, "vector", "knex"),
        ("migrations/20250607_setup.js", 10, "basic_users", "embedding_vector", None, "halfvec", "knex")}


def test_a_commander_clis_subcommands_that_embed_are_entrypoints_run_through_its_file(tmp_path):
    """learn-vector-search-with-pg: `node index.js <command>`, commander's `program.command('generate-job-embedding-vector')
    .action(generateJobEmbeddingVector)`, each action in a module of its own (no entrypoint found until then). A
    subcommand that needs an argument (`<text>`) or whose name says no embedding is none."""
    (tmp_path / "package.json").write_text('{"name": "demo", "scripts": {"start": "node index.js"}}')
    (tmp_path / "command").mkdir()
    (tmp_path / "command/generate-job-embedding-vector.js").write_text(
        "const knex = require('knex')({});\nasync function run() {\n  const jobs = await knex('jobs').select('id');\n"
        "  const r = await fetch('http://localhost:11434/api/embed', {method: 'POST', body: JSON.stringify({model: "
        "'nomic-embed-text', input: 'x'})});\n  await knex.raw('UPDATE jobs SET embedding_vector = ? WHERE id = ?', "
        "[1, 2]);\n}\nmodule.exports = run;\n")
    (tmp_path / "index.js").write_text(
        "const { Command } = require('commander');\nconst program = new Command();\n"
        "const generateJobs = require('./command/generate-job-embedding-vector');\n"
        "program.command('hello').description('Prints hello').action(() => console.log('hi'));\n"
        "program.command('generate-job-embedding-vector').description('Embed jobs').action(generateJobs);\n"
        "program.command('generate-embedding-from-text <text>').description('Print one').action(generateJobs);\n"
        "program.parse(process.argv);\n")
    found = locate(tmp_path)
    assert [(e.path, e.kind, e.name, e.command, e.workdir) for e in found.entrypoints] == [
        ("index.js", "script", "index generate-job-embedding-vector", "node index.js generate-job-embedding-vector",
         ".")], found.entrypoints
    assert found.best_entrypoint.contract.embedding_calls, found.best_entrypoint.contract


def test_ollama_js_client_with_a_hard_coded_host_and_model(found):
    contract = found("ts-typeorm-knex").entrypoints[0].contract
    assert contract.hardcoded_urls == ("http://localhost:11434",)
    assert contract.hardcoded_models == ("snowflake-arctic-embed:s",)
    assert "--limit" in contract.flags


def test_langchain_and_llamaindex_embedding_classes(found):
    got = calls(found("py-langchain"))
    assert ("ingest.py", "langchain", "nomic-embed-text", None, "http://localhost:11434", "OLLAMA_BASE_URL") in got
    assert ("ingest.py", "llamaindex", "bge-m3", None, "http://ollama:11434", None) in got


def test_sentence_transformers_is_an_in_process_embedder(found):
    result = found("py-inprocess-skill")
    assert result.embeds_in_process
    call = next(c for c in result.embedding_calls if c.in_process)
    assert (call.model, call.model_env) == ("./models/all-MiniLM-L6-v2", "EMBEDDING_MODEL_PATH")
    assert result.entrypoints[0].contract.in_process_models == ("./models/all-MiniLM-L6-v2",)


def test_inline_sql_vector_in_python_code_is_the_schema(found):
    result = found("py-inprocess-skill")
    assert ("app/db.py", "chunks", "embedding", 384, "sql") in decls(result)
    assert result.declared_dimensions == (384,)


def test_the_installed_skill_is_never_read(found):
    result = found("py-inprocess-skill")
    everything = [h.path for h in result.config + result.service + result.schema + result.smoke + result.docs]
    everything += [e.path for e in result.entrypoints] + [d.path for d in result.declarations]
    assert not [p for p in everything if p.startswith(".claude/")]
    assert 999 not in result.declared_dimensions


def test_json_has_the_new_sections_and_keeps_the_old_ones(found):
    data = found("ts-drizzle-pnpm").as_dict()
    for key in ("config", "service", "schema", "smoke", "entrypoints", "declared_dimensions", "docs", "declarations",
                "embedding_calls", "settings"):
        assert key in data
    assert data["entrypoints"][0]["contract"]["reads_env"]


def test_test_code_is_neither_service_nor_schema_nor_entrypoint(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_backfill.py").write_text(
        "from openai import OpenAI\nOpenAI().embeddings.create(model='x', input='y')\n"
        "DDL = 'CREATE TABLE t (e vector(3))'\nif __name__ == '__main__':\n    pass\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "embed.test.ts").write_text("await fetch('http://localhost:11434/api/embed')\n")
    result = locate(tmp_path)
    assert result.declarations == () and result.embedding_calls == () and result.entrypoints == ()
    assert result.service == () and result.schema == ()


def test_an_evaluation_frameworks_ingest_is_listed_but_never_the_best_entrypoint(tmp_path):
    """cognee's `python -m cognee.eval_framework.beam.local_ingest CONVERSATION_FOLDER`: named like an ingest, it
    loads a benchmark's data set into the application; it re-embeds none of the application's rows."""
    folder = tmp_path / "app" / "eval_framework" / "beam"
    folder.mkdir(parents=True)
    for parent in (tmp_path / "app", tmp_path / "app" / "eval_framework", folder):
        (parent / "__init__.py").write_text("")
    (folder / "local_ingest.py").write_text(
        "import argparse\n\ndef main():\n    p = argparse.ArgumentParser()\n    p.add_argument('conversation_folder')\n"
        "    p.parse_args()\n\nif __name__ == '__main__':\n    main()\n")
    result = locate(tmp_path)
    ingest = next(e for e in result.entrypoints if e.name.endswith("local_ingest"))
    assert not ingest.may_embed and result.best_entrypoint is None
    assert "an evaluation's or benchmark's (under app/eval_framework/)" in result.text()


def test_an_ingest_that_reads_a_language_models_settings_is_listed_but_never_the_best_entrypoint(tmp_path):
    """cognee's examples (`examples/demos/.../relational_database_migration_example.py`, `web_url_content_ingestion_
    example.py`) run `cognify`, which extracts and summarises with an LLM before it embeds: an ingest that rewrites
    its data, no re-embedding; a script named like a backfill importing the same package still is one."""
    (tmp_path / "memlib").mkdir()
    (tmp_path / "memlib" / "__init__.py").write_text("")
    (tmp_path / "memlib" / "config.py").write_text(
        "from pydantic_settings import BaseSettings\n\n\nclass LLMConfig(BaseSettings):\n    llm_model: str = 'x'\n"
        "    llm_endpoint: str = ''\n")
    (tmp_path / "scripts").mkdir()
    main = "import memlib\n\nif __name__ == '__main__':\n    memlib.run()\n"
    (tmp_path / "scripts" / "ingestion_example.py").write_text(main)
    result = locate(tmp_path)
    ingest = next(e for e in result.entrypoints if e.name == "ingestion_example")
    assert ingest.ingests_with_a_language_model == ("LLM_MODEL", "LLM_ENDPOINT") and not ingest.may_embed
    assert result.best_entrypoint is None and "an ingest that extracts or summarises with it" in result.text()
    (tmp_path / "scripts" / "backfill_embeddings.py").write_text(main)
    assert locate(tmp_path).best_entrypoint.name == "backfill_embeddings"


def test_vercel_ai_sdk_embed_with_its_model(found):
    assert ("prisma/seed.ts", "ai-sdk", "text-embedding-ada-002", None, None, None) in calls(found("prisma-yarn"))


def test_prisma_db_seed_is_an_entrypoint_followed_through_package_json_and_flag_values(found):
    seed = next(e for e in found("prisma-yarn").entrypoints if e.kind == "prisma-seed")
    assert seed.command == "yarn prisma db seed"
    assert seed.contract.known and "POSTGRES_URL" in seed.contract.reads_env
    assert "prisma/seed.ts" in seed.contract.files


def test_llamaindex_pgvectorstore_declares_its_data_table_and_dimension(found):
    assert ("store.py", "data_llamaindex_embedding", "embedding", 1024, "llamaindex") in decls(found("py-langchain"))


def test_django_meta_db_table_is_the_table_of_the_model_and_of_a_migration_naming_only_the_model(found):
    result = found("django-db-table")
    assert ("games/models.py", "games", "embedding", 384, "django") in decls(result)
    assert ("games/migrations/0002_game_embedding.py", "games", "embedding", 384, "django") in decls(result)
    assert "games_game" not in {d.table for d in result.declarations}


def test_django_meta_app_label_names_the_default_table(found):
    assert ("games/models.py", "shop_product", "embedding", 384, "django") in decls(found("django-db-table"))


def test_django_alter_model_table_renames_the_table_a_migration_added_a_vector_to(found):
    assert ("catalog/migrations/0001_item.py", "catalog_items", "vec", 768, "django") in decls(found("django-db-table"))


def test_a_django_command_reads_the_settings_module_manage_py_names(found):
    contract = next(e for e in found("django-db-table").entrypoints
                    if e.command == "python manage.py embed_games").contract
    assert "gamesite/settings.py" in contract.files
    assert contract.backfill_env() == {"DATABASE_URL": "{database_url}", "OLLAMA_HOST": "{provider_url}"}
    assert contract.hardcoded_urls == ()


def test_the_default_settings_module_of_a_django_command_is_read(found):
    assert "PGDATABASE" in found("django-vectors").entrypoints[0].contract.reads_env


def located(tmp_path, files: dict[str, str]):
    """locate over a repository of just these files (path relative to its root -> text)."""
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return locate(tmp_path)


def test_the_openai_node_v3_create_embedding_call_with_its_model(tmp_path):
    """openai@3 (Supabase's and many 2023 templates): ``new OpenAIApi(configuration).createEmbedding({ model })``."""
    result = located(tmp_path, {"lib/embed-docs.ts": (
        "import { Configuration, OpenAIApi } from 'openai'\n"
        "const openai = new OpenAIApi(new Configuration({ apiKey: process.env.OPENAI_KEY }))\n"
        "export async function embed(input: string) {\n"
        "  const res = await openai.createEmbedding({ model: 'text-embedding-ada-002', input })\n"
        "  return res.data.data[0].embedding\n}\n")})
    assert ("lib/embed-docs.ts", "openai", "text-embedding-ada-002", None, None, None) in calls(result)
    assert [s.path for s in result.service] == ["lib/embed-docs.ts"]


def test_the_openai_python_v0_embedding_create_call_with_its_engine(tmp_path):
    """openai<1 in Python: ``openai.Embedding.create(input=..., engine=...)`` (Azure's deployments name an engine)."""
    result = located(tmp_path, {"embed.py": (
        "import os\nimport openai\n\n"
        "def embed(texts):\n"
        "    return openai.Embedding.create(input=texts, engine=os.getenv('EMBED_DEPLOYMENT', 'ada-embed'))\n")})
    assert ("embed.py", "openai", "ada-embed", "EMBED_DEPLOYMENT", None, None) in calls(result)


def test_a_vector_parameter_of_a_sql_function_is_no_column_of_the_table_before_it(tmp_path):
    """Supabase's match_documents(query_embedding vector(1536), ...) follows the CREATE TABLE in one migration."""
    result = located(tmp_path, {"migrations/001_init.sql": (
        "create table sections (\n  id bigserial primary key,\n  content text,\n  embedding vector(1536)\n);\n\n"
        "create or replace function match_sections(embedding vector(1536), match_count int)\n"
        "returns table (id bigint, similarity float) language sql as $$\n"
        "  select id, (sections.embedding <#> embedding) * -1 from sections limit match_count;\n$$;\n")})
    assert [(d.line, d.table, d.column) for d in result.declarations] == [(4, "sections", "embedding")]


def test_a_cross_encoder_is_a_reranker_not_an_embedding_call(found):
    """khoj loads a CrossEncoder beside its SentenceTransformer: it scores pairs and makes no vector, and its
    model is not the embedding model."""
    got = calls(found("django-owned-notes"))
    assert ("src/notesapp/notes/encoders.py", "sentence-transformers", "small-encoder", None, None, None) in got
    assert not any(model == "tiny-reranker" for _, _, model, *_ in got)
    assert [c.name for c in found("django-owned-notes").embedding_calls] == ["SentenceTransformer"]


def test_a_management_command_that_embeds_is_an_entrypoint_whatever_its_name(found):
    """khoj's ``change_default_model`` re-embeds every entry; nothing in its name says so."""
    commands = {e.command: e for e in found("django-owned-notes").entrypoints}
    assert "python manage.py switch_encoder" in commands
    assert commands["python manage.py switch_encoder"].workdir == "src/notesapp"
    assert "python manage.py prune_files" not in commands  # a command that embeds nothing is no entrypoint


def test_a_python_package_in_a_folder_named_like_docs_is_code(found):
    """A Django app named ``notes`` is code: its models declare the schema and its commands are entrypoints."""
    result = found("django-owned-notes")
    assert ("src/notesapp/notes/models.py", "notes_note", "embedding", None, "django") in decls(result)
    assert not any(d["path"].startswith("src/notesapp/notes/") for d in (h.as_dict() if hasattr(h, "as_dict") else h.__dict__
                                                            for h in result.docs))


def test_the_settings_module_of_a_manage_py_inside_its_package_is_read(found):
    """khoj's manage.py sits in src/khoj and names khoj.app.settings: the package is rooted above the folder the
    command runs in, and the database the command uses is read there (POSTGRES_HOST, ...)."""
    command = next(e for e in found("django-owned-notes").entrypoints if e.name == "switch_encoder")
    assert {"POSTGRES_DB", "POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USER", "POSTGRES_PASSWORD"} <= set(command.env)


# -- an application's own vector store in JavaScript (the shape of anything-llm; tests/fixtures/repos/js-own-vector-store)

def test_a_create_table_in_a_js_template_literal_is_the_schema_with_its_table_from_the_env_default(found):
    result = found("js-own-vector-store")
    assert ("server/vector/pgvector.js", "notes_vectors", "embedding", None, "sql") in decls(result)
    assert "server/vector/pgvector.js" in [h.path for h in result.schema]


def test_an_applications_own_class_named_like_a_library_store_declares_no_library_table(found):
    result = found("js-own-vector-store")
    assert not [d for d in result.declarations if d.kind in ("langchain", "llamaindex")]
    assert "langchain_pg_embedding" not in {d.table for d in result.declarations}


def test_an_ollama_client_built_with_a_host_from_a_property_reports_that_property_env(found):
    assert ("server/embedders/ollama.js", "ollama-client", None, "EMBED_MODEL_NAME", None, "EMBED_BASE_URL") \
        in calls(found("js-own-vector-store"))


def test_code_generation_scripts_are_no_backfill_entrypoints(found):
    assert "npm run prisma:generate" not in [e.command for e in found("js-own-vector-store").entrypoints]


def test_a_seed_whose_contract_calls_no_embedder_is_listed_but_not_the_best_entrypoint(found):
    result = found("js-own-vector-store")
    seed = next(e for e in result.entrypoints if e.kind == "prisma-seed")
    assert seed.contract.known and not seed.contract.embedding_calls and not seed.may_embed
    assert result.best_entrypoint is None
    assert "not taken as the backfill" in result.text()


def test_a_seed_that_embeds_may_still_be_the_backfill(found):
    seed = next(e for e in found("prisma-yarn").entrypoints if e.kind == "prisma-seed")
    assert seed.contract.embedding_calls and seed.may_embed


def test_a_connection_string_env_of_any_prefix_is_a_database_setting(found):
    from harness.locate.config import kind_of

    names = {s.name for s in found("js-own-vector-store").settings}
    assert "NOTES_VECTOR_CONNECTION_STRING" in names and kind_of("NOTES_VECTOR_CONNECTION_STRING") == "database"


def test_a_route_file_path_or_the_apps_own_api_under_api_embed_is_no_ollama_call(found):
    paths = {c.path for c in found("js-own-vector-store").embedding_calls}
    assert "server/swagger/init.js" not in paths and "frontend/src/widget.jsx" not in paths
    assert "server/embedders/ollama.js" in paths


# -- a LangChain store subclassed by the application, settings read through its own helper (rag_api's shape) -------

def test_a_subclass_of_a_library_store_declares_the_librarys_table(found):
    assert ("kb/store.py", "langchain_pg_embedding", "embedding", None, "langchain") in decls(found("py-langchain-subclass"))


def test_env_read_through_the_applications_own_getenv_helper_names_the_embedders_url_and_model(found):
    ollama = next(c for c in found("py-langchain-subclass").embedding_calls if c.name == "OllamaEmbeddings")
    assert (ollama.url_env, ollama.url) == ("KB_OLLAMA_URL", "http://ollama:11434")


def test_a_tei_endpoint_embedder_is_not_in_process(found):
    tei = next(c for c in found("py-langchain-subclass").embedding_calls if c.name == "HuggingFaceEndpointEmbeddings")
    assert not tei.in_process


def test_a_model_passed_as_an_argument_is_followed_to_the_caller_and_an_ambiguous_default_is_not_taken(found):
    ollama = next(c for c in found("py-langchain-subclass").embedding_calls if c.name == "OllamaEmbeddings")
    # make_embeddings(KB_PROVIDER, KB_EMBED_MODEL): the env name is certain; its default differs by provider.
    assert (ollama.model_env, ollama.model) == ("KB_EMBED_MODEL", None)


def test_constants_that_name_each_other_end_the_search_for_a_value():
    from harness.locate.embedding_calls import scan

    [call] = scan("loop.py", "A = B\nB = A\nemb = OllamaEmbeddings(model=A)\n", "python")
    assert (call.model, call.model_env) == (None, None)

def test_sql_in_a_json_string_names_its_table_and_column_through_the_escaped_quotes(found):
    # drizzle's compiled migrations.json: `CREATE TABLE IF NOT EXISTS \"embeddings\"` read as table "IF",
    # column `embeddings\` before.
    compiled = {d for d in decls(found("ts-drizzle-kit-json")) if d[0] == "packages/database/src/core/migrations.json"}
    assert compiled == {("packages/database/src/core/migrations.json", "embeddings", "embeddings", 1024, "sql")}


def test_a_drizzle_kit_snapshot_names_the_table_and_column_of_each_vector_type(found):
    snapshot = {d for d in decls(found("ts-drizzle-kit-json"))
                if d[0] == "packages/database/migrations/meta/0001_snapshot.json"}
    assert snapshot == {("packages/database/migrations/meta/0001_snapshot.json", "embeddings", "embeddings", 1024, "json"),
                        ("packages/database/migrations/meta/0001_snapshot.json", "rag.archived_embeddings", "vec", 512, "json")}
    line = {d.line for d in found("ts-drizzle-kit-json").declarations
            if d.path.endswith("0001_snapshot.json") and d.column == "embeddings"}
    assert line == {27}  # the line of its "type": "vector(1024)"


def test_no_declaration_without_a_table_in_a_drizzle_kit_project(found):
    assert [d for d in found("ts-drizzle-kit-json").declarations if d.table is None or d.column is None] == []


def test_a_setting_whose_value_names_the_embedding_model_is_found_under_a_name_of_its_own(found):
    # lobe-chat chooses its embedder with DEFAULT_FILES_CONFIG="embedding_model=ollama/..." (commented out in
    # .env.example): a name no pattern knows, a value that says what it is.
    settings = {(s.path, s.name): s.value for s in found("ts-drizzle-kit-json").settings}
    assert settings[(".env.example", "DEFAULT_FILES_CONFIG")] == \
        "embedding_model=ollama/mxbai-embed-large,reranker_model=cohere/rerank-english-v3.0"
    assert (".env.example", "FEATURE_FLAGS") not in settings
    config = next(h for h in found("ts-drizzle-kit-json").config if h.path == ".env.example")
    assert "DEFAULT_FILES_CONFIG" in config.names and "OLLAMA_PROXY_URL" in config.names


def test_translation_catalogs_are_never_embedding_service_code(found):
    # lobe-chat: the Ollama setup guide's strings in 19 languages were listed as "Embedding service code".
    result = found("ts-drizzle-kit-json")
    code = [h.path for h in result.service + result.schema + result.config]
    assert not [p for p in code if "locales/" in p], code


def test_a_vector_type_chosen_once_under_a_module_level_name_is_still_a_declaration(found):
    """Open WebUI's ``VECTOR_TYPE_FACTORY = HALFVEC if USE_HALFVEC else Vector`` then ``Column(VECTOR_TYPE_FACTORY(dim=...))``:
    the called name is an alias of a pgvector type; its dimension is a setting of another module (unknown here)."""
    result = found("py-aliased-vector-type")
    assert [(d.path, d.table, d.column, d.dimensions, d.kind, d.type) for d in result.declarations] == [
        ("webui/stores/pg.py", "passage", "embedding", None, "sqlalchemy", "vector")]


def test_settings_named_for_the_vector_store_and_a_prefixed_ollama_url_are_configuration(tmp_path):
    """Open WebUI: the vector store's DSN is PGVECTOR_DB_URL, the embedder's URL RAG_OLLAMA_BASE_URL, the column's
    width PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH: none matched a name pattern, so none was listed."""
    from harness.locate.config import kind_of, placeholder_for

    result = located(tmp_path, {"app/config.py": (
        "import os\n"
        "PGVECTOR_DB_URL = os.environ.get('PGVECTOR_DB_URL', 'postgresql://localhost/app')\n"
        "RAG_OLLAMA_BASE_URL = os.getenv('RAG_OLLAMA_BASE_URL', 'http://localhost:11434')\n"
        "PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH = int(os.getenv('PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH', '1536'))\n")})
    names = {s.name for s in result.settings}
    assert {"PGVECTOR_DB_URL", "RAG_OLLAMA_BASE_URL", "PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH"} <= names, names
    assert [placeholder_for(n) for n in ("PGVECTOR_DB_URL", "RAG_OLLAMA_BASE_URL", "PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH")] \
        == ["{database_url}", "{provider_url}", "{dimensions}"]
    assert kind_of("PGVECTOR_INITIALIZE_MAX_VECTOR_LENGTH") == "dimensions"


def test_a_transformers_js_feature_extraction_pipeline_is_an_in_process_embedder(found):
    # chatbot-ui's local embeddings: transformers.js loads the model into the Next.js server.
    result = found("ts-supabase-file-items")
    assert result.embeds_in_process
    assert ("lib/embed-locally.ts", "transformers", "Xenova/all-MiniLM-L6-v2", None, None, None) in calls(result)


def test_a_transformers_pipeline_for_another_task_embeds_nothing(tmp_path):
    (tmp_path / "summarize.py").write_text('from transformers import pipeline\n'
                                           'summarizer = pipeline("summarization", model="t5-small")\n')
    assert not locate(tmp_path).embedding_calls


# -- a LlamaIndex store subclassed and built by from_params with positional arguments (sec-insights' shape) -------

def test_a_llamaindex_subclass_built_by_from_params_declares_the_table_its_arguments_name(found):
    """The table is from_params' sixth positional argument, here a setting: named as the expression it is, with
    LlamaIndex's default dimension (1536) where none is given, never the default table of another application."""
    assert decls(found("py-llamaindex-subclass")) == {
        ("docs_app/store.py", "data_{settings.NODE_TABLE}", "embedding", 1536, "llamaindex")}


def test_from_params_without_a_table_name_declares_llamaindexs_default_table():
    from harness.locate.schema import scan

    text = ("from llama_index.vector_stores.postgres import PGVectorStore\n"
            "store = PGVectorStore.from_params(database='db', host='localhost', embed_dim=768)\n")
    assert [(d.table, d.dimensions) for d in scan("s.py", text, "python")] == [("data_llamaindex", 768)]


def test_a_llamaindex_openai_embedding_named_by_its_model_type_enum_names_the_model():
    """sec-insights' ``OpenAIEmbedding(model_type=OpenAIEmbeddingModelType.TEXT_EMBED_3_SMALL)``: the enum's value."""
    from harness.locate.embedding_calls import scan

    text = ("from llama_index.embeddings.openai import OpenAIEmbedding, OpenAIEmbeddingModelType\n"
            "Settings.embed_model = OpenAIEmbedding(\n    mode=OpenAIEmbeddingMode.SIMILARITY_MODE,\n"
            "    model_type=OpenAIEmbeddingModelType.TEXT_EMBED_3_SMALL,\n    api_key=key,\n)\n")
    assert [(c.name, c.kind, c.model) for c in scan("s.py", text, "python")] == [
        ("OpenAIEmbedding", "llamaindex", "text-embedding-3-small")]


def test_a_script_that_builds_a_llamaindex_index_is_never_said_to_call_no_embedder(found):
    """VectorStoreIndex.from_documents embeds with the embed model set elsewhere (Settings.embed_model): the script
    embeds, through an embedder its own files do not name, so it is said as such (still not taken as the backfill)."""
    from harness.steps.locate import locate

    result = locate(FIXTURES / "py-llamaindex-subclass")
    seed = next(e for e in result.entrypoints if e.path == "scripts/seed_index.py")
    assert seed.contract.index_builds == ("docs_app/ingest.py:8 VectorStoreIndex.from_documents",)
    text = result.text()
    assert "calls no embedder" not in text, text
    assert ("builds a LlamaIndex index (docs_app/ingest.py:8 VectorStoreIndex.from_documents), which embeds with "
            "the embed model set elsewhere (Settings.embed_model)") in text, text


# -- Supabase's Edge Runtime embeds with its built-in model (chatgpt-your-files' shape) ------------------------------

def test_a_supabase_edge_runtime_ai_session_is_an_in_process_embedder(found):
    """``new Supabase.ai.Session('gte-small')`` runs the model inside the Edge Function: an embedder with its model."""
    result = found("ts-supabase-edge-embed")
    assert ("supabase/functions/embed/index.ts", "supabase-ai", "gte-small", None, None, None) in calls(result)
    assert result.embeds_in_process


def test_a_feature_extraction_pipeline_behind_the_apps_own_wrapper_is_an_embedder(found):
    """The task name is transformers' own: a call of any pipeline-making function with it embeds, with that model,
    even in a file that imports only the app's wrapper."""
    result = found("ts-supabase-edge-embed")
    assert ("app/search/page.tsx", "transformers", "Supabase/gte-small", None, None, None) in calls(result)


def test_a_root_script_that_runs_the_workspaces_scripts_is_no_entrypoint_of_its_own(found):
    # `"generate": "turbo run generate"` runs `prisma generate` in packages/database: no backfill, and its contract
    # (turbo's) cannot be read; the workspaces' own scripts are the entrypoints, each judged by its body.
    result = found("prisma-turbo-monorepo")
    assert "pnpm run generate" not in [e.command for e in result.entrypoints]
    assert result.best_entrypoint is None


def test_an_ai_sdk_embedding_model_built_in_another_package_names_its_model_and_env(found):
    # formbricks: embed({ model: embeddingsModel }) in the app, the model made in packages/lib with createAzure.
    assert ("packages/lib/aiModels.ts", "ai-sdk", "embeddings", "AI_AZURE_EMBEDDINGS_DEPLOYMENT_ID", None, None) \
        in calls(found("prisma-turbo-monorepo"))


def test_a_cast_in_an_update_names_the_column_it_writes(found):
    # Prisma cannot write Unsupported("vector(512)"): the app's $executeRaw `UPDATE "Document" SET "vector" = ...`.
    assert ("apps/web/lib/documents.ts", "Document", "vector", 512, "sql") in decls(found("prisma-turbo-monorepo"))


def test_a_cast_in_a_query_names_no_column():
    from harness.locate.schema import scan

    text = ('const rows = await prisma.$queryRaw`SELECT id FROM "Insight" d WHERE d."vector" <=> ${v}::vector(512) '
            '< 0.5; UPDATE "Insight" SET "title" = ${t} WHERE id = ${id}`;\n')
    assert [(d.table, d.column, d.dimensions) for d in scan("insights.ts", text, "js")] == [(None, None, 512)]


# -- LangChain.js's PGVectorStore: the table and vector column its config object names (the llm-app trial) ----------

LANGCHAIN_JS_STORE = """import { PGVectorStore } from '@langchain/community/vectorstores/pgvector';
import { OllamaEmbeddings } from '@langchain/ollama';

const dbConfig = {
  postgresConnectionOptions: { type: 'postgres', host: 'localhost' } as PoolConfig,
  tableName: 'notes_store',
  columns: {
    idColumnName: 'id',
    vectorColumnName: 'vec',
    contentColumnName: 'body',
    metadataColumnName: 'meta',
  },
  distanceStrategy: 'cosine' as DistanceStrategy,
};

const store = await PGVectorStore.initialize(new OllamaEmbeddings({ model: 'nomic-embed-text' }), dbConfig);
"""


def test_a_langchain_js_store_declares_the_table_and_vector_column_of_its_config_object():
    from harness.locate.schema import scan

    assert [(d.table, d.column, d.dimensions, d.kind) for d in scan("src/db.ts", LANGCHAIN_JS_STORE, "js")] == [
        ("notes_store", "vec", None, "langchain")]


def test_a_langchain_js_store_built_inline_reads_its_dimensions_and_defaults_the_vector_column():
    from harness.locate.schema import scan

    text = ('import { PGVectorStore } from "@langchain/community/vectorstores/pgvector";\n'
            'const store = new PGVectorStore(embeddings, {\n  pool,\n  tableName: TABLE,\n  dimensions: 768,\n});\n'
            'const TABLE = "kb_chunks";\n')
    assert [(d.table, d.column, d.dimensions, d.kind) for d in scan("src/db.ts", text, "js")] == [
        ("kb_chunks", "embedding", 768, "langchain")]


def test_an_embedder_whose_model_is_a_key_of_an_object_imported_from_a_module_of_the_repository_names_it(tmp_path):
    """llm-app's ``new OllamaEmbeddings({model: config.model})`` with ``import config from './config.js'``, a
    TypeScript module (``src/config.ts``) whose default export is ``{model: 'llama3.2'}``."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src/config.ts").write_text("const config: Record<string, any> = {\n    model: 'llama3.2',\n};\n\n"
                                            "export default config;\n")
    (tmp_path / "src/settings.ts").write_text("export const settings = {\n  embedModel: process.env.EMBED_MODEL ?? "
                                              "'nomic-embed-text',\n};\n")
    (tmp_path / "src/db.ts").write_text(
        "import { OllamaEmbeddings } from '@langchain/ollama';\nimport config from './config.js';\n"
        "import { settings } from './settings';\n\n"
        "export const a = new OllamaEmbeddings({\n  model: config.model,\n});\n"
        "export const b = new OllamaEmbeddings({ model: settings.embedModel });\n")
    got = [(c.line, c.model, c.model_env) for c in locate(tmp_path).embedding_calls]
    assert got == [(5, "llama3.2", None), (8, "nomic-embed-text", "EMBED_MODEL")]


def test_a_langchain_store_says_the_distance_its_queries_use():
    """LangChain.js's ``distanceStrategy`` and LangChain-Python's ``distance_strategy`` (cosine unless given)."""
    from harness.locate.schema import scan

    js = LANGCHAIN_JS_STORE.replace("'cosine' as DistanceStrategy", "'innerProduct' as DistanceStrategy")
    assert [d.distance for d in scan("src/db.ts", js, "js")] == ["ip"]
    assert [d.distance for d in scan("src/db.ts", LANGCHAIN_JS_STORE.replace("  distanceStrategy: 'cosine' as "
                                                                              "DistanceStrategy,\n", ""), "js")] == ["cosine"]
    py = ("from langchain_postgres import PGVector\nfrom langchain_postgres.vectorstores import DistanceStrategy\n"
          "store = PGVector(embeddings=e, collection_name='docs', distance_strategy=DistanceStrategy.EUCLIDEAN)\n")
    assert [d.distance for d in scan("s.py", py, "python")] == ["l2"]


def test_a_langchain_js_store_whose_table_is_an_env_read_with_a_default_declares_the_default():
    from harness.locate.schema import scan

    text = ('import { PGVectorStore } from "@langchain/community/vectorstores/pgvector";\n'
            'const store = await PGVectorStore.initialize(embeddings, {\n  pool,\n'
            '  tableName: process.env.PG_VECTOR_TABLE ?? "kb_chunks",\n'
            '  columns: { vectorColumnName: process.env.VECTOR_COLUMN || "vec" },\n});\n')
    assert [(d.table, d.column) for d in scan("src/db.ts", text, "js")] == [("kb_chunks", "vec")]


# -- a Django app whose initial migration makes the vector column and a later one alters it (falkor-rentalintel) ----

def test_django_create_model_migration_declares_the_vector_among_its_field_tuples(found):
    assert ("docchunks/migrations/0001_initial.py", "docchunks_chunkembedding", "embedding", 768, "django") in decls(
        found("django-chunk-model"))


def test_a_later_migration_altering_the_column_supersedes_the_dimension_an_earlier_one_declared(found):
    result = found("django-chunk-model")
    assert ("docchunks/migrations/0002_alter_chunkembedding_embedding.py", "docchunks_chunkembedding", "embedding", 1536,
            "django") in decls(result)
    assert result.declared_dimensions == (1536,)


def test_the_applications_own_class_named_like_an_embedder_is_no_embedding_call(found):
    # `ChunkEmbedding(file_name=..., embedding=vec)` builds a Django row; only the OpenAI call embeds.
    assert calls(found("django-chunk-model")) == {
        ("docchunks/utils.py", "openai", "text-embedding-3-small", "OPENAI_EMBEDDING_MODEL", None, None)}


def test_locate_says_which_declaration_a_later_migration_changed(found):
    result = found("django-chunk-model")
    changed = {d["path"] for d in result.as_dict()["declarations"] if d["superseded"]}
    assert changed == {"docchunks/migrations/0001_initial.py"}
    assert "embedding vector(768)  [django]  (changed by a later migration)" in result.text()


# -- Ruby on Rails: ActiveRecord migrations and schema.rb (neighbor), Ruby embedders (nosia) ------------------------

def test_active_record_migrations_and_schema_rb_declare_their_vector_columns(found):
    assert {("db/migrate/20240101000000_create_passages.rb", "passages", "embedding", 768, "active-record"),
            ("db/migrate/20240301000000_resize_passage_embedding.rb", "passages", "embedding", 768, "active-record"),
            ("db/migrate/20240401000000_add_summary_embedding_to_notebooks.rb", "notebooks", "summary_embedding", 1024,
             "active-record"),
            ("db/schema.rb", "notebooks", "summary_embedding", 1024, "active-record"),
            ("db/schema.rb", "passages", "embedding", 1536, "active-record")} == decls(found("rails-neighbor"))
    assert {d.type for d in found("rails-neighbor").declarations if d.table == "notebooks"} == {"halfvec"}
    # `limit: ENV.fetch("EMBED_DIMS", 768).to_i`: 768 unless the setting says otherwise
    assert {(d.path, d.dims_env) for d in found("rails-neighbor").declarations if d.dims_env} == {
        ("db/migrate/20240301000000_resize_passage_embedding.rb", "EMBED_DIMS")}


def test_a_later_rails_migration_supersedes_an_earlier_one_of_the_same_column(found):
    changed = {d["path"] for d in found("rails-neighbor").as_dict()["declarations"] if d["superseded"]}
    assert changed == {"db/migrate/20240101000000_create_passages.rb"}


def test_ruby_env_reads_with_their_defaults():
    from harness.locate.literals import env_reads

    text = ('a = ENV.fetch("A", "x")\nb = ENV.fetch("B", 768).to_i\nc = ENV["C"] || "y"\nd = ENV["D"]\n'
            'e = ENV.fetch("E") { "z" }\n')
    assert [(r.name, r.default) for r in env_reads(text, "ruby")] == [("A", "x"), ("B", "768"), ("C", "y"), ("D", None),
                                                                       ("E", "z")]


def test_ruby_embedders_langchainrb_ruby_openai_and_ruby_llm_with_their_models(found):
    assert calls(found("rails-neighbor")) == {
        ("config/initializers/langchain.rb", "langchain", "nomic-embed-text", "EMBED_MODEL", "http://localhost:11434",
         "OLLAMA_URL"),
        ("app/models/note.rb", "openai", "text-embedding-3-small", None, None, None),
        ("app/services/summary_embedder.rb", "ruby-llm", "text-embedding-3-large", "SUMMARY_EMBED_MODEL", None, None)}
    ollama = next(c for c in found("rails-neighbor").embedding_calls if c.kind == "langchain")
    assert ollama.name == "Langchain::LLM::Ollama"


def test_a_rails_migrations_down_method_declares_nothing():
    from harness.locate.schema import scan

    text = ('class Resize < ActiveRecord::Migration[8.0]\n  def up\n'
            '    change_column :chunks, :embedding, :vector, limit: 1024\n  end\n\n  def down\n'
            '    change_column :chunks, :embedding, :vector, limit: 768\n  end\nend\n')
    assert [(d.line, d.dimensions) for d in scan("db/migrate/20240101000000_resize.rb", text, "ruby")] == [(3, 1024)]


def test_a_langchainrb_llm_made_for_chat_only_embeds_nothing_and_an_interpolated_url_is_no_literal():
    from harness.locate.embedding_calls import scan

    text = ('def check_llm\n  Langchain::LLM::Ollama.new(url: ENV.fetch("OLLAMA_URL", "http://localhost:11434"),\n'
            '    default_options: { chat_completion_model_name: "bespoke-minicheck" })\nend\n'
            'def embedder\n  Langchain::LLM::OpenAI.new(api_key: "k",\n'
            '    llm_options: { uri_base: "https://api.example.com/1/ai/#{ENV.fetch("PRODUCT_ID", "")}/openai" },\n'
            '    default_options: { embeddings_model_name: "bge-m3" })\nend\n')
    assert [(c.name, c.model, c.url) for c in scan("app/models/llms.rb", text, "ruby")] == [
        ("Langchain::LLM::OpenAI", "bge-m3", None)]


def test_an_active_record_column_of_type_vector_and_a_limit_named_by_a_constant_are_read():
    from harness.locate.schema import scan

    text = ('class AddEmbeddings < ActiveRecord::Migration[7.1]\n  DIMENSIONS = 1_536\n  def change\n'
            '    change_table :articles do |t|\n      t.column :embedding, :vector, limit: DIMENSIONS\n    end\n'
            '    create_table(:notes) { |t| t.halfvec("vec", limit: 384) }\n  end\nend\n')
    assert [(d.table, d.column, d.dimensions, d.type) for d in scan("db/migrate/20240101_add.rb", text, "ruby")] == [
        ("articles", "embedding", 1536, "vector"), ("notes", "vec", 384, "halfvec")]


def test_an_active_record_column_typed_by_an_sql_string_is_a_declaration_of_its_table():
    """discourse-ai: ``t.column :embeddings, "halfvec"`` (no gem; the width is each model's, kept in another table) and
    ``"vector(768)"``; ``add_column`` likewise. Named by its table and column, never as a bare SQL ``? vector``."""
    from harness.locate.schema import scan

    text = ('class NewTables < ActiveRecord::Migration[7.2]\n  def up\n'
            '    create_table :ai_topics_embeddings, id: false do |t|\n      t.bigint :topic_id, null: false\n'
            '      t.column :embeddings, "halfvec", null: false\n    end\n'
            '    create_table :ai_topic_embeddings_1_1 do |t|\n      t.column :embeddings, "vector(768)", null: false\n'
            '    end\n    add_column :posts, :vec, "halfvec(1024)"\n  end\nend\n')
    assert [(d.line, d.table, d.column, d.dimensions, d.type, d.kind)
            for d in scan("db/migrate/20241230153300_new.rb", text, "ruby")] == [
        (5, "ai_topics_embeddings", "embeddings", None, "halfvec", "active-record"),
        (8, "ai_topic_embeddings_1_1", "embeddings", 768, "vector", "active-record"),
        (10, "posts", "vec", 1024, "halfvec", "active-record")]


def test_a_table_a_later_migration_drops_declares_no_dimension_any_more(tmp_path):
    """One table per model (vector(768), vector(1536)) dropped once the vectors moved to one halfvec table: locate
    says so and the old widths are no longer declared; Rails' db/post_migrate shares db/migrate's timeline, and a
    ``down`` method's drop_table (a rollback) drops nothing."""
    result = located(tmp_path, {
        "db/migrate/20230101000000_per_model.rb": (
            "class PerModel < ActiveRecord::Migration[7.0]\n  def change\n"
            "    create_table :posts_emb_1 do |t|\n      t.column :embeddings, \"vector(768)\"\n    end\n"
            "    create_table :posts_emb_2 do |t|\n      t.column :embeddings, \"vector(1536)\"\n    end\n"
            "    create_table :notes_emb do |t|\n      t.column :embeddings, \"vector(384)\"\n    end\n  end\nend\n"),
        "db/migrate/20240101000000_one_table.rb": (
            "class OneTable < ActiveRecord::Migration[7.0]\n  def up\n"
            "    create_table :posts_emb do |t|\n      t.column :embeddings, \"halfvec\"\n    end\n"
            "    drop_table :posts_emb_1\n  end\n  def down\n    drop_table :notes_emb\n  end\nend\n"),
        "db/post_migrate/20240201000000_drop_old.rb": (
            "class DropOld < ActiveRecord::Migration[7.0]\n  def up\n    execute <<~SQL\n"
            "      DROP TABLE IF EXISTS posts_emb_2;\n    SQL\n  end\nend\n")})
    gone = {d["table"] for d in result.as_dict()["declarations"] if d.get("dropped")}
    assert gone == {"posts_emb_1", "posts_emb_2"}
    assert result.declared_dimensions == (384,)
    assert "posts_emb_1.embeddings vector(768)  [active-record]  (dropped or renamed by a later migration)" in result.text()


def test_a_column_a_later_migration_renames_or_drops_declares_nothing_any_more(tmp_path):
    """drizzle-kit's 0001 creates `embeddings.embeddings vector(512)`, 0002 renames the column `embedding`, 0003 widens
    it; a table renamed and a column dropped go the same way: only what the last migration leaves is declared."""
    result = located(tmp_path, {
        "db/migrations/0001_a.sql": ('CREATE TABLE "embeddings" ("id" text, "embeddings" vector(512) NOT NULL);\n'
                                     'CREATE TABLE "notes" ("id" text, "vec" vector(384));\n'
                                     'CREATE TABLE "old_items" ("id" text, "v" vector(256));\n'),
        "db/migrations/0002_b.sql": ('ALTER TABLE "embeddings" RENAME COLUMN "embeddings" TO "embedding";\n'
                                     'ALTER TABLE "notes" DROP COLUMN IF EXISTS "vec";\n'
                                     'ALTER TABLE old_items RENAME TO items;\n'),
        "db/migrations/0003_c.sql": 'ALTER TABLE "embeddings" ALTER COLUMN "embedding" SET DATA TYPE vector(1536);\n'})
    gone = {(d["table"], d["column"]) for d in result.as_dict()["declarations"] if d.get("dropped")}
    assert gone == {("embeddings", "embeddings"), ("notes", "vec"), ("old_items", "v")}
    assert result.declared_dimensions == (1536,)


def test_drizzle_kits_meta_snapshots_are_ordered_with_their_migrations(tmp_path):
    """`meta/0002_snapshot.json` is the schema after migration 0002: a later migration's width supersedes it."""
    def snapshot(dims: int) -> str:
        return json.dumps({"tables": {"public.embeddings": {"name": "embeddings", "schema": "", "columns": {
            "embedding": {"name": "embedding", "type": f"vector({dims})", "notNull": True}}}}}, indent=2)

    result = located(tmp_path, {
        "db/migrations/0000_a.sql": 'CREATE TABLE "embeddings" ("embedding" vector(768) NOT NULL);\n',
        "db/migrations/0001_b.sql": 'ALTER TABLE "embeddings" ALTER COLUMN "embedding" SET DATA TYPE vector(2000);\n',
        "db/migrations/meta/0000_snapshot.json": snapshot(768),
        "db/migrations/meta/0001_snapshot.json": snapshot(2000)})
    old = {d["path"] for d in result.as_dict()["declarations"] if d["superseded"]}
    assert old == {"db/migrations/0000_a.sql", "db/migrations/meta/0000_snapshot.json"}
    assert result.declared_dimensions == (2000,)


def test_a_drizzle_kit_v1_snapshot_names_the_table_of_each_column_entity(tmp_path):
    """drizzle-kit 1.0's `<timestamp>_<name>/snapshot.json` lists the schema as one flat `ddl` array: a column is an
    entity with its `table` beside its `name` and `type`; ordered with the folder's migration.sql."""
    ddl = {"version": "8", "dialect": "postgres", "ddl": [
        {"isRlsEnabled": False, "name": "embeddings", "schema": "public", "entityType": "tables"},
        {"type": "vector(2000)", "notNull": True, "dimensions": 0, "name": "embedding", "schema": "public",
         "table": "embeddings", "entityType": "columns"},
        {"type": "halfvec(512)", "name": "vec", "schema": "rag", "table": "archived", "entityType": "columns"}]}
    result = located(tmp_path, {"lib/db/migrations/20260121122351_special_diamondback/snapshot.json": json.dumps(ddl, indent=2)})
    assert {(d.table, d.column, d.type, d.dimensions) for d in result.declarations} == {
        ("embeddings", "embedding", "vector", 2000), ("rag.archived", "vec", "halfvec", 512)}


def test_an_index_a_later_migration_recreates_says_its_distance_no_more(tmp_path):
    """0001 indexes with halfvec_l2_ops, 0002 drops it and indexes the same column with vector_cosine_ops: the l2 of
    an index that no longer exists is no distance the application uses."""
    result = located(tmp_path, {
        "db/migrations/0001_a.sql": ('CREATE TABLE "embeddings" ("embedding" vector(768) NOT NULL);\n'
                                     'CREATE INDEX "ix" ON "embeddings" USING ivfflat ("embedding" vector_l2_ops);\n'),
        "db/migrations/0002_b.sql": ('DROP INDEX "ix";\n'
                                     'CREATE INDEX "ix" ON "embeddings" USING hnsw ("embedding" vector_cosine_ops);\n')})
    assert {(u.path, u.distance) for u in result.distances} == {("db/migrations/0002_b.sql", "cosine")}


def test_a_rake_task_that_embeds_is_an_entrypoint_run_through_bin_rails(found):
    tasks = {e.command: e for e in found("rails-neighbor").entrypoints if e.kind == "rake-task"}
    assert set(tasks) == {"bin/rails passages:reembed"}  # count and stats embed nothing, and are named for no backfill
    assert tasks["bin/rails passages:reembed"].workdir == "."
    assert found("rails-neighbor").best_entrypoint.command == "bin/rails passages:reembed"


def test_a_rails_commands_contract_is_what_the_booted_app_reads(found):
    # Rails boots the whole app (initializers, autoloaded models) before a task runs: their ENV reads are the
    # contract, DATABASE_URL (Rails' own) among them.
    contract = found("rails-neighbor").best_entrypoint.contract
    assert contract.known, contract.reason
    assert {"DATABASE_URL", "OLLAMA_URL", "EMBED_MODEL", "SUMMARY_EMBED_MODEL"} <= set(contract.reads_env)
    assert {"app/models/note.rb", "config/initializers/langchain.rb", "lib/tasks/passages.rake"} <= set(contract.files)


def test_a_plugins_rake_task_is_listed_as_the_host_applications_never_as_the_backfill_here(tmp_path):
    """discourse-ai: no Rakefile, ``task "ai:embeddings:backfill", %i[embedding_def_id concurrency] => [:environment]``
    in lib/tasks/modules/embeddings/database.rake, loaded by the Discourse that installs the plugin."""
    result = located(tmp_path, {
        "plugin.rb": "# name: my-plugin\nenabled_site_setting :my_enabled\n",
        "lib/tasks/modules/embeddings/database.rake": (
            'desc "Backfill embeddings for all topics"\n'
            'task "ai:embeddings:backfill", %i[embedding_def_id concurrency] => [:environment] do |_, args|\n'
            '  Topic.find_each { |t| vector_rep.generate_representation_from(t) }\nend\n')})
    tasks = [e for e in result.entrypoints if e.kind == "rake-task"]
    assert [(e.command, e.workdir) for e in tasks] == [("bin/rails ai:embeddings:backfill", ".")]
    assert tasks[0].host and "application that installs it" in tasks[0].host
    assert not tasks[0].contract.known and tasks[0].contract.reason == tasks[0].host
    assert result.best_entrypoint is None and result.as_dict()["best_entrypoint"] is None
    assert "the tasks above run in the application that installs this one" in result.text()


def test_without_bin_rails_a_rake_task_runs_through_bundle_exec_rake_from_the_rakefiles_folder(tmp_path):
    result = located(tmp_path, {
        "web/Rakefile": "require_relative 'config/application'\n",
        "web/config/application.rb": "class App < Rails::Application; end\n",
        "web/lib/tasks/search.rake": ("namespace :search do\n  namespace :articles do\n"
                                      "    task backfill_embeddings: :environment do\n      Article.embed_all\n    end\n"
                                      "  end\nend\n")})
    assert [(e.command, e.workdir) for e in result.entrypoints if e.kind == "rake-task"] == [
        ("bundle exec rake search:articles:backfill_embeddings", "web")]
    assert result.best_entrypoint.contract.known and "DATABASE_URL" in result.best_entrypoint.contract.reads_env


@pytest.mark.parametrize("ddl", [
    "CREATE TABLE note (id text PRIMARY KEY, embedding extensions.vector(384));",
    'create table note (id bigserial primary key, embedding "extensions".vector(384));',
    "ALTER TABLE note ADD COLUMN embedding extensions.vector(384);",
])
def test_a_vector_type_qualified_by_the_schema_pgvector_lives_in_is_declared_with_its_column(ddl):
    """Supabase and many DBAs install pgvector in `extensions`: the column is `embedding extensions.vector(384)`."""
    from harness.locate.schema import scan

    assert [(d.table, d.column, d.dimensions) for d in scan("m.sql", ddl, "sql")] == [("note", "embedding", 384)]


def test_an_untyped_vector_column_of_a_create_table_is_a_declaration_of_unknown_dimension():
    """pgvector's ``vector`` without a width (each row its own; Flowise's store, LangChain's tables): a column of the
    table it is declared in, in a migration and in a statement a JS method runs; the table the interpolated
    expression names. A vector parameter of a function, or the word in prose, is none."""
    from harness.locate.schema import scan

    sql = ("CREATE TABLE docs (\n  id uuid PRIMARY KEY,\n  content text,\n  embedding vector\n);\n"
           "CREATE FUNCTION match(q vector, n int) RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;\n"
           "ALTER TABLE notes ADD COLUMN vec halfvec NOT NULL;\n")
    assert [(d.line, d.table, d.column, d.dimensions, d.type) for d in scan("migrations/001.sql", sql, "sql")] == [
        (4, "docs", "embedding", None, "vector"), (7, "notes", "vec", None, "halfvec")]
    js = ("async ensure(tablePath) {\n  await this.db.query(`\n    CREATE TABLE IF NOT EXISTS ${tablePath} (\n"
          '      "id" uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,\n      "pageContent" text,\n'
          "      metadata jsonb,\n      embedding vector\n    );\n  `)\n}\n"
          "// a vector of numbers, one per document\nconst v = toVector(doc)\n")
    assert [(d.line, d.table, d.column, d.dimensions) for d in scan("store.ts", js, "js")] == [
        (7, "{tablePath}", "embedding", None)]


def test_a_declaration_in_a_comment_declares_nothing():
    """A driver kept commented out (Flowise's ``/* ... */`` PGVector driver beside the TypeORM one it uses), a line
    comment's example DDL: no table is created by them."""
    from harness.locate.schema import scan

    js = ("/*\nimport { PGVectorStore } from '@langchain/community/vectorstores/pgvector'\n"
          "export class Old {\n  async init() {\n    return PGVectorStore.initialize(this.embeddings, {tableName: 'old'})\n"
          "  }\n}\n*/\n// CREATE TABLE example (e vector(3))\nconst ddl = 'CREATE TABLE kept (e vector(3))'\n")
    assert [(d.table, d.column) for d in scan("driver.ts", js, "js")] == [("kept", "e")]
    py = "# CREATE TABLE example (e vector(3))\nDDL = 'CREATE TABLE kept (e vector(3))'  # e vector(4)\n"
    assert [(d.table, d.dimensions) for d in scan("store.py", py, "python")] == [("kept", 3)]


def test_a_script_that_runs_a_migration_tool_is_no_backfill(tmp_path):
    """``typeorm migration:generate``, ``knex migrate:latest``, ``sequelize db:migrate``: a script named like a
    generator or seed that runs a schema migration tool embeds nothing."""
    result = located(tmp_path, {"package.json": json.dumps({"name": "server", "scripts": {
        "typeorm": "typeorm-ts-node-commonjs",
        "typeorm:migration-generate": "pnpm typeorm migration:generate -d ./src/utils/dataSource.ts",
        "db:generate-knex": "knex migrate:latest", "generate:db": "sequelize db:migrate",
        "seed": "tsx scripts/seed.ts"}}), "scripts/seed.ts": "console.log('seed')\n"})
    assert [e.name for e in result.entrypoints] == ["seed"]


def test_a_script_importing_a_package_kept_in_a_src_layout_folder_is_followed_into_it(tmp_path):
    """A monorepo of packages in src layout (haystack-core-integrations: integrations/<name>/src/haystack_integrations/):
    a script importing one is followed into the package, its embedding call, its newline rule and the environment
    variable a library helper reads (Haystack's ``Secret.from_env_var("PG_CONN_STR")``)."""
    src = "integrations/ollama/src/acme_integrations/embedders/ollama"
    store = "integrations/pgvector/src/acme_integrations/stores/pgvector"
    result = located(tmp_path, {
        f"{src}/__init__.py": "from .document_embedder import OllamaDocumentEmbedder\n",
        f"{src}/document_embedder.py": (
            "from ollama import Client\n\n"
            "class OllamaDocumentEmbedder:\n"
            "    def __init__(self, model: str = 'nomic-embed-text', url: str = 'http://localhost:11434'):\n"
            "        self._client = Client(host=url)\n"
            "        self.model = model\n\n"
            "    def run(self, texts):\n"
            "        texts = [t.replace(\"\\n\", \" \") for t in texts]\n"
            "        return self._client.embed(model=self.model, input=texts)['embeddings']\n"),
        f"{store}/__init__.py": "from .document_store import PgvectorDocumentStore\n",
        f"{store}/document_store.py": (
            "from acme.utils.auth import Secret\n\n"
            "class PgvectorDocumentStore:\n"
            "    def __init__(self, *, connection_string: Secret = Secret.from_env_var(\"PG_CONN_STR\")):\n"
            "        self.connection_string = connection_string\n"),
        "index.py": (
            "import os\n"
            "from acme_integrations.embedders.ollama import OllamaDocumentEmbedder\n"
            "from acme_integrations.stores.pgvector import PgvectorDocumentStore\n\n"
            "if __name__ == '__main__':\n"
            "    store = PgvectorDocumentStore()\n"
            "    embedder = OllamaDocumentEmbedder(url=os.environ.get('OLLAMA_URL', 'http://localhost:11434'))\n"),
    })
    index = next(e for e in result.entrypoints if e.path == "index.py")
    assert f"{src}/document_embedder.py" in index.contract.files and index.may_embed
    assert index.contract.newlines_to_spaces == (f"{src}/document_embedder.py:9",)
    assert {"PG_CONN_STR", "OLLAMA_URL"} <= set(index.contract.reads_env)
    assert index.contract.backfill_env()["PG_CONN_STR"] == "{database_url}"
    assert result.best_entrypoint is not None and result.best_entrypoint.path == "index.py"


def test_a_haystack_store_keyword_given_a_name_is_its_constants_value_or_unknown_never_the_default(tmp_path):
    # `table_name=TABLE` is not the keyword left out: it was read as haystack_documents searched by cosine, where the
    # application's constants say kb_docs by inner product, and one read from the environment is not known here.
    result = located(tmp_path, {
        "index.py": (
            "import os\n"
            "from haystack_integrations.document_stores.pgvector import PgvectorDocumentStore\n\n"
            "TABLE = 'kb_docs'\n"
            "FUNCTION = \"inner_product\"\n"
            "store = PgvectorDocumentStore(table_name=TABLE, embedding_dimension=1024, vector_function=FUNCTION)\n"
            "other = PgvectorDocumentStore(table_name=os.environ['TABLE'], vector_function=os.environ['FN'])\n"),
    })
    assert {(d.table, d.dimensions, d.distance) for d in result.declarations} == {
        ("kb_docs", 1024, "ip"), (None, 768, None)}


def test_haystacks_pgvector_document_store_declares_its_table_dimension_and_distance(tmp_path):
    """Haystack's `PgvectorDocumentStore` creates its own table (`haystack_documents`, `embedding vector(768)`, searched
    by `vector_function`, cosine unless given): a call declares it; an example in a docstring does not."""
    result = located(tmp_path, {
        "index.py": (
            "from haystack_integrations.document_stores.pgvector import PgvectorDocumentStore\n\n"
            "store = PgvectorDocumentStore(table_name='kb_docs', embedding_dimension=1024,\n"
            "                              vector_function='inner_product', search_strategy='hnsw')\n"
            "default = PgvectorDocumentStore()\n"),
        "retriever.py": (
            "from haystack_integrations.document_stores.pgvector import PgvectorDocumentStore\n\n\n"
            "class Retriever:\n"
            "    '''\n"
            "    document_store = PgvectorDocumentStore(table_name='example', embedding_dimension=384)\n"
            "    '''\n"),
    })
    assert {(d.path, d.table, d.column, d.dimensions, d.kind, d.distance) for d in result.declarations} == {
        ("index.py", "kb_docs", "embedding", 1024, "haystack", "ip"),
        ("index.py", "haystack_documents", "embedding", 768, "haystack", "cosine")}


def test_langchain_communitys_ollama_embeddings_without_a_model_embeds_with_the_librarys_default(tmp_path):
    """langchain_community's `OllamaEmbeddings` defaults `model` to llama2 (Quivr calls it with a base URL only);
    langchain_ollama's requires one, so none is said for it."""
    result = located(tmp_path, {
        "deps.py": ("from langchain_community.embeddings.ollama import OllamaEmbeddings\n\n"
                    "embeddings = OllamaEmbeddings(base_url='http://ollama:11434')\n"),
        "other.py": ("from langchain_ollama import OllamaEmbeddings\n\n"
                     "embeddings = OllamaEmbeddings(base_url='http://ollama:11434')\n"),
    })
    assert {(c.path, c.model) for c in result.embedding_calls} == {("deps.py", "llama2"), ("other.py", None)}


def test_an_embedders_url_from_a_settings_object_of_another_module_is_its_environment_variable(tmp_path):
    """`base_url=settings.ollama_api_base_url` where `settings = BrainSettings()` and BrainSettings is a pydantic
    BaseSettings of the application's own settings module: the URL comes from OLLAMA_API_BASE_URL."""
    result = located(tmp_path, {
        "app/models/settings.py": ("from pydantic_settings import BaseSettings\n\n\n"
                                   "class BrainSettings(BaseSettings):\n"
                                   "    supabase_url: str = ''\n"
                                   "    ollama_api_base_url: str | None = None\n"),
        "app/deps.py": ("from langchain_community.embeddings.ollama import OllamaEmbeddings\n"
                        "from app.models.settings import BrainSettings\n\n"
                        "settings = BrainSettings()\n\n\n"
                        "def get_embedding_client():\n"
                        "    if settings.ollama_api_base_url:\n"
                        "        return OllamaEmbeddings(base_url=settings.ollama_api_base_url)\n"),
    })
    [call] = result.embedding_calls
    assert (call.url_env, call.url) == ("OLLAMA_API_BASE_URL", None)


def test_a_later_migration_altering_a_column_to_an_untyped_vector_supersedes_its_width(tmp_path):
    """Quivr's init migration creates `"public"."vectors"` with `vector(1536)` (twice: quoted and bare), and its Ollama
    migration, `local_20240107152745_ollama.sql` (renamed without `local_` by its guide), makes the column an untyped
    `vector`: that is the declaration now, of no width, and 1536 is declared no more."""
    result = located(tmp_path, {
        "supabase/migrations/20240103173626_init.sql": (
            'create table "public"."vectors" (\n    "id" uuid not null,\n    "content" text,\n'
            '    "embedding" vector(1536)\n);\n\n'
            "CREATE TABLE IF NOT EXISTS vectors (\n    id UUID PRIMARY KEY,\n    embedding VECTOR(1536)\n);\n"),
        "supabase/migrations/local_20240107152745_ollama.sql": (
            'alter table "public"."vectors" alter column "embedding" set not null;\n\n'
            'alter table "public"."vectors" alter column "embedding" set data type vector using "embedding"::vector;\n'),
    })
    now = [d for d in result.as_dict()["declarations"] if not d["superseded"]]
    assert [(d["path"], d["table"], d["column"], d["dimensions"]) for d in now] == [
        ("supabase/migrations/local_20240107152745_ollama.sql", "public.vectors", "embedding", None)], now
    assert result.declared_dimensions == ()


def test_langchain_communitys_ollama_embeddings_puts_its_default_instruction_before_each_document(tmp_path):
    """langchain_community's OllamaEmbeddings embeds `f"{embed_instruction}{text}"`, `passage: ` unless given (its
    queries after `query: `): task prefixes of the call, said where the code names none; each keyword given, none."""
    result = located(tmp_path, {
        "deps.py": ("from langchain_community.embeddings import OllamaEmbeddings\n\n"
                    "embeddings = OllamaEmbeddings(base_url='http://ollama:11434')\n"),
        "bare.py": ("from langchain_community.embeddings import OllamaEmbeddings\n\n"
                    "embeddings = OllamaEmbeddings(model='nomic-embed-text', embed_instruction='', query_instruction='')\n"),
    })
    assert result.task_prefixes == (("passage: ", "deps.py:3"), ("query: ", "deps.py:3")), result.task_prefixes


ALEMBIC_CREATE = '''"""add user_memories

Revision ID: 73
Revises: 72
"""
from alembic import op
from app.config import config

revision = "73"
down_revision = "72"
EMBEDDING_DIM = config.embedding_model_instance.dimension


def upgrade() -> None:
    op.execute(f"""
        CREATE TABLE IF NOT EXISTS user_memories (
            id SERIAL PRIMARY KEY,
            memory_text TEXT NOT NULL,
            embedding vector({EMBEDDING_DIM})
        );
    """)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS user_memories;")
'''

ALEMBIC_DROP = '''"""migrate the memories to markdown, then drop the legacy table

Revision ID: 122
Revises: 121
"""
from alembic import op
from app.config import config

revision = "122"
down_revision = "121"
EMBEDDING_DIM = config.embedding_model_instance.dimension


def upgrade() -> None:
    op.execute("DROP TABLE IF EXISTS user_memories CASCADE;")


def downgrade() -> None:
    op.execute(f"""
        CREATE TABLE IF NOT EXISTS user_memories (
            id SERIAL PRIMARY KEY,
            memory_text TEXT NOT NULL,
            embedding vector({EMBEDDING_DIM})
        );
    """)
'''


def test_an_alembic_table_a_later_numbered_revision_drops_is_no_current_declaration(tmp_path):
    """SurfSense's `alembic/versions/73_...py` creates user_memories, `122_...py` drops it (and its downgrade() makes
    it again): both are listed, neither as the schema now (122 sorts before 73 as text, not as a number)."""
    result = located(tmp_path, {"alembic/versions/73_add_user_memories_table.py": ALEMBIC_CREATE,
                                "alembic/versions/122_migrate_and_drop_old_memory_tables.py": ALEMBIC_DROP})
    listed = result.as_dict()["declarations"]
    assert {(d["path"], d["superseded"]) for d in listed if d["table"] == "user_memories"} == {
        ("alembic/versions/73_add_user_memories_table.py", True)}, listed


def test_what_an_alembic_downgrade_creates_is_no_declaration(tmp_path):
    """A downgrade() restores what its upgrade() took away: the table it makes is not the schema the revision leaves."""
    result = located(tmp_path, {"alembic/versions/122_migrate_and_drop_old_memory_tables.py": ALEMBIC_DROP})
    assert [d for d in result.declarations if d.table == "user_memories"] == []


def test_a_backfill_named_for_something_else_that_calls_no_embedder_is_never_the_best_entrypoint(tmp_path):
    """SurfSense's `scripts/backfill_image_artifacts.py` turns image rows into artifacts: a backfill named for what it
    fills, whose own file calls no embedder (the app's configuration it imports loads one, as for every script), is
    listed but never drafted as the command that embeds; a `backfill_chunks.py` beside it, importing the same, still
    is one (its name says what an embedding backfill fills)."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    # the app's configuration, which every script imports, loads the embedder: no sign that the script embeds
    (tmp_path / "app" / "config.py").write_text(
        "import os\nfrom chonkie import AutoEmbeddings\n\nMODEL = AutoEmbeddings.get_embeddings(os.getenv('EMBEDDING_MODEL'))\n")
    (tmp_path / "app" / "db.py").write_text("import os\nfrom app.config import MODEL\nDATABASE_URL = os.environ['DATABASE_URL']\n")
    (tmp_path / "scripts").mkdir()
    main = "import argparse\nfrom app.db import DATABASE_URL\n\nif __name__ == '__main__':\n    argparse.ArgumentParser().parse_args()\n"
    (tmp_path / "scripts" / "backfill_image_artifacts.py").write_text(main)
    result = locate(tmp_path)
    images = next(e for e in result.entrypoints if e.name == "backfill_image_artifacts")
    assert not images.may_embed and result.best_entrypoint is None, result.text()
    assert "calls no embedder (its contract, read): a candidate only" in result.text()
    (tmp_path / "scripts" / "backfill_chunks.py").write_text(main)
    assert locate(tmp_path).best_entrypoint.name == "backfill_chunks"
    (tmp_path / "scripts" / "backfill_chunks.py").unlink()
    # named for something else, but embedding in its own file: it may embed
    (tmp_path / "scripts" / "backfill_image_captions.py").write_text(
        main.replace("import argparse\n", "import argparse\nfrom sentence_transformers import SentenceTransformer\n"
                     "MODEL = SentenceTransformer('all-MiniLM-L6-v2')\n"))
    assert locate(tmp_path).best_entrypoint.name == "backfill_image_captions"


def test_a_chonkie_litellm_uri_to_ollama_names_ollamas_model(tmp_path):
    """SurfSense's `.env.example`: `EMBEDDING_MODEL=litellm://ollama/nomic-embed-text` (chonkie's AutoEmbeddings
    through LiteLLM) embeds with Ollama's `nomic-embed-text`, as LiteLLM's own `ollama/nomic-embed-text` does."""
    result = located(tmp_path, {".env": "EMBEDDING_MODEL=litellm://ollama/nomic-embed-text\n"
                                        "EMBEDDING_BASE_URL=http://localhost:11434\n"})
    [call] = result.embedding_calls
    assert (call.kind, call.model, call.model_env, call.url, call.url_env) == (
        "ollama-config", "nomic-embed-text", "EMBEDDING_MODEL", "http://localhost:11434", "EMBEDDING_BASE_URL")


def test_chonkies_auto_embeddings_is_an_embedding_call_with_the_model_setting_it_reads(tmp_path):
    """SurfSense's `app/config/__init__.py`: `EMBEDDING_MODEL = os.getenv("EMBEDDING_MODEL")`, then
    `AutoEmbeddings.get_embeddings(EMBEDDING_MODEL, **embedding_kwargs)` (chonkie): the app's embedder, its model from
    that setting (only .env.example's setting was listed); a literal model is read as well."""
    result = located(tmp_path, {"app/config.py": (
        "import os\nfrom chonkie import AutoEmbeddings\n\n\nclass Config:\n"
        "    EMBEDDING_MODEL = os.getenv(\"EMBEDDING_MODEL\")\n"
        "    embedding_model_instance = AutoEmbeddings.get_embeddings(\n        EMBEDDING_MODEL,\n        **kwargs,\n    )\n"),
        "app/local.py": "from chonkie import AutoEmbeddings\n\nE = AutoEmbeddings.get_embeddings('minishlab/potion-base-8M')\n"})
    assert {(c.path, c.kind, c.name, c.model, c.model_env) for c in result.embedding_calls} == {
        ("app/config.py", "chonkie", "AutoEmbeddings.get_embeddings", None, "EMBEDDING_MODEL"),
        ("app/local.py", "chonkie", "AutoEmbeddings.get_embeddings", "minishlab/potion-base-8M", None)}


def test_a_chonkie_model_uri_in_the_call_names_the_model_it_routes_to(tmp_path):
    """`AutoEmbeddings.get_embeddings("litellm://ollama/nomic-embed-text")` embeds with Ollama's nomic-embed-text (an
    Ollama embedder), `"openai://text-embedding-3-small"` with OpenAI's text-embedding-3-small: the URI is no model's
    name, in the call as in a setting's default."""
    head = "import os\nfrom chonkie import AutoEmbeddings\n\n"
    result = located(tmp_path, {
        "app/ollama.py": head + "E = AutoEmbeddings.get_embeddings('litellm://ollama/nomic-embed-text')\n",
        "app/openai.py": head + "E = AutoEmbeddings.get_embeddings('openai://text-embedding-3-small')\n",
        "app/env.py": head + "E = AutoEmbeddings.get_embeddings(os.getenv('EMBED', 'litellm://ollama/all-minilm'))\n"})
    assert {(c.path, c.model, c.model_env, c.is_ollama) for c in result.embedding_calls} == {
        ("app/ollama.py", "nomic-embed-text", None, True), ("app/openai.py", "text-embedding-3-small", None, False),
        ("app/env.py", "all-minilm", "EMBED", True)}


def test_a_column_a_later_rails_migration_removes_or_renames_is_no_current_declaration(tmp_path):
    create = ("class CreatePassages < ActiveRecord::Migration[7.1]\n  def change\n    create_table :passages do |t|\n"
              "      t.vector :embedding, limit: 768\n    end\n  end\nend\n")
    for change in ("remove_column :passages, :embedding", "rename_column :passages, :embedding, :vector"):
        folder = tmp_path / change.split()[0]
        result = located(folder, {"db/migrate/20240101000000_create_passages.rb": create,
                                  "db/migrate/20240301000000_change.rb": (
                                      "class Change < ActiveRecord::Migration[7.1]\n  def change\n"
                                      f"    {change}\n  end\nend\n")})
        assert [d.dropped for d in result.declarations] == [True], (change, result.declarations)
def test_pnpx_runs_the_command_that_follows_it(tmp_path):
    """``pnpx tsx --env-file=.env index.ts`` (pnpm's older ``pnpm dlx``, Mastra's examples' ``start``): the contract is
    the script's, as for ``npx``."""
    result = located(tmp_path, {
        "package.json": json.dumps({"name": "app", "scripts": {"embed": "pnpx tsx --env-file=.env embed.ts"}}),
        "embed.ts": ("import { Ollama } from 'ollama'\nconst ollama = new Ollama({ host: process.env.OLLAMA_HOST })\n"
                     "const pg = process.env.POSTGRES_CONNECTION_STRING\n"
                     "await ollama.embed({ model: 'nomic-embed-text', input: ['a'] })\n")})
    [entry] = result.entrypoints
    assert entry.contract.known, entry.contract.reason
    assert {"OLLAMA_HOST", "POSTGRES_CONNECTION_STRING"} <= set(entry.contract.reads_env)


def test_a_generator_whose_script_the_repository_does_not_hold_is_no_backfill(tmp_path):
    """Mastra's root ``"generate:integration": "pnpx tsx ./integration-generator/index.ts"``, a file its repository does
    not hold: named only like a generator and its code unread, nothing says it embeds: a candidate, never the
    backfill (a script named like a backfill whose file is built later, ``node dist/backfill.js``, still is one)."""
    result = located(tmp_path, {"package.json": json.dumps({"name": "mono", "scripts": {
        "generate:integration": "pnpx tsx ./integration-generator/index.ts", "backfill": "node dist/backfill.js"}})})
    by_name = {e.name: e for e in result.entrypoints}
    generator = by_name["generate:integration"]
    assert generator.contract.missing == "./integration-generator/index.ts", generator.contract
    assert not generator.may_embed
    assert by_name["backfill"].may_embed and result.best_entrypoint.name == "backfill"


def test_mastra_pgvector_create_index_declares_its_table(tmp_path):
    """Mastra's ``PgVector`` (``@mastra/pg``) makes one table per index: ``createIndex({ indexName, dimension, metric })``
    creates ``indexName`` (in the store's ``schemaName``) with ``embedding vector(dimension)``, searched by ``metric``
    (cosine unless given); the table is the application's call's, not the library's ``${tableName}``."""
    result = located(tmp_path, {"src/ingest.ts": (
        "import { PgVector } from '@mastra/pg';\n"
        "const INDEX = 'papers';\n"
        "const pgVector = new PgVector({ connectionString: process.env.POSTGRES_CONNECTION_STRING!, schemaName: 'rag' });\n"
        "await pgVector.createIndex({\n  indexName: 'test_index',\n  dimension: 768,\n});\n"
        "await pgVector.createIndex({ indexName: INDEX, dimension: 1024, metric: 'dotproduct' });\n"
        "await pgVector.createIndex({ indexName: 'by_length', dimension: embeddings[0].length, metric: 'euclidean' });\n")})
    assert {(d.table, d.column, d.dimensions, d.kind, d.distance) for d in result.declarations} == {
        ("rag.test_index", "embedding", 768, "mastra", "cosine"), ("rag.papers", "embedding", 1024, "mastra", "ip"),
        ("rag.by_length", "embedding", None, "mastra", "l2")}
    assert result.declared_dimensions == (768, 1024)


def test_mastra_pgvector_old_positional_create_index_and_other_stores(tmp_path):
    """The first ``@mastra/rag`` ``PgVector`` took ``createIndex(name, dimension)``; a store of another library, or a
    ``createIndex`` in a file that imports no Mastra ``PgVector``, declares nothing."""
    result = located(tmp_path, {
        "old.ts": ("import { MDocument, embed, PgVector } from '@mastra/rag';\n"
                   "const pgVector = new PgVector('postgresql://localhost:5432/mydb');\n"
                   "await pgVector.createIndex('test_index', 1536);\n"),
        "qdrant.ts": ("import { QdrantVector } from '@mastra/qdrant';\nconst q = new QdrantVector({ url });\n"
                      "await q.createIndex({ indexName: 'qdrant_only', dimension: 768 });\n")})
    assert {(d.path, d.table, d.dimensions, d.distance) for d in result.declarations} == {
        ("old.ts", "test_index", 1536, "cosine")}


def test_mastra_create_index_on_the_store_the_mastra_instance_registers(tmp_path):
    """A Mastra app registers its store once (``new Mastra({ vectors: { pgVector: new PgVector(...) } })``) and its
    ingest script reaches it by name (``mastra.getVector('pgVector').createIndex(...)``), importing no ``PgVector``: the
    script's index is the registered PgVector's table; in a repository whose Mastra stores are no ``PgVector``
    (LibSQL's), the same script declares nothing."""
    script = ("import { mastra } from '../mastra';\n"
              "const vectorStore = mastra.getVector('pgVector');\n"
              "await vectorStore.createIndex({ indexName: 'papers', dimension: 768 });\n")
    pg = located(tmp_path / "pg", {
        "src/mastra/index.ts": ("import { Mastra } from '@mastra/core';\nimport { PgVector } from '@mastra/pg';\n"
                                "export const mastra = new Mastra({ vectors: { pgVector: new PgVector({ connectionString: "
                                "process.env.POSTGRES_CONNECTION_STRING! }) } });\n"),
        "src/scripts/ingest.ts": script})
    assert {(d.path, d.table, d.dimensions, d.distance) for d in pg.declarations} == {
        ("src/scripts/ingest.ts", "papers", 768, "cosine")}
    libsql = located(tmp_path / "libsql", {
        "src/mastra/index.ts": ("import { Mastra } from '@mastra/core';\nimport { LibSQLVector } from '@mastra/libsql';\n"
                                "export const mastra = new Mastra({ vectors: { pgVector: new LibSQLVector({ "
                                "connectionUrl: 'file:../mastra.db' }) } });\n"),
        "src/scripts/ingest.ts": script})
    assert libsql.declarations == ()


def test_an_ai_sdk_ollama_provider_embeds_at_its_base_url_or_the_packages_default(tmp_path):
    """``ollama-ai-provider`` (and ``-v2``), the AI SDK's community Ollama provider Mastra's docs name: its default
    ``ollama`` posts to ``http://127.0.0.1:11434/api/embed`` whatever OLLAMA_HOST says; ``createOllama({ baseURL })``
    to that URL. Both are Ollama embedders, made inline in ``embedMany`` or once beside no ``@ai-sdk/`` import."""
    result = located(tmp_path, {
        "ingest.ts": ("import { ollama } from 'ollama-ai-provider';\nimport { embedMany } from 'ai';\n"
                      "const { embeddings } = await embedMany({ model: ollama.embedding('nomic-embed-text'), values });\n"),
        "lib/model.ts": ("import { createOllama } from 'ollama-ai-provider-v2';\n"
                         "const ollama = createOllama({ baseURL: process.env.OLLAMA_BASE_URL ?? 'http://ollama:11434/api' });\n"
                         "export const embedder = ollama.textEmbeddingModel('mxbai-embed-large');\n")})
    assert calls(result) == {("ingest.ts", "ollama-ai-sdk", "nomic-embed-text", None, "http://127.0.0.1:11434/api", None),
                             ("lib/model.ts", "ollama-ai-sdk", "mxbai-embed-large", None, "http://ollama:11434/api",
                              "OLLAMA_BASE_URL")}
    assert all(c.is_ollama for c in result.embedding_calls)


def test_a_task_prefix_named_as_an_example_in_a_docstring_is_no_prefix_the_code_puts(tmp_path):
    """LightRAG's `ollama_embed` documents `document_prefix: ... (e.g., "search_document: ")` and prefixes a text only
    when a setting gives one: the docstring's example is documentation, not a prefix the embedder puts."""
    result = located(tmp_path, {"llm/ollama.py": (
        "import ollama\n\n\nasync def ollama_embed(texts, embed_model, document_prefix=None, host=None):\n"
        '    """Embed texts.\n\n        document_prefix: Optional prefix (e.g., "search_document: ").\n    """\n'
        "    if document_prefix:\n        texts = [document_prefix + t for t in texts]\n"
        "    ollama_client = ollama.AsyncClient(host=host)\n"
        "    return await ollama_client.embed(model=embed_model, input=texts)\n")})
    assert result.embedding_calls and result.task_prefixes == (), result.task_prefixes


def test_a_script_in_a_librarys_examples_folder_is_listed_but_never_the_best_entrypoint(tmp_path):
    """LightRAG's `examples/unofficial-sample/lightrag_embedding_prefixes.py` clears its own working folder and inserts a
    sample book: an example of the library's use on its own data, named for what it shows (embedding prefixes), no
    backfill of the deployment's rows; a script there named as a backfill still is one."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "__init__.py").write_text("")
    (tmp_path / "lib" / "embed.py").write_text(
        "import ollama\n\n\nasync def embed(texts, model):\n    client = ollama.AsyncClient(host='http://localhost:11434')\n"
        "    return await client.embed(model=model, input=texts)\n")
    main = ("import asyncio, os\nfrom lib.embed import embed\n\n\nasync def main():\n"
            "    await embed(['a sample book'], os.getenv('EMBEDDING_MODEL', 'bge-m3:latest'))\n\n"
            "if __name__ == '__main__':\n    asyncio.run(main())\n")
    (tmp_path / "examples" / "unofficial-sample").mkdir(parents=True)
    (tmp_path / "examples" / "unofficial-sample" / "lib_embedding_prefixes.py").write_text(main)
    result = locate(tmp_path)
    example = next(e for e in result.entrypoints if e.name.endswith("lib_embedding_prefixes"))
    assert example.example == "examples/unofficial-sample/" and not example.may_embed
    assert result.best_entrypoint is None and "an example of the library's use" in result.text()
    (tmp_path / "examples" / "backfill_embeddings.py").write_text(main)
    assert locate(tmp_path).best_entrypoint.name.endswith("backfill_embeddings")


def test_a_make_target_that_only_prints_words_of_embedding_is_no_entrypoint(tmp_path):
    """LightRAG's `make help` prints `make env-base  Configure LLM, embedding, and reranker`: a recipe that only prints
    runs nothing, whatever words it prints; a target whose recipe runs an embedding script is still one."""
    result = located(tmp_path, {"Makefile": (
        "help:\n\t@printf \"  make env-base   Configure LLM, embedding, and reranker\\n\"\n\techo 'make embed: re-embed'\n\n"
        "reembed:\n\t@echo re-embedding\n\tpython scripts/embed_all.py\n")})
    assert [e.command for e in result.entrypoints if e.kind == "make-target"] == ["make reembed"], result.entrypoints


LIGHTRAG_LIKE_TABLES = '''import asyncpg
from pgvector.asyncpg import register_vector


class PGVectorStorage:
    async def create(self, db, base_table, table_name, dim):
        ddl = TABLES[base_table]["ddl"].replace("VECTOR(dimension)", f"VECTOR({dim})")
        await db.execute(ddl.replace(base_table, table_name))


class PGGraphStorage:
    pass


TABLES = {
    "VDB_CHUNKS": {
        "ddl": """CREATE TABLE VDB_CHUNKS (
                    id VARCHAR(255),
                    workspace VARCHAR(255),
                    content TEXT,
                    content_vector VECTOR(dimension),
                    CONSTRAINT VDB_CHUNKS_PK PRIMARY KEY (workspace, id)
                    )"""
    },
}
'''


def test_a_ddl_string_with_a_placeholder_word_for_the_width_declares_its_tables_column(tmp_path):
    """LightRAG keeps its DDL in a dict of strings, `content_vector VECTOR(dimension)`, and replaces the word with
    the configured width before it runs it: SQL in a string, so the statement's table and column, of unknown
    width; never a SQLAlchemy `VECTOR(...)` call of the class written above it, nor the `.replace` argument."""
    result = located(tmp_path, {"kg/postgres_impl.py": LIGHTRAG_LIKE_TABLES})
    assert [(d.table, d.column, d.dimensions, d.kind) for d in result.declarations] == [
        ("VDB_CHUNKS", "content_vector", None, "sql")], result.declarations


def test_the_profile_draft_and_historylog_written_into_the_repo_are_not_read_as_the_apps_own(tmp_path):
    """SKILL.md drafts backfill-profile.yaml and keeps historylog.md in the target repo, then runs locate there: our
    own files must not show as the application's configuration, settings or docs."""
    from harness.historylog import DEFAULT_HEADER
    from harness.profile_draft import DRAFT_HEADER

    (tmp_path / "backfill.py").write_text('import os\nURL = os.getenv("OLLAMA_BASE_URL", "http://localhost:11434")\n')
    (tmp_path / "backfill-profile.yaml").write_text(
        f"# {DRAFT_HEADER}\nname: app\nprovider:\n  url: \"${{OLLAMA_HOST:-}}\"\n  model: nomic-embed-text\n"
        "backfill:\n  env:\n    EMBEDDING_MODEL: \"{model}\"\n    OLLAMA_BASE_URL: \"{provider_url}\"\n")
    (tmp_path / "historylog.md").write_text(
        DEFAULT_HEADER + "\n<!-- historylog head=00 entries=1 -->\n- settings: OLLAMA_HOST=\"http://x:11434\"\n")
    found = locate(tmp_path)
    read = {h.path for hits in (found.config, found.docs, found.service, found.schema) for h in hits}
    assert read == {"backfill.py"}, read
    assert {s.path for s in found.settings} == {"backfill.py"}, found.settings


def test_a_migration_named_with_a_number_after_its_own_is_ordered_by_its_own_number(tmp_path):
    """`002_1536_dims.sql` is migration 2 (its name then says a width), before `003_widen.sql`: read as the number
    21536 (Laravel's timestamp, `2024_01_10_093000_x.php`, is read whole), it came after 3 and its 1536 stayed current."""
    result = located(tmp_path, {
        "db/migrations/001_chunks.sql": "CREATE TABLE chunks (id int PRIMARY KEY, embedding vector(768));\n",
        "db/migrations/002_1536_dims.sql": "ALTER TABLE chunks ALTER COLUMN embedding TYPE vector(1536);\n",
        "db/migrations/003_widen.sql": "ALTER TABLE chunks ALTER COLUMN embedding TYPE vector(3072);\n",
    })
    assert result.declared_dimensions == (3072,), result.as_dict()["declarations"]


def test_langchain_postgres_v2_init_vectorstore_table_declares_its_table_searched_as_its_store_says(tmp_path):
    """langchain_postgres's v2 `PGEngine.init_vectorstore_table(table_name, vector_size, ...)` creates the table its
    `PGVectorStore` reads (`embedding vector(N)` unless `embedding_column` names another, in `schema_name`), searched
    by the store's `distance_strategy` (COSINE_DISTANCE unless given); an example in a docstring makes none.
    catsight.ai's was "none found"."""
    result = located(tmp_path, {
        "store.py": (
            "from langchain_postgres import PGEngine, PGVectorStore\n"
            "from langchain_postgres.v2.indexes import DistanceStrategy\n\n"
            "TABLE_NAME = 'docs_chunks'\n"
            "VECTOR_SIZE = 1024\n"
            "engine = PGEngine.from_connection_string(url='postgresql+psycopg://u@db/app')\n"
            "engine.init_vectorstore_table(\n    table_name=TABLE_NAME,\n    vector_size=VECTOR_SIZE,\n)\n"
            "engine.init_vectorstore_table('notes', 768, embedding_column='vec', schema_name='kb')\n"
            "store = PGVectorStore.create_sync(engine=engine, table_name=TABLE_NAME, embedding_service=e)\n"
            "notes = PGVectorStore.create_sync(engine, e, 'notes', schema_name='kb', embedding_column='vec',\n"
            "                                  distance_strategy=DistanceStrategy.INNER_PRODUCT)\n"),
        "later.py": (
            "from langchain_postgres import PGEngine\n\n"
            "async def make(engine: PGEngine, name: str):\n"
            "    await engine.ainit_vectorstore_table(name, vector_size=384)\n"),
        "example.py": (
            "from langchain_postgres import PGEngine\n\n\n"
            "def make(engine: PGEngine):\n"
            "    \"\"\"Example: engine.init_vectorstore_table('example', 256)\"\"\"\n"),
    })
    assert {(d.path, d.line, d.table, d.column, d.dimensions, d.kind, d.distance) for d in result.declarations} == {
        ("store.py", 7, "docs_chunks", "embedding", 1024, "langchain", "cosine"),
        ("store.py", 11, "kb.notes", "vec", 768, "langchain", "ip"),
        ("later.py", 4, "{name}", "embedding", 384, "langchain", None)}


def test_a_dotenv_value_ends_where_its_inline_comment_begins():
    """imara's .env-template: `OLLAMA_MODEL=bge-m3:567m  # BGE-M3 outputs 1024 dimensions` was read as the model
    `bge-m3:567m  # BGE-M3 ...`; dotenv, shells and YAML read an unquoted value up to ` #`, a quoted one whole."""
    from harness.locate.config import scan

    text = ('OLLAMA_MODEL=bge-m3:567m  # BGE-M3 outputs 1024 dimensions\n'
            'OLLAMA_BASE_URL="http://localhost:11434/v1#not-a-comment"  # quoted\n'
            "EMBEDDING_MODEL: 'nomic-embed-text' # yaml\n")
    values = {s.name: s.value for s in scan(".env-template", text, is_config_file=True) if s.name != "url"}
    assert values == {"OLLAMA_MODEL": "bge-m3:567m", "OLLAMA_BASE_URL": "http://localhost:11434/v1#not-a-comment",
                      "EMBEDDING_MODEL": "nomic-embed-text"}


# -- a Django project in src layout whose commands embed through a base class (the shape of OWASP Nest) --------------
NEST_LIKE = {
    "manage.py": ("import os\nimport sys\nfrom pathlib import Path\n\n"
                  "sys.path.insert(0, str(Path(__file__).resolve().parent / \"src\"))\n\n"
                  "if __name__ == \"__main__\":\n"
                  "    os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"settings.local\")\n"
                  "    from django.core.management import execute_from_command_line\n"
                  "    execute_from_command_line(sys.argv)\n"),
    "src/settings/__init__.py": "",
    "src/settings/local.py": ("import os\n\nDATABASES = {\"default\": {\"ENGINE\": \"django.db.backends.postgresql\",\n"
                              "    \"NAME\": os.environ[\"PGDATABASE\"], \"HOST\": os.environ[\"PGHOST\"]}}\n"),
    "src/apps/__init__.py": "",
    "src/apps/kb/__init__.py": "",
    "src/apps/kb/common/__init__.py": "",
    "src/apps/kb/common/chunk_command.py": (
        "from django.core.management.base import BaseCommand\n\nfrom apps.kb.common.utils import embed_chunks\n\n\n"
        "class BaseChunkCommand(BaseCommand):\n    def handle(self, *args, **options):\n"
        "        for page in self.pages():\n            embed_chunks(page.split(\"\\n\\n\"))\n"),
    "src/apps/kb/common/context_command.py": (
        "from django.core.management.base import BaseCommand\n\n\n"
        "class BaseContextCommand(BaseCommand):\n    def handle(self, *args, **options):\n"
        "        for page in self.pages():\n            page.context.save()\n"),
    "src/apps/kb/common/utils.py": (
        "import os\n\nimport openai\n\n\n"
        "def embed_chunks(texts, model=\"text-embedding-3-small\"):\n"
        "    client = openai.OpenAI(api_key=os.getenv(\"APP_OPENAI_KEY\"))\n"
        "    return [d.embedding for d in client.embeddings.create(input=texts, model=model).data]\n"),
    "src/apps/kb/management/__init__.py": "",
    "src/apps/kb/management/commands/__init__.py": "",
    "src/apps/kb/management/commands/update_page_chunks.py": (
        "from apps.kb.common.chunk_command import BaseChunkCommand\n\n\n"
        "class Command(BaseChunkCommand):\n    key_field_name = \"key\"\n"),
    "src/apps/kb/management/commands/update_page_context.py": (
        "from apps.kb.common.context_command import BaseContextCommand\n\n\n"
        "class Command(BaseContextCommand):\n    key_field_name = \"key\"\n"),
}


def test_a_django_command_whose_base_class_embeds_is_an_entrypoint(tmp_path):
    """OWASP Nest's ``ai_update_chapter_chunks`` holds only a subclass: the base class it imports embeds. A command whose
    imports embed nothing (``update_page_context``) is still none."""
    commands = {e.command: e for e in located(tmp_path, NEST_LIKE).entrypoints}
    assert "python manage.py update_page_chunks" in commands, list(commands)
    assert commands["python manage.py update_page_chunks"].workdir == "."
    assert "python manage.py update_page_context" not in commands


def test_a_django_command_in_src_layout_is_read_with_the_settings_module_under_src(tmp_path):
    """manage.py puts ``src`` on the path and names ``settings.local``; the command lives in src/apps/<app>/management:
    its contract is its own files, what they import and the settings module, not manage.py's."""
    command = next(e for e in located(tmp_path, NEST_LIKE).entrypoints if e.name == "update_page_chunks")
    assert command.contract.known, command.contract
    assert {"src/apps/kb/management/commands/update_page_chunks.py", "src/apps/kb/common/utils.py",
            "src/settings/local.py"} <= set(command.contract.files), command.contract.files
    assert {"PGDATABASE", "PGHOST", "APP_OPENAI_KEY"} <= set(command.env), command.env
    assert command.contract.embedding_calls, command.contract


def test_a_django_command_that_asks_a_question_is_no_backfill(tmp_path):
    """OWASP Nest's ``ai_run_agentic_rag --query "..."`` embeds the question to search the chunks: it fills nothing, and
    sorted first by name it was the backfill drafted."""
    files = {**NEST_LIKE, "src/apps/kb/management/commands/ai_ask_pages.py": (
        "from django.core.management.base import BaseCommand\n\nfrom apps.kb.common.utils import embed_chunks\n\n\n"
        "class Command(BaseCommand):\n    def add_arguments(self, parser):\n"
        "        parser.add_argument(\"--query\", type=str, default=\"which pages say hello?\")\n\n"
        "    def handle(self, *args, **options):\n        print(embed_chunks([options[\"query\"]]))\n")}
    result = located(tmp_path, files)
    asks = next(e for e in result.entrypoints if e.name == "ai_ask_pages")
    assert not asks.may_embed
    assert result.best_entrypoint.command == "python manage.py update_page_chunks"


def test_a_python_env_reads_number_default_is_read_whole():
    """Before: `float(os.getenv("TEMPERATURE", 0.7))` read its default as 0 (the digits before the point)."""
    from harness.locate.literals import env_reads

    text = 'd = int(os.getenv("EMBED_DIMENSIONS", 768))\nt = float(os.getenv("TEMPERATURE", 0.7))\n'
    assert [(r.name, r.default) for r in env_reads(text, "python")] == [("EMBED_DIMENSIONS", "768"),
                                                                         ("TEMPERATURE", "0.7")]


def test_many_typeorm_entities_without_a_class_are_read_in_linear_time():
    # the decorators between @Entity and its class ran on over the next @Entity and all its decorators, from each
    # @Entity: quadratic in a file of decorators and no class (2 s for 200 entities of 50 indexes)
    import time

    from harness.locate.schema import typeorm_entity_tables

    text = ("@Entity()\n" + "@Index()\n" * 50) * 500
    started = time.monotonic()
    assert typeorm_entity_tables(text) == {}
    assert time.monotonic() - started < 5
