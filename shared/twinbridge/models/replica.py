"""The replica: a tracker-neutral snapshot of one item as the sending side shares it, and the sync messages
that carry it between nodes. Rich text travels in the canonical form (``twinbridge.richtext`` JSON)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from pydantic import Field

from twinbridge.models.base import StrictModel

REPLICA_KIND = "sync.replica"
LINKED_KIND = "sync.linked"
UNLINKED_KIND = "sync.unlinked"



class ItemIdentity(StrictModel):
    id: str
    key: str
    url: str = ""


class Person(StrictModel):
    display_name: str = ""
    email: str | None = None
    account_id: str | None = None


class ReplicaComment(StrictModel):
    id: str
    author: Person | None = None
    body: dict[str, Any] = Field(description="canonical rich text (richtext.serialize)")
    created: datetime | None = None
    updated: datetime | None = None

    def digest(self) -> str:
        return _digest(self.body)


class ReplicaAttachment(StrictModel):
    id: str
    filename: str
    size: int | None = None
    mime_type: str | None = None
    sha256: str
    object_key: str | None = Field(default=None, description="where the sender staged the bytes (its bucket)")
    url: str | None = Field(default=None, description="short-lived presigned GET, added when the message is sent")


class Replica(StrictModel):
    """The item's state as its side shares it (only what the outgoing rules let through)."""

    item: ItemIdentity
    project: str
    type: str
    summary: str
    description: dict[str, Any] | None = None
    labels: list[str] = Field(default_factory=list)
    status: str | None = None
    priority: str | None = None
    reporter: Person | None = None
    assignee: Person | None = None
    comments: list[ReplicaComment] = Field(default_factory=list)
    attachments: list[ReplicaAttachment] = Field(default_factory=list)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    updated: datetime

    def digest(self) -> str:
        """What the receiving side would see: unchanged digest = nothing to send. Ignores URLs, timestamps of
        the item itself and staging details, which change without the content changing."""
        content = self.model_dump(mode="json", exclude={"updated": True, "item": {"url"}})
        for attachment in content["attachments"]:
            attachment.pop("url", None)
            attachment.pop("object_key", None)
        return _digest(content)


class ReplicaMessage(StrictModel):
    """``sync.replica``: the newest state of one twin's item on the sending side. ``seq`` grows per twin and
    direction, so the receiver applies a replica at most once and never an older one after a newer one."""

    twin_id: str
    seq: int = Field(ge=1)
    based_on: int = Field(default=0, ge=0, description="the highest replica seq the sender had applied from us")
    origin: str = Field(description="short name of the side the item was created on")
    replica: Replica


class LinkedMessage(StrictModel):
    """``sync.linked``: the receiving side created its copy; here is its identity (for status and links)."""

    twin_id: str
    item: ItemIdentity


class UnlinkedMessage(StrictModel):
    """``sync.unlinked``: the item was deleted on the sending side; the copy stays, the link goes."""

    twin_id: str
    reason: str


FIELDS = ("type", "summary", "description", "labels")


def field_versions(replica: Replica) -> dict[str, str]:
    """A digest per synced field, to tell which fields a replica changed since the previous one."""
    return {
        "type": _digest(replica.type), "summary": _digest(replica.summary),
        "description": _digest(replica.description), "labels": _digest(sorted(replica.labels)),
    }


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()
