"""Shared fixtures: one real Postgres and one real embedding server per session, a fresh database per test.

Databases are cloned from templates (empty with pgvector; the demo app loaded;
the demo app loaded and backfilled), so a test starts in milliseconds and
never sees another test's rows.
"""

from __future__ import annotations

import compileall
import contextlib
import io
import itertools
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from harness.embedserver import EmbeddingServer
from harness.stack import EmbeddedPostgres
from harness.settings import resolve

REPO = Path(__file__).resolve().parent.parent
DEMO_PROFILE = REPO / "examples" / "ragapp" / "profile.yaml"


def demo_profile_with(custom_checks: str) -> str:
    """The demo profile's text with its own ``custom_checks`` replaced by these (a key given twice is refused)."""
    head, found, _ = DEMO_PROFILE.read_text().partition("\ncustom_checks:")
    assert found, "the demo profile ends with its custom_checks"
    return head + "\n" + custom_checks.lstrip("\n")
TEST_MODEL = "hash-embed:384"
_counter = itertools.count()


def pytest_configure(config):
    """Bytecode caches for the harness and the tests, even where PYTHONDONTWRITEBYTECODE is set (it is on the CI
    machines): the suite starts hundreds of Python processes (verify's pytest, the CLI, the targets' scripts), and
    each compiled every harness module from source again; each worker compiled and rewrote every test file too."""
    sys.dont_write_bytecode = False
    if not hasattr(config, "workerinput"):  # once, in the process that starts the workers, before they import
        for folder in ("harness", "checks", "examples"):
            compileall.compile_dir(REPO / folder, quiet=1)


@pytest.fixture(scope="session")
def pg():
    """The session's PostgreSQL 18 + pgvector (embedded wheel), on a loopback port with a password."""
    server = EmbeddedPostgres().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def embed_server():
    """The session's Ollama-compatible server, running the lexical model at a few dimensions."""
    server = EmbeddingServer(models=[TEST_MODEL, "hash-embed:768"]).start()
    try:
        yield server
    finally:
        server.stop()


def _admin(pg: EmbeddedPostgres) -> psycopg.Connection:
    return psycopg.connect(pg.dsn(), autocommit=True)


def _clone(pg: EmbeddedPostgres, template: str) -> str:
    name = f"t{os.getpid()}_{next(_counter)}"
    with _admin(pg) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
    return name


@pytest.fixture(scope="session")
def templates(pg, embed_server):
    """Template databases: ``empty`` (pgvector only), ``demo`` (corpus loaded), ``demo_embedded`` (backfilled)."""
    from examples.ragapp.app import load_corpus
    from harness.backfill import BackfillOptions, run_backfill
    from harness.profile import load_profile
    from harness.provider import OllamaProvider

    pg.create_database("tmpl_empty")
    pg.create_database("tmpl_demo")
    load_corpus(pg.dsn("tmpl_demo"))
    with _admin(pg) as conn:
        conn.execute("CREATE DATABASE tmpl_demo_embedded TEMPLATE tmpl_demo")
    profile = load_profile(DEMO_PROFILE, env={"EMBED_MODEL": TEST_MODEL})
    with OllamaProvider(embed_server.url, TEST_MODEL) as provider:
        for collection in ("global_corpus", "tenant_acme", "tenant_globex"):
            run_backfill(resolve(profile, database_url=pg.dsn("tmpl_demo_embedded"), provider_url=provider.url),
                         BackfillOptions(collection=collection, progress=False), provider=provider)
    return {"empty": "tmpl_empty", "demo": "tmpl_demo", "demo_embedded": "tmpl_demo_embedded"}


@dataclass
class Database:
    name: str
    dsn: str

    def connect(self, **kwargs) -> psycopg.Connection:
        from pgvector.psycopg import register_vector

        conn = psycopg.connect(self.dsn, **kwargs)
        register_vector(conn)
        return conn

    def scalar(self, query, params=None):
        with psycopg.connect(self.dsn) as conn:
            return conn.execute(query, params).fetchone()[0]

    def execute(self, query, params=None) -> None:
        # A set-up's DDL (GRANT, then ALTER TABLE) may deadlock with autovacuum's in-place update of the same pg_class
        # row on a freshly cloned database (Postgres 17+ makes that update wait for the GRANT): the statement was
        # rolled back whole, so it runs again.
        for attempt in range(3):
            try:
                with psycopg.connect(self.dsn, autocommit=True) as conn:
                    conn.execute(query, params)
                return
            except psycopg.errors.DeadlockDetected:
                if attempt == 2:
                    raise


def _database(pg, template: str):
    name = _clone(pg, template)
    try:
        yield Database(name, pg.dsn(name))
    finally:
        pg.drop_database(name)


@pytest.fixture
def empty_db(pg, templates):
    """A fresh database with pgvector and nothing else."""
    yield from _database(pg, templates["empty"])


@pytest.fixture
def demo_db(pg, templates):
    """A fresh database with the demo app's schema and corpus, no embeddings yet."""
    yield from _database(pg, templates["demo"])


@pytest.fixture
def embedded_db(pg, templates):
    """A fresh database with the demo app fully backfilled with hash-embed:384."""
    yield from _database(pg, templates["demo_embedded"])


@pytest.fixture
def demo_env(embed_server):
    """Environment for the demo profile, minus the database (tests add DATABASE_URL)."""
    return {"OLLAMA_HOST": embed_server.url, "EMBED_MODEL": TEST_MODEL}


@pytest.fixture
def demo_profile():
    return DEMO_PROFILE


@pytest.fixture
def unretried_demo_profile(tmp_path):
    """The demo profile with ``provider.retries: 0``: a test of a provider that never answers waits for no backoff
    (five retries cost about 7 s a run)."""
    text = DEMO_PROFILE.read_text()
    assert "\n  timeout_s: 120\n" in text, "the demo profile's provider section names its timeout"
    path = tmp_path / "unretried.yaml"
    path.write_text(text.replace("\n  timeout_s: 120\n", "\n  timeout_s: 120\n  retries: 0\n"))
    return path


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def json(self):
        return json.loads(self.out)


@pytest.fixture
def cli(monkeypatch):
    """Run ``backfill-harness ARGS`` in-process with extra environment; returns exit code, stdout, stderr."""
    from harness.cli import main

    def run(*args: str, env: dict[str, str] | None = None) -> CliResult:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as exc:  # argparse usage errors
                code = exc.code if isinstance(exc.code, int) else 1
        return CliResult(code, out.getvalue(), err.getvalue())

    return run


# -- the procedure's steps ------------------------------------------------------------

_THROWAWAY_CONFTEST = '''
def pytest_addoption(parser):
    # The real checks plugin may already define these; then its definitions serve.
    for name in ("--bh-profile", "--bh-collection", "--bh-run-dir", "--bh-historylog", "--bh-sample"):
        try:
            parser.addoption(name, action="store", default=None)
        except ValueError:
            pass
'''

_THROWAWAY_CHECKS = '''
import os

import psycopg
import pytest


def option(config, name):
    value = config.getoption(name)
    return value[0] if isinstance(value, list) else value


def test_coverage(pytestconfig):
    collection = option(pytestconfig, "bh_collection")
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        chunks, vectors = conn.execute(
            "SELECT count(*), count(e.embedding) FROM document_chunks c "
            "LEFT JOIN document_embeddings e ON e.chunk_id = c.id WHERE c.collection = %s", (collection,)).fetchone()
    assert vectors == chunks, f"expected {chunks} vectors in {collection}, found {vectors}"


def test_run_folder_is_given(pytestconfig):
    assert os.path.isdir(option(pytestconfig, "bh_run_dir"))


def test_spot_queries():
    pytest.skip("this small suite has no spot queries")
'''


@pytest.fixture
def checks_dir(tmp_path_factory):
    """A small, real DONE-checks suite (coverage against the database), independent of the project's checks/."""
    folder = tmp_path_factory.mktemp("suite") / "checks"
    folder.mkdir()
    (folder / "conftest.py").write_text(_THROWAWAY_CONFTEST)
    (folder / "test_done.py").write_text(_THROWAWAY_CHECKS)
    return folder


@pytest.fixture
def target_env(demo_env):
    """demo_env plus the interpreter the demo profile's backfill command runs with."""
    import sys

    return {**demo_env, "PYTHON": sys.executable}


@pytest.fixture
def pg_password(pg):
    """The session database's password: it must appear in no artifact."""
    from harness.redact import dsn_password

    password = dsn_password(pg.dsn())
    assert password
    return password


@pytest.fixture
def profile_variant(tmp_path, demo_profile):
    """Write the demo profile with textual replacements (``{old: new}``); return its path."""
    counter = itertools.count()

    def write(replacements: dict[str, str]) -> Path:
        text = demo_profile.read_text()
        for old, new in replacements.items():
            assert old in text, f"{old!r} is not in the demo profile"
            text = text.replace(old, new)
        path = tmp_path / f"variant{next(counter)}.yaml"
        path.write_text(text)
        return path

    return write


def finished_run(run_dir, collection: str, *, exit_code: int = 0, failed_rows: int | None = 0, needed: int = 0):
    """Write the run.json a finished backfill leaves (``needed``: rows the database still lacked afterwards)."""
    from harness.evidence import RunEvidence, write_evidence

    write_evidence(Path(run_dir), RunEvidence(
        collection=collection, command="backfill", exit_code=exit_code, started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:01:00Z", seconds=60.0, failed_rows=failed_rows,
        counts_after={"collection": collection, "needed": needed}))
    return Path(run_dir)
