"""The replica: a tracker-neutral snapshot of one item as the sending side shares it, and the sync messages
that carry it between nodes. Rich text travels in the canonical form (``twinbridge.richtext`` JSON)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from twinbridge.models.base import StrictModel

REPLICA_KIND = "sync.replica"
LINKED_KIND = "sync.linked"
UNLINKED_KIND = "sync.unlinked"



# Every field a partner sends is bounded (it is another organization's input). The whole replica must also fit
# one outbox item (DynamoDB's 400 KB): the sending side checks MAX_REPLICA_BYTES before it queues one.
MAX_REPLICA_BYTES = 350_000
MAX_COMMENTS = 500
MAX_COMMENT_BYTES = 64_000  # canonical JSON of one comment body (Jira caps a comment at 32,767 characters)
MAX_DESCRIPTION_BYTES = 128_000
MAX_ATTACHMENTS = 100
MAX_ATTACHMENT_BYTES = 2 * 1024**3  # what a replica may declare; downloads have a lower limit of their own
MAX_LABELS = 100
MAX_CUSTOM_FIELDS_BYTES = 32_000
ID = r"^[A-Za-z0-9._:@-]{1,128}$"  # tracker ids: Jira issue/comment ids, ADO work item/comment ids, GUIDs
# "<origin side's short name>:<origin item id>" (short names: models.connection.SHORT_NAME_PATTERN)
TWIN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,39}:[A-Za-z0-9._-]{1,128}$"
Name = Annotated[str, Field(max_length=255)]


def _json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str))


def _bounded_json(value: Any, limit: int, what: str) -> Any:
    if value is not None and _json_size(value) > limit:
        raise ValueError(f"{what} is larger than {limit} bytes of canonical JSON")
    return value


class ItemIdentity(StrictModel):
    id: str = Field(pattern=ID)
    key: str = Field(min_length=1, max_length=255)
    url: str = Field(default="", max_length=2048)


class Person(StrictModel):
    display_name: str = Field(default="", max_length=255)
    email: str | None = Field(default=None, max_length=320)
    account_id: str | None = Field(default=None, max_length=255)


class ReplicaComment(StrictModel):
    id: str = Field(pattern=ID)
    author: Person | None = None
    body: dict[str, Any] = Field(description="canonical rich text (richtext.serialize)")
    created: datetime | None = None
    updated: datetime | None = None

    @field_validator("body")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _bounded_json(value, MAX_COMMENT_BYTES, "a comment body")  # type: ignore[no-any-return]

    def digest(self) -> str:
        return _digest(self.body)


class ReplicaAttachment(StrictModel):
    id: str = Field(pattern=ID)
    filename: str = Field(min_length=1, max_length=255)
    size: int | None = Field(default=None, ge=0, le=MAX_ATTACHMENT_BYTES)
    mime_type: str | None = Field(default=None, max_length=255)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    object_key: str | None = Field(default=None, max_length=1024,
                                   description="where the sender staged the bytes (its bucket)")
    url: str | None = Field(default=None, max_length=4096,
                            description="short-lived presigned GET, added when the message is sent")


class Replica(StrictModel):
    """The item's state as its side shares it (only what the outgoing rules let through)."""

    item: ItemIdentity
    project: Name
    type: Name
    summary: str = Field(max_length=1000)  # trackers keep 255; the writer trims what it writes
    description: dict[str, Any] | None = None
    labels: list[Name] = Field(default_factory=list, max_length=MAX_LABELS)
    status: Name | None = None
    priority: Name | None = None
    reporter: Person | None = None
    assignee: Person | None = None
    comments: list[ReplicaComment] = Field(default_factory=list, max_length=MAX_COMMENTS)
    attachments: list[ReplicaAttachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    updated: datetime

    @field_validator("description")
    @classmethod
    def _bounded_description(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _bounded_json(value, MAX_DESCRIPTION_BYTES, "the description")  # type: ignore[no-any-return]

    @field_validator("custom_fields")
    @classmethod
    def _bounded_fields(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _bounded_json(value, MAX_CUSTOM_FIELDS_BYTES, "custom_fields")  # type: ignore[no-any-return]

    def digest(self) -> str:
        """What the receiving side would see: unchanged digest = nothing to send. Ignores URLs, timestamps of
        the item itself and staging details, which change without the content changing."""
        content = self.model_dump(mode="json", exclude={"updated": True, "item": {"url"}})
        for attachment in content["attachments"]:
            attachment.pop("url", None)
            attachment.pop("object_key", None)
        return _digest(content)


FieldName = Literal["type", "summary", "description", "labels"]
Role = Literal["origin", "copy"]
Order = Literal["same", "older", "newer", "concurrent"]
MAX_COUNT = 2**53


class FieldClock(StrictModel):
    """Who wrote a field's value: how many edits each side has made to it (a version vector of two entries, one
    for the side the item was created on and one for the side holding the copy). Causal, not a value: an undo
    (A -> B -> A) is a new edit, and an apply is never mistaken for a local edit (it takes the partner's clock)."""

    by_origin: int = Field(default=0, ge=0, le=MAX_COUNT)
    by_copy: int = Field(default=0, ge=0, le=MAX_COUNT)

    def count(self, role: Role) -> int:
        return self.by_origin if role == "origin" else self.by_copy

    def bumped(self, role: Role) -> FieldClock:
        """This clock after one more edit on ``role``'s side."""
        if role == "origin":
            return FieldClock(by_origin=min(self.by_origin + 1, MAX_COUNT), by_copy=self.by_copy)
        return FieldClock(by_origin=self.by_origin, by_copy=min(self.by_copy + 1, MAX_COUNT))

    def merged(self, other: FieldClock) -> FieldClock:
        return FieldClock(by_origin=max(self.by_origin, other.by_origin), by_copy=max(self.by_copy, other.by_copy))

    def capped(self, role: Role, count: int) -> FieldClock:
        """This clock with ``role``'s entry at most ``count``."""
        if role == "origin":
            return FieldClock(by_origin=min(self.by_origin, count), by_copy=self.by_copy)
        return FieldClock(by_origin=self.by_origin, by_copy=min(self.by_copy, count))

    def order(self, theirs: FieldClock) -> Order:
        """``same``; ``older``: ``theirs`` has seen every edit this one has, and more; ``newer``: the reverse;
        ``concurrent``: each has an edit the other has not seen (both sides changed the field)."""
        if self == theirs:
            return "same"
        if self.by_origin <= theirs.by_origin and self.by_copy <= theirs.by_copy:
            return "older"
        if self.by_origin >= theirs.by_origin and self.by_copy >= theirs.by_copy:
            return "newer"
        return "concurrent"


class ReplicaMessage(StrictModel):
    """``sync.replica``: the newest state of one twin's item on the sending side. ``seq`` grows per twin and
    direction, so the receiver applies a replica at most once and never an older one after a newer one."""

    twin_id: str = Field(pattern=TWIN_ID_PATTERN)
    seq: int = Field(ge=1, le=2**53)
    based_on: int = Field(default=0, ge=0, le=2**53,
                          description="the highest replica seq the sender had applied from us")
    origin: str = Field(max_length=40, description="short name of the side the item was created on")
    replica: Replica
    clocks: dict[FieldName, FieldClock] = Field(
        default_factory=dict, description="per synced field, who wrote the value this replica carries")


    @property
    def origin_side(self) -> str:
        """The short name the twin id names as the item's origin."""
        return self.twin_id.split(":", 1)[0]


class LinkedMessage(StrictModel):
    """``sync.linked``: the receiving side created its copy; here is its identity (for status and links)."""

    twin_id: str = Field(pattern=TWIN_ID_PATTERN)
    item: ItemIdentity


class UnlinkedMessage(StrictModel):
    """``sync.unlinked``: the item was deleted on the sending side; the copy stays, the link goes."""

    twin_id: str = Field(pattern=TWIN_ID_PATTERN)
    reason: str = Field(max_length=200)


FIELDS: tuple[FieldName, ...] = ("type", "summary", "description", "labels")


def field_digest(name: str, value: Any) -> str:
    """A synced field's value as a digest, the same whichever side computes it (labels as a set)."""
    return _digest(sorted(value) if name == "labels" else value)


def field_versions(replica: Replica) -> dict[str, str]:
    """A digest per synced field of the values ``replica`` carries."""
    return {name: field_digest(name, getattr(replica, name)) for name in FIELDS}


def message_digest(replica: Replica, clocks: dict[str, FieldClock]) -> str:
    """What the partner would see of a replica message: unchanged = nothing to send (content and clocks alike)."""
    return _digest([replica.digest(), {name: clock.model_dump() for name, clock in sorted(clocks.items())}])


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()
