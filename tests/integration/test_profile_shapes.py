"""The real shapes a profile must describe, each backfilled end to end against Postgres."""

import pytest

from harness.backfill import BackfillOptions, collection_state, run_backfill
from harness.db import connect
from harness.profile import parse_profile
from harness.provider import OllamaProvider
from harness.target import Target
from harness.settings import resolve

SKILLS_SCHEMA = """
CREATE TABLE skills (id text PRIMARY KEY, tenant_id text NOT NULL, name text NOT NULL, description text,
                     status text NOT NULL);
CREATE TABLE skill_embeddings (skill_id text PRIMARY KEY, tenant_id text NOT NULL, embedding vector(768),
                               model_name text, dimensions int, input_hash text);
INSERT INTO skills VALUES
  ('s1', 'default-tenant', 'git-rebase', 'Rebase a branch onto main', 'published'),
  ('s2', 'default-tenant', 'sql-review', NULL, 'published'),
  ('s3', 'default-tenant', 'draft-skill', 'Not yet published', 'draft'),
  ('s4', 'other-tenant', 'k8s-debug', 'Debug a crashing pod', 'published');
"""

SKILLS_PROFILE = """
name: relay-skills
provider: {model: hash-embed:768, dimensions: 768}
chunks: {table: skills, id: id, text: [name, description], collection: tenant_id, tenant: tenant_id,
         filter: {status: published}}
embeddings: {table: skill_embeddings, key: skill_id, model: model_name, input_hash: input_hash, tenant: tenant_id}
"""

MESSAGES_SCHEMA = """
CREATE TABLE messages (id bigserial PRIMARY KEY, content text NOT NULL, embedding vector(384));
INSERT INTO messages (content) SELECT 'message number ' || g FROM generate_series(1, 237) g;
"""

MESSAGES_PROFILE = """
name: task-tracker-messages
provider: {model: hash-embed:384}
chunks: {table: messages, text: content, collection_name: messages}
"""


def _backfill(dsn, profile_text, collection, url):
    profile = parse_profile(profile_text, env={})
    with OllamaProvider(url, profile.provider.model) as provider:
        summary = run_backfill(resolve(profile, database_url=dsn, provider_url=provider.url),
                               BackfillOptions(collection=collection, batch_size=50, progress=False), provider=provider)
    with connect(dsn, autocommit=True) as conn:
        after = collection_state(conn, Target(profile), collection, profile.provider.model)
    return summary, after


def test_separate_embeddings_table_keyed_by_source_row(empty_db, embed_server):
    empty_db.execute(SKILLS_SCHEMA)
    summary, after = _backfill(empty_db.dsn, SKILLS_PROFILE, "default-tenant", embed_server.url)
    assert summary.embedded == 2 and after.needed == 0
    # The draft and the other tenant's skill are untouched.
    assert empty_db.scalar("SELECT array_agg(skill_id ORDER BY skill_id) FROM skill_embeddings") == ["s1", "s2"]


def test_concatenated_text_skips_null_columns_in_its_hash(empty_db, embed_server):
    empty_db.execute(SKILLS_SCHEMA)
    _backfill(empty_db.dsn, SKILLS_PROFILE, "default-tenant", embed_server.url)
    import hashlib

    stored = empty_db.scalar("SELECT input_hash FROM skill_embeddings WHERE skill_id = 's2'")
    assert stored == hashlib.sha256(b"sql-review").hexdigest()


def test_inline_nullable_embedding_column(empty_db, embed_server):
    empty_db.execute(MESSAGES_SCHEMA)
    summary, after = _backfill(empty_db.dsn, MESSAGES_PROFILE, "messages", embed_server.url)
    assert summary.embedded == 237 and after.missing == 0
    assert empty_db.scalar("SELECT count(*) FROM messages WHERE embedding IS NULL") == 0


def test_inline_column_without_hash_is_resumable_by_null_vectors(empty_db, embed_server):
    empty_db.execute(MESSAGES_SCHEMA)
    _backfill(empty_db.dsn, MESSAGES_PROFILE, "messages", embed_server.url)
    empty_db.execute("UPDATE messages SET embedding = NULL WHERE id % 10 = 0")
    summary, after = _backfill(empty_db.dsn, MESSAGES_PROFILE, "messages", embed_server.url)
    assert summary.embedded == 23 and after.missing == 0


def test_an_inline_vector_whose_length_pgvectors_distances_cannot_hold_is_counted_and_re_embedded(empty_db,
                                                                                                   embed_server):
    """The model's vectors scaled by 1e20 and 1e-25 in the chunk's own row: counted current and left, as in a table of
    their own, though the application's distance to either is NaN (``Target.void`` reads the row's column)."""
    empty_db.execute(MESSAGES_SCHEMA)
    _backfill(empty_db.dsn, MESSAGES_PROFILE, "messages", embed_server.url)
    empty_db.execute("UPDATE messages SET embedding = (SELECT array_agg(x * (CASE WHEN id = 1 THEN 1e20 ELSE 1e-25 "
                     "END)::float8 ORDER BY i)::vector FROM unnest(embedding::real[]) WITH ORDINALITY AS u(x, i)) "
                     "WHERE id IN (1, 2)")
    profile = parse_profile(MESSAGES_PROFILE, env={})
    with connect(empty_db.dsn, autocommit=True) as conn:
        before = collection_state(conn, Target(profile), "messages", profile.provider.model)
    assert (before.needed, before.degenerate, before.zero) == (2, 2, 0)
    summary, after = _backfill(empty_db.dsn, MESSAGES_PROFILE, "messages", embed_server.url)
    assert (summary.embedded, after.needed, after.degenerate) == (2, 0, 0)
    assert empty_db.scalar("SELECT count(*) FROM messages WHERE (embedding <=> embedding) = 'NaN'::float8") == 0


def test_collections_in_one_table(embedded_db, demo_profile, demo_env):
    from harness.backfill import list_collections
    from harness.profile import load_profile

    profile = load_profile(demo_profile, env=demo_env)
    with connect(embedded_db.dsn, autocommit=True) as conn:
        assert set(list_collections(conn, Target(profile))) == {"global_corpus", "tenant_acme", "tenant_globex"}


def test_unknown_collection_is_refused_instead_of_embedding_nothing(demo_db, demo_profile, demo_env, embed_server):
    from harness.errors import ConfigError
    from harness.profile import load_profile

    profile = load_profile(demo_profile, env=demo_env)
    with OllamaProvider(embed_server.url, "hash-embed:384") as provider, pytest.raises(ConfigError) as err:
        run_backfill(resolve(profile, database_url=demo_db.dsn, provider_url=provider.url),
                     BackfillOptions(collection="tenant_42"), provider=provider)
    assert "'tenant_42' has no chunks" in str(err.value) and "tenant_acme" in str(err.value)


ARTICLES_SCHEMA = """
CREATE TABLE articles (id int PRIMARY KEY, body text NOT NULL, published boolean NOT NULL, archived_at timestamptz,
                       embedding vector(384));
INSERT INTO articles VALUES (1, 'live one', true, NULL), (2, 'draft', false, NULL), (3, 'old', true, now());
"""


@pytest.mark.parametrize("flt, expected", [("{published: true}", [1, 3]), ("{published: false}", [2]),
                                           ("{published: true, archived_at: null}", [1]),
                                           ("{archived_at: {not: null}}", [3])])
def test_a_filter_on_a_boolean_or_null_column_selects_its_rows(empty_db, embed_server, flt, expected):
    empty_db.execute(ARTICLES_SCHEMA)
    profile = f"""
name: articles
provider: {{model: hash-embed:384}}
chunks: {{table: articles, text: body, collection_name: articles, filter: {flt}}}
"""
    summary, after = _backfill(empty_db.dsn, profile, "articles", embed_server.url)
    assert after.needed == 0 and summary.embedded == len(expected)
    assert empty_db.scalar("SELECT array_agg(id ORDER BY id) FROM articles WHERE embedding IS NOT NULL") == expected
