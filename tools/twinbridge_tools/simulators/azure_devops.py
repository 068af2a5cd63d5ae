"""A loopback Azure DevOps work item tracking simulator (REST 7.1 subset, service hooks, permissions, faults)."""

from __future__ import annotations

import base64
import copy
import functools
import json
import queue
import re
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

PERMISSIONS = ("browse", "create", "edit", "comment", "attach")
CHUNK = 64 * 1024
WIQL_LIMIT = 20000
BATCH_LIMIT = 200
FAR_FUTURE = "9999-01-01T00:00:00Z"

# Agile process: type -> (reference name, color, icon, [(state, category, color)])
PROCESS: dict[str, tuple[str, str, str, list[tuple[str, str, str]]]] = {
    "Bug": (
        "Microsoft.VSTS.WorkItemTypes.Bug",
        "CC293D",
        "icon_insect",
        [
            ("New", "Proposed", "b2b2b2"),
            ("Active", "InProgress", "007acc"),
            ("Resolved", "Resolved", "ff9d00"),
            ("Closed", "Completed", "339933"),
        ],
    ),
    "Epic": (
        "Microsoft.VSTS.WorkItemTypes.Epic",
        "FF7B00",
        "icon_crown",
        [
            ("New", "Proposed", "b2b2b2"),
            ("Active", "InProgress", "007acc"),
            ("Resolved", "Resolved", "ff9d00"),
            ("Closed", "Completed", "339933"),
            ("Removed", "Removed", "ffffff"),
        ],
    ),
    "Feature": (
        "Microsoft.VSTS.WorkItemTypes.Feature",
        "773B93",
        "icon_trophy",
        [
            ("New", "Proposed", "b2b2b2"),
            ("Active", "InProgress", "007acc"),
            ("Resolved", "Resolved", "ff9d00"),
            ("Closed", "Completed", "339933"),
            ("Removed", "Removed", "ffffff"),
        ],
    ),
    "Task": (
        "Microsoft.VSTS.WorkItemTypes.Task",
        "F2CB1D",
        "icon_clipboard",
        [
            ("New", "Proposed", "b2b2b2"),
            ("Active", "InProgress", "007acc"),
            ("Closed", "Completed", "339933"),
            ("Removed", "Removed", "ffffff"),
        ],
    ),
    "Test Case": (
        "Microsoft.VSTS.WorkItemTypes.TestCase",
        "004B50",
        "icon_test_case",
        [("Design", "Proposed", "b2b2b2"), ("Ready", "InProgress", "007acc"), ("Closed", "Completed", "339933")],
    ),
    "User Story": (
        "Microsoft.VSTS.WorkItemTypes.UserStory",
        "009CCC",
        "icon_book",
        [
            ("New", "Proposed", "b2b2b2"),
            ("Active", "InProgress", "007acc"),
            ("Resolved", "Resolved", "ff9d00"),
            ("Closed", "Completed", "339933"),
            ("Removed", "Removed", "ffffff"),
        ],
    ),
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


def _not_found(item_id: Any) -> AdoError:
    return AdoError(
        404,
        f"TF401232: Work item {item_id} does not exist, or you do not have permissions to read it.",
        "WorkItemUnauthorizedAccessException",
    )


def _rule_error(field_name: str, detail: str) -> AdoError:
    short = field_name.rsplit(".", 1)[-1]
    return AdoError(400, f"TF401320: Rule Error for field {short}. Error code: {detail}.", "RuleValidationException")


def ado_date(when: datetime) -> str:
    """ADO's timestamp format: UTC, milliseconds, trailing Z (trailing zeros trimmed like the service does)."""
    text = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3].rstrip("0").rstrip(".")
    return text + "Z"


def parse_date(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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
class Fault:
    """One injected fault: answers ``count`` matching requests with ``status`` (or holds them when ``hold``)."""

    status: int
    count: int = 1
    method: str | None = None
    path: str | None = None
    retry_after: float | None = None
    hold: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or self.path in path)


@dataclass
class _Comment:
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
class _Item:
    id: int
    fields: dict[str, Any]
    relations: list[dict[str, Any]] = field(default_factory=list)
    rev: int = 1
    deleted: bool = False
    revisions: list[tuple[int, dict[str, Any], list[dict[str, Any]]]] = field(default_factory=list)
    comments: dict[int, _Comment] = field(default_factory=dict)

    @property
    def project(self) -> str:
        return self.fields["System.TeamProject"]

    @property
    def changed(self) -> datetime:
        return self.fields["System.ChangedDate"]

    def snapshot(self) -> None:
        self.revisions.append((self.rev, copy.copy(self.fields), copy.deepcopy(self.relations)))


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    user: SimUser | None = None
    project: str | None = None
    rest: list[str] = field(default_factory=list)

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
class _Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterator[bytes] | None = None
    content_type: str = "application/json; charset=utf-8; api-version=7.1"


class AzureDevOpsSimulator:
    """Serves ``{url}/{project}/_apis/wit/...`` like dev.azure.com/{org} (or ``/tfs/{collection}`` for Server).

    State lives in memory; every mutation made over HTTP bumps ``rev``, keeps a revision (for ``asOf``) and emits the
    matching service-hook event. Tests reach into state only through the public helpers below.
    """

    def __init__(
        self,
        *,
        organization: str = "fabrikam",
        project: str = "Fabrikam",
        base_path: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.organization = organization
        self.base_path = (base_path or f"/{organization}").rstrip("/")
        self.projects: dict[str, str] = {}
        self.add_project(project)
        self.project = project
        self.clock = clock or (lambda: datetime.now(UTC))
        self.users: list[SimUser] = []
        self.items: dict[int, _Item] = {}
        self.attachments: dict[str, tuple[str, bytes, datetime]] = {}
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.errors: list[BaseException] = []
        self.comments_page_size = 200
        self.wiql_limit = WIQL_LIMIT
        self.collection_id = str(uuid.uuid4())
        self.account_id = str(uuid.uuid4())
        self.hooks = _ServiceHooks(self)
        self._lock = threading.RLock()
        self._release = threading.Event()
        self._next_id = 1
        self._next_comment = 1
        self._next_relation = 1000
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------------------------------- lifecycle

    def start(self) -> AzureDevOpsSimulator:
        handler = type("Handler", (_Handler,), {"sim": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="ado-simulator", daemon=True
        )
        self._thread.start()
        self.hooks.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.hooks.stop()

    def __enter__(self) -> AzureDevOpsSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        assert self._server is not None, "start() the simulator first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """The organization (Services) or collection (Server) URL: what the client takes as ``base_url``."""
        return self.origin + self.base_path

    # ------------------------------------------------------------------------------------------- setup helpers

    def add_project(self, name: str) -> str:
        self.projects[name] = self.projects.get(name) or str(uuid.uuid4())
        return self.projects[name]

    def add_user(self, display_name: str, email: str, pat: str, permissions: set[str] | None = None) -> SimUser:
        user = SimUser(display_name, email, pat, set(PERMISSIONS) if permissions is None else set(permissions))
        self.users.append(user)
        return user

    def seed_items(
        self,
        count: int,
        *,
        changed: datetime,
        type_name: str = "Task",
        project: str | None = None,
        author: SimUser | None = None,
        step: timedelta = timedelta(0),
    ) -> list[int]:
        """Create items directly (no events), ``ChangedDate`` = changed + i*step; returns their ids."""
        author = author or self.users[0]
        ids = []
        with self._lock:
            for index in range(count):
                when = changed + step * index
                item = self._new_item(project or self.project, type_name, author, when)
                item.fields["System.Title"] = f"Seeded {type_name} {index + 1}"
                item.snapshot()
                ids.append(item.id)
        return ids

    def item_fields(self, item_id: int) -> dict[str, Any]:
        with self._lock:
            return dict(self.items[item_id].fields)

    def attachment_bytes(self, attachment_id: str) -> bytes:
        return self.attachments[attachment_id][1]

    # ------------------------------------------------------------------------------------------- faults

    def throttle(
        self, count: int = 1, *, retry_after: float = 3, method: str | None = None, path: str | None = None
    ) -> None:
        """429 with Retry-After, X-RateLimit-* and a TF400733 message, like ADO's global rate limiter."""
        self.faults.append(Fault(429, count, method, path, retry_after))

    def fail(
        self,
        status: int = 500,
        count: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """A burst of ``count`` 5xx answers (503 may carry Retry-After)."""
        self.faults.append(Fault(status, count, method, path, retry_after))

    def hold(self, count: int = 1, *, method: str | None = None, path: str | None = None) -> None:
        """Slow answers: matching requests wait until ``release()`` (or stop), so the client's read timeout fires."""
        self._release.clear()
        self.faults.append(Fault(200, count, method, path, hold=True))

    def release(self) -> None:
        self._release.set()

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.count > 0 and fault.matches(method, path):
                    fault.count -= 1
                    return fault
        return None

    # ------------------------------------------------------------------------------------------- dispatch

    def handle(self, request: _Request) -> _Reply:
        self.requests.append((request.method, request.path, dict(request.query)))
        request.user = self._authenticate(request)
        fault = self._take_fault(request.method, request.path)
        if fault is not None and fault.hold:
            self._release.wait(timeout=30)
        elif fault is not None:
            return self._fault_reply(fault)
        route = self._route(request)
        with self._lock:
            return route(request)

    def _authenticate(self, request: _Request) -> SimUser:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                _, _, token = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                token = ""
            for user in self.users:
                if token and user.pat == token:
                    return user
        elif not header and request.headers.get("x-tfs-fedauthredirect", "").lower() != "suppress":
            raise _SignInPage()
        raise AdoError(
            401,
            "TF400813: The user '' is not authorized to access this resource.",
            "UnauthorizedRequestException",
            "Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException, "
            "Microsoft.TeamFoundation.Framework.Server",
            event_id=3000,
            headers={"WWW-Authenticate": 'Basic realm="https://simulator.dev.azure.com/"'},
        )

    def _fault_reply(self, fault: Fault) -> _Reply:
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            headers["Retry-After"] = str(
                int(fault.retry_after) if float(fault.retry_after).is_integer() else fault.retry_after
            )
        if fault.status == 429:
            reset = int(self.clock().timestamp() + (fault.retry_after or 0))
            headers.update(
                {
                    "X-RateLimit-Resource": "Core",
                    "X-RateLimit-Delay": "0",
                    "X-RateLimit-Limit": "200",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(reset),
                }
            )
            error = AdoError(
                429,
                "TF400733: The request has been canceled: Request was blocked due to exceeding usage "
                "of resource 'Core' in namespace 'User'. For more information on why your request "
                'was blocked, see the topic "Rate limits" on the Microsoft Web site '
                "(https://go.microsoft.com/fwlink/?LinkId=823950).",
                "RequestBlockedException",
                "Microsoft.TeamFoundation.Framework.Server.RequestBlockedException, "
                "Microsoft.TeamFoundation.Framework.Server",
                event_id=3000,
            )
        else:
            error = AdoError(
                fault.status,
                f"TF400898: An Internal Error Occurred. Activity Id: {uuid.uuid4()}.",
                "InternalErrorException",
                "Microsoft.TeamFoundation.Framework.Server.InternalErrorException, "
                "Microsoft.TeamFoundation.Framework.Server",
                event_id=0,
            )
        return _Reply(fault.status, error.body(), headers)

    def _route(self, request: _Request) -> Callable[[_Request], _Reply]:
        rest = [part.lower() for part in request.rest]
        m = request.method
        routes: list[tuple[str, list[str], Callable[[_Request], _Reply]]] = [
            ("GET", ["connectiondata"], self._connection_data),
            ("POST", ["wit", "wiql"], self._wiql),
            ("POST", ["wit", "workitemsbatch"], self._batch),
            ("GET", ["wit", "workitems"], self._list_items),
            ("POST", ["wit", "workitems", "$*"], self._create),
            ("GET", ["wit", "workitems", "#"], self._get_item),
            ("PATCH", ["wit", "workitems", "#"], self._update),
            ("DELETE", ["wit", "workitems", "#"], self._delete_item),
            ("PATCH", ["wit", "recyclebin", "#"], self._restore_item),
            ("GET", ["wit", "workitems", "#", "comments"], self._list_comments),
            ("POST", ["wit", "workitems", "#", "comments"], self._add_comment),
            ("GET", ["wit", "workitems", "#", "comments", "#"], self._get_comment),
            ("PATCH", ["wit", "workitems", "#", "comments", "#"], self._update_comment),
            ("DELETE", ["wit", "workitems", "#", "comments", "#"], self._delete_comment),
            ("POST", ["wit", "attachments"], self._upload),
            ("GET", ["wit", "attachments", "*"], self._download),
            ("GET", ["wit", "workitemtypes"], self._types),
            ("GET", ["wit", "workitemtypes", "*"], self._type),
            ("GET", ["wit", "workitemtypes", "*", "states"], self._states),
            ("GET", ["wit", "workitemtypecategories"], self._categories),
            ("GET", ["wit", "workitemtypecategories", "*"], self._category),
        ]
        for method, pattern, handler in routes:
            fits = len(pattern) == len(rest) and all(_segment_matches(p, s) for p, s in zip(pattern, rest, strict=True))
            if method == m and fits:
                if pattern != ["connectiondata"]:  # the location service answers without an api-version
                    self._check_version(request, preview="comments" in pattern[-2:])
                return handler
        raise AdoError(
            404,
            "The controller for path '" + request.path + "' was not found or does not implement IController.",
            "HttpException",
            "System.Web.HttpException, System.Web",
            event_id=0,
        )

    def _check_version(self, request: _Request, *, preview: bool) -> None:
        version = request.query.get("api-version")
        if not version:
            raise AdoError(
                400,
                "VS800075: No api-version was supplied for the request. An api-version is required.",
                "VssVersionNotSpecifiedException",
                "Microsoft.VisualStudio.Services.WebApi.VssVersionNotSpecifiedException, "
                "Microsoft.VisualStudio.Services.WebApi",
                event_id=3000,
            )
        if preview and "preview" not in version:
            raise AdoError(
                400,
                f'The requested version "{version}" of the resource is under preview. The -preview '
                'flag must be supplied in the api-version for such requests. For example: "7.1-preview"',
                "VssInvalidPreviewVersionException",
                "Microsoft.VisualStudio.Services.WebApi.VssInvalidPreviewVersionException, "
                "Microsoft.VisualStudio.Services.WebApi",
                event_id=3000,
            )

    # ------------------------------------------------------------------------------------------- access

    def _project_of(self, request: _Request, required: bool = True) -> str | None:
        """The route's project (name or id); a user without ``browse`` sees no project at all (like ADO)."""
        name = request.project
        if name is None:
            if required:
                raise AdoError(
                    404,
                    "VS800075: The project with id '' does not exist, or you do not have permission to access it.",
                    "ProjectDoesNotExistWithNameException",
                    "Microsoft.TeamFoundation.Core.WebApi.ProjectDoesNotExistWithNameException, "
                    "Microsoft.TeamFoundation.Core.WebApi",
                    event_id=3000,
                )
            return None
        resolved = next((p for p, pid in self.projects.items() if name.lower() in (p.lower(), pid)), None)
        if resolved is None or "browse" not in request.user.permissions:  # type: ignore[union-attr]
            raise AdoError(
                404,
                f"VS800075: The project with id 'vstfs:///Classification/TeamProject/{name}' does not "
                "exist, or you do not have permission to access it.",
                "ProjectDoesNotExistWithNameException",
                "Microsoft.TeamFoundation.Core.WebApi.ProjectDoesNotExistWithNameException, "
                "Microsoft.TeamFoundation.Core.WebApi",
                event_id=3000,
            )
        return resolved

    def _visible_item(self, request: _Request, raw_id: str) -> _Item:
        self._project_of(request, required=False)
        item = self.items.get(int(raw_id)) if raw_id.isdigit() else None
        if item is None or item.deleted or "browse" not in request.user.permissions:  # type: ignore[union-attr]
            raise _not_found(raw_id)
        if request.project and request.project.lower() not in (item.project.lower(), self.projects[item.project]):
            raise _not_found(raw_id)
        return item

    @staticmethod
    def _require(request: _Request, permission: str) -> None:
        if permission not in request.user.permissions:  # type: ignore[union-attr]
            messages = {
                "create": "TF237111: The current user does not have permissions to save work items under the "
                "specified area path.",
                "edit": "TF237111: The current user does not have permissions to save work items under the "
                "specified area path.",
                "comment": "TF237111: The current user does not have permissions to add comments to work items "
                "under the specified area path.",
                "attach": "TF237111: The current user does not have permissions to add attachments to work items "
                "under the specified area path.",
            }
            raise AdoError(403, messages.get(permission, "Access denied."), "WorkItemSecurityException")

    # ------------------------------------------------------------------------------------------- rendering

    def _api(self, project: str | None = None) -> str:
        return f"{self.url}/{quote(self.projects[project])}/_apis" if project else f"{self.url}/_apis"

    def identity_ref(self, user: SimUser) -> dict[str, Any]:
        return {
            "displayName": user.display_name,
            "url": f"{self.origin}/_apis/Identities/{user.id}",
            "_links": {"avatar": {"href": f"{self.url}/_apis/GraphProfile/MemberAvatars/{user.descriptor}"}},
            "id": user.id,
            "uniqueName": user.email,
            "imageUrl": f"{self.url}/_api/_common/identityImage?id={user.id}",
            "descriptor": user.descriptor,
        }

    def _render_value(self, name: str, value: Any, as_string: bool = False) -> Any:
        if isinstance(value, SimUser):
            return value.identity_string() if as_string else self.identity_ref(value)
        if isinstance(value, datetime):
            return ado_date(value)
        return value

    def _render_fields(
        self, fields: dict[str, Any], only: list[str] | None = None, as_string: bool = False, item_id: int | None = None
    ) -> dict[str, Any]:
        if only is not None:
            values = {"System.Id": item_id, **fields}
            return {name: self._render_value(name, values[name], as_string) for name in only if name in values}
        return {name: self._render_value(name, value, as_string) for name, value in fields.items()}

    def _links(self, item: _Item) -> dict[str, Any]:
        api = self._api()
        return {
            "self": {"href": f"{api}/wit/workItems/{item.id}"},
            "workItemUpdates": {"href": f"{api}/wit/workItems/{item.id}/updates"},
            "workItemRevisions": {"href": f"{api}/wit/workItems/{item.id}/revisions"},
            "workItemHistory": {"href": f"{api}/wit/workItems/{item.id}/history"},
            "workItemComments": {"href": f"{api}/wit/workItems/{item.id}/comments"},
            "html": {"href": self.html_url(item.id)},
            "workItemType": {
                "href": f"{self._api(item.project)}/wit/workItemTypes/{quote(item.fields['System.WorkItemType'])}"
            },
            "fields": {"href": f"{api}/wit/fields"},
        }

    def html_url(self, item_id: int) -> str:
        return f"{self.url}/web/wi.aspx?pcguid={self.collection_id}&id={item_id}"

    def render_item(
        self,
        item: _Item,
        *,
        expand: str = "none",
        fields: list[str] | None = None,
        links: bool = True,
        as_of: datetime | None = None,
    ) -> dict[str, Any]:
        rev, values, relations = item.rev, item.fields, item.relations
        if as_of is not None:
            for rev_number, snapshot_fields, snapshot_relations in item.revisions:
                if snapshot_fields["System.ChangedDate"] <= as_of:
                    rev, values, relations = rev_number, snapshot_fields, snapshot_relations
        body: dict[str, Any] = {
            "id": item.id,
            "rev": rev,
            "fields": self._render_fields(values, fields, item_id=item.id),
        }
        if expand in ("relations", "all") and relations:
            body["relations"] = copy.deepcopy(relations)
        if links or expand in ("links", "all"):
            body["_links"] = self._links(item)
        body["url"] = f"{self._api()}/wit/workItems/{item.id}"
        return body

    def render_comment(self, comment: _Comment, project: str) -> dict[str, Any]:
        return {
            "workItemId": comment.work_item_id,
            "id": comment.id,
            "version": comment.version,
            "text": comment.text,
            "createdBy": self.identity_ref(comment.created_by),
            "createdDate": ado_date(comment.created),
            "modifiedBy": self.identity_ref(comment.modified_by),
            "modifiedDate": ado_date(comment.modified),
            "isDeleted": comment.deleted,
            "format": "html",
            "url": f"{self._api(project)}/wit/workItems/{comment.work_item_id}/comments/{comment.id}",
        }

    # ------------------------------------------------------------------------------------------- identity

    def _connection_data(self, request: _Request) -> _Reply:
        user = request.user
        assert user is not None
        identity = {
            "id": user.id,
            "descriptor": f"Microsoft.IdentityModel.Claims.ClaimsIdentity;{user.email}",
            "subjectDescriptor": user.descriptor,
            "providerDisplayName": user.display_name,
            "isActive": True,
            "properties": {"Account": {"$type": "System.String", "$value": user.email}},
            "resourceVersion": 2,
            "metaTypeId": 0,
        }
        return _Reply(
            200,
            {
                "authenticatedUser": identity,
                "authorizedUser": identity,
                "instanceId": self.collection_id,
                "deploymentId": self.account_id,
                "deploymentType": "hosted",
                "locationServiceData": {
                    "serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7",
                    "defaultAccessMappingMoniker": "PublicAccessMapping",
                    "lastChangeId": 1,
                    "lastChangeId64": 1,
                },
            },
        )

    def resolve_identity(self, value: Any) -> SimUser | None:
        """ADO accepts a display name, a unique name, "Name <email>", an IdentityRef object or an id."""
        if value in (None, ""):
            return None
        if isinstance(value, dict):
            value = value.get("uniqueName") or value.get("id") or value.get("displayName")
        text = str(value).strip()
        match = re.fullmatch(r"(.*)<([^>]+)>", text)
        if match:
            text = match.group(2).strip()
        for user in self.users:
            if text.lower() in (user.email.lower(), user.display_name.lower(), user.id):
                return user
        raise _rule_error(
            "System.AssignedTo",
            "Required, HasValues, LimitedToValues, AllowsOldValue, "
            f"InvalidIdentity. The identity value '{value}' is an unknown identity",
        )

    # ------------------------------------------------------------------------------------------- work items

    def _new_item(
        self,
        project: str,
        type_name: str,
        author: SimUser,
        when: datetime,
        fields: dict[str, Any] | None = None,
        relations: list[dict[str, Any]] | None = None,
    ) -> _Item:
        item = _Item(self._next_id, fields or self._initial_fields(project, type_name, author, when), relations or [])
        self._next_id += 1
        self.items[item.id] = item
        return item

    @staticmethod
    def _initial_fields(project: str, type_name: str, author: SimUser, when: datetime) -> dict[str, Any]:
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

    def _create(self, request: _Request) -> _Reply:
        project = self._project_of(request)
        assert project is not None
        type_name = unquote(request.rest[2][1:])
        canonical = next((name for name in PROCESS if name.lower() == type_name.lower()), None)
        if canonical is None:
            raise AdoError(
                404,
                f"TF201036: You cannot add a {type_name} work item type because it does not exist in this project.",
                "WorkItemTypeNotFoundException",
            )
        self._require(request, "create")
        operations = _operations(request)
        validate_only = request.query.get("validateOnly", "").lower() == "true"
        now = self.clock()
        staged = _Item(0, self._initial_fields(project, canonical, request.user, now))  # type: ignore[arg-type]
        history = self._apply(request, staged, operations, creating=True)
        if not staged.fields.get("System.Title"):
            raise _rule_error("System.Title", "Required, HasValues, LimitedToValues, AllowsOldValue, InvalidEmpty")
        if validate_only:
            return _Reply(
                200,
                {
                    "id": 0,
                    "rev": 0,
                    "fields": self._render_fields(staged.fields),
                    "url": f"{self._api()}/wit/workItems/0",
                }
                | ({"relations": staged.relations} if staged.relations else {}),
            )
        item = self._new_item(project, canonical, request.user, now, staged.fields, staged.relations)  # type: ignore
        if history:
            self._add_comment_record(item, history, request.user, now)  # type: ignore[arg-type]
        item.snapshot()
        self.hooks.emit_item_event("workitem.created", item, request.user)  # type: ignore[arg-type]
        return _Reply(200, self.render_item(item, expand="relations"))

    def _get_item(self, request: _Request) -> _Reply:
        item = self._visible_item(request, request.rest[2])
        as_of = request.query.get("asOf")
        fields = request.query.get("fields")
        return _Reply(
            200,
            self.render_item(
                item,
                expand=request.query.get("$expand", "none").lower(),
                fields=fields.split(",") if fields else None,
                as_of=parse_date(as_of) if as_of else None,
            ),
        )

    def _list_items(self, request: _Request) -> _Reply:
        ids = [part for part in request.query.get("ids", "").split(",") if part]
        return self._items_reply(
            request,
            ids,
            request.query.get("fields", "").split(",") if "fields" in request.query else None,
            request.query.get("$expand", "none"),
            request.query.get("asOf"),
            request.query.get("errorPolicy", "fail"),
        )

    def _batch(self, request: _Request) -> _Reply:
        body = request.json() or {}
        return self._items_reply(
            request,
            [str(i) for i in body.get("ids") or []],
            body.get("fields"),
            body.get("$expand", "none"),
            body.get("asOf"),
            body.get("errorPolicy", "fail"),
        )

    def _items_reply(
        self,
        request: _Request,
        ids: list[str],
        fields: list[str] | None,
        expand: str,
        as_of: str | None,
        error_policy: str,
    ) -> _Reply:
        if not ids:
            raise AdoError(
                400,
                "VS403490: The ids parameter is required.",
                "ArgumentNullException",
                "System.ArgumentNullException, mscorlib",
            )
        if len(ids) > BATCH_LIMIT:
            raise AdoError(
                400,
                f"VS402337: The maximum number of work items to get at once is {BATCH_LIMIT}.",
                "ArgumentException",
                "System.ArgumentException, mscorlib",
            )
        when = parse_date(as_of) if as_of else None
        values: list[dict[str, Any] | None] = []
        for raw_id in ids:
            try:
                item = self._visible_item(request, raw_id)
            except AdoError:
                if error_policy.lower() == "omit":
                    values.append(None)
                    continue
                raise
            if when is not None and item.revisions and item.revisions[0][1]["System.ChangedDate"] > when:
                values.append(None)  # did not exist yet
                continue
            values.append(self.render_item(item, expand=expand.lower(), fields=fields, links=False, as_of=when))
        return _Reply(200, {"count": len(values), "value": values})

    def _update(self, request: _Request) -> _Reply:
        item = self._visible_item(request, request.rest[2])
        operations = _operations(request)
        staged = _Item(item.id, dict(item.fields), copy.deepcopy(item.relations), item.rev)
        history = self._apply(request, staged, operations, creating=False)
        if request.query.get("validateOnly", "").lower() == "true":
            return _Reply(200, self.render_item(item, expand="relations"))
        self._commit(item, staged.fields, staged.relations, request.user, history)  # type: ignore[arg-type]
        return _Reply(200, self.render_item(item, expand="relations"))

    def _commit(
        self, item: _Item, fields: dict[str, Any], relations: list[dict[str, Any]], user: SimUser, history: str | None
    ) -> _Comment | None:
        """Persist a change as one revision and emit its service hooks."""
        now = max(self.clock(), item.changed)
        old_fields, old_relations, old_rev = dict(item.fields), item.relations, item.rev
        fields = dict(fields)
        fields["System.ChangedDate"], fields["System.ChangedBy"] = now, user
        if fields.get("System.State") != old_fields.get("System.State"):
            fields["Microsoft.VSTS.Common.StateChangeDate"] = now
            fields["System.Reason"] = f"Moved to state {fields['System.State']}"
        comment = None
        if history:
            fields["System.History"] = history
        else:
            fields.pop("System.History", None)
        item.fields, item.relations, item.rev = fields, relations, item.rev + 1
        if history:
            comment = self._add_comment_record(item, history, user, now)
        item.snapshot()
        self.hooks.emit_updated(item, old_rev, old_fields, old_relations, user)
        if history:
            self.hooks.emit_item_event("workitem.commented", item, user)
        return comment

    def _apply(self, request: _Request, item: _Item, operations: list[dict[str, Any]], *, creating: bool) -> str | None:
        """Apply JSON Patch operations to ``item`` in place (permissions first, then rules); returns System.History."""
        needs = {"create"} if creating else set()
        for op in operations:
            path = str(op.get("path", ""))
            if path == "/fields/System.History":
                needs.add("comment")
            elif path.startswith("/relations"):
                rel = op.get("value", {}).get("rel") if isinstance(op.get("value"), dict) else None
                index = path.split("/")[2] if path.count("/") >= 2 else "-"
                if rel is None and index.isdigit() and int(index) < len(item.relations):
                    rel = item.relations[int(index)]["rel"]
                needs.add("attach" if rel == "AttachedFile" else ("create" if creating else "edit"))
            elif path.startswith("/fields/") and not creating:
                needs.add("edit")
        for permission in PERMISSIONS:
            if permission in needs:
                self._require(request, permission)
        history = None
        for op in operations:
            kind, path = op.get("op"), str(op.get("path", ""))
            if kind == "test" and path == "/rev":
                if int(op.get("value", -1)) != item.rev:
                    raise AdoError(
                        412,
                        "TF26071: This work item has been changed by someone else since you opened "
                        "it. You will need to refresh it and discard your changes.",
                        "WorkItemRevisionMismatchException",
                    )
            elif path.startswith("/fields/"):
                name = path[len("/fields/") :]
                if kind == "remove":
                    item.fields.pop(name, None)
                elif kind in ("add", "replace"):
                    if name == "System.History":
                        history = str(op.get("value") or "")
                        continue
                    value = self._field_value(item, name, op.get("value"), creating)
                    if name == "System.Tags" and kind == "add":  # documented: `add` merges tags, `replace` replaces
                        value = _merge_tags(item.fields.get(name), value)
                    if value is None or value == "":
                        item.fields.pop(name, None)  # ADO drops empty fields from the item
                    else:
                        item.fields[name] = value
                else:
                    raise _bad_patch(f"Operation '{kind}' is not supported on fields.")
            elif path.startswith("/relations"):
                self._apply_relation(item, kind, path, op.get("value"))
            else:
                raise _bad_patch(f"The path '{path}' is not supported.")
        return history

    def _field_value(self, item: _Item, name: str, value: Any, creating: bool) -> Any:
        if name in READ_ONLY_FIELDS and not (creating and name == "System.TeamProject"):
            raise AdoError(
                400, f"TF401326: Invalid field status 'ReadOnly' for field '{name}'.", "WorkItemFieldInvalidException"
            )
        if name == "System.WorkItemType":
            canonical = next((t for t in PROCESS if t.lower() == str(value).lower()), None)
            if canonical is None:
                raise _rule_error(name, "Required, HasValues, LimitedToValues, InvalidListValue")
            return canonical
        if name == "System.State":
            states = [state for state, _, _ in PROCESS[item.fields["System.WorkItemType"]][3]]
            if value not in states:
                raise AdoError(
                    400,
                    f"TF401320: Rule Error for field State. Error code: Required, HasValues, "
                    f"LimitedToValues, AllowsOldValue, InvalidListValue. The value '{value}' is not in "
                    f"the list of supported values ({', '.join(states)}).",
                    "RuleValidationException",
                )
            return value
        if name == "System.AssignedTo":
            return self.resolve_identity(value)
        if name == "System.Tags":
            tags = [tag.strip() for tag in str(value or "").split(";") if tag.strip()]
            return "; ".join(dict.fromkeys(tags))
        if name == "Microsoft.VSTS.Common.Priority":
            if str(value) not in ("1", "2", "3", "4"):
                raise _rule_error(name, "Required, HasValues, LimitedToValues, AllowsOldValue, InvalidListValue")
            return int(value)
        if name == "System.Title" and not str(value or "").strip():
            raise _rule_error(name, "Required, HasValues, LimitedToValues, AllowsOldValue, InvalidEmpty")
        return value

    def _apply_relation(self, item: _Item, kind: Any, path: str, value: Any) -> None:
        parts = path.split("/")[2:]
        if kind == "add" and parts == ["-"]:
            if not isinstance(value, dict) or "rel" not in value or "url" not in value:
                raise _bad_patch("A relation needs 'rel' and 'url'.")
            attributes = dict(value.get("attributes") or {})
            url = str(value["url"])
            if value["rel"] == "AttachedFile":
                attachment_id = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
                if attachment_id not in self.attachments:
                    raise AdoError(
                        400,
                        f"TF237082: The attachment '{attachment_id}' could not be found. It may have "
                        "been removed or the upload did not complete.",
                        "AttachmentNotFoundException",
                    )
                name, data, created = self.attachments[attachment_id]
                url = url.split("?")[0]
                now = ado_date(self.clock())
                self._next_relation += 1
                attributes = {
                    "authorizedDate": now,
                    "id": self._next_relation,
                    "resourceCreatedDate": ado_date(created),
                    "resourceModifiedDate": ado_date(created),
                    "revisedDate": FAR_FUTURE,
                    "resourceSize": len(data),
                    "name": name,
                    **attributes,
                }
            if any(rel["rel"] == value["rel"] and rel["url"] == url for rel in item.relations):
                raise AdoError(
                    400,
                    f"TF201035: The relation '{value['rel']}' to '{url}' already exists.",
                    "WorkItemLinkAlreadyExistsException",
                )
            item.relations.append({"rel": value["rel"], "url": url, "attributes": attributes})
            return
        if not parts or not parts[0].isdigit() or int(parts[0]) >= len(item.relations):
            raise _bad_patch(f"The relation index in '{path}' is out of range.")
        index = int(parts[0])
        if kind == "remove" and len(parts) == 1:
            item.relations.pop(index)
        elif kind in ("add", "replace") and parts[1:] == ["attributes", "comment"]:
            item.relations[index].setdefault("attributes", {})["comment"] = value
        else:
            raise _bad_patch(f"Operation '{kind}' on '{path}' is not supported.")

    def _delete_item(self, request: _Request) -> _Reply:
        item = self._visible_item(request, request.rest[2])
        self._require(request, "edit")
        item.deleted = True
        self.hooks.emit_item_event("workitem.deleted", item, request.user)  # type: ignore[arg-type]
        now = self.clock()
        return _Reply(
            200,
            {
                "id": item.id,
                "code": 200,
                "deletedBy": request.user.identity_string(),  # type: ignore
                "deletedDate": ado_date(now),
                "name": item.fields.get("System.Title"),
                "project": item.project,
                "type": item.fields["System.WorkItemType"],
                "url": f"{self._api(item.project)}/wit/recyclebin/{item.id}",
            },
        )

    def _restore_item(self, request: _Request) -> _Reply:
        self._project_of(request, required=False)
        item = self.items.get(int(request.rest[2]))
        if item is None or not item.deleted:
            raise _not_found(request.rest[2])
        self._require(request, "edit")
        if (request.json() or {}).get("IsDeleted") is not False:
            raise _bad_patch('Restoring needs {"IsDeleted": false}.')
        item.deleted = False
        self.hooks.emit_item_event("workitem.restored", item, request.user)  # type: ignore[arg-type]
        return _Reply(
            200,
            {
                "id": item.id,
                "code": 200,
                "name": item.fields.get("System.Title"),
                "project": item.project,
                "type": item.fields["System.WorkItemType"],
                "url": f"{self._api(item.project)}/wit/workItems/{item.id}",
            },
        )

    # ------------------------------------------------------------------------------------------- WIQL

    def _wiql(self, request: _Request) -> _Reply:
        project = self._project_of(request, required=False)
        query = str((request.json() or {}).get("query") or "")
        precise = request.query.get("timePrecision", "").lower() == "true"
        select, where, order = _split_wiql(query)
        predicate = _WiqlParser(where, project, precise).parse() if where else (lambda item: True)
        matches = [
            item
            for item in self.items.values()
            if not item.deleted and "browse" in request.user.permissions and predicate(item)  # type: ignore[union-attr]  # authenticated: a user
        ]
        for name, descending in reversed(order or [("System.Id", False)]):
            matches.sort(key=functools.partial(_sort_key, field=name), reverse=descending)
        top = request.query.get("$top")
        if top is None and len(matches) > self.wiql_limit:
            raise AdoError(
                400,
                f"VS402337: The number of work items returned exceeds the size limit of "
                f"{self.wiql_limit}. Change the query to return fewer work items.",
                "WorkItemTrackingQueryResultSizeLimitExceededException",
            )
        if top is not None:
            matches = matches[: min(int(top), self.wiql_limit)]
        api = self._api()
        return _Reply(
            200,
            {
                "queryType": "flat",
                "queryResultType": "workItem",
                "asOf": ado_date(self.clock()),
                "columns": [
                    {"referenceName": name, "name": name.rsplit(".", 1)[-1], "url": f"{api}/wit/fields/{name}"}
                    for name in select
                ],
                "sortColumns": [
                    {
                        "field": {
                            "referenceName": name,
                            "name": name.rsplit(".", 1)[-1],
                            "url": f"{api}/wit/fields/{name}",
                        },
                        "descending": descending,
                    }
                    for name, descending in order
                ],
                "workItems": [{"id": item.id, "url": f"{api}/wit/workItems/{item.id}"} for item in matches],
            },
        )

    # ------------------------------------------------------------------------------------------- comments

    def _add_comment_record(self, item: _Item, text: str, user: SimUser, when: datetime) -> _Comment:
        comment = _Comment(self._next_comment, item.id, text, user, when, user, when)
        self._next_comment += 1
        item.comments[comment.id] = comment
        item.fields["System.CommentCount"] = sum(1 for c in item.comments.values() if not c.deleted)
        return comment

    def _list_comments(self, request: _Request) -> _Reply:
        item = self._visible_item(request, request.rest[2])
        include_deleted = request.query.get("includeDeleted", "").lower() == "true"
        comments = sorted(
            (c for c in item.comments.values() if include_deleted or not c.deleted),
            key=lambda c: c.id,
            reverse=request.query.get("order", "desc").lower() != "asc",
        )
        if "ids" in request.query:
            wanted = {int(part) for part in request.query["ids"].split(",") if part.isdigit()}
            comments = [c for c in comments if c.id in wanted]
        start = int(request.query.get("continuationToken", "0") or 0)
        top = min(int(request.query.get("$top", self.comments_page_size)), self.comments_page_size)
        page = comments[start : start + top]
        body: dict[str, Any] = {
            "totalCount": len(comments),
            "count": len(page),
            "comments": [self.render_comment(c, item.project) for c in page],
        }
        if start + top < len(comments):
            token = str(start + top)
            body["continuationToken"] = token
            body["nextPage"] = f"{self._api(item.project)}/wit/workItems/{item.id}/comments?continuationToken={token}"
        body["url"] = f"{self._api(item.project)}/wit/workItems/{item.id}/comments"
        return _Reply(200, body)

    def _comment(self, request: _Request) -> tuple[_Item, _Comment]:
        item = self._visible_item(request, request.rest[2])
        comment = item.comments.get(int(request.rest[4])) if request.rest[4].isdigit() else None
        if comment is None or comment.deleted:
            raise AdoError(
                404,
                f"TF401180: The requested comment {request.rest[4]} doesn't exist or has been deleted.",
                "WorkItemCommentNotFoundException",
            )
        return item, comment

    def _comment_text(self, request: _Request) -> str:
        text = (request.json() or {}).get("text")
        if not isinstance(text, str) or not text.strip():
            raise AdoError(
                400,
                "VS403691: The comment text cannot be empty.",
                "ArgumentException",
                "System.ArgumentException, mscorlib",
            )
        return text

    def _add_comment(self, request: _Request) -> _Reply:
        item = self._visible_item(request, request.rest[2])
        self._require(request, "comment")
        text = self._comment_text(request)
        comment = self._commit(item, item.fields, item.relations, request.user, text)  # type: ignore[arg-type]
        assert comment is not None
        return _Reply(200, self.render_comment(comment, item.project))

    def _get_comment(self, request: _Request) -> _Reply:
        item, comment = self._comment(request)
        return _Reply(200, self.render_comment(comment, item.project))

    def _update_comment(self, request: _Request) -> _Reply:
        item, comment = self._comment(request)
        self._require(request, "comment")
        comment.text = self._comment_text(request)
        comment.version += 1
        comment.modified, comment.modified_by = self.clock(), request.user  # type: ignore[assignment]
        return _Reply(200, self.render_comment(comment, item.project))

    def _delete_comment(self, request: _Request) -> _Reply:
        item, comment = self._comment(request)
        self._require(request, "comment")
        comment.deleted = True
        comment.version += 1
        item.fields["System.CommentCount"] = sum(1 for c in item.comments.values() if not c.deleted)
        return _Reply(200, None)

    # ------------------------------------------------------------------------------------------- attachments

    def _upload(self, request: _Request) -> _Reply:
        self._project_of(request, required=False)
        self._require(request, "attach")
        name = request.query.get("fileName")
        if not name:
            raise AdoError(
                400,
                "VS403400: The fileName parameter is required.",
                "ArgumentNullException",
                "System.ArgumentNullException, mscorlib",
            )
        attachment_id = str(uuid.uuid4())
        self.attachments[attachment_id] = (name, request.body, self.clock())
        url = f"{self._api()}/wit/attachments/{attachment_id}?fileName={quote(name)}"
        return _Reply(201, {"id": attachment_id, "url": url})

    def _download(self, request: _Request) -> _Reply:
        self._project_of(request, required=False)
        attachment_id = request.rest[2]
        if attachment_id not in self.attachments or "browse" not in request.user.permissions:  # type: ignore
            raise AdoError(
                404, f"TF401001: Attachment with id {attachment_id} does not exist.", "AttachmentNotFoundException"
            )
        name, data, _ = self.attachments[attachment_id]
        disposition = "attachment" if request.query.get("download", "").lower() == "true" else "inline"
        return _Reply(
            200,
            None,
            {"Content-Disposition": f"{disposition}; filename={quote(name)}", "Content-Length": str(len(data))},
            stream=(data[i : i + CHUNK] for i in range(0, len(data), CHUNK)),
            content_type="application/octet-stream",
        )

    # ------------------------------------------------------------------------------------------- process

    def _type_json(self, project: str, name: str) -> dict[str, Any]:
        reference, color, icon, states = PROCESS[name]
        return {
            "name": name,
            "referenceName": reference,
            "description": f"Tracks a {name.lower()}.",
            "color": color,
            "icon": {"id": icon, "url": f"{self._api()}/wit/workItemIcons/{icon}?color={color}&v=2"},
            "isDisabled": False,
            "states": [{"name": s, "color": c, "category": cat} for s, cat, c in states],
            "url": f"{self._api(project)}/wit/workItemTypes/{quote(name)}",
        }

    def _types(self, request: _Request) -> _Reply:
        project = self._project_of(request)
        assert project is not None
        return _Reply(200, {"count": len(PROCESS), "value": [self._type_json(project, name) for name in PROCESS]})

    def _type(self, request: _Request) -> _Reply:
        project = self._project_of(request)
        assert project is not None
        name = next((t for t in PROCESS if t.lower() == unquote(request.rest[2]).lower()), None)
        if name is None:
            raise AdoError(
                404, f"TF51535: Cannot find field {unquote(request.rest[2])}.", "WorkItemTypeNotFoundException"
            )
        return _Reply(200, self._type_json(project, name))

    def _states(self, request: _Request) -> _Reply:
        body = self._type(request).body
        return _Reply(200, {"count": len(body["states"]), "value": body["states"]})

    def _categories(self, request: _Request) -> _Reply:
        project = self._project_of(request)
        assert project is not None
        api = self._api(project)

        def ref(name: str) -> dict[str, str]:
            return {"name": name, "url": f"{api}/wit/workItemTypes/{quote(name)}"}

        value = [
            {
                "name": name,
                "referenceName": reference,
                "defaultWorkItemType": ref(default),
                "workItemTypes": [ref(member) for member in members],
                "url": f"{api}/wit/workItemTypeCategories/{reference}",
            }
            for name, reference, default, members in CATEGORIES
        ]
        return _Reply(200, {"count": len(value), "value": value})

    def _category(self, request: _Request) -> _Reply:
        wanted = request.rest[2].lower()
        for category in self._categories(request).body["value"]:
            if wanted in (category["referenceName"].lower(), category["name"].lower()):
                return _Reply(200, category)
        raise AdoError(
            404,
            f"TF51543: The work item type category '{request.rest[2]}' does not exist.",
            "WorkItemTypeCategoryNotFoundException",
        )


# ----------------------------------------------------------------------------------------------- service hooks


class _ServiceHooks:
    """Builds ``workitem.*`` payloads (resource details "All", messages included) and POSTs them in order."""

    def __init__(self, sim: AzureDevOpsSimulator) -> None:
        self.sim = sim
        self.url: str | None = None
        self.basic: tuple[str, str] | None = None
        self.headers: dict[str, str] = {}
        self.subscription_id = str(uuid.uuid4())
        self.events: list[dict[str, Any]] = []
        self.dropped: list[dict[str, Any]] = []
        self.delivered: list[tuple[int, dict[str, Any]]] = []
        self._drop = 0
        self._notification = 0
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def subscribe(
        self, url: str, *, basic: tuple[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        """Like a "Web Hooks" subscription: basic auth user/password and/or custom "HTTP headers"."""
        self.url, self.basic, self.headers = url, basic, dict(headers or {})

    def drop_next(self, count: int = 1) -> None:
        """The next ``count`` events are generated but never delivered (ADO gives up after its retries)."""
        self._drop += count

    def flush(self, timeout: float = 10) -> None:
        """Block until every queued event has been delivered (or dropped)."""
        done = threading.Event()
        self._queue.put({"__flush__": done})
        if not done.wait(timeout):
            raise TimeoutError("service hook delivery did not finish")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._deliver_forever, name="ado-hooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)
            self._thread = None

    def _deliver_forever(self) -> None:
        while (event := self._queue.get()) is not None:
            if "__flush__" in event:
                event["__flush__"].set()
                continue
            if self._drop > 0:
                self._drop -= 1
                self.dropped.append(event)
                continue
            if self.url is None:
                continue
            headers = {"Content-Type": "application/json; charset=utf-8", **self.headers}
            if self.basic:
                token = base64.b64encode(f"{self.basic[0]}:{self.basic[1]}".encode()).decode()
                headers["Authorization"] = f"Basic {token}"
            data = json.dumps(event).encode()
            try:
                request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
                with urllib.request.urlopen(request, timeout=10) as response:
                    self.delivered.append((response.status, event))
            except urllib.error.HTTPError as exc:
                self.delivered.append((exc.code, event))
            except OSError:
                self.dropped.append(event)

    # ------------------------------------------------------------------------------------------- payloads

    def _envelope(
        self, event_type: str, item: _Item, user: SimUser, verb: str, resource: dict[str, Any], details: list[str]
    ) -> dict[str, Any]:
        sim = self.sim
        self._notification += 1
        kind, title = item.fields["System.WorkItemType"], item.fields.get("System.Title", "")
        link = sim.html_url(item.id)
        head_text = f"{kind} #{item.id} ({title}) {verb} by {user.display_name}."
        text = head_text + ("" if event_type == "workitem.deleted" else f"\r\n({link})")
        html_head = (
            f"{escape(kind)} #{item.id} ({escape(title)}) {verb} by {escape(user.display_name)}."
            if event_type == "workitem.deleted"
            else f'<a href="{escape(link)}">{escape(kind)} #{item.id}</a> ({escape(title)}) {verb} by '
            f"{escape(user.display_name)}."
        )
        markdown = f"[{kind} #{item.id}]({link}) ({title}) {verb} by {user.display_name}."
        base = {"id": "", "baseUrl": sim.url + "/"}
        project_id = sim.projects[item.project]
        return {
            "subscriptionId": self.subscription_id,
            "notificationId": self._notification,
            "id": str(uuid.uuid4()),
            "eventType": event_type,
            "publisherId": "tfs",
            "scope": "all",
            "message": {"text": text, "html": html_head, "markdown": markdown},
            "detailedMessage": {
                "text": text + "".join(f"\r\n- {line}" for line in details) + ("\r\n" if details else ""),
                "html": html_head
                + (
                    "<ul>\r\n" + "\r\n".join(f"<li>{escape(line)}</li>" for line in details) + "</ul>"
                    if details
                    else ""
                ),
                "markdown": markdown + "".join(f"\r\n* {line}" for line in details) + ("\r\n" if details else ""),
            },
            "resource": resource,
            "resourceVersion": "1.0",
            "resourceContainers": {
                "collection": {**base, "id": sim.collection_id},
                "account": {**base, "id": sim.account_id},
                "project": {**base, "id": project_id},
            },
            "createdDate": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z",
        }

    def _item_resource(self, item: _Item, deleted: bool = False) -> dict[str, Any]:
        sim = self.sim
        api = sim._api()
        fields = sim._render_fields(item.fields, as_string=True)
        if deleted:
            links = {
                "self": {"href": f"{api}/wit/recyclebin/{item.id}"},
                "workItemType": {
                    "href": f"{sim._api(item.project)}/wit/workItemTypes/{quote(item.fields['System.WorkItemType'])}"
                },
                "fields": {"href": f"{api}/wit/fields"},
            }
            return {
                "id": item.id,
                "rev": item.rev,
                "fields": fields,
                "_links": links,
                "url": f"{api}/wit/recyclebin/{item.id}",
            }
        resource: dict[str, Any] = {"id": item.id, "rev": item.rev, "fields": fields}
        if item.relations:
            resource["relations"] = copy.deepcopy(item.relations)
        links = sim._links(item)
        links.pop("workItemComments", None)
        resource["_links"] = links
        resource["url"] = f"{api}/wit/workItems/{item.id}"
        return resource

    def emit_item_event(self, event_type: str, item: _Item, user: SimUser) -> None:
        verb = {
            "workitem.created": "created",
            "workitem.deleted": "deleted",
            "workitem.restored": "restored",
            "workitem.commented": "commented on",
        }[event_type]
        details = [f"State: {item.fields['System.State']}"] if event_type == "workitem.created" else []
        resource = self._item_resource(item, deleted=event_type == "workitem.deleted")
        self._publish(self._envelope(event_type, item, user, verb, resource, details))

    def emit_updated(
        self, item: _Item, old_rev: int, old: dict[str, Any], old_relations: list[dict[str, Any]], user: SimUser
    ) -> None:
        sim = self.sim
        api = sim._api()
        changed: dict[str, Any] = {"System.Rev": {"oldValue": old_rev, "newValue": item.rev}}
        for name in sorted(set(old) | set(item.fields)):
            before, after = old.get(name), item.fields.get(name)
            if name == "System.History" and after is not None:
                changed[name] = {"newValue": sim._render_value(name, after, True)}
            elif before != after:
                delta = {}
                if before is not None:
                    delta["oldValue"] = sim._render_value(name, before, True)
                if after is not None:
                    delta["newValue"] = sim._render_value(name, after, True)
                changed[name] = delta
        changed["System.AuthorizedDate"] = {
            "oldValue": ado_date(old["System.ChangedDate"]),
            "newValue": ado_date(item.changed),
        }
        changed["System.RevisedDate"] = {"oldValue": ado_date(item.changed), "newValue": FAR_FUTURE}
        resource: dict[str, Any] = {
            "id": item.rev,
            "workItemId": item.id,
            "rev": item.rev,
            "revisedBy": {
                "id": user.id,
                "name": user.identity_string(),
                "displayName": user.display_name,
                "url": f"{sim.origin}/_apis/Identities/{user.id}",
                "uniqueName": user.email,
                "imageUrl": f"{sim.url}/_api/_common/identityImage?id={user.id}",
            },
            "revisedDate": FAR_FUTURE,
            "fields": changed,
        }
        added = [r for r in item.relations if r not in old_relations]
        removed = [r for r in old_relations if r not in item.relations]
        if added or removed:
            resource["relations"] = {key: value for key, value in (("added", added), ("removed", removed)) if value}
        resource["_links"] = {
            "self": {"href": f"{api}/wit/workItems/{item.id}/updates/{item.rev}"},
            "workItemUpdates": {"href": f"{api}/wit/workItems/{item.id}/updates"},
            "parent": {"href": f"{api}/wit/workItems/{item.id}"},
            "html": {"href": sim.html_url(item.id)},
        }
        resource["url"] = f"{api}/wit/workItems/{item.id}/updates/{item.rev}"
        revision: dict[str, Any] = {
            "id": item.id,
            "rev": item.rev,
            "fields": sim._render_fields(item.fields, as_string=True),
        }
        if item.relations:
            revision["relations"] = copy.deepcopy(item.relations)
        revision["_links"] = {
            "self": {"href": f"{api}/wit/workItems/{item.id}/revisions/{item.rev}"},
            "workItemRevisions": {"href": f"{api}/wit/workItems/{item.id}/revisions"},
            "parent": {"href": f"{sim._api(item.project)}/wit/workItems/{item.id}"},
        }
        revision["url"] = f"{api}/wit/workItems/{item.id}/revisions/{item.rev}"
        resource["revision"] = revision
        details = [
            f"{name.rsplit('.', 1)[-1]}: {value.get('newValue')}"
            for name, value in changed.items()
            if not name.startswith("System.") or name in ("System.State", "System.Title", "System.AssignedTo")
        ]
        self._publish(self._envelope("workitem.updated", item, user, "updated", resource, details))

    def _publish(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self._queue.put(event)


# ----------------------------------------------------------------------------------------------- helpers


class _SignInPage(Exception):
    """No credentials and no ``X-TFS-FedAuthRedirect: Suppress``: ADO answers 203 with an HTML sign-in page."""


def _merge_tags(current: Any, added: str) -> str:
    """ADO's tag merge: existing tags first, then the new ones not there yet (tag names compare case-insensitively)."""
    tags = [tag.strip() for tag in str(current or "").split(";") if tag.strip()]
    seen = {tag.lower() for tag in tags}
    for tag in (tag.strip() for tag in added.split(";")):
        if tag and tag.lower() not in seen:
            tags.append(tag)
            seen.add(tag.lower())
    return "; ".join(tags)


def _segment_matches(pattern: str, segment: str) -> bool:
    if pattern == "#":
        return segment.isdigit()
    if pattern == "$*":
        return segment.startswith("$") and len(segment) > 1
    return pattern == "*" or pattern == segment


def _bad_patch(message: str) -> AdoError:
    return AdoError(
        400,
        f"VS403068: {message}",
        "JsonPatchOperationException",
        "Microsoft.VisualStudio.Services.WebApi.Patch.JsonPatchOperationException, "
        "Microsoft.VisualStudio.Services.WebApi",
    )


def _operations(request: _Request) -> list[dict[str, Any]]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json-patch+json":
        raise AdoError(
            415,
            f'VS402439: The request indicated a Content-Type of "{content_type}" for method type '
            '"PATCH" which is not supported. Valid content types for this method are: '
            "application/json-patch+json.",
            "VssRequestContentTypeNotSupportedException",
            "Microsoft.VisualStudio.Services.WebApi.VssRequestContentTypeNotSupportedException, "
            "Microsoft.VisualStudio.Services.WebApi",
        )
    body = request.json()
    if not isinstance(body, list) or not all(isinstance(op, dict) and "op" in op and "path" in op for op in body):
        raise _bad_patch("The body must be a JSON Patch document (a list of operations with op and path).")
    return body


def _sort_key(item: _Item, field: str) -> Any:
    name = field
    value = item.id if name == "System.Id" else item.fields.get(name)
    if isinstance(value, SimUser):
        return value.display_name.lower()
    return (value is None, value if not isinstance(value, str) else value.lower())


def _split_wiql(query: str) -> tuple[list[str], str, list[tuple[str, bool]]]:
    match = re.fullmatch(
        r"\s*select\s+(?P<select>.+?)\s+from\s+workitems\b(?:\s+where\s+(?P<where>.+?))?"
        r"(?:\s+order\s+by\s+(?P<order>.+?))?\s*",
        query,
        re.IGNORECASE | re.DOTALL,
    )
    if not match:
        raise _wiql_error("Expecting SELECT ... FROM WorkItems [WHERE ...] [ORDER BY ...].")
    select = re.findall(r"\[([^\]]+)\]", match.group("select"))
    order = [
        (name, (direction or "asc").lower() == "desc")
        for name, direction in re.findall(r"\[([^\]]+)\]\s*(asc|desc)?", match.group("order") or "", re.IGNORECASE)
    ]
    return select, match.group("where") or "", order


def _wiql_error(message: str) -> AdoError:
    return AdoError(
        400,
        f"TF51006: The query statement is invalid. {message}",
        "WiqlSyntaxException",
        "Microsoft.TeamFoundation.WorkItemTracking.Common.WiqlSyntaxException, "
        "Microsoft.TeamFoundation.WorkItemTracking.Common",
    )


_TOKEN = re.compile(
    r"\s*(?:(?P<field>\[[^\]]+\])|(?P<string>'(?:[^']|'')*')|(?P<macro>@\w+)|(?P<op>>=|<=|<>|=|<|>)"
    r"|(?P<paren>[()])|(?P<word>[A-Za-z]+)|(?P<number>-?\d+(?:\.\d+)?))"
)
DATE_FIELDS = frozenset({"System.ChangedDate", "System.CreatedDate", "Microsoft.VSTS.Common.StateChangeDate"})


class _WiqlParser:
    """A small WIQL WHERE evaluator: comparisons joined by AND/OR with parentheses, @project, dates."""

    def __init__(self, text: str, project: str | None, precise: bool) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            if not match or match.end() == position:
                if text[position:].strip():
                    raise _wiql_error(f"Unexpected text near '{text[position : position + 20]}'.")
                break
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.index, self.project, self.precise = 0, project, precise

    def parse(self) -> Callable[[_Item], bool]:
        predicate = self._or()
        if self.index != len(self.tokens):
            raise _wiql_error(f"Unexpected '{self.tokens[self.index][1]}'.")
        return predicate

    def _peek_word(self, word: str) -> bool:
        if self.index >= len(self.tokens):
            return False
        kind, text = self.tokens[self.index]
        return kind == "word" and text.lower() == word

    def _or(self) -> Callable[[_Item], bool]:
        parts = [self._and()]
        while self._peek_word("or"):
            self.index += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda item: any(p(item) for p in parts))

    def _and(self) -> Callable[[_Item], bool]:
        parts = [self._factor()]
        while self._peek_word("and"):
            self.index += 1
            parts.append(self._factor())
        return parts[0] if len(parts) == 1 else (lambda item: all(p(item) for p in parts))

    def _take(self) -> tuple[str, str]:
        if self.index >= len(self.tokens):
            raise _wiql_error("Unexpected end of query.")
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _factor(self) -> Callable[[_Item], bool]:
        kind, text = self._take()
        if (kind, text) == ("paren", "("):
            inner = self._or()
            if self._take() != ("paren", ")"):
                raise _wiql_error("Expecting ')'.")
            return inner
        if kind != "field":
            raise _wiql_error(f"Expecting a field reference, found '{text}'.")
        name = text[1:-1]
        op_kind, op = self._take()
        if op_kind != "op":
            raise _wiql_error(f"Expecting an operator after [{name}].")
        value = self._value(name, *self._take())
        return lambda item: _compare(_field_of(item, name, self.precise), op, value)

    def _value(self, name: str, kind: str, text: str) -> Any:
        if kind == "macro":
            if text.lower() != "@project":
                raise _wiql_error(f"The macro '{text}' is not supported by the simulator.")
            if self.project is None:
                raise _wiql_error("The @project macro can only be used in the context of a project.")
            return self.project.lower()
        if kind == "number":
            return float(text)
        if kind != "string":
            raise _wiql_error(f"Expecting a value, found '{text}'.")
        literal = text[1:-1].replace("''", "'")
        if name in DATE_FIELDS:
            try:
                when = parse_date(literal)
            except ValueError as exc:
                raise _wiql_error(f"The date '{literal}' is not valid.") from exc
            has_time = bool(re.search(r"\d[T ]\d", literal))
            if has_time and not self.precise:
                raise _wiql_error(
                    f"The date '{literal}' has a time component; pass timePrecision=true to compare times."
                )
            return when if self.precise else when.date()
        return literal.lower()


def _field_of(item: _Item, name: str, precise: bool) -> Any:
    value = item.id if name == "System.Id" else item.fields.get(name)
    if isinstance(value, datetime):
        return value if precise else value.date()
    if isinstance(value, SimUser):
        return value.display_name.lower()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return str(value).lower() if value is not None else None


def _compare(left: Any, op: str, right: Any) -> bool:
    if left is None:
        return op == "<>"
    try:
        return {
            "=": left == right,
            "<>": left != right,
            ">": left > right,
            ">=": left >= right,
            "<": left < right,
            "<=": left <= right,
        }[op]
    except TypeError:
        return False


# ----------------------------------------------------------------------------------------------- HTTP glue


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # connections the client dropped (timeouts) are expected here


class _Handler(BaseHTTPRequestHandler):
    sim: AzureDevOpsSimulator
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stalls
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(parts)
                parts += self.rfile.read(size)
                self.rfile.readline()
        remaining = int(self.headers.get("Content-Length") or 0)
        parts = bytearray()
        while remaining > 0:
            chunk = self.rfile.read(min(CHUNK, remaining))
            if not chunk:
                break
            parts += chunk
            remaining -= len(chunk)
        return bytes(parts)

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(split.query, keep_blank_values=True).items()}
        body = self._read_body()
        headers = {key.lower(): value for key, value in self.headers.items()}
        request = _Request(self.command, split.path, query, headers, body)
        try:
            request.project, request.rest = self._locate(split.path)
            reply = self.sim.handle(request)
        except _SignInPage:
            page = b"<html><head><title>Azure DevOps Services | Sign In</title></head><body></body></html>"
            reply = _Reply(
                203,
                None,
                stream=iter([page]),
                content_type="text/html; charset=utf-8",
                headers={"Content-Length": str(len(page))},
            )
        except AdoError as error:
            reply = _Reply(error.status, error.body(), error.headers)
        except Exception as exc:  # a simulator bug: answer like the service does, keep it for the test to see
            self.sim.errors.append(exc)
            reply = _Reply(500, AdoError(500, "TF400898: An Internal Error Occurred.", "InternalErrorException").body())
        try:
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a held request after its read timeout)

    def _locate(self, path: str) -> tuple[str | None, list[str]]:
        base = self.sim.base_path
        if not (path == base or path.startswith(base + "/")):
            raise AdoError(
                404,
                "The resource cannot be found.",
                "HttpException",
                "System.Web.HttpException, System.Web",
                event_id=0,
            )
        parts = [unquote(part) for part in path[len(base) :].split("/") if part]
        if "_apis" not in parts:
            raise AdoError(
                404,
                "The resource cannot be found.",
                "HttpException",
                "System.Web.HttpException, System.Web",
                event_id=0,
            )
        at = parts.index("_apis")
        if at > 2:
            raise AdoError(
                404,
                "The resource cannot be found.",
                "HttpException",
                "System.Web.HttpException, System.Web",
                event_id=0,
            )
        return (parts[0] if at >= 1 else None), parts[at + 1 :]  # parts[1] (team) is accepted and ignored

    def _send(self, reply: _Reply) -> None:
        self.send_response(reply.status)
        headers = {
            "Content-Type": reply.content_type,
            "ActivityId": str(uuid.uuid4()),
            "X-TFS-ProcessId": str(uuid.uuid4()),
            **reply.headers,
        }
        if reply.stream is not None:
            for key, value in headers.items():
                self.send_header(key, value)
            if "Content-Length" not in headers:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in reply.stream:
                if "Content-Length" in headers:
                    self.wfile.write(chunk)
                else:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            if "Content-Length" not in headers:
                self.wfile.write(b"0\r\n\r\n")
            return
        data = b"" if reply.body is None else json.dumps(reply.body).encode()
        if not data:
            headers.pop("Content-Type", None)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _dispatch
