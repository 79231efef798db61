"""Benchmark: the engine against one embedding server that serves K requests at once (a GPU server, or Ollama with
OLLAMA_NUM_PARALLEL=K), beside a saturating load generator that sends the same batches with no database at all.

Both run against the same paced server process in the same run; the ratio engine / generator is the share of the
server's capacity the engine uses. Goal: at least 0.9 with the default --concurrency (auto), beside fixed levels; for
each run the most requests it had in flight and where its limit ended (auto should stay near K + 1: with --parallel 1,
at 2 or 3, so nothing queues long at a server that serves one request at a time).
"""

from __future__ import annotations

import argparse
import threading
import time

import httpx
import numpy as np

from _engine_stack import COLLECTION, MODEL, chunk_text, fresh_database, header, paced_server, postgres, profile

from harness.backfill import BackfillOptions, run_backfill
from harness.backfill.engine import DEFAULT_CONCURRENCY
from harness.backfill.inflight import parse_concurrency
from harness.provider import OllamaProvider
from harness.settings import resolve


def load_generator(url: str, batches: list[list[str]], threads: int) -> float:
    """Send every batch to /api/embed from ``threads`` threads as fast as the server answers, reading each answer
    into vectors as any client must; return seconds."""
    pending = list(reversed(batches))
    lock = threading.Lock()

    def work() -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            while True:
                with lock:
                    if not pending:
                        return
                    batch = pending.pop()
                answer = client.post("/api/embed", json={"model": MODEL, "input": batch})
                answer.raise_for_status()
                np.asarray(answer.json()["embeddings"], dtype=np.float32)  # what any client must do with the answer

    started = time.perf_counter()
    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return time.perf_counter() - started


def engine(pg, url: str, rows: int, batch_size: int, concurrency: int | str, name: str) -> tuple[float, int, int]:
    """Seconds of one engine run, the most requests it had in flight, and its limit at the end."""
    # No vector index: its build after the load costs the same whatever the concurrency, and is measured elsewhere.
    dsn = fresh_database(pg, name, rows, vector_index=False)
    with OllamaProvider(url, MODEL) as provider:
        started = time.perf_counter()
        summary = run_backfill(resolve(profile(), database_url=dsn, provider_url=url),
                               BackfillOptions(COLLECTION, batch_size=batch_size, progress=False, concurrency=concurrency),
                               provider=provider)
        seconds = time.perf_counter() - started
    assert summary.ok and summary.embedded == rows, summary.line()
    return seconds, summary.in_flight_peak, summary.in_flight_limit


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--parallel", type=int, default=4, help="requests the server serves at once (K)")
    ap.add_argument("--per-request-ms", type=float, default=150.0, help="the server's fixed cost per request")
    ap.add_argument("--per-input-ms", type=float, default=0.5, help="the server's cost per text")
    ap.add_argument("--concurrency", type=parse_concurrency, action="append",
                    help=f"engine concurrencies to measure, N or auto (default 4, 8 and {DEFAULT_CONCURRENCY}, the default)")
    args = ap.parse_args()
    levels = args.concurrency or [4, 8, DEFAULT_CONCURRENCY]
    header(f"one server serving {args.parallel} requests at once ({args.per_request_ms:g} ms + {args.per_input_ms:g} ms/text), "
           f"{args.rows} rows, batch {args.batch_size}")
    texts = [chunk_text(i) for i in range(args.rows)]
    batches = [texts[i:i + args.batch_size] for i in range(0, len(texts), args.batch_size)]
    with postgres() as pg, paced_server(args.per_request_ms / 1000, args.per_input_ms / 1000, args.parallel) as url:
        load_generator(url, batches[:args.parallel * 2], args.parallel * 2)  # warm-up
        gen_s = load_generator(url, batches, args.parallel * 2)
        results = {c: engine(pg, url, args.rows, args.batch_size, c, f"b_conc_{c}") for c in dict.fromkeys(levels)}
        gen_again = load_generator(url, batches, args.parallel * 2)  # the same minutes, after: shows the noise
    gen_best = min(gen_s, gen_again)
    print(f"load generator ({args.parallel * 2} threads, no database): {args.rows / gen_s:8.0f} and "
          f"{args.rows / gen_again:8.0f} texts/s (before, after)")
    for c, (seconds, peak, limit) in results.items():
        print(f"engine --concurrency {c!s:<4}: {args.rows / seconds:8.0f} rows/s  -> ratio engine / generator = "
              f"{gen_best / seconds:.2f}  (goal >= 0.9{' with the default' if c == DEFAULT_CONCURRENCY else ''}); "
              f"at most {peak} in flight, limit {limit} at the end")


if __name__ == "__main__":
    main()
