"""`backfill-harness skill install DIR` puts the skill where an agent working in DIR finds it."""

from pathlib import Path

import pytest

from harness.commands.skill import SKILL_FILES, install, skill_source

from ..skill_docs import SKILL_DIR


def test_install_copies_every_skill_file_into_the_agent_skills_folder(tmp_path, cli):
    result = cli("skill", "install", tmp_path)
    assert result.code == 0, result.err
    dest = tmp_path / ".claude" / "skills" / "embedding-backfill"
    for name in SKILL_FILES:
        assert (dest / name).read_bytes() == (SKILL_DIR / name).read_bytes()


def test_install_json_names_the_folder_and_the_files_written(tmp_path, cli):
    result = cli("skill", "install", tmp_path, "--json")
    assert result.code == 0
    assert result.json["path"] == str(tmp_path / ".claude" / "skills" / "embedding-backfill")
    assert sorted(result.json["written"]) == sorted(SKILL_FILES)


def test_second_install_writes_nothing_when_up_to_date(tmp_path, cli):
    cli("skill", "install", tmp_path)
    result = cli("skill", "install", tmp_path, "--json")
    assert result.json["written"] == [] and sorted(result.json["unchanged"]) == sorted(SKILL_FILES)


def test_install_replaces_an_outdated_copy(tmp_path):
    install(tmp_path)
    stale = tmp_path / ".claude" / "skills" / "embedding-backfill" / "SKILL.md"
    stale.write_text("old version")
    result = install(tmp_path)
    assert result.written == ("SKILL.md",) and stale.read_bytes() == (SKILL_DIR / "SKILL.md").read_bytes()


def test_install_into_a_missing_folder_is_a_one_line_error_with_exit_2(tmp_path, cli):
    result = cli("skill", "install", tmp_path / "nope")
    assert result.code == 2
    assert "nope" in result.err and "expected the target repository's root" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert not (tmp_path / "nope").exists()


def test_source_falls_back_to_the_installed_data_folder(tmp_path):
    data = tmp_path / "share" / "backfill-harness" / "skill"
    for name in SKILL_FILES:
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_text(name)
    assert skill_source([tmp_path / "no-checkout", data]) == data


def test_source_missing_everywhere_names_the_places_looked(tmp_path):
    from harness.errors import ConfigError

    with pytest.raises(ConfigError, match="no-checkout"):
        skill_source([tmp_path / "no-checkout"])


@pytest.mark.slow
def test_a_plain_pip_install_carries_the_skill_and_installs_it(tmp_path):
    """Not editable: the wheel holds the skill as data, and the installed command finds it there."""
    import os
    import subprocess
    import sys
    import sysconfig

    from ..skill_docs import REPO

    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", str(REPO), "-w", str(tmp_path / "dist")], check=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # Without PYTHONPATH: a checkout on it would stand in for the installed package (pip would skip the wheel).
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([venv / "bin" / "python", "-m", "pip", "-q", "install", "--no-deps", "--no-index", str(wheel)],
                   check=True, timeout=300, env=clean)
    # The dependencies come from this environment's site-packages; a plain path line loads no editable finder.
    (site,) = (venv / "lib").glob("python3*/site-packages")
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    repo = tmp_path / "target"
    repo.mkdir()
    proc = subprocess.run([venv / "bin" / "backfill-harness", "skill", "install", str(repo), "--json"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, env=clean)
    assert proc.returncode == 0, proc.stderr
    assert str(venv) in proc.stdout
    installed = repo / ".claude" / "skills" / "embedding-backfill" / "SKILL.md"
    assert installed.read_bytes() == (REPO / "skill" / "SKILL.md").read_bytes()
    # verify runs the DONE checks' pytest face: the installed copy, every file of it.
    found = subprocess.run([venv / "bin" / "python", "-c", "from harness.steps.verify import CHECKS_DIR; print(CHECKS_DIR)"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True, env=clean).stdout.strip()
    assert found.startswith(str(venv)), found
    assert sorted(p.name for p in Path(found).glob("*.py")) == sorted(p.name for p in (REPO / "checks").glob("*.py"))
