"""Step 2, locate: read the target repo's structure: vector declarations (schema), embedding calls (service),
configuration by pattern, docs and plans (their own category), smoke checklists, entrypoints and their contract.

Files come from ``git ls-files`` in a git repo (tracked plus untracked-but-not-
ignored), else from a walk that skips vendored and virtualenv folders; the
installed skill is never read. One cheap pattern decides which files are parsed
at all, so 10,000 files take well under a second.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..locate import config as configscan
from ..locate import contract as contractmod
from ..locate import distances as distancescan, embedding_calls, entrypoints as eps, files as filesmod, schema as schemascan
from ..locate import alembic, dotnet, elixir, golang, json_documents, laravel, liquibase, pgai, rust, spring_boot, symfony
from ..locate.json_documents import JsonDocument
from ..locate.config import ConfigSetting
from ..locate.contract import Contract, command_contract
from ..locate.distances import DistanceUse
from ..locate.embedding_calls import EmbeddingCall
from ..locate.entrypoints import Entrypoint
from ..locate.files import list_files  # noqa: F401  (kept importable from here)
from ..locate.schema import VectorDeclaration
from ..locate.yaml_settings import SettingsFiles

DEFAULT_TERMS = ("backfill_embeddings", "backfill-embeddings", "document_embeddings", "document_chunks",
                 "EMBED_MODEL", "MAX_CHUNK_SIZE")
CATEGORIES = ("config", "service", "schema", "smoke", "docs", "entrypoints")
_TRIGGER_WORDS = (b"vector", b"halfvec", b"embed", b"ollama", b"11434", b"dsn", b"database_url", b"_model",
                  b"unsupported", b"postgres_", b"connection_string")
_SCHEMA_PATH = re.compile(r"migration|alembic|schema|drizzle|prisma|models?\b|entities|entity", re.I)


@dataclass(frozen=True)
class FileHits:
    path: str
    category: str
    terms: tuple[str, ...]
    lines: tuple[int, ...]
    dimensions: tuple[int, ...] = ()
    names: tuple[str, ...] = ()  # configuration names and calls found (EMBEDDING_MODEL, ollama-http, ...)

    @property
    def score(self) -> int:
        return len(self.terms) * 10 + len(self.names) * 3 + len(self.lines)

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "terms": list(self.terms), "lines": list(self.lines),
                "dimensions": list(self.dimensions), "names": list(self.names)}


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
    docs: tuple[FileHits, ...] = ()
    declarations: tuple[VectorDeclaration, ...] = ()
    embedding_calls: tuple[EmbeddingCall, ...] = ()
    settings: tuple[ConfigSetting, ...] = ()
    # where the code says the distance it searches a vector column with (queries, ORM helpers, index declarations)
    distances: tuple[DistanceUse, ...] = ()
    # (prefix, "path:line") of each model's task prefix the code puts before what it embeds (harness.task_prefixes)
    task_prefixes: tuple[tuple[str, str], ...] = ()
    # the JSON documents files that embed write from a literal object of fields (chunks.text_json's candidates)
    json_documents: tuple[JsonDocument, ...] = ()

    @property
    def declared_dimensions(self) -> tuple[int, ...]:
        return schemascan.dimensions_of(self.declarations)

    @property
    def best_entrypoint(self) -> Entrypoint | None:
        """The highest-ranked candidate that may embed (a seed whose contract calls no embedder is not the backfill), and
        runs here (an engine's or plugin's task runs in the application that installs it)."""
        return next((e for e in self.entrypoints if e.may_embed and not e.host and not _serves(e)), None)

    @property
    def embeds_in_process(self) -> bool:
        return any(c.in_process for c in self.embedding_calls)

    def as_dict(self) -> dict[str, Any]:
        def hits(items):
            return [h.as_dict() for h in items]
        old = schemascan.superseded(self.declarations)
        return {
            "repo": self.repo, "file_source": self.file_source, "files_scanned": self.files_scanned,
            "terms": list(self.terms), "seconds": round(self.seconds, 3),
            "config": hits(self.config), "service": hits(self.service), "schema": hits(self.schema),
            "smoke": hits(self.smoke), "docs": hits(self.docs), "declared_dimensions": list(self.declared_dimensions),
            "declarations": [{**d.as_dict(), "superseded": d in old} for d in self.declarations],
            "distances": [u.as_dict() for u in self.distances],
            "embedding_calls": [c.as_dict() for c in self.embedding_calls],
            "task_prefixes": [{"prefix": p, "where": where} for p, where in self.task_prefixes],
            "json_documents": [d.as_dict() for d in self.json_documents],
            "settings": [s.as_dict() for s in self.settings],
            "embeds_in_process": self.embeds_in_process,
            "entrypoints": [e.as_dict() for e in self.entrypoints],
            "best_entrypoint": self.best_entrypoint.command if self.best_entrypoint else None,
        }

    def _declared_types(self, hits: FileHits) -> str:
        """The file's dimensions under the type each is declared as: ``halfvec(1024, 3072), vector(768)``."""
        by_type: dict[str, set[int]] = {}
        for d in self.declarations:
            if d.path == hits.path and d.dimensions in hits.dimensions:
                by_type.setdefault(d.type, set()).add(d.dimensions)
        # a dimension no declaration of the file carries (a setting's) is said under the common type
        untyped = set(hits.dimensions) - {n for dims in by_type.values() for n in dims}
        if untyped:
            by_type.setdefault("vector", set()).update(untyped)
        return ", ".join(f"{t}({', '.join(map(str, sorted(dims)))})" for t, dims in sorted(by_type.items()))

    def text(self) -> str:
        lines = [f"Located in {self.repo}: {self.files_scanned} files ({self.file_source}) in {self.seconds:.2f} s"]
        lines.append("Vector declarations (schema):" + ("" if self.declarations else " none found"))
        old = schemascan.superseded(self.declarations)
        for d in self.declarations:
            where = ".".join(x for x in (d.table, d.column) if x) or "?"
            lines.append(f"  {d.path}:{d.line}  {where} {d.type}({d.dimensions if d.dimensions else '?'})  [{d.kind}]"
                         + ("  (dropped or renamed by a later migration)" if d.dropped
                            else "  (changed by a later migration)" if d in old else ""))
        # a vector store library's queries are the application's too (LangChain's `<=>` unless told otherwise)
        stores = [d for d in self.declarations if d.distance and d not in old]
        lines.append("Distances the code searches with:" + ("" if self.distances or stores else " none found"))
        for u in self.distances:
            where = ".".join(x for x in (u.table, u.column) if x) or "?"
            lines.append(f"  {u.where}  {where} {u.distance} ({u.said})  [{u.kind}]")
        for d in stores:
            where = ".".join(x for x in (d.table, d.column) if x) or "?"
            lines.append(f"  {d.path}:{d.line}  {where} {d.distance} (the store's query)  [{d.kind}]")
        lines.append("Embedding calls:" + ("" if self.embedding_calls else " none found"))
        for c in self.embedding_calls:
            extra = [f"model {c.model}" if c.model else "", f"from ${c.model_env}" if c.model_env else "",
                     f"url {c.url}" if c.url else "", f"from ${c.url_env}" if c.url_env else "",
                     f"dimensions {c.dimensions}" if c.dimensions else "",
                     f"from ${c.dimensions_env}" if c.dimensions_env else "", "in-process" if c.in_process else ""]
            lines.append(f"  {c.path}:{c.line}  {c.name} [{c.kind}] " + " ".join(x for x in extra if x))
        if self.task_prefixes:
            lines.append("Task prefixes before embedded texts: "
                         + ", ".join(f"{p!r} ({where})" for p, where in self.task_prefixes))
        sections = (("Embedding config/env", self.config), ("Embedding service code", self.service),
                    ("DB schema", self.schema), ("Smoke checklist", self.smoke), ("Docs and plans (not code)", self.docs))
        for title, items in sections:
            lines.append(f"{title}:" + ("" if items else " none found"))
            for h in items:
                dims = f"  declares {self._declared_types(h)}" if h.dimensions else ""
                found = ", ".join(dict.fromkeys([*h.terms, *h.names]))
                at = f":{','.join(map(str, h.lines[:5]))}" if h.lines else ""
                lines.append(f"  {h.path}{at}" + (f"  [{found}]" if found else "") + dims)
        lines.append("Backfill entrypoints:" + ("" if self.entrypoints else " none found"))
        for e in self.entrypoints:
            where = f"  (in {e.workdir})" if e.workdir not in (".", "") else ""
            lines.append(f"  {e.command}{where}  <- {e.path} ({e.kind})")
            if e.runner:
                lines.append(f"    or from the repository root: {e.runner}")
            if e.contract is not None:
                lines.append(f"    contract: {e.contract.text()}")
            if e.contract is not None and e.contract.drops:
                lines.append(f"    {e.contract.drops}: no backfill of the rows there, the draft leaves it out")
            if e.contract is not None and e.contract.adds_only:
                lines.append(f"    {e.contract.adds_only}: the draft leaves it out")
            if _serves(e):
                lines.append(f"    {_serves(e)}: run would wait for it until backfill.timeout_s; a candidate only, the "
                             "draft leaves it out")
            if e.evaluation:
                lines.append(f"    an evaluation's or benchmark's (under {e.evaluation}): it loads its own data set, "
                             "not the application's rows: a candidate only, not taken as the backfill")
            elif e.example:
                lines.append(f"    an example of the library's use (under {e.example}): it runs on its own sample data, "
                             "not the application's rows: a candidate only, not taken as the backfill")
            elif e.answers:
                lines.append(f"    {e.answers}: a candidate only, not taken as the backfill")
            elif e.keeps_nothing:
                lines.append("    embeds but keeps nothing (no database, store, request or file written in the files it "
                             "runs): a candidate only, not taken as the backfill")
            elif e.ingests_with_a_language_model:
                names = e.ingests_with_a_language_model
                lines.append(f"    reads a language model's settings ({', '.join(names[:3])}"
                             f"{', ...' if len(names) > 3 else ''}): an ingest that extracts or summarises with it "
                             "rewrites what it embeds: a candidate only, not taken as the backfill")
            elif not e.may_embed and e.contract is not None and e.contract.index_builds:
                lines.append(f"    builds a LlamaIndex index ({e.contract.index_builds[0]}), which embeds with the embed "
                             "model set elsewhere (Settings.embed_model), not named in the files it reads: a candidate "
                             "only, not taken as the backfill")
            elif not e.may_embed:
                lines.append("    calls no embedder (its contract, read): a candidate only, not taken as the backfill")
        if not self.best_entrypoint:
            hosted = " (the tasks above run in the application that installs this one)" if any(
                e.host for e in self.entrypoints) else ""
            never = any(e.may_embed and not e.host and _serves(e) for e in self.entrypoints)
            lines.append(f"  no entrypoint {'runs to completion' if never else 'embeds'} here: backfill with the "
                         f"harness's own engine (run --engine, or backfill){hosted}")
        if self.declared_dimensions:
            lines.append(f"Declared vector dimensions: {', '.join(map(str, self.declared_dimensions))}")
        return "\n".join(lines)


def _serves(entry: Entrypoint) -> str:
    """Why the entrypoint never exits (Contract.serves), "" if it runs to completion or nothing says."""
    return entry.contract.serves if entry.contract is not None else ""


def locate(repo: str | Path, terms: tuple[str, ...] | list[str] = ()) -> LocateResult:
    """Scan a repo: declarations, embedding calls, configuration, docs, smoke checklists, entrypoints."""
    with filesmod.one_look():
        return _scan(repo, terms)


def _scan(repo: str | Path, terms: tuple[str, ...] | list[str]) -> LocateResult:
    started = time.perf_counter()
    root = Path(repo)
    if not root.is_dir():
        raise ConfigError(f"--repo {str(repo)!r} is not a folder; expected the target application's repository")
    all_terms = tuple(dict.fromkeys([*DEFAULT_TERMS, *terms]))
    pattern = re.compile(b"|".join(re.escape(t.encode()) for t in all_terms))
    term_bytes = tuple(t.encode() for t in all_terms)
    files, source = filesmod.list_files(root)
    listed = set(files)
    packages = filesmod.python_packages(files)
    by_cat: dict[str, list[FileHits]] = {c: [] for c in CATEGORIES}
    entrypoints: list[Entrypoint] = []
    declarations: list[VectorDeclaration] = []
    calls: list[EmbeddingCall] = []
    prefixes: list[tuple[str, str]] = []
    settings: list[ConfigSetting] = []
    distances: list[DistanceUse] = []
    documents: list[JsonDocument] = []
    model_tables: dict[str, str | None] = {}
    django_tables: dict[str, str] = {}
    drops: dict[str, tuple[tuple[str, str | None], ...]] = {}
    spring_properties: dict[str, dict[str, spring_boot.Property]] = {}
    spring_pgvector = mastra_pgvector = False
    changelogs: dict[str, str] = {}
    revisions: dict[str, alembic.Revision | None] = {}
    base = str(root)
    for rel in files:
        data = filesmod.read(os.path.join(base, rel))
        if data is None or filesmod.ours(data):
            continue
        name = rel.rsplit("/", 1)[-1]
        doc = filesmod.is_doc(rel, packages)
        if not doc and filesmod.is_test(rel):
            continue
        if not doc and (b"atabaseChangeLog" in data or b"liquibase" in data[:400].lower()) and liquibase.is_changelog(
                rel, text := data.decode("utf-8", "replace")):
            changelogs[rel] = text  # read in the order the master changelog includes it, once all are known
            distances.extend(u for sql in liquibase.sql_of(rel, text) if distancescan.has_distances(sql.encode())
                             for u in distancescan.scan(rel, sql, "sql"))
            continue
        if not doc and name.endswith(".py") and alembic.versions_folder(rel) is not None and alembic.names_a_revision(
                text := data.decode("utf-8", "replace")):
            revisions[rel] = alembic.revision_of(text)
        if not doc and name.endswith(".py") and (b"db_table" in data or b"AlterModelTable" in data):
            django_tables.update(schemascan.django_tables(rel, data.decode("utf-8", "replace")))
        if not doc:
            if name == "package.json":
                entrypoints.extend(eps.npm_scripts(root, rel, data, all_terms))
                continue
            if name in filesmod.MAKEFILES or name.endswith(".mk"):
                entrypoints.extend(eps.make_targets(rel, data, all_terms))
                continue
            if name == "pyproject.toml":
                entrypoints.extend(eps.console_scripts(rel, data))
            if name.endswith(".rake"):
                entrypoints.extend(eps.rake_tasks(root, rel, data))
            script = (eps.script_entrypoint(root, rel, data) or spring_boot.runner(root, rel, data)
                      or golang.entrypoint(rel, data) or laravel.artisan_command(root, rel, data)
                      or symfony.console_command(root, rel, data)
                      or elixir.mix_task(root, rel, data) or rust.entrypoint(root, rel, data))
            if script:
                entrypoints.append(script)
            entrypoints.extend(eps.js_subcommands(root, rel, data))
            if spring_boot.is_application_config(rel):
                spring_properties[rel] = spring_boot.properties(rel, data.decode("utf-8", "replace"))
            spring_pgvector = spring_pgvector or spring_boot.brings_pgvector_store(name, data)
            mastra_pgvector = mastra_pgvector or (b"@mastra/" in data and schemascan.makes_mastra_pgvector(
                data.decode("utf-8", "replace")))
        if not doc and (name.endswith(".py") and (b"Model" in data or b"__tablename__" in data)
                        or name.endswith(".ex") and b"Ecto.Schema" in data
                        or name.endswith(".php") and b"Model" in data and b"extends" in data
                        or name.endswith((".ts", ".js", ".mts", ".mjs", ".cts", ".cjs")) and b"@Entity(" in data
                        or name.endswith(".go") and b"gorm:" in data):
            for cls, table in distancescan.model_tables(rel, data.decode("utf-8", "replace")).items():
                model_tables[cls] = table if model_tables.get(cls, table) == table else None  # two apps: unknown
        if not doc and filesmod.is_code(rel) and distancescan.has_distances(data):
            distances.extend(distancescan.scan(rel, data.decode("utf-8", "replace"), filesmod.language(rel)))
        if not doc and (b"rop" in data or b"ENAME" in data or b"ename" in data or b"remove" in data  # Rails' remove_column, Ecto's remove
                         or b"new_column_name" in data) and (
                gone := schemascan.removed(rel, data.decode("utf-8", "replace"))):
            drops[rel] = gone
        # the pattern only where a term is (a substring search is many times quicker than the alternation)
        found = pattern.findall(data) if any(t in data for t in term_bytes) else []
        low = data.lower()
        triggered = any(w in low for w in _TRIGGER_WORDS)
        if not found and not triggered and not (doc and b"- [ ]" in data):
            continue
        text = data.decode("utf-8", "replace")
        terms_found = tuple(sorted({f.decode() for f in found}))
        line_numbers = _line_numbers(data, pattern) if found else ()
        if doc:
            if filesmod.is_smoke(rel, text):
                by_cat["smoke"].append(FileHits(rel, "smoke", terms_found, line_numbers))
            elif found or triggered:
                mentions = [*(s.name for s in configscan.scan(rel, text, is_config_file=False)),
                            *(f"{d.type}({d.dimensions})" for d in schemascan.scan(rel, text, "other"))]
                if found or mentions:  # dimensions in plans are mentions, never the schema's
                    by_cat["docs"].append(FileHits(rel, "docs", terms_found, line_numbers, (),
                                                   tuple(dict.fromkeys(mentions))))
            continue
        if filesmod.is_config(rel) and not filesmod.is_code(rel):
            calls.extend(embedding_calls.config_sections(rel, text))
            calls.extend(symfony.embedding_calls(rel, text) if symfony.is_services_config(rel) else [])
            found_settings = configscan.scan(rel, text, is_config_file=True)
            settings.extend(found_settings)
            names = tuple(dict.fromkeys(s.name for s in found_settings))
            if found or names:
                lines = tuple(sorted({*line_numbers, *(s.line for s in found_settings)}))[:20]
                by_cat["config"].append(FileHits(rel, "config", terms_found, lines, (), names))
            continue
        lang = filesmod.language(rel)
        decls = schemascan.scan(rel, text, lang) if schemascan.has_declarations(text) else []
        decls += pgai.declarations(rel, text, lang)
        file_calls = embedding_calls.scan(rel, text, lang) if embedding_calls.has_calls(text) else []
        file_calls = golang.with_request_fields(rel, text, rust.with_models(rel, text, file_calls))
        file_calls += golang.embedding_calls(rel, text) if rel.endswith(".go") else []
        file_calls += elixir.embedding_calls(rel, text)
        file_calls += pgai.embedding_calls(rel, text, lang)
        file_calls += laravel.embedding_calls(rel, text) if lang == "php" else []
        found_settings = configscan.scan(rel, text, is_config_file=False)
        declarations.extend(decls)
        calls.extend(file_calls)
        if b"embed" in low:  # a document a file that embeds writes may be what it embeds
            documents.extend(json_documents.scan(rel, text, lang))
        prefixes.extend(contractmod.task_prefixes_in(rel, text, bool(file_calls)))
        prefixes.extend((p, f"{c.path}:{c.line}") for c in file_calls for p in c.task_prefixes)
        settings.extend(s for s in found_settings if s.name == "url" or configscan.kind_of(s.name) != "other"
                        or "EMBED" in s.name)
        dims = schemascan.dimensions_of(decls)
        if decls or (found and (lang in ("sql", "prisma") or _SCHEMA_PATH.search(rel)) and not file_calls):
            lines = tuple(sorted({*line_numbers, *(d.line for d in decls)}))[:20]
            by_cat["schema"].append(FileHits(rel, "schema", terms_found, lines, dims,
                                             tuple(dict.fromkeys(d.kind for d in decls))))
        embedding_names = [] if decls else [s.name for s in found_settings if _embedding_setting(s.name)]
        if file_calls or (found and not decls and not _SCHEMA_PATH.search(rel)) or embedding_names:
            lines = tuple(sorted({*line_numbers, *(c.line for c in file_calls),
                                  *(s.line for s in found_settings if _embedding_setting(s.name))}))[:20]
            names = tuple(dict.fromkeys([*(c.kind for c in file_calls), *embedding_names]))
            by_cat["service"].append(FileHits(rel, "service", terms_found, lines, (), names))
    if store := spring_boot.pgvector_store(spring_properties, depends=spring_pgvector):
        declarations.append(store[0])
        distances.append(store[1])
        if emptied := spring_boot.drops_store(spring_properties, store[0].table or "vector_store"):
            entrypoints = [replace(e, contract=replace(e.contract, drops=emptied))
                           if e.kind == "spring-boot-runner" and e.contract is not None else e for e in entrypoints]
    # an index made through a store registered by name is a PgVector's table only where the repository makes one
    declarations = [d for d in declarations if not d.through_registry or mastra_pgvector]
    calls = embedding_calls.with_imported_models(calls, lambda rel: _listed_text(base, listed, rel))
    calls = laravel.with_config(calls, lambda rel: _listed_text(base, listed, rel))
    calls = dotnet.with_options(calls, listed, lambda rel: _listed_text(base, listed, rel))
    calls = elixir.with_modules(calls, listed, lambda rel: _listed_text(base, listed, rel))
    changed = liquibase.declarations(changelogs, lambda rel: _listed_text(base, listed, rel))
    # an SQL file a changeset runs (`sqlFile`) is read in the changelog's order, not again as a file of its own
    run_by_changelogs = ({d.path for d in changed} | liquibase.run_elsewhere(
        changelogs, lambda rel: _listed_text(base, listed, rel))) - set(changelogs)
    declarations = [d for d in declarations if d.path not in run_by_changelogs] + changed
    for rel in changelogs:
        lines = tuple(sorted({d.line for d in changed if d.path == rel}))[:20]
        by_cat["schema"].append(FileHits(rel, "schema", (), lines, schemascan.dimensions_of(
            [d for d in changed if d.path == rel]), ("liquibase",) if lines else ()))
    # read again only where a value comes from a settings object (most repositories have none)
    from_settings = any(c.model_setting or c.url_setting for c in calls) or any(
        d.dims_setting or d.schema_setting for d in declarations)
    settings_files = _settings_files(base, listed, packages) if from_settings else SettingsFiles({}, {})
    calls = embedding_calls.with_yaml_settings(calls, settings_files)
    declarations = schemascan.with_drops(schemascan.with_yaml_settings(
        schemascan.with_imported_store_configs(schemascan.with_imported_dimensions(
            schemascan.with_django_tables(declarations, django_tables), lambda rel: _listed_text(base, listed, rel)),
            lambda rel: _listed_text(base, listed, rel)), settings_files), drops, orders := alembic.chain_order(revisions))
    declarations = laravel.with_config_dimensions(declarations, lambda rel: _listed_text(base, listed, rel))
    distances = [replace(u, table=django_tables[u.table]) if u.kind.startswith("django") and u.table in django_tables
                 else u for u in schemascan.current_indexes(distancescan.with_model_tables(distances, model_tables), drops, orders)]
    distances = dotnet.with_columns(distances, listed, lambda rel: _listed_text(base, listed, rel))
    for items in by_cat.values():
        items.sort(key=lambda h: (-h.score, h.path))
    ranked = sorted(dict.fromkeys(entrypoints), key=lambda e: (-e.score, e.command))
    ranked = [_with_contract(root, e) for e in ranked[:12]] + ranked[12:]
    # what an entrypoint really calls counts too; of two ranked alike, the one whose contract is read comes first
    # (scope checks what it reads; an unknown one is only assumed to read ours)
    ranked.sort(key=lambda e: (-e.score, e.contract is None or not e.contract.known, e.command))
    return LocateResult(str(root), source, len(files), all_terms, tuple(by_cat["config"]), tuple(by_cat["service"]),
                        tuple(by_cat["schema"]), tuple(by_cat["smoke"]), tuple(ranked), time.perf_counter() - started,
                        tuple(by_cat["docs"]), tuple(declarations), tuple(calls), tuple(settings), tuple(distances),
                        tuple(dict.fromkeys(prefixes)), tuple(documents))


def _settings_files(base: str, listed: set[str], packages: frozenset[str]) -> SettingsFiles:
    """The repository's YAML files that may fill a settings object (not docs, tests or CI workflows), and the Python
    modules that may declare its classes (pydantic models)."""
    yaml, modules = {}, {}
    for rel in sorted(listed):
        if rel.startswith(".") or filesmod.is_doc(rel, packages) or filesmod.is_test(rel):
            continue
        if rel.endswith((".yaml", ".yml", ".py")) and (text := _listed_text(base, listed, rel)) is not None:
            if not rel.endswith(".py"):
                yaml[rel] = text
            elif "BaseModel" in text or "BaseSettings" in text:
                modules[rel] = text
    return SettingsFiles(yaml, modules)


def _listed_text(base: str, listed: set[str], rel: str) -> str | None:
    """A file the walk listed, as text (None for any other path: nothing outside what locate reads)."""
    data = filesmod.read(os.path.join(base, rel)) if rel in listed else None
    return data.decode("utf-8", "replace") if data is not None else None


def _embedding_setting(name: str) -> bool:
    return name == "url" or "EMBED" in name or name.startswith("OLLAMA_")


def _with_contract(root: Path, entry: Entrypoint) -> Entrypoint:
    if entry.contract is not None:  # read where it was found (a Spring Boot runner's)
        return entry
    if entry.host:
        return replace(entry, contract=Contract(known=False, reason=entry.host))

    try:
        contract = command_contract(entry.command, root / entry.workdir, root)
    except (OSError, ValueError, RecursionError) as exc:  # a contract that cannot be read is reported, not raised
        contract = Contract(known=False, reason=f"reading failed: {exc}")
    return replace(entry, contract=contract)


def _line_numbers(data: bytes, pattern: re.Pattern[bytes]) -> tuple[int, ...]:
    lines: list[int] = []
    number, at = 1, 0
    for m in pattern.finditer(data):
        number, at = number + data.count(b"\n", at, m.start()), m.start()  # counted on from the last match
        if not lines or lines[-1] != number:
            lines.append(number)
        if len(lines) >= 20:
            break
    return tuple(lines)


__all__ = ["DEFAULT_TERMS", "Entrypoint", "FileHits", "LocateResult", "locate"]
