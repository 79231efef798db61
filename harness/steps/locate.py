"""Step 2, locate: find the target repo's embedding config, service code, schema, smoke checklist and entrypoints.

Files come from ``git ls-files`` in a git repo (tracked plus untracked-but-not-
ignored), else from a walk that skips vendored and virtualenv folders. One
compiled pattern scans each file once, so 10,000 files take well under a second.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import ConfigError

DEFAULT_TERMS = ("backfill_embeddings", "backfill-embeddings", "document_embeddings", "document_chunks",
                 "EMBED_MODEL", "MAX_CHUNK_SIZE")
SKIP_DIRS = frozenset({"node_modules", ".venv", "venv", "vendor", "dist", "build", ".git", "__pycache__",
                       "site-packages", ".tox", ".mypy_cache", ".pytest_cache", ".next", "target"})
MAX_BYTES = 1_000_000
CONFIG_SUFFIXES = (".env", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".properties")
CODE_SUFFIXES = (".py", ".ts", ".tsx", ".js", ".mjs", ".cjs", ".go", ".rb", ".java", ".kt", ".rs", ".sh")
_VECTOR_DIM = re.compile(rb"\bvector\s*\(\s*(?:['\"][^'\"]*['\"]\s*,\s*\{[^}]*?dimensions\s*:\s*)?(\d+)", re.I)
_DRIZZLE_DIM = re.compile(rb"\bdimensions\s*:\s*(\d+)")
_MAIN = re.compile(rb"""if\s+__name__\s*==\s*['"]__main__['"]""")
_MAKE_TARGET = re.compile(r"^([A-Za-z0-9_.:/-]+?)\s*:(?!=)(.*)$")
_BACKFILLISH = re.compile(r"backfill|embed", re.I)
CATEGORIES = ("config", "service", "schema", "smoke", "entrypoints")


@dataclass(frozen=True)
class FileHits:
    path: str
    category: str
    terms: tuple[str, ...]
    lines: tuple[int, ...]
    dimensions: tuple[int, ...] = ()

    @property
    def score(self) -> int:
        return len(self.terms) * 10 + len(self.lines)


@dataclass(frozen=True)
class Entrypoint:
    path: str
    kind: str  # python-script / python-module / npm-script / make-target / script
    name: str
    command: str
    workdir: str = "."

    @property
    def score(self) -> int:
        text = f"{self.name} {self.path}".lower()
        return (("backfill" in text) * 4 + ("embed" in text) * 2
                + {"npm-script": 2, "make-target": 2, "python-module": 1}.get(self.kind, 0))


@dataclass(frozen=True)
class LocateResult:
    repo: str
    file_source: str  # git / walk
    files_scanned: int
    terms: tuple[str, ...]
    config: tuple[FileHits, ...]
    service: tuple[FileHits, ...]
    schema: tuple[FileHits, ...]
    smoke: tuple[FileHits, ...]
    entrypoints: tuple[Entrypoint, ...]
    seconds: float

    @property
    def declared_dimensions(self) -> tuple[int, ...]:
        return tuple(sorted({d for s in self.schema for d in s.dimensions}))

    @property
    def best_entrypoint(self) -> Entrypoint | None:
        return self.entrypoints[0] if self.entrypoints else None

    def as_dict(self) -> dict[str, Any]:
        def hits(items):
            return [{"path": h.path, "terms": list(h.terms), "lines": list(h.lines), "dimensions": list(h.dimensions)}
                    for h in items]
        return {
            "repo": self.repo, "file_source": self.file_source, "files_scanned": self.files_scanned,
            "terms": list(self.terms), "seconds": round(self.seconds, 3),
            "config": hits(self.config), "service": hits(self.service), "schema": hits(self.schema),
            "smoke": hits(self.smoke), "declared_dimensions": list(self.declared_dimensions),
            "entrypoints": [e.__dict__ for e in self.entrypoints],
        }

    def text(self) -> str:
        lines = [f"Located in {self.repo}: {self.files_scanned} files ({self.file_source}) in {self.seconds:.2f} s"]
        sections = (("Embedding config/env", self.config), ("Embedding service code", self.service),
                    ("DB schema", self.schema), ("Smoke checklist", self.smoke))
        for title, items in sections:
            lines.append(f"{title}:" + ("" if items else " none found"))
            for h in items:
                dims = f"  declares vector({', '.join(map(str, h.dimensions))})" if h.dimensions else ""
                lines.append(f"  {h.path}:{','.join(map(str, h.lines[:5]))}  [{', '.join(h.terms)}]{dims}")
        lines.append("Backfill entrypoints:" + ("" if self.entrypoints else " none found"))
        for e in self.entrypoints:
            where = f"  (in {e.workdir})" if e.workdir not in (".", "") else ""
            lines.append(f"  {e.command}{where}  <- {e.path} ({e.kind})")
        if self.declared_dimensions:
            lines.append(f"Declared vector dimensions: {', '.join(map(str, self.declared_dimensions))}")
        return "\n".join(lines)


def list_files(repo: Path) -> tuple[list[str], str]:
    """Relative paths of the repo's files, and whether git or a walk listed them."""
    if (repo / ".git").exists() or _inside_git(repo):
        try:
            out = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                 capture_output=True, timeout=30, check=True).stdout
            files = [f for f in out.decode("utf-8", "surrogateescape").split("\0") if f]
            return [f for f in dict.fromkeys(files) if not SKIP_DIRS.intersection(PurePosixPath(f).parts[:-1])], "git"
        except (OSError, subprocess.SubprocessError):
            pass
    found: list[str] = []
    for root, dirs, names in os.walk(repo):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        rel = os.path.relpath(root, repo)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        found.extend(prefix + n for n in names)
    return found, "walk"


def _inside_git(repo: Path) -> bool:
    try:
        return subprocess.run(["git", "-C", str(repo), "rev-parse", "--is-inside-work-tree"], capture_output=True,
                              timeout=10).stdout.strip() == b"true"
    except (OSError, subprocess.SubprocessError):
        return False


def locate(repo: str | Path, terms: tuple[str, ...] | list[str] = ()) -> LocateResult:
    """Scan a repo for the search terms and rank what it finds."""
    started = time.perf_counter()
    root = Path(repo)
    if not root.is_dir():
        raise ConfigError(f"--repo {str(repo)!r} is not a folder; expected the target application's repository")
    all_terms = tuple(dict.fromkeys([*DEFAULT_TERMS, *terms]))
    pattern = re.compile(b"|".join(re.escape(t.encode()) for t in all_terms))
    files, source = list_files(root)
    by_cat: dict[str, list[FileHits]] = {c: [] for c in CATEGORIES}
    entrypoints: list[Entrypoint] = []
    for rel in files:
        path = root / rel
        name = PurePosixPath(rel).name
        try:
            if path.stat().st_size > MAX_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if b"\0" in data[:1024]:
            continue
        if name == "package.json":
            entrypoints.extend(_npm_scripts(rel, data, all_terms))
        elif name in ("Makefile", "makefile", "GNUmakefile") or name.endswith(".mk"):
            entrypoints.extend(_make_targets(rel, data, all_terms))
        found = pattern.findall(data)
        dims = _dimensions(data) if _schema_like(rel, data) else ()
        script = _script_entrypoint(root, rel, data)
        if script:
            entrypoints.append(script)
        if (not found and not dims) or name == "package.json" or name in ("Makefile", "makefile", "GNUmakefile"):
            continue
        line_numbers = _line_numbers(data, pattern)
        terms_found = tuple(sorted({f.decode() for f in found}))
        category = _category(rel, data, dims)
        by_cat[category].append(FileHits(rel, category, terms_found, line_numbers, dims))
    for items in by_cat.values():
        items.sort(key=lambda h: (-h.score, h.path))
    ranked = sorted(dict.fromkeys(entrypoints), key=lambda e: (-e.score, e.command))
    return LocateResult(str(root), source, len(files), all_terms, tuple(by_cat["config"]), tuple(by_cat["service"]),
                        tuple(by_cat["schema"]), tuple(by_cat["smoke"]), tuple(ranked), time.perf_counter() - started)


def _line_numbers(data: bytes, pattern: re.Pattern[bytes]) -> tuple[int, ...]:
    lines = []
    for m in pattern.finditer(data):
        number = data.count(b"\n", 0, m.start()) + 1
        if not lines or lines[-1] != number:
            lines.append(number)
        if len(lines) >= 20:
            break
    return tuple(lines)


def _schema_like(rel: str, data: bytes) -> bool:
    low = rel.lower()
    return (low.endswith(".sql") or any(w in low for w in ("migration", "alembic", "schema", "drizzle", "models"))
            or b"vector(" in data.lower() or b"Vector(" in data)


def _dimensions(data: bytes) -> tuple[int, ...]:
    found = {int(m.group(1)) for m in _VECTOR_DIM.finditer(data)}
    if b"vector(" in data:  # Drizzle: vector('embedding', { dimensions: 768 })
        found |= {int(m.group(1)) for m in _DRIZZLE_DIM.finditer(data)}
    return tuple(sorted(d for d in found if 0 < d <= 65535))


def _category(rel: str, data: bytes, dims: tuple[int, ...]) -> str:
    low = rel.lower()
    name = PurePosixPath(low).name
    if low.endswith((".md", ".markdown", ".txt", ".rst")):
        return "smoke" if ("smoke" in low or "checklist" in low or b"- [ ]" in data) else "service"
    if dims or low.endswith(".sql") or any(w in low for w in ("migration", "alembic", "drizzle", "schema")):
        return "schema"
    if name.startswith(".env") or name.endswith(CONFIG_SUFFIXES) or "config" in name or "settings" in name:
        return "config"
    return "service"


def _script_entrypoint(root: Path, rel: str, data: bytes) -> Entrypoint | None:
    p = PurePosixPath(rel)
    if p.suffix == ".py" and _MAIN.search(data) or p.name == "__main__.py":
        if not _BACKFILLISH.search(rel) and not _BACKFILLISH.search(p.parent.name):
            return None
        module = _module_name(root, p)
        if module:
            return Entrypoint(rel, "python-module", module, f"python -m {module}")
        return Entrypoint(rel, "python-script", p.stem, f"python {rel}")
    if p.suffix in (".ts", ".js", ".mjs", ".sh") and "backfill" in p.name.lower() and "test" not in p.name.lower():
        runner = {"ts": "npx tsx", "sh": "sh"}.get(p.suffix[1:], "node")
        return Entrypoint(rel, "script", p.stem, f"{runner} {rel}")
    return None


def _module_name(root: Path, p: PurePosixPath) -> str | None:
    """Dotted module path when the file sits in a package (folders with __init__.py up to the repo root)."""
    parts = list(p.parent.parts)
    if not parts or not (root / p.parent / "__init__.py").exists():
        return None
    start = len(parts)
    while start > 0 and (root / Path(*parts[:start]) / "__init__.py").exists():
        start -= 1
    package = parts[start:]
    if not package:
        return None
    return ".".join(package if p.name == "__main__.py" else [*package, p.stem])


def _npm_scripts(rel: str, data: bytes, terms: tuple[str, ...]) -> list[Entrypoint]:
    try:
        scripts = json.loads(data).get("scripts") or {}
    except (ValueError, AttributeError):
        return []
    workdir = str(PurePosixPath(rel).parent)
    found = []
    for name, body in scripts.items() if isinstance(scripts, dict) else ():
        text = f"{name} {body}"
        if _BACKFILLISH.search(text) or any(t in text for t in terms):
            command = f"npm run {name}" if workdir == "." else f"npm run {name} --workspace {workdir}"
            found.append(Entrypoint(rel, "npm-script", name, command, workdir))
    return found


def _make_targets(rel: str, data: bytes, terms: tuple[str, ...]) -> list[Entrypoint]:
    text = data.decode("utf-8", "replace")
    workdir = str(PurePosixPath(rel).parent)
    found, current, recipe = [], None, []

    def flush():
        if current and (_BACKFILLISH.search(current) or any(_BACKFILLISH.search(r) or any(t in r for t in terms)
                                                              for r in recipe)):
            command = f"make {current}" if workdir == "." else f"make -C {workdir} {current}"
            found.append(Entrypoint(rel, "make-target", current, command, workdir))

    for line in text.splitlines():
        if line.startswith("\t"):
            recipe.append(line)
            continue
        m = _MAKE_TARGET.match(line)
        if m and not line.startswith((".", "#")) and "=" not in m.group(1):
            flush()
            current, recipe = m.group(1), []
    flush()
    return found
