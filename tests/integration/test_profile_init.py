"""profile init: a commented draft profile from the database and the repository, refused while anything is TODO."""

import re
from pathlib import Path

import requests
import yaml

from harness.profile import load_profile

MESSAGES = """
CREATE TABLE messages (id bigserial PRIMARY KEY, content text NOT NULL, embedding vector(384));
INSERT INTO messages (content) SELECT 'message number ' || g FROM generate_series(1, 30) g;
"""


def _init(cli, db, tmp_path, *args, name="draft.yaml"):
    out = tmp_path / name
    result = cli("profile", "init", "--repo", tmp_path, "--database-url", db.dsn, "--output", out, "--json", *args)
    return result, out


def _drafted(cli, db, repo, tmp_path) -> str:
    """The draft ``profile init`` writes for ``repo`` against ``db`` (which it must write)."""
    out = tmp_path / "p.yaml"
    assert cli("profile", "init", "--repo", repo, "--database-url", db.dsn, "--output", out).code == 0
    return out.read_text()


def _line(text: str, start: str) -> str:
    """The draft's first line that starts, indentation aside, with ``start``."""
    return next(x for x in text.splitlines() if x.strip().startswith(start))


def _scope(cli, db, profile, collection, embed_server):
    return cli("scope", "--profile", profile, "--collection", collection, "--json",
               env={"DATABASE_URL": db.dsn, "OLLAMA_HOST": embed_server.url})


def test_draft_for_the_demo_database_passes_scope_without_edits(cli, embedded_db, embed_server, tmp_path):
    result, out = _init(cli, embedded_db, tmp_path)
    assert result.code == 0, result.err
    assert result.json["todo"] == []
    raw = yaml.safe_load(out.read_text())
    assert raw["chunks"]["table"] == "document_chunks" and raw["embeddings"]["table"] == "document_embeddings"
    assert raw["embeddings"]["key"] == "chunk_id" and raw["chunks"]["text"] == "content"
    assert raw["embeddings"]["model"] == "model_name" and raw["embeddings"]["input_hash"] == "input_hash"
    assert raw["provider"]["model"] == "hash-embed:384" and raw["provider"]["dimensions"] == 384
    scoped = _scope(cli, embedded_db, out, "tenant_acme", embed_server)
    assert scoped.code == 0, scoped.out + scoped.err
    assert scoped.json["counts"]["needed"] == 0


def test_every_guess_is_commented(cli, embedded_db, tmp_path):
    _, out = _init(cli, embedded_db, tmp_path)
    for line in out.read_text().splitlines():
        if line.strip().startswith(("id:", "text:", "key:", "collection:", "model:")):
            assert "#" in line, line


def test_unknown_model_is_todo_and_scope_refuses_naming_the_key(cli, demo_db, embed_server, tmp_path):
    result, out = _init(cli, demo_db, tmp_path)
    assert result.code == 0, result.err
    assert result.json["todo"] == ["provider.model"]
    assert "model: TODO  # TODO:" in out.read_text()
    scoped = _scope(cli, demo_db, out, "tenant_acme", embed_server)
    assert scoped.code == 2
    assert "profile key 'provider.model' is still TODO" in scoped.err


def test_inline_table_without_collection_is_one_named_collection(cli, empty_db, embed_server, tmp_path):
    empty_db.execute(MESSAGES)
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert result.json["todo"] == []
    profile = load_profile(out, env={})
    assert profile.inline and profile.chunks.collection_name == "messages" and profile.embeddings.model is None
    scoped = _scope(cli, empty_db, out, "messages", embed_server)
    assert scoped.code == 0, scoped.out
    assert scoped.json["counts"]["needed"] == 30



def test_a_vector_column_typed_by_a_domain_is_drafted_with_the_domains_dimension(cli, empty_db, embed_server, tmp_path):
    # CREATE DOMAIN embedding AS vector(384): the column's type is named 'embedding', not 'vector', so the draft found
    # no vector column at all and left every table key TODO.
    empty_db.execute("CREATE DOMAIN embedding AS vector(384);" + MESSAGES.replace("vector(384)", "embedding"))
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert result.json["todo"] == [], result.json["todo"]
    profile = load_profile(out, env={})
    assert (profile.chunks.table, profile.embeddings.vector, profile.provider.dimensions) == ("messages", "embedding", 384)
    assert _scope(cli, empty_db, out, "messages", embed_server).code == 0


def test_an_empty_table_that_is_the_whole_collection_is_refused_as_empty_not_as_an_unknown_collection(
        cli, empty_db, embed_server, tmp_path):
    # A freshly migrated application (falkor-rentalintel before its first upload): the draft's collection is the table.
    empty_db.execute(MESSAGES.split("INSERT")[0])
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert result.json["todo"] == []
    scoped = _scope(cli, empty_db, out, "messages", embed_server)
    assert scoped.code == 2
    assert scoped.json["reason"] == ("collection 'messages' has no chunks: the table messages, the whole collection "
                                     "(chunks.collection_name), is empty; nothing to backfill"), scoped.json

def test_of_tables_never_analysed_the_one_holding_rows_is_drafted_before_an_empty_one(cli, empty_db, tmp_path):
    # learn-vector-search-with-pg: a few seeded jobs (under autovacuum's analyze threshold, so never analysed) beside
    # an empty table named earlier in the alphabet; the planner's estimate is -1 for both and says nothing.
    empty_db.execute("CREATE TABLE basic_users (id serial PRIMARY KEY, name text, embedding_vector vector(384));"
                     + MESSAGES)
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert result.code == 0, result.err
    assert yaml.safe_load(out.read_text())["chunks"]["table"] == "messages", out.read_text()


def test_a_table_the_role_may_not_read_is_not_counted_and_the_draft_is_still_written(cli, empty_db, tmp_path):
    # chatbot-ui's app role may not read auth's `users`: counting a never-analysed table it cannot read failed the draft
    empty_db.execute("CREATE TABLE secrets (id serial PRIMARY KEY, note text, embedding vector(384));" + MESSAGES
                     + "CREATE ROLE drafter_t37 LOGIN PASSWORD 'drafter-pw'; GRANT SELECT ON messages TO drafter_t37")
    as_drafter = type(empty_db)(empty_db.name, empty_db.dsn.replace(empty_db.dsn.split("//")[1].split("@")[0],
                                                                    "drafter_t37:drafter-pw"))
    try:
        result, out = _init(cli, as_drafter, tmp_path, "--model", "hash-embed:384")
        assert result.code == 0, result.err
        assert yaml.safe_load(out.read_text())["chunks"]["table"] == "messages", out.read_text()
    finally:
        empty_db.execute("DROP OWNED BY drafter_t37; DROP ROLE drafter_t37")


SECTIONS_UNDER_PAGES = """
CREATE TABLE pages (id bigserial PRIMARY KEY, path text NOT NULL UNIQUE, checksum text, source text);
CREATE TABLE page_sections (id bigserial PRIMARY KEY, page_id bigint NOT NULL REFERENCES pages ON DELETE CASCADE,
                            content text, heading text, embedding vector(384));
INSERT INTO pages (path, checksum, source) SELECT 'docs/page' || g || '.mdx', 'sum' || g, 'guide' FROM generate_series(1, 6) g;
INSERT INTO page_sections (page_id, content, heading)
  SELECT 1 + g % 6, 'section ' || g || ' of the docs', 'heading ' || g FROM generate_series(1, 30) g;
"""


def test_a_vector_table_holding_its_own_text_is_the_chunk_table_whatever_it_references(cli, empty_db, embed_server,
                                                                                       tmp_path):
    """Supabase's doc search: sections hold the text and the vector; the page they reference holds a path and a
    checksum, which are no text to embed."""
    empty_db.execute(SECTIONS_UNDER_PAGES)
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert result.code == 0 and result.json["todo"] == [], result.out + result.err
    profile = load_profile(out, env={})
    assert profile.inline and profile.chunks.table == "page_sections" and profile.chunks.text == ("content",)
    scoped = _scope(cli, empty_db, out, "page_sections", embed_server)
    assert scoped.code == 0, scoped.out
    assert scoped.json["counts"]["needed"] == 30


def test_no_vector_column_leaves_the_table_todo(cli, empty_db, tmp_path):
    empty_db.execute("CREATE TABLE notes (id int PRIMARY KEY, body text)")
    result, _ = _init(cli, empty_db, tmp_path)
    assert result.code == 0 and "chunks.table" in result.json["todo"]


def test_embeddings_kept_as_a_float_array_are_named_where_no_vector_column_is_found(cli, empty_db, tmp_path):
    empty_db.execute("CREATE TABLE notes (id int PRIMARY KEY, body text, embedding double precision[], tags text[])")
    result, out = _init(cli, empty_db, tmp_path)
    assert result.code == 0 and "chunks.table" in result.json["todo"]
    line = _line(out.read_text(), "table:")
    assert "float arrays, which no pgvector distance reads: public.notes.embedding (double precision[])" in line
    assert "tags" not in line


def test_rls_and_unfilled_not_null_columns_are_said(cli, empty_db, tmp_path):
    empty_db.execute("""
        CREATE TABLE chunks (id text PRIMARY KEY, tenant_id text NOT NULL, content text NOT NULL);
        CREATE TABLE chunk_embeddings (id text PRIMARY KEY, chunk_id text NOT NULL REFERENCES chunks (id),
                                       embedding vector(384), dims int NOT NULL);
        ALTER TABLE chunks ENABLE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON chunks USING (tenant_id = current_setting('app.tenant', true));
    """)
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    text = out.read_text()
    raw = yaml.safe_load(text)
    assert raw["embeddings"]["key"] == "chunk_id" and raw["chunks"]["id"] == "id"
    assert raw["embeddings"]["dimensions"] == "dims"
    assert _line(text, "defaults:").strip().startswith("defaults: {id: TODO}  # TODO: NOT NULL without a default")
    assert result.json["todo"] == ["embeddings.defaults.id"]
    assert "row-level security on public.chunks: policies tenant_isolation" in text


def test_existing_output_is_never_replaced(cli, embedded_db, tmp_path):
    (tmp_path / "draft.yaml").write_text("mine\n")
    result, out = _init(cli, embedded_db, tmp_path)
    assert result.code == 2 and "exists" in result.err
    assert out.read_text() == "mine\n"


def test_the_database_password_is_never_written(cli, embedded_db, pg_password, tmp_path):
    result, out = _init(cli, embedded_db, tmp_path)
    assert pg_password not in out.read_text() and pg_password not in result.out


def test_loader_refuses_any_todo_value_naming_its_key():
    import pytest

    from harness.errors import ConfigError
    from harness.profile import parse_profile

    text = "name: t\nprovider: {model: m}\nchunks: {table: c, id: TODO, collection_name: c}\n"
    with pytest.raises(ConfigError, match=r"profile key 'chunks.id' is still TODO"):
        parse_profile(text, env={})
    # A column whose name merely starts with the letters is no TODO.
    assert parse_profile(text.replace("id: TODO", "id: todo_id"), env={}).chunks.id == "todo_id"


def test_partly_embedded_table_without_model_column_is_no_model_switch(cli, empty_db, embed_server, tmp_path):
    # Seen on create-llama's LlamaIndex table: scope called the stored vectors "unknown" and refused a model switch.
    empty_db.execute(MESSAGES + "UPDATE messages SET embedding = array_fill(0.1, ARRAY[384])::vector WHERE id <= 10;")
    _, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    scoped = _scope(cli, empty_db, out, "messages", embed_server)
    assert scoped.code == 0, scoped.out
    assert scoped.json["counts"]["needed"] == 20
    assert any(a.startswith("no model-name column: the model of stored vectors is unknown") for a in scoped.json["assumptions"])


BACKFILL_SCRIPT = '''import os
import psycopg
import requests

DSN = os.environ.get("DB_DSN", "postgresql://localhost/app")
MODEL = os.getenv("EMBEDDING_MODEL", "nomic-embed-text")


def embed(texts):
    return requests.post("http://localhost:11434/api/embed", json={"model": MODEL, "input": texts}).json()


if __name__ == "__main__":
    with psycopg.connect(DSN) as conn:
        rows = conn.execute("SELECT id, content FROM messages WHERE embedding IS NULL").fetchall()
'''


def test_entrypoint_contract_becomes_command_env_mapping_and_model(cli, empty_db, tmp_path):
    empty_db.execute(MESSAGES)
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "scripts" / "backfill_embeddings.py").write_text(BACKFILL_SCRIPT)
    result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", tmp_path / "p.yaml",
                 "--json")
    assert result.json["todo"] == []
    raw = yaml.safe_load((tmp_path / "p.yaml").read_text())
    assert "backfill_embeddings" in raw["backfill"]["command"]
    assert raw["backfill"]["env"] == {"DB_DSN": "{database_url}", "EMBEDDING_MODEL": "{model}"}
    assert raw["provider"]["model"] == "nomic-embed-text"


def test_entrypoints_ranked_alike_beside_the_drafted_one_are_named_with_it(cli, empty_db, tmp_path):
    """OWASP Nest's six ``ai_update_<entity>_chunks`` commands each fill one entity type's chunks of the one table: the
    draft named the first alone, as if it filled the collection."""
    empty_db.execute(MESSAGES)
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    for part in ("pages", "posts"):
        (repo / "scripts" / f"backfill_{part}_embeddings.py").write_text(BACKFILL_SCRIPT)
    result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", tmp_path / "p.yaml",
                 "--json")
    assert result.code == 0 and result.json["todo"] == [], result.err
    drafted = (tmp_path / "p.yaml").read_text()
    assert "backfill_pages_embeddings" in yaml.safe_load(drafted)["backfill"]["command"]
    assert _line(drafted, "# ranked alike").endswith("python scripts/backfill_posts_embeddings.py"), drafted


def test_a_command_posting_to_a_hosted_api_written_in_its_code_is_left_out_of_the_draft(cli, empty_db, tmp_path):
    """learn-vector-search-with-pg's commands `fetch('https://api.openai.com/v1/embeddings', ...)` and read no provider
    URL: no backfill.env can point them at the provider, and scope refused the draft naming one."""
    empty_db.execute(MESSAGES)
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "scripts" / "backfill-embeddings.js").write_text(
        "const { Client } = require('pg');\nconst db = new Client({connectionString: process.env.DATABASE_URL});\n"
        "async function main() {\n  const r = await fetch('https://api.openai.com/v1/embeddings', {method: 'POST', "
        "body: JSON.stringify({model: 'hash-embed:384', input: 'x'})});\n"
        "  await db.query('UPDATE messages SET embedding = $1 WHERE id = $2', [1, 2]);\n}\nmain();\n")
    result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", tmp_path / "p.yaml",
                 "--json")
    assert result.code == 0 and result.json["todo"] == [], result.err
    drafted = (tmp_path / "p.yaml").read_text()
    assert not yaml.safe_load(drafted).get("backfill"), drafted
    assert ("left out: it posts to https://api.openai.com/v1/embeddings, written in its code, and reads no provider "
            "URL: never the provider; run with --engine") in drafted, drafted


def test_in_process_embedder_is_drafted_as_such(cli, empty_db, tmp_path):
    empty_db.execute(MESSAGES)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "backfill_embeddings.py").write_text(
        "import os\nimport psycopg\nfrom sentence_transformers import SentenceTransformer\n\n"
        "model = SentenceTransformer('./models/all-MiniLM-L6-v2')\n\n"
        "if __name__ == '__main__':\n"
        "    conn = psycopg.connect(os.environ['DATABASE_URL'])\n"
        "    rows = conn.execute('SELECT id, content FROM messages WHERE embedding IS NULL').fetchall()\n"
        "    vectors = model.encode([r[1] for r in rows])\n")
    result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", tmp_path / "p.yaml",
                 "--model", "all-minilm", "--json")
    assert result.code == 0, result.err
    profile = load_profile(tmp_path / "p.yaml", env={})
    assert profile.backfill.embeds_in_process
    assert profile.backfill.in_process_model == "./models/all-MiniLM-L6-v2"


def _npy_writer(db, tmp_path) -> Path:
    """MESSAGES in ``db``, and a repository whose one script embeds with all-MiniLM-L6-v2 into a .npy file (imara's PCA
    script): it reaches no database."""
    db.execute(MESSAGES)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "embeddings.py").write_text(
        "import numpy as np\nfrom sentence_transformers import SentenceTransformer\n\n"
        "if __name__ == '__main__':\n"
        "    model = SentenceTransformer('all-MiniLM-L6-v2')\n"
        "    np.save('data/embeddings.npy', model.encode(['a corpus', 'of texts']))\n")
    return repo


def test_a_script_reaching_no_database_and_embedding_with_another_model_is_not_drafted_as_the_command(
        cli, empty_db, tmp_path):
    """imara's only script that embeds wrote its vectors to a .npy file with all-MiniLM-L6-v2 beside a Postgres column
    of bge-m3's: drafted as the command (scope: `command uses the model` ok against the model the draft took from it),
    it could never fill the column. It is said, left out, and the engine drafted."""
    repo = _npy_writer(empty_db, tmp_path)
    result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", tmp_path / "p.yaml",
                 "--model", "nomic-embed-text", "--json")
    assert result.code == 0, result.err
    text = (tmp_path / "p.yaml").read_text()
    assert yaml.safe_load(text)["backfill"] is None or "command" not in yaml.safe_load(text)["backfill"], text
    assert ("left out: it reads no database setting and embeds with all-MiniLM-L6-v2, not nomic-embed-text; run with "
            "--engine") in text
    # the left-out script's in-process model is no setting of the engine that runs instead (scope said "embeds
    # in-process with all-MiniLM-L6-v2", record wrote it to the historylog)
    assert not load_profile(tmp_path / "p.yaml", env={}).backfill.embeds_in_process, text


def test_a_script_reaching_no_database_is_not_drafted_as_the_command_nor_its_model_without_a_model_given(
        cli, empty_db, tmp_path):
    """imara without --model: the PCA script writing all-MiniLM-L6-v2 vectors to a .npy file was drafted as the
    command and its model as the collection's, beside a column of another model's width."""
    repo = _npy_writer(empty_db, tmp_path)
    result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", tmp_path / "p.yaml",
                 "--json")
    assert result.code == 0, result.err
    text = (tmp_path / "p.yaml").read_text()
    raw = yaml.safe_load(text)
    assert "command" not in (raw.get("backfill") or {}) and raw["provider"]["model"] != "all-MiniLM-L6-v2", text
    assert "left out: it reads no database setting and embeds with all-MiniLM-L6-v2: nothing says its vectors are " \
           "this column's" in text, text


def test_a_column_named_for_a_hash_that_no_row_holds_is_not_drafted_as_the_input_hash(cli, empty_db, tmp_path):
    """imara's document_chunk.chunk_hash_id is LinearRAG's node id ('passage-' || md5(content)), filled by one loader
    and not by the other: drafted as the input hash while no row held one, the engine would overwrite the application's
    ids with SHA-256 digests. Only a digest of the text measured in its rows makes such a column the input hash."""
    empty_db.execute(MESSAGES + "ALTER TABLE messages ADD COLUMN chunk_hash_id text;")
    (tmp_path / "repo").mkdir()
    result = cli("profile", "init", "--repo", tmp_path / "repo", "--database-url", empty_db.dsn, "--output", tmp_path / "p.yaml",
                 "--model", "all-minilm", "--json")
    assert result.code == 0, result.err
    text = (tmp_path / "p.yaml").read_text()
    assert "input_hash" not in (yaml.safe_load(text)["embeddings"] or {}), text
    assert "chunk_hash_id" in text and "no row holds one" in text, text


def test_rls_that_applies_to_the_connecting_role_is_said(cli, empty_db, tmp_path):
    from psycopg.conninfo import make_conninfo

    role = f"reader_{empty_db.name}"
    empty_db.execute(f"""
        CREATE TABLE docs (id int PRIMARY KEY, tenant_id text, content text, embedding vector(384));
        INSERT INTO docs VALUES (1, 'a', 'alpha', NULL), (2, 'b', 'beta', NULL);
        ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
        CREATE POLICY by_tenant ON docs USING (tenant_id = current_setting('app.tenant', true));
        CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}';
        GRANT SELECT ON docs TO {role};
    """)
    try:
        as_owner, _ = _init(cli, empty_db, tmp_path, "--model", "m", name="owner.yaml")
        dsn = make_conninfo(empty_db.dsn, user=role, password=f"pw-{role}")
        result = cli("profile", "init", "--repo", tmp_path, "--database-url", dsn, "--output", tmp_path / "reader.yaml",
                     "--model", "m", "--json")
        assert result.code == 0, result.err
        assert "it applies to the connecting role" in (tmp_path / "reader.yaml").read_text()
        assert "the connecting role bypasses it" in (tmp_path / "owner.yaml").read_text()
    finally:
        empty_db.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


OWNED_NOTES = Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "django-owned-notes"


def _load_owned_notes(db, rows: int = 20) -> None:
    """khoj's shape (tests/fixtures/repos/django-owned-notes): inline untyped vector beside texts named `markup` and
    `rendered`, foreign keys to the owner, an assistant and the source file, the model in another table, MD5 hashes."""
    db.execute((OWNED_NOTES / "schema.sql").read_text())
    db.execute(f"""
        INSERT INTO notes_owner (password, username, first_name, last_name, email)
          VALUES ('x', 'alice', 'Alice', 'A', 'a@example.org'), ('x', 'bob', 'Bob', 'B', 'b@example.org');
        INSERT INTO notes_assistant (name, personality) VALUES ('helper', 'A long and friendly personality text.');
        INSERT INTO notes_modelconfig (label, encoder) VALUES ('default', 'small-encoder');
        INSERT INTO notes_sourcefile (file_name, full_text) VALUES ('garden.org', 'The whole file about gardens.');
        INSERT INTO notes_note (owner_id, assistant_id, embedding, markup, rendered, file_name, rendered_hash,
                                model_config_id, source_file_id)
          SELECT 1 + g % 2, NULL, array_fill(0.1::real, ARRAY[8])::vector, '* note ' || g,
                 'Note ' || g || ' about the garden.', 'garden.org', md5('Note ' || g || ' about the garden.'), 1, 1
          FROM generate_series(1, {rows}) g;
    """)


def _init_notes(cli, db, tmp_path):
    tmp_path.mkdir(parents=True, exist_ok=True)
    out = tmp_path / "draft.yaml"
    result = cli("profile", "init", "--repo", OWNED_NOTES, "--database-url", db.dsn, "--output", out,
                 "--model", "hash-embed:8", "--json")
    return result, out


def test_a_vector_beside_texts_no_name_list_knows_is_inline_not_its_owners_table(cli, empty_db, tmp_path):
    """khoj's Entry: the user foreign key names the owner (a tenant), not the text that the vector embeds."""
    _load_owned_notes(empty_db)
    result, out = _init_notes(cli, empty_db, tmp_path)
    assert result.code == 0, result.err
    # its switch_encoder requires --config_id, which only the application's data gives: left TODO, the line the user
    # removes to run with --engine
    assert result.json["todo"] == ["backfill.command"], result.out
    out.write_text(re.sub(r"\n  command: TODO[^\n]*", "", out.read_text()))
    profile = load_profile(out, env={})
    assert profile.inline and profile.chunks.table == "notes_note", out.read_text()
    assert profile.chunks.text in (("markup",), ("rendered",)) and profile.chunks.tenant == "owner_id"
    drafted = out.read_text()
    assert "markup" in drafted and "rendered" in drafted  # the other text is named as the alternative


def test_an_md5_hash_column_of_the_text_is_drafted_as_input_hash_with_its_algorithm(cli, empty_db, tmp_path):
    """The app's MD5 of the text (khoj's ``hashed_value``): drafted with ``input_hash_algorithm: md5``, so the engine
    writes what the application writes there and ``fresh`` is proven by the application's own hash."""
    _load_owned_notes(empty_db)
    result, out = _init_notes(cli, empty_db, tmp_path)
    raw = yaml.safe_load(out.read_text())
    assert raw["embeddings"]["input_hash"] == "rendered_hash", out.read_text()
    assert raw["embeddings"]["input_hash_algorithm"] == "md5", out.read_text()
    assert "20 of 20 rows read hold the MD5 of rendered" in out.read_text()


def test_a_bytea_digest_column_of_the_text_is_drafted_with_its_algorithm(cli, empty_db, tmp_path):
    _load_owned_notes(empty_db)
    empty_db.execute("ALTER TABLE notes_note ALTER rendered_hash TYPE bytea USING sha512(convert_to(rendered, 'UTF8'))")
    result, out = _init_notes(cli, empty_db, tmp_path)
    raw = yaml.safe_load(out.read_text())
    assert raw["embeddings"]["input_hash"] == "rendered_hash", out.read_text()
    assert raw["embeddings"]["input_hash_algorithm"] == "sha512", out.read_text()


def test_a_hash_column_of_something_else_is_not_drafted_as_input_hash(cli, empty_db, tmp_path):
    """Values of MD5 form, none the digest of any text (the app hashes the text with its title): no input hash."""
    _load_owned_notes(empty_db)
    empty_db.execute("UPDATE notes_note SET rendered_hash = md5('Title: ' || rendered)")
    result, out = _init_notes(cli, empty_db, tmp_path)
    raw = yaml.safe_load(out.read_text())
    assert "input_hash" not in raw["embeddings"] and "input_hash_algorithm" not in raw["embeddings"], out.read_text()
    assert "it hashes something else" in out.read_text()


def test_the_text_an_application_hash_is_the_md5_of_is_drafted_as_the_text(cli, empty_db, tmp_path):
    """khoj hashes and embeds ``compiled``, the second of its two texts: its MD5 column says which."""
    _load_owned_notes(empty_db)
    empty_db.execute("ALTER TABLE notes_note RENAME COLUMN rendered_hash TO hashed_value")
    result, out = _init_notes(cli, empty_db, tmp_path)
    raw = yaml.safe_load(out.read_text())
    assert raw["chunks"]["text"] == "rendered" and raw["embeddings"]["input_hash"] == "hashed_value", out.read_text()
    assert raw["embeddings"]["input_hash_algorithm"] == "md5"
    assert "hashed_value holds its MD5 (20 of 20 rows read hold the MD5 of rendered)" in out.read_text()


def test_a_sha256_hash_column_of_the_text_is_drafted_as_input_hash(cli, empty_db, tmp_path):
    _load_owned_notes(empty_db)
    empty_db.execute("UPDATE notes_note SET rendered_hash = encode(sha256(convert_to(markup, 'UTF8')), 'hex')")
    result, out = _init_notes(cli, empty_db, tmp_path)
    raw = yaml.safe_load(out.read_text())
    assert raw["chunks"]["text"] == "markup" and raw["embeddings"]["input_hash"] == "rendered_hash", out.read_text()
    assert "input_hash_algorithm" not in raw["embeddings"]  # the default


def test_a_model_named_through_a_foreign_key_is_said(cli, empty_db, tmp_path):
    _load_owned_notes(empty_db)
    result, out = _init_notes(cli, empty_db, tmp_path)
    drafted = out.read_text()
    assert "model_config_id -> notes_modelconfig" in drafted and "model_value" in drafted, drafted


def test_a_citation_column_empty_in_some_rows_is_left_out_and_said(cli, empty_db, tmp_path):
    """verify's citations want every source field of a returned row filled: khoj's url is NULL for local files."""
    _load_owned_notes(empty_db)
    result, out = _init_notes(cli, empty_db, tmp_path)
    assert yaml.safe_load(out.read_text())["chunks"]["sources"] == ["file_name"]
    empty_db.execute("UPDATE notes_note SET file_name = NULL WHERE id % 2 = 0")
    result, out = _init_notes(cli, empty_db, tmp_path / "again")
    drafted = out.read_text()
    assert "sources" not in yaml.safe_load(drafted)["chunks"]
    assert "left out, empty in some rows read: file_name" in drafted, drafted


def test_a_nullable_text_beside_a_vector_keyed_by_its_chunk_does_not_make_it_inline(cli, empty_db, tmp_path):
    empty_db.execute("""
        CREATE TABLE passages (id bigserial PRIMARY KEY, content text NOT NULL);
        CREATE TABLE passage_vectors (id bigserial PRIMARY KEY, passage_id bigint NOT NULL REFERENCES passages (id),
                                      embedding vector(8), error text);
    """)
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:8")
    raw = yaml.safe_load(out.read_text())
    assert raw["chunks"]["table"] == "passages" and raw["embeddings"]["key"] == "passage_id", out.read_text()


def test_a_hash_that_cannot_be_compared_with_its_text_is_not_measured_and_the_draft_goes_on(cli, empty_db, tmp_path):
    """No foreign key: the key named after the text table joins by name only, here across types (text and bigint)."""
    empty_db.execute("""
        CREATE TABLE passages (id bigserial PRIMARY KEY, content text NOT NULL);
        CREATE TABLE passage_vectors (passage_id text PRIMARY KEY, embedding vector(8), content_hash text);
        INSERT INTO passages (content) VALUES ('one'), ('two');
        INSERT INTO passage_vectors VALUES ('1', array_fill(0.1::real, ARRAY[8])::vector, 'abc');
    """)
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:8")
    assert result.code == 0, result.err
    assert yaml.safe_load(out.read_text())["embeddings"]["key"] == "passage_id", out.read_text()


ONE_TABLE_STORE = """
CREATE TABLE store_vectors (id uuid PRIMARY KEY, namespace text, embedding vector(384), metadata jsonb,
                            created_at timestamp DEFAULT CURRENT_TIMESTAMP);
INSERT INTO store_vectors (id, namespace, metadata)
SELECT gen_random_uuid(), 'handbook', jsonb_build_object('title', 'doc-' || g || '.pdf', 'wordCount', g,
                                                         'text', 'chunk number ' || g)
FROM generate_series(1, 12) g;
"""


def test_text_held_under_a_key_of_a_json_column_is_drafted_as_that_key(cli, empty_db, embed_server, tmp_path):
    empty_db.execute(ONE_TABLE_STORE)
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert result.code == 0, result.err
    assert result.json["todo"] == []
    raw = yaml.safe_load(out.read_text())
    assert raw["chunks"]["text"] == "metadata->>'text'" and raw["chunks"]["sources"] == ["metadata->>'title'"]
    scoped = _scope(cli, empty_db, out, "handbook", embed_server)
    assert scoped.code == 0, scoped.out + scoped.err
    assert scoped.json["counts"]["missing"] == 12


def test_a_json_column_without_a_text_key_leaves_the_text_todo(cli, empty_db, tmp_path):
    empty_db.execute(ONE_TABLE_STORE + "UPDATE store_vectors SET metadata = metadata - 'text';")
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert "chunks.text" in result.json["todo"]


def test_an_unknown_model_names_the_env_the_applications_embedder_reads_and_no_seed_is_the_backfill(cli, empty_db,
                                                                                                   tmp_path):
    from ..conftest import REPO

    empty_db.execute(ONE_TABLE_STORE)
    out = tmp_path / "draft.yaml"
    result = cli("profile", "init", "--repo", REPO / "tests" / "fixtures" / "repos" / "js-own-vector-store",
                 "--database-url", empty_db.dsn, "--output", out, "--json")
    assert result.json["todo"] == ["provider.model"]
    text = out.read_text()
    assert "$EMBED_MODEL_NAME" in next(line for line in text.splitlines() if line.strip().startswith("model: TODO"))
    assert "command" not in (yaml.safe_load(text.replace("model: TODO", "model: x")).get("backfill") or {})
    assert "no entrypoint that embeds" in text


# The shape of LangChain's PGVector store (rag_api, LibreChat): the chunk names its collection by a key into a
# collection table, and keeps its citation and owner under keys of a JSON column beside its text column.
KEYED_COLLECTIONS = """
CREATE TABLE kb_collection (id uuid PRIMARY KEY, label varchar, settings json);
CREATE TABLE kb_chunk (id uuid PRIMARY KEY, collection_id uuid REFERENCES kb_collection (id) ON DELETE CASCADE,
                       body varchar, meta jsonb, embedding vector);
INSERT INTO kb_collection VALUES ('00000000-0000-0000-0000-00000000000a', 'handbook', NULL),
                                 ('00000000-0000-0000-0000-00000000000b', 'archive', NULL);
INSERT INTO kb_chunk (id, collection_id, body, meta)
SELECT gen_random_uuid(), CASE WHEN g % 3 = 0 THEN '00000000-0000-0000-0000-00000000000b'::uuid
                               ELSE '00000000-0000-0000-0000-00000000000a'::uuid END,
       'chunk number ' || g, jsonb_build_object('source', '/uploads/doc-' || g || '.pdf', 'page', g, 'user_id', 'u' || g % 2)
FROM generate_series(1, 12) g;
"""


# A text column beside a JSONB of citations and of the settings each row was embedded with (Open WebUI's
# document_chunk: text, vmetadata {source, name, embedding_config: '{"engine": ..., "model": ...}'}).
PASSAGES_WITH_META = """
CREATE TABLE passage (id text PRIMARY KEY, embedding vector(8), collection_name text NOT NULL, body text, meta jsonb);
INSERT INTO passage
SELECT 'p' || g, array_fill(g::real, ARRAY[8])::vector, 'kb', 'passage number ' || g,
       jsonb_build_object('source', 'doc-' || g || '.pdf', 'start_index', g * 100, 'embedding_config',
                          json_build_object('engine', 'ollama', 'model', CASE WHEN g <= 3 THEN 'old-embed' ELSE 'hash-embed:8' END)::text)
FROM generate_series(1, 12) g;
"""


def test_a_collection_named_through_a_foreign_key_is_drafted_with_its_collection_table(cli, empty_db, embed_server,
                                                                                       tmp_path):
    empty_db.execute(KEYED_COLLECTIONS)
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert result.code == 0, result.err
    raw = yaml.safe_load(out.read_text())
    assert raw["chunks"]["collection"] == "collection_id"
    assert raw["chunks"]["collection_table"] == {"table": "kb_collection", "key": "id", "name": "label"}
    # --collection takes the name a person knows, not the key.
    scoped = _scope(cli, empty_db, out, "handbook", embed_server)
    assert scoped.code == 0, scoped.out + scoped.err
    assert scoped.json["counts"]["missing"] == 8


def test_a_name_two_rows_of_the_collection_table_share_is_no_collections_name(cli, empty_db, embed_server, tmp_path):
    """Two users' conversations about one file name (rag_phoenix's `conversations.document_name`): `--collection` by
    that name would take both as one collection, which the app never searches. The key is the collection, said why."""
    empty_db.execute(KEYED_COLLECTIONS + "UPDATE kb_collection SET label = 'handbook';")
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert result.code == 0, result.err
    drafted = out.read_text()
    raw = yaml.safe_load(drafted)
    assert raw["chunks"]["collection"] == "collection_id" and "collection_table" not in raw["chunks"], drafted
    assert "kb_collection.label names 2 rows alike ('handbook'): --collection takes the key" in drafted, drafted
    scoped = _scope(cli, empty_db, out, "00000000-0000-0000-0000-00000000000a", embed_server)
    assert scoped.code == 0, scoped.out + scoped.err
    assert scoped.json["counts"]["missing"] == 8


def test_citations_under_keys_of_a_json_column_beside_a_text_column_are_drafted(cli, empty_db, tmp_path):
    empty_db.execute(KEYED_COLLECTIONS)
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    raw = yaml.safe_load(out.read_text())
    assert raw["chunks"]["text"] == "body" and raw["chunks"]["sources"] == ["meta->>'source'"]
    # The owner kept under a JSON key is said, not drafted: chunks.tenant takes a column.
    assert "tenant" not in raw["chunks"]
    assert "each row's owner is under meta->>'user_id', which chunks.tenant cannot take" in out.read_text()


def test_a_collection_name_held_by_two_rows_of_its_collection_table_fails_scope_and_the_engine_refuses(
        cli, empty_db, embed_server, tmp_path):
    """LangChain's collection names are not unique (two workers racing get_or_create, here after the draft): the
    application reads the first row by name, so the chunks under the other key are invisible to it; counting both as
    one is no 'ok'."""
    empty_db.execute(KEYED_COLLECTIONS)
    _, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")  # drafted while each name named one row
    empty_db.execute("INSERT INTO kb_collection VALUES ('00000000-0000-0000-0000-0000000000cc', "
                     "'handbook', NULL); UPDATE kb_chunk SET collection_id = '00000000-0000-0000-0000-0000000000cc' "
                     "WHERE body IN ('chunk number 1', 'chunk number 2');")
    scoped = _scope(cli, empty_db, out, "handbook", embed_server)
    assert scoped.code != 0
    check = next(c for c in scoped.json["checks"] if c["check"] == "collection key")
    assert check["status"] == "failed"
    assert "'handbook' names 2 rows of public.kb_collection" in check["found"], check
    assert "00000000-0000-0000-0000-0000000000cc (2 chunks)" in check["found"], check
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    refused = cli("backfill", "--profile", out, "--collection", "handbook", "--json", env=env)
    assert refused.code == 2, refused.out
    assert empty_db.scalar("SELECT count(*) FROM kb_chunk WHERE embedding IS NOT NULL") == 0
    # The other collection, named once, is not affected.
    assert _scope(cli, empty_db, out, "archive", embed_server).code == 0
    # verify, once every vector is there (as an app's own ingest would leave it), does not pass coverage either.
    empty_db.execute("UPDATE kb_chunk SET embedding = array_fill(0.1, ARRAY[384])::vector")
    checked = cli("verify", "--profile", out, "--collection", "handbook", "--run-dir", tmp_path / "run", "--json", env=env)
    coverage = next(c for c in checked.json["checks"] if c["check"] == "coverage")
    assert coverage["status"] == "failed" and "'handbook' names 2 rows of public.kb_collection" in coverage["found"], coverage


def test_an_unknown_model_names_the_env_a_langchain_ollama_embedder_reads(cli, empty_db, tmp_path):
    from ..conftest import REPO

    empty_db.execute(KEYED_COLLECTIONS)
    out = tmp_path / "draft.yaml"
    result = cli("profile", "init", "--repo", REPO / "tests" / "fixtures" / "repos" / "py-langchain-subclass",
                 "--database-url", empty_db.dsn, "--output", out, "--json")
    assert result.json["todo"] == ["provider.model"]
    line = next(line for line in out.read_text().splitlines() if line.strip().startswith("model: TODO"))
    assert "$KB_EMBED_MODEL" in line, line


def test_into_a_new_collection_of_a_collection_table_copies_rows_with_keys_of_the_columns_type(cli, empty_db,
                                                                                                embed_server, tmp_path):
    """LangChain-community's store keys rows by a uuid column (langchain-postgres by a varchar id) and its collection
    table has columns of its own: --into made the new rows' keys as text (refused by a uuid column)."""
    empty_db.execute(KEYED_COLLECTIONS + "UPDATE kb_collection SET settings = '{\"lang\": \"en\"}';")
    _, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    env = {"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url}
    ran = cli("backfill", "--profile", out, "--collection", "handbook", "--into", "handbook_v2", "--json", env=env)
    assert ran.code == 0, ran.out + ran.err
    assert empty_db.scalar("SELECT count(*) FROM kb_chunk c JOIN kb_collection k ON k.id = c.collection_id "
                           "WHERE k.label = 'handbook_v2' AND c.embedding IS NOT NULL") == 8
    assert empty_db.scalar("SELECT settings::text FROM kb_collection WHERE label = 'handbook_v2'") == '{"lang": "en"}'
    # The live collection is untouched.
    assert empty_db.scalar("SELECT count(*) FROM kb_chunk c JOIN kb_collection k ON k.id = c.collection_id "
                           "WHERE k.label = 'handbook' AND c.embedding IS NULL") == 8


def test_a_citation_key_of_a_json_column_missing_in_some_rows_is_left_out_and_said(cli, empty_db, tmp_path):
    """The rule of citation columns holds for JSON keys: verify's citations want every source field filled."""
    empty_db.execute(KEYED_COLLECTIONS + "UPDATE kb_chunk SET meta = meta - 'source' WHERE body = 'chunk number 5';")
    _, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    drafted = out.read_text()
    assert "sources" not in yaml.safe_load(drafted)["chunks"]
    assert "left out, empty in some rows read: meta->>'source'" in drafted, drafted


def test_citations_are_keys_of_a_json_column_beside_a_text_column(cli, empty_db, tmp_path):
    empty_db.execute(PASSAGES_WITH_META)
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:8")
    raw = yaml.safe_load(out.read_text())
    assert raw["chunks"]["text"] == "body" and raw["chunks"]["sources"] == ["meta->>'source'"], out.read_text()


def test_a_model_the_rows_name_inside_a_json_text_is_said_with_each_models_count(cli, empty_db, tmp_path):
    """No model column: the draft must not say there is nowhere the model is named, nor pretend the harness reads it."""
    empty_db.execute(PASSAGES_WITH_META)
    result, out = _init(cli, empty_db, tmp_path)
    drafted = out.read_text()
    assert "meta->>'embedding_config' (a JSON text; its key model): hash-embed:8 (9), old-embed (3)" in drafted, drafted
    assert "model" not in yaml.safe_load(drafted)["embeddings"]
    # Without --model, the model most rows name is the draft's guess, the other one said beside it.
    assert 'model: "hash-embed:8"  # guess: most stored vectors are of this model (9); also stored: old-embed (3)' in drafted


def test_an_unknown_model_names_the_setting_the_application_reads_it_from_when_its_call_takes_it_as_an_argument(
        cli, empty_db, tmp_path):
    """Open WebUI's Ollama call takes ``model`` as an argument; config.py reads RAG_EMBEDDING_MODEL."""
    from ..conftest import REPO

    empty_db.execute("CREATE TABLE passage (id text PRIMARY KEY, embedding vector(8), body text);")
    out = tmp_path / "draft.yaml"
    result = cli("profile", "init", "--repo", REPO / "tests" / "fixtures" / "repos" / "py-aliased-vector-type",
                 "--database-url", empty_db.dsn, "--output", out, "--json")
    assert result.json["todo"] == ["provider.model"]
    line = next(line for line in out.read_text().splitlines() if line.strip().startswith("model: TODO"))
    assert "$STORE_EMBEDDING_MODEL" in line and "AUTO_UPDATE" not in line, line


def test_a_column_named_for_the_collection_is_never_the_text_and_an_encrypted_text_is_said(cli, empty_db, tmp_path):
    """Open WebUI with PGVECTOR_PGCRYPTO: text and vmetadata are bytea (pgp_sym_encrypt); collection_name ends in
    a name a text may have (`name`)."""
    empty_db.execute("""
        CREATE TABLE document_chunk (id text PRIMARY KEY, vector vector(8), collection_name text NOT NULL, text bytea,
                                     vmetadata bytea);
        INSERT INTO document_chunk SELECT 'c' || g, NULL, 'kb', convert_to('chunk ' || g, 'UTF8'), NULL
        FROM generate_series(1, 6) g;
    """)
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:8")
    assert "chunks.text" in result.json["todo"], out.read_text()
    line = next(line for line in out.read_text().splitlines() if line.strip().startswith("text: TODO"))
    assert "document_chunk.text is bytea" in line, line


def test_a_json_citation_key_missing_from_some_rows_is_left_out_and_said(cli, empty_db, tmp_path):
    """verify's citations want every returned row to cite: a key some rows lack is no citation, as a column
    empty in some rows is not."""
    empty_db.execute(PASSAGES_WITH_META + "UPDATE passage SET meta = meta - 'source' WHERE id IN ('p2', 'p5');")
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:8")
    drafted = out.read_text()
    assert "sources" not in yaml.safe_load(drafted)["chunks"], drafted
    assert "left out, empty in some rows read: meta->>'source'" in drafted, drafted


def test_the_models_named_in_json_are_counted_in_a_bounded_read_that_says_so(cli, empty_db, tmp_path, monkeypatch):
    """Each row's JSON is parsed: on a large table the draft reads the first rows only, and says it did."""
    import harness.discover

    monkeypatch.setattr(harness.discover, "_MODEL_ROWS", 5)
    empty_db.execute(PASSAGES_WITH_META)
    result, out = _init(cli, empty_db, tmp_path)
    assert "meta->>'embedding_config' (a JSON text; its key model) (the first 5 rows read): " in out.read_text()


ITEMS = ("provider: {url: '${OLLAMA_HOST}', model: hash-embed:384, dimensions: 384}\n"
         "chunks: {table: file_items, id: id, text: content, collection_name: file_items, tenant: user_id}\n"
         "embeddings: {vector: local_embedding}\n")


def test_policies_that_read_a_setting_through_a_function_draft_the_session_with_that_setting(cli, supabase_reader,
                                                                                              tmp_path):
    result = cli("profile", "init", "--repo", tmp_path, "--database-url", supabase_reader, "--output",
                 tmp_path / "d.yaml", "--model", "all-minilm", "--json")
    assert result.code == 0, result.err
    raw = yaml.safe_load((tmp_path / "d.yaml").read_text())
    # Supabase's auth.uid() reads the JWT's subject: one value per tenant, the tenants listed by the user.
    assert raw["database"]["session"] == {"request.jwt.claim.sub": "{tenant}"}
    assert raw["database"]["tenants"] == "TODO" and "database.tenants" in result.json["todo"]
    assert "through auth.uid()" in (tmp_path / "d.yaml").read_text()


def test_scope_names_the_setting_a_policy_reads_through_a_function(cli, supabase_reader, embed_server, tmp_path):
    (tmp_path / "p.yaml").write_text("name: items\ndatabase: {url: '${DATABASE_URL}'}\n" + ITEMS)
    scoped = cli("scope", "--profile", tmp_path / "p.yaml", "--collection", "file_items", "--json",
                 env={"DATABASE_URL": supabase_reader, "OLLAMA_HOST": embed_server.url})
    check = next(c for c in scoped.json["checks"] if c["check"] == "row-level security")
    assert check["status"] == "failed" and "request.jwt.claim.sub" in check["found"], check


def test_one_of_the_settings_a_policy_function_reads_is_enough_for_scope(cli, supabase_reader, embed_server, tmp_path):
    # auth.uid() reads request.jwt.claim.sub, else the subject inside request.jwt.claims: either one carries the user.
    (tmp_path / "p.yaml").write_text("name: items\ndatabase: {url: '${DATABASE_URL}', session: "
                                     "{request.jwt.claim.sub: '{tenant}'}, tenants: [a11ce000-0000-4000-8000-000000000001]}\n"
                                     + ITEMS)
    scoped = cli("scope", "--profile", tmp_path / "p.yaml", "--collection", "file_items", "--json",
                 env={"DATABASE_URL": supabase_reader, "OLLAMA_HOST": embed_server.url})
    check = next(c for c in scoped.json["checks"] if c["check"] == "row-level security")
    assert check["status"] == "passed", check


def test_a_table_whose_every_row_the_policies_hide_is_refused_naming_the_setting_not_as_empty(cli, supabase_reader,
                                                                                              empty_db, embed_server,
                                                                                              tmp_path):
    empty_db.execute("UPDATE files SET sharing = 'private'")
    (tmp_path / "p.yaml").write_text("name: items\ndatabase: {url: '${DATABASE_URL}'}\n" + ITEMS)
    scoped = cli("scope", "--profile", tmp_path / "p.yaml", "--collection", "file_items", "--json",
                 env={"DATABASE_URL": supabase_reader, "OLLAMA_HOST": embed_server.url})
    assert scoped.code == 2
    assert "visible to role reader_" in scoped.json["reason"] and "request.jwt.claim.sub" in scoped.json["reason"]


def test_an_unknown_model_names_the_models_the_applications_embedders_load(cli, supabase_reader, tmp_path):
    from .conftest import SUPABASE_ITEMS

    result = cli("profile", "init", "--repo", SUPABASE_ITEMS, "--database-url", supabase_reader, "--output",
                 tmp_path / "d.yaml", "--json")
    assert "provider.model" in result.json["todo"]
    line = next(x for x in (tmp_path / "d.yaml").read_text().splitlines() if x.strip().startswith("model: TODO"))
    assert "Xenova/all-MiniLM-L6-v2 (transformers, in process, lib/embed-locally.ts:5)" in line


def test_of_two_vector_columns_the_draft_takes_the_one_of_the_models_dimension(cli, supabase_reader, tmp_path):
    # chatbot-ui: local_embedding vector(384) beside openai_embedding vector(1536); the provider says the model's.
    from harness.embedserver import EmbeddingServer

    with EmbeddingServer(models=["hash-embed:1536", "hash-embed:384"]) as server:
        for model, column, other in (("hash-embed:1536", "openai_embedding", "local_embedding"),
                                     ("hash-embed:384", "local_embedding", "openai_embedding")):
            out = tmp_path / f"{column}.yaml"
            result = cli("profile", "init", "--repo", tmp_path, "--database-url", supabase_reader, "--output", out,
                         "--model", model, "--json", env={"OLLAMA_HOST": server.url})
            assert result.code == 0, result.err
            raw = yaml.safe_load(out.read_text())
            assert raw["embeddings"]["vector"] == column and raw["provider"]["dimensions"] == int(model.split(":")[1])
            line = next(x for x in out.read_text().splitlines() if x.strip().startswith("vector:"))
            assert f"the dimension of {model}" in line and other in line, line


# LlamaIndex's PGVectorStore table (llama-index-vector-stores-postgres 0.4: id bigserial, text varchar, metadata_ json,
# node_id varchar, embedding vector) as run-llama/sec-insights fills it: each page's node carries the app's own
# document key (db_document_id) and PDFReader's page_label and file_name beside LlamaIndex's bookkeeping keys.
LLAMAINDEX_NODES = """
CREATE TABLE data_pg_vector_store (id bigserial PRIMARY KEY, text varchar NOT NULL, metadata_ json, node_id varchar,
                                   embedding vector(8));
INSERT INTO data_pg_vector_store (text, metadata_, node_id)
SELECT 'page ' || g || ' of the annual report',
       json_build_object('page_label', g::text, 'file_name', 'doc-' || g % 2 || '.pdf', 'db_document_id', 'doc-' || g % 2,
                         '_node_content', json_build_object('id_', 'n' || g, 'metadata', json_build_object(
                             'page_label', g::text, 'file_name', 'doc-' || g % 2 || '.pdf', 'db_document_id', 'doc-' || g % 2),
                             'excluded_embed_metadata_keys', '[]'::json, 'excluded_llm_metadata_keys', '[]'::json,
                             'metadata_template', '{key}: {value}', 'metadata_seperator', E'\\n',
                             'text_template', E'{metadata_str}\\n\\n{content}', 'text', 'page ' || g)::text,
                         '_node_type', 'TextNode', 'document_id', 'r' || g, 'doc_id', 'r' || g, 'ref_doc_id', 'r' || g),
       'n' || g
FROM generate_series(1, 12) g;
"""


def test_a_llamaindex_node_table_is_drafted_with_the_text_llamaindex_embeds(cli, empty_db, tmp_path):
    """LlamaIndex embeds the node's metadata lines before its text: the draft says so (text_format llamaindex),
    measured in the rows (every row read holds a serialized node under _node_content), whatever the table's name."""
    empty_db.execute(LLAMAINDEX_NODES)
    _, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:8")
    raw = yaml.safe_load(out.read_text())
    assert (raw["chunks"]["text"], raw["chunks"].get("text_format"), raw["chunks"].get("metadata")) == (
        "text", "llamaindex", "metadata_"), out.read_text()


def test_the_document_a_llamaindex_node_belongs_to_is_its_citation_not_the_node_id(cli, empty_db, tmp_path):
    """A node_id column names the chunk itself: the document keys of the node's metadata are the citations
    (an application's own key ending in _document_id included); LlamaIndex's bookkeeping ids are not."""
    empty_db.execute(LLAMAINDEX_NODES)
    _, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:8")
    sources = yaml.safe_load(out.read_text())["chunks"]["sources"]
    assert sources == ["metadata_->>'file_name'", "metadata_->>'db_document_id'"], out.read_text()


def test_the_document_table_a_json_key_names_is_said_as_a_source_to_uncomment(cli, empty_db, tmp_path):
    """Every sampled metadata_->>'db_document_id' is a key of table document: the draft says the source it would be
    (commented: documents the application has not embedded yet would fail source_coverage), measured, not by name."""
    empty_db.execute(LLAMAINDEX_NODES + "CREATE TABLE document (id text PRIMARY KEY, url text);"
                     "INSERT INTO document VALUES ('doc-0', 'a.pdf'), ('doc-1', 'b.pdf');")
    _, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:8")
    drafted = out.read_text()
    assert "source" not in yaml.safe_load(drafted)
    assert ("# source: {table: document, key: id, chunk_key: \"metadata_->>'db_document_id'\"}  # every row read "
            "names a document row") in drafted, drafted


# cognee's shape: a collection table (id uuid, payload json holding the text and the document's key, vector) and the
# relational `data` table whose uuid key every chunk names under payload->>'document_id'; another collection table,
# keyed by uuid too, holds none of those keys.
COLLECTION_TABLES = """
CREATE TABLE data (id uuid PRIMARY KEY, name varchar);
INSERT INTO data VALUES ('11111111-1111-4111-8111-111111111111', 'a.txt'), ('22222222-2222-4222-8222-222222222222', 'b.txt');
CREATE TABLE "DocumentChunk_text" (id uuid PRIMARY KEY, payload json, vector vector(8));
INSERT INTO "DocumentChunk_text" (id, payload) SELECT gen_random_uuid(), json_build_object('text', 'chunk ' || g,
    'document_id', CASE WHEN g % 2 = 0 THEN '11111111-1111-4111-8111-111111111111'
                   ELSE '22222222-2222-4222-8222-222222222222' END, 'chunk_index', g) FROM generate_series(1, 6) g;
CREATE TABLE "Entity_name" (id uuid PRIMARY KEY, payload json, vector vector(8));
INSERT INTO "Entity_name" (id, payload) SELECT gen_random_uuid(), json_build_object('text', 'entity ' || g)
FROM generate_series(1, 3) g;
"""


def test_the_one_uuid_keyed_table_holding_every_document_key_read_is_said_as_a_source(cli, empty_db, tmp_path):
    """`document_id` names no table here (cognee's documents are rows of `data`), but every value read is a uuid key
    of exactly one table: that table is the source to uncomment, measured; the other uuid-keyed table is not."""
    empty_db.execute(COLLECTION_TABLES)
    _, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:8", "--table", "DocumentChunk_text")
    drafted = out.read_text()
    assert ("# source: {table: data, key: id, chunk_key: \"payload->>'document_id'\"}  # every row read names a data "
            "row") in drafted, drafted


def test_a_document_key_naming_rows_another_table_lacks_is_no_source(cli, empty_db, tmp_path):
    empty_db.execute(LLAMAINDEX_NODES + "CREATE TABLE document (id text PRIMARY KEY, url text);"
                     "INSERT INTO document VALUES ('doc-0', 'a.pdf');")
    _, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:8")
    assert "# source: {" not in out.read_text()


def test_a_model_the_applications_embedder_names_is_said_beside_the_todo(cli, empty_db, tmp_path):
    """No entrypoint and no model column: the model stays TODO (the provider's is the user's choice), and the draft
    says which one the application's own embedder names (an enum member, as sec-insights names OpenAI's)."""
    empty_db.execute(LLAMAINDEX_NODES)
    (tmp_path / "settings.py").write_text(
        "from llama_index.embeddings.openai import OpenAIEmbedding, OpenAIEmbeddingModelType\n"
        "embed_model = OpenAIEmbedding(model_type=OpenAIEmbeddingModelType.TEXT_EMBED_3_SMALL)\n")
    result, out = _init(cli, empty_db, tmp_path)
    assert "provider.model" in result.json["todo"]
    line = next(x for x in out.read_text().splitlines() if x.strip().startswith("model: TODO"))
    assert "the application's embedders name text-embedding-3-small (" in line and "settings.py:2)" in line, line


PADDED_PASSAGES = """
CREATE TABLE passage (id text PRIMARY KEY, body text NOT NULL, embedding vector(16));
INSERT INTO passage SELECT 'p' || g, 'passage ' || g,
  (CASE WHEN g <= {padded} THEN array_cat(array_fill(0.3::real, ARRAY[8]), array_fill(0::real, ARRAY[8]))
        ELSE array_fill(0.2::real, ARRAY[16]) END)::vector
  FROM generate_series(1, 12) g;
"""


def _init_padded(cli, db, embed_server, tmp_path):
    out = tmp_path / "draft.yaml"  # the model's dimension is the provider's answer: OLLAMA_HOST is set
    return cli("profile", "init", "--repo", tmp_path, "--database-url", db.dsn, "--output", out, "--model",
               "hash-embed:8", "--json", env={"OLLAMA_HOST": embed_server.url}), out


def test_stored_vectors_all_zeros_beyond_the_models_dimension_draft_pad_to_and_the_models_dimension(
        cli, empty_db, embed_server, tmp_path):
    """Letta pads each vector to MAX_EMBEDDING_DIM (4096): measured in the rows, the draft says the application pads
    (embeddings.pad_to: the column's width) and gives the model's own dimension; scope passes without edits."""
    empty_db.execute(PADDED_PASSAGES.format(padded=12))
    result, out = _init_padded(cli, empty_db, embed_server, tmp_path)
    assert result.code == 0, result.err
    text = out.read_text()
    raw = yaml.safe_load(text)
    assert raw["provider"]["dimensions"] == 8 and raw["embeddings"]["pad_to"] == 16, text
    assert "12 of 12 stored vectors read are zeros beyond the model's 8 dimensions" in text, text
    assert _scope(cli, empty_db, out, "passage", embed_server).code == 0


def test_most_stored_vectors_zeros_beyond_the_models_dimension_draft_pad_to_and_scope_names_the_others(
        cli, empty_db, embed_server, tmp_path):
    empty_db.execute(PADDED_PASSAGES.format(padded=10))
    result, out = _init_padded(cli, empty_db, embed_server, tmp_path)
    text = out.read_text()
    assert yaml.safe_load(text)["embeddings"]["pad_to"] == 16, text
    assert "10 of 12 stored vectors read are zeros beyond the model's 8 dimensions" in text, text
    assert "2 are not (not this model's vectors padded): scope and verify name them" in text, text
    scoped = _scope(cli, empty_db, out, "passage", embed_server)
    check = next(c for c in scoped.json["checks"] if c["check"] == "dimensions agree")
    assert scoped.code == 1 and "2 of 12 stored vectors are not zeros beyond dimension 8" in check["found"], check


def test_few_stored_vectors_zeros_beyond_the_models_dimension_draft_no_pad_to_and_say_why(
        cli, empty_db, embed_server, tmp_path):
    empty_db.execute(PADDED_PASSAGES.format(padded=4))
    result, out = _init_padded(cli, empty_db, embed_server, tmp_path)
    text = out.read_text()
    raw = yaml.safe_load(text)
    assert "pad_to" not in raw["embeddings"] and raw["provider"]["dimensions"] == 16, text
    assert "# pad_to: (not set: 4 of 12 stored vectors read are zeros beyond the model's 8 dimensions" in text, text


def test_a_model_the_rows_name_under_a_key_of_a_json_column_beside_an_inline_vector_is_the_model_column(
        cli, empty_db, embed_server, tmp_path):
    """Letta keeps each passage's EmbeddingConfig in a json column: embedding_config->>'embedding_model' is read and
    written as the model column, and scope counts the vectors of another model it names."""
    empty_db.execute("CREATE TABLE passage (id text PRIMARY KEY, text text NOT NULL, embedding vector(8), "
                     "embedding_config json);"
                     "INSERT INTO passage SELECT 'p' || g, 'passage ' || g, array_fill(0.1::real, ARRAY[8])::vector, "
                     "json_build_object('embedding_model', CASE WHEN g <= 3 THEN 'old-embed' ELSE 'hash-embed:8' END, "
                     "'embedding_dim', 8) FROM generate_series(1, 12) g;")
    result, out = _init(cli, empty_db, tmp_path)
    drafted = out.read_text()
    assert yaml.safe_load(drafted)["embeddings"]["model"] == "embedding_config->>'embedding_model'", drafted
    assert "the rows name their model there: hash-embed:8 (9), old-embed (3)" in drafted, drafted
    scoped = _scope(cli, empty_db, out, "passage", embed_server)
    assert scoped.json["counts"]["other_model"] == 3 and "holds 3 vectors of old-embed (3)" in scoped.out, scoped.out


def test_the_model_of_the_applications_ollama_embedders_the_provider_serves_at_the_columns_dimension_is_drafted(
        cli, empty_db, embed_server, tmp_path):
    """A library with an embedder per provider (mem0): no model column, no entrypoint. Of the models its Ollama
    embedders name, the one the provider serves at the vector column's dimension is the guess; the others are said."""
    empty_db.execute(MESSAGES)
    repo = tmp_path / "repo"
    (repo / "embeddings").mkdir(parents=True)
    for name, default in (("small", "hash-embed:384"), ("wide", "hash-embed:768"), ("absent", "nowhere-embed")):
        (repo / "embeddings" / f"{name}.py").write_text(
            "from ollama import Client\n\n\nclass Embedder:\n    def __init__(self, config):\n"
            f"        self.config = config\n        self.config.model = self.config.model or \"{default}\"\n"
            "        self.client = Client(host=self.config.ollama_base_url)\n\n    def embed(self, text):\n"
            "        return self.client.embed(model=self.config.model, input=text)['embeddings'][0]\n")
    out = tmp_path / "draft.yaml"
    result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", out, "--json",
                 env={"OLLAMA_HOST": embed_server.url})
    assert result.code == 0 and result.json["todo"] == [], result.out + result.err
    assert load_profile(out, env={}).provider.model == "hash-embed:384"
    assert "the provider serves it at 384 dimensions, as messages.embedding holds" in out.read_text(), out.read_text()
    # Without a provider nothing is measured: the model stays TODO, each candidate named.
    again = tmp_path / "again.yaml"
    result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", again, "--json",
                 env={"OLLAMA_HOST": ""})
    assert result.json["todo"] == ["provider.model"] and "hash-embed:768" in again.read_text()


def test_the_model_another_embedder_names_the_provider_serves_at_the_columns_dimension_is_drafted(
        cli, empty_db, embed_server, tmp_path):
    """No Ollama embedder, no entrypoint, no model column (the AI SDK RAG starter): the one model the AI SDK call
    names, served by the provider at the column's dimension, is the guess; one it serves at another is not."""
    empty_db.execute(MESSAGES)
    repo = tmp_path / "repo"
    (repo / "lib" / "ai").mkdir(parents=True)
    source = ("import { embedMany } from 'ai';\nimport { openai } from '@ai-sdk/openai';\n\n"
              "const embeddingModel = openai.embedding('{model}');\n\n"
              "export const embedAll = (values: string[]) => embedMany({ model: embeddingModel, values });\n")
    (repo / "lib" / "ai" / "embedding.ts").write_text(source.replace("{model}", "hash-embed:384"))
    out = tmp_path / "draft.yaml"
    env = {"OLLAMA_HOST": embed_server.url}
    result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", out, "--json", env=env)
    assert result.code == 0 and result.json["todo"] == [], result.out + result.err
    assert ("model: \"hash-embed:384\"  # guess: the application's embedder names it (ai-sdk, lib/ai/embedding.ts:4) and "
            "the provider serves it at 384 dimensions") in out.read_text(), out.read_text()
    (repo / "lib" / "ai" / "embedding.ts").write_text(source.replace("{model}", "hash-embed:768"))
    again = tmp_path / "again.yaml"
    result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", again, "--json", env=env)
    assert result.json["todo"] == ["provider.model"], again.read_text()


def test_the_distance_is_the_operator_class_of_the_vector_columns_index(cli, empty_db, tmp_path):
    """chatgpt-your-files indexes document_sections.embedding with vector_ip_ops and queries with <#>: a draft
    saying cosine failed verify's index check on a healthy database."""
    empty_db.execute(MESSAGES + "CREATE INDEX messages_ip ON messages USING hnsw (embedding vector_ip_ops);")
    _, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert yaml.safe_load(out.read_text())["distance"] == "ip"
    line = next(x for x in out.read_text().splitlines() if x.startswith("distance:"))
    assert "operator class vector_ip_ops of index messages_ip" in line, line


def test_without_an_index_the_distance_is_the_operator_the_databases_search_function_uses(cli, empty_db, tmp_path):
    empty_db.execute(MESSAGES + "CREATE FUNCTION match_messages(q vector(384)) RETURNS SETOF messages LANGUAGE sql "
                     "AS $$ SELECT * FROM messages ORDER BY messages.embedding <-> q LIMIT 5 $$;")
    _, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert yaml.safe_load(out.read_text())["distance"] == "l2"
    line = next(x for x in out.read_text().splitlines() if x.startswith("distance:"))
    assert "function match_messages" in line and "<->" in line, line


def test_without_an_index_or_a_search_function_the_distance_is_a_guess_said_as_one(cli, empty_db, tmp_path):
    empty_db.execute(MESSAGES)
    _, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    line = next(x for x in out.read_text().splitlines() if x.startswith("distance:"))
    assert line.startswith("distance: cosine  # guess:"), line


# tests/fixtures/repos/ts-prisma-raw-l2 (formbricks' shape): no index in the database; the app's $queryRaw orders by `<->`.
PASSAGES = """
CREATE TABLE passages (id text PRIMARY KEY, content text NOT NULL, embedding vector(8));
INSERT INTO passages (id, content) SELECT 'p' || g, 'passage ' || g FROM generate_series(1, 6) g;
"""
RAW_L2 = Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "ts-prisma-raw-l2"


def _distance_line(cli, db, repo, tmp_path, *args) -> str:
    out = tmp_path / "draft.yaml"
    result = cli("profile", "init", "--repo", repo, "--database-url", db.dsn, "--output", out, "--json",
                 "--model", "hash-embed:8", *args)
    assert result.code == 0, result.out + result.err
    return next(x for x in out.read_text().splitlines() if x.startswith("distance:"))


def test_without_an_index_the_distance_the_applications_own_query_uses_is_drafted_with_where(cli, empty_db, tmp_path):
    empty_db.execute(PASSAGES)
    line = _distance_line(cli, empty_db, RAW_L2, tmp_path)
    assert line.startswith("distance: l2  # guess: the distance the application's code searches passages.embedding "
                           "with (<-> at src/similar.ts:10, <-> at src/similar.ts:11; no index"), line


def test_the_databases_index_wins_over_the_applications_query(cli, empty_db, tmp_path):
    empty_db.execute(PASSAGES + "CREATE INDEX passages_cos ON passages USING hnsw (embedding vector_cosine_ops);")
    line = _distance_line(cli, empty_db, RAW_L2, tmp_path)
    assert line.startswith("distance: cosine  # the operator class vector_cosine_ops of index passages_cos"), line


def test_an_index_of_another_distance_than_the_applications_query_is_said_beside_the_index(cli, empty_db, tmp_path):
    # AI-Chat-System's shape: an HNSW cosine index while its search functions order by `<->`, which it does not serve
    empty_db.execute(PASSAGES + "CREATE INDEX passages_cos ON passages USING hnsw (embedding vector_cosine_ops);")
    line = _distance_line(cli, empty_db, RAW_L2, tmp_path)
    assert line.endswith("; but the application's code searches passages.embedding with l2 (<-> at src/similar.ts:10, "
                         "<-> at src/similar.ts:11), which this index does not serve: check which distance it means"), line


def test_code_that_searches_one_column_with_two_distances_keeps_the_guess_and_names_both(cli, empty_db, tmp_path):
    empty_db.execute(PASSAGES)
    repo = tmp_path / "repo"
    (repo / "db").mkdir(parents=True)
    (repo / "db" / "search.sql").write_text("SELECT id FROM passages ORDER BY embedding <-> $1 LIMIT 5;\n"
                                            "SELECT id FROM passages ORDER BY embedding <#> $1 LIMIT 5;\n")
    line = _distance_line(cli, empty_db, repo, tmp_path)
    assert line.startswith("distance: cosine  # guess: the most common operator class; the application's code says "
                           "several distances for passages.embedding (ip: <#> at db/search.sql:2; l2: <-> at "
                           "db/search.sql:1)"), line


def test_code_searching_another_tables_column_says_nothing_of_this_one(cli, empty_db, tmp_path):
    empty_db.execute(PASSAGES + "CREATE TABLE notes (id int PRIMARY KEY, body text, embedding vector(8));")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "search.sql").write_text("SELECT id FROM notes ORDER BY embedding <-> $1 LIMIT 5;\n")
    line = _distance_line(cli, empty_db, repo, tmp_path, "--table", "passages")
    assert line.startswith("distance: cosine  # guess: the most common operator class (no index"), line


# chatgpt-your-files' shape: sections keyed by a bigint document, no owner of their own.
SECTIONS = """
CREATE TABLE documents (id bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY, name text NOT NULL);
CREATE TABLE document_sections (id bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
                                document_id bigint NOT NULL REFERENCES documents (id), content text NOT NULL,
                                embedding vector(8));
INSERT INTO documents (name) VALUES ('a.md'), ('b.md');
INSERT INTO document_sections (document_id, content) SELECT 1 + g % 2, 'section ' || g FROM generate_series(1, 6) g;
"""
SECTIONS_SOURCE = "# source: {table: documents, key: id, chunk_key: document_id}  # every row read names a documents row"


def test_a_column_holding_a_document_tables_integer_key_is_said_as_a_source_to_uncomment(cli, empty_db, tmp_path):
    """chatgpt-your-files' document_sections.document_id is a bigint key of documents: compared as text on both sides
    (the comparison of text with bigint failed, and no source was said)."""
    empty_db.execute(SECTIONS)
    _, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:8")
    assert SECTIONS_SOURCE in out.read_text(), out.read_text()


def test_rows_the_policies_hide_from_the_connecting_role_are_read_as_a_role_exempt_from_them(cli, empty_db, tmp_path,
                                                                                              request):
    """Supabase's policies show the API's role no row until a user's JWT is set: the draft's reads of rows (the
    document keys here) run as a role the connecting one may become and row-level security skips (service_role)."""
    from types import SimpleNamespace

    from psycopg.conninfo import make_conninfo

    reader, exempt = f"reader_{empty_db.name}", f"exempt_{empty_db.name}"
    empty_db.execute(SECTIONS + f"""
        ALTER TABLE document_sections ENABLE ROW LEVEL SECURITY;
        CREATE POLICY own ON document_sections USING (current_setting('request.jwt.claim.sub', true) = 'nobody');
        CREATE ROLE {exempt} NOLOGIN BYPASSRLS; CREATE ROLE {reader} LOGIN PASSWORD 'pw' IN ROLE {exempt};
        GRANT SELECT ON documents, document_sections TO {reader}, {exempt};""")
    request.addfinalizer(lambda: empty_db.execute(f"DROP OWNED BY {reader}, {exempt}; DROP ROLE {reader}, {exempt}"))
    as_reader = SimpleNamespace(dsn=make_conninfo(empty_db.dsn, user=reader, password="pw"))
    result, out = _init(cli, as_reader, tmp_path, "--model", "hash-embed:8")
    assert result.code == 0, result.err
    drafted = out.read_text()
    assert SECTIONS_SOURCE in drafted, drafted
    assert "it applies to the connecting role" in drafted  # said for the role that runs, not the one that read


def _untyped_with_one_ollama_embedder(db, tmp_path, stored: str) -> Path:
    """An untyped vector column (LangChain.js's PGVectorStore without `dimensions`) holding vectors of ``stored``,
    and an application whose one Ollama embedder names hash-embed:384."""
    db.execute("CREATE TABLE notes (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), body text, meta jsonb, vec vector);"
               f"INSERT INTO notes (body, vec) SELECT 'note ' || g, array_fill(0.1::real, ARRAY[{stored}])::vector "
               "FROM generate_series(1, 12) g")
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "db.ts").write_text("import { OllamaEmbeddings } from '@langchain/ollama';\n"
                                        "export const embeddings = new OllamaEmbeddings({ model: 'hash-embed:384' });\n")
    return repo


def test_the_applications_ollama_model_the_provider_serves_at_the_stored_vectors_dimension_of_an_untyped_column_is_drafted(
        cli, empty_db, embed_server, tmp_path):
    repo = _untyped_with_one_ollama_embedder(empty_db, tmp_path, "384")
    out = tmp_path / "draft.yaml"
    result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", out, "--json",
                 env={"OLLAMA_HOST": embed_server.url})
    assert result.code == 0 and result.json["todo"] == [], result.out + result.err
    assert load_profile(out, env={}).provider.model == "hash-embed:384"
    assert "the provider serves it at 384 dimensions, as the stored vectors of notes.vec are" in out.read_text()


def test_an_ollama_model_of_another_dimension_than_the_untyped_columns_stored_vectors_is_not_drafted(
        cli, empty_db, embed_server, tmp_path):
    repo = _untyped_with_one_ollama_embedder(empty_db, tmp_path, "768")
    out = tmp_path / "draft.yaml"
    result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", out, "--json",
                 env={"OLLAMA_HOST": embed_server.url})
    assert result.json["todo"] == ["provider.model"], result.out + result.err
    assert "hash-embed:384 (langchain, src/db.ts:2)" in out.read_text()


def test_without_an_index_the_distance_the_applications_store_names_is_drafted(cli, empty_db, embed_server, tmp_path):
    """No index or SQL function in the database says the distance; the app's LangChain.js store does."""
    repo = _untyped_with_one_ollama_embedder(empty_db, tmp_path, "384")
    (repo / "src" / "store.ts").write_text(
        "import { PGVectorStore } from '@langchain/community/vectorstores/pgvector';\n"
        "export const store = await PGVectorStore.initialize(embeddings, {\n  pool,\n  tableName: 'notes',\n"
        "  columns: { vectorColumnName: 'vec', contentColumnName: 'body', metadataColumnName: 'meta' },\n"
        "  distanceStrategy: 'innerProduct',\n});\n")
    out = tmp_path / "draft.yaml"
    result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", out, "--json",
                 env={"OLLAMA_HOST": embed_server.url})
    assert result.code == 0, result.out + result.err
    assert load_profile(out, env={}).distance == "ip"
    assert "the distance the application's store queries with (src/store.ts:2; no index" in out.read_text(), out.read_text()


def test_a_langchain_js_store_with_a_camel_case_content_column_has_it_drafted_as_the_text(
        cli, empty_db, embed_server, tmp_path):
    """LangChain.js quotes the column names its config gives (`contentColumnName: 'pageContent'`)."""
    empty_db.execute('CREATE TABLE kb (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "pageContent" text, '
                     'meta jsonb, vec vector);'
                     'INSERT INTO kb ("pageContent", meta, vec) SELECT \'page \' || g, \'{"loc": {"lines": 1}}\', '
                     "array_fill(0.1::real, ARRAY[384])::vector FROM generate_series(1, 12) g")
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "store.ts").write_text(
        "import { PGVectorStore } from '@langchain/community/vectorstores/pgvector';\n"
        "import { OllamaEmbeddings } from '@langchain/ollama';\n"
        "export const store = await PGVectorStore.initialize(new OllamaEmbeddings({ model: 'hash-embed:384' }), {\n"
        "  pool,\n  tableName: 'kb',\n"
        "  columns: { vectorColumnName: 'vec', contentColumnName: 'pageContent', metadataColumnName: 'meta' },\n});\n")
    out = tmp_path / "draft.yaml"
    result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", out, "--json",
                 env={"OLLAMA_HOST": embed_server.url})
    assert result.code == 0 and result.json["todo"] == [], result.out + result.err
    assert load_profile(out, env={}).chunks.text == ("pageContent",), out.read_text()


def test_a_column_of_another_dimension_than_the_applications_schema_declares_is_said(cli, empty_db, tmp_path):
    # tests/fixtures/repos/django-chunk-model: 0001 made the column vector(768), 0002 altered it to 1536; this
    # database stopped at 0001 (the application embeds 1536 into it and fails).
    repo = Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "django-chunk-model"
    empty_db.execute("CREATE TABLE docchunks_chunkembedding (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
                     "file_name varchar(255) NOT NULL, content text NOT NULL, embedding vector(768) NOT NULL)")
    line = _line(_drafted(cli, empty_db, repo, tmp_path), "dimensions:")
    assert line.startswith("  dimensions: 768  # declared by docchunks_chunkembedding.embedding (vector); but the "
                           "application's schema declares 1536 (docchunks/migrations/0002_alter_chunkembedding_embedding.py:"
                           "13, docchunks/models.py:8): a migration not applied?"), line


def test_a_schema_changed_since_its_latest_migration_is_said_ahead_of_the_migrations(cli, empty_db, tmp_path):
    """drizzle's schema.ts says 768 while the latest migration, which the database applied, says 384: no migration is
    missing; the next one generated would change the column."""
    empty_db.execute(MESSAGES)
    repo = tmp_path / "repo"
    (repo / "lib" / "db" / "migrations").mkdir(parents=True)
    (repo / "lib" / "db" / "schema.ts").write_text(
        "import { pgTable, text, bigserial, vector } from 'drizzle-orm/pg-core';\n"
        "export const messages = pgTable('messages', {\n  id: bigserial('id', { mode: 'number' }).primaryKey(),\n"
        "  content: text('content').notNull(),\n  embedding: vector('embedding', { dimensions: 768 }),\n});\n")
    (repo / "lib" / "db" / "migrations" / "0000_init.sql").write_text(
        'CREATE TABLE "messages" ("id" bigserial PRIMARY KEY, "content" text NOT NULL, "embedding" vector(384));\n')
    line = _line(_drafted(cli, empty_db, repo, tmp_path), "dimensions:")
    assert line == ("  dimensions: 384  # declared by messages.embedding (vector); so does the application's latest "
                    "migration (lib/db/migrations/0000_init.sql:1), but its schema declares 768 (lib/db/schema.ts:5): "
                    "a schema change no migration was made for yet (the next one would change the column)?"), line


def test_a_dimension_the_latest_migration_reads_from_a_setting_is_said_as_that_setting(cli, empty_db, tmp_path):
    # tests/fixtures/repos/rails-neighbor: the latest migration sets passages.embedding from
    # ENV.fetch("EMBED_DIMS", 768); schema.rb was dumped from a database made with EMBED_DIMS=1536. A database made
    # with the default is no migration behind: the two were made with different values of the setting.
    repo = Path(__file__).resolve().parents[1] / "fixtures" / "repos" / "rails-neighbor"
    empty_db.execute("CREATE TABLE passages (id bigserial PRIMARY KEY, notebook_id bigint NOT NULL, body text, "
                     "embedding vector(768), created_at timestamp(6) NOT NULL, updated_at timestamp(6) NOT NULL)")
    line = _line(_drafted(cli, empty_db, repo, tmp_path), "dimensions:")
    assert line == ("  dimensions: 768  # declared by passages.embedding (vector); the application's schema declares 1536 "
                    "(db/schema.rb:12) and its migration takes the dimension from $EMBED_DIMS (default 768, "
                    "db/migrate/20240301000000_resize_passage_embedding.rb:3): a setting the database and that schema "
                    "were made with different values of"), line


POLYMORPHIC_CHUNKS = """
CREATE TABLE texts (id bigserial PRIMARY KEY, data text);
CREATE TABLE qnas (id bigserial PRIMARY KEY, question text);
CREATE TABLE activities (id bigserial PRIMARY KEY, what text);
INSERT INTO texts (data) VALUES ('t1'), ('t2');
INSERT INTO qnas (question) VALUES ('q1');
CREATE TABLE chunks (id bigserial PRIMARY KEY, chunkable_id bigint NOT NULL, chunkable_type varchar,
  content text, embedding vector(384), account_id bigint NOT NULL);
INSERT INTO chunks (chunkable_id, chunkable_type, content, account_id) VALUES (1, 'Text', 'alpha beta', 1),
  (1, 'Text', 'gamma delta', 1), (2, 'Text', 'epsilon', 2), (1, 'Qna', 'who approves travel', 1);
"""


def test_a_polymorphic_association_is_drafted_as_the_citation_and_its_largest_type_as_the_source(cli, empty_db, tmp_path):
    # Rails' belongs_to :chunkable, polymorphic: true (Laravel's morphs): the type names a model, the model a table.
    empty_db.execute(POLYMORPHIC_CHUNKS)
    text = _drafted(cli, empty_db, tmp_path, tmp_path)
    assert yaml.safe_load(text)["chunks"]["sources"] == ["chunkable_type", "chunkable_id"], text
    line = next(x for x in text.splitlines() if x.startswith("# source:"))
    assert line.startswith("# source: {table: texts, key: id, chunk_key: chunkable_id, chunk_filter: {chunkable_type: "
                           "Text}}  # every row read of type Text names a texts row"), line
    assert "also Qna (qnas)" in line, line


def test_a_polymorphic_type_whose_rows_name_no_row_of_the_table_it_names_is_no_source(cli, empty_db, tmp_path):
    empty_db.execute(POLYMORPHIC_CHUNKS + "DELETE FROM texts; DELETE FROM qnas;")
    text = _drafted(cli, empty_db, tmp_path, tmp_path)
    assert "# source:" not in text, text


def test_the_model_a_configuration_file_names_for_ollama_is_drafted_and_measured_without_model(
        cli, empty_db, embed_server, tmp_path):
    """R2R's embedder takes its model from a TOML section (``[embedding] provider = "ollama"``, ``base_model``): the
    draft picks the one the provider serves at the column's dimension and measures the text with it, as --model
    would (before, the model was TODO naming only an unrelated in-process splitter model, and nothing was measured)."""
    import httpx

    empty_db.execute(MESSAGES)
    with empty_db.connect(autocommit=True) as conn:
        rows = conn.execute("SELECT id, content FROM messages ORDER BY id").fetchall()
        vectors = httpx.post(f"{embed_server.url}/api/embed",
                             json={"model": "hash-embed:384", "input": [r[1] for r in rows]}).json()["embeddings"]
        for (key, _), vector in zip(rows, vectors):
            conn.execute("UPDATE messages SET embedding = %s::vector WHERE id = %s", (str(vector), key))
    repo = tmp_path / "repo"
    (repo / "configs").mkdir(parents=True)
    (repo / "configs" / "ollama.toml").write_text('[embedding]\nprovider = "ollama"\nbase_model = "hash-embed:384"\n'
                                                  'base_dimension = 384\n')
    (repo / "configs" / "wide.toml").write_text('[embedding]\nprovider = "ollama"\nbase_model = "hash-embed:768"\n')
    out = tmp_path / "draft.yaml"
    result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", out, "--json",
                 env={"OLLAMA_HOST": embed_server.url})
    assert result.code == 0 and result.json["todo"] == [], result.out + result.err
    drafted = out.read_text()
    assert load_profile(out, env={}).provider.model == "hash-embed:384"
    assert "(ollama-config, configs/ollama.toml:3)" in drafted, drafted
    assert "measured: hash-embed:384 re-embedding content reproduces the stored vectors of 5 of the 5 rows read" in drafted

PAGES_AND_SECTIONS = """
CREATE TABLE app_user (id bigserial PRIMARY KEY, email text NOT NULL);
CREATE TABLE doc_page (id bigserial PRIMARY KEY, path text NOT NULL UNIQUE, checksum text);
CREATE TABLE doc_section (id bigserial PRIMARY KEY, page_id bigint NOT NULL REFERENCES doc_page ON DELETE CASCADE,
                          user_id bigint REFERENCES app_user, content text, heading text, embedding vector(8));
INSERT INTO app_user (email) VALUES ('a@example.com');
INSERT INTO doc_page (path, checksum) SELECT '/docs/page' || g, 'sum' || g FROM generate_series(1, 3) g;
INSERT INTO doc_section (page_id, user_id, content, heading)
    SELECT 1 + g % 3, 1, 'section ' || g, 'Heading ' || g FROM generate_series(1, 9) g;
"""


def test_the_document_a_chunk_table_references_by_foreign_key_is_its_citation_and_the_source_to_uncomment(
        cli, empty_db, tmp_path):
    """nextjs-openai-doc-search: nods_page_section has no column named like a citation, but its foreign key page_id
    names the page (which has a path); the draft said `sources: none found` and no source. An owner's key is not."""
    empty_db.execute(PAGES_AND_SECTIONS)
    _, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:8")
    drafted = out.read_text()
    assert 'sources: ["page_id"]  # guess: the foreign key doc_section.page_id -> doc_page.id' in drafted, drafted
    assert "# source: {table: doc_page, key: id, chunk_key: page_id}" in drafted
    assert "user_id" not in drafted.split("sources:")[1].splitlines()[0]


def test_rls_with_no_policy_is_said_to_hide_every_row_from_a_role_it_applies_to(cli, empty_db, pg, tmp_path):
    empty_db.execute(PAGES_AND_SECTIONS + "ALTER TABLE doc_section ENABLE ROW LEVEL SECURITY;"
                     "CREATE ROLE docs_reader LOGIN PASSWORD 'reader-pw'; GRANT SELECT ON ALL TABLES IN SCHEMA public "
                     "TO docs_reader;")
    try:
        reader = empty_db.dsn.replace(empty_db.dsn.split("//")[1].split("@")[0], "docs_reader:reader-pw")
        out = tmp_path / "draft.yaml"
        cli("profile", "init", "--repo", tmp_path, "--database-url", reader, "--output", out, "--model", "hash-embed:8")
        assert "it hides every row from the connecting role (no policy shows one" in out.read_text(), out.read_text()
    finally:
        empty_db.execute("DROP OWNED BY docs_reader; DROP ROLE docs_reader")


def test_a_hash_kept_on_the_document_table_is_said_to_be_no_input_hash_of_the_chunks(cli, empty_db, tmp_path):
    """nextjs-openai-doc-search keeps its checksum on the page (the file's), skipping unchanged pages by it: the
    draft says so beside the source, so nobody takes it for a hash of each section's text."""
    empty_db.execute(PAGES_AND_SECTIONS)
    _, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:8")
    assert "# doc_page.checksum is a hash of the whole doc_page row's document, not of a chunk's text" in out.read_text()
    assert "input_hash: (none" in out.read_text()


SIDE_BY_SIDE = """
CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL);
CREATE TABLE note_vectors (note_id bigint NOT NULL, model_id bigint NOT NULL, strategy_id int NOT NULL,
  vec halfvec NOT NULL, UNIQUE (model_id, strategy_id, note_id));
INSERT INTO notes (body) SELECT 'note number ' || g FROM generate_series(1, 4) g;
INSERT INTO note_vectors SELECT id, 1, 1, array_fill(0.5, ARRAY[384])::halfvec FROM notes;
"""


def test_a_unique_key_beside_the_chunks_key_drafts_the_filter_its_stored_rows_share(cli, empty_db, embed_server, tmp_path):
    """discourse-ai's (model_id, strategy_id, topic_id): several models' rows side by side. One combination stored:
    the draft writes it (measured), scope reads only those rows, and the columns are no unfilled NOT NULL ones."""
    empty_db.execute(SIDE_BY_SIDE)
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert result.json["todo"] == [], out.read_text()
    line = _line(out.read_text(), "filter:")
    assert line.strip().startswith("filter: {model_id: 1, strategy_id: 1}  # measured:") and "4 rows" in line
    assert "defaults:" not in out.read_text()  # model_id and strategy_id are the filter's
    assert load_profile(out, env={}).embeddings.filter == (("model_id", 1), ("strategy_id", 1))


def test_several_models_side_by_side_leave_the_column_that_differs_todo(cli, empty_db, embed_server, tmp_path):
    empty_db.execute(SIDE_BY_SIDE + "INSERT INTO note_vectors SELECT id, 2, 1, array_fill(0.5, ARRAY[768])::halfvec "
                                    "FROM notes WHERE id < 3;")
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert result.json["todo"] == ["embeddings.filter.model_id"]
    line = _line(out.read_text(), "filter:")
    assert line.strip().startswith("filter: {model_id: TODO, strategy_id: 1}  # TODO:")
    assert "{model_id: 1, strategy_id: 1} 4 rows; {model_id: 2, strategy_id: 1} 2 rows" in line
    scoped = _scope(cli, empty_db, out, "notes", embed_server)
    assert scoped.code == 2 and "embeddings.filter.model_id" in scoped.out


def test_a_key_unique_alone_drafts_no_filter(cli, empty_db, embed_server, tmp_path):
    empty_db.execute(SIDE_BY_SIDE.replace("UNIQUE (model_id, strategy_id, note_id)", "UNIQUE (note_id)"))
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert "filter:" not in out.read_text()


def test_unfilled_timestamps_default_to_now_and_the_rest_is_todo(cli, empty_db, embed_server, tmp_path):
    """Rails' created_at/updated_at NOT NULL without a default: the time the engine writes the row; a version or the
    application's digest is its own: TODO, named."""
    empty_db.execute(SIDE_BY_SIDE.replace("vec halfvec NOT NULL,", "vec halfvec NOT NULL, digest text NOT NULL, "
                                          "created_at timestamp(6) NOT NULL, updated_at timestamp(6) NOT NULL,")
                     .replace("::halfvec FROM notes", "::halfvec, md5(body), now(), now() FROM notes"))
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert result.json["todo"] == ["embeddings.defaults.digest"]
    assert _line(out.read_text(), "defaults:").strip().startswith(
        'defaults: {digest: TODO, created_at: "now()", updated_at: "now()"}  # TODO: NOT NULL')


def test_the_model_named_by_another_tables_row_picks_the_filters_value(cli, empty_db, embed_server, tmp_path):
    """discourse-ai's model_id is the id of an embedding_definitions row that names the model (display_name,
    provider_params' model_name), with no declared foreign key: the row of the integer key that names --model gives
    the value; a table whose ids merely match (users 1 and 2) says nothing."""
    empty_db.execute(SIDE_BY_SIDE + """
        INSERT INTO note_vectors SELECT id, 2, 1, array_fill(0.5, ARRAY[768])::halfvec FROM notes WHERE id < 3;
        CREATE TABLE users (id bigint PRIMARY KEY, name text);
        INSERT INTO users VALUES (1, 'ada'), (2, 'grace');
        CREATE TABLE embedder_definitions (id bigserial PRIMARY KEY, display_name text, provider_params jsonb);
        INSERT INTO embedder_definitions VALUES (1, 'small', '{"model_name": "hash-embed:768"}'),
                                                (2, 'default', '{"model_name": "hash-embed:384"}');""")
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert result.json["todo"] == []
    line = _line(out.read_text(), "filter:").strip()
    assert line.startswith("filter: {model_id: 2, strategy_id: 1}  # measured:")
    assert "model_id 2 is the embedder_definitions row id = 2, which names hash-embed:384" in line


def test_a_model_name_column_of_the_unique_key_takes_the_models_own_name(cli, empty_db, embed_server, tmp_path):
    """study-pg-hybrid-search's document_embeddings: PRIMARY KEY (document_id, model), the model's name a text column
    of the key: the filter's value is --model's own name where rows are stored under it, not TODO beside a list of
    the very names."""
    empty_db.execute("""
        CREATE TABLE documents (id bigserial PRIMARY KEY, body text NOT NULL);
        CREATE TABLE document_embeddings (document_id bigint NOT NULL REFERENCES documents(id), model text NOT NULL,
          embedding vector NOT NULL, PRIMARY KEY (document_id, model));
        INSERT INTO documents (body) SELECT 'note number ' || g FROM generate_series(1, 4) g;
        INSERT INTO document_embeddings SELECT id, 'hash-embed:768', array_fill(0.5, ARRAY[768])::vector FROM documents;
        INSERT INTO document_embeddings SELECT id, 'hash-embed:384', array_fill(0.5, ARRAY[384])::vector FROM documents
          WHERE id < 3;""")
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert result.json["todo"] == [], out.read_text()
    line = _line(out.read_text(), "filter:").strip()
    assert line.startswith('filter: {model: "hash-embed:384"}  # measured:'), line
    assert 'model "hash-embed:384" is the model\'s own name in document_embeddings.model' in line, line
    assert load_profile(out, env={}).embeddings.filter == (("model", "hash-embed:384"),)


def test_a_backfill_script_that_takes_the_model_by_a_flag_is_drafted_with_the_profiles_model(cli, empty_db, tmp_path):
    """study-pg-hybrid-search's `embed_documents.py --model M` embeds its default (nomic-embed-text:v1.5) unless told:
    drafted bare, it would fill another model's rows than the profile's, and scope could only call the model unproven."""
    empty_db.execute("""
        CREATE TABLE documents (id bigserial PRIMARY KEY, content text NOT NULL);
        CREATE TABLE document_embeddings (document_id bigint NOT NULL REFERENCES documents(id), model text NOT NULL,
          embedding vector NOT NULL, PRIMARY KEY (document_id, model));
        INSERT INTO documents (content) SELECT 'note number ' || g FROM generate_series(1, 4) g;""")
    out = tmp_path / "draft.yaml"
    result = cli("profile", "init", "--repo", OWNED_NOTES.parent / "py-model-flag", "--database-url",
                 empty_db.dsn, "--output", out, "--model", "snowflake-arctic-embed:22m", "--json")
    assert result.code == 0, result.out + result.err
    line = _line(out.read_text(), "command:").strip()
    assert line.startswith('command: "python scripts/embed_documents.py --model snowflake-arctic-embed:22m"  # guess: '
                           "locate's best entrypoint (python-script scripts/embed_documents.py), given the profile's "
                           "model by its --model (its default: nomic-embed-text:v1.5)"), line


def test_the_text_of_a_separate_tables_vectors_is_measured_through_the_key_on_the_models_rows(cli, empty_db,
                                                                                              embed_server, tmp_path):
    """Vectors in their own table, two models side by side: the chunk's text is measured against the vectors of the
    model's rows (the filter's), joined on the key; model 1's (another width) are not read."""
    from harness.provider import OllamaProvider

    empty_db.execute(SIDE_BY_SIDE.replace("INSERT INTO note_vectors SELECT id, 1, 1, array_fill(0.5, ARRAY[384])::halfvec "
                                          "FROM notes;", "INSERT INTO note_vectors SELECT id, 1, 1, "
                                          "array_fill(0.5, ARRAY[768])::halfvec FROM notes;"))
    with empty_db.connect(autocommit=True) as conn, OllamaProvider(embed_server.url, "hash-embed:384") as provider:
        notes = conn.execute("SELECT id, body FROM notes ORDER BY id").fetchall()
        for (key, _), vector in zip(notes, provider.embed([n[1] for n in notes]).vectors):
            conn.execute("INSERT INTO note_vectors VALUES (%s, 2, 1, %s::halfvec)", (key, str(vector.tolist())))
        conn.execute("CREATE TABLE definitions (id bigint PRIMARY KEY, name text); "
                     "INSERT INTO definitions VALUES (1, 'other'), (2, 'hash-embed:384')")
    out = tmp_path / "measured.yaml"
    assert cli("profile", "init", "--repo", tmp_path, "--database-url", empty_db.dsn, "--output", out, "--model",
               "hash-embed:384", env={"OLLAMA_HOST": embed_server.url}).code == 0
    line = _line(out.read_text(), "text:")
    assert "measured: hash-embed:384 re-embedding body reproduces the stored vectors of 4 of the 4 rows read" in line


_LABELLED_REEMBED = '''import sys
import httpx


def composed(row):
    return "\\n\\n".join((f"title: {row.title}", row.body))


def reembed(conn):
    for row in conn.execute("SELECT id, title, body FROM notes").fetchall():
        vector = httpx.post(OLLAMA + "/api/embed", json={"model": "hash-embed:384", "input": composed(row)}).json()
        conn.execute("UPDATE notes SET embedding = %s WHERE id = %s", (vector["embeddings"][0], row.id))


if __name__ == "__main__":
    reembed(CONNECTION)
'''


def test_a_text_the_entrypoint_joins_from_labelled_parts_is_measured_and_drafted_as_those_parts(cli, empty_db,
                                                                                                embed_server, tmp_path):
    """The backfill embeds `"\\n\\n".join((f"title: {row.title}", row.body))`: no column, nor two joined, reproduces
    the stored vectors; the parts read in its code do, and the draft says them (labels and separator)."""
    import httpx

    empty_db.execute("CREATE TABLE notes (id serial PRIMARY KEY, title text, body text, embedding vector(384))")
    notes = [(f"Note {i}", f"the body of note {i} about glaciers and huts") for i in range(6)]
    vectors = httpx.post(f"{embed_server.url}/api/embed", json={"model": "hash-embed:384", "input": [
        f"title: {t}\n\n{b}" for t, b in notes]}).json()["embeddings"]
    with empty_db.connect(autocommit=True) as conn:
        for (title, body), vector in zip(notes, vectors):
            conn.execute("INSERT INTO notes (title, body, embedding) VALUES (%s, %s, %s::vector)", (title, body, str(vector)))
    (tmp_path / "reembed.py").write_text(_LABELLED_REEMBED)
    out = tmp_path / "draft.yaml"
    result = cli("profile", "init", "--repo", tmp_path, "--database-url", empty_db.dsn, "--output", out, "--model",
                 "hash-embed:384", "--json", env={"OLLAMA_HOST": embed_server.url})
    assert result.code == 0, result.err
    raw = yaml.safe_load(out.read_text())
    assert (raw["chunks"]["text"], raw["chunks"]["text_separator"]) == (["title: {title}", "body"], "\n\n"), out.read_text()
    text_line = next(line for line in out.read_text().splitlines() if line.startswith("  text:"))
    assert "measured" in text_line and "reproduces the stored vectors of 5 of the 5 rows read" in text_line, text_line
_SHARED_KEY = """
CREATE TABLE sections (indexid integer PRIMARY KEY, id text, text text, tags text, entry timestamptz);
CREATE TABLE vectors (indexid integer PRIMARY KEY, embedding vector(8));
CREATE TABLE notes (noteid integer PRIMARY KEY, body text);
INSERT INTO sections (indexid, id, text) SELECT g, 'doc-' || g, 'section ' || g FROM generate_series(0, 5) g;
INSERT INTO notes SELECT g, 'note ' || g FROM generate_series(0, 5) g;
INSERT INTO vectors SELECT g, array_fill(0.1::real, ARRAY[8])::vector FROM generate_series(0, 5) g;
"""


def test_a_vector_table_without_text_keyed_like_a_text_table_is_that_tables_embeddings(cli, empty_db, tmp_path):
    """txtai's pgvector ANN: `vectors (indexid, embedding)` beside its content database's `sections (indexid, ..., text)`,
    no foreign key, no key named after a table: the same key, each vector's key one of the sections'."""
    empty_db.execute(_SHARED_KEY)
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:8")
    assert result.code == 0 and result.json["todo"] == [], result.out + result.err
    raw = yaml.safe_load(out.read_text())
    assert (raw["chunks"]["table"], raw["chunks"]["id"], raw["chunks"]["text"], raw["embeddings"]["table"],
            raw["embeddings"]["key"]) == ("sections", "indexid", "text", "vectors", "indexid"), out.read_text()
    assert "every key of vectors.indexid is one of sections.indexid" in out.read_text()


def test_a_shared_key_some_vectors_of_which_name_no_text_row_is_no_join(cli, empty_db, tmp_path):
    empty_db.execute(_SHARED_KEY + "DELETE FROM sections WHERE indexid = 3;")
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:8")
    assert yaml.safe_load(out.read_text().replace("TODO", "x"))["chunks"]["table"] == "vectors", out.read_text()


def test_the_text_is_measured_with_the_model_the_entrypoint_names(cli, empty_db, embed_server, tmp_path):
    """Haystack's indexing script names its model (`OllamaDocumentEmbedder(model="nomic-embed-text", ...)`) and no
    --model is given: the draft names that model and measures with it which text the stored vectors embed (a title
    joined before the body), as it does for --model, instead of taking the column the names suggest."""
    empty_db.execute("CREATE TABLE notes (id bigserial PRIMARY KEY, title text NOT NULL, body text NOT NULL, "
                     "embedding vector(768))")
    rows = [(f"Note {i}", f"the body of note {i} says something about subject {i}") for i in range(6)]
    vectors = requests.post(f"{embed_server.url}/api/embed", json={"model": "hash-embed:768", "input": [
        f"{t} {b}" for t, b in rows]}).json()["embeddings"]
    with empty_db.connect(autocommit=True) as conn:
        for (title, body), vector in zip(rows, vectors):
            conn.execute("INSERT INTO notes (title, body, embedding) VALUES (%s, %s, %s::vector)",
                         (title, body, str(vector)))
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "scripts" / "backfill_embeddings.py").write_text(BACKFILL_SCRIPT.replace('"nomic-embed-text"', '"hash-embed:768"'))
    out = tmp_path / "p.yaml"
    result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", out, "--json",
                 env={"OLLAMA_HOST": embed_server.url})
    assert result.code == 0, result.err
    drafted = out.read_text()
    raw = yaml.safe_load(drafted)
    assert raw["provider"]["model"] == "hash-embed:768", drafted
    assert raw["chunks"]["text"] == ["title", "body"], _line(drafted, "text:")
    assert "measured: hash-embed:768 re-embedding title, body joined by ' '" in _line(drafted, "text:")


def test_a_hash_of_another_column_than_the_text_the_vectors_are_made_from_is_no_input_hash(cli, empty_db, embed_server,
                                                                                           tmp_path):
    """SurfSense's documents: `content_hash` is the app's digest of the content with its workspace; one row's value
    happening to be the MD5 of its title made the draft `input_hash: content_hash` (md5), of title, beside `text:
    content` measured on the stored vectors: the engine would have overwritten every value with digests of content."""
    from harness.provider import OllamaProvider

    from ..conftest import TEST_MODEL

    contents = [f"Section {i} of the handbook: who approves leave, and how long it takes." for i in range(4)]
    with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
        vectors = provider.embed(contents).vectors
    empty_db.execute("CREATE TABLE documents (id serial PRIMARY KEY, title text NOT NULL, content text NOT NULL, "
                     "content_hash text NOT NULL, embedding vector(384))")
    with empty_db.connect(autocommit=True) as conn:
        for i, (content, vector) in enumerate(zip(contents, vectors)):
            conn.execute("INSERT INTO documents (title, content, content_hash, embedding) VALUES (%s, %s, CASE WHEN %s = 0 "
                         "THEN md5(%s) ELSE encode(sha256(convert_to(%s || '7', 'UTF8')), 'hex') END, %s)",
                         (f"doc{i}.md", content, i, f"doc{i}.md", content, str([float(x) for x in vector])))
    out = tmp_path / "draft.yaml"
    result = cli("profile", "init", "--repo", tmp_path, "--database-url", empty_db.dsn, "--output", out, "--model",
                 TEST_MODEL, "--json", env={"OLLAMA_HOST": embed_server.url})
    assert result.code == 0, result.err
    raw = yaml.safe_load(out.read_text())
    assert raw["chunks"]["text"] == "content", out.read_text()
    assert "input_hash" not in raw["embeddings"] and "input_hash_algorithm" not in raw["embeddings"], out.read_text()
    assert "not the content the stored vectors are made from" in out.read_text(), out.read_text()


def test_chunks_placed_in_collections_by_their_documents_are_said_so_beside_the_one_collection(cli, empty_db, tmp_path):
    """SurfSense: a chunk holds its `document_id`, the document its `workspace_id` (NOT NULL, `workspaces.name`), and
    the app searches one workspace's chunks through their document. The draft still takes the whole table as one
    collection, and says, ready to uncomment, the collection the document places each chunk in (it said nothing)."""
    empty_db.execute(
        "CREATE TABLE workspaces (id serial PRIMARY KEY, name varchar(100) NOT NULL); "
        "CREATE TABLE folders (id serial PRIMARY KEY, name text NOT NULL); "
        "CREATE TABLE documents (id serial PRIMARY KEY, title text NOT NULL, content text NOT NULL, "
        "workspace_id int NOT NULL REFERENCES workspaces(id), folder_id int REFERENCES folders(id)); "
        "CREATE TABLE chunks (id serial PRIMARY KEY, content text NOT NULL, embedding vector(384), "
        "document_id int NOT NULL REFERENCES documents(id)); "
        "INSERT INTO workspaces (name) VALUES ('Handbook'), ('Research'); "
        "INSERT INTO documents (title, content, workspace_id) SELECT 'doc' || g, 'text ' || g, 1 + g % 2 "
        "FROM generate_series(1, 4) g; "
        "INSERT INTO chunks (content, document_id) SELECT 'chunk ' || g, 1 + g % 4 FROM generate_series(1, 12) g")
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert result.code == 0, result.err
    drafted = out.read_text()
    assert yaml.safe_load(drafted)["chunks"]["collection_name"] == "chunks", drafted
    assert ("  # collection: workspace_id\n"
            "  # collection_join: {table: documents, key: id, chunk: document_id}\n"
            "  # collection_table: {table: workspaces, key: id, name: name}\n") in drafted, drafted
    assert "folder" not in _line(drafted, "# collection_table"), drafted  # nullable: places no chunk for sure


def test_a_documents_collection_whose_name_two_rows_share_is_not_offered(cli, empty_db, tmp_path):
    """OWASP Nest: a chunk's context points to Django's content type (`app_label`, `model`), and every entity type of
    the app shares its app_label ('owasp'): offered as the collection's name, chapters and projects were one."""
    empty_db.execute(
        "CREATE TABLE django_content_type (id serial PRIMARY KEY, app_label varchar(100) NOT NULL, "
        "model varchar(100) NOT NULL, UNIQUE (app_label, model)); "
        "CREATE TABLE ai_contexts (id bigserial PRIMARY KEY, content text NOT NULL, entity_id integer NOT NULL, "
        "entity_type_id integer NOT NULL REFERENCES django_content_type(id), source varchar(100) NOT NULL); "
        "CREATE TABLE ai_chunks (id bigserial PRIMARY KEY, text text NOT NULL, embedding vector(384), "
        "context_id bigint NOT NULL REFERENCES ai_contexts(id)); "
        "INSERT INTO django_content_type (app_label, model) VALUES ('owasp', 'chapter'), ('owasp', 'project'); "
        "INSERT INTO ai_contexts (content, entity_id, entity_type_id, source) SELECT 'context ' || g, g, 1 + g % 2, "
        "'owasp' FROM generate_series(1, 4) g; "
        "INSERT INTO ai_chunks (text, context_id) SELECT 'chunk ' || g, 1 + g % 4 FROM generate_series(1, 12) g")
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert result.code == 0, result.err
    drafted = out.read_text()
    assert yaml.safe_load(drafted)["chunks"]["collection_name"] == "ai_chunks", drafted
    assert "app_label" not in drafted, drafted


def test_a_store_table_made_earlier_at_another_dimension_is_said_as_kept_not_as_a_migration(cli, empty_db, tmp_path):
    """A vector store that makes its table at runtime (Mastra's PgVector ``createIndex``, ``CREATE TABLE IF NOT
    EXISTS``) at 768 in the code, a table it made earlier at 1536 in the database: no migration is missing; the store
    keeps the table it finds, which the code's vectors cannot fill until it is made again."""
    empty_db.execute('CREATE TABLE "test_index" (id SERIAL PRIMARY KEY, vector_id TEXT UNIQUE NOT NULL, '
                     "embedding vector(1536), metadata JSONB DEFAULT '{}'::jsonb)")
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "index.ts").write_text(
        "import { PgVector } from '@mastra/pg';\n"
        "const pgVector = new PgVector({ connectionString: process.env.POSTGRES_CONNECTION_STRING! });\n"
        "await pgVector.createIndex({ indexName: 'test_index', dimension: 768 });\n")
    line = _line(_drafted(cli, empty_db, repo, tmp_path), "dimensions:")
    assert line.startswith("  dimensions: 1536  # declared by test_index.embedding (vector); but the application's "
                           "vector store creates it with 768 (index.ts:3) only where it does not exist yet: this table "
                           "was made before, at 1536, and is kept as it is"), line
    assert "migration" not in line, line


EMBEDDER_IN_A_TABLE = """
CREATE TABLE core_embeddingmodel (id bigserial PRIMARY KEY, provider varchar NOT NULL, name varchar(255) NOT NULL,
                                  active boolean NOT NULL);
INSERT INTO core_embeddingmodel (provider, name, active) VALUES ('OPENAI', 'hash-embed:768', false),
    ('GEMINI', 'models/text-embedding-004', false), ('OLLAMA', 'hash-embed:384', true);
CREATE TABLE embeddings_embedding (id bigserial PRIMARY KEY, file_path varchar(255) NOT NULL, text text NOT NULL,
                                   embedding vector NOT NULL);
"""
# The embedder takes its model from that table's active row (``model.name``): no code or setting names one.
EMBEDDER_OF_A_ROW = {"embeddings/ollama.py": (
    "from ollama import Client\n\n\nclass OllamaEmbedder:\n    def __init__(self, model):\n"
    "        self._model_name = model.name\n        self._client = Client('http://ollama:11434')\n\n"
    "    def embed(self, prompt):\n        return self._client.embed(self._model_name, prompt)\n")}


def _embedder_in_a_table(db, embed_server, repo: Path, model: str) -> None:
    import httpx

    db.execute(EMBEDDER_IN_A_TABLE)
    texts = [f"/repositories/app/file{i}.py\n\ndef f{i}(): return {i}" for i in range(6)]
    vectors = httpx.post(f"{embed_server.url}/api/embed", json={"model": model, "input": texts}).json()["embeddings"]
    with db.connect(autocommit=True) as conn:
        for i, (text, vector) in enumerate(zip(texts, vectors)):
            conn.execute("INSERT INTO embeddings_embedding (file_path, text, embedding) VALUES (%s, %s, %s::vector)",
                         (f"/repositories/app/file{i}.py", text, str(vector)))
    for rel, code in EMBEDDER_OF_A_ROW.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(code)


def test_a_model_the_database_keeps_as_configuration_is_drafted_when_it_reproduces_the_stored_vectors(
        cli, empty_db, embed_server, tmp_path):
    """runtimerevolution/labs keeps its embedder's model in ``core_embeddingmodel`` (the active row's ``name``): of the
    models that table names, the one the provider serves at the stored vectors' dimension and whose re-embedding
    reproduces them is the model (before: TODO, "no model column holds one")."""
    repo = tmp_path / "repo"
    _embedder_in_a_table(empty_db, embed_server, repo, "hash-embed:384")
    out = tmp_path / "draft.yaml"
    result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", out, "--json",
                 env={"OLLAMA_HOST": embed_server.url})
    assert result.code == 0 and result.json["todo"] == [], result.out + result.err
    line = _line(out.read_text(), "model:")
    assert load_profile(out, env={}).provider.model == "hash-embed:384"
    assert "core_embeddingmodel.name, row id = 3, active" in line, line
    assert "reproduces the stored vectors of 5 of the 5 rows read" in line, line


def test_a_model_the_database_keeps_as_configuration_that_does_not_reproduce_the_stored_vectors_stays_todo(
        cli, empty_db, embed_server, tmp_path):
    """The same table naming hash-embed:384, the stored vectors made by another model of that dimension: the model is
    not guessed from the row; the TODO names it as unmeasured."""
    repo = tmp_path / "repo"
    _embedder_in_a_table(empty_db, embed_server, repo, "hash-embed:384")
    empty_db.execute("UPDATE embeddings_embedding SET embedding = (SELECT array_agg(x ORDER BY o DESC) FROM "
                     "unnest(embedding::real[]) WITH ORDINALITY AS u(x, o))::vector")
    out = tmp_path / "draft.yaml"
    result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", out, "--json",
                 env={"OLLAMA_HOST": embed_server.url})
    assert result.json["todo"] == ["provider.model"], result.out
    line = _line(out.read_text(), "model:")
    assert "hash-embed:384 (core_embeddingmodel.name, row id = 3, active)" in line and "none measured" in line, line


PROJECT_CHUNKS = """
CREATE TABLE core_project (id bigserial PRIMARY KEY, name varchar(255) NOT NULL, path varchar(255) NOT NULL UNIQUE);
INSERT INTO core_project (name, path) VALUES ('labs', '/repositories/labs'), ('toolbox', '/repositories/toolbox');
CREATE TABLE embeddings_embedding (id bigserial PRIMARY KEY, file_path varchar(255) NOT NULL, text text NOT NULL,
                                   embedding vector(8), project_id bigint NOT NULL REFERENCES core_project (id));
INSERT INTO embeddings_embedding (file_path, text, project_id)
SELECT '/repositories/labs/f' || g || '.py', 'def f' || g || '(): pass', 1 + g % 2 FROM generate_series(1, 6) g;
"""


def test_the_column_the_applications_search_keeps_to_is_drafted_as_the_collection(cli, empty_db, tmp_path):
    """labs searches one project's files (``Embedding.objects.filter(project__id=project_id)`` before its
    ``CosineDistance``): ``project_id``, a foreign key no name says is a collection or tenant, is the collection, named
    by its project's name (before: the whole table was one collection)."""
    empty_db.execute(PROJECT_CHUNKS)
    repo = tmp_path / "repo"
    (repo / "embeddings").mkdir(parents=True)
    (repo / "embeddings" / "embedder.py").write_text(
        "from pgvector.django import CosineDistance\n\n\ndef retrieve(q, project_id):\n"
        "    return (Embedding.objects.filter(project__id=project_id).values('file_path')\n"
        "            .annotate(distance=Min(CosineDistance('embedding', q))).order_by('distance'))\n")
    raw = yaml.safe_load(_drafted(cli, empty_db, repo, tmp_path))
    assert raw["chunks"]["collection"] == "project_id" and "collection_name" not in raw["chunks"], raw
    assert raw["chunks"]["collection_table"] == {"table": "core_project", "key": "id", "name": "name"}


def test_a_search_that_keeps_to_no_column_leaves_the_table_one_collection(cli, empty_db, tmp_path):
    empty_db.execute(PROJECT_CHUNKS)
    repo = tmp_path / "repo"
    (repo / "embeddings").mkdir(parents=True)
    (repo / "embeddings" / "embedder.py").write_text(
        "from pgvector.django import CosineDistance\n\n\ndef retrieve(q):\n"
        "    return Embedding.objects.order_by(CosineDistance('embedding', q))[:10]\n")
    raw = yaml.safe_load(_drafted(cli, empty_db, repo, tmp_path))
    assert raw["chunks"]["collection_name"] == "embeddings_embedding" and "collection" not in raw["chunks"], raw


def test_a_configuration_table_the_connecting_role_may_not_read_is_passed_over(cli, empty_db, embed_server, tmp_path):
    """A table named like a model's that the role may not SELECT from names nothing: the draft is still written, with
    the model from the one it may read."""
    from psycopg.conninfo import make_conninfo

    repo = tmp_path / "repo"
    _embedder_in_a_table(empty_db, embed_server, repo, "hash-embed:384")
    role = f"reader_{empty_db.name}"
    empty_db.execute(f"""
        CREATE TABLE core_llmmodel (id bigserial PRIMARY KEY, name varchar(255) NOT NULL);
        INSERT INTO core_llmmodel (name) VALUES ('hash-embed:768');
        CREATE ROLE {role} LOGIN PASSWORD 'pw-{role}';
        GRANT SELECT ON core_embeddingmodel, embeddings_embedding TO {role};
    """)
    try:
        out = tmp_path / "draft.yaml"
        result = cli("profile", "init", "--repo", repo, "--output", out, "--json", "--database-url",
                     make_conninfo(empty_db.dsn, user=role, password=f"pw-{role}"), env={"OLLAMA_HOST": embed_server.url})
        assert result.code == 0 and result.json["todo"] == [], result.out + result.err
        assert load_profile(out, env={}).provider.model == "hash-embed:384"
    finally:
        empty_db.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_a_configured_model_that_reproduces_the_stored_vectors_but_is_not_the_active_one_stays_todo(
        cli, empty_db, embed_server, tmp_path):
    """The admin made another embedder active (labs queries with the active row's model) and the projects were not
    vectorized again: the stored vectors reproduce with the inactive row's model. Drafting it would backfill and verify
    with a model the application no longer queries with: the model stays TODO, naming both."""
    repo = tmp_path / "repo"
    _embedder_in_a_table(empty_db, embed_server, repo, "hash-embed:384")
    empty_db.execute("UPDATE core_embeddingmodel SET active = (provider = 'OPENAI')")
    out = tmp_path / "draft.yaml"
    result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", out, "--json",
                 env={"OLLAMA_HOST": embed_server.url})
    assert result.json["todo"] == ["provider.model"], result.out
    line = _line(out.read_text(), "model:")
    assert "hash-embed:384 (core_embeddingmodel.name, row id = 3) reproduces the stored vectors" in line, line
    assert "the active row names hash-embed:768 (core_embeddingmodel.name, row id = 1, active)" in line, line


def test_a_script_with_a_chat_model_flag_is_drafted_with_the_profiles_model_on_its_embedding_model_flag(
        cli, empty_db, tmp_path):
    """`--model` names its chat model and `--embed-model` the embedder: the draft gave the profile's model to the first
    model flag it read, `--model`, so the command embedded with its default and chatted with the embedding model."""
    empty_db.execute("""
        CREATE TABLE documents (id bigserial PRIMARY KEY, content text NOT NULL);
        CREATE TABLE document_embeddings (document_id bigint NOT NULL REFERENCES documents(id), model text NOT NULL,
          embedding vector NOT NULL, PRIMARY KEY (document_id, model));
        INSERT INTO documents (content) SELECT 'note number ' || g FROM generate_series(1, 4) g;""")
    source = (OWNED_NOTES.parent / "py-model-flag" / "scripts" / "embed_documents.py").read_text()
    assert 'ap.add_argument("--model", default="nomic-embed-text:v1.5"' in source
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "scripts" / "embed_documents.py").write_text(source.replace(
        'ap.add_argument("--model", default="nomic-embed-text:v1.5", help="Ollama embedding model name")',
        'ap.add_argument("--model", default="llama3.2", help="chat model for summaries")\n'
        '    ap.add_argument("--embed-model", default="nomic-embed-text:v1.5")').replace("args.model", "args.embed_model"))
    out = tmp_path / "draft.yaml"
    result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", out, "--model",
                 "snowflake-arctic-embed:22m", "--json")
    assert result.code == 0, result.out + result.err
    line = _line(out.read_text(), "command:").strip()
    assert line.startswith('command: "python scripts/embed_documents.py --embed-model snowflake-arctic-embed:22m"'), line


EMBED_SERVER = ("import os\n\nimport psycopg\nimport uvicorn\nfrom fastapi import FastAPI\nfrom ollama import Client\n\n"
                "app = FastAPI()\n\n\n@app.post('/embed')\ndef embed(text: str):\n"
                "    vector = Client().embed(model='all-minilm', input=text)['embeddings'][0]\n"
                "    with psycopg.connect(os.environ['DATABASE_URL']) as conn:\n"
                "        conn.execute('UPDATE messages SET embedding = %s WHERE content = %s', (str(vector), text))\n\n\n"
                "if __name__ == '__main__':\n    uvicorn.run(app, port=8000)\n")


def test_a_server_that_embeds_is_left_out_of_the_draft_for_the_applications_batch_command(cli, empty_db, tmp_path):
    """An embedding service (FastAPI, `uvicorn.run` in its __main__ block) ranked above the application's batch ingest
    by its name: drafted as the command, run would have waited for it until its timeout, serving meanwhile."""
    empty_db.execute(MESSAGES)
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "embed_server.py").write_text(EMBED_SERVER)
    (repo / "ingest_messages.py").write_text(EMBED_SERVER.split("\n\nif __name__")[0].replace("@app.post('/embed')\n", "")
                                             + "\n\nif __name__ == '__main__':\n    embed('a message')\n")
    text = _drafted(cli, empty_db, repo, tmp_path)
    assert yaml.safe_load(text)["backfill"]["command"] == "python ingest_messages.py", text
    assert ('# command: "python app/embed_server.py"  # locate\'s entrypoint (python-script app/embed_server.py), left '
            "out: it starts a server (uvicorn.run at app/embed_server.py:19) and never exits; the application's batch "
            "command below instead") in text, text


def test_a_server_alone_is_left_out_of_the_draft_for_the_engine(cli, empty_db, tmp_path):
    empty_db.execute(MESSAGES)
    repo = tmp_path / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "embed_server.py").write_text(EMBED_SERVER)
    text = _drafted(cli, empty_db, repo, tmp_path)
    assert "command" not in (yaml.safe_load(text)["backfill"] or {}), text
    assert ("left out: it starts a server (uvicorn.run at app/embed_server.py:19) and never exits; run with --engine, "
            "the harness's own backfill") in text, text


GO_EMBEDDER = '''package emb

import (
	"net/http"
	"os"
	"strings"
)

type Ollama struct{ BaseURL, Model string }

func NewOllama() *Ollama {
	return &Ollama{BaseURL: os.Getenv("OLLAMA_BASE_URL_EMB"), Model: os.Getenv("OLLAMA_MODEL_EMB")}
}

type request struct {
	Model string `json:"model"`
}

func (o *Ollama) Embed() {
	_ = request{Model: o.Model}
	http.Post(o.BaseURL+"/api/embed", "application/json", strings.NewReader("{}"))
}
'''
LAUNCH_JSON = '''{
    // VS Code's run configuration
    "version": "0.2.0",
    "configurations": [
        {
            "name": "Launch Package",
            "type": "go",
            "env": {
                "OLLAMA_MODEL":"llama3",
                "OLLAMA_MODEL_EMB":"{model}"
            }
        }
    ]
}
'''


def test_the_model_the_repositorys_run_configuration_gives_the_embedders_env_is_drafted_where_the_provider_serves_it(
        cli, empty_db, embed_server, tmp_path):
    """Recallr: its Go embedder reads OLLAMA_MODEL_EMB, which no code defaults and .vscode/launch.json's env sets (the
    chat client's OLLAMA_MODEL beside it). Served at the column's dimension, that model is the guess; else TODO."""
    empty_db.execute(MESSAGES)
    repo = tmp_path / "repo"
    (repo / "internal" / "emb").mkdir(parents=True)
    (repo / ".vscode").mkdir()
    (repo / "go.mod").write_text("module example.com/app\n")
    (repo / "internal" / "emb" / "embeddings.go").write_text(GO_EMBEDDER)
    env = {"OLLAMA_HOST": embed_server.url}
    for model, todo in (("hash-embed:384", []), ("hash-embed:768", ["provider.model"])):
        (repo / ".vscode" / "launch.json").write_text(LAUNCH_JSON.replace("{model}", model))
        out = tmp_path / f"{model}.yaml"
        result = cli("profile", "init", "--repo", repo, "--database-url", empty_db.dsn, "--output", out, "--json",
                     env=env)
        assert result.code == 0 and result.json["todo"] == todo, result.out + result.err
        drafted = out.read_text()
        assert f".vscode/launch.json:10 sets $OLLAMA_MODEL_EMB to {model}" in drafted, drafted
    assert load_profile(tmp_path / "hash-embed:384.yaml", env={}).provider.model == "hash-embed:384"


def test_a_soft_delete_column_of_the_chunk_table_is_a_todo_naming_it_for_chunks_filter(cli, empty_db, tmp_path):
    """A chunk table with ``deleted_at`` (or ``is_deleted``, ``archived``): the application searches only the rows not
    deleted, so the run and DONE must be of those; the draft said nothing, and counted the deleted ones too."""
    empty_db.execute("CREATE TABLE messages (id bigserial PRIMARY KEY, content text NOT NULL, embedding vector(384), "
                     "deleted_at timestamptz, is_deleted boolean NOT NULL DEFAULT false);"
                     "INSERT INTO messages (content) SELECT 'message number ' || g FROM generate_series(1, 30) g")
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert result.code == 0, result.out + result.err
    assert result.json["todo"] == ["chunks.filter.deleted_at", "chunks.filter.is_deleted"]
    line = _line(out.read_text(), "filter:").strip()
    assert line.startswith("filter: {deleted_at: TODO, is_deleted: TODO}  # TODO: ")
    assert "deleted_at: null" in line and "is_deleted: false" in line  # suggested, never written for the owner
    import pytest

    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match=r"'chunks.filter.deleted_at' is still TODO"):
        load_profile(out, env={})


def test_a_chunk_table_without_a_soft_delete_column_drafts_no_chunks_filter(cli, empty_db, tmp_path):
    empty_db.execute(MESSAGES)
    result, out = _init(cli, empty_db, tmp_path, "--model", "hash-embed:384")
    assert result.json["todo"] == [] and "filter:" not in out.read_text()
