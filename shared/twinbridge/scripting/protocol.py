"""The script worker's wire format: one JSON message per frame, a 4-byte big-endian length then UTF-8 JSON, over
pipes; reads are bounded in size and, on the parent's side, in time (``poll``)."""

from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any

FRAME_LIMIT = 8 * 1024 * 1024  # an item, its replica and a 64 KiB script fit many times over
_HEADER = struct.Struct(">I")


class ChannelError(Exception):
    """The other end hung up, or sent what is not a frame."""


class FrameTooLargeError(ChannelError):
    """A message longer than FRAME_LIMIT, to send or received."""


class ChannelTimeoutError(Exception):
    """No whole frame arrived before the deadline."""


def encode(message: Any) -> bytes:
    """One frame; raises FrameTooLargeError, or TypeError/ValueError/RecursionError for what is not JSON data."""
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
    if len(body) > FRAME_LIMIT:
        raise FrameTooLargeError(f"a message larger than {FRAME_LIMIT // (1024 * 1024)} MiB")
    return _HEADER.pack(len(body)) + body


def send(fd: int, frame: bytes) -> None:
    view = memoryview(frame)
    while view:
        view = view[os.write(fd, view):]


def receive(fd: int, until: float | None = None) -> Any:
    """The next message; ``until`` is a ``time.monotonic()`` deadline (None: wait as long as it takes)."""
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, until))
    if size > FRAME_LIMIT:
        raise FrameTooLargeError(f"a frame of {size} bytes")
    try:
        return json.loads(_read_exact(fd, size, until))
    except (ValueError, RecursionError):
        raise ChannelError("a frame that is not JSON") from None


def _read_exact(fd: int, size: int, until: float | None) -> bytes:
    chunks: list[bytes] = []
    missing = size
    while missing:
        if until is not None and not _readable(fd, until):
            raise ChannelTimeoutError()
        chunk = os.read(fd, min(missing, 1 << 20))
        if not chunk:
            raise ChannelError("the other end hung up")
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def _readable(fd: int, until: float) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while (left := until - time.monotonic()) > 0:
        if poller.poll(max(1, int(left * 1000 + 0.999))):
            return True
    return False
