"""The loopback HTTP server every tracker simulator runs on: a handler thread pool, a request log and one fault API."""

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
class Fault:
    """One queued fault; ``method`` and ``path`` (a substring of the request path) narrow the requests it hits."""

    kind: str  # "status" | "hold"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    release: threading.Event | None = None
    method: str | None = None
    path: str | None = None

    def matches(self, method: str | None, path: str | None) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or self.path in (path or ""))


def _seconds(value: str | float | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else str(value)


class Faults:
    """Queued faults: each applies to one upcoming matching request, in order. Thread-safe.

    Every simulator shares this API: ``throttle``, ``fail`` and ``hold`` take ``method``/``path`` filters (a fault
    without them hits the next request, whatever it is), ``drop_webhooks`` loses the next outgoing deliveries.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Fault] = deque()
        self._holds: list[threading.Event] = []
        self._dropped_webhooks = 0

    def throttle(self, count: int = 1, *, retry_after: str | float | None = "1", reset: str | None = None,
                 method: str | None = None, path: str | None = None) -> None:
        """The next ``count`` matching requests get 429 with ``Retry-After`` and/or ``X-RateLimit-Reset``."""
        headers = {k: v for k, v in {"Retry-After": _seconds(retry_after), "X-RateLimit-Reset": reset}.items()
                   if v is not None}
        self._add(count, Fault("status", 429, headers, method=method, path=path))

    def fail(self, count: int = 1, status: int = 500, headers: dict[str, str] | None = None, *,
             method: str | None = None, path: str | None = None) -> None:
        """The next ``count`` matching requests get ``status`` (a 5xx burst by default)."""
        self._add(count, Fault("status", status, dict(headers or {}), method=method, path=path))

    def hold(self, count: int = 1, *, method: str | None = None, path: str | None = None) -> threading.Event:
        """The next ``count`` matching requests wait until the returned event is set (or 30 s, or the server stops):
        a slow tracker, no sleeps."""
        release = threading.Event()
        with self._lock:
            self._holds.append(release)
        self._add(count, Fault("hold", release=release, method=method, path=path))
        return release

    def release_holds(self) -> None:
        """Let every held request go (the server calls it when it stops)."""
        with self._lock:
            holds, self._holds = self._holds, []
        for release in holds:
            release.set()

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

    def _add(self, count: int, fault: Fault) -> None:
        with self._lock:
            self._queue.extend([fault] * count)

    def next(self, method: str | None = None, path: str | None = None) -> Fault | None:
        """Take the first queued fault that matches the request (faults for other requests stay queued)."""
        with self._lock:
            for index, fault in enumerate(self._queue):
                if fault.matches(method, path):
                    del self._queue[index]
                    return fault
            return None


class LoopbackServer:
    """Subclass and implement ``handle`` (and ``fault_body`` for the tracker's error shape).

    ``start()``/``stop()`` or ``with``; ``url`` is ``http://127.0.0.1:<port>``; ``requests`` logs every request
    (the body is dropped to keep memory small); ``faults`` injects throttling, errors and slowness; ``errors`` keeps
    the exceptions a simulator bug raised (each answered with ``internal_error``'s 500).
    """

    def __init__(self) -> None:
        self.faults = Faults()
        self.requests: list[SimRequest] = []
        self.errors: list[BaseException] = []
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
        self.faults.release_holds()
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

    def fault_response(self, fault: Fault) -> SimResponse:
        """The answer to an injected status fault: ``fault_body`` in the tracker's shape plus the fault's headers."""
        response = self.fault_body(fault.status)
        response.headers.update(fault.headers)
        return response

    def internal_error(self, exc: Exception) -> SimResponse:
        """The 500 a simulator bug answers with (the exception is kept in ``errors`` for the test to see)."""
        return SimResponse.json(500, {"errorMessages": [f"simulator error: {type(exc).__name__}: {exc}"]})

    def dispatch(self, request: SimRequest) -> SimResponse:
        with self._log_lock:
            self.requests.append(SimRequest(request.method, request.path, request.query, request.headers))
        fault = self.faults.next(request.method, request.path)
        if fault is not None and fault.kind == "hold":
            assert fault.release is not None
            fault.release.wait(30)
        elif fault is not None:
            return self.fault_response(fault)
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
        owner: LoopbackServer = self.server.owner  # type: ignore[attr-defined]
        try:
            response = owner.dispatch(request)
        except Exception as exc:  # a simulator bug must show up as a 500, not a hung client
            owner.errors.append(exc)
            response = owner.internal_error(exc)
        try:
            self._send(response)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve

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
        if self.command == "HEAD":  # the headers only, as for a bytes body
            return
        for chunk in body:
            self.wfile.write(chunk)
