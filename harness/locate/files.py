"""Which files of a repository locate reads, and what kind of file each is (code, config, docs, smoke)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar, cast

T = TypeVar("T")

SKIP_DIRS = frozenset({"node_modules", ".venv", "venv", "vendor", "dist", "build", ".git", "__pycache__",
                       "site-packages", ".tox", ".mypy_cache", ".pytest_cache", ".next", "target", ".yarn",
                       "bower_components", ".turbo", ".nuxt", ".svelte-kit", ".output", ".vercel", ".cache",
                       "third_party", "coverage", ".pnpm-store", ".ruff_cache"})
# Our own skill, once installed into the target, must not be read as the target's code or checklist.
IGNORED_PREFIXES = (".claude/skills/embedding-backfill/",)
# What backfill-harness itself writes into the target (the drafted profile, the historylog), known by its first
# lines: never the application's configuration, settings or docs.
DRAFT_HEADER = "Draft written by `backfill-harness profile init`: review every guess; replace every TODO."
OURS_MARKERS = (DRAFT_HEADER.encode(), b"<!-- historylog head=")
MAX_BYTES = 1_000_000
DOC_SUFFIXES = (".md", ".markdown", ".mdx", ".rst", ".txt", ".adoc", ".ipynb", ".org")
# Plans, research notes and documentation: never code or schema, whatever they declare.
# Translation catalogs too: UI strings in every language, which name settings (OLLAMA_ORIGINS) but run nothing.
DOC_DIRS = frozenset({"docs", "doc", ".planning", "planning", "plans", "research", "notes", "adr", "adrs", "rfcs",
                      "documentation", "wiki", ".github", "locales", "locale", "i18n", "l10n", "translations"})
CONFIG_SUFFIXES = (".env", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".properties")
CODE_SUFFIXES = (".py", ".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs", ".go", ".rb", ".java", ".kt",
                 ".rs", ".sh", ".sql", ".prisma", ".php", ".cs", ".ex", ".exs", ".rake")
MAKEFILES = frozenset({"Makefile", "makefile", "GNUmakefile"})


def list_files(repo: Path) -> tuple[list[str], str]:
    """Relative paths of the repo's files, and whether git or a walk listed them."""
    if (repo / ".git").exists() or _inside_git(repo):
        try:
            out = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                 capture_output=True, timeout=30, check=True).stdout
            files = [f for f in out.decode("utf-8", "surrogateescape").split("\0") if f]
            return [f for f in dict.fromkeys(files) if keep(f)], "git"
        except (OSError, subprocess.SubprocessError):
            pass
    found: list[str] = []
    for root, dirs, names in os.walk(repo):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        rel = os.path.relpath(root, repo)
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        found.extend(prefix + n for n in names if keep(prefix + n))
    return found, "walk"


def keep(rel: str) -> bool:
    """False for vendored folders and the installed skill."""
    return ("/" not in rel or not SKIP_DIRS.intersection(rel.split("/")[:-1])) and not rel.startswith(IGNORED_PREFIXES)


def _inside_git(repo: Path) -> bool:
    try:
        return subprocess.run(["git", "-C", str(repo), "rev-parse", "--is-inside-work-tree"], capture_output=True,
                              timeout=10).stdout.strip() == b"true"
    except (OSError, subprocess.SubprocessError):
        return False


@dataclass
class _Look:
    folders: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> "d" a folder, "f" a file, "" else
    found: dict[Hashable, Any] = field(default_factory=dict)  # ``once``'s results


_LOOK: ContextVar[_Look | None] = ContextVar("look", default=None)


@contextmanager
def one_look() -> Iterator[None]:
    """Within it, each folder is listed once and each ``once`` computed once: one locate follows every command through
    the same modules of a tree that does not change under it (khoj's four commands read 39 files 107 times, and asked
    30,000 times whether a path was a file)."""
    token = _LOOK.set(_Look())
    try:
        yield
    finally:
        _LOOK.reset(token)


def once(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, within ``one_look`` kept under ``key`` for the rest of the look (never longer: what a file says
    may be masked by secrets registered later)."""
    look = _LOOK.get()
    if look is None:
        return compute()
    if key not in look.found:
        look.found[key] = compute()
    return cast(T, look.found[key])


def _entries(folder: str, look: _Look) -> dict[str, str]:
    if folder not in look.folders:
        try:
            with os.scandir(folder) as it:  # links followed, as Path.is_file and is_dir follow them
                look.folders[folder] = {e.name: "d" if e.is_dir() else "f" if e.is_file() else "" for e in it}
        except OSError:
            look.folders[folder] = {}
    return look.folders[folder]


def is_file(path: Path) -> bool:
    """``path.is_file()``, from one listing of its folder within ``one_look``."""
    look = _LOOK.get()
    if look is None:
        return path.is_file()
    return _entries(str(path.parent), look).get(path.name) == "f"


def is_dir(path: Path) -> bool:
    """``path.is_dir()``, from one listing of its folder within ``one_look``."""
    look = _LOOK.get()
    if look is None or path.name in ("", ".", ".."):
        return path.is_dir()
    return _entries(str(path.parent), look).get(path.name) == "d"


def exists(path: Path) -> bool:
    """``path.exists()``, within ``one_look`` from one listing of its folder."""
    return is_file(path) or is_dir(path)


def read(path: Path | str) -> bytes | None:
    """The file's bytes with Windows line ends made Unix ones (a pattern ending at a line's end, `embedding vector\n`,
    met `\r` first), or None for a large, unreadable or binary file."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_BYTES or b"\0" in data[:1024]:
        return None
    return data.replace(b"\r\n", b"\n")


def ours(data: bytes) -> bool:
    """Whether the file is one backfill-harness wrote (a drafted profile, a historylog), from its head."""
    head = data[:4096]
    return any(marker in head for marker in OURS_MARKERS)


def is_doc(rel: str, packages: frozenset[str] = frozenset()) -> bool:
    """Docs by suffix, or by a folder named like docs (``notes/``, ``plans/``) unless the file is code of a Python
    package there (``packages``: folders holding an ``__init__.py``): a Django app named ``notes`` is code."""
    low = rel.lower()
    if low.endswith(DOC_SUFFIXES):
        return True
    folder = rel.rsplit("/", 1)[0] if "/" in rel else ""
    if folder in packages and low.endswith(CODE_SUFFIXES):
        return False
    return "/" in low and bool(DOC_DIRS.intersection(low.split("/")[:-1]))


def python_packages(files: list[str]) -> frozenset[str]:
    """The folders of a file list that hold an ``__init__.py``."""
    return frozenset(f.rsplit("/", 1)[0] for f in files if f.endswith("/__init__.py"))


_TEST_DIRS = frozenset({"tests", "test", "__tests__", "spec", "specs", "e2e", "testing", "__mocks__", "fixtures"})


def is_test(rel: str) -> bool:
    """Test code: not the target's service code, schema or entrypoint (its vectors are fixtures)."""
    low = rel.lower()
    name = low.rsplit("/", 1)[-1]
    return (("/" in low and bool(_TEST_DIRS.intersection(low.split("/")[:-1])))
            or name.startswith("test_") or name.endswith(("_test.py", "_test.go", "conftest.py"))
            or any(f".{k}." in name for k in ("test", "spec")))


def is_smoke(rel: str, text: str) -> bool:
    """A smoke checklist: named so, or a checklist under a smoke heading; plans never are."""
    low = rel.lower()
    if ".planning/" in low or low.startswith((".planning", "research/", "plans/")):
        return False
    name = PurePosixPath(low).name
    if not name.endswith((".md", ".markdown", ".txt", ".rst", ".mdx")):
        return False
    if "smoke" in name or "checklist" in name:
        return True
    return "- [ ]" in text and any(line.lstrip().startswith("#") and "smoke" in line.lower()
                                   for line in text.splitlines())


def is_config(rel: str) -> bool:
    name = PurePosixPath(rel.lower()).name
    return (name.startswith(".env") or name.endswith(CONFIG_SUFFIXES) or name in ("dockerfile", "procfile")
            or name.startswith("docker-compose") or name.startswith("compose.")
            # VS Code's run configurations: the environment each `env` block starts the application with
            or rel.lower().endswith(".vscode/launch.json"))


def is_code(rel: str) -> bool:
    name = PurePosixPath(rel).name
    return rel.lower().endswith(CODE_SUFFIXES) or name in MAKEFILES or name == "package.json"


def language(rel: str) -> str:
    """python / js / ruby / php / sql / prisma / shell / other, from the file name."""
    low = rel.lower()
    if low.endswith(".py"):
        return "python"
    if low.endswith((".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")):
        return "js"
    if low.endswith((".rb", ".rake")):
        return "ruby"
    if low.endswith(".php"):
        return "php"
    if low.endswith(".sql"):
        return "sql"
    if low.endswith(".prisma"):
        return "prisma"
    if low.endswith(".sh"):
        return "shell"
    return "other"
