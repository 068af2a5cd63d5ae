"""One normalized tracker change (from a Jira or Azure DevOps webhook), as queued for the sync worker."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from twinbridge.models.base import FrozenModel, TrackerKind

CHANGE_MESSAGE_TYPE = "tracker.change"
MAX_VALUE_CHARS = 4096


class ChangeKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    RESTORED = "restored"
    COMMENT_CREATED = "comment_created"
    COMMENT_UPDATED = "comment_updated"
    COMMENT_DELETED = "comment_deleted"
    ATTACHMENT_ADDED = "attachment_added"
    ATTACHMENT_REMOVED = "attachment_removed"



class ActorRef(FrozenModel):
    """Who made the change, as far as the payload tells (Jira Cloud: account id; DC: name/key; ADO: unique name)."""

    account_id: str | None = None
    name: str | None = None
    key: str | None = None
    display_name: str | None = None
    email: str | None = None
    unique_name: str | None = None

    @property
    def identifiable(self) -> bool:
        """True when something here can match a technical user (a display name alone cannot)."""
        return any(value for value in (self.account_id, self.name, self.key, self.email, self.unique_name))

    def matches(self, who: str) -> bool:
        """True when ``who`` is this actor's account id, name, key, email or unique name (case-insensitive)."""
        wanted = who.strip().casefold()
        if not wanted:
            return False
        ids = (self.account_id, self.name, self.key, self.email, self.unique_name)
        return any(value is not None and value.strip().casefold() == wanted for value in ids)


class FieldChangeItem(FrozenModel):
    """One changed field: a Jira changelog item (``from``/``to`` ids and display strings) or ADO old/new values."""

    field: str
    field_id: str | None = None
    old: Any = None
    new: Any = None
    old_text: str | None = None
    new_text: str | None = None
    truncated: bool = Field(
        default=False, description="a value was cut to MAX_VALUE_CHARS; the worker re-reads the item"
    )


class ChangeEvent(FrozenModel):
    """A change to one tracker item. ``item_id`` is the stable id (Jira issue id, ADO work item id)."""

    tracker: TrackerKind
    instance: str = Field(min_length=1, description="base URL of the tracker instance (Jira site, ADO collection)")
    item_id: str = Field(min_length=1)
    item_key: str | None = Field(
        default=None, description="PROJ-12 for Jira (absent in some DC comment events), the id for ADO"
    )
    project: str | None = None
    kind: ChangeKind
    actor: ActorRef | None = None
    changes: list[FieldChangeItem] = Field(default_factory=list)
    comment_id: str | None = None
    attachment_id: str | None = None
    occurred_at: dt.datetime
    delivery_id: str = Field(min_length=1, max_length=512)
    source_event: str = Field(description="the tracker's own event name, e.g. jira:issue_updated/issue_commented")


class WebhookReceiptResponse(BaseModel):
    """What the webhook endpoint answers with its 202 (never anything from the payload beyond ids)."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["queued", "duplicate", "ignored"]
    reason: str | None = None
    delivery_id: str | None = None
    kind: ChangeKind | None = None
    item: str | None = None
    actor: Literal["unknown"] | None = Field(
        default=None, description="'unknown': the delivery names nobody the technical-user guard could match"
    )


def clip(value: Any) -> tuple[Any, bool]:
    """``value`` with strings longer than MAX_VALUE_CHARS cut (queue messages stay small); True when cut."""
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[:MAX_VALUE_CHARS], True
    if isinstance(value, (dict, list)):
        import json

        if len(json.dumps(value, default=str)) > MAX_VALUE_CHARS:
            return None, True
    return value, False
