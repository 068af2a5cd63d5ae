"""Attachment transfer through the sending node's bucket: the sender streams the tracker's bytes into S3
(hashing as it goes); the message carries a short-lived presigned GET made when the message leaves; the
receiver streams it down, verifies the SHA-256, and streams it into its tracker. Bytes never pass through a
Lambda payload or an API Gateway body, and never sit whole in memory (spooled to /tmp above a few MB)."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import requests

from twinbridge.errors import AttachmentTransferError
from twinbridge.models.tracker import TrackerAttachment
from twinbridge.observability import logger
from twinbridge.trackers.base import TrackerClient
from twinbridge.wiring import Deps

PRESIGN_SECONDS = 15 * 60
SPOOL_BYTES = 8 * 1024 * 1024
CHUNK = 1024 * 1024


class _HashingWriter:
    """A write-only file that hashes and counts what passes into ``inner``."""

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


def object_key(connection_id: str, item_id: str, attachment_id: str) -> str:
    return f"outgoing/{connection_id}/{item_id}/{attachment_id}"


def stage(deps: Deps, client: TrackerClient, connection_id: str, item_id: str,
          attachment: TrackerAttachment) -> tuple[str, str, int]:
    """Copy a tracker attachment into this node's bucket; returns (object key, sha256, size)."""
    key = object_key(connection_id, item_id, attachment.id)
    with spooled() as buffer:
        writer = _HashingWriter(buffer)
        client.download_attachment(attachment, writer)  # type: ignore[arg-type]
        buffer.seek(0)
        deps.s3.upload_fileobj(buffer, deps.settings.attachments_bucket, key, Config=_transfer_config(),
                               ExtraArgs={"ContentType": attachment.mime_type or "application/octet-stream"})
    return key, writer.sha256.hexdigest(), writer.size


def _transfer_config():
    """8 MB parts, two in flight and two read ahead: about 32 MB of buffers whatever the file size (boto3's
    defaults read ten parts ahead, 80 MB; benchmarks/attachment_memory.py measures it)."""
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024, max_concurrency=2)
    config.max_in_memory_upload_chunks = 2  # s3transfer's setting; boto3's constructor does not take it
    return config


def presign(deps: Deps, key: str) -> str:
    return deps.s3.generate_presigned_url(
        "get_object", Params={"Bucket": deps.settings.attachments_bucket, "Key": key}, ExpiresIn=PRESIGN_SECONDS)


def add_download_urls(deps: Deps, payload: dict[str, Any]) -> dict[str, Any]:
    """For a ``sync.replica`` payload leaving this node: fresh presigned URLs for every staged attachment."""
    replica = payload.get("replica") or {}
    attachments = replica.get("attachments") or []
    if not attachments:
        return payload
    replica = {**replica, "attachments": [
        {**a, "url": presign(deps, a["object_key"])} if a.get("object_key") else a for a in attachments]}
    return {**payload, "replica": replica}


@contextmanager
def fetch_verified(url: str, sha256: str, *, timeout: float = 30.0, attempts: int = 2) -> Iterator[tuple[IO[bytes], int]]:
    """Stream ``url`` into a spooled file and check its SHA-256 (one retry); yields (file at 0, size)."""
    last = ""
    for attempt in range(1, attempts + 1):
        with spooled() as buffer:
            writer = _HashingWriter(buffer)
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
