"""Alembic's revision chain: the order of revisions whose names do not say it (`alembic revision` names each by a
random hash; its place is its ``down_revision``), so a later revision supersedes what an earlier one declared."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import PurePosixPath
from typing import cast

# `revision = "ae1027a6acf"`, `revision: str = '...'`; `down_revision: Union[str, None] = None`, a tuple for a merge
_ASSIGN = re.compile(r"""(?m)^(?P<name>revision|down_revision)\s*(?::[^=\n]+)?=\s*(?P<value>[^\n#]+)""")


@dataclass(frozen=True)
class Revision:
    revision: str
    down: tuple[str, ...]  # none for the first revision, two or more for a merge


@dataclass(frozen=True)
class Place:
    """A revision's place in a chain that may branch: it runs after its ancestors alone (two heads' revisions, which
    `alembic upgrade heads` both applies, come in no order to each other)."""
    revision: str
    ancestors: frozenset[str]  # a merge's: those of every revision it merges

    def before(self, other: Place) -> bool:
        return self.revision in other.ancestors


def versions_folder(path: str) -> str | None:
    """The revisions folder of a file in Alembic's ``<alembic|migrations>/versions/``, or in a folder under it
    (``recursive_version_locations``: ``versions/2024_01/x.py`` is of the same chain); None for any other file."""
    parts = PurePosixPath(path).parts
    for i in range(len(parts) - 2, 0, -1):
        if parts[i] == "versions" and re.search(r"alembic|migrations?$", parts[i - 1]):
            return "/".join(parts[:i + 1])
    return None


def names_a_revision(text: str) -> bool:
    """Whether a file of a versions folder assigns a module-level ``revision``: a package's ``__init__.py`` or a helper
    module there is no revision, and leaves the chain's order to the files that are."""
    return any(m.group("name") == "revision" for m in _ASSIGN.finditer(text))


def revision_of(text: str) -> Revision | None:
    """The revision a file's module-level ``revision`` and ``down_revision`` name; None where either is not literal."""
    found: dict[str, str | ast.expr] = {m.group("name"): m.group("value").strip() for m in _ASSIGN.finditer(text)}
    try:  # the module's own assignments: a value over several lines (black splits a merge's long tuple) is read whole
        found.update(_module_assignments(ast.parse(text)))
    except (SyntaxError, ValueError):
        pass  # a file Python cannot parse: its one-line assignments
    try:
        revision = ast.literal_eval(found["revision"])
        down = ast.literal_eval(found["down_revision"])
    except (KeyError, ValueError, SyntaxError, TypeError):
        return None
    downs = (down,) if isinstance(down, str) else tuple(down) if isinstance(down, (tuple, list)) else ()
    if not isinstance(revision, str) or down is not None and not downs or not all(isinstance(d, str) for d in downs):
        return None
    return Revision(revision, downs)


def _module_assignments(tree: ast.Module) -> dict[str, ast.expr]:
    """The values a module assigns to ``revision`` and ``down_revision`` at its top level (annotated or not)."""
    out: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            out[target.id] = value
    return out


def chain_order(revisions: Mapping[str, Revision | None]) -> dict[str, tuple[str, Place]]:
    """path -> (its versions folder, its place in the chain) for each folder whose files all name their place in one
    chain; any other folder (a file unread, a parent missing) is left to names."""
    folders: dict[str, dict[str, Revision | None]] = {}
    for path, rev in revisions.items():
        folder = versions_folder(path)
        if folder is not None:
            folders.setdefault(folder, {})[path] = rev
    out: dict[str, tuple[str, Place]] = {}
    for folder, files in folders.items():
        if any(rev is None for rev in files.values()):
            continue
        by_id = {rev.revision: rev for rev in files.values() if rev is not None}
        # a parent outside the folder starts the chain here
        parents = {rid: [p for p in rev.down if p in by_id] for rid, rev in by_id.items()}
        try:
            ids = list(TopologicalSorter(parents).static_order())
        except CycleError:  # Alembic itself refuses such a chain: no order to read
            continue
        if sum(not p for p in parents.values()) != 1:
            continue  # revisions whose parents are missing (a partial checkout): their places are not all known
        places: dict[str, Place] = {}
        for rid in ids:
            places[rid] = Place(rid, frozenset(parents[rid]).union(*(places[p].ancestors for p in parents[rid])))
        for path, rev in files.items():
            out[path] = (folder, places[cast(Revision, rev).revision])
    return out


__all__ = ["Place", "Revision", "versions_folder", "names_a_revision", "revision_of", "chain_order"]
