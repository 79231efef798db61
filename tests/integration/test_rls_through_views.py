"""A chunk table that is a view reads the rows its tables' policies show: through a view with security_invoker the
policies apply to the connecting role as on the table itself, so row-level security is read on the tables the view
reads (``rls.inspect``), not only on the view, which has none of its own."""

import uuid

import httpx
import pytest

SCHEMA = """
CREATE TABLE notes (id int PRIMARY KEY, owner text NOT NULL, public boolean NOT NULL, body text NOT NULL);
CREATE TABLE note_vectors (note_id int PRIMARY KEY REFERENCES notes, embedding vector(384), model text);
INSERT INTO notes SELECT g, CASE WHEN g % 2 = 0 THEN 'alice' ELSE 'bob' END, g <= 6,
  'note number ' || g || ' about ' || (ARRAY['tea', 'rain', 'maps'])[g % 3 + 1] FROM generate_series(1, 12) g;
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY readable ON notes USING (public OR owner = current_setting('app.user', true));
"""
PROFILE = """name: notes
provider: {model: hash-embed:384}
chunks: {table: note_chunks, id: id, text: body, collection_name: notes}
embeddings: {table: note_vectors, key: note_id, vector: embedding, model: model}
"""


@pytest.fixture
def app_dsn(empty_db, pg):
    """A login role the notes' policies apply to (not their owner), granted the tables and the view."""
    role = f"app_{uuid.uuid4().hex[:8]}"
    empty_db.execute(SCHEMA)
    empty_db.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'app-secret-pw'")
    yield role, pg.dsn(empty_db.name, user=role, password="app-secret-pw")
    empty_db.execute(f"DROP OWNED BY {role}")
    empty_db.execute(f"DROP ROLE {role}")


def _embed_public_notes(db, url: str) -> None:
    with db.connect(autocommit=True) as conn:
        rows = conn.execute("SELECT id, body FROM notes WHERE public ORDER BY id").fetchall()
        vectors = httpx.post(f"{url}/api/embed", json={"model": "hash-embed:384", "input": [b for _, b in rows]}).json()
        for (key, _), vector in zip(rows, vectors["embeddings"]):
            conn.execute("INSERT INTO note_vectors VALUES (%s, %s::vector, 'hash-embed:384')", (key, str(vector)))


def _view(db, role: str, options: str) -> None:
    db.execute(f"CREATE VIEW note_chunks{options} AS SELECT id, owner, body FROM notes")
    db.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON notes, note_vectors, note_chunks TO {role}")


def test_policies_of_a_table_read_through_a_security_invoker_view_fail_scope_and_leave_coverage_unproven(
        cli, empty_db, app_dsn, embed_server, tmp_path):
    """Before: 'row-level security passed' (the view has none of its own), the run embedded the 6 public notes of 12
    and said ok, and verify said DONE over 6 notes without a vector."""
    role, dsn = app_dsn
    _view(empty_db, role, " WITH (security_invoker = true)")
    profile = tmp_path / "notes.yaml"
    profile.write_text(PROFILE)
    env = {"DATABASE_URL": dsn, "OLLAMA_HOST": embed_server.url}
    target = ("--profile", profile, "--collection", "notes")
    scoped = cli("scope", *target, "--json", env=env)
    security = [c for c in scoped.json["checks"] if c["check"] == "row-level security"]
    assert scoped.code != 0 and security[0]["status"] == "failed", scoped.out
    assert "public.notes (read through view public.note_chunks)" in security[0]["found"]
    refused = cli("backfill", *target, "--json", env=env)
    assert refused.code == 2 and "row-level security" in refused.json["error"], refused.out
    _embed_public_notes(empty_db, embed_server.url)  # what the application's own command did, as the role sees
    verified = cli("verify", *target, "--run-dir", tmp_path / "run", "--json", env=env)
    statuses = {c["check"]: c["status"] for c in verified.json["checks"]}
    assert statuses["coverage"] == "unproven" and verified.code != 0, verified.out


def test_a_view_its_tables_owner_made_without_security_invoker_reads_every_row_and_passes(
        cli, empty_db, app_dsn, embed_server, tmp_path):
    role, dsn = app_dsn
    _view(empty_db, role, "")  # read as the view's owner, the tables' owner: the policies hide nothing
    profile = tmp_path / "notes.yaml"
    profile.write_text(PROFILE)
    env = {"DATABASE_URL": dsn, "OLLAMA_HOST": embed_server.url}
    scoped = cli("scope", "--profile", profile, "--collection", "notes", "--json", env=env)
    security = [c for c in scoped.json["checks"] if c["check"] == "row-level security"]
    assert security[0]["status"] == "passed" and scoped.json["counts"]["chunks"] == 12, scoped.out


def test_a_view_with_security_invoker_spelled_as_postgres_accepts_it_reads_the_tables_as_the_invoker(
        cli, empty_db, app_dsn, embed_server, tmp_path):
    """``security_invoker = 'TRUE'`` is stored as written (``security_invoker=TRUE``), and Postgres reads it as true:
    before, only four spellings were matched, so the view was read as its owner's (the tables' owner: exempt) and
    scope passed 'row-level security' while the role saw 6 notes of 12."""
    role, dsn = app_dsn
    _view(empty_db, role, " WITH (security_invoker = 'TRUE')")
    profile = tmp_path / "notes.yaml"
    profile.write_text(PROFILE)
    env = {"DATABASE_URL": dsn, "OLLAMA_HOST": embed_server.url}
    scoped = cli("scope", "--profile", profile, "--collection", "notes", "--json", env=env)
    security = [c for c in scoped.json["checks"] if c["check"] == "row-level security"]
    assert scoped.code != 0 and security[0]["status"] == "failed", scoped.out


def test_a_view_reading_its_rows_through_a_function_leaves_row_level_security_unproven(cli, empty_db, app_dsn,
                                                                                       embed_server, tmp_path):
    """The tables a set-returning function reads are no dependency of the view's rule: the policies on notes hid 6 of
    12 from the invoking role, and scope passed 'row-level security' (review35)."""
    role, dsn = app_dsn
    empty_db.execute("CREATE FUNCTION visible_notes() RETURNS TABLE (id int, owner text, body text) "
                     "LANGUAGE sql STABLE AS $$ SELECT id, owner, body FROM notes $$")
    empty_db.execute("CREATE VIEW note_chunks WITH (security_invoker = true) AS SELECT id, owner, body "
                     "FROM visible_notes()")
    empty_db.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON notes, note_vectors, note_chunks TO {role}")
    profile = tmp_path / "notes.yaml"
    profile.write_text(PROFILE)
    env = {"DATABASE_URL": dsn, "OLLAMA_HOST": embed_server.url}
    scoped = cli("scope", "--profile", profile, "--collection", "notes", "--json", env=env)
    assert scoped.json["counts"]["chunks"] == 6, scoped.out  # what the role sees: the policies apply
    security = [c for c in scoped.json["checks"] if c["check"] == "row-level security"]
    assert security[0]["status"] == "unproven", scoped.out
    assert "public.visible_notes() (read through view public.note_chunks): a function the view reads" in security[0]["note"]


def test_a_view_calling_only_built_in_set_returning_functions_is_read_as_its_tables(empty_db):
    """unnest() and generate_series() read no table: a view over them beside a plain table hides nothing unseen."""
    from harness import rls
    from harness.db import connect
    from harness.profile import parse_profile

    empty_db.execute(SCHEMA + "CREATE VIEW note_chunks AS SELECT n.id, n.owner, n.body, t.tag FROM notes n, "
                     "unnest(ARRAY['a']) AS t(tag)")
    with connect(empty_db.dsn, autocommit=True) as conn:
        securities = rls.inspect(conn, parse_profile(PROFILE, env={}))
    assert not rls.unseen(securities) and "public.notes (read through view public.note_chunks)" in {
        s.table for s in securities}


def test_a_foreign_chunk_table_whose_remote_policies_hide_rows_is_never_passed(cli, empty_db, pg, embed_server, tmp_path):
    """The chunks live in another database (here the same one, through a loopback server) whose policies show the
    mapped role its public notes alone: scope passed row-level security and counted 6 notes of 12."""
    from psycopg.conninfo import conninfo_to_dict

    role = f"fdw_{uuid.uuid4().hex[:8]}"
    where = conninfo_to_dict(empty_db.dsn)
    empty_db.execute(SCHEMA.replace("REFERENCES notes", ""))
    empty_db.execute(f"ALTER TABLE notes RENAME TO remote_notes; CREATE ROLE {role} LOGIN PASSWORD 'fdw-secret-pw'; "
                     f"GRANT SELECT ON remote_notes TO {role}; CREATE EXTENSION postgres_fdw; "
                     f"CREATE SERVER loop FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '{where['host']}', "
                     f"port '{where['port']}', dbname '{empty_db.name}'); CREATE USER MAPPING FOR CURRENT_USER SERVER loop "
                     f"OPTIONS (user '{role}', password 'fdw-secret-pw'); CREATE FOREIGN TABLE notes (id int, "
                     "owner text, public boolean, body text) SERVER loop OPTIONS (table_name 'remote_notes')")
    try:
        assert empty_db.scalar("SELECT count(*) FROM notes") == 6  # what the mapped role may read of 12
        profile = tmp_path / "notes.yaml"
        profile.write_text(PROFILE.replace("note_chunks", "notes"))
        env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
        scoped = cli("scope", "--profile", profile, "--collection", "notes", "--json", env=env)
        security = [c for c in scoped.json["checks"] if c["check"] == "row-level security"]
        # unproven, said and not failed (as a database.session missing a setting the policies read): the gate stays
        # open, and DONE cannot be claimed over what the mapping showed
        assert security[0]["status"] == "unproven", scoped.out
        assert "a foreign table, whose rows the remote server shows" in security[0]["note"], security
        _embed_public_notes(empty_db, embed_server.url)  # the 6 notes the mapping shows, embedded
        verified = cli("verify", "--profile", profile, "--collection", "notes", "--run-dir", tmp_path / "run", "--json",
                       env=env)
        statuses = {c["check"]: c["status"] for c in verified.json["checks"]}
        assert statuses["coverage"] == "unproven" and verified.code != 0, verified.out
    finally:
        empty_db.execute(f"DROP FOREIGN TABLE notes; DROP USER MAPPING FOR CURRENT_USER SERVER loop; DROP SERVER loop; "
                         f"DROP OWNED BY {role}; DROP ROLE {role}")
