"""Byte streams that never sit whole in memory: spooled temporary files and a writer that hashes as it goes."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

SPOOL_BYTES = 8 * 1024 * 1024  # above this a spooled file moves to /tmp


class HashingWriter:
    """A write-only file that hashes (SHA-256) and counts what passes into ``inner``."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner, self.sha256, self.size = inner, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self.inner.write(data)


@contextmanager
def spooled() -> Iterator[IO[bytes]]:
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as handle:
        yield handle
