"""Where a JS/TS import points in the repository: a relative path, or a path alias (`@/MODELS`) that the nearest
tsconfig.json or jsconfig.json maps through its ``paths``."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable

from .lexing import without_comments
from .literals import call_args

# The files an extensionless import may name, in the order the bundlers try them.
_SUFFIXES = (".ts", ".tsx", ".mts", ".js", ".mjs", ".cjs", ".jsx", "/index.ts", "/index.js")
_EXTENSION = re.compile(r"\.(?:[cm]?js|jsx|[cm]?ts|tsx)$")
_ALIASED = "::"  # `folder::spec`: a spec that is not relative, resolved once the repository's files can be read


def module_of(rel: str, spec: str) -> str:
    """The module an import of ``spec`` in the file ``rel`` names, for ``module_text``: a relative spec joined to the
    file's folder (its extension dropped); any other spec kept with the folder, for the tsconfig to map (a package's
    name maps to nothing)."""
    if spec.startswith("."):
        return _EXTENSION.sub("", posixpath.normpath(posixpath.join(posixpath.dirname(rel), spec)))
    return f"{posixpath.dirname(rel)}{_ALIASED}{spec}"


def module_text(module: str, read: Callable[[str], str | None]) -> str | None:
    """The text of the file ``module`` (from ``module_of``) is, tried with each extension; None where the repository
    has none (a package, or an alias no tsconfig.json maps)."""
    if _ALIASED in module:
        folder, spec = module.split(_ALIASED, 1)
        mapped = _aliased(folder, spec, read)
        if mapped is None:
            return None
        module = mapped
    for suffix in _SUFFIXES:  # module_of and _mapped drop the extension an import may give
        text = read(module + suffix)
        if text is not None:
            return text
    return None


def _aliased(folder: str, spec: str, read: Callable[[str], str | None]) -> str | None:
    """``spec`` mapped by the ``paths`` of the nearest tsconfig.json (or jsconfig.json) at or above ``folder``."""
    parts = folder.split("/") if folder else []
    for depth in range(len(parts), -1, -1):
        base = "/".join(parts[:depth])
        for name in ("tsconfig.json", "jsconfig.json"):
            text = read(posixpath.join(base, name) if base else name)
            if text is not None:  # its comments are none of its options (`tsc --init` comments out every one)
                return _mapped(base, without_comments(text, "js"), spec)
    return None


def _mapped(base: str, tsconfig: str, spec: str) -> str | None:
    """``spec`` through one tsconfig's ``paths`` (relative to its ``baseUrl``, else to its own folder): the first
    target of the pattern TypeScript picks (an exact one, else the longest prefix before its '*'), its extension
    dropped; where no pattern takes it, the spec under ``baseUrl``, as TypeScript resolves a bare module name there
    (NestJS's `import ... from "src/config/env-config.service"`; a package's name then names no file)."""
    paths = re.search(r'"paths"\s*:\s*\{', tsconfig)
    root = re.search(r'"baseUrl"\s*:\s*"([^"]*)"', tsconfig)
    under_base = _EXTENSION.sub("", posixpath.normpath(posixpath.join(base, root.group(1), spec))) if root else None
    if not paths:
        return under_base
    matches = []
    for pattern, target in re.findall(r'"([^"]+)"\s*:\s*\[\s*"([^"]+)"', call_args(tsconfig, paths.end() - 1, limit=4000)):
        prefix, star, suffix = pattern.partition("*")
        if star and spec.startswith(prefix) and spec.endswith(suffix) and len(spec) >= len(prefix) + len(suffix):
            matches.append((len(prefix), target.replace("*", spec[len(prefix):len(spec) - len(suffix)], 1)))
        elif not star and spec == pattern:
            matches.append((len(spec) + 1, target))  # an exact pattern wins over any wildcard
    if not matches:
        return under_base
    mapped = max(matches, key=lambda m: m[0])[1]  # max keeps the first of equals: the order the file lists them
    return _EXTENSION.sub("", posixpath.normpath(posixpath.join(base, root.group(1) if root else ".", mapped)))
