"""Node settings read once from the environment (names are the template's environment variables)."""

from __future__ import annotations

import functools
import os

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from twinbridge.models.base import TrackerKind
from twinbridge.models.connection import validate_peer_url


class Settings(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    node_name: str = Field(alias="NODE_NAME", min_length=1)
    tracker_type: TrackerKind = Field(alias="TRACKER_TYPE")
    tracker_base_url: str = Field(default="", alias="TRACKER_BASE_URL")
    tracker_alt_base_url: str = Field(default="", alias="TRACKER_ALT_BASE_URL")
    # Jira Cloud with an OAuth 2.0 token is called through Atlassian's API gateway; tests point it at a simulator.
    jira_api_gateway_url: str = Field(default="https://api.atlassian.com", alias="JIRA_API_GATEWAY_URL")
    tracker_secret_arn: str = Field(default="", alias="TRACKER_SECRET_ARN")
    # The tracker webhook function's own secret (webhook_secret, webhook_username); it is never given the tracker
    # secret. Unset (tests, older local set-ups) = the webhook fields of the tracker secret (Deps.webhook_credentials).
    webhook_secret_arn: str = Field(default="", alias="WEBHOOK_SECRET_ARN")
    technical_user: str = Field(default="", alias="TECHNICAL_USER")
    node_public: bool = Field(default=False, alias="NODE_PUBLIC")
    public_url: str = Field(default="", alias="PUBLIC_URL")
    table_name: str = Field(alias="TABLE_NAME")
    sync_queue_url: str = Field(default="", alias="SYNC_QUEUE_URL")
    attachments_bucket: str = Field(default="", alias="ATTACHMENTS_BUCKET")
    long_poll_seconds: float = Field(default=20.0, alias="LONG_POLL_SECONDS", gt=0, le=25)
    long_poll_interval_seconds: float = Field(default=0.25, alias="LONG_POLL_INTERVAL_SECONDS", gt=0, le=5)
    peer_timeout_seconds: float = Field(default=10.0, alias="PEER_TIMEOUT_SECONDS", gt=0)
    # Tests only (the loop test): with False, changes made by the technical user are synced back too, and only
    # the engine's own echo suppression stops ping-pong. Never turn it off in a deployment.
    technical_user_guard: bool = Field(default=True, alias="TECHNICAL_USER_GUARD")
    comment_sweep_seconds: float = Field(default=10.0, alias="COMMENT_SWEEP_SECONDS", gt=0)
    lambda_function_name: str = Field(default="", alias="AWS_LAMBDA_FUNCTION_NAME", description="set by Lambda")
    # The local runtime only: partner nodes and their buckets are on loopback, over plain http. Never in a stack.
    local_runtime: bool = Field(default=False, alias="LOCAL_RUNTIME")
    # Per connection: how many replicas a partner may hand this node per window (each one becomes an apply job on
    # the shared sync queue; the cap keeps one partner's flood from delaying every other partner's changes), and
    # how many long-polls it may hold open at once.
    replica_burst: int = Field(default=10, alias="PARTNER_REPLICA_BURST", gt=0)
    replicas_per_second: float = Field(default=3.0, alias="PARTNER_REPLICAS_PER_SECOND", gt=0)
    polls_per_connection: int = Field(default=2, alias="PARTNER_POLLS_PER_CONNECTION", gt=0)
    attachment_max_bytes: int = Field(default=100 * 1024 * 1024, alias="ATTACHMENT_MAX_BYTES", gt=0,
                                      le=2 * 1024**3)

    @model_validator(mode="after")
    def _queue_in_lambda(self) -> Settings:
        # Outside Lambda (tests, benchmarks) jobs may run in-process; in Lambda that would lose them on a crash.
        if self.lambda_function_name and not self.sync_queue_url:
            raise ValueError("SYNC_QUEUE_URL is required in Lambda: the sync queue carries every change and delivery")
        return self

    @field_validator("public_url", "tracker_base_url", "tracker_alt_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("jira_api_gateway_url")
    @classmethod
    def _gateway_url(cls, value: str) -> str:
        """https (plain http on loopback only, for a simulator), with no credentials, query or fragment."""
        checked = validate_peer_url(value)
        if checked is None:
            raise ValueError("must be an absolute https URL")
        return checked


@functools.cache
def settings() -> Settings:
    """The node's settings, validated once per process (cleared by tests between cases)."""
    return Settings.model_validate(dict(os.environ))
