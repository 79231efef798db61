"""pgai with a formatting template that reads a source column (``$title: $chunk``): the preset embeds what pgai embeds."""

import pytest
from psycopg import sql

from ...conftest import finished_run
from .conftest import failed, passed

pytestmark = pytest.mark.slow  # builds a pgai store with its worker


def checks(store, tmp_path):
    run_dir = tmp_path / "run"
    finished_run(run_dir, "blog")
    return store.checks(run_dir)


def test_the_pgai_preset_composes_exactly_what_pgais_template_makes_of_each_chunk(pgai_titled_store):
    from pgai.vectorizer.chunking import LangChainRecursiveCharacterTextSplitter
    from pgai.vectorizer.formatting import PythonTemplate

    from harness.profile import load_profile
    from harness.target import Target

    target = Target(load_profile("pgai", env=pgai_titled_store.env))
    with pgai_titled_store.db.connect() as conn:
        config = conn.execute("SELECT config FROM ai.vectorizer").fetchone()[0]
        sources = {r[0]: dict(zip(("id", "title", "url", "contents"), r))
                   for r in conn.execute("SELECT id, title, url, contents FROM blog").fetchall()}
        composed = conn.execute(sql.SQL("SELECT c.id, c.chunk_seq, {} FROM blog_embeddings_store AS c").format(
            target.text)).fetchall()
    splitter = LangChainRecursiveCharacterTextSplitter.model_validate(config["chunking"])
    template = PythonTemplate.model_validate(config["formatting"])
    expected = {(i, seq): template.format(chunk, row) for i, row in sources.items()
                for seq, chunk in enumerate(splitter.into_chunks(row, row["contents"]))}
    assert {(i, seq): text for i, seq, text in composed} == expected
    assert all(text.startswith(sources[i]["title"] + ": ") for i, _, text in composed)


def test_checks_pass_on_a_healthy_store_with_a_source_column_in_the_template(pgai_titled_store, tmp_path):
    outcomes = checks(pgai_titled_store, tmp_path)
    assert failed(outcomes) == set(), {n: o.message() for n, o in outcomes.items() if n in failed(outcomes)}
    assert {"recompute", "coverage", "source_coverage", "citations"} <= passed(outcomes)


def test_a_source_column_the_template_reads_edited_and_its_queue_item_lost_fails_recompute(pgai_titled_store, tmp_path):
    db = pgai_titled_store.db
    db.execute("UPDATE blog SET title = 'Cooking pasta with tomato sauce and basil' WHERE id = 4")
    queue = db.scalar("SELECT format('%I.%I', queue_schema, queue_table) FROM ai.vectorizer")
    db.execute(f"DELETE FROM {queue}")  # the queue no longer says so: only the vectors can tell
    outcomes = checks(pgai_titled_store, tmp_path)
    chunks = db.scalar("SELECT count(*) FROM blog_embeddings_store WHERE id = 4")
    assert failed(outcomes) <= {"recompute", "citations"} and "recompute" in failed(outcomes), failed(outcomes)
    assert f"{chunks} of" in outcomes["recompute"].message() and "id=" in outcomes["recompute"].message()

