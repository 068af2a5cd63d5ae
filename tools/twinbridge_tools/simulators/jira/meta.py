"""Jira simulator routes about the site: serverInfo, fields, identity and permissions, projects and issue types."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from twinbridge_tools.simulators.jira.base import JiraBase
from twinbridge_tools.simulators.jira.model import (
    _DESCRIPTIONS,
    _SYSTEM_FIELDS,
    SimIssue,
    SimUser,
    _Reply,
    _time,
)
from twinbridge_tools.simulators.server import SimRequest, SimResponse


class MetaRoutes(JiraBase):
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
                     (query and query.casefold() in ((u.email.casefold() if u.email_visible else None),
                                                     u.display_name.casefold()))]
        else:
            name = (request.param("username") or "").casefold()
            if not name:
                raise _Reply(400, "The username query parameter was not provided")
            found = [u for u in self.users.values() if name in (u.account_id.casefold(), u.email.casefold())
                     or u.display_name.casefold().startswith(name)]
        return SimResponse.json(200, [self._user_json(u) for u in found])

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
