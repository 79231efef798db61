"""Benchmark: N worker processes of one backfill run, each with its own embedding server, against one Postgres.

Each server is paced like a GPU server (a fixed cost per request and per text) and runs in its own process; the
workers share the run through key-range claims in Postgres (``--run-id``), exactly as workers on several hosts do.
Prints rows/s for N = 1, 2, 4 (measured in one run, same database server), the speed-up over one worker, and the
share of the ideal (N x one worker's rate): where that share falls, Postgres (or this machine) is the limit.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time

from _engine_stack import COLLECTION, MODEL, PROFILE, fresh_database, header, paced_server, postgres

from harness.backfill import BackfillOptions
from harness.backfill.workers import run_workers
from harness.settings import resolve


def run(pg, rows: int, workers: int, urls: list[str], batch_size: int, name: str) -> tuple[float, float]:
    """Seconds for the run, and the seconds its workers spent writing per 1,000 rows (Postgres's side)."""
    dsn = fresh_database(pg, name, rows, vector_index=False)
    settings = resolve(PROFILE, env={"EMBED_MODEL": MODEL, "DATABASE_URL": dsn, "OLLAMA_HOST": urls[0]})
    options = BackfillOptions(COLLECTION, batch_size=batch_size, progress=False)
    started = time.perf_counter()
    summary = run_workers(settings, options, workers, urls[:workers])
    seconds = time.perf_counter() - started
    assert summary.ok and summary.total("embedded") == rows, summary.line()
    write = sum(float(w.get("write_seconds") or 0) for w in summary.workers)
    return seconds, write / rows * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=8_000)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--per-request-ms", type=float, default=100.0, help="each server's fixed cost per request")
    ap.add_argument("--per-input-ms", type=float, default=1.0, help="each server's cost per text")
    ap.add_argument("--workers", type=int, action="append", help="worker counts to measure (default 1, 2, 4)")
    args = ap.parse_args()
    counts = args.workers or [1, 2, 4]
    header(f"{args.rows} rows, batch {args.batch_size}, one paced server per worker "
           f"({args.per_request_ms:g} ms + {args.per_input_ms:g} ms/text), one Postgres")
    with postgres() as pg, contextlib.ExitStack() as stack:
        urls = [stack.enter_context(paced_server(args.per_request_ms / 1000, args.per_input_ms / 1000, 1))
                for _ in range(max(counts))]
        measured = {n: run(pg, args.rows, n, urls, args.batch_size, f"b_workers_{n}") for n in counts}
        load = os.getloadavg()[0]
    base = args.rows / measured[counts[0]][0] / counts[0]
    for n in counts:
        seconds, write_per_1000 = measured[n]
        rate = args.rows / seconds
        print(f"{n} worker(s): {rate:8.0f} rows/s  speed-up x{rate / (base * counts[0]):.2f}  "
              f"share of ideal (N x one worker) {rate / (base * n):.2f}  "
              f"write time {write_per_1000 * 1000:6.1f} ms per 1,000 rows")
    print(f"(load average {load:.1f}) Where the share of ideal falls while the write time per 1,000 rows rises, the "
          "database (or, on one machine, the CPU it shares with the workers) is the limit; where the share falls "
          "and the write time stays flat, the workers' own CPU is.")


if __name__ == "__main__":
    main()
