"""Azure DevOps Services/Server work item tracking (REST 7.1) behind the TrackerClient Protocol.

Choices the wit spec leaves open, made here:

- ``whoami`` reads ``GET {base}/_apis/connectionData`` (the location service every Microsoft client calls first; not
  part of the wit spec). It works on Services and Server, needs no extra PAT scope and names the PAT's identity.
- ``check_access`` probes without changing data: browse = the project's work item types (ADO answers 404 to a user who
  cannot see a project); create = ``validateOnly=true`` create; edit/comment/attach = ``validateOnly=true`` updates of
  one existing item (title unchanged / ``System.History`` / an ``AttachedFile`` relation to a placeholder attachment: a
  403 means no permission, a 400 about the placeholder means the permission check passed). ADO grants create, edit,
  comments and attachments through one permission ("Edit work items in this node"), so with no item to probe those
  three are inferred from the create probe.
- ``search_changed_since`` runs WIQL with ``timePrecision=true`` (without it ADO compares dates by day and refuses a
  time component), ``$top`` pages (WIQL returns ids only, at most 20000), ordered by (ChangedDate, Id) and continued
  from the last (ChangedDate, Id) seen, so ties across a page border are neither lost nor repeated. ChangedDate comes
  from ``workitemsbatch`` (at most 200 ids a call) read ``asOf`` the query's own ``asOf``, so it is the value the query
  sorted on even if the item changes meanwhile (the next poll sees that change).
- ``find_user``: identity search lives in the Identities/Graph APIs, outside the wit spec and behind other PAT scopes.
  The client answers from identities it has seen (connectionData, item fields, comments); ADO also accepts a unique
  name (email) wherever an identity is set, so an unknown email can still be used as ``assignee_account_id``.
- Attachments are uploaded in one request (ADO's single-shot limit is 130 MB on Services; chunked upload is not used).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import quote, urlsplit

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
from twinbridge.trackers.http import RetryPolicy, TrackerHttp, decode_json

API_VERSION = "7.1"
COMMENTS_API_VERSION = "7.1-preview.4"  # the spec's x-ms-docs-override-version for the comments resource
WIQL_MAX = 20000
BATCH_MAX = 200
CHUNK = 64 * 1024
PROBE_ATTACHMENT = "00000000-0000-0000-0000-000000000000"
TRACKER = "azure-devops"
KNOWN_FIELDS = frozenset({"Microsoft.VSTS.Common.Priority"})
CLASSIFICATION_FIELDS = ("System.AreaPath", "System.IterationPath")  # shown to sync rules with the custom fields


class AzureDevOpsClient:
    """One organization (``https://dev.azure.com/{org}``) or collection (``https://host/tfs/{collection}``)."""

    kind: TrackerKind = "azure-devops"
    text_format: TextFormat = "html"

    def __init__(self, base_url: str, session: requests.Session, *, auth: AuthBase, project: str | None = None,
                 http_policy: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
                 wiql_page: int = WIQL_MAX, batch_size: int = BATCH_MAX, chunk_size: int = CHUNK) -> None:
        self.base_url = base_url.rstrip("/")
        self.project = project
        self._auth = auth
        self._http = TrackerHttp(TRACKER, self.base_url, session, policy=http_policy or RetryPolicy(), sleep=sleep)
        self._wiql_page = max(1, min(wiql_page, WIQL_MAX))
        self._batch_size = max(1, min(batch_size, BATCH_MAX))
        self._chunk = chunk_size
        self._identities: dict[str, UserRef] = {}

    def __repr__(self) -> str:
        return f"AzureDevOpsClient({self.base_url!r}, project={self.project!r})"

    # ------------------------------------------------------------------------------------------- identity

    def whoami(self) -> UserRef:
        body = self._json("whoami", "GET", "_apis/connectionData", versioned=False)
        user = (body or {}).get("authenticatedUser") or {}
        account = ((user.get("properties") or {}).get("Account") or {}).get("$value")
        ref = UserRef(account_id=str(user.get("id", "")),
                      display_name=user.get("customDisplayName") or user.get("providerDisplayName") or "",
                      email=account if isinstance(account, str) and "@" in account else None)
        return self._remember(ref)

    def find_user(self, *, email: str | None = None, account_id: str | None = None) -> UserRef | None:
        """A user this client has seen (see the module docstring); None when unknown."""
        for wanted in (account_id, email.lower() if email else None):
            if wanted and wanted in self._identities:
                return self._identities[wanted]
        return None

    def _remember(self, ref: UserRef) -> UserRef:
        if ref.account_id:
            self._identities[ref.account_id] = ref
        if ref.email:
            self._identities[ref.email.lower()] = ref
        return ref

    # ------------------------------------------------------------------------------------------- access check

    def check_access(self, project: str) -> PermissionReport:
        report = PermissionReport(reachable=False, authenticated=False)
        try:
            report.user = self.whoami()
        except TrackerAuthError:
            report.reachable = True
            report.problems["authenticated"] = ("Azure DevOps rejected the personal access token: create a PAT for "
                                                "this organization with scope Work Items (Read, write & manage) and "
                                                "store it as 'pat'.")
            return report
        except TrackerError as exc:
            report.problems["reachable"] = f"Azure DevOps did not answer at {self.base_url}: {exc.detail}"
            return report
        report.reachable = report.authenticated = True
        try:
            types = self.issue_types(project)
            report.permissions["browse"] = True
        except (TrackerNotFoundError, TrackerPermissionError):
            report.permissions.update({name: False for name in PERMISSIONS})
            report.problems["browse"] = (f"Project {project!r} does not exist or the user cannot see it: check the "
                                         "name and add the user to the project (Contributors).")
            for name in PERMISSIONS[1:]:
                report.problems[name] = "Not checked: the user cannot see the project (fix browse first)."
            return report
        work_type = self.default_issue_type(project) or (types[0] if types else "Task")
        title_op = {"op": "add", "path": "/fields/System.Title", "value": "twinbridge access check"}
        self._probe(report, "create", "POST", f"{_api(project)}/wit/workitems/${quote(work_type, safe='')}",
                    [title_op], "create work items")
        try:
            existing = self._any_item(project)
        except TrackerError as exc:
            for name in ("edit", "comment", "attach"):
                report.permissions[name] = False
                report.problems[name] = f"Could not find a work item to check with: {exc.detail or exc.status}"
            return report
        if existing is None:  # same ADO permission as create ("Edit work items in this node")
            for name in ("edit", "comment", "attach"):
                report.permissions[name] = report.permissions["create"]
            return report
        item_id, title = existing
        path = f"{_api(project)}/wit/workitems/{item_id}"
        self._probe(report, "edit", "PATCH", path, [{**title_op, "value": title}], "edit work items")
        self._probe(report, "comment", "PATCH", path,
                    [{"op": "add", "path": "/fields/System.History", "value": "twinbridge access check"}],
                    "comment on work items")
        placeholder = f"{self.base_url}/_apis/wit/attachments/{PROBE_ATTACHMENT}"
        self._probe(report, "attach", "PATCH", path,
                    [{"op": "add", "path": "/relations/-", "value": {"rel": "AttachedFile", "url": placeholder}}],
                    "attach files to work items", rejected_means_allowed=True)
        return report

    def _probe(self, report: PermissionReport, name: str, method: str, path: str, ops: list[dict[str, Any]],
               what: str, rejected_means_allowed: bool = False) -> None:
        try:
            self._patch_call(f"check_access:{name}", method, path, ops, params={"validateOnly": "true"})
            report.permissions[name] = True
        except TrackerPermissionError as exc:
            report.permissions[name] = False
            report.problems[name] = (f"The user may not {what} ({exc.detail}): grant 'Edit work items in this node' "
                                     "on the project's area path (e.g. add the user to Contributors).")
        except TrackerRejectedError as exc:
            report.permissions[name] = rejected_means_allowed
            if not rejected_means_allowed:
                report.problems[name] = f"Azure DevOps refused the check to {what}: {exc.detail}"
        except TrackerError as exc:
            report.permissions[name] = False
            report.problems[name] = f"Could not check whether the user may {what}: {exc.detail or exc.status}"

    def _any_item(self, project: str) -> tuple[int, str] | None:
        result = self._wiql("check_access:edit", project,
                            "SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = @project "
                            "ORDER BY [System.Id] ASC", top=1)
        ids = [ref["id"] for ref in result.get("workItems") or []]
        if not ids:
            return None
        body = self._json("check_access:edit", "GET", f"{_api(project)}/wit/workitems/{ids[0]}",
                          params={"fields": "System.Title"})
        return ids[0], str((body.get("fields") or {}).get("System.Title") or "")

    # ------------------------------------------------------------------------------------------- items

    def get_item(self, key: str) -> TrackerItem:
        body = self._json("get_item", "GET", f"{self._api()}/wit/workitems/{_item_id(key)}",
                          params={"$expand": "relations"})
        return self._normalize(body)

    def search_changed_since(self, project: str | None, since: datetime) -> Iterator[ItemRef]:
        project = project or self.project
        scope = ["[System.TeamProject] = @project"] if project else []
        cursor: tuple[datetime, int] | None = None
        while True:
            if cursor is None:
                changed = f"[System.ChangedDate] >= '{_wiql_date(since)}'"
            else:
                when, last_id = _wiql_date(cursor[0]), cursor[1]
                changed = (f"([System.ChangedDate] > '{when}' OR ([System.ChangedDate] = '{when}' "
                           f"AND [System.Id] > {last_id}))")
            query = (f"SELECT [System.Id] FROM WorkItems WHERE {' AND '.join([*scope, changed])} "
                     "ORDER BY [System.ChangedDate] ASC, [System.Id] ASC")
            result = self._wiql("search_changed_since", project, query, top=self._wiql_page)
            ids = [int(ref["id"]) for ref in result.get("workItems") or []]
            changed_at: dict[int, datetime] = {}
            for start in range(0, len(ids), self._batch_size):
                for ref in self._changed_dates(project, ids[start:start + self._batch_size], result.get("asOf")):
                    changed_at[int(ref.id)] = ref.updated
                    yield ref
            if len(ids) < self._wiql_page:
                return
            last = next((i for i in reversed(ids) if i in changed_at), None)
            if last is None or (cursor is not None and (changed_at[last], last) <= cursor):
                return  # nothing readable moved the cursor: stop rather than loop
            cursor = (changed_at[last], last)

    def _changed_dates(self, project: str | None, ids: list[int], as_of: str | None) -> list[ItemRef]:
        body: dict[str, Any] = {"ids": ids, "fields": ["System.Id", "System.ChangedDate"], "errorPolicy": "omit"}
        if as_of:
            body["asOf"] = as_of
        result = self._json("search_changed_since", "POST", f"{_api(project)}/wit/workitemsbatch", json=body,
                            idempotent=True)
        refs = []
        for item in (result or {}).get("value") or []:
            if item and (item.get("fields") or {}).get("System.ChangedDate"):
                refs.append(ItemRef(id=str(item["id"]), key=str(item["id"]),
                                    updated=_date(item["fields"]["System.ChangedDate"])))
        return refs

    def _wiql(self, operation: str, project: str | None, query: str, *, top: int) -> dict[str, Any]:
        return self._json(operation, "POST", f"{_api(project)}/wit/wiql", json={"query": query},
                          params={"timePrecision": "true", "$top": str(top)}, idempotent=True) or {}

    def create_item(self, project: str, fields: ItemFields) -> TrackerItem:
        work_type = fields.type or self.default_issue_type(project) or "Task"
        ops = self._field_ops(fields.model_copy(update={"type": None}), creating=True)
        body = self._patch_call("create_item", "POST", f"{_api(project)}/wit/workitems/${quote(work_type, safe='')}",
                                ops)
        return self._normalize(body)

    def update_item(self, key: str, fields: ItemFields) -> None:
        ops = self._field_ops(fields)
        if ops:
            self._patch_call("update_item", "PATCH", f"{self._api()}/wit/workitems/{_item_id(key)}", ops,
                             idempotent=True)

    def change_status(self, key: str, status: str) -> None:
        try:
            self._patch_call("change_status", "PATCH", f"{self._api()}/wit/workitems/{_item_id(key)}",
                             [{"op": "add", "path": "/fields/System.State", "value": status}], idempotent=True)
        except TrackerRejectedError as exc:
            raise TrackerRejectedError(TRACKER, "change_status", exc.status,
                                       f"state {status!r} was refused: {exc.detail}") from exc

    def _field_ops(self, fields: ItemFields, *, creating: bool = False) -> list[dict[str, Any]]:
        values: dict[str, Any] = {}
        if fields.type is not None:
            values["System.WorkItemType"] = fields.type
        if fields.summary is not None:
            values["System.Title"] = fields.summary
        if fields.description is not None:
            if fields.description.format != "html":
                raise ValueError(f"Azure DevOps descriptions are HTML, not {fields.description.format}")
            values["System.Description"] = fields.description.content or ""
        if fields.labels is not None:
            values["System.Tags"] = "; ".join(label.replace(";", ",").strip() for label in fields.labels)
        if fields.priority is not None:
            values["Microsoft.VSTS.Common.Priority"] = int(fields.priority) if fields.priority.isdigit() \
                else fields.priority
        if fields.assignee_account_id is not None:
            known = self._identities.get(fields.assignee_account_id)
            values["System.AssignedTo"] = (known.email or known.display_name) if known else fields.assignee_account_id
        values.update(fields.custom_fields)
        # On an existing item `add` on System.Tags merges into the tags already there (Microsoft's "Add a tag"
        # example): the label list we mirror must `replace` them, or a label removed on the other side stays.
        return [{"op": "replace" if name == "System.Tags" and not creating else "add", "path": f"/fields/{name}",
                 "value": value} for name, value in values.items()]

    # ------------------------------------------------------------------------------------------- comments

    def list_comments(self, key: str) -> list[TrackerComment]:
        path = f"{self._api()}/wit/workItems/{_item_id(key)}/comments"
        comments: list[TrackerComment] = []
        token: str | None = None
        seen: set[str] = set()
        while True:
            params = {"$top": "200", "order": "asc", "api-version": COMMENTS_API_VERSION}
            if token:
                params["continuationToken"] = token
            page = self._json("list_comments", "GET", path, params=params) or {}
            comments += [self._comment(c) for c in page.get("comments") or [] if not c.get("isDeleted")]
            token = page.get("continuationToken")
            if not token or token in seen:
                break
            seen.add(token)
        return sorted(comments, key=lambda c: (c.created or datetime.min.replace(tzinfo=UTC), int(c.id)))

    def add_comment(self, key: str, body: NativeText) -> TrackerComment:
        created = self._json("add_comment", "POST", f"{self._api()}/wit/workItems/{_item_id(key)}/comments",
                             json={"text": _html(body)}, params={"api-version": COMMENTS_API_VERSION})
        return self._comment(created)

    def update_comment(self, key: str, comment_id: str, body: NativeText) -> TrackerComment:
        updated = self._json("update_comment", "PATCH",
                             f"{self._api()}/wit/workItems/{_item_id(key)}/comments/{_item_id(comment_id)}",
                             json={"text": _html(body)}, params={"api-version": COMMENTS_API_VERSION},
                             idempotent=True)
        return self._comment(updated)

    def delete_comment(self, key: str, comment_id: str) -> None:
        self._call("delete_comment", "DELETE",
                   f"{self._api()}/wit/workItems/{_item_id(key)}/comments/{_item_id(comment_id)}",
                   params={"api-version": COMMENTS_API_VERSION}, expected=(200, 204))

    # ------------------------------------------------------------------------------------------- attachments

    def list_attachments(self, key: str) -> list[TrackerAttachment]:
        return self.get_item(key).attachments

    def download_attachment(self, attachment: TrackerAttachment, sink: ByteSink) -> int:
        """Streams the bytes into ``sink`` in chunks; returns how many were written."""
        if not _same_origin(attachment.content_url, self.base_url):
            raise TrackerRejectedError(TRACKER, "download_attachment", None,
                                       "the attachment URL is not on this organization; credentials not sent")
        response = self._call("download_attachment", "GET", attachment.content_url,
                              params={"download": "true"}, stream=True,
                              headers={"Accept": "application/octet-stream"})
        written = 0
        with response:
            for chunk in response.iter_content(chunk_size=self._chunk):
                if chunk:
                    sink.write(chunk)
                    written += len(chunk)
        return written

    def upload_attachment(self, key: str, filename: str, source: IO[bytes],
                          size: int | None = None) -> TrackerAttachment:
        """Streams ``source`` to the attachment store, then links it to the item with an ``AttachedFile`` relation."""
        item_id = _item_id(key)
        headers = {"Content-Type": "application/octet-stream"}
        if size is not None:
            headers["Content-Length"] = str(size)
        extra: dict[str, Any] = {}
        if source.seekable():
            start = source.tell()
            extra["rewind"] = lambda: source.seek(start)
        reference = self._json("upload_attachment", "POST", f"{self._api()}/wit/attachments",
                               params={"fileName": filename}, data=source, headers=headers,
                               expected=(200, 201), idempotent=False, **extra)
        url = str(reference["url"])
        body = self._patch_call("upload_attachment", "PATCH", f"{self._api()}/wit/workitems/{item_id}",
                                [{"op": "add", "path": "/relations/-",
                                  "value": {"rel": "AttachedFile", "url": url}}])
        item = self._normalize(body)
        found = next((a for a in item.attachments if a.id == str(reference["id"])), None)
        if found is None:
            raise TrackerError(TRACKER, "upload_attachment", 200, "the attachment was not linked to the work item")
        return found

    def delete_attachment(self, key: str, attachment_id: str) -> None:
        """Removes the ``AttachedFile`` relation (by index, guarded by a ``test`` of ``/rev``); gone already is fine."""
        item_id = _item_id(key)
        for attempt in (1, 2):
            body = self._json("delete_attachment", "GET", f"{self._api()}/wit/workitems/{item_id}",
                              params={"$expand": "relations"})
            relations = body.get("relations") or []
            index = next((i for i, rel in enumerate(relations)
                          if rel.get("rel") == "AttachedFile" and _attachment_id(rel.get("url", "")) == attachment_id),
                         None)
            if index is None:
                return
            try:
                self._patch_call("delete_attachment", "PATCH", f"{self._api()}/wit/workitems/{item_id}",
                                 [{"op": "test", "path": "/rev", "value": body["rev"]},
                                  {"op": "remove", "path": f"/relations/{index}"}])
                return
            except TrackerRejectedError:
                if attempt == 2:
                    raise  # changed twice under us, or refused for another reason

    # ------------------------------------------------------------------------------------------- process

    def issue_types(self, project: str) -> list[str]:
        types = self._json("issue_types", "GET", f"{_api(project)}/wit/workitemtypes") or {}
        hidden = {ref["name"] for category in self._categories(project)
                  if category.get("referenceName") == "Microsoft.HiddenCategory"
                  for ref in category.get("workItemTypes") or []}
        return [t["name"] for t in types.get("value") or [] if not t.get("isDisabled") and t["name"] not in hidden]

    def default_issue_type(self, project: str) -> str | None:
        """The default type of the Requirement category (User Story, Product Backlog Item, Requirement, Issue)."""
        for category in self._categories(project):
            if category.get("referenceName") == "Microsoft.RequirementCategory":
                return (category.get("defaultWorkItemType") or {}).get("name")
        return None

    def _categories(self, project: str) -> list[dict[str, Any]]:
        body = self._json("issue_types", "GET", f"{_api(project)}/wit/workitemtypecategories") or {}
        return body.get("value") or []

    # ------------------------------------------------------------------------------------------- normalizing

    def _normalize(self, body: dict[str, Any]) -> TrackerItem:
        item = normalize_work_item(body, base_url=self.base_url)
        for ref in (item.reporter, item.assignee):
            if ref is not None:
                self._remember(ref)
        return item

    def _comment(self, body: dict[str, Any]) -> TrackerComment:
        comment = normalize_comment(body)
        if comment.author is not None:
            self._remember(comment.author)
        return comment

    # ------------------------------------------------------------------------------------------- HTTP

    def _api(self) -> str:
        return _api(self.project)

    def _call(self, operation: str, method: str, path: str, *, params: dict[str, str] | None = None,
              versioned: bool = True, headers: dict[str, str] | None = None, expected: tuple[int, ...] = (200,),
              **kwargs: Any) -> requests.Response:
        query = dict(params or {})
        if versioned:
            query.setdefault("api-version", API_VERSION)
        sent = {"Accept": "application/json", "X-TFS-FedAuthRedirect": "Suppress", **(headers or {})}
        response = self._http.request(operation, method, path, params=query, headers=sent, auth=self._auth,
                                      expected=(*expected, 203), **kwargs)
        if response.status_code == 203:  # an HTML sign-in page: ADO's way to say "not authenticated"
            response.close()
            raise TrackerAuthError(TRACKER, operation, 203, "Azure DevOps answered with a sign-in page")
        return response

    def _json(self, operation: str, method: str, path: str, **kwargs: Any) -> Any:
        return decode_json(TRACKER, operation, self._call(operation, method, path, **kwargs))

    def _patch_call(self, operation: str, method: str, path: str, ops: list[dict[str, Any]], *,
                    params: dict[str, str] | None = None, idempotent: bool = False) -> Any:
        return self._json(operation, method, path, params=params, data=json.dumps(ops),
                          headers={"Content-Type": "application/json-patch+json"}, idempotent=idempotent)


# ----------------------------------------------------------------------------------------------- pure helpers


def normalize_work_item(body: dict[str, Any], *, base_url: str) -> TrackerItem:
    """An ADO WorkItem (GET workitems/{id}, with or without relations) as a TrackerItem."""
    fields = body.get("fields") or {}
    item_id = str(body["id"])
    project = str(fields.get("System.TeamProject") or "")
    html = ((body.get("_links") or {}).get("html") or {}).get("href")
    description = fields.get("System.Description")
    priority = fields.get("Microsoft.VSTS.Common.Priority")
    return TrackerItem(
        id=item_id, key=item_id,
        url=html or f"{base_url.rstrip('/')}/{quote(project)}/_workitems/edit/{item_id}",
        project=project, type=str(fields.get("System.WorkItemType") or ""),
        summary=str(fields.get("System.Title") or ""),
        description=NativeText(format="html", content=description) if description else None,
        status=fields.get("System.State"), priority=str(priority) if priority is not None else None,
        labels=[tag.strip() for tag in str(fields.get("System.Tags") or "").split(";") if tag.strip()],
        reporter=identity(fields.get("System.CreatedBy")), assignee=identity(fields.get("System.AssignedTo")),
        created=_date(fields["System.CreatedDate"]) if fields.get("System.CreatedDate") else None,
        updated=_date(fields["System.ChangedDate"]),
        revision=str(body["rev"]) if body.get("rev") is not None else None,
        custom_fields={name: value for name, value in fields.items()
                       if (not name.startswith("System.") and name not in KNOWN_FIELDS)
                       or name in CLASSIFICATION_FIELDS},
        attachments=[attachment(rel) for rel in body.get("relations") or [] if rel.get("rel") == "AttachedFile"],
    )


def normalize_comment(body: dict[str, Any]) -> TrackerComment:
    """A comment of the 7.1-preview.4 comments API (``id``; Microsoft's older examples say ``commentId``)."""
    comment_id = body.get("id", body.get("commentId"))
    return TrackerComment(id=str(comment_id), author=identity(body.get("createdBy")),
                          body=NativeText(format="html", content=body.get("text") or ""),
                          created=_date(body["createdDate"]) if body.get("createdDate") else None,
                          updated=_date(body["modifiedDate"]) if body.get("modifiedDate") else None)


def attachment(relation: dict[str, Any]) -> TrackerAttachment:
    attributes = relation.get("attributes") or {}
    url = str(relation["url"]).split("?")[0]
    created = attributes.get("resourceCreatedDate") or attributes.get("authorizedDate")
    return TrackerAttachment(id=_attachment_id(url), filename=str(attributes.get("name") or _attachment_id(url)),
                             size=attributes.get("resourceSize"), created=_date(created) if created else None,
                             content_url=url)


def identity(value: Any) -> UserRef | None:
    """An IdentityRef object (REST) or a "Name <unique name>" string (service hooks, older payloads)."""
    if not value:
        return None
    if isinstance(value, dict):
        unique = value.get("uniqueName")
        return UserRef(account_id=str(value.get("id") or unique or value.get("displayName")),
                       display_name=str(value.get("displayName") or ""),
                       email=unique if isinstance(unique, str) and "@" in unique else None)
    text = str(value).strip()
    if text.endswith(">") and "<" in text:
        name, _, unique = text[:-1].rpartition("<")
        unique = unique.strip()
        return UserRef(account_id=unique, display_name=name.strip(), email=unique if "@" in unique else None)
    return UserRef(account_id=text, display_name=text)


def _api(project: str | None) -> str:
    return f"{quote(project, safe='')}/_apis" if project else "_apis"


def _item_id(key: str) -> str:
    text = str(key).strip()
    if not text.isdigit():
        raise ValueError(f"Azure DevOps ids are numbers, not {key!r}")
    return text


def _attachment_id(url: str) -> str:
    return url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]


def _date(text: str) -> datetime:
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _wiql_date(when: datetime) -> str:
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _html(body: NativeText) -> str:
    if body.format != "html":
        raise ValueError(f"Azure DevOps comments are HTML, not {body.format}")
    return str(body.content or "")


def _same_origin(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.netloc.lower()) == (b.scheme, b.netloc.lower())
