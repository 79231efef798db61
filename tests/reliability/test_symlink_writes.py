"""No file the harness writes follows a symlink planted out of its folder; each is replaced atomically."""

import os

import pytest

from harness import historylog
from harness.commands.skill import SKILL_NAME, SKILLS_FOLDER, install
from harness.errors import RefusedError
from harness.files import atomic_write_text
from harness.historylog import HistoryEntry


def test_skill_install_refuses_a_skill_md_linked_outside_the_repository(tmp_path):
    repo, outside = tmp_path / "repo", tmp_path / "outside.txt"
    dest = repo / SKILLS_FOLDER / SKILL_NAME
    dest.mkdir(parents=True)
    outside.write_text("precious")
    (dest / "SKILL.md").symlink_to(outside)
    with pytest.raises(RefusedError, match="symlink"):
        install(repo)
    assert outside.read_text() == "precious"


def test_skill_install_refuses_a_skills_folder_linked_outside(tmp_path):
    repo, elsewhere = tmp_path / "repo", tmp_path / "elsewhere"
    (repo / ".claude").mkdir(parents=True)
    elsewhere.mkdir()
    (repo / ".claude" / "skills").symlink_to(elsewhere)
    with pytest.raises(RefusedError, match="outside"):
        install(repo)
    assert list(elsewhere.iterdir()) == []


def test_skill_install_writes_plain_files(tmp_path):
    result = install(tmp_path)
    assert (tmp_path / SKILLS_FOLDER / SKILL_NAME / "SKILL.md").is_file() and "SKILL.md" in result.written
    assert not any(p.name.endswith(".tmp") for p in (tmp_path / SKILLS_FOLDER / SKILL_NAME).iterdir())


def test_a_file_linked_out_of_its_folder_is_refused_and_the_target_untouched(tmp_path):
    folder, outside = tmp_path / "run", tmp_path / "victim"
    folder.mkdir()
    outside.write_text("keep")
    (folder / "run.json").symlink_to(outside)
    with pytest.raises(RefusedError):
        atomic_write_text(folder / "run.json", "{}")
    assert outside.read_text() == "keep" and os.listdir(folder) == ["run.json"]


def test_run_refuses_a_planted_output_log_link(cli, demo_db, demo_profile, target_env, tmp_path):
    run_dir, outside = tmp_path / "run", tmp_path / "victim"
    run_dir.mkdir()
    outside.write_text("keep")
    (run_dir / "output.log").symlink_to(outside)
    result = cli("run", "--profile", demo_profile, "--collection", "tenant_globex", "--run-dir", run_dir,
                 "--command", "echo hi", env={**target_env, "DATABASE_URL": demo_db.dsn})
    assert result.code == 2 and "symlink" in result.err
    assert outside.read_text() == "keep"


def _entry(collection="c"):
    return HistoryEntry(when="2026-01-01T00:00:00Z", who="t", collection=collection, profile="p", model="m",
                        outcome="succeeded", exit_code=0, command="x")


def test_historylog_through_a_link_beside_it_reaches_the_real_log(tmp_path):
    real = tmp_path / "historylog.md"
    historylog.init(real)
    link = tmp_path / "current.md"
    link.symlink_to(real.name)
    historylog.append(link, _entry())
    assert link.is_symlink() and "succeeded" in real.read_text()
    assert historylog.verify(real).ok


def test_historylog_linked_out_of_its_folder_is_refused(tmp_path):
    (tmp_path / "a").mkdir()
    real = tmp_path / "real.md"
    historylog.init(real)
    before = real.read_text()
    (tmp_path / "a" / "historylog.md").symlink_to(real)
    with pytest.raises(RefusedError):
        historylog.append(tmp_path / "a" / "historylog.md", _entry())
    assert real.read_text() == before
