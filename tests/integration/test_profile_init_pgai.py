"""profile init on a pgai vectorizer's store: pgai's catalog (ai.vectorizer) says the model its worker embeds with and
where, whatever the application's code reads them from."""

import asyncio
import logging

import pytest
import yaml

from tests.conftest import TEST_MODEL

# The application's vectorizer as pgai's Python API declares it: the model and dimension read from the environment,
# which locate cannot know.
VECTORIZERS = '''import os

from pgai.vectorizer import CreateVectorizer
from pgai.vectorizer.configuration import DestinationTableConfig, EmbeddingOllamaConfig, LoadingColumnConfig

embedding = EmbeddingOllamaConfig(model=os.environ["EMBED_MODEL"], dimensions=int(os.environ["EMBED_DIMENSIONS"]))
task_vectorizer = CreateVectorizer(source="task", destination=DestinationTableConfig(destination="task_embedding"),
                                   loading=LoadingColumnConfig(column_name="title"), embedding=embedding)
'''


@pytest.fixture
def pgai_tasks(empty_db, embed_server):
    """``task`` rows embedded by pgai's own worker into ``task_embedding_store``, the vectorizer made with a fixed
    base_url (the embedding server's)."""
    pgai = pytest.importorskip("pgai")
    from pgai.vectorizer import Worker

    empty_db.execute("CREATE TABLE task (id int PRIMARY KEY, title text NOT NULL, status text NOT NULL)")
    with empty_db.connect(autocommit=True) as conn:
        for i, title in enumerate(("write the report", "review the budget", "call the supplier"), start=1):
            conn.execute("INSERT INTO task VALUES (%s, %s, 'open')", (i, title))
    pgai.install(empty_db.dsn)
    empty_db.execute("SELECT ai.create_vectorizer('task'::regclass, loading => ai.loading_column('title'), "
                     "destination => ai.destination_table('task_embedding'), "
                     "embedding => ai.embedding_ollama(%s, 384, base_url => %s))", (TEST_MODEL, embed_server.url))
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(Worker(empty_db.dsn, once=True).run())
    return empty_db


def test_a_pgai_stores_model_is_the_one_pgais_catalog_keeps_where_the_code_reads_it_from_the_environment(
        cli, pgai_tasks, embed_server, tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "vectorizers.py").write_text(VECTORIZERS)
    out = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", tmp_path / "app", "--database-url", pgai_tasks.dsn, "--output", out,
               "--json", env={"OLLAMA_HOST": embed_server.url})
    assert init.code == 0 and init.json["todo"] == [], init.out + init.err
    drafted = out.read_text()
    raw = yaml.safe_load(drafted)
    assert (raw["provider"]["model"], raw["chunks"]["table"], raw["chunks"]["collection_name"]) == (
        TEST_MODEL, "task_embedding_store", "task"), drafted
    model = next(line for line in drafted.splitlines() if line.strip().startswith("model:"))
    assert "pgai's catalog: vectorizer 1 embeds with it (ollama, 384 dimensions)" in model, model
    assert f"at its base_url {embed_server.url}, not OLLAMA_HOST" in model, model
    assert "measured:" in next(line for line in drafted.splitlines() if line.strip().startswith("text:")), drafted
    # the drafted worker embeds at the vectorizer's base_url, which OLLAMA_HOST does not change
    command = next(line for line in drafted.splitlines() if line.strip().startswith("command:"))
    assert f"it embeds at the vectorizer's base_url, {embed_server.url}, whatever OLLAMA_HOST says" in command


def test_an_ai_schema_that_is_not_pgais_leaves_the_draft_as_it_would_be(cli, empty_db, tmp_path):
    """A table `ai.vectorizer` of something else (no pgai columns): the draft is made without pgai's layout."""
    empty_db.execute("CREATE SCHEMA ai; CREATE TABLE ai.vectorizer (id int PRIMARY KEY, name text);"
                     "CREATE TABLE notes (id bigserial PRIMARY KEY, content text NOT NULL, embedding vector(384))")
    out = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", tmp_path, "--database-url", empty_db.dsn, "--output", out,
               "--model", TEST_MODEL, "--json")
    assert init.code == 0, init.out + init.err
    raw = yaml.safe_load(out.read_text())
    assert raw["chunks"]["table"] == "notes" and "source" not in raw and "text_format" not in raw["chunks"]


def test_a_pgai_vectorizers_base_url_password_is_never_written_into_the_draft(cli, pgai_tasks, embed_server, tmp_path):
    """Before: the vectorizer's base_url was said in the draft as pgai's catalog keeps it, a password in it included
    (every other URL the draft says is masked)."""
    secret = "s3cret-pgai-pw"
    fixed = embed_server.url.replace("://", f"://ollama:{secret}@")
    pgai_tasks.execute("UPDATE ai.vectorizer SET config = jsonb_set(config, '{embedding,base_url}', to_jsonb(%s::text))",
                       (fixed,))
    out = tmp_path / "profile.yaml"
    init = cli("profile", "init", "--repo", tmp_path, "--database-url", pgai_tasks.dsn, "--output", out, "--json",
               env={"OLLAMA_HOST": embed_server.url})
    assert init.code == 0, init.out + init.err
    drafted = out.read_text()
    assert "base_url" in drafted and "ollama:" in drafted, drafted
    assert secret not in drafted + init.out + init.err
