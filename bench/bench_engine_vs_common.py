"""Benchmark 2: the engine against the approaches in common use, on the same stack and rows.

(a) one row per request in sequence, each row inserted and committed (the usual first script);
(b) batches with a fixed sleep between them (the usual "be nice to the server" script).
All three talk to the same paced server and write into the same table; prints the speedups.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

from _engine_stack import COLLECTION, MODEL, fresh_database, header, paced_server, postgres, profile

from harness.backfill import BackfillOptions, run_backfill
from harness.provider import OllamaProvider
from harness.settings import resolve

INSERT = ("INSERT INTO document_embeddings (chunk_id, collection, tenant_id, embedding, model_name, input_hash) "
          "VALUES (%s, %s, %s, %s, %s, encode(sha256(convert_to(%s, 'UTF8')), 'hex'))")


def _rows(dsn: str):
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT id, content FROM document_chunks WHERE collection = %s ORDER BY id", (COLLECTION,)).fetchall()


def one_per_request(dsn: str, provider: OllamaProvider) -> float:
    started = time.perf_counter()
    with psycopg.connect(dsn) as conn:
        register_vector(conn)
        for key, text in _rows(dsn):
            vector = provider.embed([text]).vectors[0]
            conn.execute(INSERT, (key, COLLECTION, None, np.asarray(vector), MODEL, text))
            conn.commit()
    return time.perf_counter() - started


def batches_with_sleep(dsn: str, provider: OllamaProvider, batch: int, sleep_s: float) -> float:
    started = time.perf_counter()
    rows = _rows(dsn)
    with psycopg.connect(dsn) as conn:
        register_vector(conn)
        for i in range(0, len(rows), batch):
            part = rows[i:i + batch]
            vectors = provider.embed([t for _, t in part]).vectors
            with conn.cursor() as cur:
                cur.executemany(INSERT, [(k, COLLECTION, None, v, MODEL, t) for (k, t), v in zip(part, vectors)])
            conn.commit()
            time.sleep(sleep_s)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--sleep-s", type=float, default=0.5, help="the fixed pause of approach (b)")
    ap.add_argument("--per-request-s", type=float, default=0.01)
    ap.add_argument("--per-input-s", type=float, default=0.001)
    args = ap.parse_args()
    header(f"engine vs common approaches: {args.rows} rows, batch {args.batch_size}, "
           f"server pace {args.per_request_s}s/request + {args.per_input_s}s/input")
    with postgres() as pg, paced_server(args.per_request_s, args.per_input_s) as url, OllamaProvider(url, MODEL) as provider:
        provider.embed(["warm up"])
        times = {
            "one row per request": one_per_request(fresh_database(pg, "b_single", args.rows), provider),
            f"batches of {args.batch_size} + {args.sleep_s}s sleep": batches_with_sleep(
                fresh_database(pg, "b_sleep", args.rows), provider, args.batch_size, args.sleep_s),
        }
        dsn = fresh_database(pg, "b_engine", args.rows)
        started = time.perf_counter()
        summary = run_backfill(resolve(profile(), database_url=dsn, provider_url=provider.url),
                               BackfillOptions(COLLECTION, batch_size=args.batch_size, progress=False),
                               provider=provider)
        engine = time.perf_counter() - started
    assert summary.ok and summary.embedded == args.rows, summary.line()
    print(f"{'engine':32s}: {engine:7.3f} s  {args.rows / engine:8.1f} rows/s")
    for name, seconds in times.items():
        print(f"{name:32s}: {seconds:7.3f} s  {args.rows / seconds:8.1f} rows/s  -> engine speedup x{seconds / engine:.1f}")


if __name__ == "__main__":
    main()
