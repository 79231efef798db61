"""Split a document into overlapping chunks of at most MAX_CHUNK_SIZE characters, at word boundaries."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_MAX_CHUNK_SIZE = 800
DEFAULT_OVERLAP = 100


@dataclass(frozen=True)
class ChunkingSettings:
    max_chunk_size: int = DEFAULT_MAX_CHUNK_SIZE
    overlap: int = DEFAULT_OVERLAP

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "ChunkingSettings":
        """Read MAX_CHUNK_SIZE and CHUNK_OVERLAP, refusing values that cannot work."""
        env = os.environ if env is None else env
        size = _int(env, "MAX_CHUNK_SIZE", DEFAULT_MAX_CHUNK_SIZE)
        overlap = _int(env, "CHUNK_OVERLAP", DEFAULT_OVERLAP)
        if size < 50:
            raise ValueError(f"MAX_CHUNK_SIZE={size} is too small; expected at least 50 characters")
        if not 0 <= overlap < size // 2:
            raise ValueError(f"CHUNK_OVERLAP={overlap} must be at least 0 and below half of MAX_CHUNK_SIZE ({size})")
        return cls(size, overlap)


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not an integer") from None


def chunk_text(text: str, settings: ChunkingSettings = ChunkingSettings()) -> list[str]:
    """Pack words into chunks up to the size limit (a word longer than the limit is cut).

    Each chunk after the first starts with the last ``overlap`` characters of the previous one
    (from a word boundary), so a sentence cut in two is still found whole in one of them.
    """
    words = re.findall(r"\S+\s*", text.replace("\r\n", "\n"))
    chunks: list[str] = []
    current = ""
    for word in words:
        if len(current) + len(word) > settings.max_chunk_size and current.strip():
            chunks.append(current.strip())
            current = _tail(current, settings.overlap)
        current += word[: settings.max_chunk_size]
    if current.strip() and (not chunks or current.strip() != _tail(chunks[-1], settings.overlap).strip()):
        chunks.append(current.strip())
    return chunks


def _tail(text: str, size: int) -> str:
    if size <= 0:
        return ""
    tail = text[-size:]
    cut = tail.find(" ")
    return tail[cut + 1 :] if 0 <= cut < len(tail) - 1 else tail
