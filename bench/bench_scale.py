"""Benchmark: the engine at growing collection sizes (default 200,000, 1,000,000 and 2,000,000 chunks of 384
dimensions), with a cheap in-process embedder, reporting time, rows/s and the harness's peak RSS at each size,
the growth between sizes, and the time extrapolated to 10,000,000 with that growth.

Each size runs in a child process of its own (so its peak RSS is its own), against a database whose chunks are
generated inside Postgres; the database is dropped before the next size. Needs about 2 GB of disk per million
rows (the vectors, their WAL and the chunks). The table has no vector index: its build is measured elsewhere.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
import zlib

import numpy as np
import psycopg

from _engine_stack import COLLECTION, MODEL, REPO, header, postgres, profile

from examples.ragapp.app import SCHEMA
from harness.backfill import BackfillOptions, run_backfill
from harness.provider import EmbedResult
from harness.settings import resolve


class CheapProvider:
    """An instant embedder that keeps nothing per text: each text's vector is a row of a small fixed table picked
    by the text's CRC-32, so memory does not grow with the collection."""

    url = "http://cheap.invalid"  # never contacted

    def __init__(self, dims: int = 384, table_rows: int = 4096):
        self.model, self.dims = MODEL, dims
        self.table = np.random.default_rng(11).standard_normal((table_rows, dims)).astype(np.float32)

    def dimensions(self, model: str | None = None) -> int:
        return self.dims

    def embed(self, texts, *, truncate: bool = True) -> EmbedResult:
        rows = [zlib.crc32(t.encode()) % len(self.table) for t in texts]
        return EmbedResult(self.table[rows], MODEL, 0, 0.0, 1)


def load_chunks(dsn: str, rows: int) -> None:
    """The demo schema without its vector index, and ``rows`` chunks generated in SQL (nothing built in Python)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA.read_text())
        conn.execute("DROP INDEX document_embeddings_embedding_idx")
        conn.execute("INSERT INTO documents (collection, title, url, body) VALUES (%s, 'bench', 'https://example.invalid', '')",
                     (COLLECTION,))
        conn.execute(
            "INSERT INTO document_chunks (document_id, collection, chunk_index, content, title, url) "
            "SELECT 1, %s, i, 'chunk ' || i || ': backfill benchmark text about postgres vectors, batch pipelines and row ' "
            "|| (i::bigint * 7919 %% 10007), 'bench', 'https://example.invalid' FROM generate_series(0, %s - 1) AS i",
            (COLLECTION, rows))
        conn.execute("VACUUM ANALYZE")


def one(dsn: str, batch_size: int) -> None:
    """Child: one backfill of the whole collection; prints seconds, rows and peak RSS as one JSON line."""
    provider = CheapProvider()
    settings = resolve(profile(), database_url=dsn, provider_url=provider.url)
    started = time.perf_counter()
    summary = run_backfill(settings, BackfillOptions(COLLECTION, batch_size=batch_size, progress=False), provider=provider)
    seconds = time.perf_counter() - started
    print(json.dumps({"ok": summary.ok, "embedded": summary.embedded, "seconds": seconds, "write_seconds": summary.write_seconds,
                      "needed_after": summary.after.needed if summary.after else None,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, action="append", help="collection sizes (default 200000, 1000000, 2000000)")
    ap.add_argument("--batch-size", type=int, default=10_000)
    ap.add_argument("--one", metavar="DSN", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        one(args.one, args.batch_size)
        return
    sizes = args.rows or [200_000, 1_000_000, 2_000_000]
    header(f"engine at {', '.join(f'{n:,}' for n in sizes)} chunks of 384 dimensions, cheap in-process embedder, "
           f"batch {args.batch_size}, no vector index")
    results = []
    with postgres() as pg:
        for n in sizes:
            name = f"b_scale_{n}"
            pg.create_database(name)
            dsn = pg.dsn(name)
            load_chunks(dsn, n)
            load = os.getloadavg()[0]
            child = subprocess.run([sys.executable, __file__, "--one", dsn, "--batch-size", str(args.batch_size)],
                                   cwd=REPO / "bench", capture_output=True, text=True, check=False)
            if child.returncode != 0:
                sys.exit(f"the run at {n} rows failed: {(child.stderr.strip().splitlines() or ['?'])[-1]}")
            result = json.loads(child.stdout.strip().splitlines()[-1])
            assert result["ok"] and result["embedded"] == n and result["needed_after"] == 0, result
            results.append((n, result))
            print(f"{n:>10,} rows: {result['seconds']:8.2f} s  {n / result['seconds']:8.0f} rows/s  "
                  f"write stage {result['write_seconds']:7.2f} s  peak RSS {result['peak_rss_mb']:6.0f} MB  "
                  f"(load average {load:.1f})", flush=True)
            with psycopg.connect(pg.dsn("postgres"), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{name}"')
    for (n0, r0), (n1, r1) in zip(results, results[1:]):
        print(f"{n0:,} -> {n1:,}: rows x{n1 / n0:.1f}, time x{r1['seconds'] / r0['seconds']:.2f}, "
              f"peak RSS x{r1['peak_rss_mb'] / r0['peak_rss_mb']:.2f}")
    if len(results) >= 2:
        (n0, r0), (n1, r1) = results[0], results[-1]
        exponent = math.log(r1["seconds"] / r0["seconds"]) / math.log(n1 / n0)
        at_10m = r1["seconds"] * (10_000_000 / n1) ** exponent
        print(f"growth exponent {exponent:.2f} (time ~ rows^{exponent:.2f}; 1.00 is linear); extrapolated to 10,000,000 "
              f"rows: {at_10m:,.0f} s ({at_10m / 60:.1f} min), peak RSS about {r1['peak_rss_mb']:.0f} MB if it stays flat")


if __name__ == "__main__":
    main()
