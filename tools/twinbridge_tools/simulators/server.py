"""A generic loopback HTTP server for simulators: a handler thread pool, a request log and fault injection."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class SimRequest:
    """One request as the simulator saw it; ``body`` is the whole (de-chunked) body."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes = b""

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class SimResponse:
    """``body`` may be an iterable of chunks (then ``length`` is required: we always send Content-Length)."""

    status: int
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    length: int | None = None

    @classmethod
    def json(cls, status: int, data: Any, headers: dict[str, str] | None = None) -> SimResponse:
        content_type = {"Content-Type": "application/json;charset=UTF-8"}
        return cls(status, json.dumps(data).encode(), {**content_type, **(headers or {})})


@dataclass
class _Fault:
    kind: str  # "status" | "hold"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    release: threading.Event | None = None


class Faults:
    """Queued faults: each applies to one upcoming request, in order. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[_Fault] = deque()
        self._dropped_webhooks = 0

    def throttle(self, count: int = 1, *, retry_after: str | None = "1", reset: str | None = None) -> None:
        """The next ``count`` requests get 429 with ``Retry-After`` and/or ``X-RateLimit-Reset``."""
        headers = {k: v for k, v in {"Retry-After": retry_after, "X-RateLimit-Reset": reset}.items() if v is not None}
        self._add(count, _Fault("status", 429, headers))

    def fail(self, count: int = 1, status: int = 500, headers: dict[str, str] | None = None) -> None:
        """The next ``count`` requests get ``status`` (a 5xx burst by default)."""
        self._add(count, _Fault("status", status, headers or {}))

    def hold(self, count: int = 1) -> threading.Event:
        """The next ``count`` requests wait until the returned event is set (or 30 s): a slow tracker, no sleeps."""
        release = threading.Event()
        self._add(count, _Fault("hold", release=release))
        return release

    def drop_webhooks(self, count: int = 1) -> None:
        with self._lock:
            self._dropped_webhooks += count

    def take_webhook_drop(self) -> bool:
        with self._lock:
            if self._dropped_webhooks:
                self._dropped_webhooks -= 1
                return True
            return False

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self._dropped_webhooks = 0

    def _add(self, count: int, fault: _Fault) -> None:
        with self._lock:
            self._queue.extend([fault] * count)

    def next(self) -> _Fault | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None


class LoopbackServer:
    """Subclass and implement ``handle`` (and ``fault_body`` for the tracker's error shape).

    ``start()``/``stop()`` or ``with``; ``url`` is ``http://127.0.0.1:<port>``; ``requests`` logs every request
    (the body is dropped to keep memory small); ``faults`` injects throttling, errors and slowness.
    """

    def __init__(self) -> None:
        self.faults = Faults()
        self.requests: list[SimRequest] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._log_lock = threading.Lock()

    # ------------------------------------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LoopbackServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.owner = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------------- hooks

    def handle(self, request: SimRequest) -> SimResponse:
        raise NotImplementedError

    def fault_body(self, status: int) -> SimResponse:
        return SimResponse.json(status, {"message": f"injected {status}"})

    def dispatch(self, request: SimRequest) -> SimResponse:
        with self._log_lock:
            self.requests.append(SimRequest(request.method, request.path, request.query, request.headers))
        fault = self.faults.next()
        if fault is not None and fault.kind == "hold":
            assert fault.release is not None
            fault.release.wait(30)
        elif fault is not None:
            response = self.fault_body(fault.status)
            response.headers.update(fault.headers)
            return response
        return self.handle(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stalls

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        request = SimRequest(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                             self.headers, self._body())
        try:
            response = self.server.owner.dispatch(request)  # type: ignore[attr-defined]
        except Exception as exc:  # a simulator bug must show up as a 500, not a hung client
            response = SimResponse.json(500, {"errorMessages": [f"simulator error: {type(exc).__name__}: {exc}"]})
        try:
            self._send(response)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, response: SimResponse) -> None:
        body = response.body
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if isinstance(body, bytes):
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        if response.length is None:
            raise ValueError("a streamed simulator response needs a length")
        self.send_header("Content-Length", str(response.length))
        self.end_headers()
        for chunk in body:
            self.wfile.write(chunk)
