"""A streaming multipart/form-data body for one file: read in chunks from the source, never held whole in memory."""

from __future__ import annotations

import mimetypes
import os
import uuid
from collections.abc import Iterator
from typing import IO

CHUNK_SIZE = 64 * 1024


class MultipartFile:
    """One ``file`` part as a readable, iterable, rewindable body for ``requests`` (``data=``).

    ``len`` is the exact body length when the source's size is known (sent as Content-Length), otherwise
    None and requests falls back to chunked transfer encoding. ``rewind()`` restarts the body for a retry;
    it needs a seekable source.
    """

    def __init__(self, field: str, filename: str, source: IO[bytes], size: int | None = None,
                 content_type: str | None = None) -> None:
        # the part's type is what the tracker records as the file's mime type: guessed from the name, as browsers do
        content_type = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        self.boundary = uuid.uuid4().hex
        self._source = source
        self._start = _tell(source)
        head = (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{_quote(field)}"; filename="{_quote(filename)}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        self._head = head
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        size = size if size is not None else _remaining(source, self._start)
        self.len: int | None = None if size is None else len(head) + size + len(self._tail)
        self._chunks = self._generate()
        self._buffer = b""

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def rewindable(self) -> bool:
        return self._start is not None

    def rewind(self) -> None:
        if self._start is None:
            raise OSError("the attachment source cannot be rewound for a retry")
        self._source.seek(self._start)
        self._chunks = self._generate()
        self._buffer = b""

    def _generate(self) -> Iterator[bytes]:
        yield self._head
        while chunk := self._source.read(CHUNK_SIZE):
            yield chunk
        yield self._tail

    def __iter__(self) -> Iterator[bytes]:
        if self._buffer:
            buffered, self._buffer = self._buffer, b""
            yield buffered
        yield from self._chunks

    def read(self, size: int = -1) -> bytes:
        """File-like access (http.client reads bodies in blocks); at most ``size`` bytes, b"" at the end."""
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            out, self._buffer = self._buffer, b""
        else:
            out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


def _quote(value: str) -> str:
    """HTML5 form encoding of a parameter value: raw UTF-8, with quote and line breaks percent-escaped."""
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _tell(source: IO[bytes]) -> int | None:
    try:
        return source.tell() if source.seekable() else None
    except (AttributeError, OSError, ValueError):
        return None


def _remaining(source: IO[bytes], start: int | None) -> int | None:
    if start is None:
        return None
    try:
        return os.fstat(source.fileno()).st_size - start
    except (AttributeError, OSError, ValueError):
        pass
    try:
        end = source.seek(0, os.SEEK_END)
        source.seek(start)
        return end - start
    except (AttributeError, OSError, ValueError):
        return None
