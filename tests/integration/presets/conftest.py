"""Stores written by the real libraries (langchain-postgres, LlamaIndex, pgai) through our embedding server.

Each library builds its store the library's default way once per test session, in a template database (a dozen
documents); every test gets its own copy (``CREATE DATABASE ... TEMPLATE``, a file copy), so a test may damage it
freely. A fixture returns a ``LibraryStore``: the preset's name, its collections, its database, the environment the
preset reads, and the library's own search, so a test can ask the library itself what it retrieves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from examples.ragapp.app import read_corpus

from harness import checks
from harness.checks.outcome import Outcome
from harness.errors import HarnessError
from harness.settings import resolve

from ...conftest import TEST_MODEL, Database, _admin, _database

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
    db: Database
    env: dict[str, str]
    search: Callable[..., list[str]]  # (query, k=3, model=TEST_MODEL, collection=None) -> citations, best first
    docs: list[Doc] = field(default_factory=documents)

    def expect(self, doc: Doc) -> str:
        """The citation the library's search returns for a document."""
        return doc.file_name if self.preset == "llamaindex" else doc.source

    def checks(self, run_dir=None, sample: int | str | None = 1000, **env: str) -> dict[str, Outcome]:
        """Every DONE check on the store's collection, in-process (the library the pytest face calls), by check name;
        a check that raises counts as failed, as the pytest face reports it."""
        settings = resolve(self.preset, env={**self.env, **env})
        collection = self.collections[0]
        options = checks.CheckOptions(collections=(collection,), sample=sample, run_dir=run_dir)
        session = checks.open_session(settings, options)
        outcomes = {}
        try:
            for name, check in checks.PER_COLLECTION.items():
                try:
                    outcomes[name] = check(session, collection)
                except HarnessError as exc:
                    outcomes[name] = Outcome(name, collection, checks.FAIL, found=f"raised {exc}")
            return outcomes
        finally:
            session.close()


NEW_MODEL = "hash-embed:768"  # what a model change moves a preset's store to


def fill_into(cli, profile: str, collection: str, into: str, env: dict[str, str]):
    """``backfill --into INTO`` with the new model (the run must succeed); its CLI result."""
    result = cli("backfill", "--profile", profile, "--collection", collection, "--into", into, "--model", NEW_MODEL,
                 "--json", env=env)
    assert result.code == 0, result.out + result.err
    return result


def swap_in(cli, profile: str, new: str, live: str, env: dict[str, str]):
    """``swap --from NEW --to LIVE`` with the new model; its CLI result (each test says what it expects of it)."""
    return cli("swap", "--profile", profile, "--from", new, "--to", live, "--model", NEW_MODEL, "--json", env=env)


def failed(outcomes: dict[str, Outcome]) -> set[str]:
    return {name for name, o in outcomes.items() if o.status == checks.FAIL}


def passed(outcomes: dict[str, Outcome]) -> set[str]:
    return {name for name, o in outcomes.items() if o.status == checks.PASS}


@contextlib.contextmanager
def copy_of(pg, template: str) -> Iterator[Database]:
    """A database of its own for one test, copied from ``template``; dropped afterwards."""
    yield from _database(pg, template)


def template_of(pg, name: str, build: Callable[[Database], None]) -> str:
    """Template database ``name`` holding the store ``build`` writes into a database with pgvector."""
    pg.create_database(name)
    build(Database(name, pg.dsn(name)))
    with _admin(pg) as conn:  # a template is copied only while nobody is connected to it
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                     (name,))
    return name


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


@pytest.fixture(scope="session")
def langchain_template(pg, embed_server):
    """langchain-postgres PGVector, default settings: collection ``licenses`` (metadata ``source``, ``title``)."""
    from langchain_core.documents import Document

    def build(db: Database) -> None:
        store = langchain_vectorstore(db, embed_server, "licenses")
        store.add_documents([Document(page_content=d.body, metadata={"source": d.source, "title": d.title})
                             for d in documents()])
        store._engine.dispose()

    return template_of(pg, "tmpl_langchain", build)


@pytest.fixture
def langchain_store(pg, langchain_template, embed_server):
    """A copy of the LangChain store."""
    with copy_of(pg, langchain_template) as db:

        def search(query: str, k: int = 3, model: str = TEST_MODEL, collection: str = "licenses") -> list[str]:
            reader = langchain_vectorstore(db, embed_server, collection, model)
            try:
                return [d.metadata["source"] for d in reader.similarity_search(query, k=k)]
            finally:
                reader._engine.dispose()

        yield LibraryStore("langchain", ["licenses"], db, {**_base_env(db, embed_server), "LANGCHAIN_SOURCE_KEY": "source"},
                           search)


# -- LlamaIndex ------------------------------------------------------------------------


def llamaindex_vectorstore(db, table: str, dims: int = 384):
    from llama_index.vector_stores.postgres import PGVectorStore

    return PGVectorStore.from_params(connection_string=sqlalchemy_url(db.dsn, "psycopg2"),
                                     async_connection_string=sqlalchemy_url(db.dsn, "asyncpg"),
                                     table_name=table, embed_dim=dims)


def llamaindex_embedding(embed_server, model: str = TEST_MODEL):
    from llama_index.embeddings.ollama import OllamaEmbedding

    return OllamaEmbedding(model_name=model, base_url=embed_server.url)


def llamaindex_search(db, embed_server, query: str, k: int = 3, model: str = TEST_MODEL,
                      collection: str = "licenses") -> list[str]:
    """LlamaIndex's own retrieval: ``VectorStoreIndex.from_vector_store(...).as_retriever()``; file names, best first."""
    from llama_index.core import VectorStoreIndex

    dims = int(model.rsplit(":", 1)[1]) if model.startswith("hash-embed:") else 384
    reader = llamaindex_vectorstore(db, collection, dims)
    try:
        index = VectorStoreIndex.from_vector_store(reader, embed_model=llamaindex_embedding(embed_server, model))
        return [n.node.metadata["file_name"] for n in index.as_retriever(similarity_top_k=k).retrieve(query)]
    finally:
        asyncio.run(reader.close())


@pytest.fixture(scope="session")
def llamaindex_template(pg, embed_server):
    """LlamaIndex PGVectorStore (table ``data_licenses``) filled by ``VectorStoreIndex.from_documents``.

    Documents carry ``file_name`` and ``title``; ``file_name`` is excluded from what is embedded, as
    SimpleDirectoryReader excludes its file metadata, so the embedded text is ``title: ...``, a blank line, the text.
    """
    from llama_index.core import Document, StorageContext, VectorStoreIndex

    def build(db: Database) -> None:
        store = llamaindex_vectorstore(db, "licenses")
        nodes = [Document(text=d.body, metadata={"file_name": d.file_name, "title": d.title},
                          excluded_embed_metadata_keys=["file_name"]) for d in documents()]
        VectorStoreIndex.from_documents(nodes, storage_context=StorageContext.from_defaults(vector_store=store),
                                        embed_model=llamaindex_embedding(embed_server), show_progress=False)
        asyncio.run(store.close())

    return template_of(pg, "tmpl_llamaindex", build)


@pytest.fixture
def llamaindex_store(pg, llamaindex_template, embed_server):
    """A copy of the LlamaIndex store."""
    with copy_of(pg, llamaindex_template) as db:
        yield LibraryStore("llamaindex", ["licenses"], db,
                           {**_base_env(db, embed_server), "LLAMAINDEX_TABLE": "licenses"},
                           lambda query, **kw: llamaindex_search(db, embed_server, query, **kw))


# -- pgai ------------------------------------------------------------------------------


def pgai_worker(dsn: str) -> None:
    """pgai's own vectorizer worker, once: it drains every queue and exits."""
    from pgai.vectorizer import Worker

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(Worker(dsn, once=True).run())


def pgai_search(db, embed_server, query: str, k: int = 3, model: str = TEST_MODEL,
                collection: str = "blog_embeddings") -> list[str]:
    """What a pgai app runs: the vectorizer's view, nearest first, by the query's embedding; the source urls."""
    import numpy
    from psycopg import sql

    from harness.provider import OllamaProvider

    with OllamaProvider(embed_server.url, model) as provider:
        vector = provider.embed([query]).vectors[0]
    with db.connect() as conn:
        rows = conn.execute(sql.SQL("SELECT url FROM {} ORDER BY embedding <=> %s LIMIT %s").format(
            sql.Identifier(*collection.split("."))), (numpy.asarray(vector, dtype=numpy.float32), k)).fetchall()
    return [r[0] for r in rows]


def pgai_build(embed_server, formatting: str | None = None,
               destination: str = "ai.destination_table('blog_embeddings')") -> Callable[[Database], None]:
    """pgai 0.12 vectorizer on ``blog(id, title, url, contents)`` with ``destination_table('blog_embeddings')``.

    Default chunking (recursive character splitter, 800/400) and formatting (``$chunk``, or ``formatting``, a
    ``formatting_python_template``); the store table is ``blog_embeddings_store``, the view ``blog_embeddings``
    (or what ``destination``, pgai's SQL, names); pgai's worker fills it.
    """
    def build(db: Database) -> None:
        import pgai

        db.execute("CREATE TABLE blog (id int PRIMARY KEY, title text NOT NULL, url text NOT NULL, contents text NOT NULL)")
        with db.connect(autocommit=True) as conn:
            for i, d in enumerate(documents(), start=1):
                conn.execute("INSERT INTO blog VALUES (%s, %s, %s, %s)", (i, d.title, d.source, d.body))
        pgai.install(db.dsn)
        db.execute("SELECT ai.create_vectorizer('blog'::regclass, loading => ai.loading_column('contents'), "
                   "embedding => ai.embedding_ollama(%s, 384, base_url => %s), "
                   "formatting => ai.formatting_python_template(%s), "
                   f"destination => {destination})",
                   (TEST_MODEL, embed_server.url, formatting or "$chunk"))
        pgai_worker(db.dsn)

    return build


@pytest.fixture(scope="session")
def pgai_template(pg, embed_server):
    return template_of(pg, "tmpl_pgai", pgai_build(embed_server))


@pytest.fixture(scope="session")
def pgai_titled_template(pg, embed_server):
    """The pgai store with ``formatting_python_template('$title: $chunk')``: a source column in what is embedded."""
    return template_of(pg, "tmpl_pgai_titled", pgai_build(embed_server, "$title: $chunk"))


@pytest.fixture(scope="session")
def pgai_named_template(pg, embed_server):
    """The pgai store with store and view named apart: ``destination_table(target_table => 'post_vectors',
    view_name => 'post_search')``."""
    return template_of(pg, "tmpl_pgai_named", pgai_build(
        embed_server, destination="ai.destination_table(target_table => 'post_vectors', view_name => 'post_search')"))


@pytest.fixture(scope="session")
def pgai_schemas_template(pg, embed_server):
    """The pgai store in schema ``vec`` (``target_schema``), its view ``post_search`` in the source's schema (pgai
    0.12.1 puts every view there: its ``_evaluate_destination`` ignores ``view_schema``)."""
    def build(db: Database) -> None:
        db.execute("CREATE SCHEMA vec")
        pgai_build(embed_server, destination="ai.destination_table(target_schema => 'vec', target_table => 'post_vectors', "
                                             "view_name => 'post_search')")(db)

    return template_of(pg, "tmpl_pgai_schemas", build)


def _pgai_store(pg, template, embed_server, view: str = "blog_embeddings"):
    with copy_of(pg, template) as db:
        yield LibraryStore("pgai", ["blog"], db,
                           {**_base_env(db, embed_server), "PGAI_SOURCE": "blog", "PGAI_DESTINATION": view.rsplit(".", 1)[-1],
                            "PGAI_SOURCE_CITATION": "url"},
                           lambda query, **kw: pgai_search(db, embed_server, query, **{"collection": view, **kw}))


@pytest.fixture
def pgai_schemas_store(pg, pgai_schemas_template, embed_server):
    """A copy of the pgai store whose store is ``vec.post_vectors`` and view ``public.post_search``."""
    yield from _pgai_store(pg, pgai_schemas_template, embed_server, view="public.post_search")


@pytest.fixture
def pgai_store(pg, pgai_template, embed_server):
    """A copy of the pgai store."""
    yield from _pgai_store(pg, pgai_template, embed_server)


@pytest.fixture
def pgai_titled_store(pg, pgai_titled_template, embed_server):
    """A copy of the pgai store whose formatting template embeds the source's title."""
    yield from _pgai_store(pg, pgai_titled_template, embed_server)


@pytest.fixture
def pgai_named_store(pg, pgai_named_template, embed_server):
    """A copy of the pgai store whose store (``post_vectors``) and view (``post_search``) pgai's catalog names."""
    yield from _pgai_store(pg, pgai_named_template, embed_server, view="post_search")


@pytest.fixture(params=["langchain", "llamaindex", "pgai"])
def library_store(request) -> LibraryStore:
    """Each library's store in turn."""
    return request.getfixturevalue(f"{request.param}_store")
