"""Tested profiles for schemas people already have: ``--profile langchain`` instead of a path.

- ``langchain``: langchain-postgres PGVector (``langchain_pg_collection`` / ``langchain_pg_embedding``).
- ``llamaindex``: LlamaIndex PGVectorStore (``data_<table>``; one table per collection).
- ``pgai``: pgai vectorizer embedding stores (``<source>_embedding_store``).
Each reads its table names and model from the environment (see the YAML files).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError

PRESETS_DIR = Path(__file__).parent
PRESETS = tuple(sorted(p.stem for p in PRESETS_DIR.glob("*.yaml")))


def profile_path(arg: str | Path) -> Path:
    """A profile path as given, or the preset of that name; ConfigError naming both when neither exists."""
    path = Path(arg)
    if path.exists():
        return path
    preset = PRESETS_DIR / f"{arg}.yaml"
    if preset.exists():
        return preset
    raise ConfigError(f"profile {str(arg)!r} is neither a file nor a preset; expected a YAML path or one of: {', '.join(PRESETS)}")
