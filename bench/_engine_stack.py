"""What the engine benchmarks share: an embedded Postgres with the demo schema and synthetic chunks."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from examples.ragapp.app import SCHEMA  # noqa: E402
from harness.profile import load_profile  # noqa: E402
from harness.stack import EmbeddedPostgres  # noqa: E402

MODEL = "hash-embed:384"
COLLECTION = "bench"
PROFILE = REPO / "examples" / "ragapp" / "profile.yaml"


def profile():
    # The demo's spot queries name the demo's documents, which no benchmark collection holds: citations would fail
    # them rightly, so the benchmarks' checks search by sampled chunks instead.
    return dataclasses.replace(load_profile(PROFILE, env={"EMBED_MODEL": MODEL}), spot_queries=())


def chunk_text(i: int) -> str:
    return f"chunk {i}: backfill benchmark text about postgres vectors, batch pipelines and row {i * 7919 % 10007}"


@contextlib.contextmanager
def postgres() -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres() as pg:
        yield pg


def fresh_database(pg: EmbeddedPostgres, name: str, rows: int, *, vector_index: bool = True) -> str:
    """A database with the demo schema and ``rows`` chunks in collection ``bench``; returns its DSN."""
    pg.create_database(name)
    dsn = pg.dsn(name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA.read_text())
        if not vector_index:
            conn.execute("DROP INDEX document_embeddings_embedding_idx")
        conn.execute("INSERT INTO documents (collection, title, url, body) VALUES ('bench', 'bench', 'https://example.invalid', '')")
        with conn.cursor().copy("COPY document_chunks (document_id, collection, chunk_index, content, title, url) FROM STDIN") as copy:
            for i in range(rows):
                copy.write_row((1, COLLECTION, i, chunk_text(i), "bench", "https://example.invalid"))
        # Vacuumed as well as analysed: an insert-triggered autovacuum of the new chunks would otherwise run during
        # the timed part and slow whatever reads them (the engine's selection), not a bare COPY.
        conn.execute("VACUUM ANALYZE")
    return dsn


@contextlib.contextmanager
def paced_server(per_request_s: float = 0.0, per_input_s: float = 0.0, parallel: int | None = None,
                 model: str = MODEL) -> Iterator[str]:
    """The Ollama-compatible server in its own process (as Ollama would be), at a fixed pace, serving ``parallel``
    requests at once (None: as many as arrive), serving ``model``; yields its URL."""
    code = (
        "import sys; from harness.embedserver import EmbeddingServer, Pace; "
        f"s = EmbeddingServer(models=[{model!r}], pace=Pace({per_request_s!r}, {per_input_s!r}, {parallel!r})); "
        "print(s.url, flush=True); s.serve_forever()"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait()


def header(title: str) -> None:
    print(f"== {title} (os.cpu_count() = {os.cpu_count()})")
