"""Benchmark 1: the engine's wall time against the same embedding requests made alone (no database work).

The server runs at a fixed speed (Pace), so the ratio shows what selection, validation and
writing add on top of the provider's own time. Goal: at most 1.05.
"""

from __future__ import annotations

import argparse
import time

from _engine_stack import COLLECTION, MODEL, chunk_text, fresh_database, header, paced_server, postgres, profile

from harness.backfill import BackfillOptions, run_backfill
from harness.embedserver import Pace
from harness.provider import OllamaProvider
from harness.settings import resolve


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=3000)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--per-request-s", type=float, default=0.1)
    ap.add_argument("--per-input-s", type=float, default=0.001)
    args = ap.parse_args()
    pace = Pace(per_request_s=args.per_request_s, per_input_s=args.per_input_s)
    header(f"engine overhead: {args.rows} rows, batch {args.batch_size}, server pace {pace}")
    with postgres() as pg, paced_server(pace.per_request_s, pace.per_input_s) as url:
        # No HNSW index here: its build is the same work whoever loads the rows, and would hide what the engine adds.
        dsn = fresh_database(pg, "bench_overhead", args.rows, vector_index=False)
        texts = [chunk_text(i) for i in range(args.rows)]
        with OllamaProvider(url, MODEL) as provider:
            provider.embed(["warm up"])
            started = time.perf_counter()
            for i in range(0, len(texts), args.batch_size):
                provider.embed(texts[i:i + args.batch_size], truncate=False)
            alone = time.perf_counter() - started

            started = time.perf_counter()
            summary = run_backfill(resolve(profile(), database_url=dsn, provider_url=provider.url),
                                   BackfillOptions(COLLECTION, batch_size=args.batch_size, progress=False),
                                   provider=provider)
            engine = time.perf_counter() - started
    assert summary.ok and summary.embedded == args.rows, summary.line()
    print(f"requests alone : {alone:7.3f} s")
    print(f"engine         : {engine:7.3f} s  ({summary.line()}; writes {summary.write_seconds:.3f} s overlapped with "
          f"embedding; vector index rebuilt after the load: {summary.indexes_rebuilt or 'none'})")
    print(f"inside the engine the same requests took {summary.embed_seconds:.3f} s (the machine's cores are shared "
          f"by the server, Postgres and the engine)")
    print(f"ratio engine / requests alone = {engine / alone:.3f}  (goal <= 1.05)")


if __name__ == "__main__":
    main()
