"""A loopback Jira (Cloud REST v3 or Data Center REST v2): the REST subset clients use, webhooks, faults."""

from __future__ import annotations

import re
from collections.abc import Callable

from twinbridge_tools.simulators.jira.content import ContentRoutes
from twinbridge_tools.simulators.jira.issues import IssueRoutes
from twinbridge_tools.simulators.jira.meta import MetaRoutes
from twinbridge_tools.simulators.server import SimResponse


class JiraSimulator(IssueRoutes, ContentRoutes, MetaRoutes):
    """One Jira site. ``flavour`` "cloud" serves /rest/api/3 (ADF), "dc" serves /rest/api/2 (wiki markup).

    ``public_base_url`` is what Jira puts in ``self``/``content`` links (defaults to ``url``), so an alternative
    base URL can be tested. Webhooks go to ``webhook_url`` (if set) synchronously after each change and are
    recorded in ``webhooks`` either way; Cloud ones are signed with ``webhook_secret`` when given. Cloud also plays
    Atlassian's API gateway (``gateway_url``, ``cloud_id``) for OAuth 2.0 bearer tokens.
    """

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
