"""A real HTTP proxy on loopback that forwards to the embedding server and injects one fault on demand.

Each fault applies to requests on one path (``/api/embed`` by default), either
to the first N of them (transient) or to all of them (permanent). Faults that
corrupt an answer fetch the real answer upstream first and then damage it, so
what the client sees is exactly what a broken provider or middlebox would send.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

# Faults that answer without asking the upstream server.
DROP = "drop"              # close the connection without a response
STALL = "stall"            # say nothing for longer than the client's timeout, then close
HTTP_500 = "http_500"      # an Ollama-style 500 error body
NOT_JSON = "not_json"      # 200 with an HTML page
WRONG_SHAPE = "wrong_shape"  # 200 with JSON that has no 'embeddings' list (another API's shape)
JSON_ARRAY = "json_array"  # 200 with a top-level JSON array
# Faults that damage the real answer.
WRONG_COUNT = "wrong_count"  # one vector fewer than inputs
WRONG_DIM = "wrong_dim"      # every vector one component short
NAN = "nan"                  # the first vector carries NaN
NAN_FOR = "nan_for"          # every vector of an input holding the fault's ``matching`` text carries NaN
INFINITE = "infinite"        # the first vector carries +Infinity
ZERO = "zero"                # the first vector is all zeros
OTHER_MODEL = "other_model"  # the answer names another model than the one asked
TRUNCATED = "truncated"      # headers promise the whole body, half of it arrives, then the connection closes

SELF_ANSWERED = {DROP, STALL, HTTP_500, NOT_JSON, WRONG_SHAPE, JSON_ARRAY}
DAMAGING = {WRONG_COUNT, WRONG_DIM, NAN, NAN_FOR, INFINITE, ZERO, OTHER_MODEL, TRUNCATED}
ALL = SELF_ANSWERED | DAMAGING


@dataclass
class Fault:
    kind: str
    times: int | None = None  # None: every matching request; N: the first N
    after: int = 0  # let this many matching requests through untouched first
    path: str = "/api/embed"
    stall_s: float = 3.0
    matching: str | None = None  # NAN_FOR: the text an input holds to be answered NaN

    def __post_init__(self) -> None:
        if self.kind not in ALL:
            raise ValueError(f"unknown fault {self.kind!r}; expected one of {sorted(ALL)}")


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    fault: str | None


class _QuietServer(ThreadingHTTPServer):
    """Keeps a handler's error (the client gone after its timeout, the upstream slow under load) to itself: printed,
    it lands in the stderr the in-process CLI's output is captured from, as if the harness had raised it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.errors: list[BaseException] = []

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        error = sys.exc_info()[1]
        if error is not None:
            self.errors.append(error)


class FaultProxy:
    """Forwards to ``upstream``; ``inject(kind, times=N)`` arms a fault, ``clear()`` disarms it."""

    def __init__(self, upstream: str, *, require_headers: dict[str, str] | None = None):
        self.upstream = upstream.rstrip("/")
        self.require_headers = dict(require_headers or {})
        self.seen: list[Seen] = []
        self.faults_served = 0
        self._passed = 0
        self._fault: Fault | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._client = httpx.Client(base_url=self.upstream, timeout=30)
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="faultproxy", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def inject(self, kind: str, times: int | None = None, *, after: int = 0, path: str = "/api/embed",
               stall_s: float = 3.0, matching: str | None = None) -> None:
        with self._lock:
            self._fault = Fault(kind, times, after, path, stall_s, matching)
            self.faults_served = 0
            self._passed = 0

    def clear(self) -> None:
        with self._lock:
            self._fault = None

    def requests_to(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]

    def start(self) -> "FaultProxy":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- used by the handler -------------------------------------------------------
    def _take(self, path: str) -> Fault | None:
        """The fault to apply to this request, counting it against a transient fault's budget."""
        with self._lock:
            fault = self._fault
            if fault is None or fault.path != path:
                return None
            if self._passed < fault.after:
                self._passed += 1
                return None
            if fault.times is not None and self.faults_served >= fault.times:
                return None
            self.faults_served += 1
            return fault


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            self._handle("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._handle("POST")

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fault = None
            for name, value in proxy.require_headers.items():
                if self.headers.get(name) != value:
                    proxy.seen.append(Seen(method, self.path, dict(self.headers), body, "unauthorized"))
                    # A hostile server echoes what it was sent: the client must still not leak it.
                    self._send(401, {"error": f"unauthorized: {name} was {self.headers.get(name)!r}"})
                    return
            fault = proxy._take(self.path)
            proxy.seen.append(Seen(method, self.path, dict(self.headers), body, fault.kind if fault else None))
            if fault is not None and fault.kind in SELF_ANSWERED:
                self._self_answer(fault)
                return
            upstream = proxy._client.request(method, self.path, content=body,
                                             headers={"Content-Type": self.headers.get("Content-Type", "application/json")})
            if fault is None or upstream.status_code != 200:
                self._send(upstream.status_code, upstream.content, upstream.headers.get("Content-Type", "application/json"))
                return
            self._damage(fault, upstream.json(), body)

        def _self_answer(self, fault: Fault) -> None:
            if fault.kind == DROP:
                self._drop()
            elif fault.kind == STALL:
                proxy._closing.wait(fault.stall_s)
                self._drop()
            elif fault.kind == HTTP_500:
                self._send(500, {"error": "llama runner process has terminated: signal: killed"})
            elif fault.kind == NOT_JSON:
                self._send(200, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
            elif fault.kind == WRONG_SHAPE:
                self._send(200, {"object": "list", "data": [{"embedding": [0.1, 0.2]}], "model": "x"})
            elif fault.kind == JSON_ARRAY:
                self._send(200, [[0.1, 0.2, 0.3]])

        def _damage(self, fault: Fault, answer: dict[str, Any], body: bytes) -> None:
            vectors = answer.get("embeddings") or []
            if fault.kind == WRONG_COUNT:
                answer["embeddings"] = vectors[:-1]
            elif fault.kind == WRONG_DIM:
                answer["embeddings"] = [v[:-1] for v in vectors]
            elif fault.kind == NAN and vectors:
                vectors[0][0] = float("nan")
            elif fault.kind == NAN_FOR:
                inputs = json.loads(body).get("input")
                for i, text in enumerate([inputs] if isinstance(inputs, str) else inputs or []):
                    if fault.matching and fault.matching in text:
                        vectors[i] = [float("nan")] * len(vectors[i])
            elif fault.kind == INFINITE and vectors:
                vectors[0][0] = float("inf")
            elif fault.kind == ZERO and vectors:
                vectors[0] = [0.0] * len(vectors[0])
            elif fault.kind == OTHER_MODEL:
                answer["model"] = "nomic-embed-text:latest"
            data = json.dumps(answer).encode("utf-8")  # NaN/Infinity as Python's json writes them
            if fault.kind == TRUNCATED:
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self._drop()
                return
            self._send(200, data)

        def _send(self, status: int, body: Any, content_type: str = "application/json; charset=utf-8") -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _drop(self) -> None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    return Handler


def wait_until(predicate, timeout_s: float = 10.0, every_s: float = 0.01) -> bool:
    """Poll ``predicate`` until it is true or the time is up; return its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return bool(value)
        time.sleep(every_s)
