"""An application that embeds part of a stored text but hashes the whole of it (HandbookSearch embeds a file's first
5,000 characters and keeps the SHA-256 of the whole file): with ``embeddings.input_hash_of`` the input hash is of
those columns, not of ``chunks.text``, so a row is stale when what the app hashes changed, and the engine writes the
hash the application writes."""

import httpx
import pytest

from harness import ConfigError
from harness.profile import parse_profile

DOCS = """
CREATE TABLE docs (id bigint PRIMARY KEY, body text NOT NULL, body_hash text, embedding vector(384));
INSERT INTO docs (id, body) SELECT g, repeat('page ' || g || ' of the handbook on ' ||
  (ARRAY['tea', 'rain', 'maps'])[g % 3 + 1] || '. ', g) FROM generate_series(1, 10) g;
UPDATE docs SET body_hash = encode(sha256(convert_to(body, 'UTF8')), 'hex');
"""
PROFILE = """name: docs
provider: {model: hash-embed:384}
chunks: {table: docs, id: id, text: "{left(body, 40)}", collection_name: docs}
embeddings: {vector: embedding, input_hash: body_hash, input_hash_of: body}
"""


@pytest.fixture
def docs(empty_db, embed_server, tmp_path):
    """10 docs of 36 to 400 characters, each with the SHA-256 of its whole body and the vector of its first 40
    characters (as the application writes them), but for 2 whose vectors were lost."""
    empty_db.execute(DOCS)
    with empty_db.connect(autocommit=True) as conn:
        rows = conn.execute("SELECT id, left(body, 40) FROM docs ORDER BY id").fetchall()
        vectors = httpx.post(f"{embed_server.url}/api/embed",
                             json={"model": "hash-embed:384", "input": [t for _, t in rows]}).json()["embeddings"]
        for (key, _), vector in zip(rows, vectors):
            conn.execute("UPDATE docs SET embedding = %s::vector WHERE id = %s AND id NOT IN (4, 9)", (str(vector), key))
    profile = tmp_path / "docs.yaml"
    profile.write_text(PROFILE)
    return profile, {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}


def test_rows_are_stale_by_the_hash_of_what_the_application_hashes_and_the_engine_writes_that_hash(cli, empty_db, docs):
    profile, env = docs
    target = ("--profile", profile, "--collection", "docs")
    scoped = cli("scope", *target, "--json", env=env)
    assert scoped.code == 0 and (scoped.json["counts"]["missing"], scoped.json["counts"]["stale"]) == (2, 0), scoped.out
    empty_db.execute("UPDATE docs SET body = body || ' (revised)' WHERE id = 7")  # past the 40 characters embedded
    filled = cli("backfill", *target, "--json", env=env)
    assert filled.code == 0 and filled.json["embedded"] == 3, filled.out + filled.err  # the 2 lost, the revised one
    whole = "SELECT count(*) FROM docs WHERE body_hash = encode(sha256(convert_to(body, 'UTF8')), 'hex')"
    assert empty_db.scalar(whole) == 10
    verified = cli("verify", *target, "--run-dir", profile.parent / "run", "--json", env=env)
    assert not [c for c in verified.json["checks"] if c["status"] == "failed"], verified.out


def test_input_hash_of_without_an_input_hash_is_refused_naming_both_keys():
    with pytest.raises(ConfigError, match=r"'embeddings.input_hash_of'.*embeddings.input_hash"):
        parse_profile(PROFILE.replace("input_hash: body_hash, ", ""), env={})


def test_two_texts_that_embed_the_same_cut_share_a_vector_without_failing_distinct_vectors(cli, empty_db, docs):
    profile, env = docs
    empty_db.execute("INSERT INTO docs (id, body, embedding) SELECT 11, left(body, 40) || ' and a different tail', "
                     "embedding FROM docs WHERE id = 10")
    empty_db.execute("UPDATE docs SET body_hash = encode(sha256(convert_to(body, 'UTF8')), 'hex') WHERE id = 11")
    verified = cli("verify", "--profile", profile, "--collection", "docs", "--run-dir", profile.parent / "run",
                   "--json", env=env)
    statuses = {c["check"]: c["status"] for c in verified.json["checks"]}
    assert statuses["distinct_vectors"] == "passed", verified.out


NOTES = """
CREATE TABLE notes (id bigint PRIMARY KEY, folder text NOT NULL, title text NOT NULL, body text NOT NULL);
CREATE TABLE note_vectors (note_id bigint PRIMARY KEY REFERENCES notes, folder text NOT NULL, body_hash text NOT NULL,
  model text NOT NULL, embedding vector(384));
INSERT INTO notes VALUES (1, 'kitchen', 'Tea', 'steep for three minutes'),
                         (2, 'garden', 'Rain barrel', 'steep for three minutes');
"""
NOTES_PROFILE = """name: notes
provider: {model: hash-embed:384}
chunks: {table: notes, id: id, text: [title, body], collection: folder}
embeddings: {table: note_vectors, key: note_id, collection: folder, model: model, vector: embedding,
             input_hash: body_hash, input_hash_of: body}
"""


def test_a_vector_is_never_taken_over_from_a_chunk_whose_embedded_text_differs_behind_an_equal_input_hash(
        cli, empty_db, embed_server, tmp_path):
    """The app hashes the body and embeds the title with it: two notes of one body and two titles have one input hash
    and two texts. The engine took over the first note's vector for the second by that hash ('Reused 1 existing
    vectors'), and every count called it current."""
    empty_db.execute(NOTES)
    profile = tmp_path / "notes.yaml"
    profile.write_text(NOTES_PROFILE)
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    for folder in ("kitchen", "garden"):
        done = cli("backfill", "--profile", profile, "--collection", folder, "--json", env=env)
        assert done.code == 0, done.out + done.err
    assert done.json["reused"] == 0 and done.json["embedded"] == 1, done.out
    assert empty_db.scalar("SELECT count(DISTINCT embedding::text) FROM note_vectors") == 2


def test_fresh_is_not_passed_on_a_hash_of_fewer_columns_than_the_text_embedded(cli, empty_db, embed_server, tmp_path):
    """The app hashes the body and embeds the title with it: a title edited after the vector leaves the hash equal to
    the body's, and fresh passed, on every row, a vector of the old title. What no hash covers is unproven (recompute
    stands in), naming the column."""
    from harness.checks import fresh

    from .conftest import checked

    empty_db.execute(NOTES)
    profile = tmp_path / "notes.yaml"
    profile.write_text(NOTES_PROFILE)
    done = cli("backfill", "--profile", profile, "--collection", "kitchen", "--json",
               env={"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url})
    assert done.code == 0, done.out + done.err
    empty_db.execute("UPDATE notes SET title = 'Green tea' WHERE id = 1")
    outcome = checked(fresh, "kitchen", NOTES_PROFILE, empty_db.dsn, embed_server.url)
    assert outcome.status == "unproven", outcome.found
    assert "not of title, which chunks.text embeds too" in outcome.note, outcome.note


def test_fresh_is_not_passed_where_timestamps_stand_for_the_unhashed_columns_but_a_vector_has_no_time(
        cli, empty_db, embed_server, tmp_path):
    """With timestamps beside a hash of the body alone, the times say the title's edits: a vector with no time (an
    application's row written before its embedded_at column) says nothing of them. Its title edited, fresh passed on
    the body's hash."""
    from harness.checks import fresh

    from .conftest import checked

    empty_db.execute(NOTES)
    empty_db.execute("ALTER TABLE notes ADD COLUMN changed_at timestamptz NOT NULL DEFAULT now()")
    empty_db.execute("ALTER TABLE note_vectors ADD COLUMN embedded_at timestamptz")
    timed = NOTES_PROFILE.replace("collection: folder}", "collection: folder, updated_at: changed_at}").replace(
        "input_hash_of: body}", "input_hash_of: body, embedded_at: embedded_at}")
    profile = tmp_path / "notes.yaml"
    profile.write_text(timed)
    done = cli("backfill", "--profile", profile, "--collection", "kitchen", "--json",
               env={"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url})
    assert done.code == 0, done.out + done.err
    empty_db.execute("UPDATE note_vectors SET embedded_at = NULL")
    empty_db.execute("UPDATE notes SET title = 'Green tea', changed_at = now() WHERE id = 1")
    outcome = checked(fresh, "kitchen", timed, empty_db.dsn, embed_server.url)
    assert outcome.status == "unproven", outcome.found
    assert "1 of 1 vectors have no timestamp to compare" in outcome.note, outcome.note


def test_the_counts_call_a_vector_with_no_time_unmeasured_where_the_hash_is_of_fewer_columns(cli, empty_db, embed_server,
                                                                                           tmp_path):
    """scope counted the note whose title was edited, its vector without a time, as current: the hash of the body
    alone is equal, and no time says the title's edit."""
    empty_db.execute(NOTES)
    empty_db.execute("ALTER TABLE notes ADD COLUMN changed_at timestamptz NOT NULL DEFAULT now()")
    empty_db.execute("ALTER TABLE note_vectors ADD COLUMN embedded_at timestamptz")
    timed = NOTES_PROFILE.replace("collection: folder}", "collection: folder, updated_at: changed_at}").replace(
        "input_hash_of: body}", "input_hash_of: body, embedded_at: embedded_at}")
    profile = tmp_path / "notes.yaml"
    profile.write_text(timed)
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    assert cli("backfill", "--profile", profile, "--collection", "kitchen", env=env).code == 0
    empty_db.execute("UPDATE note_vectors SET embedded_at = NULL")
    empty_db.execute("UPDATE notes SET title = 'Green tea', changed_at = now() WHERE id = 1")
    scoped = cli("scope", "--profile", profile, "--collection", "kitchen", "--json", env=env)
    assert scoped.json["counts"]["untimed"] == 1, scoped.json["counts"]
    assert "1 stored vectors whether current unknown" in cli("scope", "--profile", profile, "--collection", "kitchen",
                                                              env=env).out


def test_the_counts_call_every_vector_unmeasured_where_the_hash_is_of_fewer_columns_and_nothing_is_timed(
        cli, empty_db, embed_server, tmp_path):
    """As fresh is unproven there: scope said 'Scope ok: 0 rows to embed' of the note whose title was edited."""
    empty_db.execute(NOTES)
    profile = tmp_path / "notes.yaml"
    profile.write_text(NOTES_PROFILE)
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    assert cli("backfill", "--profile", profile, "--collection", "kitchen", env=env).code == 0
    empty_db.execute("UPDATE notes SET title = 'Green tea' WHERE id = 1")
    scoped = cli("scope", "--profile", profile, "--collection", "kitchen", "--json", env=env)
    assert scoped.json["counts"]["untimed"] == 1, scoped.json["counts"]
