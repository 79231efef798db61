"""Every file the harness writes: never half-written, never through a symlink that leads out of its folder.

A write goes to a temporary file in the same folder, is fsynced, then renamed over the target
(one ``os.replace``). Before that, the target's real path (links resolved) must stay inside the folder
it is written in (``root``, default the file's own folder): a link planted there pointing elsewhere is
refused, a link to a file beside it is followed (the link stays, the file it names is replaced).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from .errors import RefusedError


def contained(path: str | Path, root: str | Path | None = None) -> Path:
    """The real path to write for ``path``; RefusedError when a symlink on the way leads out of ``root``."""
    path = Path(path)
    root = Path(root) if root is not None else path.parent
    real_root, real = os.path.realpath(root), os.path.realpath(path)
    if os.path.commonpath([real_root, real]) != real_root:
        raise RefusedError(f"refusing to write {path}: a symlink leads it to {real}, outside {root}; expected a plain "
                           "file or folder there (the harness never writes through a link out of its folder)")
    return Path(real)


def make_folder(path: str | Path, root: str | Path) -> Path:
    """Create ``path`` (and its parents) inside ``root``, refusing any symlink on the way that leads out of it."""
    contained(path, root)
    Path(path).mkdir(parents=True, exist_ok=True)
    return contained(path, root)


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_open(path: str | Path, *, root: str | Path | None = None, binary: bool = False) -> Iterator[IO]:
    """A handle on a temporary file that replaces ``path`` when the block ends without an error (else vanishes)."""
    real = contained(path, root)
    fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8")) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, real.stat().st_mode & 0o777 if real.exists() else _new_file_mode())
        contained(path, root)  # again: a link planted while the file was written is refused too
        os.replace(tmp, real)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str, *, root: str | Path | None = None) -> None:
    """Replace path's content with text atomically, keeping an existing file's permissions; OSError on failure."""
    with atomic_open(path, root=root) as handle:
        handle.write(text)


def atomic_write_bytes(path: str | Path, data: bytes, *, root: str | Path | None = None) -> None:
    with atomic_open(path, root=root, binary=True) as handle:
        handle.write(data)
