"""The Jira simulator's core: state, set-up API, dispatch and authentication (site and OAuth gateway), JSON
renderings, webhooks, and the checks the routes share."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import re
import threading
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from twinbridge_tools.simulators.jira.adf import adf_problem
from twinbridge_tools.simulators.jira.model import (
    _BROWSE,
    _FIELD_NAMES,
    _FIELD_TYPES,
    _GATEWAY,
    _LATEST,
    _STATUS_CATEGORY,
    ALL_PERMISSIONS,
    Flavour,
    SimAttachment,
    SimComment,
    SimIssue,
    SimProject,
    SimUser,
    _expansions,
    _plain,
    _Reply,
    _time,
)
from twinbridge_tools.simulators.jira.pages import HEADERS as PAGE_HEADERS
from twinbridge_tools.simulators.jira.pages import issue_page, not_found_page
from twinbridge_tools.simulators.jira.render import render_html
from twinbridge_tools.simulators.server import LoopbackServer, SimRequest, SimResponse


class JiraBase(LoopbackServer):
    """What every route shares; ``JiraSimulator`` (simulator.py) adds the routes and documents the options."""

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
                 time_zone: str = "UTC", email_visible: bool = True) -> SimUser:
        """``email_visible=False`` (Cloud): the profile hides its e-mail, so no answer shows it or finds by it."""
        user = SimUser(account_id, display_name, email, secret, set(permissions), admin, time_zone, email_visible)
        self.users[account_id] = user
        return user

    def add_project(self, key: str, name: str | None = None, *,
                    issue_types: tuple[str, ...] = ("Task", "Bug", "Story", "Sub-task"), default_type: str = "Task",
                    statuses: tuple[str, ...] = ("To Do", "In Progress", "Done"),
                    transitions: tuple[tuple[str, str], ...] | None = None,
                    required: dict[str, tuple[str, str]] | None = None) -> SimProject:
        """Transitions are global ``(name, target)`` pairs, by default one to each status ("Start progress"…);
        ``required`` maps a target status to the field (id, name) a validator wants filled on the issue first."""
        types = [(str(next(self._ids)), t, t.lower().startswith("sub")) for t in issue_types]
        pairs = transitions or tuple((f"Move to {s}", s) for s in statuses)
        project = SimProject(
            id=str(next(self._ids)), key=key, name=name or key, issue_types=types,
            default_type_id=next(i for i, n, _ in types if n == default_type),
            statuses=[(str(next(self._ids)), s) for s in statuses],
            transitions=[(str(11 + 10 * n), name, target) for n, (name, target) in enumerate(pairs)],
            required=dict(required or {}),
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

    def _user_json(self, user: SimUser | None) -> dict[str, Any] | None:
        if user is None:
            return None
        avatars = {size: f"{self.base_url}/avatar/{user.account_id}?s={size}"
                   for size in ("48x48", "24x24", "16x16", "32x32")}
        if self.flavour == "cloud":
            data = {"self": f"{self.base_url}{self.api}/user?accountId={user.account_id}", "accountId": user.account_id,
                    "emailAddress": user.email, "avatarUrls": avatars, "displayName": user.display_name,
                    "active": True, "timeZone": user.time_zone, "accountType": "atlassian"}
            if not user.email_visible:  # Cloud leaves the property out of every answer
                del data["emailAddress"]
            return data
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
        if comment.visibility is not None:
            data["visibility"] = dict(comment.visibility)
        if self.flavour == "cloud":
            data["jsdPublic"] = comment.visibility is None
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

    @contextlib.contextmanager
    def _site_links(self) -> Iterator[None]:
        """Webhooks link to the site even when the change came through the OAuth gateway."""
        saved, self._links.base = getattr(self._links, "base", None), None
        try:
            yield
        finally:
            self._links.base = saved

    def _emit_comment(self, event: str, issue: SimIssue, comment: SimComment, user: SimUser) -> None:
        """Cloud sends the comment and a short issue; Server/DC sends no issue (only ``comment.self`` names it),
        and the acting ``user`` on updates and deletes."""
        with self._site_links():
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
        with self._site_links():
            body: dict[str, Any] = {"issue_event_type_name": type_name, "user": self._user_json(user),
                                    "issue": self._webhook_issue(issue), "changelog": changelog}
            if comment is not None:
                body["comment"] = self._comment_json(issue, comment, webhook=True)
            self._emit(event, body)

    # ------------------------------------------------------------------------------------------- shared checks

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

    def _transitions_for(self, issue: SimIssue, user: SimUser) -> list[tuple[str, str, str]]:
        if "EDIT_ISSUES" not in user.permissions:
            return []
        return [t for t in issue.project.transitions if t[2] != issue.status]

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

    def _project_or_404(self, key: str, user: SimUser) -> SimProject:
        project = self.projects.get(key) or next((p for p in self.projects.values() if p.id == key), None)
        if project is None or "BROWSE_PROJECTS" not in user.permissions:
            raise _Reply(404, f"No project could be found with key '{key}'.")
        return project

    def _issue(self, key: str, user: SimUser) -> SimIssue:
        issue = self.issues.get(key) or next((i for i in self.issues.values() if i.id == key), None)
        if issue is None or "BROWSE_PROJECTS" not in user.permissions:
            raise _Reply(404, "Issue does not exist or you do not have permission to see it.")
        return issue

    def _require(self, user: SimUser, permission: str, status: int, message: str) -> None:
        if permission not in user.permissions:
            raise _Reply(status, message)

    def _next_number(self, project: SimProject) -> int:
        return next(self._numbers.setdefault(project.key, itertools.count(1)))

    def _comment(self, issue: SimIssue, cid: str) -> SimComment:
        comment = next((c for c in issue.comments if c.id == cid), None)
        if comment is None:
            raise _Reply(404, f"Can not find a comment for the id: {cid}.")
        return comment

    def _attachment(self, aid: str, user: SimUser) -> SimAttachment:
        att = self.attachments.get(aid)
        if att is None or "BROWSE_PROJECTS" not in user.permissions:
            raise _Reply(404, f"The attachment with id '{aid}' does not exist")
        return att

    def _route_table(self) -> list[tuple[str, re.Pattern[str], Callable[..., SimResponse]]]:
        raise NotImplementedError
