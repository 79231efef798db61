"""A real loopback HTTP proxy in front of the embedding server that misbehaves on purpose (500s, stalls, bad answers).

Not a mock: the engine talks HTTP to it over a socket, and it forwards to the real Ollama-compatible server.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

# A fault sees the request number (1-based, /api/embed only) and the JSON body; it may return
# ("status", code, message), ("stall", seconds), ("edit", fn(answer) -> answer), or None to pass through.
Fault = Callable[[int, dict[str, Any]], tuple | None]


class FaultyProxy:
    def __init__(self, upstream: str, fault: Fault | None = None):
        self.upstream = upstream.rstrip("/")
        self.fault = fault
        self.embed_requests = 0  # counted on arrival
        self.inputs = 0
        self._lock = threading.Lock()
        self.client = httpx.Client(base_url=self.upstream, timeout=30)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                r = proxy.client.get(self.path)
                self._reply(r.status_code, r.content)

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.loads(raw or b"{}")
                action = None
                if self.path == "/api/embed":
                    with proxy._lock:
                        proxy.embed_requests += 1
                        number = proxy.embed_requests
                        proxy.inputs += len(body.get("input") or [])
                    action = proxy.fault(number, body) if proxy.fault else None
                if action and action[0] == "status":
                    self._reply(action[1], json.dumps({"error": action[2]}).encode())
                    return
                if action and action[0] == "stall":
                    time.sleep(action[1])
                r = proxy.client.post(self.path, content=raw)
                if action and action[0] == "edit" and r.status_code == 200:
                    self._reply(200, json.dumps(action[1](r.json())).encode())  # json.dumps writes NaN as NaN
                    return
                self._reply(r.status_code, r.content)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "FaultyProxy":
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.client.close()
