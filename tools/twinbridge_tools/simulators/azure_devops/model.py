"""The simulated Azure DevOps state and its wire shapes: process, users, work items, comments, errors, dates."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from typing import Any

PERMISSIONS = ("browse", "create", "edit", "comment", "attach")
CHUNK = 64 * 1024
WIQL_LIMIT = 20000
BATCH_LIMIT = 200
FAR_FUTURE = "9999-01-01T00:00:00Z"
JSON_CONTENT = "application/json; charset=utf-8; api-version=7.1"

_FOUR_STATES = [
    ("New", "Proposed", "b2b2b2"),
    ("Active", "InProgress", "007acc"),
    ("Resolved", "Resolved", "ff9d00"),
    ("Closed", "Completed", "339933"),
]
_REMOVED = ("Removed", "Removed", "ffffff")
# Agile process: type -> (reference name, color, icon, [(state, category, color)])
PROCESS: dict[str, tuple[str, str, str, list[tuple[str, str, str]]]] = {
    "Bug": ("Microsoft.VSTS.WorkItemTypes.Bug", "CC293D", "icon_insect", _FOUR_STATES),
    "Epic": ("Microsoft.VSTS.WorkItemTypes.Epic", "FF7B00", "icon_crown", [*_FOUR_STATES, _REMOVED]),
    "Feature": ("Microsoft.VSTS.WorkItemTypes.Feature", "773B93", "icon_trophy", [*_FOUR_STATES, _REMOVED]),
    "Task": (
        "Microsoft.VSTS.WorkItemTypes.Task",
        "F2CB1D",
        "icon_clipboard",
        [_FOUR_STATES[0], _FOUR_STATES[1], _FOUR_STATES[3], _REMOVED],
    ),
    "Test Case": (
        "Microsoft.VSTS.WorkItemTypes.TestCase",
        "004B50",
        "icon_test_case",
        [("Design", "Proposed", "b2b2b2"), ("Ready", "InProgress", "007acc"), ("Closed", "Completed", "339933")],
    ),
    "User Story": ("Microsoft.VSTS.WorkItemTypes.UserStory", "009CCC", "icon_book", [*_FOUR_STATES, _REMOVED]),
}
CATEGORIES = [  # (name, reference name, default type, member types)
    ("Bug Category", "Microsoft.BugCategory", "Bug", ["Bug"]),
    ("Epic Category", "Microsoft.EpicCategory", "Epic", ["Epic"]),
    ("Feature Category", "Microsoft.FeatureCategory", "Feature", ["Feature"]),
    ("Requirement Category", "Microsoft.RequirementCategory", "User Story", ["User Story"]),
    ("Task Category", "Microsoft.TaskCategory", "Task", ["Task"]),
    ("Test Case Category", "Microsoft.TestCaseCategory", "Test Case", ["Test Case"]),
]
READ_ONLY_FIELDS = frozenset(
    {
        "System.Id",
        "System.Rev",
        "System.CreatedDate",
        "System.CreatedBy",
        "System.ChangedDate",
        "System.ChangedBy",
        "System.TeamProject",
        "System.CommentCount",
        "System.AuthorizedDate",
        "System.RevisedDate",
        "System.Watermark",
    }
)
WIT_ERRORS = "Microsoft.TeamFoundation.WorkItemTracking.Server"
WEB_API = "Microsoft.VisualStudio.Services.WebApi"


class AdoError(Exception):
    """An error the simulator answers with, in Azure DevOps' wire shape."""

    def __init__(
        self,
        status: int,
        message: str,
        type_key: str,
        type_name: str | None = None,
        event_id: int = 3200,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.type_key, self.event_id = status, message, type_key, event_id
        self.type_name = type_name or f"{WIT_ERRORS}.{type_key}, {WIT_ERRORS}"
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {
            "$id": "1",
            "innerException": None,
            "message": self.message,
            "typeName": self.type_name,
            "typeKey": self.type_key,
            "errorCode": 0,
            "eventId": self.event_id,
        }


class SignInPage(Exception):
    """No credentials and no ``X-TFS-FedAuthRedirect: Suppress``: ADO answers 203 with an HTML sign-in page."""


def not_found(item_id: Any) -> AdoError:
    return AdoError(
        404,
        f"TF401232: Work item {item_id} does not exist, or you do not have permissions to read it.",
        "WorkItemUnauthorizedAccessException",
    )


def rule_error(field_name: str, detail: str) -> AdoError:
    short = field_name.rsplit(".", 1)[-1]
    return AdoError(400, f"TF401320: Rule Error for field {short}. Error code: {detail}.", "RuleValidationException")


def bad_patch(message: str) -> AdoError:
    type_name = f"{WEB_API}.Patch.JsonPatchOperationException, {WEB_API}"
    return AdoError(400, f"VS403068: {message}", "JsonPatchOperationException", type_name)


def no_route(path: str) -> AdoError:
    return AdoError(
        404,
        f"The controller for path '{path}' was not found or does not implement IController.",
        "HttpException",
        "System.Web.HttpException, System.Web",
        event_id=0,
    )


def to_millis(when: datetime) -> datetime:
    """The precision the REST API returns (milliseconds): what the simulator stores and compares, so a value read
    back from the API and written into a WIQL literal denotes exactly the stored instant."""
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


def ado_date(when: datetime) -> str:
    """ADO's timestamp format: UTC, milliseconds, trailing Z (trailing zeros trimmed like the service does)."""
    text = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3].rstrip("0").rstrip(".")
    return text + "Z"


def parse_date(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def merge_tags(current: Any, added: str) -> str:
    """ADO's tag merge: existing tags first, then the new ones not there yet (tag names compare case-insensitively)."""
    tags = [tag.strip() for tag in str(current or "").split(";") if tag.strip()]
    seen = {tag.lower() for tag in tags}
    for tag in (tag.strip() for tag in added.split(";")):
        if tag and tag.lower() not in seen:
            tags.append(tag)
            seen.add(tag.lower())
    return "; ".join(tags)


def initial_fields(project: str, type_name: str, author: SimUser, when: datetime) -> dict[str, Any]:
    return {
        "System.AreaPath": project,
        "System.TeamProject": project,
        "System.IterationPath": project,
        "System.WorkItemType": type_name,
        "System.State": PROCESS[type_name][3][0][0],
        "System.Reason": "New",
        "System.CreatedDate": when,
        "System.CreatedBy": author,
        "System.ChangedDate": when,
        "System.ChangedBy": author,
        "System.CommentCount": 0,
        "System.Title": "",
        "Microsoft.VSTS.Common.StateChangeDate": when,
        "Microsoft.VSTS.Common.Priority": 2,
    }


@dataclass
class SimUser:
    """A PAT holder; ``permissions`` is a subset of PERMISSIONS (see the module docstring of the client)."""

    display_name: str
    email: str
    pat: str = field(repr=False)
    permissions: set[str] = field(default_factory=lambda: set(PERMISSIONS))
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def descriptor(self) -> str:
        return "aad." + base64.urlsafe_b64encode(self.id.encode()).decode().rstrip("=")

    def identity_string(self) -> str:
        return f"{self.display_name} <{self.email}>"


@dataclass
class Comment:
    id: int
    work_item_id: int
    text: str
    created_by: SimUser
    created: datetime
    modified_by: SimUser
    modified: datetime
    version: int = 1
    deleted: bool = False


@dataclass
class Item:
    id: int
    fields: dict[str, Any]
    relations: list[dict[str, Any]] = field(default_factory=list)
    rev: int = 1
    deleted: bool = False
    revisions: list[tuple[int, dict[str, Any], list[dict[str, Any]]]] = field(default_factory=list)
    comments: dict[int, Comment] = field(default_factory=dict)

    @property
    def project(self) -> str:
        return str(self.fields["System.TeamProject"])

    @property
    def changed(self) -> datetime:
        value: datetime = self.fields["System.ChangedDate"]
        return value

    def snapshot(self) -> None:
        self.revisions.append((self.rev, copy.copy(self.fields), copy.deepcopy(self.relations)))


@dataclass
class AdoRequest:
    """A request as the routes see it: the query flattened (last value wins), lower-case header names, the
    authenticated user, the project segment (name or id, if any) and the path after ``_apis``."""

    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes
    user: SimUser = field(default_factory=lambda: SimUser("", "", ""))
    project: str | None = None
    rest: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        return str(self.headers.get(name, ""))

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise AdoError(
                400,
                "VS402479: The request body could not be parsed as JSON.",
                "VssRequestContentException",
                "Microsoft.VisualStudio.Services.Common.VssRequestContentException",
            ) from exc


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterator[bytes] | None = None
    length: int | None = None
    content_type: str = JSON_CONTENT
