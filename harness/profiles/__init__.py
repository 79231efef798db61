"""Tested profiles for stores the libraries write: ``--profile langchain`` (or ``preset:langchain``) instead of a path.

- ``langchain``: langchain-postgres PGVector (``langchain_pg_collection`` / ``langchain_pg_embedding``).
- ``llamaindex``: LlamaIndex PGVectorStore (``data_<table>``; one table per collection).
- ``pgai``: pgai vectorizer stores (store and view as pgai's catalog names them).
Each reads its table names and model from the environment (see the YAML files). A path wins only when it is a file,
so a folder named ``langchain`` never hides the preset.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..errors import ConfigError

PRESETS_DIR = Path(__file__).parent
PRESETS = tuple(sorted(p.stem for p in PRESETS_DIR.glob("*.yaml")))
PREFIX = "preset:"


def profile_path(arg: str | Path) -> Path:
    """The file a ``--profile`` value names: ``preset:NAME``, a file, else a preset of that name; ConfigError otherwise."""
    text = str(arg)
    if text.startswith(PREFIX):
        name = text[len(PREFIX):]
        if name not in PRESETS:
            raise ConfigError(f"profile {text!r} names no preset; expected one of: {', '.join(PRESETS)}")
        return PRESETS_DIR / f"{name}.yaml"
    path = Path(arg)
    if path.is_file():
        return path
    if text in PRESETS:
        return PRESETS_DIR / f"{text}.yaml"
    what = "is not a file" if path.exists() else "does not exist"
    raise ConfigError(f"profile {text!r} {what}: neither a file nor a preset; expected a YAML path or one of: "
                      f"{', '.join(PRESETS)}")


def preset_of(path: Path) -> str | None:
    """The preset a profile file is, or None for a file of the user's own."""
    try:
        return path.stem if path.resolve().parent == PRESETS_DIR.resolve() and path.stem in PRESETS else None
    except OSError:
        return None


def preset_env(name: str, env: Mapping[str, str]) -> Mapping[str, str]:
    """The environment a preset reads, with the values it derives (pgai's store table: from pgai's catalog where the
    database is reachable, else from its destination's name; langchain's key column: from the table)."""
    if name == "langchain" and not env.get("LANGCHAIN_ID") and env.get("DATABASE_URL"):
        from .langchain_key import key_column

        key = key_column(env["DATABASE_URL"], env.get("LANGCHAIN_SCHEMA") or "public")
        return {**env, "LANGCHAIN_ID": key} if key else env
    if name != "pgai" or env.get("PGAI_STORE"):
        return env
    derived = dict(env)
    source = env.get("PGAI_SOURCE")
    # pgai's default destination is <source>_embedding (view), store <view>_store, for destination_table('<view>').
    view = env.get("PGAI_DESTINATION") or (f"{source}_embedding" if source else "")
    if source and env.get("DATABASE_URL"):
        from .pgai_names import lookup

        found = lookup(env["DATABASE_URL"], env.get("PGAI_SOURCE_SCHEMA") or "public", source, view,
                       named=bool(env.get("PGAI_DESTINATION")))
        if found is not None:
            return {**derived, **found}
    if view:
        derived["PGAI_STORE"] = f"{view}_store"
    return derived
