"""A loopback Jira (Cloud REST v3 or Data Center REST v2): the REST subset the client uses, webhooks, faults."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import itertools
import json
import re
import threading
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from twinbridge_tools.simulators.jira.adf import adf_problem
from twinbridge_tools.simulators.jira.jql import JqlError
from twinbridge_tools.simulators.jira.jql import parse as jql_parse
from twinbridge_tools.simulators.jira.pages import HEADERS as PAGE_HEADERS
from twinbridge_tools.simulators.jira.pages import issue_page, not_found_page
from twinbridge_tools.simulators.jira.render import render_html
from twinbridge_tools.simulators.server import LoopbackServer, SimRequest, SimResponse

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


@dataclass
class SimProject:
    id: str
    key: str
    name: str
    issue_types: list[tuple[str, str, bool]]  # (id, name, subtask)
    default_type_id: str
    statuses: list[tuple[str, str]]  # (id, name); the first is where issues start
    transitions: list[tuple[str, str, str]]  # (id, name, target status name): global transitions


@dataclass
class SimComment:
    id: str
    author: SimUser
    body: Any
    created: datetime
    updated: datetime
    update_author: SimUser | None = None


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


class JiraSimulator(LoopbackServer):
    """One Jira site. ``flavour`` "cloud" serves /rest/api/3 (ADF), "dc" serves /rest/api/2 (wiki markup).

    ``public_base_url`` is what Jira puts in ``self``/``content`` links (defaults to ``url``), so an alternative
    base URL can be tested. Webhooks go to ``webhook_url`` (if set) synchronously after each change and are
    recorded in ``webhooks`` either way; Cloud ones are signed with ``webhook_secret`` when given.
    """

    def __init__(self, flavour: Flavour = "cloud", *, webhook_url: str | None = None,
                 webhook_secret: str | None = None, public_base_url: str | None = None, page_cap: int = 50,
                 clock: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self.flavour = flavour
        self.api = "/rest/api/3" if flavour == "cloud" else "/rest/api/2"
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.page_cap = page_cap
        self.clock = clock or (lambda: datetime.now(UTC))
        self.users: dict[str, SimUser] = {}
        self.projects: dict[str, SimProject] = {}
        self.issues: dict[str, SimIssue] = {}
        self.attachments: dict[str, SimAttachment] = {}
        self.webhooks: list[dict[str, Any]] = []  # {"event", "payload", "headers", "body", "delivered"}
        self._public = public_base_url
        self._ids = itertools.count(10000)
        self._numbers: dict[str, itertools.count[int]] = {}
        self._lock = threading.RLock()
        self._pending = threading.local()
        self.cloud_id = str(uuid.uuid4())
        self._links = threading.local()
        self._routes = self._route_table()

    # ------------------------------------------------------------------------------------------- set-up API

    @property
    def site_url(self) -> str:
        """The site people browse and API tokens call (``public_base_url`` when given)."""
        return (self._public or self.url).rstrip("/")

    @property
    def gateway_url(self) -> str:
        """Cloud: where this simulator plays Atlassian's API gateway (``https://api.atlassian.com``): itself."""
        return self.url

    @property
    def base_url(self) -> str:
        """The base of the API links in the current answer: the site, or the gateway for an OAuth call."""
        return getattr(self._links, "base", None) or self.site_url

    def add_user(self, account_id: str, display_name: str, email: str, secret: str, *,
                 permissions: set[str] | frozenset[str] = ALL_PERMISSIONS, admin: bool = False,
                 time_zone: str = "UTC") -> SimUser:
        user = SimUser(account_id, display_name, email, secret, set(permissions), admin, time_zone)
        self.users[account_id] = user
        return user

    def add_project(self, key: str, name: str | None = None, *,
                    issue_types: tuple[str, ...] = ("Task", "Bug", "Story", "Sub-task"), default_type: str = "Task",
                    statuses: tuple[str, ...] = ("To Do", "In Progress", "Done"),
                    transitions: tuple[tuple[str, str], ...] | None = None) -> SimProject:
        """Transitions are global ``(name, target)`` pairs, by default one to each status ("Start progress"…)."""
        types = [(str(next(self._ids)), t, t.lower().startswith("sub")) for t in issue_types]
        pairs = transitions or tuple((f"Move to {s}", s) for s in statuses)
        project = SimProject(
            id=str(next(self._ids)), key=key, name=name or key, issue_types=types,
            default_type_id=next(i for i, n, _ in types if n == default_type),
            statuses=[(str(next(self._ids)), s) for s in statuses],
            transitions=[(str(11 + 10 * n), name, target) for n, (name, target) in enumerate(pairs)],
        )
        self.projects[key] = project
        return project

    def seed_issue(self, project: str, summary: str, *, reporter: str, updated: datetime | None = None,
                   description: Any = None, type_name: str | None = None) -> SimIssue:
        """Create an issue directly (no webhook): for paging tests."""
        with self._lock:
            proj = self.projects[project]
            now = self.clock()
            type_id = next(i for i, n, _ in proj.issue_types if n == type_name) if type_name else proj.default_type_id
            issue = SimIssue(str(next(self._ids)), f"{project}-{self._next_number(proj)}", proj, type_id, summary,
                             description, proj.statuses[0][1], self.users[reporter], updated or now, updated or now)
            self.issues[issue.key] = issue
            return issue

    def delete_issue(self, key: str, *, by: str) -> None:
        """Delete as a person would in the UI (emits ``jira:issue_deleted``)."""
        with self._lock:
            issue = self.issues.get(key)
            if issue is None:
                raise KeyError(key)
            self._emit("jira:issue_deleted", {"user": self._user_json(self.users[by]),
                                              "issue": self._webhook_issue(issue)})
            del self.issues[key]
        self._deliver_pending()

    # ------------------------------------------------------------------------------------------- dispatch

    def fault_body(self, status: int) -> SimResponse:
        messages = {429: "Rate limit exceeded.", 503: "Service unavailable."}
        body = {"errorMessages": [messages.get(status, "Internal server error")], "errors": {}}
        return SimResponse.json(status, body)

    def handle(self, request: SimRequest) -> SimResponse:
        if request.method == "GET" and (page := _BROWSE.fullmatch(request.path)):
            return self._browse(page["key"])
        if self.flavour == "cloud" and request.path == "/oauth/token/accessible-resources":
            return self._accessible_resources(request)
        path, links, scheme = request.path, None, "basic"
        if self.flavour == "cloud" and (gateway := _GATEWAY.fullmatch(request.path)):
            if gateway["cloud_id"] != self.cloud_id:
                return SimResponse.json(404, {"code": 404, "message": "Not Found"})
            path, links, scheme = gateway["path"], f"{self.gateway_url}/ex/jira/{self.cloud_id}", "bearer"
        elif self.flavour == "dc":
            path, scheme = _LATEST.sub(self.api + "/", path, count=1), "any"
        user = self._authenticate(request, scheme)
        if user is None and not (request.method == "GET" and path == f"{self.api}/serverInfo"):
            if scheme == "bearer":
                return SimResponse.json(401, {"code": 401, "message": "Unauthorized"})
            return SimResponse.json(401, {"errorMessages": ["You are not authenticated. Authentication required to "
                                                            "perform this operation."], "errors": {}},
                                    {"WWW-Authenticate": 'Basic realm="protected-by-jira"'})
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match and method == request.method:
                self._links.base = links
                try:
                    with self._lock:
                        return handler(request, user, **match.groupdict())
                except _Reply as reply:
                    return reply.response
                finally:
                    self._links.base = None
                    self._deliver_pending()  # outside the lock: a receiver may call back into the simulator
        return SimResponse.json(404, {"errorMessages": ["null for uri: " + path], "errors": {}})

    def _route_table(self) -> list[tuple[str, re.Pattern[str], Callable[..., SimResponse]]]:
        a = re.escape(self.api)
        key = r"(?P<key>[^/]+)"
        routes = [
            ("GET", f"{a}/serverInfo", self._server_info),
            ("GET", f"{a}/field", self._field_list),
            ("GET", f"{a}/myself", self._myself),
            ("GET", f"{a}/mypermissions", self._mypermissions),
            ("POST", f"{a}/issue", self._create_issue),
            ("GET", f"{a}/issue/{key}", self._get_issue),
            ("PUT", f"{a}/issue/{key}", self._update_issue),
            ("DELETE", f"{a}/issue/{key}", self._delete_issue),
            ("GET", f"{a}/issue/{key}/transitions", self._get_transitions),
            ("POST", f"{a}/issue/{key}/transitions", self._do_transition),
            ("GET", f"{a}/issue/{key}/comment", self._list_comments),
            ("POST", f"{a}/issue/{key}/comment", self._add_comment),
            ("GET", f"{a}/issue/{key}/comment/(?P<cid>[^/]+)", self._get_comment),
            ("PUT", f"{a}/issue/{key}/comment/(?P<cid>[^/]+)", self._update_comment),
            ("DELETE", f"{a}/issue/{key}/comment/(?P<cid>[^/]+)", self._delete_comment),
            ("POST", f"{a}/issue/{key}/attachments", self._upload),
            ("GET", f"{a}/attachment/(?P<aid>[0-9]+)", self._attachment_meta),
            ("DELETE", f"{a}/attachment/(?P<aid>[0-9]+)", self._delete_attachment),
            ("GET", f"{a}/issue/createmeta/{key}/issuetypes", self._createmeta),
            ("GET", f"{a}/project/{key}", self._project),
            ("GET", f"{a}/project/{key}/statuses", self._project_statuses),
            ("GET", f"{a}/issuetype", self._issue_types),
            ("GET", f"{a}/issuetype/(?P<tid>[0-9]+)", self._issue_type),
            ("GET", f"{a}/user/search", self._user_search),
        ]
        if self.flavour == "cloud":
            routes += [
                ("POST", f"{a}/search/jql", self._search_jql),
                ("GET", f"{a}/search/jql", self._search_jql),
                ("GET", f"{a}/attachment/content/(?P<aid>[0-9]+)", self._content),
                ("GET", f"{a}/issuetypescheme/project", self._issuetypescheme_project),
            ]
        else:
            routes += [
                ("GET", f"{a}/search", self._search_dc),
                ("POST", f"{a}/search", self._search_dc),
                ("GET", r"/secure/attachment/(?P<aid>[0-9]+)/(?P<name>[^/]+)", self._content),
            ]
        return [(m, re.compile(p), h) for m, p, h in routes]  # type: ignore[misc]  # bound methods, each a handler

    def _authenticate(self, request: SimRequest, scheme: str = "any") -> SimUser | None:
        """``scheme`` "basic": Cloud's site URL (API tokens; a bearer token is refused, as Cloud does), "bearer":
        Cloud's API gateway (OAuth 2.0 access tokens only), "any": Data Center (PAT or basic)."""
        header = request.headers.get("Authorization") or ""
        kind, _, value = header.partition(" ")
        if kind.lower() == "bearer" and scheme in ("bearer", "any"):
            return next((u for u in self.users.values() if hmac.compare_digest(u.secret, value)), None)
        if kind.lower() == "basic" and scheme in ("basic", "any"):
            try:
                name, _, secret = base64.b64decode(value).decode().partition(":")
            except ValueError:
                return None
            login = (lambda u: u.email) if self.flavour == "cloud" else (lambda u: u.account_id)
            return next((u for u in self.users.values() if login(u) == name and hmac.compare_digest(u.secret, secret)),
                        None)
        return None

    def _browse(self, key: str) -> SimResponse:
        """The read-only HTML page behind ``/browse/KEY``, for people following the demo's links. A local demo
        simulator only: it needs no log-in (real Jira would ask for one); everything on it is escaped."""
        with self._lock:
            issue = self.issues.get(key)
            if issue is None:
                return SimResponse(404, not_found_page(key).encode(), dict(PAGE_HEADERS))
            type_name = next(n for i, n, _ in issue.project.issue_types if i == issue.type_id)
            page = issue_page(issue, type_name, self.flavour)
        return SimResponse(200, page.encode(), dict(PAGE_HEADERS))

    def _accessible_resources(self, request: SimRequest) -> SimResponse:
        """Atlassian's ``GET /oauth/token/accessible-resources``: the sites an OAuth 2.0 token may call."""
        if request.method != "GET":
            return SimResponse.json(405, {"code": 405, "message": "Method Not Allowed"})
        if self._authenticate(request, "bearer") is None:
            return SimResponse.json(401, {"code": 401, "message": "Unauthorized"})
        return SimResponse.json(200, [{"id": self.cloud_id, "url": self.site_url, "name": "simulated-site",
                                       "scopes": ["read:jira-work", "write:jira-work", "read:jira-user"],
                                       "avatarUrl": f"{self.site_url}/images/site-avatar.png"}])

    # ------------------------------------------------------------------------------------------- helpers

    def _next_number(self, project: SimProject) -> int:
        return next(self._numbers.setdefault(project.key, itertools.count(1)))

    def _issue(self, key: str, user: SimUser) -> SimIssue:
        issue = self.issues.get(key) or next((i for i in self.issues.values() if i.id == key), None)
        if issue is None or "BROWSE_PROJECTS" not in user.permissions:
            raise _Reply(404, "Issue does not exist or you do not have permission to see it.")
        return issue

    def _require(self, user: SimUser, permission: str, status: int, message: str) -> None:
        if permission not in user.permissions:
            raise _Reply(status, message)

    def _user_json(self, user: SimUser | None) -> dict[str, Any] | None:
        if user is None:
            return None
        avatars = {size: f"{self.base_url}/avatar/{user.account_id}?s={size}"
                   for size in ("48x48", "24x24", "16x16", "32x32")}
        if self.flavour == "cloud":
            return {"self": f"{self.base_url}{self.api}/user?accountId={user.account_id}", "accountId": user.account_id,
                    "emailAddress": user.email, "avatarUrls": avatars, "displayName": user.display_name,
                    "active": True, "timeZone": user.time_zone, "accountType": "atlassian"}
        return {"self": f"{self.base_url}{self.api}/user?username={user.account_id}", "name": user.account_id,
                "key": f"JIRAUSER{abs(hash(user.account_id)) % 100000}", "emailAddress": user.email,
                "avatarUrls": avatars, "displayName": user.display_name, "active": True, "timeZone": user.time_zone}

    def _status_json(self, issue: SimIssue, name: str) -> dict[str, Any]:
        sid = next((i for i, n in issue.project.statuses if n == name), "1")
        cat_id, cat_key, colour = _STATUS_CATEGORY.get(name, (4, "indeterminate", "yellow"))
        return {"self": f"{self.base_url}{self.api}/status/{sid}", "description": "", "name": name, "id": sid,
                "iconUrl": f"{self.base_url}/images/icons/statuses/generic.png",
                "statusCategory": {"self": f"{self.base_url}{self.api}/statuscategory/{cat_id}", "id": cat_id,
                                   "key": cat_key, "colorName": colour, "name": name}}

    def _type_json(self, project: SimProject, type_id: str) -> dict[str, Any]:
        _, name, subtask = next(t for t in project.issue_types if t[0] == type_id)
        return {"self": f"{self.base_url}{self.api}/issuetype/{type_id}", "id": type_id, "description": "",
                "iconUrl": f"{self.base_url}/images/icons/issuetypes/{name.lower()}.svg", "name": name,
                "subtask": subtask, "avatarId": 10318}

    def _project_json(self, project: SimProject) -> dict[str, Any]:
        return {"self": f"{self.base_url}{self.api}/project/{project.id}", "id": project.id, "key": project.key,
                "name": project.name, "projectTypeKey": "software",
                "avatarUrls": {"48x48": f"{self.base_url}/secure/projectavatar?pid={project.id}"}}

    def _attachment_json(self, att: SimAttachment) -> dict[str, Any]:
        content = (f"{self.base_url}{self.api}/attachment/content/{att.id}" if self.flavour == "cloud"
                   else f"{self.base_url}/secure/attachment/{att.id}/{urllib.parse.quote(att.filename)}")
        return {"self": f"{self.base_url}{self.api}/attachment/{att.id}", "id": att.id, "filename": att.filename,
                "author": self._user_json(att.author), "created": _time(att.created), "size": len(att.data),
                "mimeType": att.mime_type, "content": content}

    def _comment_json(self, issue: SimIssue, comment: SimComment, *, webhook: bool = False) -> dict[str, Any]:
        data = {"self": f"{self.base_url}{self.api}/issue/{issue.id}/comment/{comment.id}", "id": comment.id,
                "author": self._user_json(comment.author),
                "body": _plain(comment.body) if webhook and self.flavour == "cloud" else comment.body,
                "updateAuthor": self._user_json(comment.update_author or comment.author),
                "created": _time(comment.created), "updated": _time(comment.updated)}
        if self.flavour == "cloud":
            data["jsdPublic"] = True
        return data

    def _fields(self, issue: SimIssue, *, webhook: bool = False) -> dict[str, Any]:
        issue_url = f"{self.base_url}{self.api}/issue/{issue.key}"
        fields: dict[str, Any] = {
            "statuscategorychangedate": _time(issue.created), "fixVersions": [], "resolution": None,
            "lastViewed": None,
            "priority": {"self": f"{self.base_url}{self.api}/priority/3", "name": issue.priority, "id": "3",
                         "iconUrl": f"{self.base_url}/images/icons/priorities/medium.svg"},
            "labels": list(issue.labels), "timeestimate": None, "aggregatetimeoriginalestimate": None,
            "versions": [], "issuelinks": [], "assignee": self._user_json(issue.assignee),
            "status": self._status_json(issue, issue.status), "components": [], "aggregatetimeestimate": None,
            "creator": self._user_json(issue.reporter), "subtasks": [], "reporter": self._user_json(issue.reporter),
            "aggregateprogress": {"progress": 0, "total": 0}, "progress": {"progress": 0, "total": 0},
            "votes": {"self": f"{issue_url}/votes", "votes": 0, "hasVoted": False},
            "worklog": {"startAt": 0, "maxResults": 20, "total": 0, "worklogs": []},
            "issuetype": self._type_json(issue.project, issue.type_id), "timespent": None,
            "aggregatetimespent": None, "project": self._project_json(issue.project), "resolutiondate": None,
            "workratio": -1, "watches": {"self": f"{issue_url}/watchers", "watchCount": 1, "isWatching": True},
            "created": _time(issue.created), "updated": _time(issue.updated), "timeoriginalestimate": None,
            "description": _plain(issue.description) if webhook and self.flavour == "cloud" else issue.description,
            "timetracking": {}, "security": None,
            "attachment": [self._attachment_json(a) for a in issue.attachments],
            "summary": issue.summary, "environment": None, "duedate": None,
            "comment": {"comments": [self._comment_json(issue, c, webhook=webhook) for c in issue.comments],
                        "maxResults": len(issue.comments), "total": len(issue.comments), "startAt": 0},
        }
        if self.flavour == "dc":  # Cloud-only system fields
            del fields["security"], fields["statuscategorychangedate"]
        fields.update(issue.custom)
        return fields

    def _issue_json(self, issue: SimIssue, wanted: str | None = None, expand: str | None = None,
                    user: SimUser | None = None) -> dict[str, Any]:
        all_fields = self._fields(issue)
        names = [n for n in (wanted or "").split(",") if n]
        fields = all_fields
        if names and not {"*all", "*navigable"} & set(names):
            fields = {k: v for k, v in all_fields.items() if k in names}
        data: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue.id, "self": f"{self.base_url}{self.api}/issue/{issue.id}", "key": issue.key, "fields": fields}
        for option in _expansions(expand):
            if option == "renderedFields":
                data["renderedFields"] = {k: self._rendered(issue, k) for k in fields}
            elif option == "names":
                data["names"] = {k: _FIELD_NAMES.get(k, k) for k in fields}
            elif option == "schema":
                data["schema"] = {k: {"type": _FIELD_TYPES.get(k, "any"), "system": k} for k in fields}
            elif option == "changelog":
                histories = [{"id": h["id"], "author": self._user_json(h["author"]), "created": _time(h["created"]),
                              "items": [{k: v for k, v in i.items() if v is not None} for i in h["items"]]}
                             for h in issue.changelog]  # absent rather than null: the documents allow no nulls
                data["changelog"] = {"startAt": 0, "maxResults": len(histories), "total": len(histories),
                                     "histories": histories}
            elif option == "transitions":
                data["transitions"] = [{"id": tid, "name": name, "to": self._status_json(issue, target)}
                                       for tid, name, target in self._transitions_for(issue, user)] if user else []
        return data

    def _rendered(self, issue: SimIssue, field_id: str) -> Any:
        """``renderedFields``: rich text as HTML (escaped), dates as Jira shows them; other fields are null."""
        if field_id == "description":
            return render_html(issue.description)
        if field_id == "comment":
            return {"comments": [{**self._comment_json(issue, c), "body": render_html(c.body)} for c in issue.comments],
                    "maxResults": len(issue.comments), "total": len(issue.comments), "startAt": 0}
        if field_id in ("created", "updated"):
            return f"{getattr(issue, field_id):%d/%b/%y %I:%M %p}"
        return None

    def _webhook_issue(self, issue: SimIssue) -> dict[str, Any]:
        return {"id": issue.id, "self": f"{self.base_url}/rest/api/2/issue/{issue.id}", "key": issue.key,
                "fields": self._fields(issue, webhook=True)}

    def _short_issue(self, issue: SimIssue) -> dict[str, Any]:
        full = self._fields(issue, webhook=True)
        return {"id": issue.id, "self": f"{self.base_url}/rest/api/2/issue/{issue.id}", "key": issue.key,
                "fields": {k: full[k] for k in ("summary", "issuetype", "project", "assignee", "priority", "status")}}

    def _touch(self, issue: SimIssue) -> None:
        issue.updated = self.clock()

    # ------------------------------------------------------------------------------------------- webhooks

    def _emit(self, event: str, body: dict[str, Any]) -> None:
        payload = {"timestamp": int(self.clock().timestamp() * 1000), "webhookEvent": event, **body}
        raw = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
                   "X-Atlassian-Webhook-Retry": "0", "User-Agent": "Atlassian Webhook HTTP Client"}
        if self.flavour == "cloud" and self.webhook_secret:
            digest = hmac.new(self.webhook_secret.encode(), raw, hashlib.sha256).hexdigest()
            headers["X-Hub-Signature"] = f"sha256={digest}"
        record = {"event": event, "payload": payload, "headers": headers, "body": raw, "delivered": False,
                  "dropped": self.faults.take_webhook_drop()}
        self.webhooks.append(record)
        if not record["dropped"] and self.webhook_url:
            pending = getattr(self._pending, "records", None)
            if pending is None:
                pending = self._pending.records = []
            pending.append(record)

    def _deliver_pending(self) -> None:
        records, self._pending.records = getattr(self._pending, "records", None) or [], []
        for record in records:
            request = urllib.request.Request(self.webhook_url or "", data=record["body"], headers=record["headers"],
                                             method="POST")
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    record["delivered"] = 200 <= response.status < 300
                    record["status"] = response.status
            except OSError as exc:
                record["status"] = getattr(exc, "code", None)

    def _emit_comment(self, event: str, issue: SimIssue, comment: SimComment, user: SimUser) -> None:
        """Cloud sends the comment and a short issue; Server/DC sends no issue (only ``comment.self`` names it),
        and the acting ``user`` on updates and deletes."""
        body: dict[str, Any] = {"comment": self._comment_json(issue, comment, webhook=True)}
        if self.flavour == "cloud":
            body["issue"] = self._short_issue(issue)
        elif event != "comment_created":
            body = {"user": self._user_json(user), **body}
        self._emit(event, body)

    def _issue_event(self, event: str, type_name: str, user: SimUser, issue: SimIssue,
                     items: list[dict[str, Any]], comment: SimComment | None = None) -> None:
        changelog = {"id": str(next(self._ids)), "items": items}
        if event == "jira:issue_updated" and items:
            issue.changelog.append({**changelog, "author": user, "created": self.clock()})
        body: dict[str, Any] = {"issue_event_type_name": type_name, "user": self._user_json(user),
                                "issue": self._webhook_issue(issue), "changelog": changelog}
        if comment is not None:
            body["comment"] = self._comment_json(issue, comment, webhook=True)
        self._emit(event, body)

    # ------------------------------------------------------------------------------------------- identity

    def _server_info(self, request: SimRequest, user: SimUser | None) -> SimResponse:
        """Anonymous callers may ask too (as on Jira); client libraries read ``versionNumbers`` and
        ``deploymentType`` before anything else."""
        now = self.clock().astimezone(UTC)
        if self.flavour == "cloud":
            version, numbers, deployment = "1001.0.0-SNAPSHOT", [1001, 0, 0], "Cloud"
        else:
            version, numbers, deployment = "10.3.12", [10, 3, 12], "Server"
        data: dict[str, Any] = {"baseUrl": self.site_url, "version": version, "versionNumbers": numbers,
                                "deploymentType": deployment,
                                "buildNumber": 100283 if self.flavour == "cloud" else 10030012,
                                "buildDate": "2026-01-05T00:00:00.000+0000", "serverTime": _time(now),
                                "scmInfo": "3f2b1a9c0d", "serverTitle": "Jira"}
        if self.flavour == "cloud":
            data["displayUrl"] = self.site_url
        return SimResponse.json(200, data)

    def _field_list(self, request: SimRequest, user: SimUser) -> SimResponse:
        """The system fields this simulator stores, plus every custom field some issue carries."""
        custom = sorted({k for i in self.issues.values() for k in i.custom})
        fields = [{"id": fid, "key": fid, "name": name, "custom": False, "orderable": orderable, "navigable": True,
                   "searchable": True, "clauseNames": clauses, "schema": {"type": kind, "system": fid}}
                  for fid, name, kind, orderable, clauses in _SYSTEM_FIELDS]
        fields += [{"id": cid, "key": cid, "name": cid, "custom": True, "orderable": True, "navigable": True,
                    "searchable": True, "clauseNames": [f"cf[{cid.removeprefix('customfield_')}]"],
                    "schema": {"type": "any", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
                               "customId": int(cid.removeprefix("customfield_") or 0)}}
                   for cid in custom if cid.removeprefix("customfield_").isdigit()]
        return SimResponse.json(200, fields)

    def _myself(self, request: SimRequest, user: SimUser) -> SimResponse:
        data = self._user_json(user) or {}
        data.update({"locale": "en_US", "groups": {"size": 1, "items": []},
                     "applicationRoles": {"size": 1, "items": []}, "expand": "groups,applicationRoles"})
        return SimResponse.json(200, data)

    def _mypermissions(self, request: SimRequest, user: SimUser) -> SimResponse:
        key = request.param("projectKey")
        if key is not None and key not in self.projects:
            raise _Reply(404, f"No project could be found with key '{key}'.")
        wanted = request.param("permissions")
        if self.flavour == "cloud" and not wanted:
            raise _Reply(400, "The 'permissions' query parameter is required.")
        keys = [k for k in (wanted or "").split(",") if k] or sorted(_DESCRIPTIONS)
        unknown = [k for k in keys if k not in _DESCRIPTIONS]
        if unknown:
            raise _Reply(400, f"Invalid permission key: {unknown[0]}.")
        permissions = {k: {"id": _DESCRIPTIONS[k][1], "key": k, "name": _DESCRIPTIONS[k][0], "type": "PROJECT",
                           "description": f"Ability to {_DESCRIPTIONS[k][0].lower()}.",
                           "havePermission": k in user.permissions} for k in keys}
        return SimResponse.json(200, {"permissions": permissions})

    def _user_search(self, request: SimRequest, user: SimUser) -> SimResponse:
        if self.flavour == "cloud":
            query, account = request.param("query"), request.param("accountId")
            if not (query or account):
                raise _Reply(400, "One of 'query' or 'accountId' must be provided.")
            found = [u for u in self.users.values() if (account and u.account_id == account) or
                     (query and query.casefold() in (u.email.casefold(), u.display_name.casefold()))]
        else:
            name = (request.param("username") or "").casefold()
            if not name:
                raise _Reply(400, "The username query parameter was not provided")
            found = [u for u in self.users.values() if name in (u.account_id.casefold(), u.email.casefold())
                     or u.display_name.casefold().startswith(name)]
        return SimResponse.json(200, [self._user_json(u) for u in found])

    # ------------------------------------------------------------------------------------------- issues

    def _get_issue(self, request: SimRequest, user: SimUser, key: str) -> SimResponse:
        return SimResponse.json(200, self._issue_json(self._issue(key, user), request.param("fields"),
                                                      request.param("expand"), user))

    def _create_issue(self, request: SimRequest, user: SimUser) -> SimResponse:
        fields = (request.json() or {}).get("fields") or {}
        wanted = fields.get("project") or {}
        project = (self.projects.get(str(wanted.get("key") or "")) or
                   next((p for p in self.projects.values() if p.id == str(wanted.get("id"))), None))
        if project is None:
            raise _Reply(400, errors={"project": "valid project is required"})
        if "CREATE_ISSUES" not in user.permissions:
            if self.flavour == "cloud":
                raise _Reply(403, "You do not have permission to create issues in this project.")
            raise _Reply(400, errors={"project": "You do not have permission to create issues in this project."})
        type_id = self._type_id(project, fields.get("issuetype"))
        if type_id is None:
            raise _Reply(400, errors={"issuetype": "Specify a valid issue type"})
        if not fields.get("summary"):
            raise _Reply(400, errors={"summary": "You must specify a summary of the issue."})
        self._check_description(fields.get("description"))
        now = self.clock()
        issue = SimIssue(str(next(self._ids)), f"{project.key}-{self._next_number(project)}", project, type_id,
                         fields["summary"], fields.get("description"), project.statuses[0][1], user, now, now,
                         labels=list(fields.get("labels") or []),
                         priority=(fields.get("priority") or {}).get("name", "Medium"),
                         assignee=self._assignee(fields.get("assignee")),
                         custom={k: v for k, v in fields.items() if k.startswith("customfield_")})
        self.issues[issue.key] = issue
        items = [_item("summary", None, issue.summary), _item("status", None, issue.status, "jira", "status"),
                 _item("reporter", None, user.display_name, "jira", "reporter"),
                 _item("priority", None, issue.priority, "jira", "priority"),
                 _item("description", None, _plain(issue.description))]
        self._issue_event("jira:issue_created", "issue_created", user, issue, items)
        return SimResponse.json(201, {"id": issue.id, "key": issue.key,
                                      "self": f"{self.base_url}{self.api}/issue/{issue.id}"})

    @staticmethod
    def _type_id(project: SimProject, wanted: Any) -> str | None:
        """An issue type given as ``{"name": …}`` or ``{"id": …}``."""
        wanted = wanted if isinstance(wanted, dict) else {}
        return next((i for i, n, _ in project.issue_types if n == wanted.get("name") or i == str(wanted.get("id"))),
                    None)

    def _check_description(self, value: Any) -> None:
        if value is None:
            return
        if self.flavour == "cloud" and not (isinstance(value, dict) and value.get("type") == "doc"):
            raise _Reply(400, errors={"description": "Operation value must be an Atlassian Document (see the "
                                                     "Atlassian Document Format)"})
        if self.flavour == "cloud" and (problem := adf_problem(value)):
            raise _Reply(400, errors={"description": f"The description is not valid ADF: {problem}"})
        if self.flavour == "dc" and not isinstance(value, str):
            raise _Reply(400, errors={"description": "Operation value must be a string"})

    def _assignee(self, value: dict[str, Any] | None) -> SimUser | None:
        if not value:
            return None
        account = value.get("accountId") if self.flavour == "cloud" else value.get("name")
        if account not in self.users:
            raise _Reply(400, errors={"assignee": f"User '{account}' does not exist."})
        return self.users[account]

    def _update_issue(self, request: SimRequest, user: SimUser, key: str) -> SimResponse:
        """``fields`` sets values; ``update`` applies verbs per field (labels: add/remove/set; the other
        fields: set; comment: add). A field in both, an unknown verb or a verb the field does not take is a 400."""
        issue = self._issue(key, user)
        self._require(user, "EDIT_ISSUES", 403, "You do not have permission to edit issues in this project.")
        body = request.json() or {}
        fields, update = body.get("fields") or {}, body.get("update") or {}
        if not isinstance(fields, dict) or not isinstance(update, dict):
            raise _Reply(400, "Can not deserialize the request: 'fields' and 'update' must be objects.")
        both = sorted(set(fields) & set(update))
        if both:
            raise _Reply(400, errors={both[0]: f"Field '{both[0]}' cannot be set in both 'fields' and 'update'."})
        items: list[dict[str, Any]] = []
        comments: list[Any] = []
        for name, operations in update.items():
            if not isinstance(operations, list) or not all(isinstance(o, dict) and len(o) == 1 for o in operations):
                raise _Reply(400, errors={name: "Each update operation must be an object with exactly one verb."})
            for operation in operations:
                [(verb, value)] = operation.items()
                if name == "comment" and verb == "add" and isinstance(value, dict):
                    comments.append(self._check_comment_body(value.get("body")))
                elif name == "labels" and verb in ("add", "remove"):
                    labels = ([*issue.labels, value] if verb == "add" and value not in issue.labels else
                              [x for x in issue.labels if verb == "add" or x != value])
                    self._set_field(issue, "labels", labels, items)
                elif verb == "set" and name != "comment":
                    self._set_field(issue, name, value, items)
                else:
                    raise _Reply(400, errors={name: f"Field '{name}' does not support the operation '{verb}'."})
        for name, value in fields.items():
            self._set_field(issue, name, value, items)
        now = self.clock()
        for comment_body in comments:
            issue.comments.append(SimComment(str(next(self._ids)), user, comment_body, now, now))
        self._touch(issue)
        self._issue_event("jira:issue_updated", "issue_updated", user, issue, items)
        return SimResponse(204)

    def _delete_issue(self, request: SimRequest, user: SimUser, key: str) -> SimResponse:
        issue = self._issue(key, user)
        self._require(user, "DELETE_ISSUES", 403, "You do not have permission to delete issues in this project.")
        self._emit("jira:issue_deleted", {"user": self._user_json(user), "issue": self._webhook_issue(issue)})
        for att in issue.attachments:
            self.attachments.pop(att.id, None)
        del self.issues[issue.key]
        return SimResponse(204)

    def _set_field(self, issue: SimIssue, name: str, value: Any, items: list[dict[str, Any]]) -> None:
        if name == "summary":
            if not value:
                raise _Reply(400, errors={"summary": "You must specify a summary of the issue."})
            items.append(_item("summary", issue.summary, value))
            issue.summary = value
        elif name == "description":
            self._check_description(value)
            items.append(_item("description", _plain(issue.description), _plain(value)))
            issue.description = value
        elif name == "labels":
            if not isinstance(value, list) or any(not isinstance(x, str) or not x or " " in x for x in value):
                raise _Reply(400, errors={"labels": "The label must not contain spaces and must be text."})
            labels = list(dict.fromkeys(value))
            if labels != issue.labels:
                items.append(_item("labels", " ".join(issue.labels), " ".join(labels)))
            issue.labels = labels
        elif name == "priority":
            items.append(_item("priority", issue.priority, value["name"], "jira", "priority"))
            issue.priority = value["name"]
        elif name == "assignee":
            new = self._assignee(value)
            items.append(_item("assignee", issue.assignee and issue.assignee.display_name,
                               new and new.display_name, "jira", "assignee"))
            issue.assignee = new
        elif name == "issuetype":
            type_id = self._type_id(issue.project, value)
            if type_id is None:
                raise _Reply(400, errors={"issuetype": "Specify a valid issue type"})
            issue.type_id = type_id
        elif name.startswith("customfield_"):
            issue.custom[name] = value
        else:
            raise _Reply(400, errors={name: f"Field '{name}' cannot be set. It is not on the appropriate "
                                            "screen, or unknown."})

    def _transitions_for(self, issue: SimIssue, user: SimUser) -> list[tuple[str, str, str]]:
        if "EDIT_ISSUES" not in user.permissions:
            return []
        return [t for t in issue.project.transitions if t[2] != issue.status]

    def _get_transitions(self, request: SimRequest, user: SimUser, key: str) -> SimResponse:
        issue = self._issue(key, user)
        body = [{"id": tid, "name": name, "to": self._status_json(issue, target), "hasScreen": False,
                 "isGlobal": True, "isInitial": False, "isConditional": False} if self.flavour == "cloud" else
                {"id": tid, "name": name, "to": self._status_json(issue, target)}
                for tid, name, target in self._transitions_for(issue, user)]
        data: dict[str, Any] = {"transitions": body}
        if self.flavour == "cloud":
            data["expand"] = "transitions"
        return SimResponse.json(200, data)

    def _do_transition(self, request: SimRequest, user: SimUser, key: str) -> SimResponse:
        issue = self._issue(key, user)
        wanted = str(((request.json() or {}).get("transition") or {}).get("id", ""))
        transition = next((t for t in self._transitions_for(issue, user) if t[0] == wanted), None)
        if transition is None:
            raise _Reply(400, f"Transition id '{wanted}' is not valid for this issue.")
        before, issue.status = issue.status, transition[2]
        self._touch(issue)
        self._issue_event("jira:issue_updated", "issue_generic", user, issue,
                          [_item("status", before, issue.status, "jira", "status")])
        return SimResponse(204)

    # ------------------------------------------------------------------------------------------- search

    def _matching(self, jql: str, user: SimUser) -> list[SimIssue]:
        try:
            query = jql_parse(jql, self._jql_fields(), ZoneInfo(user.time_zone))
        except JqlError as exc:
            raise _Reply(400, str(exc)) from exc
        for project in re.findall(r'\bproject\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s()"]+))', jql, re.I):
            name = project[0] or project[1]
            if not any(name in (p.key, p.id, p.name) for p in self.projects.values()):
                raise _Reply(400, f"The value '{name}' does not exist for the field 'project'.")
        if "BROWSE_PROJECTS" not in user.permissions:
            return []
        found = [i for i in self.issues.values() if query.matches(i)]
        for name, descending in reversed(query.order or [("created", True)]):
            found.sort(key=functools.partial(_sort_key, name=name), reverse=descending)
        return found

    def _jql_fields(self) -> dict[str, Callable[[SimIssue], Any]]:
        def person(u: SimUser | None) -> list[str]:
            return [u.account_id, u.email, u.display_name] if u else []

        def type_name(i: SimIssue) -> str:
            return next(n for t, n, _ in i.project.issue_types if t == i.type_id)

        def text(i: SimIssue) -> list[str]:
            return [i.summary, str(_plain(i.description) or "")] + [str(_plain(c.body)) for c in i.comments]

        return {
            "project": lambda i: [i.project.key, i.project.id, i.project.name],
            "key": lambda i: [i.key, i.id], "issuekey": lambda i: [i.key, i.id], "id": lambda i: [i.id],
            "summary": lambda i: i.summary, "description": lambda i: _plain(i.description), "text": text,
            "comment": lambda i: [str(_plain(c.body)) for c in i.comments],
            "status": lambda i: i.status, "issuetype": type_name, "type": type_name, "labels": lambda i: i.labels,
            "priority": lambda i: i.priority, "assignee": lambda i: person(i.assignee),
            "reporter": lambda i: person(i.reporter),
            "updated": lambda i: i.updated, "updateddate": lambda i: i.updated,
            "created": lambda i: i.created, "createddate": lambda i: i.created,
        }

    def _search_jql(self, request: SimRequest, user: SimUser) -> SimResponse:
        """Cloud's enhanced search, ``POST`` (JSON body) or ``GET`` (query): page tokens, no totals."""
        if request.method == "POST":
            body = request.json() or {}
            fields = body.get("fields") or ["id"]
            wanted = ",".join(fields) if isinstance(fields, list) else str(fields)
            expand = body.get("expand")
        else:
            body = {k: request.param(k) for k in ("jql", "nextPageToken", "maxResults")}
            wanted = ",".join(v for f in request.query.get("fields", []) for v in f.split(",")) or "id"
            expand = request.param("expand")
        token = body.get("nextPageToken")
        try:
            start = int(base64.urlsafe_b64decode(token).decode()) if token else 0
        except ValueError as exc:
            raise _Reply(400, "The provided next page token is invalid or expired.") from exc
        size = min(int(body.get("maxResults") or 50), self.page_cap)
        found = self._matching(body.get("jql") or "", user)
        page = found[start:start + size]
        data: dict[str, Any] = {"issues": [self._issue_json(i, wanted, expand, user) for i in page],
                                "isLast": start + size >= len(found)}
        if not data["isLast"]:
            data["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return SimResponse.json(200, data)

    def _search_dc(self, request: SimRequest, user: SimUser) -> SimResponse:
        """Data Center's search, ``GET`` (query) or ``POST`` (JSON body): startAt paging with totals."""
        if request.method == "POST":
            body = request.json() or {}
            fields = body.get("fields")
            wanted = ",".join(fields) if isinstance(fields, list) else fields
            jql, start, size, expand = body.get("jql"), body.get("startAt"), body.get("maxResults"), body.get("expand")
            expand = ",".join(expand) if isinstance(expand, list) else expand
        else:
            jql, start, size = request.param("jql"), request.param("startAt"), request.param("maxResults")
            wanted, expand = request.param("fields"), request.param("expand")
        start, size = int(start or 0), min(int(size or 50), self.page_cap)
        found = self._matching(jql or "", user)
        return SimResponse.json(200, {"expand": "schema,names", "startAt": start, "maxResults": size,
                                      "total": len(found), "issues": [self._issue_json(i, wanted, expand, user)
                                                                      for i in found[start:start + size]]})

    # ------------------------------------------------------------------------------------------- comments

    def _comment(self, issue: SimIssue, cid: str) -> SimComment:
        comment = next((c for c in issue.comments if c.id == cid), None)
        if comment is None:
            raise _Reply(404, f"Can not find a comment for the id: {cid}.")
        return comment

    def _list_comments(self, request: SimRequest, user: SimUser, key: str) -> SimResponse:
        issue = self._issue(key, user)
        start = int(request.param("startAt") or 0)
        size = min(int(request.param("maxResults") or 50), self.page_cap)
        page = issue.comments[start:start + size]
        return SimResponse.json(200, {"startAt": start, "maxResults": size, "total": len(issue.comments),
                                      "comments": [self._comment_json(issue, c) for c in page]})

    def _comment_body(self, request: SimRequest) -> Any:
        return self._check_comment_body((request.json() or {}).get("body"))

    def _check_comment_body(self, body: Any) -> Any:
        if body in (None, ""):
            raise _Reply(400, errors={"comment": "Comment body can not be empty!"})
        if self.flavour == "cloud" and not (isinstance(body, dict) and body.get("type") == "doc"):
            raise _Reply(400, errors={"comment": "Comment body must be an Atlassian Document"})
        if self.flavour == "cloud" and (problem := adf_problem(body)):
            raise _Reply(400, errors={"comment": f"The comment body is not valid ADF: {problem}"})
        if self.flavour == "dc" and not isinstance(body, str):
            raise _Reply(400, errors={"comment": "Comment body must be a string"})
        return body

    def _add_comment(self, request: SimRequest, user: SimUser, key: str) -> SimResponse:
        issue = self._issue(key, user)
        self._require(user, "ADD_COMMENTS", 400, "You do not have the permission to comment on this issue.")
        now = self.clock()
        comment = SimComment(str(next(self._ids)), user, self._comment_body(request), now, now)
        issue.comments.append(comment)
        self._touch(issue)
        self._emit_comment("comment_created", issue, comment, user)
        return SimResponse.json(201, self._comment_json(issue, comment))

    def _get_comment(self, request: SimRequest, user: SimUser, key: str, cid: str) -> SimResponse:
        issue = self._issue(key, user)
        return SimResponse.json(200, self._comment_json(issue, self._comment(issue, cid)))

    def _update_comment(self, request: SimRequest, user: SimUser, key: str, cid: str) -> SimResponse:
        issue = self._issue(key, user)
        comment = self._comment(issue, cid)
        if comment.author is not user and "EDIT_ISSUES" not in user.permissions:
            raise _Reply(400, "You do not have the permission to edit this comment.")
        comment.body, comment.updated, comment.update_author = self._comment_body(request), self.clock(), user
        self._touch(issue)
        self._emit_comment("comment_updated", issue, comment, user)
        return SimResponse.json(200, self._comment_json(issue, comment))

    def _delete_comment(self, request: SimRequest, user: SimUser, key: str, cid: str) -> SimResponse:
        issue = self._issue(key, user)
        comment = self._comment(issue, cid)
        if comment.author is not user and "EDIT_ISSUES" not in user.permissions:
            raise _Reply(400, "You do not have the permission to delete this comment.")
        issue.comments.remove(comment)
        self._touch(issue)
        self._emit_comment("comment_deleted", issue, comment, user)
        return SimResponse(204)

    # ------------------------------------------------------------------------------------------- attachments

    def _upload(self, request: SimRequest, user: SimUser, key: str) -> SimResponse:
        issue = self._issue(key, user)
        if request.headers.get("X-Atlassian-Token", "").lower() != "no-check":
            raise _Reply(403, "XSRF check failed")
        self._require(user, "CREATE_ATTACHMENTS", 403,
                      "You do not have permission to create attachments for this issue.")
        parts = _multipart_files(request)
        if not parts:
            raise _Reply(400, "No file part named 'file' was found in the request.")
        stored = []
        for filename, mime, data in parts:
            att = SimAttachment(str(next(self._ids)), issue.key, filename, mime, data, user, self.clock())
            issue.attachments.append(att)
            self.attachments[att.id] = att
            stored.append(att)
            self._emit("attachment_created", {"attachment": self._attachment_json(att),
                                              "issue": {"id": issue.id, "key": issue.key,
                                                        "self": f"{self.base_url}/rest/api/2/issue/{issue.id}",
                                                        "fields": {"summary": issue.summary}}})
            self._issue_event("jira:issue_updated", "issue_updated", user, issue,
                              [_item("Attachment", None, att.filename, "jira", "attachment", to=att.id)])
        self._touch(issue)
        return SimResponse.json(200, [self._attachment_json(a) for a in stored])

    def _attachment(self, aid: str, user: SimUser) -> SimAttachment:
        att = self.attachments.get(aid)
        if att is None or "BROWSE_PROJECTS" not in user.permissions:
            raise _Reply(404, f"The attachment with id '{aid}' does not exist")
        return att

    def _attachment_meta(self, request: SimRequest, user: SimUser, aid: str) -> SimResponse:
        data = self._attachment_json(self._attachment(aid, user))
        if self.flavour == "cloud":  # Cloud's attachment metadata has a numeric id (the issue's list has strings)
            data["id"] = int(data["id"])
        return SimResponse.json(200, data)

    def _content(self, request: SimRequest, user: SimUser, aid: str, name: str | None = None) -> SimResponse:
        att = self._attachment(aid, user)
        chunks = (att.data[i:i + 65536] for i in range(0, len(att.data), 65536))
        return SimResponse(200, chunks, {"Content-Type": att.mime_type,
                                         "Content-Disposition": f'attachment; filename="{att.filename}"'},
                           length=len(att.data))

    def _delete_attachment(self, request: SimRequest, user: SimUser, aid: str) -> SimResponse:
        att = self._attachment(aid, user)
        issue = self.issues[att.issue_key]
        if att.author is not user and "EDIT_ISSUES" not in user.permissions:
            raise _Reply(403, "You do not have permission to delete this attachment.")
        issue.attachments.remove(att)
        del self.attachments[aid]
        self._touch(issue)
        self._emit("attachment_deleted", {"attachment": self._attachment_json(att),
                                          "issue": {"id": issue.id, "key": issue.key,
                                                    "self": f"{self.base_url}/rest/api/2/issue/{issue.id}",
                                                    "fields": {"summary": issue.summary}}})
        return SimResponse(204)

    # ------------------------------------------------------------------------------------------- metadata

    def _project_or_404(self, key: str, user: SimUser) -> SimProject:
        project = self.projects.get(key) or next((p for p in self.projects.values() if p.id == key), None)
        if project is None or "BROWSE_PROJECTS" not in user.permissions:
            raise _Reply(404, f"No project could be found with key '{key}'.")
        return project

    def _createmeta(self, request: SimRequest, user: SimUser, key: str) -> SimResponse:
        project = self.projects.get(key) or next((p for p in self.projects.values() if p.id == key), None)
        if project is None or "CREATE_ISSUES" not in user.permissions:
            raise _Reply(400, f"Project with key '{key}' either does not exist or you do not have permission to "
                              "create issues in it.")
        start = int(request.param("startAt") or 0)
        size = min(int(request.param("maxResults") or 50), self.page_cap)
        types = [{"self": f"{self.base_url}{self.api}/issuetype/{i}", "id": i, "description": "",
                  "iconUrl": f"{self.base_url}/images/icons/issuetypes/{n.lower()}.svg", "name": n, "subtask": s}
                 for i, n, s in project.issue_types[start:start + size]]
        total = len(project.issue_types)
        if self.flavour == "cloud":
            return SimResponse.json(200, {"issueTypes": types, "maxResults": size, "startAt": start, "total": total})
        return SimResponse.json(200, {"maxResults": size, "startAt": start, "total": total,
                                      "isLast": start + size >= total, "values": types})

    def _project(self, request: SimRequest, user: SimUser, key: str) -> SimResponse:
        project = self._project_or_404(key, user)
        data = self._project_json(project)
        data["issueTypes"] = [self._type_json(project, i) for i, _, _ in project.issue_types]
        return SimResponse.json(200, data)

    def _project_statuses(self, request: SimRequest, user: SimUser, key: str) -> SimResponse:
        """Each issue type of the project with the statuses it can be in (here: every status of the project)."""
        project = self._project_or_404(key, user)
        dummy = SimIssue("0", "", project, project.default_type_id, "", None, "", user, self.clock(), self.clock())
        return SimResponse.json(200, [{"self": f"{self.base_url}{self.api}/issuetype/{tid}", "id": tid, "name": name,
                                       "subtask": subtask,
                                       "statuses": [self._status_json(dummy, n) for _, n in project.statuses]}
                                      for tid, name, subtask in project.issue_types])

    def _issue_types(self, request: SimRequest, user: SimUser) -> SimResponse:
        """Every issue type of the projects the user can browse."""
        visible = self.projects.values() if "BROWSE_PROJECTS" in user.permissions else []
        return SimResponse.json(200, [self._type_json(p, tid) for p in visible for tid, _, _ in p.issue_types])

    def _issue_type(self, request: SimRequest, user: SimUser, tid: str) -> SimResponse:
        project = next((p for p in self.projects.values() if any(t[0] == tid for t in p.issue_types)), None)
        if project is None or "BROWSE_PROJECTS" not in user.permissions:
            raise _Reply(404, f"The issue type with id '{tid}' does not exist.")
        return SimResponse.json(200, self._type_json(project, tid))

    def _issuetypescheme_project(self, request: SimRequest, user: SimUser) -> SimResponse:
        if not user.admin:
            raise _Reply(403, "Only Jira administrators can access issue type schemes.")
        ids = set(request.query.get("projectId") or [])
        values = [{"issueTypeScheme": {"id": str(10000 + n), "name": f"{p.key}: Issue Type Scheme",
                                       "defaultIssueTypeId": p.default_type_id, "isDefault": False},
                   "projectIds": [p.id]} for n, p in enumerate(self.projects.values()) if p.id in ids]
        return SimResponse.json(200, {"isLast": True, "maxResults": 50, "startAt": 0, "total": len(values),
                                      "values": values})


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
