"""Everything the checks of one run share: the target, one read-only connection, the provider, the one-pass counts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from .. import db as dbmod
from .. import redact
from ..errors import ConfigError, HarnessError
from ..profile import Profile
from ..provider import OllamaProvider
from ..settings import Settings
from ..target import Target
from .shape import Shape
from .stats import CollectionStats, gather

DEFAULT_SAMPLE = 20
DEFAULT_TIMEOUT_MS = 60_000


@dataclass(frozen=True)
class CheckOptions:
    collections: tuple[str, ...] = ("all",)
    sample: int = DEFAULT_SAMPLE
    run_dir: Path | None = None
    historylogs: tuple[Path, ...] = ()
    statement_timeout_ms: int = DEFAULT_TIMEOUT_MS


@dataclass
class CheckSession:
    """Open with ``open_session``; close when done."""

    profile: Profile
    database_url: str
    model: str
    provider_url: str | None
    options: CheckOptions
    conn: psycopg.Connection
    collections: list[str] = field(default_factory=list)
    provider_problem: str | None = None
    _provider: OllamaProvider | None = None
    _stats: dict[str, CollectionStats] | None = None
    _declared: tuple[int | None, str | None] | None = None
    _real_dims: int | None = None
    settings: Settings | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        # Tracebacks print fixture values: never the DSN's password (the profile may hold it too).
        return (f"CheckSession(profile={self.profile.name!r}, database={redact.safe_dsn(self.database_url)!r}, "
                f"model={self.model!r}, collections={self.collections!r})")

    @property
    def target(self) -> Target:
        return Target(self.profile)

    @property
    def shape(self) -> Shape:
        return Shape(self.target)

    @contextmanager
    def read_only(self) -> Iterator[psycopg.Connection]:
        """A READ ONLY transaction with the run's statement timeout; a database error arrives as DatabaseError."""
        with dbmod.translate_errors(), dbmod.read_only(self.conn, self.options.statement_timeout_ms) as conn:
            yield conn

    # -- the provider ----------------------------------------------------------------
    def provider(self) -> OllamaProvider:
        """The embedding provider, or HarnessError saying why there is none."""
        if self.provider_problem:
            raise HarnessError(self.provider_problem)
        if self._provider is None:
            assert self.settings is not None, "open the session with open_session(settings, options)"
            self._provider = self.settings.provider()
        return self._provider

    def real_dimensions(self) -> int:
        if self._real_dims is None:
            self._real_dims = self.provider().dimensions()
        return self._real_dims

    # -- the catalog and the one pass ----------------------------------------------
    def declared(self) -> tuple[int | None, str | None]:
        """(declared dimension or None, type as written) of the vector column, from the catalog."""
        if self._declared is None:
            with self.read_only() as conn:
                row = conn.execute(self.target.declared_dimensions()).fetchone()
            em = self.profile.embeddings
            if row is None:
                raise ConfigError(f"embedding column {em.vector!r} does not exist in table {em.schema}.{em.table}")
            self._declared = (row["dims"], row["type"])
        return self._declared

    def expected_dimensions(self) -> int | None:
        """What every vector should measure: the column's declaration, else the profile's, else the model's."""
        declared, _ = self.declared()
        if declared is not None:
            return declared
        if self.profile.provider.dimensions:
            return self.profile.provider.dimensions
        try:
            return self.real_dimensions()
        except HarnessError:
            return None

    def stats(self, collection: str) -> CollectionStats:
        """The one-pass counts, computed for every checked collection on first use."""
        if self._stats is None:
            declared, _ = self.declared()
            with self.read_only() as conn:
                self._stats = gather(conn, self.shape, self.collections, self.model, self.expected_dimensions(),
                                     check_dims=declared is None)
        if collection not in self._stats:
            with self.read_only() as conn:
                self._stats.update(gather(conn, self.shape, [collection], self.model, self.expected_dimensions(),
                                          check_dims=self.declared()[0] is None))
        return self._stats[collection]

    def close(self) -> None:
        if self._provider is not None:
            self._provider.close()
        self.conn.close()


@dbmod.translate_errors()
def open_session(settings: Settings, options: CheckOptions) -> CheckSession:
    """Connect, resolve the collections (``all`` = every collection), and return the shared session."""
    from ..state import list_collections, require_collection

    profile = settings.profile
    if not settings.database_url:
        raise ConfigError(f"profile {profile.name!r} has no database: set DATABASE_URL or the profile key 'database.url'")
    problem = None if settings.provider_url else "no embedding provider: set OLLAMA_HOST or the profile key 'provider.url'"
    conn = dbmod.connect(settings.database_url, autocommit=True, application_name="backfill-harness checks")
    # Defence in depth: even a statement run outside read_only() on this connection cannot write.
    conn.execute("SET default_transaction_read_only = on")
    session = CheckSession(profile, settings.database_url, settings.model, settings.provider_url, options, conn,
                           provider_problem=problem, settings=settings)
    try:
        with session.read_only() as c:
            if "all" in options.collections:
                names = list(list_collections(c, session.target))
                if not names:
                    raise ConfigError(f"--collection all: {profile.chunks.table} holds no chunks; expected at least one collection")
            else:
                names = list(dict.fromkeys(options.collections))
                for name in names:
                    require_collection(c, session.target, name)
        session.collections = names
    except BaseException:
        conn.close()
        raise
    return session
