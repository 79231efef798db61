"""Step 1, scope: restate the objective, resolve the inputs with their sources, check the assumptions.

Nothing is written. A dimension mismatch, an unknown collection or an
unapproved model switch is caught here, before any other step runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from .. import db as dbmod
from .. import accepts, rls
from ..checks.no_collection import NoCollection, measure
from ..checks.outcome import PASS, Outcome, Status, unproven, verdict
from ..introspect import proof_shared_with, require_names
from ..preflight import preflight
from ..errors import ConfigError, HarnessError, ProviderError
from ..provider import OllamaProvider
from ..settings import Settings
from ..state import (UNKNOWN_MODEL, dimension_switch, dims_to_measure, unknown_if_none, no_chunks, unmeasured, unmeasured_why, into_new, collection_counts, model_switch, other_models, stored_dimensions,
                     stored_models, text_presence, zero_padded)
from ..target import Target
from .common import BackfillCommand
from .contract_check import check_contract as contract_of

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
_MARKS = {Status.PASSED: "ok", Status.FAILED: "FAIL", Status.SKIPPED: "skip", Status.UNPROVEN: "unproven"}


@dataclass(frozen=True)
class Input:
    name: str
    value: Any
    source: str


@dataclass(frozen=True)
class ScopeResult:
    objective: str
    collection: str
    target_collection: str
    model: str
    inputs: tuple[Input, ...]
    assumptions: tuple[str, ...]
    checks: tuple[Outcome, ...]
    counts: dict[str, Any] = field(default_factory=dict)
    stored_models: dict[str, int] = field(default_factory=dict)
    dimensions: dict[str, Any] = field(default_factory=dict)  # profile, column, model; stored (by dimension) if untyped
    refusal: str | None = None
    approve_model_change: bool = False
    no_collection: NoCollection | None = None  # chunks no collection selects (chunks.collection NULL), if any

    @property
    def ok(self) -> bool:
        """No refusal and no failed check (an unproven one is said, not failed)."""
        return self.refusal is None and not any(c.status == Status.FAILED for c in self.checks)

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
        failed = [c for c in self.checks if c.status == Status.FAILED]
        return "; ".join(f"{c.check}: {c.found}" for c in failed) or None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "exit_code": self.exit_code, "reason": self.reason, "objective": self.objective,
            "collection": self.collection, "target_collection": self.target_collection, "model": self.model,
            "inputs": [i.__dict__ for i in self.inputs], "assumptions": list(self.assumptions),
            "checks": [c.as_dict() for c in self.checks], "counts": self.counts, "stored_models": self.stored_models,
            "dimensions": self.dimensions, "refusal": self.refusal, "approve_model_change": self.approve_model_change,
            "no_collection": no_collection_dict(self.no_collection),
        }

    def text(self) -> str:
        lines = [f"Objective: {self.objective}", "", "Inputs:"]
        lines += [f"  {i.name:<18} {_show(i.value):<40} ({i.source})" for i in self.inputs]
        lines += ["", "Assumptions:"] + [f"  - {a}" for a in self.assumptions]
        lines += ["", "Checks:"] + [f"  [{_MARKS[c.status]}] {c.check}: {c.found or c.note}" for c in self.checks]
        if self.counts:
            lines += ["", "Counts: " + ", ".join(f"{k} {unknown_if_none(v)}" for k, v in self.counts.items()
                                                 if k != "collection")]
        lines.append("")
        if self.refusal:
            lines.append(f"REFUSED: {self.refusal}")
        elif not self.ok:
            lines.append(f"Scope FAILED: {self.reason}")
        else:
            lines.append(ok_line(self.counts, self.target_collection))
        return "\n".join(lines)


def no_collection_line(found: NoCollection) -> str:
    """The one line scope and plan say about the chunks in no collection."""
    return (f"{found.line()}: no collection selects them, so no backfill embeds them and no check reads them; "
            f"{found.remedy}")


def no_collection_dict(found: NoCollection | None) -> dict[str, Any] | None:
    """The chunks in no collection as scope's and plan's JSON give them (None where there are none)."""
    if found is None:
        return None
    return {"chunks": found.chunks, "with_vector": found.with_vector, "first_keys": [_plain(k) for k in found.keys],
            "why": found.where, "line": no_collection_line(found)}


def _plain(value: Any) -> Any:
    return value if isinstance(value, (int, float, str)) else str(value)


def ok_line(counts: dict[str, Any], target: str) -> str:
    """Scope's closing line when its gate is open: the rows to embed, and the stored vectors no count can call current."""
    line = f"Scope ok: {counts.get('needed', 0)} rows to embed into {target}."
    if unknown := unmeasured(counts):
        line += (f" {unknown} stored vectors whether current unknown ({unmeasured_why(counts)}): verify's recompute "
                 "measures them")
    return line


def _named(schema: str, table: str) -> str:
    """A table as the user finds it: schema-qualified outside public."""
    return table if schema == "public" else f"{schema}.{table}"


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
          probe_retries: int = 1, check_provider: bool = True, check_contract: bool = True,
          command: BackfillCommand | None = None) -> ScopeResult:
    """Resolve and check everything the run depends on; write nothing.

    ``check_provider=False`` leaves the provider alone (the gate: only the database's evidence decides there).
    ``command``: the command that will run, whose contract is checked (default: the profile's backfill.command).
    """
    target = Target(settings.profile)
    target_collection = into or collection
    objective = (
        f"Embed every chunk of collection {collection!r} that is missing, stale or from another model with "
        f"{settings.model}" + (f" into the new collection {into!r}" if into else "")
        + ", and prove it with the DONE checks."
    )
    ch, em = settings.profile.chunks, settings.profile.embeddings
    assumptions = [
        f"the chunk table {_named(ch.schema, ch.table)} is the source of truth for {collection!r}",
        f"vectors go to {_named(em.schema, em.table)}.{em.vector}",
        f"{settings.model} at {settings.provider_url} is the model the application queries with",
    ]
    # What the target's own command reads, checked before anything runs (the engine never runs that command).
    contract = contract_of(settings, collection, into, command=command) if check_contract else None
    if contract is not None:
        assumptions += contract.assumptions
    else:
        assumptions.append("the harness's engine embeds: the target's own backfill command is not run, so its "
                           "environment contract is not checked")
    if not em.input_hash:
        assumptions.append("no input hash column: stale vectors cannot be detected by hash")
    else:
        label = target.hash_algorithm.label
        assumptions.append(f"{em.table}.{em.input_hash} holds the {label} of each text as stored "
                           f"(embeddings.input_hash_algorithm {em.input_hash_algorithm}); the engine writes the {label} there")
    if not em.model and em.model_value:
        assumptions.append(f"no model-name column: the profile declares every stored vector was made by {em.model_value} "
                           "(embeddings.model_value)")
    elif not em.model:
        assumptions.append("no model-name column: the model of stored vectors is unknown; verify's recompute shows a "
                           "real model switch as low cosine")
    checks: list[Outcome] = []
    counts: dict[str, Any] = {}
    stored: dict[str, int] = {}
    written: dict[str, int] = {}
    dims: dict[str, int | None] = {"profile": settings.dimensions, "column": None, "model": None}
    stored_dims: dict[str, int] | None = None  # measured where the column declares no dimension
    measured_dims: int | None = None  # the dimension the counts compare each vector with (state.dims_to_measure)
    refusal: str | None = None

    def check(name: str, ok: bool, found: str, expected: str = "") -> None:
        checks.append(verdict(name, target_collection, ok, expected, found))

    with dbmod.connect(settings.database_url, autocommit=True) as conn:
        require_names(conn, target.profile)  # a table or column the profile names but the database lacks: its key
        proofs = [c for c in (em.input_hash, em.written_at if ch.updated_at else None) if c]
        if beside := proof_shared_with(conn, target.profile):
            assumptions.append(f"{' and '.join(proofs)} is beside another vector column of the same rows "
                               f"({', '.join(beside)}): a write of that vector sets it too, so a vector of {em.vector} "
                               "counted current may embed an older text (verify's fresh is unproven; recompute samples)")
        tenants = rls.tenants(conn, target.profile)  # row-level security: read each tenant's view, add them up
        listed = rls.across(conn, target.profile, tenants, lambda: collection_counts(conn, target))
        # Chunks in no collection (under None) are no collection's: said once, in numbers, whichever is scoped.
        nowhere = measure(target, rls.views(conn, target.profile, tenants)) if None in listed else None
        known = {name: n for name, n in listed.items() if name is not None}
        if collection not in known:
            securities = rls.inspect(conn, target.profile)
            hidden = rls.outcome(securities, target.profile, target_collection) if rls.applies(securities) else None
            if hidden is not None and hidden.status != PASS:
                # Not "no chunks": rows the policies hide from this role; say which setting would show them.
                shown = ", ".join(sorted(known)[:10]) or "none"
                refusal = (f"collection {collection!r} shows no chunks to role {securities[0].role} in "
                           f"{settings.profile.chunks.table} (known collections visible to role {securities[0].role}: "
                           f"{shown}); {hidden.note or hidden.found}")
            else:
                refusal = no_chunks(collection, target.profile, known)
            check("collection exists", False, refusal, "a collection with chunks")
            if hidden is not None:
                checks.append(hidden)
        else:
            check("collection exists", True, f"{known[collection]} chunks")
            # The collection the run fills: --into NEW copies the chunks without vectors, so each needs one there
            # (the engine's rule too); a NEW already begun (a resumed run) is counted as it stands.
            measured_dims = dims_to_measure(conn, target, settings.model_dimensions)[0]
            counted = rls.visible_state(conn, target, target_collection if target_collection in known else collection,
                                        settings.model, tenants, dims=measured_dims)
            counts = (counted if target_collection in known else into_new(counted, target_collection)).as_dict()
            counts.pop("collection", None)
            if (part := rls.completeness(conn, target, collection, tenants)) is not None:
                checks.append(part)  # the counts above are only the listed tenants' rows
            stored = rls.across(conn, target.profile, tenants, lambda: stored_models(conn, target, collection))
            texts = rls.across(conn, target.profile, tenants, lambda: text_presence(conn, target, collection))
            # Every text empty is a profile naming the wrong column or JSON key: embedding '' would pass for done.
            chunks_seen, named = texts.get("chunks", 0), ", ".join(settings.profile.chunks.text)
            if "empty" in texts:
                with_text = chunks_seen - texts["empty"]
                found = f"{with_text} of {chunks_seen} chunks have a text" + (
                    f" ({texts['empty']} empty: nothing to embed)" if texts["empty"] else "")
            else:
                with_text = texts.get("some_text", 0)
                found = (f"chunks have a text (empty ones not counted with chunks.text_format "
                         f"{settings.profile.chunks.text_format})" if with_text else f"0 of {chunks_seen} chunks have a text")
            check("chunk text", with_text > 0 or not chunks_seen,
                  found + ("" if with_text > 0 else f" in chunks.text {named}"), "a non-empty text in the chunks")
        row = conn.execute(target.declared_dimensions()).fetchone()
        dims["column"] = row["dims"] if row else None
        measured = into if into and into in known else collection
        if row is not None and dims["column"] is None and (into or collection) in known:
            # An untyped column takes any dimension: what the collection a run writes holds is measured, not declared
            # (--into NEW leaves the live one's vectors as they are, whatever their dimension).
            stored_dims = rls.across(conn, target.profile, tenants, lambda: stored_dimensions(conn, target, measured))
        # Preflight: NOT NULL columns left empty, defaults, write path, --into shape, row-level security, stored
        # hashes (it reads rows of the collection: for one that does not exist, whatever its name, scope has failed).
        engine = (command.source == "engine") if command is not None else not settings.profile.backfill.command
        if collection in known:
            before = preflight(conn, target, collection, model=settings.model, dims=settings.dimensions, into=into,
                               copies=bool(into) and into not in known, tenants=tenants)
            own = command.command if command is not None else settings.profile.backfill.command
            checks += before if engine or not own else [accepts.beside_command(o, own) for o in before]
        if engine:
            # What the engine's run asks first (its triggers' needs included): refused there, so failed here.
            from ..backfill.privileges import lacking

            lacks = lacking(conn, target)
            check("privileges", lacks is None, lacks or "the role holds every privilege a run uses",
                  "the privileges a backfill uses")
        from ..backfill.indexes import pending
        from ..backfill.unindexed import unindexed_keys
        from ..checks.live import copy_stopped

        for name in pending(conn, target):  # a bulk load dropped it and could not rebuild it
            assumptions.append(f"WARNING: vector index {name} is missing (dropped for a bulk load, not rebuilt); "
                               f"expected it rebuilt with backfill-harness indexes restore --profile {settings.profile.path or 'P'}")
        if into and (stopped := copy_stopped(conn, target, into)):  # a killed --into run; the next one resumes it
            assumptions.append(f"WARNING: {stopped}")
        if collection in known:
            assumptions += [f"WARNING: {slow}" for slow in unindexed_keys(conn, target, tenants)]
        if row is None:
            check("vector column exists", False, f"{em.table}.{em.vector} not found", "the profile's vector column")
        if into and into != collection:
            written = rls.across(conn, target.profile, tenants, lambda: stored_models(conn, target, into)) if into in known else {}
        else:
            written = stored

    if contract is not None:
        checks += contract.outcomes
    provider_ok = check_provider and _check_provider(settings, checks, dims, probe_retries, target_collection)
    if dims["model"] is None and settings.dimensions is None and measured_dims is not None:
        # The model's own dimension, asked for the counts where the profile names none and the column takes any: the
        # dimension a switch is measured against where the provider is not checked (the gate).
        dims["model"] = measured_dims
    padded = None
    model_dims, column_dims = dims.get("model"), dims.get("column")
    pad_to = settings.profile.embeddings.pad_to
    if pad_to is not None:
        model_dims = settings.profile.provider.dimensions  # the profile requires it below pad_to
    if measured in known and (pad_to is not None or (provider_ok and model_dims and column_dims
                                                     and model_dims < column_dims)):
        # A column wider than the model: are the stored vectors the model's, zero-padded by the application?
        with dbmod.connect(settings.database_url, autocommit=True) as conn:
            padded = rls.across(conn, target.profile, tenants,
                                lambda: zero_padded(conn, target, measured, cast(int, model_dims), width=pad_to))
    _check_dimensions(checks, dims, provider_ok, target_collection, stored_dims, padded, pad_to, approve_model_change)
    shown_dims: dict[str, Any] = {**dims, **({"stored": stored_dims} if stored_dims is not None else {}),
                                  **({"zero_padded": padded} if padded is not None else {})}

    unknown = written.get(UNKNOWN_MODEL, 0)
    if unknown:
        checks.append(unproven(
            "stored model", target_collection,
            f"{unknown} stored vectors carry no model name (no embeddings.model column or embeddings.model_value): "
            "a switch from another model cannot be seen here; verify's recompute shows one as low cosine"))
    if into and into == collection:
        refusal = refusal or f"--into {into!r} names the collection itself; expected a new collection name"
    if refusal is None and collection in known:
        refusal = model_switch(written, settings.model, collection, into=into, approve=approve_model_change)
        others = other_models(stored if into else written, settings.model)
        if refusal is None and others:
            shown = ", ".join(f"{m} ({n})" for m, n in sorted(others.items()))
            if into:
                assumptions.append(f"model change {shown} -> {settings.model} into the new collection {into!r}; "
                                   f"{collection!r} is untouched until a swap")
            else:
                assumptions.append(f"model change approved: {shown} -> {settings.model}, replaced in place in "
                                   f"{collection!r}")
    if nowhere is not None:
        assumptions.append(no_collection_line(nowhere))
    return ScopeResult(objective, collection, target_collection, settings.model, inputs_of(settings, collection, target_collection),
                       tuple(assumptions), tuple(checks), counts, stored, shown_dims, refusal, approve_model_change, nowhere)


def _check_provider(settings: Settings, checks: list[Outcome], dims: dict[str, int | None], retries: int,
                    collection: str) -> bool:
    p = settings.profile.provider
    url = cast(str, settings.provider_url)  # load_settings requires a provider unless told not to
    native: int | None = None  # the model's own dimension, asked beside a truncation (provider.request_dimensions)
    try:
        with OllamaProvider(url, settings.model, timeout_s=min(p.timeout_s, 30.0), retries=retries,
                            headers=p.headers, backoff_s=0.1, request_dimensions=p.request_dimensions) as provider:
            version = provider.version()
            checks.append(verdict("provider answers", collection, True, "",
                                  f"{settings.provider_url} (version {version or '?'})"))
            if not provider.has_model():
                checks.append(verdict("provider has the model", collection, False, f"{settings.model} served",
                                      f"{settings.model} not found at {settings.provider_url}; pull it or fix EMBED_MODEL"))
                return False
            checks.append(verdict("provider has the model", collection, True, "", settings.model))
            dims["model"] = provider.dimensions()
            if p.request_dimensions is not None:
                native = provider.native_dimensions()
                if native > p.request_dimensions and not _truncates(provider, checks, p.request_dimensions, collection):
                    return False
    except HarnessError as exc:
        checks.append(verdict("provider answers", collection, False, "an answering provider", str(exc)))
        return False
    if p.request_dimensions is not None and native is not None:
        if native <= p.request_dimensions:
            raise ConfigError(f"profile key 'provider.request_dimensions' ({p.request_dimensions}) must be below the "
                              f"dimension of model {settings.model!r}, {native}; expected a positive integer below "
                              f"{native} (Ollama truncates only below it)")
        dims["native"] = native
    return True


def _truncates(provider: OllamaProvider, checks: list[Outcome], n: int, collection: str) -> bool:
    """Whether the provider answers ``dimensions: n`` with vectors of n values, measured on one embedding: /api/show
    states the model's own dimension only, and an Ollama that predates ``dimensions`` ignores it."""
    expected = f"vectors of {n} dimensions for dimensions: {n} (provider.request_dimensions)"
    try:
        got = int(provider.embed(["dimension probe"]).vectors.shape[1])
    except ProviderError as exc:
        checks.append(verdict("provider truncates", collection, False, expected, str(exc)))
        return False
    checks.append(verdict("provider truncates", collection, True, expected, f"{got} dimensions"))
    return True


def _check_dimensions(checks: list[Outcome], dims: dict[str, int | None], provider_ok: bool, collection: str,
                      stored: dict[str, int] | None = None, padded: dict[str, int] | None = None,
                      pad_to: int | None = None, approve: bool = False) -> None:
    native = dims.get("native")
    known = {k: v for k, v in dims.items() if v is not None and k != "native"}
    shown = ", ".join(f"{k} {v}" + (f" (vector({pad_to}), padded with zeros: embeddings.pad_to)"
                                    if k == "column" and pad_to and v == dims.get("profile") else "")
                     for k, v in dims.items() if v is not None and k != "native")
    if native is not None:
        shown += (f" (the model's vectors truncated to {dims['profile']} and re-normalised: "
                  f"provider.request_dimensions; the model's own {native})")
    unpadded = padded["vectors"] - padded["padded"] if pad_to and padded else 0
    if stored:
        shown += (", " if shown else "") + "stored " + ", ".join(f"{d} ({n} vectors)" for d, n in sorted(stored.items()))
    expected = next(iter(set(known.values()))) if len(set(known.values())) == 1 else None
    odd = {d: n for d, n in (stored or {}).items() if expected is not None and int(d) != expected}
    if not provider_ok and len(known) < 2 and not odd:
        return
    if len(set(known.values())) > 1:
        said = ""
        if padded and padded["padded"]:
            said = (f"; {padded['padded']} of {padded['vectors']} stored vectors are zeros beyond dimension "
                    f"{dims['model']}: the application pads the model's vectors to the column; if it always does, "
                    f"say so (embeddings.pad_to: {dims['column']} with provider.dimensions: {dims['model']}) and the "
                    "engine writes them padded the same way")
        elif dims.get("model") and dims.get("column") and cast(int, dims["model"]) < cast(int, dims["column"]):
            said = (f"; the column is wider than the model: if the application pads the model's vectors with zeros "
                    f"to it, say so (embeddings.pad_to: {dims['column']} with provider.dimensions: {dims['model']})")
        elif dims.get("model") and dims.get("column") and cast(int, dims["model"]) > cast(int, dims["column"]) \
                and native is None:
            said = (f"; the column is narrower than the model: if the application asks Ollama for its vectors "
                    f"truncated (Matryoshka: dimensions: {dims['column']} in its /api/embed call), say so "
                    f"(provider.request_dimensions: {dims['column']})")
        checks.append(verdict("dimensions agree", collection, False, "one dimension",
                              f"model, vector column and profile disagree ({shown}){said}"))
    elif unpadded and provider_ok:  # the gate (no provider asked) lets backfill --keys-from repair them, as for `odd`
        checks.append(verdict("dimensions agree", collection, False, f"every stored vector zeros beyond {dims['profile']}",
                              f"{unpadded} of {cast(dict, padded)['vectors']} stored vectors are not zeros beyond "
                              f"dimension {dims['profile']} ({shown}): not the model's vectors padded to {pad_to}; "
                              "verify lists them (check dimensions), then backfill --keys-from re-embeds them"))
    elif odd:
        # The untyped column holds vectors the model cannot have made: the app's queries fail on them ("different
        # vector dimensions"). Beside the model's own they are needed rows; all of them are another model's.
        listed = ", ".join(f"{n} stored vectors of {d} dimensions" for d, n in sorted(odd.items()))
        switch = dimension_switch(cast(dict, stored), cast(int, expected), collection, approve=approve)
        checks.append(verdict("dimensions agree", collection, switch is None, f"every stored vector of {expected} dimensions",
                              switch or f"{listed} in an untyped vector column ({shown}): each is counted needed, and "
                              "a run re-embeds it"))
    else:
        checks.append(verdict("dimensions agree", collection, True, "", shown or "none declared"))
