"""Connections to the target database: pgvector registered, named for pg_stat_activity, read-only when asked."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator, Mapping
from typing import Any, TypeAlias, cast

import numpy as np
import psycopg
from pgvector.psycopg.bit import register_bit_info
from pgvector.psycopg.halfvec import register_halfvec_info
from pgvector.psycopg.sparsevec import register_sparsevec_info
from pgvector.psycopg.vector import register_vector_info
from psycopg.rows import dict_row
from psycopg.types import TypeInfo
from psycopg.types.array import register_array
from psycopg.types.string import TextBinaryLoader, TextLoader

from . import redact
from .errors import ConfigError, DatabaseError

# Every connection this module opens yields rows as dicts (row_factory=dict_row).
Conn: TypeAlias = psycopg.Connection[dict[str, Any]]

APPLICATION_NAME = f"backfill-harness {socket.gethostname()}:{os.getpid()}"


def connect(dsn: str, *, autocommit: bool = False, application_name: str | None = None,
            connect_timeout: int = 10) -> Conn:
    """Open a connection with rows as dicts and the vector type registered; errors never show the password."""
    redact.register(redact.dsn_password(dsn))
    if redact.unescaped_at(dsn):
        # libpq would read the first '@' as the end of the password and the rest as the host, naming it in errors.
        raise ConfigError("the database URL holds an unescaped '@' in its user or password; expected it "
                          "percent-encoded as %40 (postgresql://user:p%40ss@host/db)")
    try:
        conn = psycopg.connect(
            dsn, autocommit=autocommit, row_factory=dict_row, connect_timeout=connect_timeout,
            application_name=application_name or APPLICATION_NAME,
        )
    except psycopg.Error as exc:
        raise DatabaseError(redact.redact(f"cannot connect to {redact.safe_dsn(dsn)}: {_first_line(exc)}")) from None
    if conn.info.parameter_status("server_encoding") == "SQL_ASCII":
        conn.close()
        # SQL_ASCII stores bytes unchecked: texts may not be valid UTF-8, so they can be neither hashed nor embedded.
        raise DatabaseError(
            f"database {redact.safe_dsn(dsn)} has encoding SQL_ASCII; expected UTF8 (or another real encoding), "
            "because texts are hashed and embedded as UTF-8"
        )
    if not _register_pgvector(conn):
        conn.close()
        raise DatabaseError(
            f"database {redact.safe_dsn(dsn)} has no pgvector extension; expected CREATE EXTENSION vector to have run"
        )
    return conn


_PGVECTOR_TYPES = {"vector": register_vector_info, "bit": register_bit_info, "halfvec": register_halfvec_info,
                   "sparsevec": register_sparsevec_info}


def _register_pgvector(conn: Conn) -> bool:
    """pgvector's types (and ``bit``) as ``pgvector.psycopg.register_vector`` registers them, read from the catalog in
    one statement instead of one each; False without the extension."""
    found, strings = _catalog_types(conn)
    # pgvector installed in a schema of its own that this role's search_path leaves out (CREATE EXTENSION vector
    # SCHEMA extensions; the application writes extensions.vector): that schema joins this session's path, last, so
    # the type, its casts and operators resolve as they do for the application.
    if "vector" not in found and conn.execute(
            "SELECT set_config('search_path', current_setting('search_path') || ', ' || quote_ident(n.nspname), false) "
            "FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector'").fetchone():
        if not conn.autocommit:
            conn.commit()  # the path stays for the session
        found, strings = _catalog_types(conn)
    if "vector" not in found:
        return False
    for name, info in found.items():
        _PGVECTOR_TYPES[name](conn, info)
    _register_strings(conn, strings)
    return True


def _register_strings(conn: Conn, strings: list[TypeInfo]) -> None:
    """An extension's string types (``typcategory 'S'``: citext), whose binary form is their text's, are read as str:
    psycopg knows none of them, so a binary cursor gave a citext chunk key as bytes, which, sent back to find its
    row, was a bare ``operator does not exist: citext = bytea``. Written by name, they stay unknown to psycopg's
    registry (``writer.unsendable``)."""
    for info in strings:
        conn.adapters.register_loader(info.oid, TextLoader)
        conn.adapters.register_loader(info.oid, TextBinaryLoader)
        if info.array_oid:
            register_array(info, conn)


def _catalog_types(conn: Conn) -> tuple[dict[str, TypeInfo], list[TypeInfo]]:
    """pgvector's types (and ``bit``) that resolve on this session's search_path, and the string types extensions
    add (``_register_strings``), in one statement: every session, run and check opens several connections."""
    rows = conn.execute(
        "SELECT true AS pgvector, t.typname AS name, t.oid, t.typarray AS array_oid, t.oid::regtype::text AS regtype, "
        "t.typdelim AS delimiter FROM unnest(%s::text[]) AS n(name) JOIN pg_type t ON t.oid = to_regtype(n.name) "
        "UNION ALL SELECT false, t.typname, t.oid, t.typarray, t.oid::regtype::text, t.typdelim FROM pg_type t "
        "WHERE t.typcategory = 'S' AND t.typtype = 'b' AND t.oid >= 16384",
        (list(_PGVECTOR_TYPES),)).fetchall()
    if not conn.autocommit:
        conn.rollback()  # as TypeInfo.fetch leaves it: no transaction opened by connecting
    infos = [(r["pgvector"], TypeInfo(r["name"], r["oid"], r["array_oid"], regtype=r["regtype"],
                                      delimiter=r["delimiter"])) for r in rows]
    return {i.name: i for ours, i in infos if ours}, [i for ours, i in infos if not ours]


def one(row: dict[str, Any] | None) -> dict[str, Any]:
    """The row of a query that always returns one (an aggregate, EXISTS, a function call): typed as present."""
    return cast(dict[str, Any], row)


@contextlib.contextmanager
def read_only(conn: Conn, statement_timeout_ms: int = 60_000, *, snapshot: bool = False) -> Iterator[Conn]:
    """A READ ONLY transaction with a statement timeout: nothing inside it can write. ``snapshot``: every statement
    sees the same snapshot (REPEATABLE READ), so row addresses (ctid) read by one stay valid for the next."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY" if snapshot else "SET TRANSACTION READ ONLY")
        conn.execute("SELECT set_config('statement_timeout', %s, true)", (str(statement_timeout_ms),))
        yield conn


def as_array(value) -> np.ndarray:
    """A stored vector as float32 numpy, whichever pgvector-python read it (``Vector`` in 0.4+, ndarray before)."""
    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, dtype=np.float32)
@contextlib.contextmanager
def translate_errors(doing: str = "") -> Iterator[None]:
    """Re-raise a ``psycopg.Error`` from inside as ``DatabaseError`` (one line, password removed), so callers of the
    library catch only ``HarnessError`` (httpx's ``map_httpcore_exceptions``). Works as a decorator too."""
    try:
        yield
    except psycopg.Error as exc:
        prefix = f"{doing}: " if doing else ""
        error = DatabaseError(f"{prefix}database error: {describe_error(exc)}")
        error.sqlstate = getattr(exc, "sqlstate", None)
        raise error from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# The longest DETAIL a one-line error carries: one naming the value (a partition key, a foreign key) fits; one
# spelling a whole failing row (a vector of 1,536 numbers) does not.
_DETAIL_CHARS = 200


def describe_error(exc: BaseException) -> str:
    """One line for a database error, password removed: its message and, where it is short, Postgres's DETAIL, which
    names the value (``Partition key of the failing row contains (corpus) = (handbook).``)."""
    line = _first_line(exc)
    diag = getattr(exc, "diag", None)
    detail = " ".join((getattr(diag, "message_detail", None) or "").split())
    if detail and len(detail) <= _DETAIL_CHARS and detail not in line:
        line = f"{line} ({detail.rstrip('.')})"
    return redact.redact(line)


# The tenant whose view a transaction reads, for the harness's own queries (Target.chunk_filter): a row the
# policies show to several tenants (a file shared with everyone) is read in its owner's view only.
TENANT_SETTING = "backfill_harness.tenant"


def session_values(settings: Mapping[str, str], tenant: str | None) -> dict[str, str]:
    """The profile's ``database.session`` with ``{tenant}`` replaced by one tenant's value (and that tenant under
    ``TENANT_SETTING``)."""
    if any("{tenant}" in v for v in settings.values()) and tenant is None:
        raise DatabaseError("database.session uses {tenant} but no tenant was given; expected one tenant per transaction")
    values = {name: value.replace("{tenant}", str(tenant)) for name, value in settings.items()}
    if tenant is not None and any("{tenant}" in v for v in settings.values()):
        values[TENANT_SETTING] = str(tenant)
    return values


def apply_session(conn: Conn, values: Mapping[str, str]) -> None:
    """``set_config(name, value, true)`` for each setting: they last until the current transaction ends."""
    for name, value in values.items():
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))


@contextlib.contextmanager
def scoped(conn: Conn, settings: Mapping[str, str], tenant: str | None = None) -> Iterator[Conn]:
    """A transaction in which the row-level-security session settings (for ``tenant``) hold; nothing leaks past it."""
    with conn.transaction():
        apply_session(conn, session_values(settings, tenant))
        yield conn


def where_connects(dsn: str | None) -> tuple[str, str, str] | None:
    """Where a DSN connects as far as its text says (host, port, database), the password no part of it: evidence made
    against one database is never taken for another's. None where unsaid."""
    from psycopg.conninfo import conninfo_to_dict

    if not dsn:
        return None
    try:
        parts = conninfo_to_dict(dsn)
    except Exception:  # noqa: BLE001  a DSN libpq cannot parse says nowhere
        return None
    if not parts.get("dbname"):
        return None
    return str(parts.get("host") or ""), str(parts.get("port") or ""), str(parts["dbname"])
