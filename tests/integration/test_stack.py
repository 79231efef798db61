"""The stack hands out working services: embedded by default here, Docker where a daemon answers."""

import psycopg
import pytest

from harness.provider import OllamaProvider
from harness.stack import EmbeddedPostgres, docker_available, start_stack


def test_embedded_stack_gives_postgres_with_pgvector_and_a_provider():
    with start_stack(env={}, prefer="embedded") as stack:
        with psycopg.connect(stack.database_url) as conn:
            version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
        with OllamaProvider(stack.provider_url, "hash-embed:384") as provider:
            assert provider.embed(["x"]).vectors.shape == (1, 384)
    assert version.startswith("0.8")
    assert stack.choice.database == "embedded"


def test_describe_masks_the_database_password():
    with start_stack(env={}, prefer="embedded") as stack:
        shown = stack.describe()
        assert "***" in shown["database_url"]
        assert stack.services["postgres"].password not in str(shown)


def test_explicit_urls_start_nothing(pg, embed_server):
    env = {"DATABASE_URL": pg.dsn(), "OLLAMA_HOST": embed_server.url}
    with start_stack(env=env, docker_probe=lambda: pytest.fail("no probe needed")) as stack:
        assert stack.services == {} and stack.database_url == pg.dsn()


def test_embedded_postgres_survives_a_restart(tmp_path):
    with EmbeddedPostgres(root=tmp_path / "pg") as server:
        server.create_database("x")
        server.restart()
        with psycopg.connect(server.dsn("x")) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)


def test_embedded_postgres_requires_the_password_over_tcp(pg):
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(pg.dsn(password="wrong"), connect_timeout=5)


@pytest.mark.docker
@pytest.mark.skipif(not docker_available(), reason="no Docker daemon answers on this machine (testcontainers path)")
def test_docker_stack_gives_pgvector_and_ollama():
    with start_stack(env={}, models=["all-minilm"], prefer="docker") as stack:
        with psycopg.connect(stack.database_url) as conn:
            assert conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'vector'").fetchone()[0] == 1
        with OllamaProvider(stack.provider_url, "all-minilm") as provider:
            assert provider.dimensions() == 384
            assert provider.embed(["x"]).vectors.shape == (1, 384)


def _make_service_user(name, results):
    from harness.stack.embedded_pg import service_user

    results.put(service_user(name).pw_uid)


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() != 0,
                    reason="only a root process creates the user Postgres runs as")
def test_processes_starting_postgres_at_once_on_a_fresh_machine_agree_on_its_user():
    """Two test workers on a fresh machine once both ran `useradd`: each got its own uid, the last one won, and the
    other's initdb could not read the files it had chowned to the uid it was told."""
    import multiprocessing
    import pwd
    import subprocess
    import uuid

    name = "bh_" + uuid.uuid4().hex[:10]
    results = multiprocessing.get_context("spawn").Queue()
    workers = [multiprocessing.get_context("spawn").Process(target=_make_service_user, args=(name, results))
               for _ in range(4)]
    try:
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        uids = {results.get(timeout=5) for _ in workers}
        assert uids == {pwd.getpwnam(name).pw_uid}
    finally:
        subprocess.run(["userdel", name], capture_output=True, check=False)
