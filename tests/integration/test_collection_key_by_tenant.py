"""Collections as rows of a table the policies split by tenant (each tenant's "default"): the collection key is
resolved in each tenant's view, as the application resolves it, never in a view that sees none or every tenant's."""

import uuid

import pytest

MODEL = "hash-embed:384"
SCHEMA = """
CREATE TABLE collections (id int PRIMARY KEY, name text NOT NULL, tenant text NOT NULL);
CREATE TABLE passages (id text PRIMARY KEY, body text NOT NULL, collection_id int NOT NULL REFERENCES collections,
                       tenant text NOT NULL, embedding vector(384));
INSERT INTO collections VALUES (1, 'default', 'acme'), (2, 'default', 'globex'), (3, 'archive', 'acme');
INSERT INTO passages SELECT 'p' || g, 'passage ' || g || ' on tea', CASE WHEN g % 2 = 0 THEN 1 ELSE 2 END,
  CASE WHEN g % 2 = 0 THEN 'acme' ELSE 'globex' END, NULL FROM generate_series(1, 6) g;
ALTER TABLE collections ENABLE ROW LEVEL SECURITY;
ALTER TABLE passages ENABLE ROW LEVEL SECURITY;
CREATE POLICY by_tenant ON collections USING (tenant = current_setting('app.tenant', true));
CREATE POLICY by_tenant ON passages USING (tenant = current_setting('app.tenant', true));
"""
PROFILE = f"""name: passages
provider: {{model: {MODEL}, dimensions: 384}}
chunks: {{table: passages, id: id, text: body, tenant: tenant, collection: collection_id,
          collection_table: {{table: collections, key: id, name: name}}}}
embeddings: {{vector: embedding}}
database: {{session: {{app.tenant: "{{tenant}}"}}, tenants: [acme, globex]}}
"""


@pytest.fixture
def restricted(empty_db, pg):
    """A login role the policies apply to, allowed to read both tables and write the vectors."""
    role = f"ck_{uuid.uuid4().hex[:8]}"
    empty_db.execute(SCHEMA + f"CREATE ROLE {role} LOGIN PASSWORD 'app-secret-pw'; "
                     f"GRANT SELECT ON collections TO {role}; GRANT SELECT, UPDATE ON passages TO {role};")
    yield pg.dsn(empty_db.name, user=role, password="app-secret-pw")
    empty_db.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_a_name_each_tenant_has_one_row_of_passes_scope_and_is_backfilled_in_each_view(cli, empty_db, embed_server,
                                                                                        restricted, tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_text(PROFILE)
    env = {"DATABASE_URL": restricted, "OLLAMA_HOST": embed_server.url}
    scoped = cli("scope", "--profile", profile, "--collection", "default", "--json", env=env)
    key = next(c for c in scoped.json["checks"] if c["check"] == "collection key")
    assert key["status"] == "passed", key
    assert scoped.code == 0, scoped.out
    ran = cli("backfill", "--profile", profile, "--collection", "default", "--json", env=env)
    assert (ran.json["embedded"], ran.json["failed"]) == (6, 0), ran.out + ran.err
    assert empty_db.scalar("SELECT count(embedding) FROM passages") == 6
    # Not "ok" all the same, and rightly: this role cannot count the tenants the profile does not list.
    assert ran.code == 1 and "rows of any tenant not listed are invisible" in ran.json["unproven"]


def test_a_name_one_tenants_view_holds_twice_is_still_refused(cli, empty_db, embed_server, restricted, tmp_path):
    empty_db.execute("INSERT INTO collections VALUES (4, 'default', 'globex')")
    profile = tmp_path / "p.yaml"
    profile.write_text(PROFILE)
    env = {"DATABASE_URL": restricted, "OLLAMA_HOST": embed_server.url}
    scoped = cli("scope", "--profile", profile, "--collection", "default", "--json", env=env)
    key = next(c for c in scoped.json["checks"] if c["check"] == "collection key")
    assert scoped.code != 0 and key["status"] == "failed", key
    assert "in globex's view" in key["found"], key
