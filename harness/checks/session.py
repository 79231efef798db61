"""Everything the checks of one run share: the target, one read-only connection, the provider, the one-pass counts."""

from __future__ import annotations

import dataclasses
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from .. import db as dbmod
from .. import redact
from ..db import Conn
from ..errors import ConfigError, DatabaseError, HarnessError, ProviderError
from ..profile import Profile
from ..provider import OllamaProvider
from ..settings import Settings
from ..target import Target
from .no_collection import NoCollection, measure
from .outcome import PASS, UNPROVEN, Outcome, unproven
from .shape import Shape
from .stats import CollectionStats, Pass, gather, probe, stored_out_of_line

DEFAULT_TIMEOUT_MS = 60_000  # each statement's timeout, by default, on empty tables
TIMEOUT_MS_PER_GB = 60_000  # and this much more per GB of the chunk and embedding tables: the pass reads them whole
MAX_TIMEOUT_MS = 2**31 - 1  # the most statement_timeout takes (about 36 TB at that rate)
SAMPLE_ALL = "all"



@dataclass(frozen=True)
class ProviderCheck:
    """A check the embedding provider answers: ``measure(session, collection, provider)``, and what was not done
    (``nothing``) where no provider answers."""

    name: str
    measure: Callable[[CheckSession, str, OllamaProvider], Outcome]
    nothing: str

@dataclass(frozen=True)
class CheckOptions:
    """``sample``: None = as many rows as the required bound needs, ``"all"`` = every row, N = exactly N
    (fewer than the bound needs leaves the sampled checks unproven). ``max_bad_fraction`` and ``confidence``
    override the profile's ``verify.*`` keys. ``statement_timeout_ms``: None = ``DEFAULT_TIMEOUT_MS`` plus
    ``TIMEOUT_MS_PER_GB`` per GB of the two tables."""

    collections: tuple[str, ...] = ("all",)
    sample: int | str | None = None
    run_dir: Path | None = None
    historylogs: tuple[Path, ...] = ()
    statement_timeout_ms: int | None = None
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


@dataclass(frozen=True)
class OnePass:
    """The one pass's findings for the session's collections (see ``CheckSession.onepass``)."""

    stats: dict[str, CollectionStats]
    rows: int  # rows of the join read, in all tenants' views
    vectors: int  # non-NULL vectors in the whole vector table (every collection)
    seconds: float
    shared: list[dict]  # confirmed rows sharing a vector with a row of another text (every checked collection)
    shared_fps: list[int]  # fingerprints more than one vector holds (their rows read again to confirm)
    drawable: dict[str, int]  # per collection: embedded rows a sample draws from (recompute's population)


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
    tenants: list[str | None] = field(default_factory=lambda: [None])  # one view per tenant under database.session
    rls_note: str | None = None  # set when row-level security hides rows and no database.session shows them, or a
    # foreign table's remote policies or a function's tables may (rls.unseen)
    per_tenant_rls: bool = False  # row-level security applies and database.session is read tenant by tenant
    session_rls: bool = False  # row-level security applies and database.session sets its view (per tenant or fixed)
    statement_timeout_ms: int = DEFAULT_TIMEOUT_MS  # as given, else grown with the tables when the session opens
    _pass: OnePass | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _provider_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _pool: ThreadPoolExecutor | None = field(default=None, repr=False)
    _futures: dict = field(default_factory=dict, repr=False)
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _side: list = field(default_factory=list, repr=False)
    seed: int = field(default_factory=lambda: secrets.randbits(62), repr=False)  # the sample's draw, per session
    _pass_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # A snapshot opened to list the collections (``--collection all``, one view), kept for the pass: the chunk
    # counts it read then are the pass's own, so the chunk table is counted once.
    _held: tuple[ExitStack, Conn, list[tuple]] | None = field(default=None, repr=False)
    # ``--collection all``: the chunks in no collection, which no collection's check reads (None: there are none)
    no_collection: NoCollection | None = None

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
    def read_only(self, tenant: str | None = None, *, snapshot: bool = False, conn: Conn | None = None) -> Iterator[Conn]:
        """A READ ONLY transaction with the run's statement timeout and the profile's database.session (for ``tenant``);
        a database error arrives as DatabaseError. In a background thread, on that thread's own connection."""
        try:
            with dbmod.translate_errors(), dbmod.read_only(conn or self._connection(), self.statement_timeout_ms,
                                                           snapshot=snapshot) as conn:
                settings = self.profile.database.session
                if settings and (tenant is not None or not self.profile.database.per_tenant):
                    dbmod.apply_session(conn, dbmod.session_values(settings, tenant))
                yield conn
        except DatabaseError as exc:
            if exc.sqlstate != "57014" or "statement timeout" not in str(exc):
                raise
            error = DatabaseError(f"{exc}; each statement of the checks may run {self.statement_timeout_ms} ms "
                                  "(--bh-statement-timeout-ms MS sets it; env BH_STATEMENT_TIMEOUT_MS for verify)")
            error.sqlstate = exc.sqlstate
            raise error from exc

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
        return self.result(key, compute)

    # -- concurrency: provider-bound checks run beside the pass, on their own connection ----------------------
    def result(self, key, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per session: computed here unless another thread already computes it (then its
        result, or its error, when it is done). Nobody ever waits for work that is only queued."""
        with self._lock:
            found: Future | None = self._futures.get(key)
            mine = found is None
            future: Future = Future() if found is None else found
            if mine:
                self._futures[key] = future
        if mine:
            try:
                future.set_result(compute())
            except BaseException as exc:  # re-raised in every thread that asks
                future.set_exception(exc)
        return future.result()

    def later(self, key, compute: Callable[[], Any]) -> None:
        """Start ``compute()`` in a background thread (with its own connection) unless it has started."""
        with self._lock:
            if key in self._futures:
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bh-checks")
            self._pool.submit(self._quietly, key, compute)

    def _quietly(self, key, compute: Callable[[], Any]) -> None:
        try:
            self.result(key, compute)
        except BaseException:  # kept in the Future, raised where the check asks for it
            pass

    def _connection(self) -> Conn:
        if threading.current_thread() is threading.main_thread() or self.settings is None:
            return self.conn
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.database_url)
            self._local.conn = conn
            with self._lock:
                self._side.append(conn)
        return conn

    def unseen(self, check: str, collection: str) -> Outcome | None:
        """UNPROVEN when row-level security hides rows from this role: what it cannot see is not reported missing."""
        return unproven(check, collection, self.rls_note) if self.rls_note else None

    def partial(self, check: str, collection: str | None, measured: Outcome) -> Outcome:
        """The one rule for what row-level security hides from a check that reads rows: ``measured`` where it did not
        pass (a bad row seen is bad whatever is hidden) or where every row was read; else UNPROVEN, since the rows
        it could not read are not proven sound: rows hidden with no ``database.session`` (``rls_note``), or tenants
        read one by one that may not be every tenant (``rls.completeness``: how many rows are hidden, or that it
        cannot be measured)."""
        if measured.status != PASS:
            return measured
        if self.rls_note:
            return unproven(check, collection, self.rls_note, expected=measured.expected, found=measured.found,
                            metrics=measured.metrics)
        if not self.session_rls:
            return measured
        if collection is None and self.per_tenant_rls:  # tenant coverage is counted per collection: none to count
            return unproven(check, None, "row-level security is read tenant by tenant and whether the tenants are "
                            "every tenant is counted per collection only", expected=measured.expected,
                            found=measured.found, metrics=measured.metrics)
        from .. import rls

        # A fixed database.session (no {tenant}) is one view: whether it shows every row is counted as for tenants.
        for name in [collection] if collection is not None else self.collections:
            found = self.once((rls.COMPLETENESS, name),
                              lambda name=name: rls.completeness(self.conn, self.target, name, self.tenants))
            if found is not None and found.status == UNPROVEN:
                return unproven(check, collection, found.note, expected=measured.expected, found=measured.found,
                                metrics={**measured.metrics, **found.metrics})
        return measured

    # -- the one pass -------------------------------------------------------------
    @property
    def drawn_for(self) -> int:
        """Rows a sample is drawn for: what recompute needs (citations' three when recompute reads every row)."""
        from .citations import FALLBACK_QUERIES

        return self.sample_budget() or FALLBACK_QUERIES

    def onepass(self) -> OnePass:
        """Every row read once for all checked collections, in one statement per tenant view: the counts and the
        vectors shared by rows of different texts. As it starts, the provider-bound checks start beside it."""
        with self._pass_lock:
            if self._pass is None:
                self._start_provider_work()
                self._pass = self._run_pass(self.collections)
            return self._pass

    def _run_pass(self, collections: list[str]) -> OnePass:
        from .distinct import confirm, first_rows, held_across, rows_holding, vectors_held
        from .fingerprints import Spool, bound, held_twice_in

        started = time.perf_counter()
        declared = self.declared()[0]
        dims = self.expected_dimensions()
        views, fps = [], []
        shared: list[dict] = []
        spools: list[Spool] = []
        drawable: dict[str, int] = {}
        rows = vectors = 0
        try:
            for tenant in self.tenants:
                kept, counts = self._release_held() if tenant is None else (None, None)
                with kept or self.read_only(tenant, snapshot=True) as conn:
                    found: Pass = gather(conn, self.shape, collections, self.model, dims, check_dims=declared is None,
                                         probe=probe(dims) if dims else None, counts=counts,
                                         out_of_line=stored_out_of_line(self.declared()[1], dims))
                    spools.append(found.spool)
                    bound(spools)
                    # Without chunks.tenant the rows carry no owner: a view's rows are its tenant's, where row-level
                    # security makes it that tenant's (a role it does not apply to reads every row, in one view).
                    views.append(found.stats if self.profile.chunks.tenant or not self.per_tenant_rls else
                                 {c: in_view(st, tenant) for c, st in found.stats.items()})
                    rows += found.rows
                    vectors += found.vectors
                    fps += found.shared_fps
                    shared = first_rows(shared + confirm(conn, self, found.shared_fps, collections, dims))
                    for c in collections:
                        drawable[c] = drawable.get(c, 0) + found.drawable[c]
            across = held_twice_in(spools) if len(spools) > 1 else []
        finally:
            for spool in spools:
                spool.close()
        if across:
            # Every fingerprint held twice in all the views together, also those one view holds twice with one text:
            # another view's row may hold that vector with another text. Each view sends the vectors of those rows
            # (one row a vector), then the rows of the vectors held with two texts (at most the offenders' cap).
            views_held = []
            for tenant in self.tenants:
                with self.read_only(tenant) as conn:
                    views_held.append(vectors_held(conn, self, across, dims))
            held = held_across(views_held)
            del views_held
            for tenant in self.tenants if held else []:
                with self.read_only(tenant) as conn:
                    shared = first_rows(shared + rows_holding(conn, self, held, across, collections, dims))
            known = set(fps)
            fps += [f for f in across if f not in known]
        stats = {c: _merge([v[c] for v in views]) for c in collections}
        return OnePass(stats, rows, vectors, time.perf_counter() - started, shared, fps, drawable)

    def hold_counts(self) -> list[tuple]:
        """Chunks per collection and tenant of every collection, in a snapshot kept open on a connection of its own
        for the pass (``_release_held``)."""
        from .stats import chunk_counts_sql

        stack = ExitStack()
        try:
            own = stack.enter_context(closing(_connect(self.database_url)))
            conn = stack.enter_context(self.read_only(None, snapshot=True, conn=own))
            counts = [(r["collection"], r["tenant"], r["chunks"])
                      for r in conn.execute(chunk_counts_sql(self.shape, every=True)).fetchall()]
        except BaseException:
            stack.close()
            raise
        self._held = (stack, conn, counts)
        return counts

    def _release_held(self) -> tuple[_Held | None, list[tuple] | None]:
        """The held snapshot (closed when the caller leaves it) and its counts, once; (None, None) without one or
        when its transaction has ended (e.g. an idle-in-transaction timeout): the pass then counts for itself."""
        held, self._held = self._held, None
        if held is None:
            return None, None
        stack, conn, counts = held
        try:
            alive = conn.info.transaction_status == TransactionStatus.INTRANS and conn.execute("SELECT 1").fetchone()
        except psycopg.Error:
            alive = False
        if not alive:
            with suppress(Exception):
                stack.close()
            return None, None
        return _Held(stack, conn), counts

    @property
    def pass_done(self) -> bool:
        return self._pass is not None

    def sample(self, collection: str) -> list[dict] | None:
        """The sample drawn for the collection beside the pass (None: too few drawn chunks had a vector)."""
        from .recompute import predraw

        return self.result(("sample", collection), lambda: predraw(self, collection, self.drawn_for))

    def read_by_pass(self) -> str:
        """What a check that reads the pass's counts read: said the same way in every outcome."""
        found = self.onepass()
        several = (" (a chunk's row once for each checked collection it is in)"
                   if self.profile.chunks.collection_several and len(self.collections) > 1 else "")
        return (f"the shared pass: {found.rows} rows of {self._tables()}{several} read once in one statement for every "
                f"check and collection ({found.seconds:.2f} s)")

    def _tables(self) -> str:
        ch, em = self.profile.chunks, self.profile.embeddings
        return ch.table if self.shape.inline else f"{ch.table} joined with {em.table}"

    def _start_provider_work(self) -> None:
        """As the pass starts: the model probe, drawing and re-embedding the samples, the citation searches; in two
        background threads with their own connections, so the provider works while the pass reads."""
        from .citations import CITATIONS
        from .recompute import RECOMPUTE

        if self.provider_problem is None and self.settings is not None:
            self.later(("real_dimensions",), self._probe_dimensions)
        for c in self.collections:
            for check in (RECOMPUTE, CITATIONS):
                self.later((check.name, c), self._measuring(check, c))

    # -- the provider ----------------------------------------------------------------
    def provider(self) -> OllamaProvider:
        """The embedding provider, or HarnessError saying why there is none."""
        if self.provider_problem:
            raise HarnessError(self.provider_problem)
        with self._provider_lock:  # not the session's lock: the pass holds that while it waits for the probe
            if self._provider is None:
                assert self.settings is not None, "open the session with open_session(settings, options)"
                self._provider = self.settings.provider()
        return self._provider

    def provider_check(self, check: ProviderCheck, collection: str) -> Outcome:
        """A check the provider answers (recompute, citations): measured once per session and collection (begun in the
        background as the pass starts), unproven where no provider answers, and under row-level security's rule."""
        return self.partial(check.name, collection, self.result((check.name, collection), self._measuring(check, collection)))

    def _measuring(self, check: ProviderCheck, collection: str) -> Callable[[], Outcome]:
        """``check.measure`` with the provider, or unproven where none answers: a check that embedded nothing proves
        nothing, so it is never skipped or failed for it."""
        def measured() -> Outcome:
            try:
                provider = self.provider()
            except HarnessError as exc:  # none configured, or none could be made
                return unproven(check.name, collection, f"{check.nothing}: {exc}")
            try:
                return check.measure(self, collection, provider)
            except ProviderError as exc:  # it stopped answering: what it did answer proves nothing of the rest
                return unproven(check.name, collection, f"{check.nothing}: {exc}")
        return measured

    def real_dimensions(self) -> int:
        """The model's real dimension (probed once, in the background when the pass starts)."""
        if self._real_dims is None:
            self._real_dims = self.result(("real_dimensions",), self._probe_dimensions)
        return self._real_dims

    def _probe_dimensions(self) -> int:
        return self.provider().dimensions()

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
        if self.profile.provider.vector_dimensions:
            return self.profile.provider.vector_dimensions
        try:
            return self.real_dimensions()
        except HarnessError:
            return None

    def stats(self, collection: str) -> CollectionStats:
        """The one-pass counts, computed for every checked collection on first use."""
        if collection in self.collections:
            return self.onepass().stats[collection]
        with self._lock:
            if self._stats is None:
                self._stats = {}
            if collection not in self._stats:
                self._stats.update(self._run_pass([collection]).stats)
            return self._stats[collection]

    def close(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            with suppress(Exception):
                held[0].close()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._provider is not None:
            self._provider.close()
        for conn in self._side:
            conn.close()
        self.conn.close()


def in_view(stats: CollectionStats, tenant: str | None) -> CollectionStats:
    """The counts of one tenant's view with its rows of no tenant filed under that tenant (a table without a tenant
    column, whose policies find the owner elsewhere: through the parent document)."""
    if tenant is None:
        return stats
    return dataclasses.replace(stats, tenants=tuple(dataclasses.replace(tc, tenant=tenant) if tc.tenant is None else tc
                                                    for tc in stats.tenants))


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


def merge_samples(rows: list[dict], n: int, population: int | None = None) -> list[dict]:
    """Samples drawn in several tenant views: the n smallest draw keys of all of them are the uniform sample, of
    ``population``, the rows of every view (each view's rows carry only its own; None: the caller counts it)."""
    ordered = sorted(rows, key=lambda r: r["key"])
    uniform = [r for r in ordered if r["uniform"]][:n]
    keep = {id(r) for r in uniform}
    extra = [r for r in rows if id(r) not in keep][:n]
    counted = {} if population is None else {"population": population}
    return [{**r, "uniform": True, **counted} for r in uniform] + [{**r, "uniform": False, **counted} for r in extra]


class _Held:
    """A held snapshot as a context manager: enter yields its connection, exit ends its transaction."""

    def __init__(self, stack: ExitStack, conn: Conn):
        self.stack, self.conn = stack, conn

    def __enter__(self) -> Conn:
        return self.conn

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stack.__exit__(kind, exc, tb)


def _connect(database_url: str) -> Conn:
    conn = dbmod.connect(database_url, autocommit=True, application_name="backfill-harness checks")
    # Defence in depth: even a statement run outside read_only() on this connection cannot write.
    conn.execute("SET default_transaction_read_only = on")
    return conn


@dbmod.translate_errors()
def _grown_timeout(conn: Conn, target: Target) -> int:
    """``DEFAULT_TIMEOUT_MS`` plus ``TIMEOUT_MS_PER_GB`` per GB of the chunk and embedding tables (heap and TOAST):
    the statements that read every row take time in proportion, and a fixed limit fails verify at some size. A
    partitioned (or inherited) table is measured by its children and a view by the relations it reads: their own
    pg_table_size is 0."""
    names = list(dict.fromkeys(sql.Identifier(*name).as_string(conn) for name in (
        (target.profile.chunks.schema, target.profile.chunks.table),
        (target.profile.embeddings.schema, target.profile.embeddings.table))))
    row = conn.execute(
        "WITH RECURSIVE read(oid) AS (SELECT to_regclass(n)::oid FROM unnest(%s::text[]) AS n "
        "UNION SELECT u.oid FROM read AS r JOIN pg_class AS k ON k.oid = r.oid, LATERAL ("
        "SELECT i.inhrelid FROM pg_inherits AS i WHERE i.inhparent = r.oid UNION ALL "
        "SELECT d.refobjid FROM pg_rewrite AS w JOIN pg_depend AS d ON d.classid = 'pg_rewrite'::regclass "
        "AND d.objid = w.oid AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.oid "
        "WHERE k.relkind = 'v' AND w.ev_class = r.oid) AS u(oid)) "
        "SELECT coalesce(sum(pg_table_size(oid)), 0)::float8 AS bytes FROM read WHERE oid IS NOT NULL", (names,)).fetchone()
    grown = DEFAULT_TIMEOUT_MS + round(TIMEOUT_MS_PER_GB * (row["bytes"] if row else 0) / 2**30)
    return min(grown, MAX_TIMEOUT_MS)


def open_session(settings: Settings, options: CheckOptions) -> CheckSession:
    """Connect, resolve the collections (``all`` = every collection), and return the shared session."""
    from ..state import collection_counts, filed_only, require_names

    profile = settings.profile
    if not settings.database_url:
        raise ConfigError(f"profile {profile.name!r} has no database: set DATABASE_URL or the profile key 'database.url'")
    problem = None if settings.provider_url else "no embedding provider: set OLLAMA_HOST or the profile key 'provider.url'"
    conn = _connect(settings.database_url)
    session = CheckSession(profile, settings.database_url, settings.model, settings.provider_url, options, conn,
                           provider_problem=problem, settings=settings)
    if options.statement_timeout_ms is not None:
        session.statement_timeout_ms = options.statement_timeout_ms
    try:
        from .. import rls

        with session.read_only() as c:
            if options.statement_timeout_ms is None:
                session.statement_timeout_ms = _grown_timeout(c, session.target)
            securities = rls.inspect(c, profile)
            session.tenants = rls.tenants(c, profile)
        if (rls.applies(securities) and not profile.database.session) or rls.unseen(securities):
            session.rls_note = rls.outcome(securities, profile, None).note
        session.per_tenant_rls = rls.applies(securities) and profile.database.per_tenant
        session.session_rls = rls.applies(securities) and bool(profile.database.session)
        if "all" in options.collections:
            # Chunks in no collection are counted under None: no collection's check reads them, so they are
            # measured apart (in the same snapshot as the listing) and reported, never left out unsaid.
            if session.tenants == [None]:
                # One view: the names come from the chunk counts the pass will use (one count of the chunk table).
                with session.read_only() as c:
                    require_names(c, profile)
                counts = session.hold_counts()
                listed = dict.fromkeys(collection for collection, _, _ in counts)
                if None in listed and session._held is not None:
                    session.no_collection = measure(session.target, [session._held[1]])
            else:
                listed = dict.fromkeys(rls.across(conn, profile, session.tenants,
                                                  lambda: collection_counts(conn, session.target)))
                if None in listed:
                    session.no_collection = measure(session.target, rls.views(conn, profile, session.tenants))
            names = [name for name in listed if name is not None]
            # and the collections only embedding rows still name (their chunks deleted): their orphans are read there
            names = list(dict.fromkeys([*names, *rls.across(
                conn, profile, session.tenants, lambda: dict.fromkeys(filed_only(conn, session.target, names), 1))]))
            if not names:
                nowhere = f" in a collection: {session.no_collection.line()}" if session.no_collection else ""
                raise ConfigError(f"--collection all: {profile.chunks.table} holds no chunks{nowhere}; expected at "
                                  "least one collection")
        else:
            names = list(dict.fromkeys(options.collections))
            for name in names:
                rls.require_visible(conn, session.target, name, session.tenants)
        session.collections = names
    except BaseException:
        session.close()
        raise
    return session
