"""pytest plugin for the DONE checks (``checks/``): target options, and fixtures named ``check_*``.

Loaded in every pytest run through the ``pytest11`` entry point, it stays inert
unless a test asks for its fixtures; without ``--bh-profile`` those fixtures skip
with one reason, so the checks are never reported as passed when nothing was checked.

Every option is namespaced (``--bh-*``) so it cannot clash with another plugin's, and
has an ini twin (``bh_*``) and an environment variable (``BH_*``); a flag wins over the
environment, the environment over the ini file (pytest-django's order).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

NO_TARGET = ("no target to check: pass --bh-profile P (a YAML path or a preset) and --bh-collection C, with a database "
             "from --bh-database-url, DATABASE_URL or the profile's database.url")

UNPROVEN_PREFIX = "unproven: "  # how an unproven check's skip message starts (verify reads it back as unproven)

_help_profile = "target profile: a YAML path or a preset (langchain, llamaindex, pgai)"
_help_collection = "collection to check (repeatable; 'all' = every one; env: comma-separated)"
_help_sample = ("rows re-embedded by the recompute check: N or 'all' (default: as many as the required bound needs, "
                "299 rows for 0.01 at 0.95 confidence); fewer than the bound needs leaves it unproven")
_help_max_bad_fraction = ("largest fraction of bad rows DONE accepts (default: the profile's verify.max_bad_fraction, "
                          "else 0.01)")
_help_offenders = "where every offending row of every failing check is written (default: RUN_DIR/offenders.jsonl)"
_help_run_dir = "run folder whose run.json the completed check reads"
_help_historylog = "historylog the completed check reads (repeatable; env: comma-separated)"
_help_model = ("the model every vector must be of (default: the profile's provider.model); verify passes its --model, "
               "so the checks measure the model the run embedded with")
_help_database_url = "database to check (default: DATABASE_URL, then the profile's database.url)"
_help_statement_timeout_ms = ("statement timeout of each check in ms (default 60000 plus 60000 per GB of the chunk and "
                              "embedding tables, which the shared pass reads whole)")


@dataclass(frozen=True)
class _Option:
    """One setting: flag ``--bh-<name>``, ini key ``bh_<name>``, environment variable ``BH_<NAME>``."""

    name: str
    help: str
    parse: Callable[[str], Any] = str
    default: Any = None
    many: bool = False
    expects: str = "an integer"

    @property
    def flag(self) -> str:
        return "--bh-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        return "bh_" + self.name

    @property
    def env(self) -> str:
        return "BH_" + self.name.upper()


OPTIONS: tuple[_Option, ...] = (
    _Option("profile", _help_profile),
    _Option("collection", _help_collection, many=True),
    _Option("sample", _help_sample, lambda v: _parse_or_value_error("sample", v), None,
            expects="a positive number of rows or 'all'"),
    _Option("max_bad_fraction", _help_max_bad_fraction, lambda v: _parse_or_value_error("fraction", v), None,
            expects="a fraction between 0 and 1 (e.g. 0.01)"),
    _Option("run_dir", _help_run_dir),
    _Option("offenders", _help_offenders),
    _Option("historylog", _help_historylog, many=True),
    _Option("database_url", _help_database_url),
    _Option("model", _help_model),
    _Option("statement_timeout_ms", _help_statement_timeout_ms, int, None, expects="a number of milliseconds"),
)


def _parse_or_value_error(kind: str, value: str) -> Any:
    from .checks.session import parse_fraction, parse_sample
    from .errors import ConfigError

    try:
        return parse_sample(value) if kind == "sample" else parse_fraction(value)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None


@dataclass(frozen=True)
class ChecksConfig:
    """The plugin's settings, read once from flags, environment and ini; ``sources`` says where each came from."""

    profile: str | None = None
    collections: tuple[str, ...] = ()
    sample: int | str | None = None  # None: as many rows as the required bound needs
    max_bad_fraction: float | None = None
    offenders: Path | None = None
    run_dir: Path | None = None
    historylogs: tuple[Path, ...] = ()
    database_url: str | None = field(default=None, repr=False)
    model: str | None = None  # None: the profile's provider.model
    statement_timeout_ms: int | None = None  # None: grown with the tables (checks.session.TIMEOUT_MS_PER_GB)
    sources: Mapping[str, str] = field(default_factory=dict)


_CONFIG = pytest.StashKey[ChecksConfig]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("backfill-harness", "backfill-harness DONE checks")
    for opt in OPTIONS:
        if opt.many:
            group.addoption(opt.flag, dest=opt.ini, action="append", default=[], help=opt.help)
            parser.addini(opt.ini, type="linelist", default=[], help=opt.help)
        else:
            group.addoption(opt.flag, dest=opt.ini, type=_argtype(opt), default=None, help=opt.help)
            parser.addini(opt.ini, type="string", default="", help=opt.help)


def _argtype(opt: _Option) -> Callable[[str], Any]:
    """The option's parser, with argparse's error naming what was expected."""
    import argparse

    def parse(text: str) -> Any:
        try:
            return opt.parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {opt.expects}, found {text!r}") from None
    parse.__name__ = opt.name
    return parse


def _read(config: pytest.Config, opt: _Option, env: Mapping[str, str]) -> tuple[Any, str]:
    """(value, where it came from): flag, then environment, then ini, then the default."""
    flag = config.getoption(opt.ini)
    if flag not in (None, []):
        return (tuple(flag) if opt.many else flag), f"flag {opt.flag}"
    raw = env.get(opt.env, "")
    if raw.strip():
        parts = tuple(p.strip() for p in raw.split(",") if p.strip())
        where = f"env {opt.env}"
    else:
        ini = config.getini(opt.ini)
        parts = tuple(s.strip() for s in ini if s.strip()) if opt.many else ((ini.strip(),) if ini.strip() else ())
        where = f"ini {opt.ini}"
        if not parts:
            return (() if opt.many else opt.default), "default"
    if opt.many:
        return parts, where
    try:
        return opt.parse(parts[0]), where
    except ValueError:
        raise pytest.UsageError(f"{where}: expected {opt.expects}, found {parts[0]!r}") from None


def get_config(config: pytest.Config, env: Mapping[str, str] | None = None) -> ChecksConfig:
    """The plugin's settings for this pytest run (read once, then kept in the config's stash)."""
    if _CONFIG in config.stash:
        return config.stash[_CONFIG]
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for opt in OPTIONS:
        values[opt.name], sources[opt.name] = _read(config, opt, env)
    run_dir, historylogs, offenders = values.pop("run_dir"), values.pop("historylog"), values.pop("offenders")
    checks_config = ChecksConfig(
        profile=values["profile"] or None,
        collections=values["collection"],
        sample=values["sample"],
        max_bad_fraction=values["max_bad_fraction"],
        offenders=Path(offenders) if offenders else (Path(run_dir) / "offenders.jsonl" if run_dir else None),
        run_dir=Path(run_dir) if run_dir else None,
        historylogs=tuple(Path(p) for p in historylogs),
        database_url=values["database_url"] or None,
        model=values["model"] or None,
        statement_timeout_ms=values["statement_timeout_ms"],
        sources=sources,
    )
    config.stash[_CONFIG] = checks_config
    return checks_config


@dataclass
class _Target:
    """What the checks run against: an open session, or the one reason they skip."""

    session: Any = None
    skip: str | None = None
    database_source: str | None = None


_TARGET = pytest.StashKey["_Target"]()


def _target(config: pytest.Config) -> _Target:
    """The profile, options and collections, resolved once; a bad value is a usage error naming it."""
    if _TARGET in config.stash:
        return config.stash[_TARGET]
    from .checks.session import CheckOptions, open_session
    from .errors import HarnessError
    from .profile import load_profile
    from .profiles import profile_path
    from .settings import resolve

    target = _Target()
    config.stash[_TARGET] = target
    cfg = get_config(config)
    if not cfg.profile:
        target.skip = NO_TARGET
        return target
    try:
        if not cfg.collections:
            raise HarnessError("--bh-collection C is required with --bh-profile (repeat it, or --bh-collection all)")
        settings = resolve(load_profile(profile_path(cfg.profile)), database_url=cfg.database_url, model=cfg.model,
                           require_database=False, require_provider=False)
        if not settings.database_url:
            target.skip = (f"profile {settings.profile.name!r} has no database: pass --bh-database-url, or set "
                           "DATABASE_URL or database.url")
            return target
        target.database_source = cfg.sources["database_url"] if cfg.database_url else settings.sources["database_url"]
        options = CheckOptions(
            collections=cfg.collections,
            sample=cfg.sample,
            max_bad_fraction=cfg.max_bad_fraction,
            run_dir=cfg.run_dir,
            historylogs=cfg.historylogs,
            statement_timeout_ms=cfg.statement_timeout_ms,
        )
        target.session = open_session(settings, options)
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    return target


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Where each setting came from (flag, environment, ini or default), as ``Settings.sources`` does for commands."""
    cfg = get_config(config)
    if not cfg.profile:
        return []
    from .redact import safe_dsn

    lines = [f"backfill-harness checks: profile {cfg.profile} (from {cfg.sources['profile']})"]
    shown = {"collection": ", ".join(cfg.collections) or "-", "sample": cfg.sample or "as the bound needs",
             "max_bad_fraction": cfg.max_bad_fraction or "the profile's",
             "run_dir": cfg.run_dir or "-", "historylog": ", ".join(map(str, cfg.historylogs)) or "-",
             "statement_timeout_ms": cfg.statement_timeout_ms}
    sources = dict(cfg.sources)
    target = config.stash.get(_TARGET, None)
    session = target.session if target is not None else None
    if cfg.statement_timeout_ms is None:  # grown with the tables when the session opened: show the value in force
        from .checks.session import DEFAULT_TIMEOUT_MS, TIMEOUT_MS_PER_GB

        shown["statement_timeout_ms"] = session.statement_timeout_ms if session is not None else "grown with the tables"
        sources["statement_timeout_ms"] = (f"default: {DEFAULT_TIMEOUT_MS} plus {TIMEOUT_MS_PER_GB} per GB of the chunk "
                                           "and embedding tables")
    lines += [f"  {name}: {value} (from {sources[name]})" for name, value in shown.items()]
    if target is not None and session is not None:
        lines.append(f"  database: {safe_dsn(session.database_url)} (from {target.database_source})")
        st = session.settings
        lines.append(f"  provider: {st.provider_url or '-'} (from {st.sources.get('provider_url', 'not set')}), "
                     f"model {st.model} (from {st.sources.get('model', 'not set')})")
        lines.append(f"  collections checked: {', '.join(session.collections)}")
    return lines


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
    reason = _target(collector.config).skip
    if reason is None:
        return None
    # (path, lineno, message) with no line: how pytest itself reports a skipped collector.
    longrepr: Any = (str(collector.path), None, f"Skipped: {reason}")
    return pytest.CollectReport(collector.nodeid, "skipped", longrepr, [])


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("help", False) and get_config(config).profile:
        _target(config)  # bad input stops the run here, as a usage error naming it (exit 4)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = metafunc.fixturenames
    if "check_collection" not in names and "check_custom" not in names:
        return
    session = _target(metafunc.config).session
    if session is None:
        return  # the fixtures skip with the reason
    if "check_collection" in names:
        metafunc.parametrize("check_collection", session.collections, ids=session.collections)
    if "check_custom" in names and session.profile.custom_checks:
        checks = [c.name for c in session.profile.custom_checks]
        metafunc.parametrize("check_custom", checks, ids=checks)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """The no-collection check runs only where ``--bh-collection all`` found chunks in no collection: elsewhere it is
    deselected, so it adds nothing (no pass for what was not asked, no skip line)."""
    target = config.stash.get(_TARGET, None)
    if target is None or target.session is None or target.session.no_collection is not None:
        return
    kept = [item for item in items if "check_no_collection" not in getattr(item, "fixturenames", ())]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


_OUTCOMES = pytest.StashKey[list]()


def _outcomes(config: pytest.Config) -> list:
    if _OUTCOMES not in config.stash:
        config.stash[_OUTCOMES] = []
    return config.stash[_OUTCOMES]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write offenders.jsonl; a verdict that is not DONE (an uncovered unproven claim, or no check passed) fails the run."""
    config = session.config
    if _TARGET not in config.stash or config.stash[_TARGET].session is None:
        return
    from .checks import PER_COLLECTION, done, offenders, recompute

    outcomes = _outcomes(config)
    covered = {o.collection for o in outcomes if o.metrics.get("covered_by") == "recompute"}
    ran = {o.collection for o in outcomes if o.check == "recompute"}
    # The stand-in ran inside the unproven check (once per session): its result joins the verdict.
    outcomes = outcomes + [recompute(config.stash[_TARGET].session, c) for c in sorted(covered - ran, key=str)]
    path = get_config(config).offenders
    if path is not None and path.parent.is_dir():
        offenders.write(path, outcomes)
    target = config.stash[_TARGET].session
    # Chunks in no collection (--bh-collection all) are read by no_collection alone: deselected, it proves nothing.
    expected = [(name, c) for c in target.collections for name in PER_COLLECTION] + [
        (f"custom {check.name}", None) for check in target.profile.custom_checks] + (
        [("no_collection", None)] if target.no_collection is not None else [])
    verdict = done(outcomes, expected)
    if verdict.ok and session.testsfailed:
        # A check that could not run (or crashed) left no outcome behind; its failure still rules DONE out.
        from .checks import Verdict

        verdict = Verdict(False, f"{session.testsfailed} check(s) failed or could not run", (), verdict.covered)
    config.stash[_VERDICT] = verdict
    if outcomes and not verdict.ok and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_VERDICT = pytest.StashKey[Any]()


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    verdict = config.stash.get(_VERDICT, None)
    if verdict is None:
        return
    checked = len(_outcomes(config))
    line = f"DONE ({checked} checks)" if verdict.ok else f"NOT DONE: {verdict.reason}"
    terminalreporter.write_line(f"backfill-harness DONE checks verdict: {line}"[:2000])


def pytest_unconfigure(config: pytest.Config) -> None:
    target = config.stash.get(_TARGET, None)
    if target is not None and target.session is not None:
        target.session.close()


@pytest.fixture(scope="session")
def check_session(request: pytest.FixtureRequest):
    """The shared CheckSession; skips the test with one reason when there is no target."""
    target = _target(request.config)
    if target.session is None:
        pytest.skip(target.skip or NO_TARGET)
    return target.session


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
def check_no_collection(check_session):
    """The session, where ``--bh-collection all`` found chunks in no collection (the plugin deselects the test
    elsewhere)."""
    if check_session.no_collection is None:
        pytest.skip("no chunk in no collection, or not --bh-collection all")
    return check_session


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
    from .checks import FAIL, SKIP, UNPROVEN
    from .checks.offenders import capped_note
    from .db import translate_errors
    from .errors import HarnessError
    from .redact import redact

    def record_property(name, value):
        # Straight onto the report (what record_property does) without its xunit2 warning: the junit
        # writer emits these <property> elements whatever the family.
        request.node.user_properties.append((name, value))

    def conclude(check, *args):
        try:
            with translate_errors():
                outcome = check(*args)
        except HarnessError as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            pytest.fail(redact(f"{getattr(check, '__name__', 'check')} could not run: {text}"), pytrace=False)
        _outcomes(request.config).append(outcome)
        record_property("check", outcome.check)
        record_property("status", str(outcome.status))
        if outcome.collection:
            record_property("collection", outcome.collection)
        if outcome.status == FAIL and outcome.offenders:
            total = outcome.offending_total if outcome.offending_total is not None else len(outcome.offenders)
            record_property("offending_total", total)
            record_property("offending_ids", ", ".join(str(o.id) for o in outcome.offenders[:10] if o.id is not None))
            keyless = sum(1 for o in outcome.offenders if o.id is None)
            if keyless:  # findings that name no row: offenders.jsonl leaves them out
                record_property("offending_keyless", keyless)
            if capped_note(outcome):  # the file keeps fewer rows than offend: verify must not say "all in" it
                record_property("offending_kept", len(outcome.offenders) - keyless)
        for key in ("expected", "found"):
            if getattr(outcome, key):
                record_property(key, getattr(outcome, key))
        for key, value in outcome.metrics.items():
            record_property(key, value)
        if outcome.status == SKIP:
            pytest.skip(outcome.message())
        if outcome.status == UNPROVEN:
            pytest.skip(UNPROVEN_PREFIX + outcome.message())
        if outcome.status == FAIL:
            note = capped_note(outcome)
            pytest.fail(outcome.message() + (f"\n{note}" if note else ""), pytrace=False)
        return outcome

    return conclude
