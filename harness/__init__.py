"""backfill-harness: run, verify and record embedding backfills for Postgres + pgvector."""

from .errors import (
    CheckFailed,
    ConfigError,
    DatabaseError,
    HarnessError,
    LockHeld,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    RefusedError,
)
from .profile import Profile, load_profile, parse_profile

__version__ = "0.1.0"

__all__ = [
    "CheckFailed", "ConfigError", "DatabaseError", "HarnessError", "LockHeld", "Profile", "ProviderError",
    "ProviderRejected", "ProviderUnavailable", "RefusedError", "__version__", "load_profile", "parse_profile",
]
