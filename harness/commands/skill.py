"""``backfill-harness skill install DIR``: put the agent skill where an agent working in DIR finds it."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from .. import files, installed
from ..errors import ConfigError

SKILL_NAME = "embedding-backfill"
SKILLS_FOLDER = Path(".claude") / "skills"
SKILL_FILES = ("SKILL.md", "EXAMPLES.md", "scripts/demo_stack.py")


@dataclass(frozen=True)
class Installed:
    skill: str
    path: Path
    source: Path
    written: tuple[str, ...]
    unchanged: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"skill": self.skill, "path": str(self.path), "source": str(self.source),
                "written": list(self.written), "unchanged": list(self.unchanged)}

    def text(self) -> str:
        changed = ", ".join(self.written) or "nothing (already up to date)"
        return f"installed skill {self.skill} into {self.path}: wrote {changed}"


def candidate_sources() -> list[Path]:
    """Where the skill's files may be: the source checkout first (the source of truth), then installed data."""
    return installed.candidates("skill")


def skill_source(candidates: list[Path] | None = None) -> Path:
    """The first folder that holds every skill file."""
    candidates = candidate_sources() if candidates is None else candidates
    if (found := installed.find(candidates, SKILL_FILES)) is not None:
        return found
    raise ConfigError("the skill's files are not installed; expected SKILL.md in one of: "
                      + ", ".join(str(c) for c in candidates))


def install(repo: Path, source: Path | None = None) -> Installed:
    """Copy the skill into REPO/.claude/skills/embedding-backfill/, replacing older copies of its files."""
    if not repo.is_dir():
        raise ConfigError(f"{str(repo)!r} is not a folder; expected the target repository's root")
    source = source or skill_source()
    dest = repo / SKILLS_FOLDER / SKILL_NAME
    written, unchanged = [], []
    for name in SKILL_FILES:
        target = dest / name
        # A link planted in the repository (SKILL.md, .claude/skills) must not carry the write outside it.
        files.make_folder(target.parent, repo)
        data = (source / name).read_bytes()
        if target.is_file() and files.contained(target, repo).read_bytes() == data:
            unchanged.append(name)
            continue
        files.atomic_write_bytes(target, data, root=repo)
        written.append(name)
    return Installed(SKILL_NAME, dest, source, tuple(written), tuple(unchanged))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("skill", help="the agent skill (SKILL.md) for this procedure",
                       description="Manage the embedding-backfill agent skill.")
    actions = p.add_subparsers(dest="skill_command", metavar="ACTION")
    actions.required = True
    inst = actions.add_parser("install", help="copy the skill into DIR/.claude/skills/embedding-backfill/",
                              description="Copy SKILL.md, EXAMPLES.md and scripts/ into DIR/.claude/skills/embedding-backfill/.")
    inst.add_argument("dir", metavar="DIR", type=Path, help="the target repository's root")
    inst.add_argument("--json", action="store_true", help="print one JSON document (for agents) instead of text")
    inst.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..output import emit

    result = install(args.dir)
    emit(result, args.json, result.text())
    return 0
