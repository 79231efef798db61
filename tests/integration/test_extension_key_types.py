"""Chunk keys of an extension's type (citext: slugs or e-mail addresses compared without case): psycopg knows no
binary form for it, so a batch is never sent to such a column by binary COPY."""

from __future__ import annotations

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.checks import CheckOptions, open_session, run_all
from harness.profile import parse_profile
from harness.settings import resolve

SEPARATE = """
name: slugs
provider: {model: hash-embed:384}
chunks: {table: pages, id: slug, text: body, collection_name: pages}
embeddings: {table: page_vectors, key: slug, vector: embedding, model: model}
"""
INLINE = """
name: slugs-inline
provider: {model: hash-embed:384}
chunks: {table: pages, id: slug, text: body, collection_name: pages}
embeddings: {table: pages, key: slug, vector: embedding, model: model}
"""
ROWS = 12


def _pages(db, inline: bool) -> None:
    db.execute("CREATE EXTENSION citext")
    db.execute("CREATE TABLE pages (slug citext PRIMARY KEY, body text NOT NULL"
               + (", embedding vector(384), model text)" if inline else ")"))
    if not inline:
        db.execute("CREATE TABLE page_vectors (slug citext PRIMARY KEY REFERENCES pages, embedding vector(384), "
                   "model text)")
    db.execute("INSERT INTO pages (slug, body) SELECT 'Page-' || i, 'page number ' || i FROM generate_series(1, %s) i",
               (ROWS,))


@pytest.mark.parametrize("text", [SEPARATE, INLINE], ids=["separate", "inline"])
def test_chunks_keyed_by_citext_are_embedded_not_a_crash_of_the_copy(text, empty_db, embed_server):
    # The binary COPY asked psycopg for citext's binary form: "KeyError: couldn't find the type 'citext' in the
    # types registry", a crash of the run on its first batch.
    _pages(empty_db, inline=text is INLINE)
    settings = resolve(parse_profile(text, env={}), database_url=empty_db.dsn, env={"OLLAMA_HOST": embed_server.url})
    summary = run_backfill(settings, BackfillOptions(collection="pages", batch_size=5, progress=False))
    assert (summary.ok, summary.embedded, summary.after.needed) == (True, ROWS, 0), summary.line()
    table = "pages" if text is INLINE else "page_vectors"
    assert empty_db.scalar(f"SELECT count(*) FROM {table} WHERE embedding IS NOT NULL AND slug LIKE 'Page-%%'") == ROWS


def test_the_checks_find_again_the_rows_they_sampled_by_a_citext_key(empty_db, embed_server):
    # A binary cursor read the key as bytes (psycopg knows no citext), and the row sampled was looked up again with
    # it: the checks stopped with a bare "operator does not exist: citext = bytea".
    _pages(empty_db, inline=False)
    settings = resolve(parse_profile(SEPARATE, env={}), database_url=empty_db.dsn,
                       env={"OLLAMA_HOST": embed_server.url})
    assert run_backfill(settings, BackfillOptions(collection="pages", batch_size=5, progress=False)).ok
    session = open_session(settings, CheckOptions(collections=("pages",)))
    try:
        outcomes = {o.check: o for o in run_all(session)}
    finally:
        session.close()
    for check in ("coverage", "recompute", "citations", "distinct_vectors"):
        assert outcomes[check].status == "passed", outcomes[check].message()
