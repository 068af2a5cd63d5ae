"""Tracker items as every tracker client returns them: items, comments, attachments, users, and what to write.

Rich text stays in the tracker's own format here (``NativeText``: ADF for Jira Cloud, wiki markup for Jira
Data Center, HTML for Azure DevOps); ``twinbridge.richtext`` converts between formats through its canonical form.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from twinbridge.models.base import TEXT_FORMAT_BY_KIND, StrictModel, TextFormat, TrackerKind

__all__ = [
    "PERMISSIONS", "TEXT_FORMAT_BY_KIND", "ItemFields", "ItemRef", "NativeText", "Permission", "PermissionReport",
    "TextFormat", "TrackerAttachment", "TrackerComment", "TrackerItem", "TrackerKind", "UserRef",
]

Permission = Literal["browse", "create", "edit", "comment", "attach"]
PERMISSIONS: tuple[Permission, ...] = ("browse", "create", "edit", "comment", "attach")


class NativeText(StrictModel):
    """Rich text as the tracker stores it: an ADF document (dict), a wiki-markup string or an HTML string."""

    format: TextFormat
    content: Any

    @property
    def is_empty(self) -> bool:
        return self.content in (None, "", {}) or (isinstance(self.content, dict) and not self.content.get("content"))


class UserRef(StrictModel):
    """A tracker account as far as the tracker tells us (email is often hidden by privacy settings)."""

    account_id: str
    display_name: str = ""
    email: str | None = None

    def is_account(self, who: str) -> bool:
        """True when ``who`` names this account by id or e-mail (case-insensitive; display names never count)."""
        wanted = who.strip().casefold()
        return bool(wanted) and any(value and value.strip().casefold() == wanted
                                    for value in (self.account_id, self.email))


class TrackerAttachment(StrictModel):
    id: str
    filename: str
    size: int | None = None
    mime_type: str | None = None
    created: datetime | None = None
    author: UserRef | None = None
    content_url: str = Field(description="where the bytes are downloaded from (authenticated)")


class TrackerComment(StrictModel):
    id: str
    author: UserRef | None = None
    body: NativeText
    created: datetime | None = None
    updated: datetime | None = None
    internal: bool = Field(default=False, description="restricted to a role or group, or not public to customers")


class TrackerItem(StrictModel):
    """One issue / work item, normalized. ``id`` is the stable id, ``key`` what people type (PROJ-12, or the ADO id)."""

    id: str
    key: str
    url: str = Field(description="the item's page for people")
    project: str
    type: str
    summary: str
    description: NativeText | None = None
    status: str | None = None
    priority: str | None = None
    labels: list[str] = Field(default_factory=list)
    reporter: UserRef | None = None
    assignee: UserRef | None = None
    created: datetime | None = None
    updated: datetime
    revision: str | None = Field(default=None, description="ADO rev / Jira has none; for optimistic updates")
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    attachments: list[TrackerAttachment] = Field(default_factory=list)
    comments: list[TrackerComment] | None = Field(
        default=None, description="all comments when the item read returned them whole (Jira); None: list them")


class ItemRef(StrictModel):
    """What a changed-since search yields: enough to fetch the item and move the watermark."""

    id: str
    key: str
    updated: datetime


class ItemFields(StrictModel):
    """Fields to set on create/update; ``None`` leaves a field unchanged (on create: unset)."""

    type: str | None = None
    summary: str | None = None
    description: NativeText | None = None
    labels: list[str] | None = None
    priority: str | None = None
    assignee_account_id: str | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)


class PermissionReport(StrictModel):
    """The internal half of "test connection": each check separately, with what to fix."""

    reachable: bool
    authenticated: bool
    user: UserRef | None = None
    permissions: dict[str, bool] = Field(default_factory=dict)
    problems: dict[str, str] = Field(default_factory=dict, description="check name -> what to fix")
