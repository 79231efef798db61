"""The demo app's data layer: schema, corpus loading and chunking, and search with citations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import psycopg
from pgvector.psycopg import register_vector

from .chunker import ChunkingSettings, chunk_text

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"
SCHEMA = HERE / "schema.sql"
PROFILE = HERE / "profile.yaml"


@dataclass(frozen=True)
class Document:
    collection: str
    tenant_id: str | None
    title: str
    url: str
    body: str


def tenant_of(collection: str) -> str | None:
    """``tenant_<id>`` collections belong to tenant <id>; the global corpus to nobody."""
    return collection[len("tenant_"):] if collection.startswith("tenant_") else None


def read_corpus(root: Path = CORPUS, collections: list[str] | None = None) -> list[Document]:
    """Read every ``<collection>/*.md`` file with its front matter (title, url)."""
    docs = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if collections and folder.name not in collections:
            continue
        for path in sorted(folder.glob("*.md")):
            meta, body = _front_matter(path.read_text(encoding="utf-8"))
            docs.append(Document(folder.name, tenant_of(folder.name), meta["title"], meta["url"], body))
    return docs


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    match = re.match(r"^---\n(.*?)\n---\n(.*)$", text, re.S)
    if not match:
        raise ValueError("corpus file without front matter; expected ---\\ntitle: ...\\nurl: ...\\n---")
    meta = dict(line.split(": ", 1) for line in match.group(1).splitlines() if ": " in line)
    return meta, match.group(2).strip()


def apply_schema(conn: psycopg.Connection) -> None:
    conn.execute(SCHEMA.read_text())
    conn.commit()


def load_documents(conn: psycopg.Connection, docs: list[Document], settings: ChunkingSettings,
                   into: str | None = None) -> dict[str, int]:
    """Insert documents and their chunks (into another collection name when ``into`` is given); return chunks per collection."""
    counts: dict[str, int] = {}
    with conn.transaction():
        for doc in docs:
            collection = into or doc.collection
            tenant = tenant_of(collection) if into else doc.tenant_id
            # INSERT ... ON CONFLICT DO UPDATE ... RETURNING always returns the row
            row = cast(tuple[Any, ...], conn.execute(
                "INSERT INTO documents (collection, tenant_id, title, url, body) VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (collection, url) DO UPDATE SET body = EXCLUDED.body RETURNING id",
                (collection, tenant, doc.title, doc.url, doc.body),
            ).fetchone())
            conn.execute("DELETE FROM document_chunks WHERE document_id = %s", (row[0],))
            chunks = chunk_text(doc.body, settings)
            with conn.cursor().copy(
                "COPY document_chunks (document_id, collection, tenant_id, chunk_index, content, title, url) FROM STDIN"
            ) as copy:
                for index, text in enumerate(chunks):
                    copy.write_row((row[0], collection, tenant, index, text, doc.title, doc.url))
            counts[collection] = counts.get(collection, 0) + len(chunks)
    return counts


def load_corpus(dsn: str, settings: ChunkingSettings | None = None, collections: list[str] | None = None,
                into: str | None = None) -> dict[str, int]:
    """Create the schema and load the bundled corpus; return chunks per collection."""
    with psycopg.connect(dsn) as conn:
        apply_schema(conn)
        return load_documents(conn, read_corpus(collections=collections), settings or ChunkingSettings.from_env(), into)


@dataclass(frozen=True)
class Hit:
    chunk_id: int
    title: str
    url: str
    distance: float
    content: str


def search(conn: psycopg.Connection, collection: str, query_vector, k: int = 5) -> list[Hit]:
    """Nearest chunks of one collection by cosine distance, each with its citation."""
    register_vector(conn)
    rows = conn.execute(
        "SELECT c.id, c.title, c.url, e.embedding <=> %s AS distance, c.content "
        "FROM document_embeddings e JOIN document_chunks c ON c.id = e.chunk_id "
        "WHERE e.collection = %s ORDER BY e.embedding <=> %s LIMIT %s",
        (query_vector, collection, query_vector, k),
    ).fetchall()
    return [Hit(*r) for r in rows]
