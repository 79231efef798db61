"""An HTTP server that speaks the embedding part of Ollama's API, with Ollama's shapes and error bodies.

Endpoints: ``POST /api/embed``, ``POST /api/embeddings`` (legacy), ``GET /api/tags``,
``POST /api/show``, ``GET /api/version``, ``GET /`` ("Ollama is running").
It runs in a thread on a free loopback port (``EmbeddingServer``) or as
``backfill-harness serve-embeddings``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Iterator
from typing import Any, cast

import numpy as np

from .models import ContextLengthExceeded, EmbeddingModel, ModelRegistry, canonical

OLLAMA_VERSION = "0.12.0"  # the API generation whose shapes this server follows
_STARTED = datetime.now(timezone.utc).isoformat()


@dataclass
class Pace:
    """Fixed serving speed, for benchmarks that need a provider of known cost.

    ``parallel`` is how many requests are served at once (Ollama's ``OLLAMA_NUM_PARALLEL``; a GPU
    server batches several): further requests queue for a slot, as they would on the real server.
    """

    per_request_s: float = 0.0
    per_input_s: float = 0.0
    parallel: int | None = None
    _slots: threading.BoundedSemaphore | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.parallel is not None:
            if self.parallel < 1:
                raise ValueError(f"parallel must be at least 1, got {self.parallel}")
            self._slots = threading.BoundedSemaphore(self.parallel)

    def wait(self, inputs: int) -> None:
        delay = self.per_request_s + self.per_input_s * inputs
        if delay <= 0:
            return
        if self._slots is None:
            time.sleep(delay)
            return
        with self._slots:
            time.sleep(delay)


def matryoshka(vectors: np.ndarray, dimensions: int) -> np.ndarray:
    """Ollama's ``dimensions``: each vector's first ``dimensions`` values, L2-normalised again; unchanged where
    ``dimensions`` is not below the model's own. As Ollama's EmbedHandler (server/routes.go, ollama/ollama):
    ``if req.Dimensions > 0 && req.Dimensions < len(embedding) { embedding, err = normalize(embedding[:req.Dimensions]) }``
    after a first ``normalize``; larger or non-positive values are ignored, not refused."""
    if not 0 < dimensions < vectors.shape[1]:
        return vectors
    part = vectors[:, :dimensions].astype(np.float32)
    norms = np.sqrt(np.einsum("ij,ij->i", part, part, dtype=np.float32))
    # Ollama divides by max(norm, 1e-12): an all-zero part stays zeros rather than NaN.
    return (part * (np.float32(1.0) / np.maximum(norms, np.float32(1e-12)))[:, None]).astype(np.float32)


def float32_rows(vectors: np.ndarray) -> list[str]:
    """Each row as a JSON array of float32 text, as Ollama (Go) writes them: 9 significant digits read back exactly,
    half the bytes of float64 text and about a third of the time to write (non-finite values as ``json`` has them)."""
    if not np.isfinite(vectors).all():
        return [json.dumps(row) for row in vectors.tolist()]
    row = "[" + ",".join(["%.9g"] * vectors.shape[1]) + "]"
    return [row % tuple(values) for values in vectors.tolist()]


def _with_vectors(fields: dict[str, Any], key: str, vectors_json: str) -> str:
    """``fields`` as a JSON object with ``key`` holding the vectors already written as JSON text."""
    head = json.dumps(fields)[:-1]
    return f"{head}{', ' if fields else ''}\"{key}\": {vectors_json}}}"


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as Ollama's Go server has: headers and body go out in two writes, and without it the body waits
    # for the client's delayed ACK of the headers (40 ms on Linux) on every request of a kept-alive connection.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    # -- plumbing ----------------------------------------------------------------
    def _send(self, status: int, body: Any, content_type: str = "application/json; charset=utf-8") -> None:
        data = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"error": message})

    def _json_body(self) -> dict[str, Any] | None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw.strip():
            self._error(400, "missing request body")
            return None
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            self._error(400, f"invalid JSON: {exc}")
            return None
        if not isinstance(body, dict):
            self._error(400, "request body must be a JSON object")
            return None
        return body

    def _model(self, body: dict[str, Any]):
        name = body.get("model") or body.get("name")
        if not isinstance(name, str) or not name.strip():
            self._error(400, "model is required")
            return None
        resolved = self.server.registry.resolve(name)
        if resolved is None:
            self._error(404, f'model "{name}" not found, try pulling it first')
            return None
        return name, resolved[0], resolved[1]

    # -- routes ------------------------------------------------------------------
    def do_HEAD(self) -> None:  # noqa: N802 - stdlib naming
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        if self.path in ("/", ""):
            self._send(200, "Ollama is running", "text/plain; charset=utf-8")
        elif self.path == "/api/version":
            self._send(200, {"version": OLLAMA_VERSION})
        elif self.path == "/api/tags":
            self._send(200, {"models": [self._tag(name) for name in self.server.registry.names()]})
        else:
            self._send(404, "404 page not found", "text/plain; charset=utf-8")

    def do_POST(self) -> None:  # noqa: N802
        routes = {"/api/embed": self._embed, "/api/embeddings": self._embeddings, "/api/show": self._show}
        route = routes.get(self.path)
        if route is None:
            self._send(404, "404 page not found", "text/plain; charset=utf-8")
            return
        body = self._json_body()
        if body is not None:
            route(body)

    def _embed(self, body: dict[str, Any]) -> None:
        found = self._model(body)
        if found is None:
            return
        name, model, _ = found
        raw = body.get("input", [])
        if isinstance(raw, str):
            texts = [raw]
        elif isinstance(raw, list) and all(isinstance(t, str) for t in raw):
            texts = raw
        else:
            self._error(400, "invalid input type")
            return
        truncate = body.get("truncate", True)
        if not isinstance(truncate, bool):
            self._error(400, "truncate must be a boolean")
            return
        dimensions = body.get("dimensions", 0)
        if isinstance(dimensions, bool) or not isinstance(dimensions, int):
            # Ollama binds the body to an int field: its JSON decoder's words (gin answers 400 with them).
            kind = "string" if isinstance(dimensions, str) else "bool" if isinstance(dimensions, bool) else \
                f"number {dimensions}" if isinstance(dimensions, float) else type(dimensions).__name__
            self._error(400, f"json: cannot unmarshal {kind} into Go struct field EmbedRequest.dimensions of type int")
            return
        started = time.perf_counter_ns()
        with self.server.in_flight():
            try:
                embedded = model.embed(texts, truncate=truncate)
            except ContextLengthExceeded as exc:
                self._error(400, str(exc))
                return
            vectors = matryoshka(embedded.vectors, dimensions)
            self.server.pace.wait(len(texts))
        self.server.count(len(texts))
        fields = {"model": name, "total_duration": time.perf_counter_ns() - started, "load_duration": 0,
                  "prompt_eval_count": embedded.token_count}
        self._send(200, _with_vectors(fields, "embeddings", "[" + ",".join(float32_rows(vectors)) + "]"))

    def _embeddings(self, body: dict[str, Any]) -> None:
        found = self._model(body)
        if found is None:
            return
        _, model, _ = found
        prompt = body.get("prompt", "")
        if not isinstance(prompt, str):
            self._error(400, "prompt must be a string")
            return
        embedded = model.embed([prompt], truncate=True)
        self.server.pace.wait(1)
        self.server.count(1)
        # The legacy endpoint returns an un-normalised vector in Ollama; ours is already unit length.
        self._send(200, _with_vectors({}, "embedding", float32_rows(embedded.vectors[:1])[0]))

    def _show(self, body: dict[str, Any]) -> None:
        found = self._model(body)
        if found is None:
            return
        name, model, alias_of = found
        info = model.info
        arch = "bert" if info.family == "bert" else info.family
        note = f"alias of {info.name}, served by backfill-harness" if alias_of else f"{info.description}"
        self._send(
            200,
            {
                "modelfile": f"# {canonical(name)}: {note}\nFROM {info.name}\n",
                "parameters": "",
                "template": "",
                "license": "",
                "details": self._details(info, alias_of),
                "model_info": {
                    "general.architecture": arch,
                    "general.basename": info.name.split(":")[0],
                    f"{arch}.embedding_length": info.dimensions,
                    f"{arch}.context_length": info.context_length,
                },
                "capabilities": ["embedding"],
                "modified_at": _STARTED,
            },
        )

    def _tag(self, name: str) -> dict[str, Any]:
        # a name from registry.names() is always served
        model, alias_of = cast(tuple[EmbeddingModel, str | None], self.server.registry.resolve(name))
        return {
            "name": name,
            "model": name,
            "modified_at": _STARTED,
            "size": 0,
            "digest": hashlib.sha256(name.encode()).hexdigest(),
            "details": self._details(model.info, alias_of),
        }

    @staticmethod
    def _details(info, alias_of: str | None) -> dict[str, Any]:
        details = {
            "parent_model": alias_of or "",
            "format": "native",
            "family": info.family,
            "families": [info.family],
            "parameter_size": info.parameter_size,
            "quantization_level": "F32",
        }
        if alias_of:
            details["alias_of"] = alias_of
        return details


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, registry: ModelRegistry, pace: Pace):
        super().__init__(address, _Handler)
        self.registry = registry
        self.pace = pace
        self._count_lock = threading.Lock()
        self.inputs_served = 0
        self.requests_served = 0
        self._busy = 0
        self.peak_in_flight = 0  # the most /api/embed requests served at once: shows whether a client keeps it busy

    @contextlib.contextmanager
    def in_flight(self) -> Iterator[None]:
        with self._count_lock:
            self._busy += 1
            self.peak_in_flight = max(self.peak_in_flight, self._busy)
        try:
            yield
        finally:
            with self._count_lock:
                self._busy -= 1

    def count(self, inputs: int) -> None:
        with self._count_lock:
            self.inputs_served += inputs
            self.requests_served += 1


class EmbeddingServer:
    """The Ollama-compatible server, started on a loopback port in a background thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        models: list[str] | None = None,
        aliases: dict[str, str] | None = None,
        pace: Pace | None = None,
    ):
        self.registry = ModelRegistry(models, aliases)
        self._server = _Server((host, port), self.registry, pace or Pace())
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = cast(tuple[str, int], self._server.server_address[:2])  # a TCP server
        return f"http://{host}:{port}"

    @property
    def pace(self) -> Pace:
        return self._server.pace

    @property
    def inputs_served(self) -> int:
        return self._server.inputs_served

    @property
    def requests_served(self) -> int:
        return self._server.requests_served

    @property
    def peak_in_flight(self) -> int:
        return self._server.peak_in_flight

    def start(self) -> "EmbeddingServer":
        self._thread = threading.Thread(target=self._server.serve_forever, name="embedserver", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "EmbeddingServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
