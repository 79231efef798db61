"""backfill-harness: run, verify and record embedding backfills for Postgres + pgvector.

The library in one line: ``run_backfill(resolve("profile.yaml"), BackfillOptions("tenant_acme"))``; the
checks: ``run_all(open_session(resolve("profile.yaml"), CheckOptions(("tenant_acme",))))``. Every error
is a ``HarnessError``. Names load on first use, so ``import harness`` stays cheap (the pytest plugin imports it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    CheckFailed,
    ConfigError,
    DatabaseError,
    ExitCode,
    HarnessError,
    LockHeld,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    RefusedError,
)

__version__ = "0.1.0"

# name -> module that defines it
_LAZY = {
    "Profile": ".profile", "load_profile": ".profile", "parse_profile": ".profile",
    "Settings": ".settings", "resolve": ".settings",
    "BackfillOptions": ".backfill.engine", "BackfillSummary": ".backfill.engine", "run_backfill": ".backfill.engine",
    "CheckOptions": ".checks.session", "CheckSession": ".checks.session", "open_session": ".checks.session",
    "run_all": ".checks", "Outcome": ".checks.outcome", "Status": ".checks.outcome",
    "scope": ".steps.scope", "OllamaProvider": ".provider",
}

__all__ = [
    "BackfillOptions", "BackfillSummary", "CheckFailed", "CheckOptions", "CheckSession", "ConfigError", "DatabaseError",
    "ExitCode", "HarnessError", "LockHeld", "OllamaProvider", "Outcome", "Profile", "ProviderError", "ProviderRejected",
    "ProviderUnavailable", "RefusedError", "Settings", "Status", "__version__", "load_profile", "open_session",
    "parse_profile", "resolve", "run_all", "run_backfill", "scope",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from .backfill.engine import BackfillOptions, BackfillSummary, run_backfill
    from .checks import run_all
    from .checks.outcome import Outcome, Status
    from .checks.session import CheckOptions, CheckSession, open_session
    from .profile import Profile, load_profile, parse_profile
    from .provider import OllamaProvider
    from .settings import Settings, resolve
    from .steps.scope import scope
