"""Benchmark: a plain run replacing the second embedding rows of chunks in a table without a unique key (an application
that appends its rows on every import), at growing numbers of such chunks, in one run.

    python bench_second_rows.py [--rows 100000] [--second 10000 100000]

For each N of ``--second``: a fresh database of ``--rows`` chunks, each with its current vector (a non-unique index on
the key, no unique one), the first N holding a second, equal row; then the engine's plain run (precomputed vectors,
batch 1,000), which must replace each of those N chunks' rows by one. N = 0 first: the run's cost with nothing to
replace (its counts over the table). Prints per size the run's seconds, the seconds beyond N = 0 per 1,000 replaced
chunks, and the growth exponent of those seconds between sizes (1.0: linear). Before the selection counted a chunk's
rows itself, every page query carried every such key.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import time

import psycopg
from pgvector.psycopg import register_vector

from _engine_stack import COLLECTION, MODEL, chunk_text, fresh_database, header, postgres, profile
from bench_engine_ingest import PrecomputedProvider

from harness.backfill import BackfillOptions, run_backfill
from harness.settings import resolve


def load(dsn: str, provider: PrecomputedProvider, texts: list[str], second: int, index: bool = True) -> None:
    """Every chunk's current row, and a second one for the first ``second`` chunks; the key not unique, indexed where
    ``index``."""
    with psycopg.connect(dsn) as conn:
        register_vector(conn)
        conn.execute("ALTER TABLE document_embeddings DROP CONSTRAINT document_embeddings_pkey")
        if index:
            conn.execute("CREATE INDEX ON document_embeddings (chunk_id)")
        keys = [r[0] for r in conn.execute("SELECT id FROM document_chunks ORDER BY id").fetchall()]
        with conn.cursor().copy("COPY document_embeddings (chunk_id, embedding, input_hash, model_name, collection) "
                                "FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "vector", "text", "text", "text"])
            for i, (key, text) in enumerate(zip(keys, texts)):
                row = (key, provider.by_text[text], hashlib.sha256(text.encode()).hexdigest(), MODEL, COLLECTION)
                copy.write_row(row)
                if i < second:
                    copy.write_row(row)
        conn.execute("ANALYZE document_embeddings")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--second", type=int, nargs="+", default=[10_000, 100_000], help="sizes after 0 (always first)")
    ap.add_argument("--no-index", action="store_true", help="no index on the embedding key at all")
    args = ap.parse_args()
    header(f"second embedding rows replaced by a plain run: {args.rows} chunks, batch 1000, "
           f"{'no index' if args.no_index else 'a non-unique index'} on the embedding key")
    texts = [chunk_text(i) for i in range(args.rows)]
    provider = PrecomputedProvider(texts)
    figures = []
    with postgres() as pg:
        for second in [0, *args.second]:
            dsn = fresh_database(pg, f"b_second_{second}", args.rows, vector_index=False)
            load(dsn, provider, texts, second, index=not args.no_index)
            started = time.perf_counter()
            summary = run_backfill(resolve(profile(), database_url=dsn, provider_url=provider.url),
                                   BackfillOptions(COLLECTION, batch_size=1000, progress=False), provider=provider)
            seconds = time.perf_counter() - started
            assert summary.ok and summary.embedded == second and summary.after.duplicates == 0, summary.line()
            extra = seconds - figures[0][1] if figures else 0.0
            figures.append((second, seconds))
            print(f"{second:>9,} chunks with a second row: {seconds:7.2f} s"
                  + (f", {extra:6.2f} s beyond none, {extra / second * 1000:6.3f} s per 1,000" if second else ""), flush=True)
    base = figures[0][1]
    for (n0, s0), (n1, s1) in zip(figures[1:], figures[2:]):
        print(f"growth {n0:,} -> {n1:,} (seconds beyond none): exponent "
              f"{math.log(max(s1 - base, 1e-3) / max(s0 - base, 1e-3)) / math.log(n1 / n0):.2f} (1.0: linear)")


if __name__ == "__main__":
    main()
