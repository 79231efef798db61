"""locate reads an embedder's model where a NestJS application configures it: NestJS's ConfigService read in the
call, or a method of the application's own config service returning such a read, imported through tsconfig's
baseUrl (`import { EnvConfigService } from "src/config/env-config.service"`)."""

from pathlib import Path

import pytest

from harness.steps.locate import locate

TSCONFIG = '{\n  "compilerOptions": {\n    "module": "nodenext",\n    "baseUrl": "./",\n    "outDir": "./dist"\n  }\n}\n'
CONFIG_SERVICE = """import { Injectable } from "@nestjs/common";
import { ConfigService } from "@nestjs/config";

@Injectable()
export class EnvConfigService {
  constructor(private configService: ConfigService) {}

  getOpenAIApiKey() {
    return this.configService.get<string>("OPEN_API_KEY");
  }
  getOpenAIEmbeddingModel() {
    return this.configService.get<string>("OPENAI_EMBEDDING_MODEL");
  }
  getOllamaModel(): string {
    return this.configService.get<string>("OLLAMA_EMBED_MODEL", "nomic-embed-text");
  }
}
"""
EMBEDDING_SERVICE = """import { OpenAIEmbeddings } from "@langchain/openai";
import { Injectable, Logger } from "@nestjs/common";
import { EnvConfigService } from "src/config/env-config.service";

@Injectable()
export class EmbeddingService {
  private embedding: OpenAIEmbeddings;
  constructor(private readonly config: EnvConfigService) {
    this.embedding = new OpenAIEmbeddings({
      apiKey: this.config.getOpenAIApiKey(),
      model: this.config.getOpenAIEmbeddingModel(),
    });
  }
}
"""


def app(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def models(root: Path) -> list[tuple]:
    return [(c.path, c.name, c.model, c.model_env) for c in locate(root).embedding_calls if not c.is_setting]


def test_a_config_service_read_in_the_call_names_the_models_variable_and_default(tmp_path):
    """`model: this.configService.get<string>("EMBED_MODEL", "nomic-embed-text")`: nothing was read (model None)."""
    service = ('import { ConfigService } from "@nestjs/config";\nimport { OllamaEmbeddings } from "@langchain/ollama";\n\n'
               "export class Embedder {\n  constructor(private readonly configService: ConfigService) {}\n"
               "  embeddings = new OllamaEmbeddings({\n"
               '    model: this.configService.get<string>("EMBED_MODEL", "nomic-embed-text"),\n'
               '    baseUrl: this.configService.get("OLLAMA_URL"),\n  });\n}\n')
    found = locate(app(tmp_path, {"src/embedder.ts": service}))
    assert [(c.model, c.model_env, c.url_env) for c in found.embedding_calls] == [
        ("nomic-embed-text", "EMBED_MODEL", "OLLAMA_URL")]


def test_a_method_of_the_apps_own_config_service_gives_the_variable_it_returns(tmp_path):
    """ai-agentic-rag-nestjs: `model: this.config.getOpenAIEmbeddingModel()`, `config` an `EnvConfigService` whose
    method returns `this.configService.get<string>("OPENAI_EMBEDDING_MODEL")` (the call's model was None)."""
    root = app(tmp_path, {"tsconfig.json": TSCONFIG, "src/config/env-config.service.ts": CONFIG_SERVICE,
                          "src/modules/rag/embeddings/embedding.service.ts": EMBEDDING_SERVICE})
    assert models(root) == [("src/modules/rag/embeddings/embedding.service.ts", "OpenAIEmbeddings", None,
                             "OPENAI_EMBEDDING_MODEL")]


def test_a_config_service_method_with_a_return_type_and_a_default_gives_both(tmp_path):
    embedder = EMBEDDING_SERVICE.replace("getOpenAIEmbeddingModel", "getOllamaModel")
    root = app(tmp_path, {"tsconfig.json": TSCONFIG, "src/config/env-config.service.ts": CONFIG_SERVICE,
                          "src/modules/rag/embeddings/embedding.service.ts": embedder})
    assert [m[2:] for m in models(root)] == [("nomic-embed-text", "OLLAMA_EMBED_MODEL")]


def test_a_relative_import_of_the_config_service_is_read_the_same(tmp_path):
    embedder = EMBEDDING_SERVICE.replace('"src/config/env-config.service"', '"../../../config/env-config.service"')
    root = app(tmp_path, {"src/config/env-config.service.ts": CONFIG_SERVICE,
                          "src/modules/rag/embeddings/embedding.service.ts": embedder})
    assert [m[2:] for m in models(root)] == [(None, "OPENAI_EMBEDDING_MODEL")]


def test_a_package_import_is_never_read_from_the_repository_through_base_url(tmp_path):
    """`baseUrl` maps a bare spec onto the repository only where a file is there: `@nestjs/config` stays a package."""
    embedder = EMBEDDING_SERVICE.replace('"src/config/env-config.service"', '"some-config-package"')
    root = app(tmp_path, {"tsconfig.json": TSCONFIG, "src/config/env-config.service.ts": CONFIG_SERVICE,
                          "src/modules/rag/embeddings/embedding.service.ts": embedder})
    assert [m[2:] for m in models(root)] == [(None, None)]


def test_a_long_chain_of_spaced_names_in_a_file_importing_nestjs_config_is_read_in_linear_time():
    # the ConfigService read's receiver (`name . name . `) was tried from every name of the chain, each try running
    # over the rest of it: 35 s for 20,000 names
    import time

    from harness.locate.literals import env_reads

    text = 'import { ConfigService } from "@nestjs/config";\n' + "a . " * 20_000 + "x\n"
    started = time.monotonic()
    assert env_reads(text, "js") == []
    assert time.monotonic() - started < 5


def test_a_config_service_with_a_long_run_of_blank_lines_is_read_in_linear_time(tmp_path):
    # the method's pattern began `^\s*` on every line of the class: each blank line's try ran over all those after it
    # (12 s for 20,000 lines where the class has no such method)
    import time

    service = CONFIG_SERVICE.replace("  getOpenAIApiKey()", "\n" * 30_000 + "  getOpenAIApiKey()").replace(
        "getOpenAIEmbeddingModel", "getOtherModel")
    root = app(tmp_path, {"tsconfig.json": TSCONFIG, "src/config/env-config.service.ts": service,
                          "src/modules/rag/embeddings/embedding.service.ts": EMBEDDING_SERVICE})
    started = time.monotonic()
    assert [m[2:] for m in models(root)] == [(None, None)]
    assert time.monotonic() - started < 5


def test_a_field_name_before_a_long_run_of_blanks_is_read_in_linear_time(tmp_path):
    # the field's type (`config?: EnvConfigService`) split the blanks between `\s*`, `[?!]?` and `\s*` every way
    import time

    embedder = "// config" + " " * 60_000 + "x\n" + EMBEDDING_SERVICE
    root = app(tmp_path, {"tsconfig.json": TSCONFIG, "src/config/env-config.service.ts": CONFIG_SERVICE,
                          "src/modules/rag/embeddings/embedding.service.ts": embedder})
    started = time.monotonic()
    models(root)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("before", [
    # an object literal in another method, with a method of the same name
    "  defaults() {\n    return {\n      getOpenAIEmbeddingModel() { return \"text-embedding-3-small\"; },\n    };\n  }\n",
    # a template literal holding the method's text
    "  help() {\n    return `\n  getOpenAIEmbeddingModel() { return \"text-embedding-3-small\"; }\n`;\n  }\n",
])
def test_only_the_config_services_own_method_gives_the_model(tmp_path, before):
    """The method was the first line anywhere in the class's text that began with its name and `{`: a member of an
    object literal in another method, or a template literal's text, gave the model "text-embedding-3-small"."""
    service = CONFIG_SERVICE.replace("  getOpenAIApiKey()", before + "  getOpenAIApiKey()")
    root = app(tmp_path, {"tsconfig.json": TSCONFIG, "src/config/env-config.service.ts": service,
                          "src/modules/rag/embeddings/embedding.service.ts": EMBEDDING_SERVICE})
    assert [m[2:] for m in models(root)] == [(None, "OPENAI_EMBEDDING_MODEL")]
