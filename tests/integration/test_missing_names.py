"""A table the profile names but the database lacks is bad input naming the profile key, in every step, and the
error names its subcommand (#13 low 14)."""

import pytest

from ..conftest import DEMO_PROFILE


@pytest.fixture
def missing_table_profile(tmp_path):
    path = tmp_path / "profile.yaml"
    path.write_text(DEMO_PROFILE.read_text().replace("table: document_chunks", "table: document_chunkz"))
    return path


@pytest.mark.parametrize("step", ["scope", "plan", "backfill"])
def test_a_missing_chunk_table_is_exit_2_naming_the_profile_key(step, cli, demo_db, target_env, missing_table_profile,
                                                                 tmp_path):
    extra = ["--run-dir", str(tmp_path / "run")] if step == "plan" else []
    result = cli(step, "--profile", missing_table_profile, "--collection", "tenant_acme", *extra,
                 env={**target_env, "DATABASE_URL": demo_db.dsn})
    assert result.code == 2, result.err
    assert "profile key 'chunks.table' names table 'public.document_chunkz', which does not exist" in result.err
    assert result.err.startswith(f"backfill-harness {step}: ")


@pytest.mark.parametrize("step", ["run", "procedure"])
def test_a_run_or_procedure_error_names_its_subcommand_not_none(step, cli, demo_db, target_env, missing_table_profile,
                                                               tmp_path, checks_dir):
    extra = ["--command", "echo hi"] if step == "run" else ["--engine", "--checks", checks_dir, "--historylog",
                                                            tmp_path / "historylog.md"]
    result = cli(step, "--profile", missing_table_profile, "--collection", "tenant_acme", "--run-dir", tmp_path / "run",
                 *extra, env={**target_env, "DATABASE_URL": demo_db.dsn})
    assert result.code == 2, result.err
    said = result.err if step == "run" else result.out  # procedure reports its refused step in its summary
    assert "profile key 'chunks.table' names table 'public.document_chunkz'" in said, result.out + result.err
    assert "None:" not in result.out + result.err
    if step == "run":
        assert result.err.startswith("backfill-harness run: "), result.err


@pytest.mark.parametrize("key, column", [("updated_at", "edited_at"), ("embedded_at", "embeded_at")])
def test_a_timestamp_column_the_table_lacks_is_exit_2_naming_the_profile_key(key, column, cli, embedded_db, target_env,
                                                                            tmp_path):
    """chunks.updated_at and embeddings.updated_at/embedded_at were never looked up: scope passed and verify failed
    every check with a database error (``column e.embeded_at does not exist``)."""
    section, table = ("chunks", "document_chunks") if key == "updated_at" else ("embeddings", "document_embeddings")
    path = tmp_path / "profile.yaml"
    anchor = "  sources: [title, url]\n" if section == "chunks" else "  input_hash: input_hash\n"
    path.write_text(DEMO_PROFILE.read_text().replace(anchor, f"{anchor}  {key}: {column}\n"))
    result = cli("scope", "--profile", path, "--collection", "tenant_acme",
                 env={**target_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 2, result.out + result.err
    assert f"profile key '{section}.{key}' names column '{column}', which table 'public.{table}' does not have" \
        in result.err


def test_a_timestamp_key_naming_a_text_column_is_exit_2_naming_its_type(cli, embedded_db, target_env, tmp_path):
    """A time kept as text cannot be compared with the vector's: verify failed every check with ``operator does not
    exist: text > timestamp with time zone``."""
    embedded_db.execute("ALTER TABLE document_chunks ADD COLUMN edited_at text")
    path = tmp_path / "profile.yaml"
    path.write_text(DEMO_PROFILE.read_text().replace("  sources: [title, url]\n",
                                                     "  sources: [title, url]\n  updated_at: edited_at\n"))
    result = cli("scope", "--profile", path, "--collection", "tenant_acme",
                 env={**target_env, "DATABASE_URL": embedded_db.dsn})
    assert result.code == 2, result.out + result.err
    assert "profile key 'chunks.updated_at' names column 'edited_at', which is of type text; expected a timestamp" \
        in result.err


@pytest.mark.parametrize("step", ["verify", "backfill"])
def test_a_table_the_search_path_finds_in_another_schema_is_refused_where_the_profile_names_no_schema(
        step, cli, embedded_db, demo_profile, target_env, tmp_path):
    """The application's connections search schema app first (a schema per tenant): its unqualified queries read
    app.document_chunks, whose chunks have no vector, while verify read public's, complete, and said DONE."""
    embedded_db.execute("CREATE SCHEMA app; CREATE TABLE app.document_chunks (LIKE public.document_chunks INCLUDING ALL);"
                        "INSERT INTO app.document_chunks SELECT * FROM public.document_chunks;"
                        "CREATE TABLE app.document_embeddings (LIKE public.document_embeddings INCLUDING ALL);"
                        f"ALTER DATABASE {embedded_db.name} SET search_path = app, public")
    extra = ["--run-dir", tmp_path / "run"] if step == "verify" else []
    result = cli(step, "--profile", demo_profile, "--collection", "tenant_globex", *extra, "--json",
                 env={**target_env, "DATABASE_URL": embedded_db.dsn})
    said = result.json.get("error") or result.json.get("reason") or ""
    assert result.code != 0 and not result.json.get("ok"), result.out
    assert "profile key 'chunks.schema' is not set" in said and "app.document_chunks" in said, result.out
    assert embedded_db.scalar("SELECT count(*) FROM app.document_embeddings") == 0


def test_an_embedding_key_of_a_type_the_chunk_key_cannot_be_compared_with_is_exit_2_naming_both(cli, empty_db,
                                                                                                embed_server, tmp_path):
    """Numeric chunk ids kept as text in the embedding rows: every command stopped at a bare database error
    ('operator does not exist: text = integer', exit 1) naming no key."""
    empty_db.execute("CREATE TABLE notes (id int PRIMARY KEY, body text);"
                     "CREATE TABLE emb (note_id text PRIMARY KEY, embedding vector(384));"
                     "INSERT INTO notes VALUES (1, 'a note on tea')")
    profile = tmp_path / "notes.yaml"
    profile.write_text("name: n\nprovider: {model: hash-embed:384, dimensions: 384}\n"
                       "chunks: {table: notes, id: id, text: body, collection_name: notes}\n"
                       "embeddings: {table: emb, key: note_id, vector: embedding}\n")
    result = cli("scope", "--profile", profile, "--collection", "notes", "--json",
                 env={"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url})
    assert result.code == 2, result.out
    assert "profile key 'embeddings.key' names column 'note_id' of type text" in result.json["error"], result.out
    assert "chunks.id 'id' of type integer" in result.json["error"], result.out


ARRAY_PROFILE = ("name: n\nprovider: {model: hash-embed:384, dimensions: 384}\n"
                 "chunks: {table: notes, id: id, text: body, collection_name: notes}\n"
                 "embeddings: {table: notes, key: id, vector: embedding}\n")


@pytest.mark.parametrize("column_type", ["real[]", "double precision[]", "jsonb"])
@pytest.mark.parametrize("step", ["scope", "backfill"])
def test_a_vector_key_naming_a_column_that_is_not_pgvectors_is_exit_2_naming_its_type(step, column_type, cli, empty_db,
                                                                                     embed_server, tmp_path):
    """Embeddings kept as a float array (an ORM's ``Float[]``): every command stopped at a bare database error
    ('operator does not exist: real[] <=> real[]', exit 1) naming no key."""
    empty_db.execute(f"CREATE TABLE notes (id int PRIMARY KEY, body text, embedding {column_type});"
                     "INSERT INTO notes VALUES (1, 'a note on tea')")
    profile = tmp_path / "notes.yaml"
    profile.write_text(ARRAY_PROFILE)
    result = cli(step, "--profile", profile, "--collection", "notes", "--json",
                 env={"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url})
    assert result.code == 2, result.out
    assert (f"profile key 'embeddings.vector' names column 'embedding', which is of type {column_type}; expected a "
            "pgvector column (vector, halfvec or sparsevec)") in result.json["error"], result.out
    assert empty_db.scalar("SELECT count(*) FROM notes WHERE embedding IS NOT NULL") == 0


def test_a_vector_key_naming_a_domain_over_vector_is_accepted(cli, empty_db, embed_server, tmp_path):
    empty_db.execute("CREATE DOMAIN embedding384 AS vector(384);"
                     "CREATE TABLE notes (id int PRIMARY KEY, body text, embedding embedding384);"
                     "INSERT INTO notes VALUES (1, 'a note on tea')")
    profile = tmp_path / "notes.yaml"
    profile.write_text(ARRAY_PROFILE)
    result = cli("scope", "--profile", profile, "--collection", "notes", "--json",
                 env={"DATABASE_URL": empty_db.dsn, "OLLAMA_HOST": embed_server.url})
    assert "pgvector column" not in result.out, result.out
