"""Chunk text the application embeds as a JSON document of the row's fields (`json_encode([...])` in PHP,
`JSON.stringify({...})`, `json.dumps({...})`): ``chunks.text_json`` names the serializer whose spelling it is, and
``chunks.text`` the members in order (``{key: column}`` where the key is not the column's name). The engine, the
hash and recompute embed the document as that serializer writes it."""

import json

import pytest

from harness.backfill import BackfillOptions, run_backfill
from harness.checks import FAIL, PASS, CheckOptions, open_session, recompute
from harness.errors import ConfigError
from harness.profile import parse_profile
from harness.provider import OllamaProvider
from harness.settings import resolve

COURSES = """
CREATE SCHEMA mooc;
CREATE TABLE mooc.courses (id char(4) PRIMARY KEY, name varchar(255) NOT NULL, summary text, categories jsonb NOT NULL,
                           published_at date NOT NULL, lessons int, free boolean, embedding vector(384));
INSERT INTO mooc.courses VALUES
  ('cl3c', 'Clean Code', 'Aplica Clean Code a tu código: más mantenible, "escalable" y testable.',
   '["arquitectura-software"]', '2024-09-12', 12, true),
  ('3rr0', 'Errores/Excepciones', 'Modela los errores 🚀 de tu aplicación\\ny sus excepciones.',
   '["backend", "arquitectura-software"]', '2024-08-01', NULL, false),
  ('tx4n', 'Transacciones', NULL, '[]', '2024-07-15', 3, NULL);
"""

PROFILE = """
name: courses
provider: {model: hash-embed:384, dimensions: 384}
chunks:
  schema: mooc
  table: courses
  collection_name: courses
  text: [id, name, summary, categories, {publishedAt: published_at}, lessons, free]
  text_json: STYLE
embeddings: {vector: embedding}
"""

# Each serializer's own spelling of the same object: PHP's json_encode escapes every non-ASCII character and `/`;
# JSON.stringify (and serde_json, Jackson) writes them as they are; Python's json.dumps escapes them and puts a space
# after each `,` and `:`.
SERIALIZERS = {
    "php": lambda o: json.dumps(o, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/"),
    "js": lambda o: json.dumps(o, separators=(",", ":"), ensure_ascii=False),
    "python": lambda o: json.dumps(o),
}


def _documents(db) -> dict[str, dict]:
    rows = db.connect().execute("SELECT id, name, summary, categories, published_at::text, lessons, free "
                                "FROM mooc.courses").fetchall()
    return {r[0]: {"id": r[0], "name": r[1], "summary": r[2], "categories": r[3], "publishedAt": r[4],
                   "lessons": r[5], "free": r[6]} for r in rows}


def _settings(db, server, style: str):
    return resolve(parse_profile(PROFILE.replace("STYLE", style), env={}), database_url=db.dsn,
                   provider_url=server.url)


def _stored(db, key: str) -> list[float]:
    return [float(x) for x in db.scalar("SELECT embedding::text FROM mooc.courses WHERE id = %s", (key,)).strip("[]").split(",")]


@pytest.mark.parametrize("style", sorted(SERIALIZERS))
def test_the_engine_embeds_the_document_as_the_applications_serializer_writes_it(empty_db, embed_server, style):
    empty_db.execute(COURSES)
    summary = run_backfill(_settings(empty_db, embed_server, style), BackfillOptions(collection="courses", progress=False))
    assert summary.embedded == 3
    with OllamaProvider(embed_server.url, "hash-embed:384") as provider:
        for key, document in _documents(empty_db).items():
            expected = provider.embed([SERIALIZERS[style](document)]).vectors[0].tolist()
            assert all(abs(a - b) < 1e-5 for a, b in zip(_stored(empty_db, key), expected, strict=True)), (style, key)


def test_recompute_passes_the_applications_documents_and_fails_a_vector_of_the_bare_summary(empty_db, embed_server):
    empty_db.execute(COURSES)
    with OllamaProvider(embed_server.url, "hash-embed:384") as provider:
        for key, document in _documents(empty_db).items():
            vector = provider.embed([SERIALIZERS["php"](document)]).vectors[0].tolist()
            empty_db.execute("UPDATE mooc.courses SET embedding = %s::vector WHERE id = %s", (str(vector), key))
        bare = provider.embed([_documents(empty_db)["cl3c"]["summary"]]).vectors[0].tolist()
    settings = _settings(empty_db, embed_server, "php")

    def recomputed():
        session = open_session(settings, CheckOptions(collections=("courses",), sample="all"))
        try:
            return recompute(session, session.collections[0])
        finally:
            session.close()

    assert recomputed().status is PASS
    empty_db.execute("UPDATE mooc.courses SET embedding = %s::vector WHERE id = 'cl3c'", (str(bare),))
    outcome = recomputed()
    assert outcome.status is FAIL and [str(o.id) for o in outcome.offenders] == ["cl3c"], outcome


@pytest.mark.parametrize("change, said", [
    ("text_json: STYLE", "profile key 'chunks.text_json' must be one of js, php, python, found 'yaml'"),
    ("{publishedAt: published_at}", "profile key 'chunks.text[4]' must be a column or {key: column}, found a mapping of 2 keys"),
    ("lessons, free]", "profile key 'chunks.text[5]' is a labelled part ('count: {lessons}'), which chunks.text_json does not "
                       "compose; expected a column or {key: column}"),
])
def test_a_json_document_profile_that_cannot_be_composed_is_refused_naming_the_key(change, said):
    text = PROFILE.replace("STYLE", "php")
    text = {"text_json: STYLE": text.replace("text_json: php", "text_json: yaml"),
            "{publishedAt: published_at}": text.replace("{publishedAt: published_at}", "{publishedAt: published_at, b: c}"),
            "lessons, free]": text.replace("lessons, free]", "'count: {lessons}', free]")}[change]
    with pytest.raises(ConfigError) as refused:
        parse_profile(text, env={})
    assert str(refused.value).startswith(said), str(refused.value)


def test_a_key_mapping_without_text_json_is_refused_naming_the_key():
    with pytest.raises(ConfigError) as refused:
        parse_profile(PROFILE.replace("  text_json: STYLE\n", ""), env={})
    assert str(refused.value).startswith("profile key 'chunks.text[4]' is {key: column}, which only chunks.text_json "
                                         "composes"), str(refused.value)


RATED = """
name: rated
provider: {model: hash-embed:384, dimensions: 384}
chunks: {table: rated, collection_name: rated, text: [name, rating], text_json: STYLE}
embeddings: {vector: embedding}
"""


def _composed(db, style: str) -> dict[int, tuple[str, str]]:
    """Each row's document as the profile composes it in SQL, and as the style's serializer writes the row read."""
    from psycopg import sql

    from harness.target import Target

    target = Target(parse_profile(RATED.replace("STYLE", style), env={}))
    conn = db.connect()
    composed = dict(conn.execute(sql.SQL("SELECT c.id, {} FROM rated AS c").format(target.text)).fetchall())
    return {i: (composed[i], SERIALIZERS[style]({"name": name, "rating": rating}))
            for i, name, rating in conn.execute("SELECT id, name, rating FROM rated").fetchall()}


def test_a_whole_float_is_spelled_as_pythons_json_dumps_writes_a_float(empty_db):
    """psycopg reads a `double precision` 4 as the float 4.0, which json.dumps writes `4.0`; Postgres writes `4`: every
    row of a whole rating was embedded as a text the application never sent."""
    empty_db.execute("CREATE TABLE rated (id int PRIMARY KEY, name text, rating float8, embedding vector(384))")
    empty_db.execute("INSERT INTO rated VALUES (1, 'whole', 4), (2, 'fraction', 4.25), (3, 'negative', -3), "
                     "(4, 'none', NULL)")
    assert {i: a for i, (a, b) in _composed(empty_db, "python").items() if a != b} == {}, _composed(empty_db, "python")


def test_a_delete_character_is_escaped_as_pythons_json_dumps_escapes_it(empty_db):
    """json.dumps' ASCII escapes every character outside space..`~`, DEL (0x7f) too; json_encode and JSON.stringify
    write it as it is."""
    empty_db.execute("CREATE TABLE rated (id int PRIMARY KEY, name text, rating int, embedding vector(384))")
    empty_db.execute("INSERT INTO rated VALUES (1, 'rubout' || chr(127) || ' é', 1)")
    composed, written = _composed(empty_db, "python")[1]
    assert composed == written == '{"name": "rubout\\u007f \\u00e9", "rating": 1}', composed
    assert _composed(empty_db, "php")[1][0] == '{"name":"rubout\x7f \\u00e9","rating":1}'
    assert _composed(empty_db, "js")[1][0] == '{"name":"rubout\x7f é","rating":1}'
