"""Attachment transfer through the sending node's bucket: the sender streams the tracker's bytes into S3
(hashing as it goes); the message carries a short-lived presigned GET made when the message leaves; the
receiver streams it down (``peers/transfer.py``), verifies the SHA-256, and streams it into its tracker. Bytes
never pass through a Lambda payload or an API Gateway body, and never sit whole in memory."""

from __future__ import annotations

from twinbridge.models.messages import PeerMessage
from twinbridge.models.tracker import TrackerAttachment
from twinbridge.services.deps import Deps
from twinbridge.streams import HashingWriter, spooled
from twinbridge.trackers.base import TrackerClient


def object_key(connection_id: str, item_id: str, attachment_id: str) -> str:
    return f"outgoing/{connection_id}/{item_id}/{attachment_id}"


def stage(deps: Deps, client: TrackerClient, connection_id: str, item_id: str,
          attachment: TrackerAttachment) -> tuple[str, str, int]:
    """Copy a tracker attachment into this node's bucket; returns (object key, sha256, size)."""
    key = object_key(connection_id, item_id, attachment.id)
    with spooled() as buffer:
        writer = HashingWriter(buffer)
        client.download_attachment(attachment, writer)
        buffer.seek(0)
        deps.attachments.put(key, buffer, attachment.mime_type or "application/octet-stream")
    return key, writer.sha256.hexdigest(), writer.size


def with_download_urls(deps: Deps, message: PeerMessage) -> PeerMessage:
    """A ``sync.replica`` message leaving this node, with fresh presigned URLs for every staged attachment."""
    replica = message.payload.get("replica") or {}
    attachments = replica.get("attachments") or []
    if not attachments:
        return message
    replica = {**replica, "attachments": [
        {**a, "url": deps.attachments.presign(a["object_key"])} if a.get("object_key") else a for a in attachments]}
    return message.model_copy(update={"payload": {**message.payload, "replica": replica}})
