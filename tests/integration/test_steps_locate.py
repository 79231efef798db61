"""locate through the CLI on repos of both shapes: entrypoints with their commands and declared dimensions."""

import pytest

from ..conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "repos"


@pytest.mark.parametrize("repo, command, dims", [
    ("ts-monorepo", "npm run db:backfill-embeddings", [768]),
    ("py-backend", "make backfill-embeddings", [1536]),
])
def test_locate_finds_the_entrypoint_and_the_declared_dimensions(cli, repo, command, dims):
    result = cli("locate", "--repo", FIXTURES / repo, "--json")
    assert result.code == 0
    assert result.json["entrypoints"][0]["command"] == command
    assert result.json["declared_dimensions"] == dims


@pytest.mark.parametrize("repo", ["ts-monorepo", "py-backend"])
def test_text_and_json_carry_the_same_hits(cli, repo):
    text = cli("locate", "--repo", FIXTURES / repo).out
    data = cli("locate", "--repo", FIXTURES / repo, "--json").json
    for section in ("config", "service", "schema", "smoke"):
        for hit in data[section]:
            assert hit["path"] in text
    for entry in data["entrypoints"]:
        assert entry["command"] in text
    assert f"Declared vector dimensions: {', '.join(map(str, data['declared_dimensions']))}" in text


def test_profile_search_terms_and_term_flags_are_added(cli, tmp_path, demo_profile):
    (tmp_path / "search.py").write_text("TABLE = 'kb_vectors'\n")
    data = cli("locate", "--repo", tmp_path, "--profile", demo_profile, "--term", "kb_vectors", "--json").json
    assert "kb_vectors" in data["terms"] and [h["path"] for h in data["service"]] == ["search.py"]


def test_demo_app_schema_declares_384(cli):
    data = cli("locate", "--repo", REPO / "examples" / "ragapp", "--json").json
    assert data["declared_dimensions"] == [384] and data["schema"][0]["path"] == "schema.sql"


def test_a_missing_repo_exits_2(cli, tmp_path):
    result = cli("locate", "--repo", tmp_path / "nowhere")
    assert result.code == 2 and "not a folder" in result.err


def test_command_flag_prints_the_contract_of_one_command(cli):
    result = cli("locate", "--repo", FIXTURES / "ts-drizzle-pnpm", "--command", "pnpm run embeddings:backfill",
                 "--workdir", "packages/db", "--json")
    assert result.code == 0
    assert {"DATABASE_URL", "OLLAMA_URL", "EMBEDDING_MODEL"} <= set(result.json["reads_env"])


def test_command_flag_on_an_unreadable_command_says_contract_unknown_and_exits_1(cli):
    result = cli("locate", "--repo", FIXTURES / "py-sqlalchemy-dsn", "--command", "reembed-binary --all")
    assert result.code == 1 and "contract unknown: cannot read what 'reembed-binary' runs" in result.out


def test_text_shows_declarations_calls_docs_and_each_entrypoints_contract(cli):
    out = cli("locate", "--repo", FIXTURES / "ts-drizzle-pnpm").out
    assert "note_embeddings.embedding vector(768)  [drizzle]" in out
    assert "/api/embeddings [ollama-http] model nomic-embed-text from $EMBEDDING_MODEL" in out
    assert "Docs and plans (not code):" in out and ".planning/PHASE-2-embeddings.md" in out
    assert "or from the repository root: pnpm --filter @notes/db run embeddings:backfill" in out
    assert "contract: reads env" in out and "OLLAMA_URL" in out


def test_command_flag_says_a_command_that_never_exits(cli, tmp_path):
    (tmp_path / "package.json").write_text('{"scripts": {"dev": "next dev"}}\n')
    result = cli("locate", "--repo", tmp_path, "--command", "npm run dev")
    assert ("it starts a server (next dev, package.json:1) and never exits: run would wait for it until "
            "backfill.timeout_s") in result.out, result.out
