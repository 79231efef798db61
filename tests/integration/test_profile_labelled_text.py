"""Chunk text composed with constant labels around the row's values (``chunks.text: ["path: {...}", "title: {title}",
content]``), as applications build what they embed (pydantic-ai's RAG example): the engine, the hash and recompute
embed the same composed text."""

from harness.backfill import BackfillOptions, run_backfill
from harness.checks import FAIL, PASS, CheckOptions, open_session, recompute
from harness.db import connect
from harness.introspect import missing_names
from harness.profile import parse_profile
from harness.provider import OllamaProvider
from harness.settings import resolve

SECTIONS = """
CREATE TABLE sections (id serial PRIMARY KEY, url text NOT NULL, title text, content text NOT NULL,
                       embedding vector(384));
INSERT INTO sections (url, title, content)
SELECT 'https://docs.example.org/docs/guide/page-' || g || '/#part-' || g, CASE WHEN g <> 3 THEN 'Part ' || g END,
       'section number ' || g || ' about sampling traces'
FROM generate_series(1, 12) g;
"""

PROFILE = r"""
name: labelled
provider: {model: hash-embed:384, dimensions: 384}
chunks:
  table: sections
  collection_name: sections
  text: ["path: {regexp_replace(url, '^https://[^/]+/docs/(.*)/#.*$', '\\1.md')}", "title: {title}", content]
  text_separator: "\n\n"
embeddings: {vector: embedding}
"""


def _embedded(dsn, url):
    settings = resolve(parse_profile(PROFILE, env={}), database_url=dsn, provider_url=url)
    summary = run_backfill(settings, BackfillOptions(collection="sections", batch_size=5, progress=False))
    assert summary.embedded == 12
    return settings


def _stored(db, row: int) -> list[float]:
    return [float(x) for x in db.scalar("SELECT embedding::text FROM sections WHERE id = %s", (row,)).strip("[]").split(",")]


def _close(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) < 1e-5 for x, y in zip(a, b))


def test_labelled_parts_embed_the_text_the_application_composes(empty_db, embed_server):
    empty_db.execute(SECTIONS)
    _embedded(empty_db.dsn, embed_server.url)
    composed = "path: guide/page-5.md\n\ntitle: Part 5\n\nsection number 5 about sampling traces"
    with OllamaProvider(embed_server.url, "hash-embed:384") as provider:
        assert _close(_stored(empty_db, 5), provider.embed([composed]).vectors[0].tolist())


def test_a_labelled_part_whose_value_is_null_is_left_out_label_and_all(empty_db, embed_server):
    empty_db.execute(SECTIONS)
    _embedded(empty_db.dsn, embed_server.url)
    composed = "path: guide/page-3.md\n\nsection number 3 about sampling traces"
    with OllamaProvider(embed_server.url, "hash-embed:384") as provider:
        assert _close(_stored(empty_db, 3), provider.embed([composed]).vectors[0].tolist())


def test_recompute_fails_exactly_the_vector_of_the_text_without_its_labels(empty_db, embed_server):
    empty_db.execute(SECTIONS)
    settings = _embedded(empty_db.dsn, embed_server.url)
    with OllamaProvider(embed_server.url, "hash-embed:384") as provider:
        bare = provider.embed(["section number 7 about sampling traces"]).vectors[0].tolist()
    empty_db.execute("UPDATE sections SET embedding = %s::vector WHERE id = 7", (str(bare),))
    session = open_session(settings, CheckOptions(collections=("sections",), sample="all"))
    try:
        outcome = recompute(session, session.collections[0])
    finally:
        session.close()
    assert outcome.status is FAIL
    assert [str(o.id) for o in outcome.offenders] == ["7"]
    empty_db.execute("UPDATE sections SET embedding = NULL WHERE id = 7")
    run_backfill(settings, BackfillOptions(collection="sections", progress=False))
    session = open_session(settings, CheckOptions(collections=("sections",), sample="all"))
    try:
        assert recompute(session, session.collections[0]).status is PASS
    finally:
        session.close()


def test_a_labelled_part_naming_a_column_the_table_lacks_is_named(empty_db):
    empty_db.execute(SECTIONS)
    profile = parse_profile(PROFILE.replace("title: {title}", "title: {heading}"), env={})
    with connect(empty_db.dsn, autocommit=True) as conn:
        problems = missing_names(conn, profile)
    assert len(problems) == 1 and "profile key 'chunks.text[1]' names column 'heading'" in problems[0], problems


def test_a_labelled_part_whose_sql_names_a_column_the_table_lacks_is_named(empty_db):
    # Before: only the parts' plain columns were looked up; the expression's typo surfaced at the first query as
    # "database error: column "ulr" does not exist", naming no profile key.
    empty_db.execute(SECTIONS)
    profile = parse_profile(PROFILE.replace("regexp_replace(url,", "regexp_replace(ulr,"), env={})
    with connect(empty_db.dsn, autocommit=True) as conn:
        problems = missing_names(conn, profile)
    assert len(problems) == 1 and problems[0].startswith("profile key 'chunks.text[0]' is ") and "ulr" in problems[0], problems


def test_a_labelled_part_whose_sql_names_a_column_of_the_embeddings_table_only_is_named(empty_db):
    # A sub-select reads the outer query's names: in a query joining the embeddings table, upper(kind) read the
    # embedding row's kind, in one reading the chunk table alone it failed. The parts read the chunk's columns only.
    empty_db.execute("CREATE TABLE sections (id serial PRIMARY KEY, content text NOT NULL); CREATE TABLE emb "
                     "(sid int PRIMARY KEY REFERENCES sections, embedding vector(384), kind text)")
    profile = parse_profile(PROFILE.replace('["path: {regexp_replace(url, \'^https://[^/]+/docs/(.*)/#.*$\', \'\\\\1.md\')}", '
                                            '"title: {title}", content]', '["kind: {upper(kind)}", content]')
                            .replace("{vector: embedding}", "{table: emb, key: sid, vector: embedding}"), env={})
    assert profile.chunks.text == ("kind: {upper(kind)}", "content")
    with connect(empty_db.dsn, autocommit=True) as conn:
        problems = missing_names(conn, profile)
    assert len(problems) == 1 and problems[0].startswith("profile key 'chunks.text[0]' is ") and "kind" in problems[0], problems
