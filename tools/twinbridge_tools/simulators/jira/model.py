"""The Jira simulator's data: users, projects, issues, comments, attachments, field tables and shared helpers."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from twinbridge_tools.simulators.server import SimRequest, SimResponse

Flavour = Literal["cloud", "dc"]
_GATEWAY = re.compile(r"/ex/jira/(?P<cloud_id>[^/]+)(?P<path>/.*)")
_LATEST = re.compile(r"^/rest/api/latest/")
_BROWSE = re.compile(r"/browse/(?P<key>[A-Z][A-Z0-9_]*-[0-9]+)")
ALL_PERMISSIONS = frozenset({"BROWSE_PROJECTS", "CREATE_ISSUES", "EDIT_ISSUES", "ADD_COMMENTS", "CREATE_ATTACHMENTS",
                             "DELETE_ISSUES"})
_DESCRIPTIONS = {
    "BROWSE_PROJECTS": ("Browse Projects", "10"), "CREATE_ISSUES": ("Create Issues", "11"),
    "EDIT_ISSUES": ("Edit Issues", "12"), "ADD_COMMENTS": ("Add Comments", "15"),
    "CREATE_ATTACHMENTS": ("Create Attachments", "19"), "DELETE_ISSUES": ("Delete Issues", "16"),
}
_SYSTEM_FIELDS = [  # (id, name, schema type, orderable, JQL clause names)
    ("summary", "Summary", "string", True, ["summary"]),
    ("description", "Description", "string", True, ["description"]),
    ("issuetype", "Issue Type", "issuetype", True, ["issuetype", "type"]),
    ("project", "Project", "project", False, ["project"]), ("status", "Status", "status", False, ["status"]),
    ("priority", "Priority", "priority", True, ["priority"]), ("labels", "Labels", "array", True, ["labels"]),
    ("assignee", "Assignee", "user", True, ["assignee"]), ("reporter", "Reporter", "user", True, ["reporter"]),
    ("created", "Created", "datetime", False, ["created", "createdDate"]),
    ("updated", "Updated", "datetime", False, ["updated", "updatedDate"]),
    ("attachment", "Attachment", "array", True, ["attachments"]), ("comment", "Comment", "comments-page", True,
                                                                  ["comment"]),
]
_FIELD_NAMES = {fid: name for fid, name, _, _, _ in _SYSTEM_FIELDS}
_FIELD_TYPES = {fid: kind for fid, _, kind, _, _ in _SYSTEM_FIELDS}
_STATUS_CATEGORY = {"To Do": (2, "new", "blue-gray"), "In Progress": (4, "indeterminate", "yellow"),
                    "Done": (3, "done", "green")}


@dataclass
class SimUser:
    account_id: str  # Cloud accountId; on DC the user name
    display_name: str
    email: str
    secret: str  # the API token / password / PAT / OAuth token this user authenticates with
    permissions: set[str] = field(default_factory=lambda: set(ALL_PERMISSIONS))
    admin: bool = False
    time_zone: str = "UTC"
    email_visible: bool = True  # Cloud: a profile whose e-mail is hidden by the user's privacy settings


@dataclass
class SimProject:
    id: str
    key: str
    name: str
    issue_types: list[tuple[str, str, bool]]  # (id, name, subtask)
    default_type_id: str
    statuses: list[tuple[str, str]]  # (id, name); the first is where issues start
    transitions: list[tuple[str, str, str]]  # (id, name, target status name): global transitions
    # target status -> (field id, its name): a validator refusing the transition while the issue's field is empty
    required: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class SimComment:
    id: str
    author: SimUser
    body: Any
    created: datetime
    updated: datetime
    update_author: SimUser | None = None
    visibility: dict[str, str] | None = None  # restricted to a role or group (Jira's comment ``visibility``)


@dataclass
class SimAttachment:
    id: str
    issue_key: str
    filename: str
    mime_type: str
    data: bytes
    author: SimUser
    created: datetime


@dataclass
class SimIssue:
    id: str
    key: str
    project: SimProject
    type_id: str
    summary: str
    description: Any
    status: str
    reporter: SimUser
    created: datetime
    updated: datetime
    priority: str = "Medium"
    labels: list[str] = field(default_factory=list)
    assignee: SimUser | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    comments: list[SimComment] = field(default_factory=list)
    attachments: list[SimAttachment] = field(default_factory=list)
    changelog: list[dict[str, Any]] = field(default_factory=list)  # {"id", "author", "created", "items"}


class _Reply(Exception):
    """Raised by handlers to answer with a Jira error body."""

    def __init__(self, status: int, *messages: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.response = SimResponse.json(status, {"errorMessages": list(messages), "errors": errors or {}})


# ----------------------------------------------------------------------------------------------- helpers


_EXPANSIONS = {"renderedFields", "names", "schema", "changelog", "transitions"}
_UNSERVED_EXPANSIONS = {"operations", "editmeta", "versionedRepresentations"}


def _expansions(expand: str | None) -> list[str]:
    """The ``expand`` options asked for. Jira ignores names it does not know; the ones it documents but this
    simulator does not build are refused (400) rather than silently left out."""
    options = [o.strip() for o in (expand or "").split(",") if o.strip()]
    unserved = [o for o in options if o in _UNSERVED_EXPANSIONS]
    if unserved:
        raise _Reply(400, f"The simulator does not implement expand={unserved[0]}.")
    return [o for o in options if o in _EXPANSIONS]


def _sort_key(issue: SimIssue, name: str) -> Any:
    if name in ("key", "id"):
        return int(issue.id)
    if name in ("updated", "created"):
        return (getattr(issue, name), int(issue.id))
    return (str(getattr(issue, name, "")).casefold(), int(issue.id))


def _time(value: datetime) -> str:
    """Jira's timestamp format: ``2019-06-30T22:13:46.091+0000``."""
    utc = value.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}+0000"


def _item(name: str, old: Any, new: Any, fieldtype: str = "jira", field_id: str | None = None, *,
          to: str | None = None) -> dict[str, Any]:
    return {"field": name, "fieldtype": fieldtype, "fieldId": field_id or name, "from": None,
            "fromString": None if old is None else str(old), "to": to, "toString": None if new is None else str(new)}


def _plain(value: Any) -> Any:
    """Webhooks carry REST v2 strings even on Cloud: an ADF document becomes its plain text (a simplification)."""
    if not isinstance(value, dict):
        return value
    return "\n".join(_texts(value)) if value.get("type") == "doc" else json.dumps(value)


def _texts(node: dict[str, Any]) -> Iterator[str]:
    if node.get("type") in ("paragraph", "heading"):
        yield "".join(c.get("text", "") for c in node.get("content") or [])
        return
    for child in node.get("content") or []:
        yield from _texts(child)


def _multipart_files(request: SimRequest) -> list[tuple[str, str, bytes]]:
    """The ``file`` parts of a multipart/form-data body as (filename, content type, bytes)."""
    content_type = request.headers.get("Content-Type", "")
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.startswith("multipart/form-data") or match is None:
        return []
    delimiter = b"--" + match[1].encode()
    files = []
    for part in request.body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.partition(b"\r\n\r\n")
        headers = head.decode("utf-8", "replace")
        if 'name="file"' not in headers:
            continue
        filename = re.search(r'filename="([^"]*)"', headers)
        mime = re.search(r"Content-Type:\s*(\S+)", headers, re.I)
        files.append((filename[1] if filename else "file", mime[1] if mime else "application/octet-stream",
                      data[:-2] if data.endswith(b"\r\n") else data))
    return files
