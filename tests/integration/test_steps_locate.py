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
