"""Resolve the settings a command runs with, and say where each came from.

Order for the database and provider: the environment (``DATABASE_URL``,
``OLLAMA_HOST``), then the profile. Flags override both for model and batch size.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import redact
from .historylog import tables_of
from .errors import ConfigError, HarnessError
from .profile import Profile, load_profile
from .provider import OllamaProvider
from .stack import normalise_ollama_host

DEFAULT_BATCH_SIZE = 100


@dataclass(frozen=True)
class Settings:
    profile: Profile
    database_url: str = field(repr=False)
    provider_url: str | None
    model: str
    dimensions: int | None
    batch_size: int
    sources: Mapping[str, str] = field(default_factory=dict)

    def provider(self, **kwargs) -> OllamaProvider:
        """An Ollama client for these settings (the caller closes it)."""
        if not self.provider_url:
            raise ConfigError("no embedding provider: set OLLAMA_HOST or the profile key 'provider.url'")
        p = self.profile.provider
        kwargs.setdefault("request_dimensions", p.request_dimensions)
        return OllamaProvider(self.provider_url, self.model, timeout_s=p.timeout_s, retries=p.retries,
                              headers=p.headers, **kwargs)

    def model_dimensions(self) -> int | None:
        """The dimension of the vectors this model makes: the profile's, else the provider's answer (None where none)."""
        if self.dimensions is not None:
            return self.dimensions
        try:
            with self.provider() as provider:
                return provider.dimensions()
        except HarnessError:
            return None

    def shown(self) -> dict[str, object]:
        """The settings as they may be printed or stored: secrets masked."""
        return {
            "profile": self.profile.name,
            "profile_path": str(self.profile.path) if self.profile.path else None,
            "tables": tables_of(self.profile),  # what a run of these settings fills (completed, record compare it)
            "database_url": redact.safe_dsn(self.database_url),
            "provider_url": self.provider_url,
            "model": self.model,
            "dimensions": self.dimensions,
            "batch_size": self.batch_size,
            "sources": dict(self.sources),
        }


def resolve(
    profile: Profile | str,
    *,
    env: Mapping[str, str] | None = None,
    model: str | None = None,
    batch_size: int | None = None,
    database_url: str | None = None,
    provider_url: str | None = None,
    require_database: bool = True,
    require_provider: bool = True,
) -> Settings:
    """Combine flags, environment and profile into Settings; raise ConfigError naming what is missing.

    The one entry point of the library: ``run_backfill(resolve("profile.yaml"), BackfillOptions("c"))``.
    """
    env = os.environ if env is None else env
    if not isinstance(profile, Profile):
        profile = load_profile(profile, env=env)
    redact.register_env(env)
    redact.register_headers(profile.provider.headers)
    src = dict(profile.sources)
    sources: dict[str, str] = {}

    def pick(key: str, flag, env_name: str | None, profile_value, profile_key: str):
        if flag not in (None, ""):
            sources[key] = "flag"
            return flag
        if env_name and env.get(env_name):
            sources[key] = f"env {env_name}"
            return env[env_name]
        if profile_value not in (None, ""):
            sources[key] = f"profile {profile_key}" + (f" ({src[profile_key]})" if src.get(profile_key, "profile") != "profile" else "")
            return profile_value
        return None

    db = pick("database_url", database_url, "DATABASE_URL", profile.database.url, "database.url")
    if not db and require_database:
        raise ConfigError("no database to connect to: set DATABASE_URL or the profile key 'database.url'")
    url = pick("provider_url", provider_url, "OLLAMA_HOST", profile.provider.url, "provider.url")
    if not url and require_provider:
        raise ConfigError("no embedding provider: set OLLAMA_HOST or the profile key 'provider.url'")
    chosen_model = pick("model", model, None, profile.provider.model, "provider.model")
    if batch_size is None and "backfill.batch_size" not in src:
        size, sources["batch_size"] = DEFAULT_BATCH_SIZE, f"default ({DEFAULT_BATCH_SIZE})"
    else:
        size = int(pick("batch_size", batch_size, None, profile.backfill.batch_size, "backfill.batch_size"))
    if size < 1:
        raise ConfigError(f"batch size must be at least 1, found {size}")
    dims = profile.provider.vector_dimensions
    if profile.provider.request_dimensions:
        sources["dimensions"] = (f"profile provider.request_dimensions (the model's vectors truncated to {dims} and "
                                 "re-normalised)")
    else:
        sources["dimensions"] = "profile provider.dimensions" if dims else "not declared (taken from the model)"
    if db:
        redact.register(redact.dsn_password(db))
    return Settings(profile, db or "", normalise_ollama_host(url) if url else None, chosen_model, dims, size, sources)
