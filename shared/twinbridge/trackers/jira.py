"""Jira clients: ``JiraCloudClient`` (REST v3, ADF) and ``JiraDcClient`` (REST v2, wiki markup) over ``TrackerHttp``.

Changed-since searches: JQL compares ``updated`` at minute precision in the calling user's time zone. We convert
the watermark into that zone (from ``/myself``), floor it to the minute and ask one minute earlier, so the result
overlaps the previous run by up to two minutes; callers de-duplicate by ``ItemRef.updated`` (never miss, may repeat).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, Any, ClassVar
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from requests.auth import AuthBase

from twinbridge.errors import (
    TrackerAuthError,
    TrackerError,
    TrackerNotFoundError,
    TrackerPermissionError,
    TrackerRejectedError,
)
from twinbridge.models.tracker import (
    PERMISSIONS,
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
from twinbridge.trackers.base import ByteSink
from twinbridge.trackers.http import RetryPolicy, TrackerHttp
from twinbridge.trackers.multipart import MultipartFile

JIRA_PERMISSION_KEYS: dict[str, str] = {
    "browse": "BROWSE_PROJECTS",
    "create": "CREATE_ISSUES",
    "edit": "EDIT_ISSUES",
    "comment": "ADD_COMMENTS",
    "attach": "CREATE_ATTACHMENTS",
}
_FIXES: dict[str, str] = {
    "browse": "Grant the user 'Browse Projects' in the project's permission scheme.",
    "create": "Grant the user 'Create Issues' in the project's permission scheme.",
    "edit": "Grant the user 'Edit Issues' (and 'Transition Issues') in the project's permission scheme.",
    "comment": "Grant the user 'Add Comments' in the project's permission scheme.",
    "attach": "Grant the user 'Create Attachments' in the project's permission scheme (and enable attachments).",
}
# The fields the sync reads, and the navigable ones (custom fields: story points, sprint, selects...) for the rules.
ISSUE_FIELDS = ("summary", "description", "status", "priority", "labels", "reporter", "assignee", "created",
                "updated", "issuetype", "project", "attachment", "comment", "*navigable")
JQL_TIME_FORMAT = "%Y/%m/%d %H:%M"
ATLASSIAN_API_GATEWAY = "https://api.atlassian.com"  # where Jira Cloud takes OAuth 2.0 (3LO) bearer tokens
DOWNLOAD_CHUNK = 64 * 1024


class _JiraClient:
    """What Jira Cloud and Data Center share; subclasses set the API path, body format and user identity."""

    kind: ClassVar[TrackerKind]
    text_format: ClassVar[TextFormat]
    api: ClassVar[str]

    def __init__(
        self,
        base_url: str,
        session: requests.Session,
        *,
        auth: AuthBase,
        http_policy: RetryPolicy | None = None,
        alt_base_url: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        page_size: int = 100,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.alt_base_url = alt_base_url.rstrip("/") if alt_base_url else None
        self.page_size = page_size
        self._auth = auth
        self._http = TrackerHttp(self.kind, self.alt_base_url or self.base_url, session,
                                 policy=http_policy or RetryPolicy(), sleep=sleep)
        self._time_zone: ZoneInfo | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    # ------------------------------------------------------------------------------------------- plumbing

    def _request(self, operation: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        self._route(operation)
        return self._http.request(operation, method, self._path(path), auth=self._auth, **kwargs)

    def _json(self, operation: str, method: str, path: str, **kwargs: Any) -> Any:
        self._route(operation)
        return self._http.json(operation, method, self._path(path), auth=self._auth, **kwargs)

    def _route(self, operation: str) -> None:
        """Settle where API calls go before the first one (Cloud with OAuth asks the gateway); a no-op here."""

    def _path(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return self._reachable(path)
        return path if path.startswith("/rest/") else f"{self.api}/{path.lstrip('/')}"

    def _reachable(self, url: str) -> str:
        """Jira's own links use its public base URL; the node may have to call the alternative one."""
        if self.alt_base_url and url.startswith(self.base_url + "/"):
            return self.alt_base_url + url[len(self.base_url):]
        return url

    @staticmethod
    def _key(value: str) -> str:
        return quote(value, safe="")

    def _text(self, body: NativeText) -> Any:
        if body.format != self.text_format:
            raise ValueError(f"{self.kind} takes {self.text_format} text, not {body.format}")
        return body.content

    # ------------------------------------------------------------------------------------------- identity

    def whoami(self) -> UserRef:
        data = self._json("whoami", "GET", "myself")
        self._time_zone = _zone(data.get("timeZone"))
        return self.user_ref(data)

    def check_access(self, project: str) -> PermissionReport:
        try:
            user = self.whoami()
        except TrackerAuthError:
            return PermissionReport(reachable=True, authenticated=False, problems={
                "authentication": "The credentials were refused: check the user and token (or PAT) and that "
                                  "it has not expired."})
        except TrackerError as exc:
            hint = ("Check the base URL and that this node can reach it (firewall, proxy, alternative URL)."
                    if exc.status is None or exc.status >= 500 else
                    f"The base URL answered {exc.status} to /myself: check that it points at the Jira root.")
            return PermissionReport(reachable=False, authenticated=False, problems={"reachable": hint})
        try:
            granted = self._permissions(project)
        except TrackerNotFoundError:
            return PermissionReport(
                reachable=True, authenticated=True, user=user, permissions={p: False for p in PERMISSIONS},
                problems={"project": f"Project {project!r} does not exist or the user cannot see it: check the key "
                                     "and grant 'Browse Projects'."})
        problems = {p: _FIXES[p] for p in PERMISSIONS if not granted[p]}
        return PermissionReport(reachable=True, authenticated=True, user=user, permissions=granted, problems=problems)

    def _permissions(self, project: str) -> dict[str, bool]:
        params = {"projectKey": project, **self._permission_params()}
        data = self._json("check_access", "GET", "mypermissions", params=params)
        found = (data or {}).get("permissions") or {}
        return {p: bool((found.get(key) or {}).get("havePermission")) for p, key in JIRA_PERMISSION_KEYS.items()}

    def _permission_params(self) -> dict[str, str]:
        return {"permissions": ",".join(JIRA_PERMISSION_KEYS.values())}

    @staticmethod
    def user_ref(data: dict[str, Any]) -> UserRef:
        raise NotImplementedError

    def _user_value(self, account_id: str) -> dict[str, str]:
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------- items

    def get_item(self, key: str) -> TrackerItem:
        data = self._json("get_item", "GET", f"issue/{self._key(key)}", params={"fields": ",".join(ISSUE_FIELDS)})
        return self.normalize_issue(data)

    def normalize_issue(self, data: dict[str, Any]) -> TrackerItem:
        return normalize_issue(data, self.base_url, self.text_format, self.user_ref)

    def search_changed_since(self, project: str | None, since: datetime) -> Iterator[ItemRef]:
        for issue in self._search(self.changed_since_jql(project, since)):
            updated = _parse_time(issue.get("fields", {}).get("updated"))
            if updated is not None:
                yield ItemRef(id=str(issue["id"]), key=issue["key"], updated=updated)

    def changed_since_jql(self, project: str | None, since: datetime) -> str:
        """JQL for "updated at or after ``since``", a minute early in the user's zone (see the module docstring)."""
        if self._time_zone is None:
            self.whoami()
        aware = since if since.tzinfo else since.replace(tzinfo=UTC)
        local = aware.astimezone(self._time_zone or UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
        clause = f'updated >= "{local.strftime(JQL_TIME_FORMAT)}" ORDER BY updated ASC'
        return f'project = "{_jql_escape(project)}" AND {clause}' if project else clause

    def _search(self, jql: str) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def create_item(self, project: str, fields: ItemFields) -> TrackerItem:
        values = self._fields(fields)
        values["project"] = {"key": project}
        if "issuetype" not in values:
            default = self.default_issue_type(project)
            if default is None:
                raise TrackerRejectedError(self.kind, "create_item", None,
                                           f"project {project} has no issue type to use")
            values["issuetype"] = {"name": default}
        created = self._json("create_item", "POST", "issue", json={"fields": values}, expected=(201,))
        return self.get_item(created["key"])

    def update_item(self, key: str, fields: ItemFields) -> None:
        values = self._fields(fields)
        if values:
            self._request("update_item", "PUT", f"issue/{self._key(key)}", json={"fields": values}, expected=(200, 204))

    def _fields(self, fields: ItemFields) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if fields.type is not None:
            values["issuetype"] = {"name": fields.type}
        if fields.summary is not None:
            values["summary"] = fields.summary
        if fields.description is not None:
            values["description"] = None if fields.description.is_empty else self._text(fields.description)
        if fields.labels is not None:
            values["labels"] = list(fields.labels)
        if fields.priority is not None:
            values["priority"] = {"name": fields.priority}
        if fields.assignee_account_id is not None:
            values["assignee"] = self._user_value(fields.assignee_account_id) if fields.assignee_account_id else None
        values.update(fields.custom_fields)
        return values

    def change_status(self, key: str, status: str) -> None:
        path = f"issue/{self._key(key)}/transitions"
        transitions = (self._json("change_status", "GET", path) or {}).get("transitions") or []
        wanted = status.casefold()
        for transition in transitions:
            if str((transition.get("to") or {}).get("name", "")).casefold() == wanted:
                self._request("change_status", "POST", path, json={"transition": {"id": transition["id"]}},
                              expected=(204,))
                return
        current = self._json("change_status", "GET", f"issue/{self._key(key)}", params={"fields": "status"})
        current_name = ((current.get("fields") or {}).get("status") or {}).get("name", "")
        if current_name.casefold() == wanted:
            return
        reachable = sorted({(t.get("to") or {}).get("name", "?") for t in transitions})
        raise TrackerRejectedError(self.kind, "change_status", None,
                                   f"no transition leads from {current_name!r} to {status!r} for this user; "
                                   f"reachable statuses: {', '.join(reachable) or 'none'}")

    # ------------------------------------------------------------------------------------------- comments

    def list_comments(self, key: str) -> list[TrackerComment]:
        comments: list[TrackerComment] = []
        start = 0
        while True:
            page = self._json("list_comments", "GET", f"issue/{self._key(key)}/comment",
                              params={"startAt": start, "maxResults": self.page_size, "orderBy": "created"})
            batch = page.get("comments") or []
            comments += [self.normalize_comment(c) for c in batch]
            start += len(batch)
            if not batch or start >= int(page.get("total", start)):
                return comments

    def add_comment(self, key: str, body: NativeText) -> TrackerComment:
        data = self._json("add_comment", "POST", f"issue/{self._key(key)}/comment",
                          json={"body": self._text(body)}, expected=(201,))
        return self.normalize_comment(data)

    def update_comment(self, key: str, comment_id: str, body: NativeText) -> TrackerComment:
        data = self._json("update_comment", "PUT", f"issue/{self._key(key)}/comment/{self._key(comment_id)}",
                          json={"body": self._text(body)})
        return self.normalize_comment(data)

    def delete_comment(self, key: str, comment_id: str) -> None:
        self._request("delete_comment", "DELETE", f"issue/{self._key(key)}/comment/{self._key(comment_id)}",
                      expected=(204,))

    def normalize_comment(self, data: dict[str, Any]) -> TrackerComment:
        return normalize_comment(data, self.text_format, self.user_ref)

    # ------------------------------------------------------------------------------------------- attachments

    def list_attachments(self, key: str) -> list[TrackerAttachment]:
        data = self._json("list_attachments", "GET", f"issue/{self._key(key)}", params={"fields": "attachment"})
        return [normalize_attachment(a, self.user_ref) for a in (data.get("fields") or {}).get("attachment") or []]

    def download_attachment(self, attachment: TrackerAttachment, sink: ByteSink) -> int:
        """Streams the bytes into ``sink`` in chunks; returns how many were written."""
        response = self._request("download_attachment", "GET", self._content_url(attachment), stream=True,
                                 headers={"Accept": "*/*"})
        written = 0
        with response:
            for chunk in response.iter_content(DOWNLOAD_CHUNK):
                sink.write(chunk)
                written += len(chunk)
        return written

    def _content_url(self, attachment: TrackerAttachment) -> str:
        return attachment.content_url

    def upload_attachment(self, key: str, filename: str, source: IO[bytes],
                          size: int | None = None) -> TrackerAttachment:
        body = MultipartFile("file", filename, source, size)
        extra: dict[str, Any] = {"rewind": body.rewind} if body.rewindable else {}
        data = self._json("upload_attachment", "POST", f"issue/{self._key(key)}/attachments", data=body,
                          headers={"X-Atlassian-Token": "no-check", "Content-Type": body.content_type}, **extra)
        items = data if isinstance(data, list) else [data]
        if not items:
            raise TrackerRejectedError(self.kind, "upload_attachment", 200, "Jira stored no attachment")
        return normalize_attachment(items[0], self.user_ref)

    def delete_attachment(self, key: str, attachment_id: str) -> None:
        self._request("delete_attachment", "DELETE", f"attachment/{self._key(attachment_id)}", expected=(204,))

    # ------------------------------------------------------------------------------------------- metadata

    def _create_meta(self, project: str) -> list[dict[str, Any]]:
        types: list[dict[str, Any]] = []
        start = 0
        while True:
            page = self._json("issue_types", "GET", f"issue/createmeta/{self._key(project)}/issuetypes",
                              params={"startAt": start, "maxResults": self.page_size})
            batch = page.get("issueTypes") or page.get("values") or page.get("createMetaIssueType") or []
            types += batch
            start += len(batch)
            if not batch or page.get("isLast") is True or start >= int(page.get("total", start)):
                return types

    def issue_types(self, project: str) -> list[str]:
        return [t["name"] for t in self._create_meta(project)]

    def default_issue_type(self, project: str) -> str | None:
        """The first standard (non sub-task) type the user may create; Cloud first asks the project's scheme."""
        return default_type_name(self._create_meta(project), self._scheme_default_id(project))

    def _scheme_default_id(self, project: str) -> str | None:
        return None

    def find_user(self, *, email: str | None = None, account_id: str | None = None) -> UserRef | None:
        raise NotImplementedError


class JiraCloudClient(_JiraClient):
    """Jira Cloud, REST v3: ADF bodies, users by ``accountId``, ``/search/jql`` with page tokens.

    With ``oauth_gateway`` (an OAuth 2.0 bearer token; Cloud refuses bearer tokens on the site URL) every API call
    goes to ``{oauth_gateway}/ex/jira/{cloud_id}``; without ``cloud_id`` it is looked up once, on the first call,
    among the token's ``/oauth/token/accessible-resources`` by the site URL (``base_url``). Links for people
    (``/browse/KEY``) always use ``base_url``.
    """

    kind = "jira-cloud"
    text_format = "adf"
    api = "/rest/api/3"

    def __init__(self, base_url: str, session: requests.Session, *, auth: AuthBase, oauth_gateway: str | None = None,
                 cloud_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(base_url, session, auth=auth, **kwargs)
        self.oauth_gateway = oauth_gateway.rstrip("/") if oauth_gateway else None
        self.cloud_id = cloud_id
        self._routed = oauth_gateway is None
        if self.oauth_gateway and cloud_id:
            self._use_gateway(cloud_id)

    def _route(self, operation: str) -> None:
        if self._routed or self.oauth_gateway is None:
            return
        sites = self._http.json(operation, "GET", f"{self.oauth_gateway}/oauth/token/accessible-resources",
                                auth=self._auth) or []
        wanted = self.base_url.casefold()
        found = next((s for s in sites if isinstance(s, dict) and str(s.get("url", "")).rstrip("/").casefold()
                      == wanted and s.get("id")), None)
        if found is None:
            listed = ", ".join(str(s.get("url")) for s in sites if isinstance(s, dict)) or "none"
            raise TrackerAuthError(self.kind, operation, None,
                                   f"the OAuth token grants no access to {self.base_url} (its sites: {listed}); "
                                   "authorize the app for this site or set cloud_id")
        self._use_gateway(str(found["id"]))

    def _use_gateway(self, cloud_id: str) -> None:
        self.cloud_id = cloud_id
        self._http.base_url = f"{self.oauth_gateway}/ex/jira/{quote(cloud_id, safe='')}"
        self._routed = True

    @staticmethod
    def user_ref(data: dict[str, Any]) -> UserRef:
        return UserRef(account_id=str(data.get("accountId") or data.get("key") or data.get("name") or ""),
                       display_name=data.get("displayName") or "", email=data.get("emailAddress") or None)

    def _user_value(self, account_id: str) -> dict[str, str]:
        return {"accountId": account_id}

    def _search(self, jql: str) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            body: dict[str, Any] = {"jql": jql, "fields": ["updated"], "maxResults": self.page_size}
            if token:
                body["nextPageToken"] = token
            page = self._json("search_changed_since", "POST", "search/jql", json=body, idempotent=True)
            yield from page.get("issues") or []
            token = page.get("nextPageToken")
            if page.get("isLast", True) or not token:
                return

    def _content_url(self, attachment: TrackerAttachment) -> str:
        return f"attachment/content/{self._key(attachment.id)}?redirect=false"

    def _scheme_default_id(self, project: str) -> str | None:
        """The issue type scheme's default; needs 'Administer Jira', so a 403 just means "not known"."""
        try:
            project_id = self._json("default_issue_type", "GET", f"project/{self._key(project)}")["id"]
            page = self._json("default_issue_type", "GET", "issuetypescheme/project", params={"projectId": project_id})
        except (TrackerPermissionError, TrackerNotFoundError):
            return None
        for value in (page or {}).get("values") or []:
            default = (value.get("issueTypeScheme") or {}).get("defaultIssueTypeId")
            if default:
                return str(default)
        return None

    def find_user(self, *, email: str | None = None, account_id: str | None = None) -> UserRef | None:
        params = {"accountId": account_id} if account_id else {"query": email or ""}
        if not (email or account_id):
            return None
        users = self._json("find_user", "GET", "user/search", params=params) or []
        return _pick_user([self.user_ref(u) for u in users], email=email, account_id=account_id)


class JiraDcClient(_JiraClient):
    """Jira Data Center / Server, REST v2: wiki-markup bodies, users by ``name``, ``/search`` with startAt."""

    kind = "jira-dc"
    text_format = "wiki"
    api = "/rest/api/2"

    @staticmethod
    def user_ref(data: dict[str, Any]) -> UserRef:
        return UserRef(account_id=str(data.get("name") or data.get("key") or data.get("accountId") or ""),
                       display_name=data.get("displayName") or "", email=data.get("emailAddress") or None)

    def _user_value(self, account_id: str) -> dict[str, str]:
        return {"name": account_id}

    def _permission_params(self) -> dict[str, str]:
        return {}  # Jira DC 10.3 takes no ``permissions`` filter and answers with all of them

    def _search(self, jql: str) -> Iterator[dict[str, Any]]:
        start = 0
        while True:
            page = self._json("search_changed_since", "GET", "search",
                              params={"jql": jql, "startAt": start, "maxResults": self.page_size, "fields": "updated"})
            issues = page.get("issues") or []
            yield from issues
            start += len(issues)
            if not issues or start >= int(page.get("total", start)):
                return

    def find_user(self, *, email: str | None = None, account_id: str | None = None) -> UserRef | None:
        if not (email or account_id):
            return None
        users = self._json("find_user", "GET", "user/search", params={"username": account_id or email}) or []
        return _pick_user([self.user_ref(u) for u in (users if isinstance(users, list) else [users])],
                          email=email, account_id=account_id)


# ----------------------------------------------------------------------------------------------- normalization


UserParser = Callable[[dict[str, Any]], UserRef]


def normalize_issue(data: dict[str, Any], base_url: str, text_format: TextFormat, user: UserParser) -> TrackerItem:
    """A REST ``IssueBean`` (v2 or v3) as a TrackerItem; ``url`` is the browse page under ``base_url``."""
    fields = data.get("fields") or {}
    key = data["key"]
    updated = _parse_time(fields.get("updated")) or _parse_time(fields.get("created"))
    description = fields.get("description")
    return TrackerItem(
        id=str(data.get("id") or key),
        key=key,
        url=f"{base_url.rstrip('/')}/browse/{key}",
        project=(fields.get("project") or {}).get("key") or key.rsplit("-", 1)[0],
        type=(fields.get("issuetype") or {}).get("name", ""),
        summary=fields.get("summary") or "",
        description=None if description in (None, "") else NativeText(format=text_format, content=description),
        status=(fields.get("status") or {}).get("name"),
        priority=(fields.get("priority") or {}).get("name"),
        labels=list(fields.get("labels") or []),
        reporter=user(fields["reporter"]) if fields.get("reporter") else None,
        assignee=user(fields["assignee"]) if fields.get("assignee") else None,
        created=_parse_time(fields.get("created")),
        updated=updated or datetime.fromtimestamp(0, UTC),
        custom_fields={k: v for k, v in fields.items() if k.startswith("customfield_") and v is not None},
        attachments=[normalize_attachment(a, user) for a in fields.get("attachment") or []],
        comments=_all_comments(fields.get("comment"), text_format, user),
    )


def _all_comments(page: Any, text_format: TextFormat, user: UserParser) -> list[TrackerComment] | None:
    """The issue's comments when the read returned every one of them (saves a comment listing per sync)."""
    if not isinstance(page, dict) or not isinstance(page.get("comments"), list):
        return None
    comments = page["comments"]
    total = page.get("total")
    if not isinstance(total, int) or total != len(comments):
        return None
    return [normalize_comment(c, text_format, user) for c in comments]


def normalize_comment(data: dict[str, Any], text_format: TextFormat, user: UserParser) -> TrackerComment:
    return TrackerComment(
        id=str(data["id"]),
        author=user(data["author"]) if data.get("author") else None,
        body=NativeText(format=text_format, content=data.get("body")),
        created=_parse_time(data.get("created")),
        updated=_parse_time(data.get("updated")),
        internal=bool(data.get("visibility")) or data.get("jsdPublic") is False,
    )


def normalize_attachment(data: dict[str, Any], user: UserParser) -> TrackerAttachment:
    return TrackerAttachment(
        id=str(data["id"]),
        filename=data.get("filename") or "",
        size=data.get("size"),
        mime_type=data.get("mimeType"),
        created=_parse_time(data.get("created")),
        author=user(data["author"]) if data.get("author") else None,
        content_url=data.get("content") or "",
    )


def default_type_name(types: list[dict[str, Any]], default_id: str | None) -> str | None:
    """The type with ``default_id`` if listed, else the first that is not a sub-task (Jira lists in scheme order)."""
    for issue_type in types:
        if default_id is not None and str(issue_type.get("id")) == default_id:
            return issue_type["name"]
    return next((t["name"] for t in types if not t.get("subtask")), None)


def _parse_time(value: Any) -> datetime | None:
    """Jira's ``2015-12-26T12:00:38.891+0000`` (and ISO variants) as an aware datetime."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _jql_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _pick_user(users: list[UserRef], *, email: str | None, account_id: str | None) -> UserRef | None:
    if account_id:
        return next((u for u in users if u.account_id == account_id), None)
    wanted = (email or "").casefold()
    exact = [u for u in users if (u.email or "").casefold() == wanted]
    if exact:
        return exact[0]
    return users[0] if len(users) == 1 and users[0].email is None else None  # email hidden by privacy settings
