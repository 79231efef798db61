"""Benchmark: backfill, DONE checks and swap at growing collection sizes (default 200,000, 1,000,000 and 2,000,000
chunks of 384 dimensions), reporting for each stage its time, rows/s and the harness's peak RSS at each size, the
growth between sizes, and the time extrapolated to 10,000,000 with that growth.

    python bench_scale.py [--rows N ...] [--stages backfill checks swap]

At each size, each stage runs in a child process of its own (so its peak RSS is its own) against one database whose
chunks are generated inside Postgres: ``backfill`` embeds the collection with a cheap in-process embedder;
``checks`` runs every DONE check on it (``harness.checks``, as ``verify`` does), re-embedding its samples through
an Ollama-compatible server in a process of its own that serves the same cheap embedder; ``swap`` fills
``bench_v2`` with ``backfill --into`` (the chunks copied in pieces, every vector reused: the model is unchanged)
and swaps it in (the gate's checks on ``bench_v2``, then the relabelling of both collections). The database is
dropped before the next size. Needs about 8 GB of disk per million rows with ``swap`` (two collections, and the
relabelled rows' new versions), 2 GB without. The table has no vector index: its build is measured elsewhere.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator

import numpy as np
import psycopg

from _engine_stack import COLLECTION, MODEL, REPO, header, postgres, profile

from examples.ragapp.app import SCHEMA
from harness import db
from harness.backfill import BackfillOptions, run_backfill, swap
from harness.checks import PER_COLLECTION, CheckOptions, open_session
from harness.embedserver import EmbeddingServer
from harness.embedserver.models import Embedded, ModelInfo
from harness.provider import EmbedResult
from harness.settings import resolve
from harness.target import Target

STAGES = ("backfill", "checks", "swap")
NEW = "bench_v2"


class CheapEmbedder:
    """An instant embedder that keeps nothing per text: each text's vector is the sum of four rows of small fixed
    tables picked by 12-bit pieces of its 64-bit BLAKE2b, normalised: different texts get different vectors (2**48
    combinations) and memory does not grow with the collection. The engine calls it in-process; the checks'
    server serves it under the profile's model name, so re-embedded samples match what was stored."""

    url = "http://cheap.invalid"  # never contacted: the engine takes this object as its provider

    def __init__(self, dims: int = 384, table_rows: int = 4096):
        self.model, self.dims = MODEL, dims
        self.tables = np.random.default_rng(11).standard_normal((4, table_rows, dims)).astype(np.float32)
        self.info = ModelInfo(MODEL, "bench", dims, 2048, "0", "the scale benchmark's cheap embedder")

    def vectors(self, texts) -> np.ndarray:
        keys = np.array([int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little") for t in texts],
                        dtype=np.uint64)
        rows = np.uint64(self.tables.shape[1])
        picks = [((keys >> np.uint64(12 * i)) % rows).astype(np.int64) for i in range(4)]
        out = np.take(self.tables[0], picks[0], axis=0)
        for table, pick in zip(self.tables[1:], picks[1:]):
            out += np.take(table, pick, axis=0)  # one gathered batch at a time: the engine embeds several at once
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out

    def dimensions(self, model: str | None = None) -> int:
        return self.dims

    def embed(self, texts, *, truncate: bool = True) -> EmbedResult:
        """The provider's answer, as the engine takes it (the server's model is ``_ServedModel``)."""
        return EmbedResult(self.vectors(texts), MODEL, 0, 0.0, 1)


class _ServedModel:
    """The cheap embedder as the embedding server's model."""

    def __init__(self) -> None:
        self.embedder = CheapEmbedder()
        self.info = self.embedder.info

    def embed(self, texts: list[str], truncate: bool = True) -> Embedded:
        return Embedded(self.embedder.vectors(texts), sum(len(t.split()) for t in texts), 0)


def serve() -> None:
    """Child: the Ollama-compatible server answering for the cheap embedder under the profile's model name."""
    server = EmbeddingServer(models=[MODEL])
    server.registry.preload(MODEL, _ServedModel())
    print(server.url, flush=True)
    server.serve_forever()


def load_chunks(dsn: str, rows: int) -> None:
    """The demo schema without its vector index, and ``rows`` chunks generated in SQL (nothing built in Python), eight
    to a source (title and URL): a collection of one source would leave citations nothing to prove (every search finds it)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA.read_text())
        conn.execute("DROP INDEX document_embeddings_embedding_idx")
        conn.execute("INSERT INTO documents (collection, title, url, body) VALUES (%s, 'bench', 'https://example.invalid', '')",
                     (COLLECTION,))
        conn.execute(
            "INSERT INTO document_chunks (document_id, collection, chunk_index, content, title, url) "
            "SELECT 1, %s, i, 'chunk ' || i || ': backfill benchmark text about postgres vectors, batch pipelines and row ' "
            "|| (i::bigint * 7919 %% 10007), 'bench ' || i / 8, 'https://example.invalid/doc/' || i / 8 FROM generate_series(0, %s - 1) AS i",
            (COLLECTION, rows))
        conn.execute("VACUUM ANALYZE")


def run_stage(stage: str, dsn: str, batch_size: int, server_url: str) -> dict:
    """Child: one stage at one size; its figures (seconds, rows, peak RSS) as one dict."""
    embedder = CheapEmbedder()
    settings = resolve(profile(), database_url=dsn, provider_url=server_url)
    started = time.perf_counter()
    if stage == "backfill":
        summary = run_backfill(settings, BackfillOptions(COLLECTION, batch_size=batch_size, progress=False), provider=embedder)
        assert summary.ok and summary.after is not None and summary.after.needed == 0, summary.line()
        result = {"rows": summary.embedded, "write_seconds": summary.write_seconds}
    elif stage == "checks":
        session = open_session(settings, CheckOptions(collections=(COLLECTION,), statement_timeout_ms=3_600_000))
        try:
            outcomes = [check(session, COLLECTION) for check in PER_COLLECTION.values()]
            result = {"rows": session.onepass().rows, "pass_seconds": session.onepass().seconds,
                      "statuses": sorted(f"{o.check} {o.status}" for o in outcomes)}
        finally:
            session.close()
        # A benchmark of checks that fail on a healthy collection would time the wrong work; ``index`` fails
        # rightly (the table has no vector index, by design here).
        bad = [o for o in outcomes if str(o.status) in ("failed", "unproven") and o.check != "index"]
        assert not bad, [f"{o.check}: {o.status}: {o.found} {o.note}" for o in bad]
    else:
        summary = run_backfill(settings, BackfillOptions(COLLECTION, into=NEW, batch_size=batch_size, progress=False),
                               provider=embedder)
        assert summary.ok and summary.reused == summary.copied and summary.embedded == 0, summary.line()
        into_seconds = time.perf_counter() - started
        into_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with db.connect(dsn, autocommit=True) as conn, db.connect(dsn, autocommit=True) as lock_conn:
            swapped = swap(conn, lock_conn, Target(settings.profile), NEW, COLLECTION, settings)
        result = {"rows": summary.copied, "into_seconds": into_seconds, "gate_and_relabel_seconds":
                  time.perf_counter() - started - into_seconds, "swapped": swapped.chunks, "into_peak_rss_mb": into_rss}
    return {**result, "seconds": time.perf_counter() - started,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


@contextlib.contextmanager
def cheap_server() -> Iterator[str]:
    """The Ollama-compatible server serving the cheap embedder, in a process of its own; yields its URL."""
    proc = subprocess.Popen([sys.executable, __file__, "--serve"], cwd=REPO / "bench", stdout=subprocess.PIPE, text=True)
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, action="append", help="collection sizes (default 200000, 1000000, 2000000)")
    ap.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    ap.add_argument("--batch-size", type=int, default=10_000)
    ap.add_argument("--stage", nargs=3, metavar=("STAGE", "DSN", "URL"), help=argparse.SUPPRESS)
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve()
        return
    if args.stage:
        stage, dsn, url = args.stage
        print(json.dumps(run_stage(stage, dsn, args.batch_size, url)))
        return
    sizes = args.rows or [200_000, 1_000_000, 2_000_000]
    stages = [s for s in STAGES if s in args.stages]
    if stages[0] != "backfill":
        sys.exit("--stages: checks and swap need the backfill first; expected backfill among them")
    header(f"{', '.join(stages)} at {', '.join(f'{n:,}' for n in sizes)} chunks of 384 dimensions, cheap embedder, "
           f"batch {args.batch_size}, no vector index")
    results: dict[str, list[tuple[int, dict]]] = {stage: [] for stage in stages}
    with postgres() as pg, cheap_server() as url:
        for n in sizes:
            name = f"b_scale_{n}"
            pg.create_database(name)
            dsn = pg.dsn(name)
            load_chunks(dsn, n)
            for stage in stages:
                load = os.getloadavg()[0]
                child = subprocess.run([sys.executable, __file__, "--stage", stage, dsn, url, "--batch-size",
                                        str(args.batch_size)], cwd=REPO / "bench", capture_output=True, text=True, check=False)
                if child.returncode != 0:
                    sys.exit(f"{stage} at {n} rows failed: {(child.stderr.strip().splitlines() or ['?'])[-1]}")
                result = json.loads(child.stdout.strip().splitlines()[-1])
                assert result["rows"] == n, (stage, result)
                results[stage].append((n, result))
                extra = "".join(f"  {k.replace('_', ' ')} {v:.2f} s" for k, v in result.items() if k.endswith("_seconds"))
                if "into_peak_rss_mb" in result:
                    extra += f"  peak RSS after --into {result['into_peak_rss_mb']:.0f} MB"
                print(f"{stage:>8} {n:>10,} rows: {result['seconds']:8.2f} s  {n / result['seconds']:8.0f} rows/s  peak RSS "
                      f"{result['peak_rss_mb']:6.0f} MB{extra}  (load average {load:.1f})", flush=True)
            with psycopg.connect(pg.dsn("postgres"), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{name}"')
    for stage, found in results.items():
        print(f"-- {stage}")
        for (n0, r0), (n1, r1) in zip(found, found[1:]):
            print(f"{n0:,} -> {n1:,}: rows x{n1 / n0:.1f}, time x{r1['seconds'] / r0['seconds']:.2f}, "
                  f"peak RSS x{r1['peak_rss_mb'] / r0['peak_rss_mb']:.2f}")
        if len(found) >= 2:
            (n0, r0), (n1, r1) = found[0], found[-1]
            exponent = math.log(r1["seconds"] / r0["seconds"]) / math.log(n1 / n0)
            at_10m = r1["seconds"] * (10_000_000 / n1) ** exponent
            rss_exponent = math.log(r1["peak_rss_mb"] / r0["peak_rss_mb"]) / math.log(n1 / n0)
            rss_10m = r1["peak_rss_mb"] * (10_000_000 / n1) ** rss_exponent
            print(f"growth exponent {exponent:.2f} (time ~ rows^{exponent:.2f}; 1.00 is linear); extrapolated to "
                  f"10,000,000 rows: {at_10m:,.0f} s ({at_10m / 60:.1f} min); peak RSS exponent {rss_exponent:.2f} "
                  f"(0 is flat), about {rss_10m:.0f} MB at 10,000,000 rows")


if __name__ == "__main__":
    main()
