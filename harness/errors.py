"""One exception hierarchy, so callers can catch broadly or narrowly; each class carries its exit code.

    HarnessError                    exit 1 (FAILED)
    ├── ConfigError                 exit 2 (REFUSED): a bad profile key, flag or collection name
    ├── RefusedError                exit 2 (REFUSED): refused on safety grounds (an unapproved model switch)
    ├── DatabaseError               exit 1: Postgres refused or lost the connection (psycopg.Error, translated by
    │                                       ``harness.db.translate_errors``)
    ├── ProviderError               exit 1: the embedding provider failed
    │   ├── ProviderRejected        HTTP 4xx: the request is at fault, retrying will not help
    │   └── ProviderUnavailable     timeouts, connection errors, 5xx through every retry
    ├── CheckFailed                 exit 1: a DONE check or a procedure gate failed
    └── LockHeld                    exit 1: another backfill holds the collection's lock

Every message says what was expected and what was found, on one line.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """What every command returns: 0 ok, 1 a check or step failed, 2 bad input or refused."""

    OK = 0
    FAILED = 1
    REFUSED = 2


class HarnessError(Exception):
    """Root of every error the harness raises on purpose."""

    exit_code: ExitCode = ExitCode.FAILED


class ConfigError(HarnessError):
    """Bad input or configuration: a profile key, a flag, a collection name."""

    exit_code = ExitCode.REFUSED


class ProviderError(HarnessError):
    """The embedding provider failed or answered something unusable."""


class DatabaseError(HarnessError):
    """Postgres refused, lost the connection, or lacks what the profile names."""

    sqlstate: str | None = None  # the server's SQLSTATE when translated from a psycopg error


class CheckFailed(HarnessError):
    """A DONE check or a procedure gate failed."""


class LockHeld(HarnessError):
    """Another backfill holds the collection's lock."""


class RefusedError(HarnessError):
    """A request the harness refuses on safety grounds (e.g. an unapproved model switch)."""

    exit_code = ExitCode.REFUSED


class ProviderRejected(ProviderError):
    """The provider answered 4xx: the request (or one of its inputs) is at fault, retrying will not help."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class ProviderUnavailable(ProviderError):
    """The provider kept failing (timeouts, connection errors, 5xx, garbled answers) through every retry."""
