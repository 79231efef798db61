"""``files.one_look``: within one locate each folder is listed once, and what it says of a path is what pathlib says."""

import os
from pathlib import Path

from harness.locate import files


def kinds(paths: list[Path]) -> list[tuple[bool, bool, bool]]:
    return [(files.is_file(p), files.is_dir(p), files.exists(p)) for p in paths]


def test_within_one_look_files_folders_links_and_absent_paths_are_what_pathlib_says(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("x = 1\n")
    os.symlink(tmp_path / "pkg" / "mod.py", tmp_path / "pkg" / "linked.py")
    os.symlink(tmp_path / "pkg" / "gone.py", tmp_path / "pkg" / "broken.py")
    os.symlink(tmp_path / "pkg", tmp_path / "alias")
    paths = [tmp_path / "pkg", tmp_path / "pkg" / "mod.py", tmp_path / "pkg" / "linked.py", tmp_path / "pkg" / "broken.py",
             tmp_path / "alias", tmp_path / "alias" / "mod.py", tmp_path / "pkg" / ".." / "pkg" / "mod.py",
             tmp_path / "absent" / "mod.py", tmp_path / "pkg" / "mod.py" / "inside"]
    expected = [(p.is_file(), p.is_dir(), p.exists()) for p in paths]
    with files.one_look():
        assert kinds(paths) == expected


def test_a_folder_is_listed_once_within_a_look_and_afresh_outside_it(tmp_path):
    later = tmp_path / "later.py"
    with files.one_look():
        assert not files.is_file(later)
        later.write_text("y = 2\n")
        assert not files.is_file(later)  # the tree is taken as it was at its first listing
    assert files.is_file(later)
    with files.one_look():
        assert files.is_file(later)


def test_a_files_contract_is_read_once_within_a_look_and_afresh_in_the_next(tmp_path):
    from harness import redact
    from harness.locate.contract import read_contract

    text = 'import os\nKEY = os.environ.get("EMBED_TOKEN", "tok-one-look-4f9a2c")\n'
    with files.one_look():
        first = read_contract("embed.py", text)
        assert read_contract("embed.py", text) is first
    assert ("EMBED_TOKEN", "tok-one-look-4f9a2c") in first.env_defaults
    # a secret the process learns after one locate is masked in the next: a kept result would show it
    redact.register("tok-one-look-4f9a2c")
    with files.one_look():
        assert "tok-one-look-4f9a2c" not in repr(read_contract("embed.py", text).env_defaults)



def test_a_repositorys_many_commands_glob_its_src_folders_once_within_a_look(tmp_path, monkeypatch):
    # each Django command's contract globbed the whole tree for src folders again (OWASP Nest's 75 commands)
    from harness.locate import contract
    from harness.steps.locate import locate

    commands = tmp_path / "app" / "management" / "commands"
    commands.mkdir(parents=True)
    (tmp_path / "manage.py").write_text("import django\n")
    for folder in (tmp_path / "app", tmp_path / "app" / "management", commands):
        (folder / "__init__.py").write_text("")
    for i in range(5):
        (commands / f"sync{i}.py").write_text("from django.core.management.base import BaseCommand\n\n\n"
                                              "class Command(BaseCommand):\n    def handle(self):\n        pass\n")
    globbed = []
    src_roots = contract.python_src_roots
    monkeypatch.setattr(contract, "python_src_roots", lambda root: globbed.append(root) or src_roots(root))
    locate(tmp_path)
    assert len(globbed) == 1
