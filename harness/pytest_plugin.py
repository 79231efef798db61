"""pytest plugin for the DONE checks (``checks/``): target options, and fixtures named ``check_*``.

Loaded in every pytest run through the ``pytest11`` entry point, it stays inert
unless a test asks for its fixtures; without ``--profile`` those fixtures skip
with one reason, so the checks are never reported as passed when nothing was checked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NO_TARGET = ("no target to check: pass --profile P (a YAML path or a preset) and --collection C, with a database "
             "from --database-url, DATABASE_URL or the profile's database.url")
_PLAN = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("backfill-harness", "backfill-harness DONE checks")
    group.addoption("--profile", default=None, help="target profile: a YAML path or a preset (langchain, llamaindex, pgai)")
    group.addoption("--collection", action="append", default=[], help="collection to check (repeatable; 'all' = every one)")
    group.addoption("--sample", type=int, default=20, help="rows re-embedded by the recompute check (default 20)")
    group.addoption("--run-dir", default=None, help="run folder whose run.json the completed check reads")
    group.addoption("--historylog", action="append", default=[], help="historylog the completed check reads (repeatable)")
    group.addoption("--database-url", default=None, help="database to check (default: DATABASE_URL, then the profile)")
    group.addoption("--statement-timeout-ms", type=int, default=60_000, help="statement timeout of each check (ms)")


def _plan(config: pytest.Config) -> dict:
    """The profile, options and collections, resolved once; a bad value is a usage error naming it."""
    if _PLAN in config.stash:
        return config.stash[_PLAN]
    from .checks.session import CheckOptions, database_url_for, open_session
    from .errors import HarnessError
    from .profile import load_profile
    from .profiles import profile_path

    plan: dict = {"session": None, "skip": None}
    config.stash[_PLAN] = plan
    arg = config.getoption("profile")
    if not arg:
        plan["skip"] = NO_TARGET
        return plan
    collections = tuple(config.getoption("collection") or ())
    try:
        if not collections:
            raise HarnessError("--collection C is required with --profile (repeat it, or --collection all)")
        if config.getoption("sample") < 1:
            raise HarnessError(f"--sample must be at least 1, found {config.getoption('sample')}")
        profile = load_profile(profile_path(arg))
        url = database_url_for(profile, config.getoption("database_url"), os.environ)
        if not url:
            plan["skip"] = f"profile {profile.name!r} has no database: pass --database-url, or set DATABASE_URL or database.url"
            return plan
        options = CheckOptions(
            collections=collections,
            sample=config.getoption("sample"),
            run_dir=Path(config.getoption("run_dir")) if config.getoption("run_dir") else None,
            historylogs=tuple(Path(p) for p in config.getoption("historylog")),
            statement_timeout_ms=config.getoption("statement_timeout_ms"),
        )
        plan["session"] = open_session(profile, options, database_url=url)
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    return plan


CHECKS_MARK = "backfill-harness DONE checks"


def _is_checks_dir(path: Path) -> bool:
    init = path / "__init__.py"
    try:
        return path.is_dir() and init.exists() and CHECKS_MARK in init.read_text(encoding="utf-8")[:500]
    except OSError:
        return False


@pytest.hookimpl(tryfirst=True)
def pytest_make_collect_report(collector: pytest.Collector):
    """Without a target the checks folder is skipped whole: one reason, one line, never a pass."""
    if not isinstance(collector, pytest.Directory) or not _is_checks_dir(Path(collector.path)):
        return None
    given = {Path(arg.split("::")[0]).resolve() for arg in collector.config.args}
    if Path(collector.path).resolve() not in given:
        return None  # a single check file was asked for: its fixtures skip it with the same reason
    reason = _plan(collector.config)["skip"]
    if reason is None:
        return None
    from _pytest.reports import CollectReport

    return CollectReport(collector.nodeid, "skipped", (str(collector.path), None, f"Skipped: {reason}"), [])


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("profile", None) and not config.getoption("help", False):
        _plan(config)  # bad input stops the run here, as a usage error naming it (exit 4)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = metafunc.fixturenames
    if "check_collection" not in names and "check_custom" not in names:
        return
    session = _plan(metafunc.config)["session"]
    if session is None:
        return  # the fixtures skip with the reason
    if "check_collection" in names:
        metafunc.parametrize("check_collection", session.collections, ids=session.collections)
    if "check_custom" in names and session.profile.custom_checks:
        checks = [c.name for c in session.profile.custom_checks]
        metafunc.parametrize("check_custom", checks, ids=checks)


def pytest_unconfigure(config: pytest.Config) -> None:
    plan = config.stash.get(_PLAN, None)
    if plan and plan.get("session") is not None:
        plan["session"].close()


@pytest.fixture(scope="session")
def check_session(request: pytest.FixtureRequest):
    """The shared CheckSession; skips the test with one reason when there is no target."""
    plan = _plan(request.config)
    if plan["session"] is None:
        pytest.skip(plan["skip"])
    return plan["session"]


@pytest.fixture(scope="session")
def check_target(check_session):
    """The profile's ``harness.target.Target``."""
    return check_session.target


@pytest.fixture(scope="session")
def check_db(check_session):
    """The session's connection; use ``check_session.read_only()`` around every statement."""
    return check_session.conn


@pytest.fixture(scope="session")
def check_provider(check_session):
    """The embedding provider (skips when none is configured)."""
    from .errors import HarnessError

    try:
        return check_session.provider()
    except HarnessError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def check_collection(request: pytest.FixtureRequest, check_session):
    """The collection under check (tests are parametrized over every checked collection)."""
    return request.param


@pytest.fixture
def check_custom(request: pytest.FixtureRequest, check_session):
    """The name of a profile custom check; skips when the profile declares none."""
    if not hasattr(request, "param"):
        pytest.skip(f"profile {check_session.profile.name!r} declares no custom_checks")
    return request.param


@pytest.fixture
def check_outcome(request: pytest.FixtureRequest):
    """Run a check and turn its Outcome into the test's result: pass, skip with its reason, or fail with its message.

    A database or provider error (a statement timeout, a refused connection) fails the test with one line.
    """
    import psycopg

    from .checks import FAIL, SKIP
    from .errors import HarnessError
    from .redact import redact

    def record_property(name, value):
        # Straight onto the report (what record_property does) without its xunit2 warning: the junit
        # writer emits these <property> elements whatever the family.
        request.node.user_properties.append((name, value))

    def conclude(check, *args):
        try:
            outcome = check(*args)
        except (HarnessError, psycopg.Error) as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            pytest.fail(redact(f"{getattr(check, '__name__', 'check')} could not run: {text}"), pytrace=False)
        record_property("check", outcome.check)
        for key in ("expected", "found"):
            if getattr(outcome, key):
                record_property(key, getattr(outcome, key))
        for key, value in outcome.metrics.items():
            record_property(key, value)
        if outcome.status == SKIP:
            pytest.skip(outcome.message())
        if outcome.status == FAIL:
            pytest.fail(outcome.message(), pytrace=False)
        return outcome

    return conclude
