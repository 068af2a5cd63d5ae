"""Builds the node's TrackerClient from its settings and credentials (imports the one client it needs, lazily)."""

from __future__ import annotations

import requests

from twinbridge.trackers.base import TrackerClient
from twinbridge.trackers.credentials import TrackerCredentials


def build_client(
    kind: str,
    base_url: str,
    credentials: TrackerCredentials,
    *,
    alt_base_url: str | None = None,
    session: requests.Session | None = None,
    user_agent: str = "twinbridge",
    jira_api_gateway: str = "https://api.atlassian.com",
) -> TrackerClient:
    """A client for ``kind``; ValueError (naming what is missing) when the settings cannot make one.

    Jira Cloud with an ``oauth_token`` is called through ``jira_api_gateway`` (Atlassian's, unless a test points
    it elsewhere); ``base_url`` stays the site people browse, and ``alt_base_url`` does not apply (Cloud takes
    OAuth 2.0 tokens at the gateway only).
    """
    if not base_url:
        raise ValueError("the tracker base URL is not set (TrackerBaseUrl)")
    auth = credentials.auth_for(kind)
    session = session or requests.Session()
    session.headers.setdefault("User-Agent", user_agent)
    if kind in ("jira-cloud", "jira-dc"):
        from twinbridge.trackers.jira import JiraCloudClient, JiraDcClient

        if kind == "jira-cloud" and credentials.oauth_token is not None:
            return JiraCloudClient(base_url, session, auth=auth, oauth_gateway=jira_api_gateway,
                                   cloud_id=credentials.cloud_id)
        cls = JiraCloudClient if kind == "jira-cloud" else JiraDcClient
        return cls(base_url, session, auth=auth, alt_base_url=alt_base_url or None)
    if kind == "azure-devops":
        from twinbridge.trackers.azure_devops import AzureDevOpsClient

        return AzureDevOpsClient(alt_base_url or base_url, session, auth=auth)
    raise ValueError(f"unknown tracker type {kind!r}")
