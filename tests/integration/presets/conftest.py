"""Stores written by the real libraries (langchain-postgres, LlamaIndex, pgai) through our embedding server.

Each fixture builds one store the library's default way in a fresh database (a dozen documents), and
returns a ``LibraryStore``: the preset's name, its collections, the environment the preset reads, and the
library's own search, so a test can ask the library itself what it retrieves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from examples.ragapp.app import read_corpus

from ...conftest import TEST_MODEL

DOCS = 12
BODY_CHARS = 1500


@dataclass(frozen=True)
class Doc:
    title: str
    source: str
    body: str

    @property
    def file_name(self) -> str:
        return self.source.rsplit("/", 1)[-1]


def documents() -> list[Doc]:
    """A dozen demo documents, cut short so that every library builds its store in well under a second."""
    return [Doc(d.title, d.url, d.body[:BODY_CHARS]) for d in read_corpus(collections=["global_corpus"])[:DOCS]]


@dataclass
class LibraryStore:
    preset: str
    collections: list[str]
    env: dict[str, str]
    search: Callable[..., list[str]]  # (query, k=3, model=TEST_MODEL, collection=None) -> citations, best first
    docs: list[Doc] = field(default_factory=documents)

    def expect(self, doc: Doc) -> str:
        """The citation the library's search returns for a document."""
        return doc.file_name if self.preset == "llamaindex" else doc.source


def sqlalchemy_url(dsn: str, driver: str) -> str:
    return dsn.replace("postgresql://", f"postgresql+{driver}://", 1)


def _base_env(db, embed_server) -> dict[str, str]:
    return {"DATABASE_URL": db.dsn, "OLLAMA_HOST": embed_server.url, "EMBED_MODEL": TEST_MODEL,
            "EMBED_DIMENSIONS": TEST_MODEL.rsplit(":", 1)[1]}


# -- langchain-postgres ----------------------------------------------------------------


def langchain_vectorstore(db, embed_server, collection: str, model: str = TEST_MODEL):
    from langchain_ollama import OllamaEmbeddings
    from langchain_postgres import PGVector

    return PGVector(OllamaEmbeddings(model=model, base_url=embed_server.url), collection_name=collection,
                    connection=sqlalchemy_url(db.dsn, "psycopg"))


@pytest.fixture
def langchain_store(empty_db, embed_server):
    """langchain-postgres PGVector, default settings: collection ``licenses`` (metadata ``source``, ``title``)."""
    from langchain_core.documents import Document

    store = langchain_vectorstore(empty_db, embed_server, "licenses")
    docs = documents()
    store.add_documents([Document(page_content=d.body, metadata={"source": d.source, "title": d.title}) for d in docs])
    store._engine.dispose()

    def search(query: str, k: int = 3, model: str = TEST_MODEL, collection: str = "licenses") -> list[str]:
        reader = langchain_vectorstore(empty_db, embed_server, collection, model)
        try:
            return [d.metadata["source"] for d in reader.similarity_search(query, k=k)]
        finally:
            reader._engine.dispose()

    return LibraryStore("langchain", ["licenses"], {**_base_env(empty_db, embed_server), "LANGCHAIN_SOURCE_KEY": "source"},
                        search, docs)


# -- LlamaIndex ------------------------------------------------------------------------


def llamaindex_vectorstore(db, table: str, dims: int = 384):
    from llama_index.vector_stores.postgres import PGVectorStore

    return PGVectorStore.from_params(connection_string=sqlalchemy_url(db.dsn, "psycopg2"),
                                     async_connection_string=sqlalchemy_url(db.dsn, "asyncpg"),
                                     table_name=table, embed_dim=dims)


def llamaindex_embedding(embed_server, model: str = TEST_MODEL):
    from llama_index.embeddings.ollama import OllamaEmbedding

    return OllamaEmbedding(model_name=model, base_url=embed_server.url)


@pytest.fixture
def llamaindex_store(empty_db, embed_server):
    """LlamaIndex PGVectorStore (table ``data_licenses``) filled by ``VectorStoreIndex.from_documents``.

    Documents carry ``file_name`` and ``title``; ``file_name`` is excluded from what is embedded, as
    SimpleDirectoryReader excludes its file metadata, so the embedded text is ``title: ...``, a blank line, the text.
    """
    from llama_index.core import Document, StorageContext, VectorStoreIndex

    docs = documents()
    store = llamaindex_vectorstore(empty_db, "licenses")
    nodes = [Document(text=d.body, metadata={"file_name": d.file_name, "title": d.title},
                      excluded_embed_metadata_keys=["file_name"]) for d in docs]
    VectorStoreIndex.from_documents(nodes, storage_context=StorageContext.from_defaults(vector_store=store),
                                    embed_model=llamaindex_embedding(embed_server), show_progress=False)
    asyncio.run(store.close())

    def search(query: str, k: int = 3, model: str = TEST_MODEL, collection: str = "licenses") -> list[str]:
        dims = int(model.rsplit(":", 1)[1]) if model.startswith("hash-embed:") else 384
        reader = llamaindex_vectorstore(empty_db, collection, dims)
        try:
            index = VectorStoreIndex.from_vector_store(reader, embed_model=llamaindex_embedding(embed_server, model))
            return [n.node.metadata["file_name"] for n in index.as_retriever(similarity_top_k=k).retrieve(query)]
        finally:
            asyncio.run(reader.close())

    return LibraryStore("llamaindex", ["licenses"], {**_base_env(empty_db, embed_server), "LLAMAINDEX_TABLE": "licenses"},
                        search, docs)


# -- pgai ------------------------------------------------------------------------------


def pgai_worker(dsn: str) -> None:
    """pgai's own vectorizer worker, once: it drains every queue and exits."""
    from pgai.vectorizer import Worker

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(Worker(dsn, once=True).run())


@pytest.fixture
def pgai_store(empty_db, embed_server):
    """pgai 0.12 vectorizer on ``blog(id, title, contents)`` with ``destination_table('blog_embeddings')``.

    Default chunking (recursive character splitter, 800/400) and formatting (``$chunk``); the store table is
    ``blog_embeddings_store``, the view ``blog_embeddings``; pgai's worker fills it.
    """
    import pgai

    docs = documents()
    empty_db.execute("CREATE TABLE blog (id int PRIMARY KEY, title text NOT NULL, url text NOT NULL, contents text NOT NULL)")
    with empty_db.connect(autocommit=True) as conn:
        for i, d in enumerate(docs, start=1):
            conn.execute("INSERT INTO blog VALUES (%s, %s, %s, %s)", (i, d.title, d.source, d.body))
    pgai.install(empty_db.dsn)
    empty_db.execute("SELECT ai.create_vectorizer('blog'::regclass, loading => ai.loading_column('contents'), "
                     "embedding => ai.embedding_ollama(%s, 384, base_url => %s), "
                     "destination => ai.destination_table('blog_embeddings'))", (TEST_MODEL, embed_server.url))
    pgai_worker(empty_db.dsn)

    def search(query: str, k: int = 3, model: str = TEST_MODEL, collection: str = "blog_embeddings") -> list[str]:
        import numpy

        from harness.provider import OllamaProvider

        with OllamaProvider(embed_server.url, model) as provider:
            vector = provider.embed([query]).vectors[0]
        with empty_db.connect() as conn:
            # What a pgai app runs: the vectorizer's view, nearest first.
            from psycopg import sql
            rows = conn.execute(sql.SQL("SELECT url FROM {} ORDER BY embedding <=> %s LIMIT %s").format(
                sql.Identifier(collection)), (numpy.asarray(vector, dtype=numpy.float32), k)).fetchall()
        return [r[0] for r in rows]

    return LibraryStore("pgai", ["blog"], {**_base_env(empty_db, embed_server), "PGAI_SOURCE": "blog",
                                           "PGAI_DESTINATION": "blog_embeddings", "PGAI_SOURCE_CITATION": "url"}, search, docs)


@pytest.fixture(params=["langchain", "llamaindex", "pgai"])
def library_store(request) -> LibraryStore:
    """Each library's store in turn."""
    return request.getfixturevalue(f"{request.param}_store")
