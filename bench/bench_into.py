"""--into at growing sizes: copy the live collection, reuse every vector; the time must grow linearly with rows.

Each size gets its own database with N embedded chunks (random vectors written in SQL, hashes of the real text;
no vector index: maintaining it is the same work whoever writes the rows, and would hide what --into adds),
then ``backfill --into bench_v2`` copies them and takes every vector over (nothing to embed).
Prints the time per size and the growth ratio between consecutive sizes (2.0 = linear when sizes double).
"""

from __future__ import annotations

import argparse
import time

import psycopg
from _engine_stack import COLLECTION, MODEL, fresh_database, header, paced_server, postgres, profile

from harness.backfill import BackfillOptions, run_backfill
from harness.provider import OllamaProvider
from harness.settings import resolve


def embedded_database(pg, name: str, rows: int) -> str:
    dsn = fresh_database(pg, name, rows, vector_index=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO document_embeddings (chunk_id, collection, embedding, model_name, input_hash) "
                     "SELECT id, collection, (SELECT array_agg(random()::real) FROM generate_series(1, 384) WHERE id IS NOT NULL)::vector, %s, "
                     "encode(sha256(convert_to(content, 'UTF8')), 'hex') FROM document_chunks", (MODEL,))
        conn.execute("ANALYZE")
    return dsn


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, action="append", help="sizes (default 10000, 20000, 40000)")
    args = ap.parse_args()
    sizes = args.rows or [10_000, 20_000, 40_000]
    header(f"--into copy + reuse at {', '.join(map(str, sizes))} rows")
    times = []
    with postgres() as pg, paced_server() as url, OllamaProvider(url, MODEL) as provider:
        for n in sizes:
            dsn = embedded_database(pg, f"bench_into_{n}", n)
            started = time.perf_counter()
            summary = run_backfill(resolve(profile(), database_url=dsn, provider_url=provider.url),
                                   BackfillOptions(COLLECTION, into="bench_v2", progress=False), provider=provider)
            seconds = time.perf_counter() - started
            assert summary.ok and summary.copied == n and summary.reused == n and summary.embedded == 0, summary.as_dict()
            times.append(seconds)
            print(f"{n:>7} rows: {seconds:7.3f} s  ({n / seconds:,.0f} rows/s)")
    for (a, ta), (b, tb) in zip(zip(sizes, times), zip(sizes[1:], times[1:])):
        print(f"growth {a} -> {b} rows (x{b / a:g}): time x{tb / ta:.2f}  (linear: x{b / a:g}, quadratic: x{(b / a) ** 2:g})")


if __name__ == "__main__":
    main()
