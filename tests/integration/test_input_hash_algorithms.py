"""An application's own input hash in another algorithm or form (khoj's ``hashed_value`` is the MD5 hex of the
text; others keep SHA-1, SHA-512 or a raw ``bytea`` digest): with ``embeddings.input_hash_algorithm`` the engine
writes exactly what the application writes there, and ``fresh`` is proven on every row by the application's hash."""

import hashlib

import pytest
from psycopg import sql

from harness import hashing

from .conftest import checked

NOTES = """
CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL, embedding vector(384), body_hash {type});
INSERT INTO notes (id, body) SELECT g, 'note number ' || g || ' about ' || (ARRAY['tea', 'rain', 'maps'])[g % 3 + 1]
  FROM generate_series(1, 12) g;
"""
# pgcrypto is not in the test server's build: a stand-in digest() answering SHA-1 for the texts the tests use
# (precomputed by hashlib), resolved on the search path exactly as pgcrypto's would be.
DIGEST_STAND_IN = """
CREATE TABLE sha1_known (data bytea PRIMARY KEY, d bytea NOT NULL);
CREATE FUNCTION digest(bytea, text) RETURNS bytea LANGUAGE sql STABLE
  AS $$ SELECT d FROM sha1_known WHERE data = $1 AND $2 = 'sha1' $$;
"""


def _notes(db, tmp_path, *, type="text", algorithm=None, app_hash=None):
    """The notes table; ``app_hash``: SQL over ``body`` the application stored in every row's ``body_hash``."""
    db.execute(NOTES.format(type=type))
    if app_hash:
        db.execute(f"UPDATE notes SET body_hash = {app_hash}")
    setting = f", input_hash_algorithm: {algorithm}" if algorithm else ""
    text = ("name: notes\nprovider: {model: hash-embed:384}\n"
            "chunks: {table: notes, id: id, text: body, collection_name: notes}\n"
            f"embeddings: {{vector: embedding, input_hash: body_hash{setting}}}\n")
    path = tmp_path / "notes.yaml"
    path.write_text(text)
    return path, text


def _env(db, embed_server):
    return {"DATABASE_URL": db.dsn, "OLLAMA_HOST": embed_server.url}


def _input_hash_check(result):
    return next(c for c in result.json["checks"] if c["check"] == "input hash")


def _backfill(cli, profile, env):
    return cli("backfill", "--profile", profile, "--collection", "notes", "--json", env=env)


@pytest.mark.parametrize("name", ["sha256", "sha512", "md5"])
def test_the_sql_digest_of_each_builtin_algorithm_equals_pythons(empty_db, name):
    alg, text = hashing.ALGORITHMS[name], "Grüße, 東京 🚀"
    with empty_db.connect() as conn:
        hex_value, raw = conn.execute(sql.SQL("SELECT {}, {}").format(
            alg.hex_sql(sql.Literal(text)), alg.digest_sql(sql.Literal(text)))).fetchone()
    assert hex_value == hashing.text_hash(text, name) and bytes(raw) == hashlib.new(name, text.encode()).digest()


def test_the_engine_writes_md5_hex_into_an_md5_column_and_fresh_passes(cli, empty_db, embed_server, tmp_path):
    profile, text = _notes(empty_db, tmp_path, type="varchar(32)", algorithm="md5", app_hash="md5(body)")
    empty_db.execute("UPDATE notes SET body_hash = NULL WHERE id > 8")  # not embedded yet: the app writes both
    env = _env(empty_db, embed_server)
    scope = cli("scope", "--profile", profile, "--collection", "notes", "--json", env=env)
    assert _input_hash_check(scope)["status"] == "passed", scope.out
    assert "8 equal the MD5 of the current text" in _input_hash_check(scope)["found"]
    filled = _backfill(cli, profile, env)
    assert filled.code == 0 and filled.json["embedded"] == 12, filled.out + filled.err
    assert empty_db.scalar("SELECT count(*) FROM notes WHERE body_hash = md5(body)") == 12
    from harness.checks import fresh
    outcome = checked(fresh, "notes", text, empty_db.dsn, embed_server.url)
    assert outcome.status == "passed", outcome.message()


def test_a_text_edited_after_its_vector_fails_fresh_under_md5_naming_the_algorithm(cli, empty_db, embed_server,
                                                                                   tmp_path):
    profile, text = _notes(empty_db, tmp_path, algorithm="md5", app_hash="md5(body)")
    assert _backfill(cli, profile, _env(empty_db, embed_server)).code == 0
    empty_db.execute("UPDATE notes SET body = body || ' (edited)' WHERE id = 5")
    from harness.checks import fresh
    outcome = checked(fresh, "notes", text, empty_db.dsn, embed_server.url)
    assert outcome.status == "failed" and "1 of 12 vectors embed an older text" in outcome.found, outcome.message()
    assert "every input hash equal to the MD5 of the current text (embeddings.input_hash_algorithm: md5)" in outcome.expected
    assert [o.id for o in outcome.offenders] == [5]
    scope = cli("scope", "--profile", profile, "--collection", "notes", "--json", env=_env(empty_db, embed_server))
    assert scope.json["counts"]["stale"] == 1, scope.out


def test_a_bytea_column_receives_the_raw_sha256_digest_and_fresh_compares_digests(cli, empty_db, embed_server,
                                                                                  tmp_path):
    profile, text = _notes(empty_db, tmp_path, type="bytea")
    filled = _backfill(cli, profile, _env(empty_db, embed_server))
    assert filled.code == 0 and filled.json["embedded"] == 12, filled.out + filled.err
    assert empty_db.scalar("SELECT count(*) FROM notes WHERE body_hash = sha256(convert_to(body, 'UTF8'))") == 12
    from harness.checks import fresh
    assert checked(fresh, "notes", text, empty_db.dsn, embed_server.url).status == "passed"
    empty_db.execute("UPDATE notes SET body = body || ' (edited)' WHERE id = 3")
    outcome = checked(fresh, "notes", text, empty_db.dsn, embed_server.url)
    assert outcome.status == "failed" and [o.id for o in outcome.offenders] == [3], outcome.message()
    again = _backfill(cli, profile, _env(empty_db, embed_server))
    assert again.json["embedded"] == 1, again.out  # only the edited row: the others' digests are current


def test_a_bytea_column_of_another_algorithms_digest_is_refused_naming_it(cli, empty_db, embed_server, tmp_path):
    profile, _ = _notes(empty_db, tmp_path, type="bytea", app_hash="decode(md5(body), 'hex')")
    result = cli("scope", "--profile", profile, "--collection", "notes", "--json", env=_env(empty_db, embed_server))
    check = _input_hash_check(result)
    assert check["status"] == "failed" and "12 of 12 stored values read are not SHA-256 digest (bytea)" in check["found"]
    assert "12 are the MD5 of the text: set embeddings.input_hash_algorithm: md5" in check["found"], check


def test_scope_proposes_the_algorithm_the_stored_values_are_and_the_engine_writes_nothing(cli, empty_db, embed_server,
                                                                                          tmp_path):
    profile, _ = _notes(empty_db, tmp_path, app_hash="encode(sha512(convert_to(body, 'UTF8')), 'hex')")
    env = _env(empty_db, embed_server)
    result = cli("scope", "--profile", profile, "--collection", "notes", "--json", env=env)
    assert result.code == 1, result.out
    check = _input_hash_check(result)
    assert "12 are the SHA-512 of the text: set embeddings.input_hash_algorithm: sha512" in check["found"], check
    ran = _backfill(cli, profile, env)
    assert ran.code == 2 and "embeddings.input_hash_algorithm: sha512" in ran.out, ran.out
    assert empty_db.scalar("SELECT count(*) FROM notes WHERE embedding IS NOT NULL") == 0


def test_a_hash_of_something_else_is_said_with_numbers_and_never_passes_fresh(cli, empty_db, embed_server, tmp_path):
    """The app hashes its title with the text: values of MD5 form, none of them the MD5 of the text. Scope cannot
    tell that from every text revised since its vector, so it says the numbers and what to do for each; fresh fails."""
    profile, text = _notes(empty_db, tmp_path, algorithm="md5", app_hash="md5('Title: ' || body)")
    empty_db.execute("UPDATE notes SET embedding = array_fill(0.1::real, ARRAY[384])::vector")
    env = _env(empty_db, embed_server)
    result = cli("scope", "--profile", profile, "--collection", "notes", "--json", env=env)
    check = _input_hash_check(result)
    assert "0 of 12 stored md5 values of notes.body_hash read equal the MD5 of the current text" in check["found"], check
    assert "leave embeddings.input_hash out" in check["found"] and result.json["counts"]["stale"] == 12, result.out
    from harness.checks import fresh
    assert checked(fresh, "notes", text, empty_db.dsn, embed_server.url).status == "failed"


def test_upper_case_hex_of_the_text_is_refused_since_the_engine_writes_lower_case(cli, empty_db, embed_server, tmp_path):
    profile, _ = _notes(empty_db, tmp_path, algorithm="md5", app_hash="upper(md5(body))")
    result = cli("scope", "--profile", profile, "--collection", "notes", "--json", env=_env(empty_db, embed_server))
    check = _input_hash_check(result)
    assert check["status"] == "failed" and "12 are the MD5 of the text in upper-case hex" in check["found"], check


def test_sha1_without_pgcrypto_is_refused_in_one_line_naming_the_key(cli, empty_db, embed_server, tmp_path):
    profile, _ = _notes(empty_db, tmp_path, algorithm="sha1")
    env = _env(empty_db, embed_server)
    result = cli("scope", "--profile", profile, "--collection", "notes", "--json", env=env)
    assert result.code == 2 and "profile key 'embeddings.input_hash_algorithm' is sha1, which Postgres computes only " \
        "with pgcrypto's digest()" in result.json["error"], result.out
    ran = cli("backfill", "--profile", profile, "--collection", "notes", env=env)
    assert ran.code == 2 and "CREATE EXTENSION pgcrypto" in ran.err and len(ran.err.strip().splitlines()) == 1, ran.err
    from harness.checks import fresh
    from harness.errors import ConfigError
    with pytest.raises(ConfigError, match="'embeddings.input_hash_algorithm' is sha1"):  # the checks refuse too
        checked(fresh, "notes", profile.read_text(), empty_db.dsn, embed_server.url)


def test_sha1_through_digest_on_the_search_path_is_written_and_proven(cli, empty_db, embed_server, tmp_path):
    profile, text = _notes(empty_db, tmp_path, algorithm="sha1")
    empty_db.execute(DIGEST_STAND_IN)
    with empty_db.connect(autocommit=True) as conn:
        bodies = [r[0] for r in conn.execute("SELECT body FROM notes").fetchall()]
        for body in bodies + [bodies[0] + " (edited)"]:
            conn.execute("INSERT INTO sha1_known VALUES (%s, %s)", (body.encode(), hashlib.sha1(body.encode()).digest()))
    filled = _backfill(cli, profile, _env(empty_db, embed_server))
    assert filled.code == 0 and filled.json["embedded"] == 12, filled.out + filled.err
    with empty_db.connect() as conn:
        stored = dict(conn.execute("SELECT body, body_hash FROM notes").fetchall())
    assert stored == {b: hashlib.sha1(b.encode()).hexdigest() for b in bodies}
    from harness.checks import fresh
    assert checked(fresh, "notes", text, empty_db.dsn, embed_server.url).status == "passed"
    empty_db.execute("UPDATE notes SET body = body || ' (edited)' WHERE body = %s", (bodies[0],))
    assert checked(fresh, "notes", text, empty_db.dsn, embed_server.url).status == "failed"


def test_the_hash_is_of_the_text_as_stored_where_the_application_makes_newlines_spaces_to_embed(cli, empty_db,
                                                                                                embed_server, tmp_path):
    """khoj hashes ``compiled`` as stored and embeds it with each newline a space (``chunks.text_newlines``)."""
    profile, text = _notes(empty_db, tmp_path, algorithm="md5")
    empty_db.execute("UPDATE notes SET body = replace(body, ' about ', E'\\nabout ')")
    empty_db.execute("UPDATE notes SET body_hash = md5(body)")
    text = text.replace("text: body,", "text: body, text_newlines: space,")
    profile.write_text(text)
    filled = _backfill(cli, profile, _env(empty_db, embed_server))
    assert filled.code == 0 and filled.json["embedded"] == 12, filled.out + filled.err
    assert empty_db.scalar("SELECT count(*) FROM notes WHERE body_hash = md5(body) AND body LIKE E'%\\n%'") == 12
    from harness.checks import fresh
    assert checked(fresh, "notes", text, empty_db.dsn, embed_server.url).status == "passed"


def test_into_reuses_vectors_by_a_bytea_digest_and_copies_the_digest_as_stored(embedded_db, embed_server, demo_profile,
                                                                               cli):
    """--into takes over each unchanged vector by its stored hash: in a bytea column the digest is matched and
    copied as bytes."""
    embedded_db.execute("ALTER TABLE document_embeddings ALTER input_hash TYPE bytea USING decode(input_hash, 'hex')")
    env = {"OLLAMA_HOST": embed_server.url, "EMBED_MODEL": "hash-embed:384", "DATABASE_URL": embedded_db.dsn}
    result = cli("backfill", "--profile", demo_profile, "--collection", "tenant_globex", "--into", "tenant_globex_v2",
                 "--json", env=env)
    assert result.code == 0, result.err
    assert (result.json["copied"], result.json["reused"], result.json["embedded"]) == (29, 29, 0)
    assert embedded_db.scalar(
        "SELECT count(*) FROM document_chunks c JOIN document_embeddings e ON e.chunk_id = c.id AND "
        "e.collection = c.collection WHERE c.collection = 'tenant_globex_v2' AND "
        "e.input_hash = sha256(convert_to(c.content, 'UTF8'))") == 29


def test_a_collection_whose_every_text_changed_is_re_embedded_whole_and_its_hashes_written(
        cli, empty_db, embed_server, tmp_path):
    """A revision of every text (the reason to backfill) leaves no stored hash equal to its text's: never refused."""
    profile, text = _notes(empty_db, tmp_path, algorithm="md5", app_hash="md5(body)")
    env = _env(empty_db, embed_server)
    assert _backfill(cli, profile, env).code == 0
    empty_db.execute("UPDATE notes SET body = body || ' (revised)'")
    again = _backfill(cli, profile, env)
    assert again.code == 0 and again.json["embedded"] == 12, again.out
    assert empty_db.scalar("SELECT count(*) FROM notes WHERE body_hash = md5(body)") == 12
    from harness.checks import fresh
    assert checked(fresh, "notes", text, empty_db.dsn, embed_server.url).status == "passed"


def test_a_hash_column_too_short_for_the_algorithms_hex_is_refused_naming_the_one_that_fits(cli, empty_db, embed_server,
                                                                                            tmp_path):
    """varchar(32) holds an MD5 hex, never the default SHA-256's 64 characters: refused before anything is written,
    not a database error at the first batch."""
    profile, _ = _notes(empty_db, tmp_path, type="varchar(32)")
    ran = _backfill(cli, profile, _env(empty_db, embed_server))
    assert ran.code == 2 and "profile key 'embeddings.input_hash_algorithm'" in ran.json["error"], ran.out
    assert "at most 32 characters" in ran.json["error"] and "md5" in ran.json["error"]
    assert empty_db.scalar("SELECT count(*) FROM notes WHERE embedding IS NOT NULL") == 0


GENERATED = """
CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL, embedding vector(384),
  body_hash text GENERATED ALWAYS AS (md5(body)) STORED);
INSERT INTO notes (id, body) SELECT g, 'note number ' || g FROM generate_series(1, 12) g;
"""


def test_an_input_hash_the_database_generates_from_the_text_is_refused_naming_the_key(cli, empty_db, embed_server,
                                                                                       tmp_path):
    """A hash column GENERATED from the current text equals its digest on every row, whatever text the vector was made
    of: fresh passed over texts edited after their vectors, and scope passed a job whose first write the database
    refuses ('column "body_hash" can only be updated to DEFAULT')."""
    empty_db.execute(GENERATED)
    text = MD5_NOTES
    profile = tmp_path / "notes.yaml"
    profile.write_text(text)
    env = _env(empty_db, embed_server)
    scope = cli("scope", "--profile", profile, "--collection", "notes", "--json", env=env)
    assert scope.code == 2 and "embeddings.input_hash" in scope.json["error"] \
        and "generated" in scope.json["error"].lower(), scope.out
    backfill = _backfill(cli, profile, env)
    assert backfill.code == 2 and "embeddings.input_hash" in backfill.json["error"], backfill.out
    assert empty_db.scalar("SELECT count(embedding) FROM notes") == 0
    from harness.checks import fresh
    from harness.errors import ConfigError
    with pytest.raises(ConfigError, match="embeddings.input_hash"):
        checked(fresh, "notes", text, empty_db.dsn, embed_server.url)


# The notes tables of the generated and trigger-set hashes, their input hash ``body_hash`` the MD5 of ``body``.
MD5_NOTES = ("name: notes\nprovider: {model: hash-embed:384}\n"
             "chunks: {table: notes, id: id, text: body, collection_name: notes}\n"
             "embeddings: {vector: embedding, input_hash: body_hash, input_hash_algorithm: md5}\n")

HASHED_BY_TRIGGER = """
CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL, embedding vector(384), body_hash text);
CREATE FUNCTION notes_hash() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.body_hash := md5(NEW.body);
  RETURN NEW;
END $$;
CREATE TRIGGER notes_hash BEFORE INSERT OR UPDATE ON notes FOR EACH ROW EXECUTE FUNCTION notes_hash();
INSERT INTO notes (id, body) SELECT g, 'note number ' || g FROM generate_series(1, 12) g;
"""


def test_an_input_hash_a_trigger_sets_from_the_text_is_refused_naming_the_key(cli, empty_db, embed_server, tmp_path):
    """A trigger that sets the hash from the row's text on every write keeps it the current text's digest whatever the
    vector was made of: after an edit of a text, fresh passed over its old vector."""
    empty_db.execute(HASHED_BY_TRIGGER)
    text = MD5_NOTES
    profile = tmp_path / "notes.yaml"
    profile.write_text(text)
    env = _env(empty_db, embed_server)
    scope = cli("scope", "--profile", profile, "--collection", "notes", "--json", env=env)
    assert scope.code == 2 and "embeddings.input_hash" in scope.json["error"] and "notes_hash" in scope.json["error"], \
        scope.out


@pytest.mark.parametrize("sets", [
    "IF NEW.body_hash IS NULL OR NEW.body IS DISTINCT FROM OLD.body THEN NEW.body_hash := md5(NEW.body); END IF;",
    "SELECT md5(NEW.body) INTO NEW.body_hash;",
    "NEW := jsonb_populate_record(NEW, jsonb_build_object('body_hash', md5(NEW.body)));",
], ids=["filled where missing or the text changed", "select into", "the whole row replaced"])
def test_an_input_hash_a_trigger_sets_another_way_is_refused_naming_the_trigger(cli, empty_db, embed_server, tmp_path,
                                                                                sets):
    """A trigger recomputing the hash whenever the text changes (guarded by more than 'where it has none', or written
    as SELECT ... INTO, or the row replaced whole) keeps it the current text's digest as ``NEW.body_hash := ...``
    does: scope passed it, and an edited text's old vector was counted current (run: nothing to embed; fresh passed)."""
    empty_db.execute(HASHED_BY_TRIGGER.replace("NEW.body_hash := md5(NEW.body);", sets))
    scope = scope_md5_notes(cli, empty_db, embed_server, tmp_path)
    assert scope.code == 2 and "embeddings.input_hash" in scope.json["error"] and "notes_hash" in scope.json["error"], \
        scope.out


def test_a_trigger_that_only_reads_the_input_hash_leaves_it_measured(cli, empty_db, embed_server, tmp_path):
    """The application's own pattern: it writes the hash with each vector, and a trigger clears the vector where the
    hash no longer matches. The hash still says what text the vector was made of."""
    empty_db.execute(HASHED_BY_TRIGGER.replace("NEW.body_hash := md5(NEW.body);",
                                               "IF NEW.body_hash IS DISTINCT FROM md5(NEW.body) THEN NEW.embedding := NULL; END IF;"))
    scope = scope_md5_notes(cli, empty_db, embed_server, tmp_path)
    assert scope.code == 0, scope.out


def test_a_trigger_that_fills_only_a_missing_input_hash_leaves_it_measured(cli, empty_db, embed_server, tmp_path):
    """A trigger that fills the hash where a row has none (a row inserted before its vector) never changes one the
    application wrote with a vector: an edited text still differs from it."""
    empty_db.execute(HASHED_BY_TRIGGER.replace("NEW.body_hash := md5(NEW.body);",
                                               "IF NEW.body_hash IS NULL THEN NEW.body_hash := md5(NEW.body); END IF;"))
    scope = scope_md5_notes(cli, empty_db, embed_server, tmp_path)
    assert scope.code == 0, scope.out


def scope_md5_notes(cli, db, embed_server, tmp_path):
    """scope of the trigger tests' notes table, its input hash ``body_hash`` the MD5 of ``body``."""
    profile = tmp_path / "notes.yaml"
    profile.write_text(MD5_NOTES)
    return cli("scope", "--profile", profile, "--collection", "notes", "--json", env=_env(db, embed_server))
