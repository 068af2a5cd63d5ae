"""One interface for every tracker: normalized items, comments, attachments, users and the TrackerClient Protocol.

Rich text stays in the tracker's own format here (``NativeText``: ADF for Jira Cloud, wiki markup for Jira
Data Center, HTML for Azure DevOps); ``twinbridge.richtext`` converts between formats through its canonical form.
This module imports no HTTP library: clients live in ``jira.py`` and ``azure_devops.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from twinbridge.errors import TwinbridgeError

TrackerKind = Literal["jira-cloud", "jira-dc", "azure-devops"]
TextFormat = Literal["adf", "wiki", "html"]
Permission = Literal["browse", "create", "edit", "comment", "attach"]
PERMISSIONS: tuple[Permission, ...] = ("browse", "create", "edit", "comment", "attach")

TEXT_FORMAT_BY_KIND: dict[str, TextFormat] = {"jira-cloud": "adf", "jira-dc": "wiki", "azure-devops": "html"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NativeText(_Model):
    """Rich text as the tracker stores it: an ADF document (dict), a wiki-markup string or an HTML string."""

    format: TextFormat
    content: Any

    @property
    def is_empty(self) -> bool:
        return self.content in (None, "", {}) or (isinstance(self.content, dict) and not self.content.get("content"))


class UserRef(_Model):
    """A tracker account as far as the tracker tells us (email is often hidden by privacy settings)."""

    account_id: str
    display_name: str = ""
    email: str | None = None


class TrackerAttachment(_Model):
    id: str
    filename: str
    size: int | None = None
    mime_type: str | None = None
    created: datetime | None = None
    author: UserRef | None = None
    content_url: str = Field(description="where the bytes are downloaded from (authenticated)")


class TrackerComment(_Model):
    id: str
    author: UserRef | None = None
    body: NativeText
    created: datetime | None = None
    updated: datetime | None = None


class TrackerItem(_Model):
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


class ItemRef(_Model):
    """What a changed-since search yields: enough to fetch the item and move the watermark."""

    id: str
    key: str
    updated: datetime


class ItemFields(_Model):
    """Fields to set on create/update; ``None`` leaves a field unchanged (on create: unset)."""

    type: str | None = None
    summary: str | None = None
    description: NativeText | None = None
    labels: list[str] | None = None
    priority: str | None = None
    assignee_account_id: str | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)


class PermissionReport(_Model):
    """The internal half of "test connection": each check separately, with what to fix."""

    reachable: bool
    authenticated: bool
    user: UserRef | None = None
    permissions: dict[str, bool] = Field(default_factory=dict)
    problems: dict[str, str] = Field(default_factory=dict, description="check name -> what to fix")


# --------------------------------------------------------------------------------------------------- errors


class TrackerError(TwinbridgeError):
    """A tracker call failed; names the tracker, the operation and the HTTP status (None: no answer)."""

    code = "tracker_error"

    def __init__(self, tracker: str, operation: str, status: int | None, detail: str) -> None:
        where = f"{tracker} {operation}"
        super().__init__(f"{where} failed ({status if status is not None else 'no response'}): {detail}")
        self.tracker = tracker
        self.operation = operation
        self.status = status
        self.detail = detail


class TrackerAuthError(TrackerError):
    """401: the credentials are wrong or expired."""

    code = "tracker_unauthorized"


class TrackerPermissionError(TrackerError):
    """403: the technical user lacks a permission."""

    code = "tracker_forbidden"


class TrackerNotFoundError(TrackerError):
    code = "tracker_not_found"


class TrackerRejectedError(TrackerError):
    """400/409/412/422: the tracker refused the content (a field, a transition, a stale revision)."""

    code = "tracker_rejected"


class TrackerThrottledError(TrackerError):
    """429 after the retry budget; ``retry_after`` is the tracker's last hint in seconds."""

    code = "tracker_throttled"

    def __init__(self, tracker: str, operation: str, status: int | None, detail: str, retry_after: float | None) -> None:
        super().__init__(tracker, operation, status, detail)
        self.retry_after = retry_after


class TrackerUnavailableError(TrackerError):
    """5xx, timeouts or connection failures after the retry budget."""

    code = "tracker_unavailable"


# --------------------------------------------------------------------------------------------------- protocol


class TrackerClient(Protocol):
    """What the sync engine and test connection need from a tracker. Every call has a timeout and bounded retries."""

    kind: TrackerKind
    text_format: TextFormat

    def whoami(self) -> UserRef: ...

    def check_access(self, project: str) -> PermissionReport: ...

    def get_item(self, key: str) -> TrackerItem: ...

    def search_changed_since(self, project: str | None, since: datetime) -> Iterator[ItemRef]: ...

    def create_item(self, project: str, fields: ItemFields) -> TrackerItem: ...

    def update_item(self, key: str, fields: ItemFields) -> None: ...

    def change_status(self, key: str, status: str) -> None: ...

    def list_comments(self, key: str) -> list[TrackerComment]: ...

    def add_comment(self, key: str, body: NativeText) -> TrackerComment: ...

    def update_comment(self, key: str, comment_id: str, body: NativeText) -> TrackerComment: ...

    def delete_comment(self, key: str, comment_id: str) -> None: ...

    def list_attachments(self, key: str) -> list[TrackerAttachment]: ...

    def download_attachment(self, attachment: TrackerAttachment, sink: BinaryIO) -> int: ...

    def upload_attachment(self, key: str, filename: str, source: BinaryIO, size: int | None = None) -> TrackerAttachment: ...

    def delete_attachment(self, key: str, attachment_id: str) -> None: ...

    def issue_types(self, project: str) -> list[str]: ...

    def default_issue_type(self, project: str) -> str | None: ...

    def find_user(self, *, email: str | None = None, account_id: str | None = None) -> UserRef | None: ...
