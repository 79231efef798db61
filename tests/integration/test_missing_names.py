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
