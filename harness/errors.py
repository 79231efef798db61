"""One exception hierarchy, so callers can catch broadly or narrowly.

Every message says what was expected and what was found, on one line.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Root of every error the harness raises on purpose."""

    exit_code = 1


class ConfigError(HarnessError):
    """Bad input or configuration: a profile key, a flag, a collection name."""

    exit_code = 2


class ProviderError(HarnessError):
    """The embedding provider failed or answered something unusable."""


class DatabaseError(HarnessError):
    """Postgres refused, lost the connection, or lacks what the profile names."""


class CheckFailed(HarnessError):
    """A DONE check or a procedure gate failed."""


class LockHeld(HarnessError):
    """Another backfill holds the collection's lock."""


class RefusedError(HarnessError):
    """A request the harness refuses on safety grounds (e.g. an unapproved model switch)."""

    exit_code = 2


class ProviderRejected(ProviderError):
    """The provider answered 4xx: the request (or one of its inputs) is at fault, retrying will not help."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class ProviderUnavailable(ProviderError):
    """The provider kept failing (timeouts, connection errors, 5xx, garbled answers) through every retry."""
