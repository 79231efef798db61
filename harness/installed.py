"""Folders shipped beside the package (pyproject's ``[tool.setuptools.data-files]``): the skill and the DONE checks.

The source checkout comes first (the source of truth while developing); a plain ``pip install`` puts a copy under
``<prefix>/share/backfill-harness/``, which is where an installed command finds them.
"""

from __future__ import annotations

import site
import sysconfig
from collections.abc import Sequence
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
DATA_SUBDIR = Path("share") / "backfill-harness"


def candidates(name: str) -> list[Path]:
    """Where folder ``name`` may be: the checkout's, then each install data root's."""
    roots = [sysconfig.get_path("data"), site.getuserbase()]
    return [CHECKOUT / name, *(Path(root) / DATA_SUBDIR / name for root in roots if root)]


def find(folders: Sequence[Path], required: Sequence[str]) -> Path | None:
    """The first of ``folders`` that holds every file of ``required``."""
    return next((f for f in folders if all((f / r).is_file() for r in required)), None)
