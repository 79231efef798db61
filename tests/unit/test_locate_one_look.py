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
