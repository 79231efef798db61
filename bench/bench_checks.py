"""How long the whole DONE checks suite takes against the one-pass floor of issue #12, at each size, in one run.

    python bench/bench_checks.py [--rows 200000 1000000] [--collections 1] [--tenants 4] [--sample N] [--index ivfflat] [--dims 384]

For each N of ``--rows`` (default 200,000 and 1,000,000): loads N chunks with random
384-dimension vectors (numpy, binary COPY in batches) into a fresh database of one
embedded Postgres, then times, alternating (floor, suite, floor, suite, floor): the
one-pass floor (one SQL statement joining chunks and embeddings, comparing the SHA-256
of every text with its stored hash and reading every vector's norm; best of 3) and
every check of ``harness.checks`` for every collection (best of 2; recompute and
citations against the local embedding server, a process of its own on the same cores;
random vectors make them fail, which does not change their cost). Prints per size the ratio suite / floor (goal <= 1.5),
with the pass's own time and rows, and for context ``SELECT count(*)`` (index-only on
a vacuumed table, and forced to read the heap). Beside the wall clock, the ratio of
the CPU seconds each side spent (this process, the embedding server and every Postgres
process; ``_cpu``), which the machine's other load moves far less. Ends with one table
of every size.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _cpu import Spent, measured  # noqa: E402
from _engine_stack import paced_server  # noqa: E402

from harness.checks import PER_COLLECTION, CheckOptions, custom, open_session  # noqa: E402
from harness.profile import load_profile  # noqa: E402
from harness.stack import EmbeddedPostgres  # noqa: E402
from harness.settings import resolve

DIMS = 384
SCHEMA = """
CREATE TABLE chunks (id bigint PRIMARY KEY, collection text NOT NULL, tenant_id text, content text NOT NULL,
                     title text NOT NULL, url text NOT NULL);
CREATE TABLE embeddings (chunk_id bigint PRIMARY KEY, collection text NOT NULL, tenant_id text,
                         embedding vector(%d) NOT NULL, model_name text NOT NULL, input_hash text NOT NULL);
CREATE INDEX embeddings_collection_idx ON embeddings (collection);
"""
PROFILE = """
name: bench
provider: {model: "%s", dimensions: %d}
chunks: {table: chunks, id: id, text: content, collection: collection, tenant: tenant_id, sources: [title, url]}
embeddings: {table: embeddings, key: chunk_id, vector: embedding, model: model_name, input_hash: input_hash,
             collection: collection, tenant: tenant_id}
distance: cosine
"""


def set_dims(dims: int) -> None:
    global DIMS
    DIMS = dims


def model() -> str:
    return f"hash-embed:{DIMS}"


WORDS = np.array("vector index chunk tenant model backfill query source cosine table row text hash batch".split())


def load(dsn: str, rows: int, collections: int, tenants: int, batch: int = 50_000) -> None:
    import psycopg
    from pgvector.psycopg import register_vector

    rng = np.random.default_rng(42)
    with psycopg.connect(dsn, autocommit=True) as conn:
        register_vector(conn)
        conn.execute(SCHEMA % DIMS)
        for start in range(0, rows, batch):
            n = min(batch, rows - start)
            vectors = rng.standard_normal((n, DIMS), dtype=np.float32)
            words = rng.choice(WORDS, size=(n, 24))
            with conn.transaction():
                with conn.cursor().copy("COPY chunks (id, collection, tenant_id, content, title, url) FROM STDIN") as cp:
                    texts = []
                    for i in range(n):
                        key = start + i
                        text = f"chunk {key}: " + " ".join(words[i])
                        texts.append(text)
                        cp.write_row((key, f"c{key % collections}", f"t{key % tenants}", text, f"doc {key // 8}",
                                      f"https://example.org/doc/{key // 8}"))
                with conn.cursor().copy("COPY embeddings (chunk_id, collection, tenant_id, embedding, model_name, "
                                        "input_hash) FROM STDIN WITH (FORMAT BINARY)") as cp:
                    cp.set_types(["int8", "text", "text", "vector", "text", "text"])
                    for i in range(n):
                        key = start + i
                        cp.write_row((key, f"c{key % collections}", f"t{key % tenants}", vectors[i], model(),
                                      hashlib.sha256(texts[i].encode()).hexdigest()))
            print(f"  loaded {start + n:,}/{rows:,}", file=sys.stderr, flush=True)
        conn.execute("VACUUM ANALYZE chunks")
        conn.execute("VACUUM ANALYZE embeddings")


def build_index(dsn: str, kind: str, rows: int) -> float:
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        if kind == "ivfflat":
            lists = max(10, int(rows ** 0.5))
            conn.execute(f"CREATE INDEX embeddings_embedding_idx ON embeddings USING ivfflat (embedding vector_cosine_ops) "
                         f"WITH (lists = {lists})")
        elif kind == "hnsw":
            conn.execute("CREATE INDEX embeddings_embedding_idx ON embeddings USING hnsw (embedding vector_cosine_ops)")
    return time.perf_counter() - started


def time_count(dsn: str, heap: bool = False) -> float:
    """Best of 3 ``SELECT count(*)``: as the planner runs it (index-only once vacuumed), or forced to read the heap."""
    import psycopg

    best = float("inf")
    with psycopg.connect(dsn) as conn:
        if heap:
            conn.execute("SET enable_indexonlyscan = off; SET enable_indexscan = off; SET enable_bitmapscan = off")
        for _ in range(3):
            started = time.perf_counter()
            conn.execute("SELECT count(*) FROM embeddings").fetchone()
            best = min(best, time.perf_counter() - started)
    return best


FLOOR = ("SELECT count(*) FILTER (WHERE e.input_hash IS DISTINCT FROM encode(sha256(convert_to(c.content, 'UTF8')), 'hex')), "
         "sum(vector_norm(e.embedding)) FROM chunks c JOIN embeddings e ON e.chunk_id = c.id")


def time_floor(dsn: str, pgdata: Path) -> Spent:
    """Best of 3 of the one pass the checks cannot do without (#12): join, hash every text, read every vector's norm
    (its wall clock and its CPU seconds, each the least of the three)."""
    import psycopg

    runs = []
    with psycopg.connect(dsn) as conn:
        for _ in range(3):
            with measured(pgdata) as spent:
                conn.execute(FLOOR).fetchone()
            runs.append(spent)
    return least(runs)


def least(runs: list[Spent]) -> Spent:
    """The run of the least wall clock, with the least CPU seconds any run spent (each is a floor of the other runs')."""
    fastest = min(runs, key=lambda spent: spent.wall)
    frugal = min(runs, key=lambda spent: spent.cpu)
    return Spent(fastest.wall, frugal.client, frugal.server)


def time_suite(dsn: str, pgdata: Path, profile_path: Path, server_url: str, sample: int) -> tuple[Spent, list, dict[str, float]]:
    """Every check for every collection, as ``harness.checks.run_all`` runs them, timed per check (``pass``: the one
    pass's own seconds and rows); the CPU seconds include the embedding server's, which answers recompute and citations."""
    env = {"OLLAMA_HOST": server_url}
    profile = load_profile(profile_path, env=env)
    server_cpu = _server_cpu()
    outcomes, spent = [], {}
    with measured(pgdata) as total:
        session = open_session(resolve(profile, database_url=dsn, env=env),
                               CheckOptions(collections=("all",), sample=sample, statement_timeout_ms=600_000))
        try:
            for collection in session.collections:
                for name, check in PER_COLLECTION.items():
                    t0 = time.perf_counter()
                    outcomes.append(check(session, collection))
                    spent[name] = spent.get(name, 0.0) + time.perf_counter() - t0
            outcomes += [custom(session, c.name) for c in profile.custom_checks]
            spent["pass"] = session.onepass().seconds
            spent["pass rows"] = session.onepass().rows
        finally:
            session.close()
    spent["server cpu"] = _server_cpu() - server_cpu
    total.client += spent["server cpu"]
    return total, outcomes, spent


def _server_cpu() -> float:
    """CPU seconds the embedding server (this process's child) has used so far: it runs on the same cores."""
    ticks = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[1]) == os.getpid() and b"EmbeddingServer" in Path(f"/proc/{pid}/cmdline").read_bytes():
                ticks += int(stat[11]) + int(stat[12])
        except (OSError, IndexError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def bench_size(pg, server_url: str, rows: int, args, tmp: Path) -> dict:
    """Load one size into a fresh database, time floor and suite alternately, print its lines; the figures."""
    name = f"bench_{rows}"
    pg.drop_database(name)
    dsn = pg.create_database(name)
    try:
        print(f"loading {rows:,} chunks x {DIMS} dims ...", file=sys.stderr)
        started = time.perf_counter()
        load(dsn, rows, args.collections, args.tenants)
        print(f"  load {time.perf_counter() - started:.1f}s; index ({args.index}) "
              f"{build_index(dsn, args.index, rows):.1f}s", file=sys.stderr)
        profile = tmp / "profile.yaml"
        profile.write_text(PROFILE % (model(), DIMS))
        count_s = time_count(dsn)
        floors, suites = [time_floor(dsn, pg.pgdata)], []
        for _ in range(2):
            suites.append(time_suite(dsn, pg.pgdata, profile, server_url, args.sample))
            floors.append(time_floor(dsn, pg.pgdata))
        heap_s = time_count(dsn, heap=True)
    finally:
        pg.drop_database(name)
    floor = least(floors)
    suite = least([found[0] for found in suites])
    _, outcomes, spent = min(suites, key=lambda found: found[0].wall)
    statuses: dict[str, int] = {}
    for o in outcomes:
        statuses[str(o.status)] = statuses.get(str(o.status), 0) + 1
    print(f"rows {rows:,}  collections {args.collections}  tenants {args.tenants}  cores {os.cpu_count()}")
    print(f"SELECT count(*) over embeddings: {count_s:.3f}s (as planned; index-only on a vacuumed table); "
          f"reading every heap row: {heap_s:.3f}s")
    print(f"one-pass floor (join, sha256 of every text, every vector's norm): {floor.wall:.3f}s "
          f"(runs: {', '.join(f'{f.wall:.3f}' for f in floors)}); {floor.line()}")
    print(f"whole checks suite ({len(outcomes)} checks: {statuses}): {suite.wall:.3f}s "
          f"(runs: {', '.join(f'{x[0].wall:.3f}' for x in suites)}); {suite.line()}")
    print(f"  the embedding server (a process of its own on the same {os.cpu_count()} cores) used "
          f"{spent.pop('server cpu'):.3f} CPU-s during the suite (counted above as this process's)")
    print("  of which: the one pass " + f"{spent.pop('pass'):.3f}s over {int(spent.pop('pass rows')):,} rows; per check "
          "(time the suite waited for it): " + ", ".join(f"{k} {v:.3f}s" for k, v in spent.items()))
    # CPU seconds move far less than the wall clock with the machine's other load (``_cpu``): the work itself.
    print(f"ratio suite / one-pass floor at {rows:,} rows: {suite.wall / floor.wall:.2f}  (goal <= 1.5); "
          f"in CPU seconds {suite.cpu / floor.cpu:.2f}", flush=True)
    return {"rows": rows, "floor": floor.wall, "suite": suite.wall, "ratio": suite.wall / floor.wall,
            "cpu ratio": suite.cpu / floor.cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=_sizes, nargs="+", default=[[200_000, 1_000_000]],
                        help="sizes to measure, in one run (e.g. --rows 200000 1000000 or --rows 200000,1000000)")
    parser.add_argument("--collections", type=int, default=1)
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument("--sample", type=int, default=None,
                        help="recompute's sample (default: as the bound needs, 299 rows plus as many where errors cluster)")
    parser.add_argument("--index", choices=["ivfflat", "hnsw", "none"], default="ivfflat")
    parser.add_argument("--dims", type=int, default=DIMS,
                        help="the vectors' dimension (default 384; from 768 on pgvector stores each out of line)")
    args = parser.parse_args(argv)
    set_dims(args.dims)
    sizes = [n for group in args.rows for n in group]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-checks-") as tmp:
        pg = EmbeddedPostgres(root=Path(tmp) / "pg").start()
        try:
            # The embedding server in a process of its own, unpaced, as Ollama runs beside the harness (not a
            # thread of this process holding its interpreter lock while it encodes answers).
            with paced_server(model=model()) as url:
                for rows in sizes:
                    results.append(bench_size(pg, url, rows, args, Path(tmp)))
        finally:
            pg.close()
    print(f"\nchecks suite / one-pass floor ({os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
    print("| rows | one-pass floor | whole suite | ratio | goal | ratio of CPU seconds |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['rows']:,} | {r['floor']:.2f} s | {r['suite']:.2f} s | {r['ratio']:.2f} | <= 1.5 | {r['cpu ratio']:.2f} |")
    return 0


def _sizes(text: str) -> list[int]:
    """``200000`` or ``200000,1000000``."""
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected row counts such as 200000 or 200000,1000000, found {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive row counts, found {text!r}")
    return sizes


if __name__ == "__main__":
    raise SystemExit(main())
