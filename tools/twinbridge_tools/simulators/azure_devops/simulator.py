"""The simulator: state, authentication, routing and rendering on the shared loopback server."""

from __future__ import annotations

import base64
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

from twinbridge_tools.simulators.azure_devops import location, page, resources, wiql, work_items
from twinbridge_tools.simulators.azure_devops.model import (
    PERMISSIONS,
    WEB_API,
    WIQL_LIMIT,
    AdoError,
    AdoRequest,
    Comment,
    Item,
    Reply,
    SignInPage,
    SimUser,
    ado_date,
    initial_fields,
    no_route,
    not_found,
    rule_error,
    to_millis,
)
from twinbridge_tools.simulators.azure_devops.service_hooks import ServiceHooks
from twinbridge_tools.simulators.server import Fault, LoopbackServer, SimRequest, SimResponse

Route = Callable[["AzureDevOpsSimulator", AdoRequest], Reply]
# (method, path after _apis, handler): "#" is a number, "$*" a "$Type" segment, "*" anything.
ROUTES: list[tuple[str, list[str], Route]] = [
    ("GET", ["connectiondata"], location.connection_data),
    ("OPTIONS", [], location.resource_locations),
    ("GET", ["resourceareas"], location.resource_areas),
    ("GET", ["projects"], resources.projects),
    ("GET", ["projects", "*"], resources.project),
    ("POST", ["wit", "wiql"], wiql.run),
    ("POST", ["wit", "workitemsbatch"], work_items.batch),
    ("GET", ["wit", "workitems"], work_items.list_items),
    ("POST", ["wit", "workitems", "$*"], work_items.create),
    ("GET", ["wit", "workitems", "#"], work_items.get_item),
    ("PATCH", ["wit", "workitems", "#"], work_items.update),
    ("DELETE", ["wit", "workitems", "#"], work_items.delete_item),
    ("PATCH", ["wit", "recyclebin", "#"], work_items.restore_item),
    ("GET", ["wit", "workitems", "#", "comments"], resources.list_comments),
    ("POST", ["wit", "workitems", "#", "comments"], resources.add_comment),
    ("GET", ["wit", "workitems", "#", "comments", "#"], resources.get_comment),
    ("PATCH", ["wit", "workitems", "#", "comments", "#"], resources.update_comment),
    ("DELETE", ["wit", "workitems", "#", "comments", "#"], resources.delete_comment),
    ("POST", ["wit", "attachments"], resources.upload),
    ("GET", ["wit", "attachments", "*"], resources.download),
    ("GET", ["wit", "fields"], resources.fields),
    ("GET", ["wit", "fields", "*"], resources.field),
    ("GET", ["wit", "workitemtypes"], resources.types),
    ("GET", ["wit", "workitemtypes", "*"], resources.work_item_type),
    ("GET", ["wit", "workitemtypes", "*", "states"], resources.states),
    ("GET", ["wit", "workitemtypecategories"], resources.categories),
    ("GET", ["wit", "workitemtypecategories", "*"], resources.category),
]
UNVERSIONED = {"connectiondata", ""}  # the location service (connectionData, OPTIONS) needs no api-version
PREVIEW_ONLY = {"comments"}
_RESOURCE_NOT_FOUND = ("The resource cannot be found.", "HttpException", "System.Web.HttpException, System.Web")
_BLOCKED = (
    "TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource 'Core' in "
    "namespace 'User'. For more information on why your request was blocked, see the topic \"Rate limits\" on the "
    "Microsoft Web site (https://go.microsoft.com/fwlink/?LinkId=823950)."
)
_FRAMEWORK = "Microsoft.TeamFoundation.Framework.Server"


class AzureDevOpsSimulator(LoopbackServer):
    """Serves ``{url}/{project}/_apis/wit/...`` like dev.azure.com/{org} (or ``/tfs/{collection}`` for Server).

    State lives in memory; every mutation made over HTTP bumps ``rev``, keeps a revision (for ``asOf``) and emits the
    matching service-hook event. Faults come from the shared ``faults`` API (server.py). Tests reach into state only
    through the public helpers below.
    """

    def __init__(
        self,
        *,
        organization: str = "fabrikam",
        project: str = "Fabrikam",
        base_path: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__()
        self.organization = organization
        self.base_path = (base_path or f"/{organization}").rstrip("/")
        self.projects: dict[str, str] = {}
        self.add_project(project)
        self.project = project
        self.clock = clock or (lambda: datetime.now(UTC))
        self.users: list[SimUser] = []
        self.items: dict[int, Item] = {}
        self.attachments: dict[str, tuple[str, bytes, datetime]] = {}
        self.comments_page_size = 200
        self.wiql_limit = WIQL_LIMIT
        self.collection_id = str(uuid.uuid4())
        self.account_id = str(uuid.uuid4())
        self.hooks = ServiceHooks(self)
        self.lock = threading.RLock()
        self._next_id = 1
        self._next_comment = 1
        self.next_relation = 1000

    # ------------------------------------------------------------------------------------------- lifecycle

    def start(self) -> AzureDevOpsSimulator:
        super().start()
        self.hooks.start()
        return self

    def stop(self) -> None:
        super().stop()
        self.hooks.stop()

    def __enter__(self) -> AzureDevOpsSimulator:
        return self.start()

    @property
    def origin(self) -> str:
        return LoopbackServer.url.fget(self)  # type: ignore[attr-defined]

    @property
    def url(self) -> str:
        """The organization (Services) or collection (Server) URL: what the client takes as ``base_url``."""
        return self.origin + self.base_path

    def now(self) -> datetime:
        """The clock at the precision the REST API returns: what every stored timestamp is cut to."""
        return to_millis(self.clock())

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
        """Create items directly (no events), ``ChangedDate`` = changed + i*step (to the millisecond); returns ids."""
        author = author or self.users[0]
        ids = []
        with self.lock:
            for index in range(count):
                when = to_millis(changed + step * index)
                item = self.new_item(project or self.project, type_name, author, when)
                item.fields["System.Title"] = f"Seeded {type_name} {index + 1}"
                item.snapshot()
                ids.append(item.id)
        return ids

    def item_fields(self, item_id: int) -> dict[str, Any]:
        with self.lock:
            return dict(self.items[item_id].fields)

    def attachment_bytes(self, attachment_id: str) -> bytes:
        return self.attachments[attachment_id][1]

    def field_names(self) -> set[str]:
        """The names of every field an item carries (custom fields included)."""
        with self.lock:
            return {name for item in self.items.values() for name in item.fields}

    # ------------------------------------------------------------------------------------------- dispatch

    def handle(self, request: SimRequest) -> SimResponse:
        query = {key: values[-1] for key, values in request.query.items()}
        ado = AdoRequest(request.method, request.path, query, request.headers, request.body)
        try:
            reply = self._answer(ado)
        except SignInPage:
            page_html = b"<html><head><title>Azure DevOps Services | Sign In</title></head><body></body></html>"
            reply = Reply(203, stream=iter([page_html]), length=len(page_html), content_type="text/html; charset=utf-8")
        except AdoError as error:
            reply = Reply(error.status, error.body(), error.headers)
        return _response(reply)

    def _answer(self, request: AdoRequest) -> Reply:
        shown = page.route(self, request)  # the read-only HTML page behind an item's link (no auth, simulator only)
        if shown is not None:
            return shown
        request.project, request.rest = self._locate(request.path)
        request.user = self._authenticate(request)
        route = self._route(request)
        with self.lock:
            return route(self, request)

    def _locate(self, path: str) -> tuple[str | None, list[str]]:
        base = self.base_path.lower()  # organization and collection names are case-insensitive
        if not (path.lower() == base or path.lower().startswith(base + "/")):
            raise AdoError(404, *_RESOURCE_NOT_FOUND, event_id=0)
        parts = [unquote(part) for part in path[len(base) :].split("/") if part]
        if "_apis" not in parts or parts.index("_apis") > 2:
            raise AdoError(404, *_RESOURCE_NOT_FOUND, event_id=0)
        at = parts.index("_apis")
        return (parts[0] if at >= 1 else None), parts[at + 1 :]  # parts[1] (team) is accepted and ignored

    def _authenticate(self, request: AdoRequest) -> SimUser:
        header = request.header("authorization")
        if header.lower().startswith("basic "):
            try:
                _, _, token = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                token = ""
            for user in self.users:
                if token and user.pat == token:
                    return user
        elif not header and request.header("x-tfs-fedauthredirect").lower() != "suppress":
            raise SignInPage()
        raise AdoError(
            401,
            "TF400813: The user '' is not authorized to access this resource.",
            "UnauthorizedRequestException",
            f"{_FRAMEWORK}.UnauthorizedRequestException, {_FRAMEWORK}",
            event_id=3000,
            headers={"WWW-Authenticate": 'Basic realm="https://simulator.dev.azure.com/"'},
        )

    def _route(self, request: AdoRequest) -> Route:
        rest = [part.lower() for part in request.rest]
        for method, pattern, handler in ROUTES:
            fits = len(pattern) == len(rest) and all(_segment_matches(p, s) for p, s in zip(pattern, rest, strict=True))
            if method == request.method and fits:
                if (pattern[0] if pattern else "") not in UNVERSIONED:
                    self._check_version(request, preview=bool(PREVIEW_ONLY & set(pattern[-2:])))
                return handler
        raise no_route(request.path)

    @staticmethod
    def _check_version(request: AdoRequest, *, preview: bool) -> None:
        """The api-version comes in the query or, the way Microsoft's SDKs send it, in ``Accept: ...;api-version=``."""
        accepted = re.search(r";\s*api-version=([^;,\s]+)", request.header("accept"))
        version = request.query.get("api-version") or (accepted.group(1) if accepted else None)
        if not version:
            raise AdoError(
                400,
                "VS800075: No api-version was supplied for the request. An api-version is required.",
                "VssVersionNotSpecifiedException",
                f"{WEB_API}.VssVersionNotSpecifiedException, {WEB_API}",
                event_id=3000,
            )
        if preview and "preview" not in version:
            raise AdoError(
                400,
                f'The requested version "{version}" of the resource is under preview. The -preview '
                'flag must be supplied in the api-version for such requests. For example: "7.1-preview"',
                "VssInvalidPreviewVersionException",
                f"{WEB_API}.VssInvalidPreviewVersionException, {WEB_API}",
                event_id=3000,
            )

    # ------------------------------------------------------------------------------------------- faults, bugs

    def fault_response(self, fault: Fault) -> SimResponse:
        """429 carries ADO's X-RateLimit-* headers and TF400733; other statuses TF400898 (an internal error)."""
        headers = dict(fault.headers)
        if fault.status == 429:
            delay = float(headers.get("Retry-After") or 0)
            headers = {
                "X-RateLimit-Resource": "Core",
                "X-RateLimit-Delay": "0",
                "X-RateLimit-Limit": "200",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int(self.clock().timestamp() + delay)),
                **headers,
            }
            error = AdoError(
                429, _BLOCKED, "RequestBlockedException", f"{_FRAMEWORK}.RequestBlockedException, {_FRAMEWORK}", 3000
            )
        else:
            error = AdoError(
                fault.status,
                f"TF400898: An Internal Error Occurred. Activity Id: {uuid.uuid4()}.",
                "InternalErrorException",
                f"{_FRAMEWORK}.InternalErrorException, {_FRAMEWORK}",
                event_id=0,
            )
        return _response(Reply(fault.status, error.body(), headers))

    def internal_error(self, exc: Exception) -> SimResponse:
        error = AdoError(500, "TF400898: An Internal Error Occurred.", "InternalErrorException")
        return _response(Reply(500, error.body()))

    # ------------------------------------------------------------------------------------------- access

    def project_of(self, request: AdoRequest, required: bool = True) -> str | None:
        """The route's project (name or id); a user without ``browse`` sees no project at all (like ADO)."""
        name = request.project
        if name is None and not required:
            return None
        resolved = next((p for p, pid in self.projects.items() if (name or "").lower() in (p.lower(), pid)), None)
        if resolved is None or "browse" not in request.user.permissions:
            raise _no_project(name or "")
        return resolved

    def visible_item(self, request: AdoRequest, raw_id: str) -> Item:
        self.project_of(request, required=False)
        item = self.items.get(int(raw_id)) if raw_id.isdigit() else None
        if item is None or item.deleted or "browse" not in request.user.permissions:
            raise not_found(raw_id)
        if request.project and request.project.lower() not in (item.project.lower(), self.projects[item.project]):
            raise not_found(raw_id)
        return item

    @staticmethod
    def require(request: AdoRequest, permission: str) -> None:
        if permission not in request.user.permissions:
            where = {"comment": "add comments to work items", "attach": "add attachments to work items"}
            what = where.get(permission, "save work items")
            message = f"TF237111: The current user does not have permissions to {what} under the specified area path."
            raise AdoError(403, message, "WorkItemSecurityException")

    # ------------------------------------------------------------------------------------------- rendering

    def api(self, project: str | None = None) -> str:
        return f"{self.url}/{quote(self.projects[project])}/_apis" if project else f"{self.url}/_apis"

    def html_url(self, item_id: int) -> str:
        return f"{self.url}/web/wi.aspx?pcguid={self.collection_id}&id={item_id}"

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

    def render_value(self, name: str, value: Any, as_string: bool = False) -> Any:
        if isinstance(value, SimUser):
            return value.identity_string() if as_string else self.identity_ref(value)
        if isinstance(value, datetime):
            return ado_date(value)
        return value

    def render_fields(
        self, fields: dict[str, Any], only: list[str] | None = None, as_string: bool = False, item_id: int | None = None
    ) -> dict[str, Any]:
        if only is not None:
            values = {"System.Id": item_id, **fields}
            return {name: self.render_value(name, values[name], as_string) for name in only if name in values}
        return {name: self.render_value(name, value, as_string) for name, value in fields.items()}

    def links(self, item: Item) -> dict[str, Any]:
        api = self.api()
        return {
            "self": {"href": f"{api}/wit/workItems/{item.id}"},
            "workItemUpdates": {"href": f"{api}/wit/workItems/{item.id}/updates"},
            "workItemRevisions": {"href": f"{api}/wit/workItems/{item.id}/revisions"},
            "workItemHistory": {"href": f"{api}/wit/workItems/{item.id}/history"},
            "workItemComments": {"href": f"{api}/wit/workItems/{item.id}/comments"},
            "html": {"href": self.html_url(item.id)},
            "workItemType": {
                "href": f"{self.api(item.project)}/wit/workItemTypes/{quote(item.fields['System.WorkItemType'])}"
            },
            "fields": {"href": f"{api}/wit/fields"},
        }

    def render_item(
        self,
        item: Item,
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
        rendered = self.render_fields(values, fields, item_id=item.id)
        body: dict[str, Any] = {"id": item.id, "rev": rev, "fields": rendered}
        if expand in ("relations", "all") and relations:
            body["relations"] = [dict(relation) for relation in relations]
        if links or expand in ("links", "all"):
            body["_links"] = self.links(item)
        body["url"] = f"{self.api()}/wit/workItems/{item.id}"
        return body

    def render_comment(self, comment: Comment, project: str) -> dict[str, Any]:
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
            "url": f"{self.api(project)}/wit/workItems/{comment.work_item_id}/comments/{comment.id}",
        }

    # ------------------------------------------------------------------------------------------- state

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
        raise rule_error(
            "System.AssignedTo",
            "Required, HasValues, LimitedToValues, AllowsOldValue, "
            f"InvalidIdentity. The identity value '{value}' is an unknown identity",
        )

    def new_item(
        self,
        project: str,
        type_name: str,
        author: SimUser,
        when: datetime,
        fields: dict[str, Any] | None = None,
        relations: list[dict[str, Any]] | None = None,
    ) -> Item:
        item = Item(self._next_id, fields or initial_fields(project, type_name, author, when), relations or [])
        self._next_id += 1
        self.items[item.id] = item
        return item

    def add_comment_record(self, item: Item, text: str, user: SimUser, when: datetime) -> Comment:
        comment = Comment(self._next_comment, item.id, text, user, when, user, when)
        self._next_comment += 1
        item.comments[comment.id] = comment
        item.fields["System.CommentCount"] = sum(1 for c in item.comments.values() if not c.deleted)
        return comment


def _no_project(name: str) -> AdoError:
    core = "Microsoft.TeamFoundation.Core.WebApi"
    return AdoError(
        404,
        f"VS800075: The project with id 'vstfs:///Classification/TeamProject/{name}' does not "
        "exist, or you do not have permission to access it.",
        "ProjectDoesNotExistWithNameException",
        f"{core}.ProjectDoesNotExistWithNameException, {core}",
        event_id=3000,
    )


def _segment_matches(pattern: str, segment: str) -> bool:
    if pattern == "#":
        return segment.isdigit()
    if pattern == "$*":
        return segment.startswith("$") and len(segment) > 1
    return pattern == "*" or pattern == segment


def _response(reply: Reply) -> SimResponse:
    headers = {"Content-Type": reply.content_type, "ActivityId": str(uuid.uuid4()), **reply.headers}
    if reply.stream is not None:
        return SimResponse(reply.status, reply.stream, headers, length=reply.length)
    if reply.body is None:
        headers.pop("Content-Type")
        return SimResponse(reply.status, b"", headers)
    return SimResponse.json(reply.status, reply.body, headers)
