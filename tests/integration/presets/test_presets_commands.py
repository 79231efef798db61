"""Every command takes a preset by name or ``preset:NAME``; a folder of that name in the working directory does not hide it."""

import json

import pytest

from harness.errors import ConfigError
from harness.profile import load_profile

pytestmark = pytest.mark.slow  # each test builds a store with the library

PROFILE_ERRORS = ("neither a file nor a preset", "Is a directory", "is not a file", "does not exist")


@pytest.fixture
def cwd_with_preset_named_folders(tmp_path, monkeypatch):
    for name in ("langchain", "llamaindex", "pgai"):
        (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def accepted(result):
    """The command read the preset: no word about the profile being unreadable; its JSON document when it printed one."""
    text = result.out + result.err
    assert not any(e in text for e in PROFILE_ERRORS), text
    assert result.code in (0, 1, 2), text
    return json.loads(result.out) if result.out.strip() else {"error": result.err}


@pytest.mark.parametrize("spelling", ["langchain", "preset:langchain"])
def test_scope_reads_the_store_through_a_preset(spelling, langchain_store, cli, cwd_with_preset_named_folders):
    result = cli("scope", "--profile", spelling, "--collection", "licenses", "--json", env=langchain_store.env)
    assert accepted(result)["counts"]["chunks"] == 12


def test_backfill_dry_run_finds_nothing_to_do_on_a_healthy_llamaindex_store(llamaindex_store, cli,
                                                                            cwd_with_preset_named_folders):
    result = cli("backfill", "--profile", "llamaindex", "--collection", "licenses", "--dry-run", "--json",
                 env=llamaindex_store.env)
    assert result.code == 0, result.out + result.err
    assert accepted(result)["before"]["needed"] == 0


def test_every_command_accepts_the_pgai_preset(pgai_store, cli, cwd_with_preset_named_folders):
    run_dir = cwd_with_preset_named_folders / "run"
    env = pgai_store.env
    common = ("--profile", "pgai", "--collection", "blog")
    for args in (("scope", *common), ("plan", *common, "--run-dir", run_dir), ("run", *common, "--engine", "--run-dir", run_dir),
                 ("swap", "--profile", "preset:pgai", "--to", "blog", "--rollback")):
        accepted(cli(*args, "--json", env=env))
    # procedure runs scope, plan, run and verify (pytest checks/ with the preset, in a subprocess) itself: one call
    # proves verify reads the preset too, and that the whole procedure is DONE on a pgai store
    result = cli("procedure", *common, "--engine", "--historylog", run_dir / "historylog.md", "--json", env=env)
    assert result.code == 0 and accepted(result)["ok"], result.out


def test_an_unknown_preset_and_a_folder_are_refused_naming_them(cwd_with_preset_named_folders):
    with pytest.raises(ConfigError, match="'preset:haystack' names no preset; expected one of: langchain, llamaindex, pgai"):
        load_profile("preset:haystack", env={})
    (cwd_with_preset_named_folders / "mine").mkdir()
    with pytest.raises(ConfigError, match="'mine' is not a file: neither a file nor a preset"):
        load_profile("mine", env={})


@pytest.mark.parametrize("preset, variable", [("llamaindex", "LLAMAINDEX_TABLE"), ("pgai", "PGAI_SOURCE")])
def test_a_missing_preset_variable_is_named(preset, variable):
    with pytest.raises(ConfigError, match=f"needs environment variable {variable}, which is not set"):
        load_profile(preset, env={})


@pytest.mark.parametrize("env, store", [
    ({"PGAI_SOURCE": "blog"}, "blog_embedding_store"),
    ({"PGAI_SOURCE": "blog", "PGAI_DESTINATION": "blog_embeddings"}, "blog_embeddings_store"),
    ({"PGAI_SOURCE": "blog", "PGAI_DESTINATION": "x", "PGAI_STORE": "custom_target"}, "custom_target"),
])
def test_pgai_store_follows_pgais_destination_naming(env, store):
    assert load_profile("pgai", env=env).chunks.table == store
