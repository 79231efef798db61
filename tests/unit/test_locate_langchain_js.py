"""locate reads LangChain.js's PGVectorStore: its table and columns from the config object it is given, written in
the same file or in the module it is imported from; where neither says, the column is not guessed."""

from pathlib import Path

import pytest

from harness.steps.locate import locate

STORE = """const { PGVectorStore } = require('@langchain/community/vectorstores/pgvector')
const { embeddings } = require('./ai')
const { config } = require('../config/db')

const vectorStore = new PGVectorStore(
  embeddings,
  config
)
"""
DB_CONFIG = """const config = {
  postgresConnectionOptions: { type: 'postgres', host: process.env.POSTGRES_HOST },
  tableName: 'knowledge_vectors',
  columns: {
    idColumnName: 'id',
    vectorColumnName: 'vector',
    contentColumnName: 'content',
    metadataColumnName: 'metadata'
  },
  distanceStrategy: 'innerProduct'
}

const { error, value } = schema.validate(config, { abortEarly: false })

module.exports = {
  config: value
}
"""


def app(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_a_store_config_required_from_another_module_is_read_there(tmp_path):
    found = locate(app(tmp_path, {"app/lib/vector-store.js": STORE, "app/config/db.js": DB_CONFIG}))
    assert [(d.path, d.table, d.column, d.dimensions, d.distance) for d in found.declarations] == [
        ("app/lib/vector-store.js", "knowledge_vectors", "vector", None, "ip")]


def test_an_imported_store_config_the_module_does_not_spell_out_leaves_table_and_column_unknown(tmp_path):
    es_module = STORE.replace("const { config } = require('../config/db')", "import { config } from '../config/db.js'")
    found = locate(app(tmp_path, {"app/lib/vector-store.js": es_module,
                                  "app/config/db.js": "export const config = loadConfig(process.env)\n"}))
    assert [(d.table, d.column) for d in found.declarations] == [(None, None)]


AI = """const { AzureOpenAIEmbeddings } = require('@langchain/openai')
const aiConfig = require('../config/ai')

const embeddings = new AzureOpenAIEmbeddings({
  azureOpenAIApiInstanceName: aiConfig.instanceName,
  azureOpenAIApiDeploymentName: aiConfig.modelDeploymentName
})
"""
AI_CONFIG = """const Joi = require('joi')

const schema = Joi.object({
  instanceName: Joi.string().required(),
  modelDeploymentName: Joi.string().required()
})

const config = {
  instanceName: process.env.AZURE_OPENAI_INSTANCE_NAME,
  modelDeploymentName: process.env.EMBEDDING_MODEL_NAME
}

const { error, value } = schema.validate(config, { abortEarly: false })

module.exports = value
"""


def test_an_azure_embedders_deployment_from_a_required_config_module_is_the_models_setting(tmp_path):
    """Azure OpenAI embeds with the deployment the call names; here a key of the object a required module validates
    and exports, read from the environment."""
    found = locate(app(tmp_path, {"app/lib/ai.js": AI, "app/config/ai.js": AI_CONFIG}))
    assert [(c.name, c.model, c.model_env) for c in found.embedding_calls] == [
        ("AzureOpenAIEmbeddings", None, "EMBEDDING_MODEL_NAME")]


def test_langchain_js_openai_embedders_make_newlines_spaces_unless_told_not_to(tmp_path):
    """@langchain/openai's OpenAIEmbeddings (and the Azure class, its subclass) default to stripNewLines = true."""
    kept = AI.replace("azureOpenAIApiInstanceName", "stripNewLines: false,\n  azureOpenAIApiInstanceName")
    found = locate(app(tmp_path, {"app/lib/ai.js": AI, "app/lib/kept.js": kept, "app/config/ai.js": AI_CONFIG}))
    assert {(c.path, c.newlines_to_spaces) for c in found.embedding_calls} == {("app/lib/ai.js", True),
                                                                              ("app/lib/kept.js", False)}


def test_the_distance_a_store_queries_with_is_said_in_locates_text(tmp_path):
    """The store's own query (`<#>` for innerProduct) is a distance the application searches with: not 'none found'."""
    text = locate(app(tmp_path, {"app/lib/vector-store.js": STORE, "app/config/db.js": DB_CONFIG})).text()
    said = text.split("Distances the code searches with:", 1)[1].split("\n")
    assert "none found" not in said[0] and "knowledge_vectors.vector ip" in said[1], text


def test_an_embedders_model_keyword_is_its_model_before_a_deployment_named_first(tmp_path):
    """A deployment is the model's setting only where no model keyword is given: `OpenAIEmbeddings(deployment=...,
    model="text-embedding-3-small")` (OpenAI's own API reads `model`; Azure's deployment serves that model) embeds with
    text-embedding-3-small, never a model named 'prod-embed'."""
    (tmp_path / "python.py").write_text('from langchain_openai import OpenAIEmbeddings\n'
                                        'emb = OpenAIEmbeddings(deployment="prod-embed", model="text-embedding-3-small")\n')
    (tmp_path / "azure.js").write_text("const { AzureOpenAIEmbeddings } = require('@langchain/openai')\n"
                                       "const emb = new AzureOpenAIEmbeddings({ azureOpenAIApiDeploymentName: 'prod-embed', "
                                       "model: 'text-embedding-3-large' })\n")
    assert sorted((c.path, c.model) for c in locate(tmp_path).embedding_calls) == [
        ("azure.js", "text-embedding-3-large"), ("python.py", "text-embedding-3-small")]


PRISMA_STORE = """import { DocumentChunks, Prisma, PrismaClient } from "@prisma/client";
import { PrismaVectorStore } from "@langchain/community/vectorstores/prisma";

export async function initializePrismaDB() {
\tconst db = PrismaVectorStore.withModel<DocumentChunks>(new PrismaClient()).create(
\t\tembeddings,
\t\t{
\t\t\tprisma: Prisma,
\t\t\ttableName: "DocumentChunks",
\t\t\tvectorColumnName: "vector",
\t\t\tcolumns: { id: PrismaVectorStore.IdColumn, content: PrismaVectorStore.ContentColumn },
\t\t}
\t);
\treturn db;
}
"""


@pytest.mark.parametrize("made", ["PrismaVectorStore.withModel<DocumentChunks>(new PrismaClient()).create(",
                                  "new PrismaVectorStore("])
def test_langchains_prisma_vector_store_searches_the_table_and_column_it_is_given_with_cosine(tmp_path, made):
    """PrismaVectorStore's similarity search orders by `<=>` (it has no other distance): a cosine search of the
    Prisma model's table and vector column, though no operator is written in the application's code."""
    text = PRISMA_STORE.replace("PrismaVectorStore.withModel<DocumentChunks>(new PrismaClient()).create(", made)
    found = locate(app(tmp_path, {"app/actions/initializePrismaDB.ts": text}))
    assert [(d.distance, d.table, d.column, d.line, d.kind) for d in found.distances] == [
        ("cosine", "DocumentChunks", "vector", 5, "langchain")]


def test_an_applications_own_class_named_prisma_vector_store_says_no_distance(tmp_path):
    own = PRISMA_STORE.replace('import { PrismaVectorStore } from "@langchain/community/vectorstores/prisma";',
                               'import { PrismaVectorStore } from "./store";')
    assert locate(app(tmp_path, {"app/actions/initializePrismaDB.ts": own})).distances == ()


OLLAMA_EMBEDDINGS = """import { embeddingModel } from "{spec}";
import { OllamaEmbeddings } from "@langchain/ollama";

export const ollamaEmbeddings = new OllamaEmbeddings({
\tmodel: embeddingModel,
\tbaseUrl: process.env.OLLAMA_URL || "http://localhost:11434",
});
"""


@pytest.mark.parametrize("spec", ["@/MODELS", "../../../MODELS"])
def test_an_embedders_model_imported_as_a_constant_is_read_in_its_module_through_the_tsconfig_alias(tmp_path, spec):
    """`model: embeddingModel` imported from the module that exports it (by a relative path, or by the `@/*` alias
    tsconfig.json's `paths` maps to the root): its literal is the model."""
    found = locate(app(tmp_path, {
        "tsconfig.json": '{\n  "compilerOptions": {\n    "paths": {\n      "@/*": ["./*"]\n    }\n  }\n}\n',
        "MODELS.ts": 'export const embeddingModel = "nomic-embed-text";\nexport const chatModel = "gemma2:2b";\n',
        "app/actions/embeddings/ollamaEmbeddings.ts": OLLAMA_EMBEDDINGS.replace("{spec}", spec)}))
    assert [(c.name, c.model, c.url, c.url_env) for c in found.embedding_calls] == [
        ("OllamaEmbeddings", "nomic-embed-text", "http://localhost:11434", "OLLAMA_URL")]
