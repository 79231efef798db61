"""Step 1, scope: restate the objective, resolve the inputs with their sources, check the assumptions.

Nothing is written. A dimension mismatch, an unknown collection or an
unapproved model switch is caught here, before any other step runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import db as dbmod
from ..backfill.selection import collection_state, list_collections
from ..errors import HarnessError
from ..provider import OllamaProvider
from ..settings import Settings
from ..target import Target
from .contract_check import check_contract

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2


@dataclass(frozen=True)
class Input:
    name: str
    value: Any
    source: str


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class ScopeResult:
    objective: str
    collection: str
    target_collection: str
    model: str
    inputs: tuple[Input, ...]
    assumptions: tuple[str, ...]
    checks: tuple[Check, ...]
    counts: dict[str, Any] = field(default_factory=dict)
    stored_models: dict[str, int] = field(default_factory=dict)
    dimensions: dict[str, int | None] = field(default_factory=dict)
    refusal: str | None = None
    approve_model_change: bool = False

    @property
    def ok(self) -> bool:
        return self.refusal is None and all(c.ok for c in self.checks)

    @property
    def exit_code(self) -> int:
        if self.refusal:
            return EXIT_REFUSED
        return EXIT_OK if self.ok else EXIT_FAILED

    @property
    def reason(self) -> str | None:
        """Why the scope gate is closed, in one line (None when open)."""
        if self.refusal:
            return self.refusal
        failed = [c for c in self.checks if not c.ok]
        return "; ".join(f"{c.name}: {c.detail}" for c in failed) or None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "exit_code": self.exit_code, "reason": self.reason, "objective": self.objective,
            "collection": self.collection, "target_collection": self.target_collection, "model": self.model,
            "inputs": [i.__dict__ for i in self.inputs], "assumptions": list(self.assumptions),
            "checks": [c.__dict__ for c in self.checks], "counts": self.counts, "stored_models": self.stored_models,
            "dimensions": self.dimensions, "refusal": self.refusal, "approve_model_change": self.approve_model_change,
        }

    def text(self) -> str:
        lines = [f"Objective: {self.objective}", "", "Inputs:"]
        lines += [f"  {i.name:<18} {_show(i.value):<40} ({i.source})" for i in self.inputs]
        lines += ["", "Assumptions:"] + [f"  - {a}" for a in self.assumptions]
        lines += ["", "Checks:"] + [f"  [{'ok' if c.ok else 'FAIL'}] {c.name}: {c.detail}" for c in self.checks]
        if self.counts:
            lines += ["", "Counts: " + ", ".join(f"{k} {v}" for k, v in self.counts.items() if k != "collection")]
        lines.append("")
        if self.refusal:
            lines.append(f"REFUSED: {self.refusal}")
        elif not self.ok:
            lines.append(f"Scope FAILED: {self.reason}")
        else:
            lines.append(f"Scope ok: {self.counts.get('needed', 0)} rows to embed into {self.target_collection}.")
        return "\n".join(lines)


def _show(value: Any) -> str:
    return "—" if value is None else str(value)


def inputs_of(settings: Settings, collection: str, target_collection: str) -> tuple[Input, ...]:
    """Every input the run depends on and where its value came from."""
    p, src = settings.profile, settings.sources
    chunk_src = p.sources

    def chunking_source(key: str) -> str:
        origin = chunk_src.get(key)
        return "not declared" if origin is None else ("profile" if origin == "profile" else f"profile {key} ({origin})")

    return (
        Input("collection", collection, "flag --collection"),
        Input("target collection", target_collection, "flag --into" if target_collection != collection else "same as collection"),
        Input("profile", p.name, f"file {p.path}" if p.path else "given"),
        Input("database", settings.shown()["database_url"], src.get("database_url", "?")),
        Input("provider", settings.provider_url, src.get("provider_url", "?")),
        Input("model", settings.model, src.get("model", "?")),
        Input("dimensions", settings.dimensions, src.get("dimensions", "?")),
        Input("batch size", settings.batch_size, src.get("batch_size", "?")),
        Input("max chunk size", p.chunking.max_chunk_size, chunking_source("chunking.max_chunk_size")),
        Input("chunk overlap", p.chunking.overlap, chunking_source("chunking.overlap")),
    ) + ((Input("embeds in process", p.backfill.in_process_model,
                "profile backfill.in_process_model (the provider only checks)"),) if p.backfill.embeds_in_process else ())


def scope(settings: Settings, collection: str, *, approve_model_change: bool = False, into: str | None = None,
          probe_retries: int = 1) -> ScopeResult:
    """Resolve and check everything the run depends on; write nothing."""
    target = Target(settings.profile)
    target_collection = into or collection
    objective = (
        f"Embed every chunk of collection {collection!r} that is missing, stale or from another model with "
        f"{settings.model}" + (f" into the new collection {into!r}" if into else "")
        + ", and prove it with the DONE checks."
    )
    assumptions = [
        f"the chunk table {settings.profile.chunks.table} is the source of truth for {collection!r}",
        f"vectors go to {settings.profile.embeddings.table}.{settings.profile.embeddings.vector}",
        f"{settings.model} at {settings.provider_url} is the model the application queries with",
    ]
    contract = check_contract(settings, collection, into)  # what the command reads, checked before anything runs
    assumptions += contract.assumptions
    if not settings.profile.embeddings.input_hash:
        assumptions.append("no input hash column: stale vectors cannot be detected by hash")
    if not settings.profile.embeddings.model:
        assumptions.append("no model-name column: vectors from another model cannot be counted")
    checks: list[Check] = []
    counts: dict[str, Any] = {}
    stored: dict[str, int] = {}
    dims: dict[str, int | None] = {"profile": settings.dimensions, "column": None, "model": None}
    refusal: str | None = None

    with dbmod.connect(settings.database_url, autocommit=True) as conn:
        known = list_collections(conn, target)
        if collection not in known:
            shown = ", ".join(sorted(known)[:10]) or "none"
            refusal = f"collection {collection!r} has no chunks in {settings.profile.chunks.table}; known collections: {shown}"
            checks.append(Check("collection exists", False, refusal))
        else:
            checks.append(Check("collection exists", True, f"{known[collection]} chunks"))
            counts = collection_state(conn, target, collection, settings.model).as_dict()
            counts.pop("collection", None)
            stored = _stored_models(conn, target, collection)
        row = conn.execute(target.declared_dimensions()).fetchone()
        dims["column"] = row["dims"] if row else None
        if row is None:
            checks.append(Check("vector column exists", False,
                                f"{settings.profile.embeddings.table}.{settings.profile.embeddings.vector} not found"))
        if into and into != collection and into in known:
            into_models = _stored_models(conn, target, into)
            others = {m: n for m, n in into_models.items() if m != settings.model}
            if others:
                refusal = refusal or (f"target collection {into!r} already holds vectors of {_models(others)}; "
                                      "expected a new (empty) collection")

    checks += [Check(*line) for line in contract.lines()]
    provider_ok = _check_provider(settings, checks, dims, probe_retries)
    _check_dimensions(checks, dims, provider_ok)

    if stored and not settings.profile.embeddings.model:
        # Without a model column nothing records which model made the stored vectors: that is no model switch.
        assumptions.append(f"no model-name column: the {sum(stored.values())} stored vectors are taken to be "
                           f"{settings.model}'s")
        stored = {}
    if refusal is None and stored:
        others = {m: n for m, n in stored.items() if m != settings.model}
        if others:
            if not approve_model_change:
                refusal = (f"collection {collection!r} holds {sum(others.values())} vectors of {_models(others)}; "
                           f"switching it to {settings.model} needs --approve-model-change and --into NEW "
                           "(backfill a new collection first, swap later)")
            elif not into or into == collection:
                refusal = (f"--approve-model-change switches {collection!r} from {_models(others)} to {settings.model}: "
                           "give --into NEW, a new collection to backfill first (swap later)")
            else:
                assumptions.append(f"model change approved: {_models(others)} -> {settings.model}, into {into!r}")
    if into and into == collection:
        refusal = refusal or f"--into {into!r} names the collection itself; expected a new collection name"
    return ScopeResult(objective, collection, target_collection, settings.model, inputs_of(settings, collection, target_collection),
                       tuple(assumptions), tuple(checks), counts, stored, dims, refusal, approve_model_change)


def _models(models: dict[str, int]) -> str:
    return ", ".join(f"{m} ({n})" for m, n in sorted(models.items()))


def _stored_models(conn, target: Target, collection: str) -> dict[str, int]:
    """Vectors already stored for the collection, by model name ('unknown' without a model column)."""
    from psycopg import sql

    em = target.profile.embeddings
    model = sql.SQL("coalesce({}::text, 'unknown')").format(target.e(em.model)) if em.model else sql.SQL("'unknown'")
    query = sql.SQL("SELECT {m} AS model, count(*) AS n FROM {j} WHERE {w} AND {v} IS NOT NULL GROUP BY 1").format(
        m=model, j=target.join(), w=target.chunk_filter(), v=target.vector)
    return {r["model"]: int(r["n"]) for r in conn.execute(query, {"collection": collection}).fetchall()}


def _check_provider(settings: Settings, checks: list[Check], dims: dict[str, int | None], retries: int) -> bool:
    p = settings.profile.provider
    try:
        with OllamaProvider(settings.provider_url, settings.model, timeout_s=min(p.timeout_s, 30.0), retries=retries,
                            headers=p.headers, backoff_s=0.1) as provider:
            version = provider.version()
            checks.append(Check("provider answers", True, f"{settings.provider_url} (version {version or '?'})"))
            if not provider.has_model():
                checks.append(Check("provider has the model", False,
                                    f"{settings.model} not found at {settings.provider_url}; pull it or fix EMBED_MODEL"))
                return False
            checks.append(Check("provider has the model", True, settings.model))
            dims["model"] = provider.dimensions()
            return True
    except HarnessError as exc:
        checks.append(Check("provider answers", False, str(exc)))
        return False


def _check_dimensions(checks: list[Check], dims: dict[str, int | None], provider_ok: bool) -> None:
    known = {k: v for k, v in dims.items() if v is not None}
    shown = ", ".join(f"{k} {v}" for k, v in dims.items() if v is not None)
    if not provider_ok and len(known) < 2:
        return
    if len(set(known.values())) > 1:
        checks.append(Check("dimensions agree", False,
                            f"model, vector column and profile disagree ({shown}); expected one dimension, "
                            "nothing written"))
    else:
        checks.append(Check("dimensions agree", True, shown or "none declared"))
