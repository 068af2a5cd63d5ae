"""Attachment bytes from a partner: a presigned GET on the partner's bucket, streamed to a spooled file and
checked against the SHA-256 the replica names before anything else reads it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from twinbridge.errors import AttachmentTransferError
from twinbridge.observability import logger
from twinbridge.streams import HashingWriter, spooled

CHUNK = 1024 * 1024


@contextmanager
def fetch_verified(
    url: str, sha256: str, *, timeout: float = 30.0, attempts: int = 2
) -> Iterator[tuple[IO[bytes], int]]:
    """Stream ``url`` into a spooled file and check its SHA-256 (one retry); yields (file at 0, size).

    Raises:
        AttachmentTransferError: every attempt failed (the last reason is named).
    """
    import requests  # on first use: handlers that never download do not pay for it at cold start

    last = ""
    for attempt in range(1, attempts + 1):
        with spooled() as buffer:
            writer = HashingWriter(buffer)
            try:
                with requests.get(url, stream=True, timeout=timeout) as response:
                    if response.status_code != 200:
                        last = f"download answered {response.status_code}"
                        continue
                    for chunk in response.iter_content(CHUNK):
                        writer.write(chunk)
            except requests.RequestException as exc:
                last = f"download failed ({type(exc).__name__})"
                continue
            if writer.sha256.hexdigest() != sha256:
                last = "SHA-256 mismatch"
                logger.warning("attachment failed verification", extra={"attempt": attempt})
                continue
            buffer.seek(0)
            yield buffer, writer.size
            return
    raise AttachmentTransferError(f"attachment could not be transferred: {last} (after {attempts} attempts)")
