"""Fixtures the integration tests share beyond tests/conftest.py."""

import uuid
from pathlib import Path

import pytest

from harness.embedserver import EmbeddingServer

from ..conftest import TEST_MODEL

NEW_MODEL = "hash-embed-v2:384"  # same dimension, another model name: a model change the column can hold


@pytest.fixture(scope="module")
def v2_server():
    """An embedding server that also answers for ``NEW_MODEL`` (an alias of the test model)."""
    with EmbeddingServer(models=[TEST_MODEL], aliases={NEW_MODEL: TEST_MODEL}) as server:
        yield server


def check_session(db, server, path, *collections: str):
    """A CheckSession over ``collections`` of the profile file at ``path``, against ``db`` and ``server``."""
    from harness.checks import CheckOptions, open_session
    from harness.profile import load_profile
    from harness.settings import resolve

    env = {"DATABASE_URL": db.dsn, "OLLAMA_HOST": server.url}
    return open_session(resolve(load_profile(path, env=env), database_url=db.dsn, env=env),
                        CheckOptions(collections=collections))


def checked(check, collection, profile_text, dsn, url):
    """One DONE check's outcome on one collection, through a CheckSession of its own."""
    from harness.checks import CheckOptions, open_session
    from harness.profile import parse_profile
    from harness.settings import resolve

    settings = resolve(parse_profile(profile_text, env={}), database_url=dsn, env={"OLLAMA_HOST": url})
    session = open_session(settings, CheckOptions(collections=(collection,)))
    try:
        return check(session, collection)
    finally:
        session.close()


# -- an application table under row-level security -------------------------------------------------------------------

SCHEMA = """
CREATE TABLE documents (id text PRIMARY KEY, tenant_id text NOT NULL, content text NOT NULL);
CREATE TABLE document_embeddings (
  id text PRIMARY KEY,  -- filled by the application (crypto.randomUUID()), no default
  document_id text NOT NULL REFERENCES documents(id), tenant_id text NOT NULL,
  embedding vector(384) NOT NULL, dimensions int NOT NULL, model text NOT NULL);
INSERT INTO documents SELECT 'doc-' || g, CASE WHEN g % 2 = 0 THEN 'acme' ELSE 'globex' END, 'text number ' || g
  FROM generate_series(1, 40) g;
"""

RLS = """
CREATE ROLE {role} LOGIN PASSWORD 'app-secret-pw';
GRANT SELECT, INSERT, UPDATE, DELETE ON documents, document_embeddings TO {role};
ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE document_embeddings ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_docs ON documents USING (tenant_id = current_setting('app.current_tenant_id', true));
CREATE POLICY tenant_vecs ON document_embeddings USING (tenant_id = current_setting('app.current_tenant_id', true));
"""


@pytest.fixture
def app_role(empty_db, pg):
    """A login role the policies apply to (not the owner), and its DSN."""
    role = f"app_{uuid.uuid4().hex[:8]}"
    empty_db.execute(SCHEMA)
    empty_db.execute(RLS.format(role=role))
    yield pg.dsn(empty_db.name, user=role, password="app-secret-pw")
    empty_db.execute(f"DROP OWNED BY {role}")
    empty_db.execute(f"DROP ROLE {role}")


@pytest.fixture
def auditor(app_role, empty_db):
    """A BYPASSRLS role granted to the app role (which RLS still applies to: the attribute is not inherited), so
    what the tenants' views miss can be counted."""
    role = f"audit_{uuid.uuid4().hex[:8]}"
    user = app_role.split("://", 1)[1].split(":", 1)[0]
    empty_db.execute(f"CREATE ROLE {role} NOLOGIN BYPASSRLS; GRANT SELECT ON documents, document_embeddings TO {role}; "
                     f"GRANT {role} TO {user}")
    yield role
    empty_db.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


# -- a Supabase application's chunks (chatbot-ui's shape: tests/fixtures/repos/ts-supabase-file-items) ---------------

SUPABASE_ITEMS = Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "ts-supabase-file-items"
ALICE, BOB = "a11ce000-0000-4000-8000-000000000001", "b0b00000-0000-4000-8000-000000000002"
SUPABASE_PROFILE = """
name: items
database: {url: '${DATABASE_URL}', session: {request.jwt.claim.sub: '{tenant}'}, tenants: %s}
provider: {url: '${OLLAMA_HOST}', model: hash-embed:384, dimensions: 384}
chunks: {table: file_items, id: id, text: content, collection_name: file_items, tenant: user_id}
embeddings: {vector: local_embedding}
"""


@pytest.fixture
def supabase_reader(empty_db):
    """The fixture's schema with Alice's file (3 items) and Bob's (3 items, shared with everyone: Alice reads them
    too), no vectors; yields the DSN of a login role the policies apply to (as Supabase's ``authenticated``)."""
    from psycopg.conninfo import make_conninfo

    role = f"reader_{empty_db.name}"
    empty_db.execute((SUPABASE_ITEMS / "schema.sql").read_text())
    empty_db.execute(f"""
        INSERT INTO auth.users VALUES ('{ALICE}', 'alice@example.org'), ('{BOB}', 'bob@example.org');
        INSERT INTO files (id, user_id, name) VALUES ('f0000000-0000-4000-8000-000000000001', '{ALICE}', 'notes.md');
        INSERT INTO files (id, user_id, name, sharing) VALUES ('f0000000-0000-4000-8000-000000000002', '{BOB}', 'bikes.md', 'public');
        INSERT INTO file_items (file_id, user_id, content, tokens)
          SELECT ('f0000000-0000-4000-8000-00000000000' || f)::uuid, CASE f WHEN 1 THEN '{ALICE}' ELSE '{BOB}' END::uuid,
                 'part ' || g || ' of file ' || f, 2
          FROM generate_series(1, 2) f, generate_series(1, 3) g;
        CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}'; GRANT USAGE ON SCHEMA auth TO {role};
        GRANT SELECT, UPDATE ON files, file_items TO {role};
    """)
    yield make_conninfo(empty_db.dsn, user=role, password=f"pw-{role}")
    empty_db.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")
