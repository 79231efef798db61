"""locate reads a Spring Boot application: the table Spring AI's PgVectorStore creates from its properties, the
Ollama embedder its properties configure, and the runner that ingests at start-up."""

from pathlib import Path

from harness.steps.locate import locate

RUNNER = """package com.example;

import org.springframework.boot.CommandLineRunner;
import org.springframework.stereotype.Component;

@Component
public class Loader implements CommandLineRunner {
    public void run(String... args) { }
}
"""


def app(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_a_yaml_embedding_section_under_an_ollama_key_is_an_ollama_embedder(tmp_path):
    found = locate(app(tmp_path, {"src/main/resources/application.yml":
                                  "spring:\n  ai:\n    ollama:\n      embedding:\n        model: nomic-embed-text\n"}))
    assert [(c.model, c.is_ollama) for c in found.embedding_calls] == [("nomic-embed-text", True)]


def test_a_yaml_embedding_section_under_another_provider_is_not_ollamas(tmp_path):
    found = locate(app(tmp_path, {"src/main/resources/application.yml":
                                  "spring:\n  ai:\n    openai:\n      embedding:\n        model: text-embedding-3-small\n"}))
    assert [(c.model, c.is_ollama) for c in found.embedding_calls] == [("text-embedding-3-small", False)]


def test_pgvector_store_properties_bind_relaxed_names_to_its_table_and_distance(tmp_path):
    found = locate(app(tmp_path, {"src/main/resources/application.properties":
                                  "spring.datasource.url=jdbc:postgresql://db/app\n"
                                  "spring.ai.vectorstore.pgvector.tableName=kb_chunks\n"
                                  "spring.ai.vectorstore.pgvector.schema_name=rag\n"
                                  "spring.ai.vectorstore.pgvector.distance-type=euclidean-distance\n"
                                  "spring.ai.vectorstore.pgvector.dimensions=${EMBED_DIMS:1024}\n"}))
    assert [(d.table, d.column, d.dimensions, d.dims_env, d.distance) for d in found.declarations] == [
        ("rag.kb_chunks", "embedding", 1024, "EMBED_DIMS", "l2")]
    assert [(u.table, u.distance, u.said) for u in found.distances] == [("rag.kb_chunks", "l2", "euclidean-distance")]


def test_the_pgvector_starter_alone_declares_the_default_table_queried_by_cosine(tmp_path):
    found = locate(app(tmp_path, {
        "build.gradle.kts": 'dependencies { implementation("org.springframework.ai:spring-ai-starter-vector-store-pgvector") }\n',
        "src/main/resources/application.yml": "spring:\n  datasource:\n    url: jdbc:postgresql://db/app\n"}))
    assert [(d.table, d.column, d.dimensions, d.distance) for d in found.declarations] == [
        ("vector_store", "embedding", None, "cosine")]


def test_no_pgvector_store_without_its_properties_or_its_artifact(tmp_path):
    found = locate(app(tmp_path, {"pom.xml": "<project><artifactId>spring-boot-starter-web</artifactId></project>\n",
                                  "src/main/resources/application.yml": "server:\n  port: 8080\n"}))
    assert found.declarations == () and found.distances == ()


def test_a_command_line_runner_runs_through_the_gradle_wrapper_from_its_module(tmp_path):
    found = locate(app(tmp_path, {"ingest/build.gradle": "plugins { id 'org.springframework.boot' }\n",
                                  "ingest/gradlew": "#!/bin/sh\n",
                                  "ingest/src/main/java/com/example/Loader.java": RUNNER}))
    assert [(e.kind, e.name, e.command, e.workdir) for e in found.entrypoints] == [
        ("spring-boot-runner", "Loader", "./gradlew bootRun", "ingest")]


def test_a_modules_runner_runs_the_wrapper_of_the_build_above_it_by_its_path(tmp_path):
    # A multi-module build keeps one wrapper at its root: "./mvnw" run from the module's folder named a file that is
    # not there, and the drafted command could not start.
    found = locate(app(tmp_path, {"pom.xml": "<project><modules><module>ingest</module></modules></project>\n",
                                  "mvnw": "#!/bin/sh\n",
                                  "ingest/pom.xml": "<project><artifactId>ingest</artifactId></project>\n",
                                  "ingest/src/main/java/com/example/Loader.java": RUNNER}))
    assert [(e.command, e.workdir) for e in found.entrypoints] == [("../mvnw spring-boot:run", "ingest")]


def test_a_class_that_only_names_a_runner_is_no_entrypoint(tmp_path):
    found = locate(app(tmp_path, {"pom.xml": "<project/>\n", "src/main/java/com/example/Util.java":
                                  "package com.example;\n// the Runner of tests\nclass Util { }\n"}))
    assert found.entrypoints == ()


SPRING_YML = """spring:
  datasource:
    url: ${SPRING_DATASOURCE_URL:jdbc:postgresql://localhost:5432/handbook}
  ai:
    ollama:
      base-url: ${OLLAMA_BASE_URL:http://localhost:11434}
"""


def test_a_placeholders_default_is_the_value_of_the_environment_name_it_reads_first(tmp_path):
    found = locate(app(tmp_path, {"src/main/resources/application.yml": SPRING_YML}))
    settings = {(s.name, s.value) for s in found.settings}
    assert ("OLLAMA_BASE_URL", "http://localhost:11434") in settings, settings
    assert ("SPRING_DATASOURCE_URL", "jdbc:postgresql://localhost:5432/handbook") in settings, settings


def test_an_ollama_url_ends_at_the_placeholders_closing_brace(tmp_path):
    found = locate(app(tmp_path, {"src/main/resources/application.yml": SPRING_YML}))
    assert {s.value for s in found.settings if s.name == "url"} == {"http://localhost:11434"}


def test_springs_datasource_url_is_a_database_setting():
    from harness.locate.config import kind_of

    assert kind_of("SPRING_DATASOURCE_URL") == "database"


def test_a_jdbc_settings_user_and_password_are_given_the_credentials_not_the_jdbc_url():
    # Heroku's JDBC_DATABASE_URL / _USERNAME / _PASSWORD: every name with JDBC in it was given the JDBC URL, so the
    # drafted command logged in as "jdbc:postgresql://..." with that as its password.
    from harness.locate.config import placeholder_for

    assert placeholder_for("JDBC_DATABASE_URL") == "jdbc:postgresql://{database_host}:{database_port}/{database_name}"
    assert placeholder_for("JDBC_DATABASE_USERNAME") == "{database_user}"
    assert placeholder_for("JDBC_DATABASE_PASSWORD") == "{database_password}"


def test_a_jdbc_url_setting_is_given_the_database_in_jdbc_form_and_its_credentials_apart():
    from harness.locate.config import placeholder_for

    assert placeholder_for("SPRING_DATASOURCE_URL") == "jdbc:postgresql://{database_host}:{database_port}/{database_name}"
    assert placeholder_for("SPRING_DATASOURCE_USERNAME") == "{database_user}"
    assert placeholder_for("SPRING_DATASOURCE_PASSWORD") == "{database_password}"


def test_a_runners_contract_is_the_environment_names_spring_binds_to_the_datasource_and_the_ollama_embedder(tmp_path):
    found = locate(app(tmp_path, {
        "pom.xml": "<project><artifactId>spring-ai-starter-model-ollama</artifactId>"
                   "<artifactId>spring-ai-starter-vector-store-pgvector</artifactId></project>\n",
        "src/main/java/com/example/Loader.java": RUNNER.replace("public void run(String... args) { }",
                                                                "public void run(String... args) { store.add(docs); }")
        .replace("public class Loader", "public class Loader /* VectorStore store */")}))
    (entry,) = found.entrypoints
    assert entry.contract.known and entry.may_embed
    assert entry.contract.backfill_env() == {
        "SPRING_DATASOURCE_URL": "jdbc:postgresql://{database_host}:{database_port}/{database_name}",
        "SPRING_DATASOURCE_USERNAME": "{database_user}", "SPRING_DATASOURCE_PASSWORD": "{database_password}",
        "SPRING_AI_OLLAMA_BASE_URL": "{provider_url}", "SPRING_AI_OLLAMA_EMBEDDING_MODEL": "{model}",
        "SPRING_AI_OLLAMA_EMBEDDING_OPTIONS_MODEL": "{model}", "SPRING_AI_VECTORSTORE_PGVECTOR_DIMENSIONS": "{dimensions}"}


def test_a_runners_environment_sets_both_property_names_that_bind_the_ollama_embedding_model(tmp_path):
    # OllamaEmbeddingProperties binds spring.ai.ollama.embedding.model and .options.model to one field: with the
    # application's yml setting options.model, the environment's EMBEDDING_MODEL alone may be bound first and
    # overwritten, and the run embed with the yml's model, not ours.
    found = locate(app(tmp_path, {
        "pom.xml": "<project><artifactId>spring-ai-starter-model-ollama</artifactId></project>\n",
        "src/main/resources/application.yml":
            "spring:\n  ai:\n    ollama:\n      embedding:\n        options:\n          model: mxbai-embed-large\n",
        "src/main/java/com/example/Loader.java": RUNNER}))
    (entry,) = found.entrypoints
    env = entry.contract.backfill_env()
    assert env["SPRING_AI_OLLAMA_EMBEDDING_MODEL"] == env["SPRING_AI_OLLAMA_EMBEDDING_OPTIONS_MODEL"] == "{model}"


def test_a_dotted_properties_key_of_an_ollama_embedding_section_names_its_model(tmp_path):
    found = locate(app(tmp_path, {"src/main/resources/application.properties":
                                  "spring.ai.ollama.embedding.model=mxbai-embed-large\n"
                                  "spring.ai.openai.chat.model=gpt-4o\n"}))
    assert [(c.model, c.is_ollama, c.line) for c in found.embedding_calls] == [("mxbai-embed-large", True, 1)]


def test_the_base_application_file_declares_the_store_not_a_profile_specific_one(tmp_path):
    # application-test.yml applies only where the test profile is active; the runner starts with none. It sorts
    # before application.yml ('-' before '.'), and its width was taken as the table's: 3 where the app makes 768.
    found = locate(app(tmp_path, {
        "src/main/resources/application.yml":
            "spring:\n  ai:\n    vectorstore:\n      pgvector:\n        dimensions: 768\n",
        "src/main/resources/application-test.yml":
            "spring:\n  ai:\n    vectorstore:\n      pgvector:\n        dimensions: 3\n"}))
    assert [(d.path, d.dimensions) for d in found.declarations] == [("src/main/resources/application.yml", 768)]


def test_an_application_file_of_another_source_set_is_not_the_applications(tmp_path):
    # Spring Boot reads application.yml from the classpath (src/main/resources, its config/) and the working folder;
    # an integration-test source set's (src/integrationTest/resources, which is_test does not know) sorted first and
    # its width was taken for the table's.
    found = locate(app(tmp_path, {
        "build.gradle": "dependencies { implementation 'org.springframework.ai:spring-ai-starter-vector-store-pgvector' }\n",
        "src/integrationTest/resources/application.yml":
            "spring:\n  ai:\n    vectorstore:\n      pgvector:\n        dimensions: 3\n",
        "src/main/resources/application.yml": "spring:\n  datasource:\n    url: jdbc:postgresql://db/app\n"}))
    assert [(d.path, d.dimensions) for d in found.declarations] == [("src/main/resources/application.yml", None)]


def test_a_yaml_document_activated_on_a_profile_does_not_override_the_default_one(tmp_path):
    # One file, two documents: the second applies only under spring.config.activate.on-profile (or the older
    # spring.profiles); reading every document in turn let it override the default's width and distance.
    found = locate(app(tmp_path, {"src/main/resources/application.yml":
                                  "spring:\n  ai:\n    vectorstore:\n      pgvector:\n        dimensions: 768\n"
                                  "---\nspring:\n  config:\n    activate:\n      on-profile: test\n"
                                  "  ai:\n    vectorstore:\n      pgvector:\n        dimensions: 3\n"
                                  "        distance-type: EUCLIDEAN_DISTANCE\n"}))
    assert [(d.dimensions, d.distance) for d in found.declarations] == [(768, "cosine")]


def test_a_runner_whose_store_drops_its_table_at_start_up_says_so_in_its_contract(tmp_path):
    # PgVectorStore drops the table before it creates it when remove-existing-vector-store-table is set: starting the
    # application deletes every stored row (their keys with them) and keeps only what its runners add again.
    found = locate(app(tmp_path, {
        "pom.xml": "<project><artifactId>spring-ai-starter-vector-store-pgvector</artifactId></project>\n",
        "src/main/resources/application.yaml":
            "spring:\n  ai:\n    vectorstore:\n      pgvector:\n        initialize-schema: true\n"
            "        remove-existing-vector-store-table: true\n        dimensions: 1024\n",
        "src/main/java/com/example/Loader.java": RUNNER}))
    (entry,) = found.entrypoints
    assert entry.contract.drops == ("it drops vector_store and creates it empty at each start "
                                    "(remove-existing-vector-store-table: true at src/main/resources/application.yaml:6)")


def test_a_runner_whose_store_keeps_its_table_drops_nothing(tmp_path):
    found = locate(app(tmp_path, {
        "pom.xml": "<project><artifactId>spring-ai-starter-vector-store-pgvector</artifactId></project>\n",
        "src/main/resources/application.properties":
            "spring.ai.vectorstore.pgvector.remove-existing-vector-store-table=${DROP_STORE:false}\n",
        "src/main/java/com/example/Loader.java": RUNNER}))
    (entry,) = found.entrypoints
    assert entry.contract.drops == ""


def test_a_runner_that_drops_the_store_is_no_backfill_the_draft_may_name(tmp_path):
    from harness.profile_draft import _unreachable

    found = locate(app(tmp_path, {
        "pom.xml": "<project><artifactId>spring-ai-starter-vector-store-pgvector</artifactId></project>\n",
        "src/main/resources/application.properties":
            "spring.ai.vectorstore.pgvector.removeExistingVectorStoreTable=true\n",
        "src/main/java/com/example/Loader.java": RUNNER}))
    (entry,) = found.entrypoints
    assert _unreachable(entry.contract, "mxbai-embed-large") == (
        "it drops vector_store and creates it empty at each start "
        "(remove-existing-vector-store-table: true at src/main/resources/application.properties:1)")


def test_the_summary_says_that_starting_the_runner_empties_the_store(tmp_path):
    text = locate(app(tmp_path, {
        "pom.xml": "<project><artifactId>spring-ai-starter-vector-store-pgvector</artifactId></project>\n",
        "src/main/resources/application.properties":
            "spring.ai.vectorstore.pgvector.remove-existing-vector-store-table=true\n",
        "src/main/java/com/example/Loader.java": RUNNER})).text()
    assert ("    it drops vector_store and creates it empty at each start (remove-existing-vector-store-table: true at "
            "src/main/resources/application.properties:1): no backfill of the rows there, the draft leaves it out"
            ) in text, text
