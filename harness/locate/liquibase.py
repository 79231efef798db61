"""Liquibase changelogs (XML, YAML, JSON, formatted SQL): the vector columns their changesets make, in the order the
master changelog includes them; a later changeset's change supersedes an earlier one's, as a later migration's does."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import yaml

from .literals import line_of
from .schema import VectorDeclaration, removed_in, scan as scan_schema

_YAML_ROOT = re.compile(r"""(?m)^[\s{]*['"]?databaseChangeLog['"]?\s*:""")
_SQL_ROOT = re.compile(r"(?im)\A\s*--\s*liquibase\s+formatted\s+sql\b")
_SQL_CHANGESET = re.compile(r"(?im)^\s*--\s*changeset\s+\S+")
_SQL_ROLLBACK = re.compile(r"(?im)^\s*--\s*rollback\b[^\n]*")
_TYPE = re.compile(r"(?i)^\s*(?:\w+\.)?(?P<type>vector|halfvec|sparsevec)\s*(?:\(\s*(?P<n>\d+)\s*\))?\s*$")
_XML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_XML_TAG = re.compile(r"""<(?P<close>/)?(?:[\w.-]+:)?(?P<name>[A-Za-z_][\w.-]*)(?P<attrs>(?:[^>"']|"[^"]*"|'[^']*')*?)(?P<self>/)?>""")
_XML_ATTR = re.compile(r"""(?:[\w.-]+:)?(?P<k>[\w.-]+)\s*=\s*(?:"(?P<a>[^"]*)"|'(?P<b>[^']*)')""")
# Elements whose content is not a change the changelog applies: what rolling back runs, the conditions checked first.
_SKIPPED = ("rollback", "preConditions", "validCheckSum", "comment")
_TABLE_OPS = ("createTable", "addColumn", "dropColumn")


@dataclass(frozen=True)
class Change:
    op: str  # createTable / addColumn / modifyDataType / dropColumn / renameColumn / dropTable / renameTable / sql / sqlFile
    line: int
    attrs: dict[str, str] = field(default_factory=dict)
    columns: tuple[dict[str, str], ...] = ()
    sql: str = ""  # the SQL, preceded by as many newlines as put it on its own line of the file


def runs_on_postgres(dbms: object) -> bool:
    """Whether a changeset's ``dbms`` (a list; ``all``, ``none``, ``!name`` to exclude) lets it run on PostgreSQL."""
    names = [n.strip().lower() for n in str(dbms or "").split(",") if n.strip()]
    if not names or "all" in names:
        return "!postgresql" not in names
    if "none" in names:
        return False
    wanted = [n for n in names if not n.startswith("!")]
    return "!postgresql" not in names and (not wanted or "postgresql" in wanted)


def is_changelog(rel: str, text: str) -> bool:
    """A Liquibase changelog: an XML ``<databaseChangeLog>``, a YAML or JSON ``databaseChangeLog`` document, or SQL
    opening with ``--liquibase formatted sql``."""
    low = rel.lower()
    if low.endswith(".xml"):
        return "<databaseChangeLog" in text
    if low.endswith((".yaml", ".yml", ".json")):
        return bool(_YAML_ROOT.search(text))
    return low.endswith(".sql") and bool(_SQL_ROOT.search(text))


def _blank(m: re.Match) -> str:
    return re.sub(r"[^\n]", " ", m.group(0))


def _xml(text: str) -> list[tuple[str, object]]:
    """The XML changelog's entries in order: ("include", attrs), ("includeAll", attrs), ("changeSet", [Change])."""
    text = _XML_COMMENT.sub(_blank, text)
    entries: list[tuple[str, object]] = []
    changes: list[Change] | None = None
    table: Change | None = None
    columns: list[dict[str, str]] = []
    on_postgres = True
    at = 0
    while (m := _XML_TAG.search(text, at)) is not None:
        at = m.end()
        name, closing, selfclosing = m.group("name"), bool(m.group("close")), bool(m.group("self"))
        attrs = {a.group("k"): a.group("a") if a.group("a") is not None else a.group("b")
                 for a in _XML_ATTR.finditer(m.group("attrs"))}
        if not closing and name in (*_SKIPPED, "sql", "createProcedure") and not selfclosing:
            end = re.compile(rf"</(?:[\w.-]+:)?{name}\s*>").search(text, at)
            body = text[at:end.start() if end else len(text)]
            if name not in ("sql", "createProcedure") or changes is None or not runs_on_postgres(attrs.get("dbms")):
                at = end.end() if end else len(text)
                continue
            body = re.sub(r"<!\[CDATA\[|\]\]>", lambda c: " " * len(c.group(0)), body)
            changes.append(Change("sql", line_of(text, at), attrs, sql="\n" * (line_of(text, at) - 1) + body))
            at = end.end() if end else len(text)
            continue
        if name in ("include", "includeAll") and not closing:
            entries.append((name, attrs))
        elif name == "changeSet":
            if closing and changes is not None and on_postgres:
                entries.append(("changeSet", changes))
            changes = [] if not closing and not selfclosing else None
            on_postgres = closing or runs_on_postgres(attrs.get("dbms"))
        elif changes is None:
            continue
        elif name in _TABLE_OPS and not closing:
            table, columns = Change(name, line_of(text, m.start()), attrs), []
            if selfclosing:
                changes.append(table)
                table = None
        elif name in _TABLE_OPS and closing and table is not None:
            changes.append(replace(table, columns=tuple(columns)))
            table = None
        elif name == "column" and not closing and table is not None:
            columns.append({**attrs, "line": str(line_of(text, m.start()))})
        elif not closing and name in ("modifyDataType", "renameColumn", "dropTable", "renameTable", "sqlFile"):
            changes.append(Change(name, line_of(text, m.start()), attrs))
    return entries


def _yaml(rel: str, text: str) -> list[tuple[str, object]]:
    """A YAML or JSON changelog's entries, as ``_xml`` gives them (lines found by the names they declare)."""
    try:
        doc = json.loads(text) if rel.lower().endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        return []
    body = doc.get("databaseChangeLog") if isinstance(doc, dict) else None
    entries: list[tuple[str, object]] = []
    at = 0

    def line(*names: object) -> int:
        nonlocal at
        for n in names:
            found = text.find(str(n), at) if n else -1
            if found >= 0:
                at = found
                return line_of(text, found)
        return line_of(text, at)

    for entry in body if isinstance(body, list) else []:
        if not isinstance(entry, dict):
            continue
        for key, value in entry.items():
            if key in ("include", "includeAll") and isinstance(value, dict):
                entries.append((key, {k: str(v) for k, v in value.items()}))
            elif key == "changeSet" and isinstance(value, dict) and runs_on_postgres(value.get("dbms")):
                changes: list[Change] = []
                line(value.get("id"))
                for item in value.get("changes") or []:
                    for op, spec in (item.items() if isinstance(item, dict) else ()):
                        spec = spec if isinstance(spec, dict) else {"sql": spec} if op == "sql" else {}
                        attrs = {k: str(v) for k, v in spec.items() if not isinstance(v, (list, dict))}
                        if op == "sql" and not runs_on_postgres(attrs.get("dbms")):
                            continue  # SQL another database runs, as an XML changelog's (``_xml``)
                        if op == "sql":
                            sql = str(spec.get("sql", ""))
                            first = sql.strip().split("\n", 1)[0]
                            changes.append(Change("sql", line(first), attrs, sql="\n" * (line(first) - 1) + sql))
                            continue
                        where = line(spec.get("tableName"), spec.get("oldTableName"), op)
                        columns = tuple({**{k: str(v) for k, v in c["column"].items()},
                                         "line": str(line(c["column"].get("name")))}
                                        for c in spec.get("columns") or [] if isinstance(c, dict)
                                        and isinstance(c.get("column"), dict))
                        changes.append(Change(op, where, attrs, columns))
                entries.append(("changeSet", changes))
    return entries


def _formatted_sql(text: str) -> list[tuple[str, object]]:
    """A formatted SQL changelog's changesets (each ``--changeset`` to the next), their ``--rollback`` lines left out."""
    text = _SQL_ROLLBACK.sub(lambda m: " " * len(m.group(0)), text)
    heads = list(_SQL_CHANGESET.finditer(text))
    starts = [m.start() for m in heads]
    dbms = [re.search(r"\bdbms:(\S+)", text[m.start():].split("\n", 1)[0]) for m in heads]
    return [("changeSet", [Change("sql", line_of(text, a), sql="\n" * (line_of(text, a) - 1) + text[a:b])])
            for a, b, d in zip(starts, [*starts[1:], len(text)], dbms) if runs_on_postgres(d.group(1) if d else None)]


def _entries(rel: str, text: str) -> list[tuple[str, object]]:
    low = rel.lower()
    return _xml(text) if low.endswith(".xml") else _formatted_sql(text) if low.endswith(".sql") else _yaml(rel, text)


def sql_of(rel: str, text: str) -> list[str]:
    """The SQL of each ``sql`` change of a changelog, each on its own lines of the file (rollbacks left out): where an
    index it makes says the distance the column is searched with."""
    return [c.sql for kind, changes in _entries(rel, text) if kind == "changeSet" and isinstance(changes, list)
            for c in changes if c.op == "sql"]


def _resolve(base: str, path: str, relative: bool, known: Callable[[str], bool]) -> str | None:
    """The repository file an include names: beside the including changelog where it says so, else from the search
    path Liquibase is run with (unknown here: the repository's root, the changelog's folder, or any folder above one
    holding the path)."""
    path = re.sub(r"^classpath\*?:", "", path).lstrip("/")
    here = posixpath.dirname(base)
    candidates = [posixpath.normpath(posixpath.join(here, path))] if relative else [
        posixpath.normpath(path), posixpath.normpath(posixpath.join(here, path))]
    parts = base.split("/")[:-1]
    candidates += ["/".join([*parts[:i], path]) for i in range(len(parts) - 1, -1, -1)]
    return next((c for c in candidates if known(c)), None)


def declarations(changelogs: dict[str, str], read: Callable[[str], str | None]) -> list[VectorDeclaration]:
    """The vector columns the changelogs' changesets declare, each in its changelog's order (the master changelogs:
    those no other includes, in path order), a dropped or renamed column's declaration marked ``dropped``."""
    entries = {rel: _entries(rel, text) for rel, text in changelogs.items()}
    includes: dict[str, list[str]] = {}
    for rel, items in entries.items():
        for kind, attrs in items:
            if kind in ("include", "includeAll") and isinstance(attrs, dict):
                includes.setdefault(rel, []).extend(_included(rel, kind, attrs, changelogs))
    included = {r for targets in includes.values() for r in targets}
    out: list[VectorDeclaration] = []
    for root in sorted(r for r in changelogs if r not in included):
        state = _Applied(root, read)
        _walk(root, entries, includes, changelogs, state, set())
        out += state.out
    return out


def run_elsewhere(changelogs: dict[str, str], read: Callable[[str], str | None]) -> set[str]:
    """The SQL files a changeset runs (``sqlFile``) only on another database (``dbms``): no schema of ours, neither in
    the changelog's order nor as files of their own."""
    return {path for rel, text in changelogs.items() for kind, changes in _entries(rel, text)
            if kind == "changeSet" and isinstance(changes, list)
            for c in changes if c.op == "sqlFile" and not runs_on_postgres(c.attrs.get("dbms"))
            for path in [_resolve(rel, c.attrs.get("path", ""), c.attrs.get("relativeToChangelogFile", "false").lower()
                                  == "true", lambda p: read(p) is not None)] if path}


def _included(rel: str, kind: str, attrs: dict[str, str], changelogs: dict[str, str]) -> list[str]:
    relative = attrs.get("relativeToChangelogFile", "false").lower() == "true"
    if kind == "include":
        found = _resolve(rel, attrs.get("file", ""), relative, changelogs.__contains__)
        return [found] if found else []
    folder = _resolve(rel, attrs.get("path", "").rstrip("/"), relative,
                      lambda c: any(r.startswith(c + "/") for r in changelogs))
    return sorted(r for r in changelogs if folder and r.startswith(folder + "/"))


def _walk(rel: str, entries: dict, includes: dict[str, list[str]], changelogs: dict[str, str], state: "_Applied",
          seen: set[str]) -> None:
    if rel in seen:
        return
    seen.add(rel)
    for kind, value in entries[rel]:
        if kind in ("include", "includeAll") and isinstance(value, dict):
            for target in _included(rel, kind, value, changelogs):
                _walk(target, entries, includes, changelogs, state, seen)
        elif kind == "changeSet" and isinstance(value, list):
            state.changeset(rel, value)


class _Applied:
    """The declarations of one master changelog's changesets, applied in order."""

    def __init__(self, root: str, read: Callable[[str], str | None]):
        self.root, self.read, self.number = root, read, 0
        self.out: list[VectorDeclaration] = []

    def changeset(self, rel: str, changes: list[Change]) -> None:
        self.number += 1
        for c in changes:
            self.apply(rel, c)

    def declare(self, rel: str, line: int, table: str, column: str, sqltype: str) -> None:
        m = _TYPE.match(sqltype or "")
        if m:
            self.out.append(VectorDeclaration(rel, line, int(m.group("n")) if m.group("n") else None, "liquibase",
                                              table, column, m.group("type").lower(), order=(self.root, self.number)))

    def drop(self, table: str, column: str | None) -> list[VectorDeclaration]:
        """Mark the table's (or its column's) declarations so far dropped; the ones marked."""
        bare = table.rsplit(".", 1)[-1]
        hit = [d for d in self.out if not d.dropped and (d.table or "").rsplit(".", 1)[-1] == bare
               and (column is None or d.column == column)]
        self.out = [replace(d, dropped=True) if d in hit else d for d in self.out]
        return hit

    def apply(self, rel: str, c: Change) -> None:
        a = c.attrs
        schema = a.get("schemaName")
        table = f"{schema}.{a.get('tableName')}" if schema and schema != "public" else a.get("tableName", "")
        if c.op in ("createTable", "addColumn"):
            for col in c.columns:
                self.declare(rel, int(col.get("line", c.line)), table, col.get("name", ""), col.get("type", ""))
        elif c.op == "modifyDataType":
            if not _TYPE.match(a.get("newDataType", "")):
                self.drop(table, a.get("columnName"))
            self.declare(rel, c.line, table, a.get("columnName", ""), a.get("newDataType", ""))
        elif c.op == "dropColumn":
            for name in [a.get("columnName"), *(col.get("name") for col in c.columns)]:
                if name:
                    self.drop(table, name)
        elif c.op == "dropTable":
            self.drop(table, None)
        elif c.op == "renameColumn":
            for d in self.drop(table, a.get("oldColumnName")):
                self.out.append(replace(d, path=rel, line=c.line, column=a.get("newColumnName"), dropped=False,
                                        order=(self.root, self.number)))
        elif c.op == "renameTable":
            for d in self.drop(a.get("oldTableName", ""), None):
                self.out.append(replace(d, path=rel, line=c.line, table=a.get("newTableName"), dropped=False,
                                        order=(self.root, self.number)))
        elif c.op == "sql" or (c.op == "sqlFile" and runs_on_postgres(a.get("dbms"))):
            sql = c.sql
            if c.op == "sqlFile":
                relative = a.get("relativeToChangelogFile", "false").lower() == "true"
                path = _resolve(rel, a.get("path", ""), relative, lambda p: self.read(p) is not None)
                rel, sql = (path, self.read(path) or "") if path else (rel, "")
            for table_gone, column_gone in removed_in(sql):
                self.drop(table_gone, column_gone)
            self.out += [replace(d, kind="liquibase", order=(self.root, self.number))
                         for d in scan_schema(rel, sql, "sql")]


__all__ = ["is_changelog", "declarations", "run_elsewhere", "sql_of"]
