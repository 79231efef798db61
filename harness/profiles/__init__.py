"""Tested profiles for stores the libraries write: ``--profile langchain`` (or ``preset:langchain``) instead of a path.

- ``langchain``: langchain-postgres PGVector (``langchain_pg_collection`` / ``langchain_pg_embedding``).
- ``llamaindex``: LlamaIndex PGVectorStore (``data_<table>``; one table per collection).
- ``pgai``: pgai vectorizer stores (``<destination>_store`` or ``<source>_embedding_store``).
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
    """The environment a preset reads, with the values it derives (pgai's store table from its destination)."""
    if name != "pgai" or env.get("PGAI_STORE"):
        return env
    derived = dict(env)
    # pgai names the store table <destination>_store for destination_table('<destination>'), else <source>_embedding_store.
    if env.get("PGAI_DESTINATION"):
        derived["PGAI_STORE"] = f"{env['PGAI_DESTINATION']}_store"
    elif env.get("PGAI_SOURCE"):
        derived["PGAI_STORE"] = f"{env['PGAI_SOURCE']}_embedding_store"
    return derived
