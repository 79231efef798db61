"""Step 3, plan: a machine-checkable plan (plan.json) and the same for people (plan.md) in the run folder."""

from __future__ import annotations

import functools
from collections.abc import Mapping
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .. import db as dbmod
from .. import redact
from ..backfill.selection import Page, iter_batches, measured_needs
from ..checks.outcome import Status
from ..errors import HarnessError
from ..evidence import write_json_atomic
from ..files import atomic_write_text
from ..provider import OllamaProvider
from ..settings import Settings
from ..state import dims_to_measure, needed_why, unknown_if_none, unmeasured_why
from ..target import Target
from . import commandline
from .common import BackfillCommand, backfill_env, shown_env, utc_now
from .scope import ScopeResult, no_collection_dict

if TYPE_CHECKING:
    import jinja2

PROBE_ROWS = 16
CEILING_NOTE = ("This estimate is the provider's ceiling: one batched request of {n} texts. The target's command may "
                "send one text per request and be far slower; set backfill.probe_command (with {{limit}}) to time "
                "the real command.")
DONE_CHECKS = (
    "completed: the backfill ended with exit code 0 and no failed rows",
    "coverage: every chunk has a vector (per collection and tenant), no orphan embeddings",
    "dimensions: column, profile and model agree on the dimension",
    "model: every vector was produced by the configured model",
    "fresh: every input hash equals the hash of the current text (or no chunk changed after its vector); "
    "unproven without either, covered by recompute's bound",
    "recompute: a sample re-embedded now matches the stored vectors (cosine >= 0.99), proving fewer than "
    "verify.max_bad_fraction (default 1%) of rows off at verify.confidence (default 95%)",
    "distinct vectors: no vector stored on two rows whose texts differ (every row)",
    "tenant isolation: every vector sits in its chunk's collection and tenant",
    "sane vectors: no all-zero or non-finite vectors, none whose length pgvector's distances cannot compute with",
    "citations: spot queries return cited rows with the expected source in the top k",
    "index: a vector index with the right operator class is used by the planner",
    "custom: the profile's own SQL assertions hold",
)
LARGE_RUN_ROWS = 100_000
LONG_RUN_SECONDS = 3600


@dataclass(frozen=True)
class Estimate:
    provider: str
    probe_rows: int
    probe_seconds: float
    rows_per_second: float | None
    seconds: float | None
    note: str = ""
    method: str = "provider"  # "command": the target's own probe command; "provider": a batched request (a ceiling)

    @property
    def human(self) -> str:
        if self.seconds is None:
            return "unknown"
        s = self.seconds
        return f"{s:.1f} s" if s < 120 else f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h"


@dataclass(frozen=True)
class Risk:
    level: str  # low / medium / high
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    created_at: str
    profile: str
    objective: str
    collection: str
    target_collection: str
    model: str
    inputs: tuple[dict[str, Any], ...]
    assumptions: tuple[str, ...]
    rows: dict[str, Any]
    estimate: Estimate
    command: str
    command_source: str
    workdir: str
    env: dict[str, str]
    done_checks: tuple[str, ...]
    risk: Risk
    run_dir: str
    files: tuple[str, ...] = field(default_factory=tuple)
    no_collection: dict[str, Any] | None = None  # scope's chunks in no collection (no collection's run selects them)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created_at": self.created_at, "profile": self.profile, "objective": self.objective,
            "collection": self.collection, "target_collection": self.target_collection, "model": self.model,
            "inputs": list(self.inputs), "assumptions": list(self.assumptions), "rows": self.rows,
            "estimate": {**self.estimate.__dict__, "human": self.estimate.human}, "command": self.command,
            "command_source": self.command_source, "workdir": self.workdir, "env": self.env,
            "done_checks": list(self.done_checks), "risk": {"level": self.risk.level, "reasons": list(self.risk.reasons)},
            "run_dir": self.run_dir, "files": list(self.files), "no_collection": self.no_collection,
        }

    def text(self) -> str:
        r = self.rows
        return "\n".join([
            f"Plan for {self.collection}" + (f" -> {self.target_collection}" if self.target_collection != self.collection else ""),
            f"  rows to embed: {r['to_embed']} of {r['chunks']} (missing {r['missing']}, "
            f"stale {unknown_if_none(r['stale'])}, other model {unknown_if_none(r['other_model'])})",
            f"  estimate:      {self.estimate.human}" + (f" ({self.estimate.rows_per_second:.1f} rows/s from a probe of "
                                                          f"{self.estimate.probe_rows}"
                                                          + (" rows by the target's own command)" if self.estimate.method == "command"
                                                             else "; the provider's ceiling, not the command's speed)")
                                                          if self.estimate.rows_per_second else ""),
            f"  command:       {self.command}  ({self.command_source})",
            f"  risk:          {self.risk.level}: {'; '.join(self.risk.reasons)}",
            *([f"  no collection: {self.no_collection['line']}"] if self.no_collection else []),
            f"  written:       {', '.join(self.files)}",
        ])


@functools.cache
def _templates() -> jinja2.Environment:
    import jinja2  # on first use: every command line builds plan's parser, few render a plan

    return jinja2.Environment(loader=jinja2.PackageLoader("harness", "templates"), autoescape=False,
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def probe(settings: Settings, collection: str, texts: list[str]) -> Estimate:
    """Embed one small batch of real texts to measure the provider's speed."""
    p = settings.profile.provider
    url = cast(str, settings.provider_url)  # load_settings requires a provider unless told not to
    if not texts:
        return Estimate(url, 0, 0.0, None, 0.0, "nothing to embed: no probe needed")
    try:
        with OllamaProvider(url, settings.model, timeout_s=p.timeout_s, retries=1,
                            headers=p.headers, request_dimensions=p.request_dimensions) as provider:
            provider.embed(texts[:1])  # warm-up: model load time is not per-row cost
            started = time.perf_counter()
            provider.embed(texts)
            seconds = time.perf_counter() - started
    except HarnessError as exc:
        return Estimate(url, len(texts), 0.0, None, None, f"probe failed: {exc}")
    rate = len(texts) / seconds if seconds > 0 else None
    return Estimate(url, len(texts), seconds, rate, None, CEILING_NOTE.format(n=len(texts)))


def probe_texts(settings: Settings, collection: str, n: int, duplicates: bool = False) -> list[str]:
    """Up to ``n`` texts of rows to embed, read as the engine reads them: under database.session in each tenant's
    view in turn (outside every view the policies may show no row), until ``n`` are found; ``duplicates``: the counts
    found chunks holding a second embedding row, which are rows to embed too."""
    from .. import rls

    profile = settings.profile
    target = Target(profile)
    texts: list[str] = []
    with dbmod.connect(settings.database_url, autocommit=True) as conn:
        tenants = rls.tenants(conn, profile)
        # the rows the counts call needed beyond the profile's rule too (another dimension, a second row)
        needs = measured_needs(dims_to_measure(conn, target, settings.model_dimensions)[0], duplicates)
        for tenant in tenants:
            page = next(iter_batches(conn, target, collection, settings.model, n - len(texts), needs=needs,
                                     scope=functools.partial(rls.scope, conn, profile, tenant)), Page.of([]))
            texts += [r.text for r in page]
            if len(texts) >= n:
                break
    return texts


def probe_command(settings: Settings, scope: ScopeResult, run_dir: Path, command: BackfillCommand, to_embed: int,
                  rows: int = PROBE_ROWS) -> Estimate | str:
    """Time the target's own ``backfill.probe_command`` on ``rows`` and then ``2 * rows`` rows, counting in the
    database what each embedded; the difference separates start-up from per-row cost. A reason (str) when it cannot."""
    from .run import run_command

    template = cast(str, settings.profile.backfill.probe_command)  # plan calls this only when one is set
    runs = []
    for i, limit in enumerate((rows, 2 * rows)):
        # {limit} is our own integer; the collection names go in as whole arguments, never through a shell.
        argv = commandline.build_argv(template.replace("{limit}", str(limit)),
                                      {"collection": scope.collection, "into": scope.target_collection})
        text = commandline.shown(argv)
        evidence = run_command(settings, scope.collection, run_dir / f"probe-{i + 1}",
                               BackfillCommand(text, "profile backfill.probe_command", command.workdir, tuple(argv)),
                               target_collection=scope.target_collection,
                               timeout_s=min(settings.profile.backfill.timeout_s, 600))
        before, after = evidence.counts_before, evidence.counts_after
        done = (before.get("needed") or 0) - (after.get("needed") or 0) if "error" not in before | after else 0
        if evidence.exit_code != 0 or done <= 0:
            return (f"probe command {redact.redact(text)!r} " + (f"exited with {evidence.exit_code}" if evidence.exit_code
                    else "embedded no row (measured in the database)"))
        runs.append((done, evidence.seconds))
    (n1, t1), (n2, t2) = runs
    per_row = (t2 - t1) / (n2 - n1) if n2 > n1 and t2 > t1 else (t1 + t2) / (n1 + n2)
    startup = max(0.0, t1 - n1 * per_row)
    remaining = max(0, to_embed - n1 - n2)
    return Estimate(f"command: {redact.redact(template)}", n1 + n2, t1 + t2, 1 / per_row if per_row > 0 else None,
                    t1 + t2 + (startup + remaining * per_row if remaining else 0.0),
                    f"timed the target's own probe command on {n1} then {n2} rows (counted in the database): "
                    f"{startup:.2f} s start-up, {per_row * 1000:.1f} ms per row; those {n1 + n2} rows are already "
                    "embedded for real", method="command")


def risk_of(scope: ScopeResult, rows: dict[str, Any], estimate: Estimate, command: BackfillCommand) -> Risk:
    reasons, level = [], 0
    if scope.approve_model_change:
        level = 2
        if scope.target_collection != scope.collection:
            reasons.append(f"approved model change: the new vectors go to {scope.target_collection}, a swap follows")
        else:  # --approve-model-change without --into: the live vectors themselves are overwritten
            reasons.append(f"approved model change in place: the vectors of another model in {scope.collection} are "
                           "overwritten; the application searches a mix of models until the run ends")
    if rows.get("other_model"):
        level = max(level, 2)
        reasons.append(f"{rows['other_model']} vectors of another model would be replaced")
    if rows.get("stale"):
        level = max(level, 1)
        reasons.append(f"{rows['stale']} stale vectors will be overwritten")
    if rows["to_embed"] >= LARGE_RUN_ROWS:
        level = max(level, 1)
        reasons.append(f"{rows['to_embed']} rows is a large run")
    if estimate.seconds and estimate.seconds > LONG_RUN_SECONDS:
        level = max(level, 1)
        reasons.append(f"estimated {estimate.human}: schedule a maintenance window, consider a smaller batch size")
    if command.source == "found by locate":
        level = max(level, 1)
        reasons.append("the command was found by locate, not declared in the profile")
    if not scope.dimensions.get("profile"):
        level = max(level, 1)
        reasons.append("the profile declares no dimension")
    for check in scope.checks:  # a command that may call a language model the provider here does not serve
        if check.check == "command needs only the embedder" and check.status == Status.UNPROVEN:
            level = max(level, 1)
            reasons.append(check.note)
    if not reasons:
        reasons.append(risk_reason_when_quiet(rows, engine=command.source == "engine", counts=scope.counts))
    return Risk(("low", "medium", "high")[level], tuple(reasons))


def risk_reason_when_quiet(rows: dict[str, Any], engine: bool = True, counts: Mapping[str, Any] | None = None) -> str:
    """The reason given when nothing raises the risk: what the run adds and replaces (the stored vectors it counts
    needed: ``counts`` say why), and what no count can call current. Only the engine is known to leave the other
    vectors untouched; a target's own command decides that itself."""
    unknown = rows["chunks"] - rows["to_embed"] if rows.get("current") is None else rows.get("untimed") or None
    replaced = rows["to_embed"] - rows.get("missing", 0)
    said = ("nothing to embed" if not rows["to_embed"] and not unknown
            else "nothing counted as needing a vector" if not rows["to_embed"]
            else "only missing vectors are added; existing vectors are untouched" if engine and not replaced
            else (f"{rows.get('missing', 0)} missing vectors are added and {replaced} stored ones replaced"
                  f"{needed_why(counts or {})}; the other vectors are untouched") if engine
            else (f"{rows['to_embed']} rows need a vector; what else the target's own command writes is its own and "
                  "not known before it runs (run and verify measure the rows afterwards)"))
    if unknown:
        # The engine re-embeds only what it counts; a target's own command may re-embed any of them (Haystack's
        # indexing script overwrites every document it reads).
        said += (f"; {unknown} stored vectors whether current unknown ({unmeasured_why(rows)}): verify's recompute "
                 "measures them" + (", a run re-embeds none of them" if engine else ""))
    return said


def make_plan(settings: Settings, scope: ScopeResult, run_dir: str | Path, command: BackfillCommand,
              probe_rows: int = PROBE_ROWS) -> Plan:
    """Measure, decide and write plan.json + plan.md into the run folder (the scope must be ok)."""
    run_dir = Path(run_dir)
    c = scope.counts
    # A vector is current only where staleness and model are both measured (unknown: None, never counted current);
    # where timestamps alone measure staleness, the untimed vectors are neither current nor to embed.
    # A hash (or time) another vector column's writes set too proves neither vector current (``state.unmeasured``).
    known = c.get("stale") is not None and c.get("other_model") is not None and not c.get("beside")
    rows = {"chunks": c.get("chunks", 0), "to_embed": c.get("needed", 0), "missing": c.get("missing", 0),
            "stale": c.get("stale"), "other_model": c.get("other_model"),
            "current": c.get("chunks", 0) - c.get("needed", 0) - c.get("no_text", 0) - c.get("untimed", 0)
            if known else None, "untimed": c.get("untimed", 0)}
    if c.get("beside"):
        rows["beside"] = list(c["beside"])
    measured = (probe_command(settings, scope, run_dir, command, rows["to_embed"])
                if settings.profile.backfill.probe_command and rows["to_embed"] else None)
    if isinstance(measured, Estimate):
        estimate = measured
    else:
        estimate = probe(settings, scope.collection, probe_texts(settings, scope.collection,
                                                                min(probe_rows, settings.batch_size),
                                                                duplicates=bool(c.get("duplicates"))))
        if estimate.rows_per_second:
            estimate = Estimate(estimate.provider, estimate.probe_rows, estimate.probe_seconds, estimate.rows_per_second,
                                rows["to_embed"] / estimate.rows_per_second,
                                (f"{measured}; " if measured else "") + estimate.note)
    env = shown_env(backfill_env(settings, scope.collection, scope.target_collection))
    plan = Plan(
        created_at=utc_now(), profile=settings.profile.name, objective=scope.objective, collection=scope.collection,
        target_collection=scope.target_collection, model=settings.model,
        inputs=tuple({"name": i.name, "value": i.value, "source": i.source} for i in scope.inputs),
        assumptions=scope.assumptions, rows=rows, estimate=estimate, command=redact.redact(command.command),
        command_source=command.source, workdir=command.workdir or ".", env=env, done_checks=DONE_CHECKS,
        risk=risk_of(scope, rows, estimate, command), run_dir=str(run_dir),
        files=(str(run_dir / "plan.json"), str(run_dir / "plan.md")), no_collection=no_collection_dict(scope.no_collection),
    )
    write_json_atomic(run_dir / "plan.json", plan.as_dict())
    text = _templates().get_template("plan.md.j2").render(p=_Dot(plan.as_dict()))
    _write_text(run_dir / "plan.md", redact.redact(text))
    return plan


class _Dot(dict):
    """Attribute access for the template over plan.as_dict()."""

    def __getattr__(self, name):
        value = self[name]
        return _Dot(value) if isinstance(value, dict) else value


def _write_text(path: Path, text: str) -> None:
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise HarnessError(f"cannot write {path}: {exc.strerror or exc}; expected a writable folder with free space") from None
