"""The TrackerClient Protocol: one interface for every tracker (the normalized types are in models/tracker.py).

This module imports no HTTP library: clients live in ``jira.py`` and ``azure_devops.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import IO, Protocol

from twinbridge.models.tracker import (
    ItemFields,
    ItemRef,
    NativeText,
    PermissionReport,
    TextFormat,
    TrackerAttachment,
    TrackerComment,
    TrackerItem,
    TrackerKind,
    UserRef,
)


class ByteSink(Protocol):
    """Where downloaded bytes go: anything with ``write`` (a file, a hashing writer)."""

    def write(self, data: bytes, /) -> int: ...


class TrackerClient(Protocol):
    """What the sync engine and test connection need from a tracker. Every call has a timeout and bounded retries."""

    @property
    def kind(self) -> TrackerKind: ...

    @property
    def text_format(self) -> TextFormat: ...

    def __hash__(self) -> int: ...  # clients are cache keys (issue types are cached per client)

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

    def download_attachment(self, attachment: TrackerAttachment, sink: ByteSink) -> int: ...

    def upload_attachment(self, key: str, filename: str, source: IO[bytes],
                          size: int | None = None) -> TrackerAttachment: ...

    def delete_attachment(self, key: str, attachment_id: str) -> None: ...

    def issue_types(self, project: str) -> list[str]: ...

    def default_issue_type(self, project: str) -> str | None: ...

    def find_user(self, *, email: str | None = None, account_id: str | None = None) -> UserRef | None: ...
