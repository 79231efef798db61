"""Everything the checks of one run share: the target, one read-only connection, the provider, the one-pass counts."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .. import db as dbmod
from .. import redact
from ..db import Conn
from ..errors import ConfigError, HarnessError
from ..profile import Profile
from ..provider import OllamaProvider
from ..settings import Settings
from ..target import Target
from .outcome import PASS, UNPROVEN, Outcome, unproven
from .shape import Shape
from .stats import CollectionStats, gather

DEFAULT_TIMEOUT_MS = 60_000
SAMPLE_ALL = "all"


@dataclass(frozen=True)
class CheckOptions:
    """``sample``: None = as many rows as the required bound needs, ``"all"`` = every row, N = exactly N
    (fewer than the bound needs leaves the sampled checks unproven). ``max_bad_fraction`` and ``confidence``
    override the profile's ``verify.*`` keys."""

    collections: tuple[str, ...] = ("all",)
    sample: int | str | None = None
    run_dir: Path | None = None
    historylogs: tuple[Path, ...] = ()
    statement_timeout_ms: int = DEFAULT_TIMEOUT_MS
    max_bad_fraction: float | None = None
    confidence: float | None = None


def parse_sample(value: str | int | None) -> int | str | None:
    """``--sample``: a positive row count or ``all``; ConfigError naming the value otherwise."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lower() == SAMPLE_ALL:
        return SAMPLE_ALL
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1 or str(number) != str(value).strip():
        raise ConfigError(f"--sample {value}: expected a positive number of rows or 'all'")
    return number


def parse_fraction(value: str | float | None, name: str = "--max-bad-fraction") -> float | None:
    """A fraction in (0, 1) (``0.01`` or ``1%``); ConfigError naming the value otherwise."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        number = -1.0
    if not 0 < number < 1:
        raise ConfigError(f"{name} {value}: expected a fraction between 0 and 1 (e.g. 0.01 or 1%)")
    return number


@dataclass
class CheckSession:
    """Open with ``open_session``; close when done."""

    profile: Profile
    database_url: str
    model: str
    provider_url: str | None
    options: CheckOptions
    conn: Conn
    collections: list[str] = field(default_factory=list)
    provider_problem: str | None = None
    _provider: OllamaProvider | None = None
    _stats: dict[str, CollectionStats] | None = None
    _declared: tuple[int | None, str | None] | None = None
    _real_dims: int | None = None
    settings: Settings | None = field(default=None, repr=False)
    _memo: dict = field(default_factory=dict)
    tenants: list[str | None] = field(default_factory=lambda: [None])  # one view per tenant under database.session
    rls_note: str | None = None  # set when row-level security hides rows and no database.session shows them
    per_tenant_rls: bool = False  # row-level security applies and database.session is read tenant by tenant

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
    def read_only(self, tenant: str | None = None) -> Iterator[Conn]:
        """A READ ONLY transaction with the run's statement timeout and the profile's database.session (for ``tenant``);
        a database error arrives as DatabaseError."""
        with dbmod.translate_errors(), dbmod.read_only(self.conn, self.options.statement_timeout_ms) as conn:
            settings = self.profile.database.session
            if settings and (tenant is not None or not self.profile.database.per_tenant):
                dbmod.apply_session(conn, dbmod.session_values(settings, tenant))
            yield conn

    # -- the bound DONE requires ------------------------------------------------------
    @property
    def max_bad_fraction(self) -> float:
        return self.options.max_bad_fraction or self.profile.verify.max_bad_fraction

    @property
    def confidence(self) -> float:
        return self.options.confidence or self.profile.verify.confidence

    def sample_budget(self) -> int | None:
        """Rows a sampled check draws uniformly: what the required bound needs, an explicit N, or None for every row."""
        from .sampling import sample_size

        if self.options.sample == SAMPLE_ALL:
            return None
        if isinstance(self.options.sample, int):
            return self.options.sample
        return sample_size(self.max_bad_fraction, self.confidence)

    def once(self, key, compute):
        """The value of ``compute()`` computed once per session (checks that stand in for each other share it)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]
    def unseen(self, check: str, collection: str) -> Outcome | None:
        """UNPROVEN when row-level security hides rows from this role: what it cannot see is not reported missing."""
        return unproven(check, collection, self.rls_note) if self.rls_note else None

    def partial(self, check: str, collection: str, measured: Outcome) -> Outcome:
        """``measured`` unless the tenants read one by one may not be every tenant (``rls.completeness``): then
        UNPROVEN, saying how many rows are hidden, or that it cannot be measured."""
        if not self.per_tenant_rls or measured.status != PASS:
            return measured
        from .. import rls

        found = self.once((rls.COMPLETENESS, collection),
                          lambda: rls.completeness(self.conn, self.target, collection, self.tenants))
        if found is None or found.status != UNPROVEN:
            return measured
        return unproven(check, collection, found.note, expected=measured.expected, found=measured.found,
                        metrics={**measured.metrics, **found.metrics})

    def _gather(self, collections: list[str]) -> dict[str, CollectionStats]:
        """The one pass in each tenant's view, added up (one view when no setting uses {tenant})."""
        declared = self.declared()[0]
        per_tenant = []
        for tenant in self.tenants:
            with self.read_only(tenant) as conn:
                per_tenant.append(gather(conn, self.shape, collections, self.model, self.expected_dimensions(),
                                         check_dims=declared is None))
        return {c: _merge([found[c] for found in per_tenant]) for c in collections}

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
            self._stats = self._gather(self.collections)
        if collection not in self._stats:
            self._stats.update(self._gather([collection]))
        return self._stats[collection]

    def close(self) -> None:
        if self._provider is not None:
            self._provider.close()
        self.conn.close()


def _merge(views: list[CollectionStats]) -> CollectionStats:
    """One collection's counts from several tenants' views: counts added, tenant lists joined."""
    if len(views) == 1:
        return views[0]
    merged = {}
    for f in dataclasses.fields(CollectionStats):
        values = [getattr(v, f.name) for v in views]
        if f.name == "collection":
            merged[f.name] = values[0]
        elif isinstance(values[0], tuple):
            merged[f.name] = tuple(dict.fromkeys(item for value in values for item in value))
        else:
            merged[f.name] = sum(values)
    return CollectionStats(**merged)


@dbmod.translate_errors()
def open_session(settings: Settings, options: CheckOptions) -> CheckSession:
    """Connect, resolve the collections (``all`` = every collection), and return the shared session."""
    from ..state import list_collections

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
        from .. import rls

        with session.read_only() as c:
            securities = rls.inspect(c, profile)
            session.tenants = rls.tenants(c, profile)
        if rls.applies(securities) and not profile.database.session:
            session.rls_note = rls.outcome(securities, profile, None).note
        session.per_tenant_rls = rls.applies(securities) and profile.database.per_tenant
        if "all" in options.collections:
            names = list(rls.across(conn, profile, session.tenants, lambda: list_collections(conn, session.target)))
            if not names:
                raise ConfigError(f"--collection all: {profile.chunks.table} holds no chunks; expected at least one collection")
        else:
            names = list(dict.fromkeys(options.collections))
            for name in names:
                rls.require_visible(conn, session.target, name, session.tenants)
        session.collections = names
    except BaseException:
        conn.close()
        raise
    return session
