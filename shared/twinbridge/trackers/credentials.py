"""Secrets Manager documents of a node: the tracker credentials (``TrackerSecretArn``) and the webhook secret
(``WebhookSecretArn``), each one JSON object.

Tracker credentials (read by the admin API, the sync worker and the poller); which fields apply depends on the
tracker:

- Jira Cloud: ``email`` + ``api_token`` (basic auth on the site URL), or ``oauth_token`` (an OAuth 2.0 (3LO)
  access token, sent as a bearer token through Atlassian's API gateway,
  ``https://api.atlassian.com/ex/jira/{cloud_id}``) with an optional ``cloud_id`` (discovered from the token's
  accessible resources when absent).
- Jira Data Center/Server: ``pat`` (personal access token, bearer), or ``username`` + ``password`` (basic).
- Azure DevOps: ``pat`` (sent as basic auth with an empty user name, as Microsoft documents).

Webhook secret (read by the tracker webhook function only, which never sees the tracker credentials):
``webhook_secret`` (Jira Cloud admin webhooks: the HMAC secret behind ``X-Hub-Signature``; Jira DC: the per-node
token in the webhook URL's query or header; Azure DevOps: the basic-auth password or the custom header value of the
service hook), ``webhook_username`` (Azure DevOps basic auth only). Before the split these two fields lived in the
tracker secret; ``TrackerCredentials`` still accepts them there so older secrets keep validating.
"""

from __future__ import annotations

import requests
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from requests.auth import AuthBase, HTTPBasicAuth


class BearerAuth(AuthBase):
    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:  # never show the token
        return "BearerAuth(***)"


class WebhookCredentials(BaseModel):
    """The webhook secret (``WebhookSecretArn``): what authenticates tracker deliveries, and nothing else."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    webhook_secret: SecretStr | None = None
    webhook_username: str | None = None


class TrackerCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: str | None = None
    api_token: SecretStr | None = None
    oauth_token: SecretStr | None = None
    cloud_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{1,64}$")
    username: str | None = None
    password: SecretStr | None = None
    pat: SecretStr | None = None
    webhook_secret: SecretStr | None = None
    webhook_username: str | None = None

    @model_validator(mode="after")
    def _pairs_complete(self) -> TrackerCredentials:
        if (self.email is None) != (self.api_token is None):
            raise ValueError("email and api_token go together (Jira Cloud basic auth)")
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together (Jira Data Center basic auth)")
        if self.cloud_id is not None and self.oauth_token is None:
            raise ValueError("cloud_id goes with oauth_token (Jira Cloud OAuth 2.0 through api.atlassian.com)")
        return self

    def webhook_credentials(self) -> WebhookCredentials:
        """The webhook fields of an older, combined tracker secret (only used when WEBHOOK_SECRET_ARN is unset)."""
        return WebhookCredentials(webhook_secret=self.webhook_secret, webhook_username=self.webhook_username)

    def auth_for(self, kind: str) -> AuthBase:
        """The requests auth for ``kind``; a ValueError says which fields are missing."""
        if kind == "jira-cloud":
            if self.oauth_token:
                return BearerAuth(self.oauth_token.get_secret_value())
            if self.email and self.api_token:
                return HTTPBasicAuth(self.email, self.api_token.get_secret_value())
            raise ValueError("Jira Cloud needs email + api_token, or oauth_token")
        if kind == "jira-dc":
            if self.pat:
                return BearerAuth(self.pat.get_secret_value())
            if self.username and self.password:
                return HTTPBasicAuth(self.username, self.password.get_secret_value())
            raise ValueError("Jira Data Center needs pat, or username + password")
        if kind == "azure-devops":
            if self.pat:
                return HTTPBasicAuth("", self.pat.get_secret_value())
            raise ValueError("Azure DevOps needs pat")
        raise ValueError(f"unknown tracker type {kind!r}")
