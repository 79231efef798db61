"""What several steps share: the run folder, the backfill command and the environment it gets."""

from __future__ import annotations

import datetime as dt
import getpass
import os
import re
import subprocess
import sys
from dataclasses import dataclass, replace
from typing import cast
from pathlib import Path

from .. import redact
from . import commandline
from ..backfill.engine import BackfillOptions
from ..errors import ConfigError
from ..settings import Settings

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def default_run_dir(collection: str, base: str | Path = "runs") -> Path:
    """``runs/<UTC yyyymmddThhmmssZ>-<collection>/``, made unique if that folder exists."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = Path(base) / f"{stamp}-{_SAFE_NAME.sub('_', collection)}"
    n = 1
    while path.exists():
        n += 1
        path = Path(base) / f"{stamp}-{_SAFE_NAME.sub('_', collection)}-{n}"
    return path


@dataclass(frozen=True)
class BackfillCommand:
    command: str  # the argument list as one line, for people and evidence (never run through a shell)
    source: str  # flag / profile backfill.command / engine / found by locate
    workdir: str | None = None
    argv: tuple[str, ...] = ()  # what is started: the template split once, each placeholder filled in its own argument
    # why it may not run at all (a target's command that cannot write --into NEW: ``commandline.into_unreceived``)
    refusal: str | None = None

    def require_runnable(self) -> BackfillCommand:
        """Self, or ConfigError with ``refusal``: refused before anything runs or is written."""
        if self.refusal:
            raise ConfigError(self.refusal)
        return self


def backfill_command(settings: Settings, collection: str, *, command: str | None = None, engine: bool = False,
                     into: str | None = None, located: str | None = None, located_workdir: str | None = None,
                     every: bool = False) -> BackfillCommand:
    """The command that backfills: --command, else the profile's, else the engine (--engine), else one found by locate.
    ``every`` (``--all``): the engine re-embeds every row; a target's own command decides what it embeds."""
    profile = settings.profile
    if every and (command or not engine):
        raise ConfigError("--all re-embeds every row through the engine; expected --engine with it (a target's own "
                          "command decides what it embeds: give it its own forced mode with --command)")
    values = {"collection": collection, "into": into or collection}
    extra: tuple[str, ...] = ()
    if command:
        template, source, workdir = command, "flag --command", profile.backfill.workdir
    elif profile.backfill.command and not engine:
        template, source, workdir = profile.backfill.command, "profile backfill.command", profile.backfill.workdir
        extra = tuple(profile.backfill.args)
    elif engine or not located:
        if not engine:
            raise ConfigError(
                f"no backfill command for profile {profile.name!r}: expected backfill.command in the profile, "
                "--command CMD, or --engine to use backfill-harness backfill")
        if profile.path is None:
            raise ConfigError("--engine needs a profile file to hand to backfill-harness backfill")
        options = BackfillOptions(collection, batch_size=settings.batch_size, into=into, every=every)
        parts = [sys.executable, "-m", "harness", "backfill", *options.to_argv(settings)]
        commandline.refuse_nul(values)
        return BackfillCommand(commandline.shown(parts), "engine", None, tuple(parts))
    else:
        template, source, workdir = located, "found by locate", located_workdir
    argv = commandline.build_argv(template, values, extra)
    found = BackfillCommand(commandline.shown(argv), source, workdir, tuple(argv))
    if not into or into == collection:
        return found
    refusal = commandline.into_unreceived(template, extra, profile.backfill.env, source, into)
    if refusal:  # the command line does not give it NEW: its code may read it from its environment
        from .contract_check import contract_for_command

        contract = contract_for_command(settings, found)
        refusal = commandline.into_unreceived(template, extra, profile.backfill.env, source, into,
                                              contract.reads_env if contract is not None else ())
    return replace(found, refusal=refusal)


def backfill_env(settings: Settings, collection: str, target_collection: str | None = None) -> dict[str, str]:
    """The settings the backfill command gets in its environment (on top of the caller's): ours under our names,
    and the profile's ``backfill.env`` with its placeholders (``{database_url}``, ``{model}``, ...) filled in."""
    from ..profile import PLACEHOLDER

    p = settings.profile
    env = {
        "DATABASE_URL": settings.database_url,
        "OLLAMA_HOST": cast(str, settings.provider_url),  # passed through unchanged (None where no provider is known)
        "EMBED_MODEL": settings.model,
        "EMBED_BATCH_SIZE": str(settings.batch_size),
        "BACKFILL_COLLECTION": collection,
        "BACKFILL_TARGET_COLLECTION": target_collection or collection,
    }
    if settings.dimensions:
        env["EMBED_DIMENSIONS"] = str(settings.dimensions)
    if p.chunking.max_chunk_size:
        env["MAX_CHUNK_SIZE"] = str(p.chunking.max_chunk_size)
    if p.chunking.overlap is not None:
        env["CHUNK_OVERLAP"] = str(p.chunking.overlap)
    values = {"database_url": settings.database_url, **database_parts(settings.database_url),
              "provider_url": settings.provider_url, "model": settings.model,
              "batch_size": str(settings.batch_size),
              "dimensions": str(settings.dimensions) if settings.dimensions else None,
              "collection": collection, "into": target_collection or collection}

    def fill(name: str, value: str) -> str:
        def one(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in values:
                return match.group(0)
            found = values[key]
            if found is None:
                raise ConfigError(f"profile key 'backfill.env.{name}' uses {{{key}}}, which has no value; expected "
                                  + ("provider.dimensions in the profile" if key == "dimensions"
                                     else "a database URL that names it"))
            return found
        return PLACEHOLDER.sub(one, value)

    mapped = {name: fill(name, value) for name, value in p.backfill.env.items()}
    return {**mapped, **env}


def database_parts(dsn: str) -> dict[str, str | None]:
    """The DSN split for targets that read host, port, user, password and database name separately."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(dsn)
    except Exception:  # noqa: BLE001  a DSN psycopg cannot parse has no parts to give
        parts = {}
    if parts and not parts.get("port"):
        # Where the DSN names none, libpq connects to PGPORT, else 5432: a JDBC URL built from the parts needs it.
        parts["port"] = os.environ.get("PGPORT") or "5432"
    return {f"database_{k}": (str(parts[src]) if parts.get(src) is not None else None)
            for k, src in (("host", "host"), ("port", "port"), ("user", "user"), ("password", "password"),
                           ("name", "dbname"))}


def shown_env(env: dict[str, str]) -> dict[str, str]:
    """The backfill environment fit to print or store."""
    return redact.redact_env(env)


def who(repo: str | Path | None = None) -> str:
    """The git user of the repo (or globally), else the OS user."""
    try:
        name = subprocess.run(["git", "-C", str(repo or "."), "config", "user.name"], capture_output=True, text=True,
                              timeout=5).stdout.strip()
        if name:
            return name
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER", "unknown")


def git_commit(repo: str | Path | None) -> str | None:
    """The repo's HEAD commit, with '+dirty' when it has uncommitted changes; None outside git."""
    if repo is None:
        return None
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None
