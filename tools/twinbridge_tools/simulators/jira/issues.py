"""Jira simulator routes for issues: create, read (fields, expand), update (fields and ``update`` verbs), delete,
transitions and JQL search."""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from twinbridge_tools.simulators.jira.base import JiraBase
from twinbridge_tools.simulators.jira.jql import JqlError
from twinbridge_tools.simulators.jira.jql import parse as jql_parse
from twinbridge_tools.simulators.jira.model import (
    SimComment,
    SimIssue,
    SimUser,
    _item,
    _plain,
    _Reply,
    _sort_key,
)
from twinbridge_tools.simulators.server import SimRequest, SimResponse


class IssueRoutes(JiraBase):
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
        with self._site_links():
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
        needed = issue.project.required.get(transition[2])
        given = ((request.json() or {}).get("fields") or {})
        if needed is not None and issue.custom.get(needed[0]) in (None, "") and given.get(needed[0]) in (None, ""):
            raise _Reply(400, errors={needed[0]: f"{needed[1]} is required."})
        if needed is not None and given.get(needed[0]) not in (None, ""):
            issue.custom[needed[0]] = given[needed[0]]
        before, issue.status = issue.status, transition[2]
        self._touch(issue)
        self._issue_event("jira:issue_updated", "issue_generic", user, issue,
                          [_item("status", before, issue.status, "jira", "status")])
        return SimResponse(204)

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
