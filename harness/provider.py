"""An httpx client for the embedding part of Ollama's API, with retries that tell transient from permanent.

Retried, with exponential backoff and full jitter: timeouts, connection
errors, 5xx, 408 and 429 (honouring ``Retry-After`` up to the backoff cap), and
answers that are not the JSON Ollama sends. Also retried, then refused with
ProviderError (so the caller refuses that batch, not the run): an /api/embed
answer unusable as a whole (no 'embeddings' list, a vector count other than the
input count, vectors of another dimension than the model's, ragged vectors,
another model's name). Not retried: other 4xx, whose message is passed on (a
400 may belong to one input; the engine splits).

Constructed with ``request_dimensions`` (profile key ``provider.request_dimensions``), every /api/embed body
asks for ``dimensions``: the model's vectors truncated to that many values and re-normalised (Matryoshka). This
client is the one place that sends it, so the engine, recompute, citations and probes all get the same vectors.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

from . import redact
from .errors import ProviderError, ProviderRejected, ProviderUnavailable
from .model_names import same_model

DEFAULT_URL = "http://127.0.0.1:11434"


@dataclass(frozen=True)
class EmbedResult:
    vectors: np.ndarray  # (n, dim) float32
    model: str
    prompt_eval_count: int
    seconds: float
    attempts: int


@dataclass(frozen=True)
class ModelDescription:
    name: str
    dimensions: int | None
    context_length: int | None
    family: str | None
    alias_of: str | None


class OllamaProvider:
    """Talks to one Ollama (or Ollama-compatible) base URL."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        model: str = "all-minilm",
        *,
        timeout_s: float = 60.0,
        retries: int = 5,
        headers: Mapping[str, str] | None = None,
        backoff_s: float = 0.25,
        max_backoff_s: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        request_dimensions: int | None = None,
    ):
        self.url = url.rstrip("/")
        self.model = model
        self.request_dimensions = request_dimensions
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._sleep = sleep
        self._rng = rng or random.Random()
        # The dimension every answer must have: the model's, once dimensions() has learned it; the one asked for at
        # once (an Ollama that predates ``dimensions`` ignores it and answers the model's own: refused, not stored).
        self._dims: int | None = request_dimensions
        self._headers = dict(headers or {})
        redact.register_headers(self._headers)
        # A plain-http server never uses TLS: loading the CA bundle for nothing costs each client ~20 ms of CPU.
        self._client = httpx.Client(base_url=self.url, timeout=timeout_s, headers=dict(headers or {}),
                                    verify=not self.url.lower().startswith("http://"))

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "OllamaProvider":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- API -----------------------------------------------------------------------
    def embed(self, texts: Sequence[str], *, truncate: bool = True) -> EmbedResult:
        """Embed a batch of texts with one ``POST /api/embed``; vectors come back in input order."""
        started = time.perf_counter()
        payload: dict[str, Any] = {"model": self.model, "input": list(texts), "truncate": truncate}
        if self.request_dimensions is not None:
            payload["dimensions"] = self.request_dimensions
        body, attempts = self._request("POST", "/api/embed", payload,
                                       check=lambda answer: self._embed_problem(answer, len(texts)))
        vectors = _as_matrix(body["embeddings"])
        return EmbedResult(
            vectors=vectors,
            model=str(body.get("model", "")),
            prompt_eval_count=int(body.get("prompt_eval_count") or 0),
            seconds=time.perf_counter() - started,
            attempts=attempts,
        )

    def _embed_problem(self, body: dict[str, Any], count: int) -> str | None:
        """Why an /api/embed answer is unusable as a whole (then it is retried), or None."""
        embeddings = body.get("embeddings")
        if not isinstance(embeddings, list):
            return f"provider answered /api/embed without an 'embeddings' list; found keys {sorted(body)[:8]}"
        if len(embeddings) != count:
            return f"provider returned {len(embeddings)} vectors for {count} inputs"
        try:
            vectors = _as_matrix(embeddings)
        except ProviderError as exc:
            return str(exc)
        body["embeddings"] = vectors  # parsed once: embed() takes the matrix as it is
        if count and self._dims is not None and vectors.shape[1] != self._dims:
            return f"provider returned vectors of dimension {vectors.shape[1]}, expected {self._dims}"
        answered = body.get("model")
        if answered and not same_model(str(answered), self.model):
            return f"provider answered for model {answered!r}, expected {self.model!r}"
        return None

    def show(self, model: str | None = None) -> ModelDescription:
        """Describe a model through ``POST /api/show``; dimensions come from ``model_info``."""
        name = model or self.model
        body, _ = self._request("POST", "/api/show", {"model": name})
        info = body.get("model_info") or {}
        dims = next((v for k, v in info.items() if k.endswith(".embedding_length")), None)
        ctx = next((v for k, v in info.items() if k.endswith(".context_length")), None)
        details = body.get("details") or {}
        return ModelDescription(
            name=name,
            dimensions=int(dims) if dims is not None else None,
            context_length=int(ctx) if ctx is not None else None,
            family=details.get("family"),
            alias_of=details.get("alias_of") or details.get("parent_model") or None,
        )

    def context_length(self) -> int | None:
        """The model's context length in tokens from ``/api/show`` (asked once), or None when it does not say."""
        if not hasattr(self, "_context"):
            try:
                self._context = self.show().context_length
            except ProviderError:
                self._context = None
        return self._context

    def dimensions(self, model: str | None = None) -> int:
        """The dimension of the vectors this client gets for ``model``: with ``request_dimensions`` below the model's
        own, that (what Ollama truncates to); else the model's real output dimension (/api/show, else a probe)."""
        native = self.native_dimensions(model)
        dims = native
        if self.request_dimensions is not None and model in (None, self.model):
            # Ollama truncates only below the model's own dimension and returns its vectors unchanged otherwise.
            dims = min(native, self.request_dimensions)
            self._dims = dims
        return dims

    def native_dimensions(self, model: str | None = None) -> int:
        """The model's own output dimension, before any ``dimensions`` request: from /api/show, else a probe."""
        try:
            described = self.show(model)
            dims = described.dimensions
        except ProviderRejected as exc:
            if exc.status == 404:
                raise
            dims = None
        if not dims:
            if self.request_dimensions is not None:
                # A probe through this client would come back truncated; ask once without ``dimensions``.
                probe = OllamaProvider(self.url, self.model if model is None else model, retries=self.retries,
                                       headers=self._headers, timeout_s=self._client.timeout.read or 60.0)
                with probe:
                    return probe.native_dimensions()
            dims = int(self.embed(["dimension probe"]).vectors.shape[1])
        if model in (None, self.model) and self.request_dimensions is None:
            self._dims = dims
        return dims

    def tags(self) -> list[str]:
        body, _ = self._request("GET", "/api/tags", None)
        return [m.get("name", "") for m in body.get("models", [])]

    def version(self) -> str:
        body, _ = self._request("GET", "/api/version", None)
        return str(body.get("version", ""))

    def has_model(self, model: str | None = None) -> bool:
        try:
            self.show(model)
            return True
        except ProviderRejected as exc:
            if exc.status == 404:
                return False
            raise

    # -- transport -----------------------------------------------------------------
    def _request(self, method: str, path: str, payload: dict[str, Any] | None,
                 check: Callable[[dict[str, Any]], str | None] | None = None) -> tuple[dict[str, Any], int]:
        last: str = ""
        for attempt in range(1, self.retries + 2):
            unusable: str | None = None  # this attempt's answer was well-formed JSON that ``check`` refused
            try:
                response = self._client.request(method, path, json=payload)
            except httpx.TimeoutException:
                last = f"timed out after {self._client.timeout.read}s"
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code >= 500 or response.status_code in _TRANSIENT_4XX:
                    last = f"HTTP {response.status_code}: {_error_text(response)}"
                    wait = _retry_after(response)
                    if wait is not None and attempt <= self.retries:
                        self._sleep(min(wait, self.max_backoff_s))
                        continue
                elif response.status_code >= 400:
                    raise ProviderRejected(
                        redact.redact(f"provider {self.url}{path} answered HTTP {response.status_code}: {_error_text(response)}"),
                        response.status_code,
                    )
                else:
                    try:
                        body = response.json()
                    except ValueError:
                        last = f"answer is not JSON ({len(response.content)} bytes, starts {response.content[:40]!r})"
                    else:
                        if not isinstance(body, dict):
                            last = f"answer is JSON but not an object ({type(body).__name__})"
                        else:
                            problem = check(body) if check is not None else None
                            if problem is None:
                                return body, attempt
                            last = unusable = problem
            if attempt <= self.retries:
                self._sleep(self._backoff(attempt))
        if unusable is not None:
            raise ProviderError(redact.redact(
                f"provider {self.url}{path} answered unusably after {self.retries + 1} attempts; last answer: {unusable}"))
        raise ProviderUnavailable(
            redact.redact(f"provider {self.url}{path} failed after {self.retries + 1} attempts; last error: {last}")
        )

    def _backoff(self, attempt: int) -> float:
        # Full jitter: spreads retries of several workers that failed together.
        cap = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
        return self._rng.uniform(0, cap)


_TRANSIENT_4XX = {408, 429}  # a busy or slow server (e.g. a proxy in front of Ollama), not a bad input


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from a numeric ``Retry-After`` header, if the server sent one."""
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
        if isinstance(body, dict) and "error" in body:
            return str(body["error"])
    except ValueError:
        pass
    return response.text[:200] or response.reason_phrase


def _as_matrix(embeddings: list[Any] | np.ndarray) -> np.ndarray:
    """Turn the JSON list of vectors into a float32 matrix, refusing ragged or non-numeric answers."""
    if isinstance(embeddings, np.ndarray):
        return embeddings
    if not embeddings:
        return np.zeros((0, 0), dtype=np.float32)
    widths = {len(v) if isinstance(v, list) else -1 for v in embeddings}
    if -1 in widths:
        raise ProviderError("provider answered an 'embeddings' entry that is not a list of numbers")
    if len(widths) != 1:
        raise ProviderError(f"provider answered vectors of differing dimensions {sorted(widths)}")
    try:
        return np.asarray(embeddings, dtype=np.float32)
    except (TypeError, ValueError):
        raise ProviderError("provider answered an 'embeddings' entry that is not a list of numbers") from None


def check_vectors(vectors: np.ndarray, expected_count: int, expected_dim: int) -> list[str]:
    """Return one problem per bad row (or for the batch); an empty list means every vector may be written."""
    if vectors.shape[0] != expected_count:
        return [f"provider returned {vectors.shape[0]} vectors for {expected_count} inputs"]
    if expected_count and vectors.shape[1] != expected_dim:
        return [f"provider returned vectors of dimension {vectors.shape[1]}, expected {expected_dim}"]
    return [f"row {row}: {why}" for row, why in unusable(vectors)]


def unusable(vectors: np.ndarray) -> list[tuple[int, str]]:
    """(row, why) of each vector pgvector's distances cannot rank with: non-finite, all zeros, or of a length its
    single precision cannot square. Never written (``check_vectors``), never searched with (citations)."""
    problems: list[tuple[int, str]] = []
    # One pass over the batch, as pgvector will hold it (single precision): a row whose sum of squares is finite and
    # positive has only finite values, is not zero, and is one pgvector's distances can use. Only the other rows are
    # looked at value by value, to say which of these it breaks.
    stored = vectors.astype(np.float32, copy=False) if vectors.dtype.kind == "f" else None
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        squares = np.einsum("ij,ij->i", stored, stored) if stored is not None else None
    suspects = (np.arange(len(vectors)) if squares is None
                else np.flatnonzero(~(np.isfinite(squares) & (squares > 0))))
    if not len(suspects):
        return problems
    rows: np.ndarray = vectors[suspects] if stored is None else stored[suspects]
    finite = np.isfinite(rows).all(axis=1)
    nonzero = (rows != 0).any(axis=1)
    for i, row in enumerate(suspects.tolist()):
        if not finite[i]:
            problems.append((row, "vector has non-finite values (NaN or infinity)"))
        elif not nonzero[i]:
            problems.append((row, "vector is all zeros (cosine distance undefined)"))
        else:
            # its squares overflow or underflow pgvector's float sums (components past about 1e19, or all below
            # about 1e-23): the checks' sane_vectors fails it (``Shape.degenerate``), so it is never written
            problems.append((row, "vector's squared length overflows or underflows single precision (as "
                                  "pgvector stores it): pgvector's distances to it are NaN or infinite"))
    return problems
