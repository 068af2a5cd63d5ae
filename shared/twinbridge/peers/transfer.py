"""Attachment bytes from a partner: a presigned GET on the partner's bucket, streamed to a spooled file and checked
against the SHA-256 the replica names before anything else reads it.

The URL is the partner's to choose, so it is treated as hostile: https to an S3 endpoint only (plain http on
loopback only where the node runs locally), every address it resolves to public, no redirects, no more bytes than
the replica declared (and never more than the node's limit), one deadline for all attempts, the hash checked as
the bytes stream in."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO
from urllib.parse import urlsplit

from twinbridge.errors import AttachmentTransferError
from twinbridge.loopback import is_loopback
from twinbridge.observability import logger
from twinbridge.peers.addresses import non_public_reason
from twinbridge.streams import HashingWriter, spooled

CHUNK = 1024 * 1024
# Virtual-hosted and path-style S3 endpoints, regional, dual-stack and FIPS, and the China partition.
S3_HOST = re.compile(r"^([a-z0-9][a-z0-9.-]{0,62}\.)?s3([.-][a-z0-9-]+)*\.amazonaws\.com(\.cn)?$")


@dataclass(frozen=True)
class TransferPolicy:
    """What a download may do. ``local`` (the local runtime only): plain http to loopback is allowed, because
    there the partner's bucket is a moto server on 127.0.0.1."""

    max_bytes: int = 100 * 1024 * 1024
    deadline_seconds: float = 300.0
    local: bool = False

    def check_url(self, url: str) -> None:
        """Raises AttachmentTransferError when ``url`` is not one this node may fetch."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.username or parts.password:
            raise AttachmentTransferError("attachment URL refused: it carries credentials")
        if self.local and parts.scheme in ("http", "https") and is_loopback(host):
            return
        if parts.scheme != "https":
            raise AttachmentTransferError("attachment URL refused: not https")
        if not S3_HOST.fullmatch(host):
            raise AttachmentTransferError("attachment URL refused: not an S3 endpoint")
        if parts.port not in (None, 443):
            raise AttachmentTransferError("attachment URL refused: not the https port")
        problem = non_public_reason(host, 443)
        if problem:
            raise AttachmentTransferError(f"attachment URL refused: {problem}")


@contextmanager
def fetch_verified(url: str, sha256: str, declared_size: int | None, policy: TransferPolicy, *,
                   timeout: float = 30.0, attempts: int = 2) -> Iterator[tuple[IO[bytes], int]]:
    """Stream ``url`` into a spooled file and check its size and SHA-256 (one retry); yields (file at 0, size).

    Raises:
        AttachmentTransferError: the URL is refused, or every attempt failed (the last reason is named).
    """
    import requests  # on first use: handlers that never download do not pay for it at cold start

    policy.check_url(url)
    limit = min(declared_size, policy.max_bytes) if declared_size is not None else policy.max_bytes
    if declared_size is not None and declared_size > policy.max_bytes:
        raise AttachmentTransferError(f"attachment of {declared_size} bytes is over this node's limit "
                                      f"of {policy.max_bytes} bytes")
    deadline = time.monotonic() + policy.deadline_seconds
    last = ""
    for attempt in range(1, attempts + 1):
        with spooled() as buffer:
            writer = HashingWriter(buffer)
            try:
                with requests.get(url, stream=True, allow_redirects=False,
                                  timeout=min(timeout, max(deadline - time.monotonic(), 0.1))) as response:
                    if response.status_code != 200:
                        last = f"download answered {response.status_code}"
                        continue
                    announced = response.headers.get("content-length")
                    if announced is not None and announced.isdigit() and int(announced) > limit:
                        raise AttachmentTransferError(f"attachment is larger than the {limit} bytes expected")
                    for chunk in response.iter_content(CHUNK):
                        if writer.size + len(chunk) > limit:
                            raise AttachmentTransferError(f"attachment is larger than the {limit} bytes expected")
                        if time.monotonic() > deadline:
                            raise AttachmentTransferError("attachment download took longer than its deadline")
                        writer.write(chunk)
            except requests.RequestException as exc:
                last = f"download failed ({type(exc).__name__})"
                if time.monotonic() > deadline:
                    break
                continue
            if writer.sha256.hexdigest() != sha256 or (declared_size is not None and writer.size != declared_size):
                last = "SHA-256 or size mismatch"
                logger.warning("attachment failed verification", extra={"attempt": attempt})
                continue
            buffer.seek(0)
            yield buffer, writer.size
            return
    raise AttachmentTransferError(f"attachment could not be transferred: {last} (after {attempts} attempts)")
