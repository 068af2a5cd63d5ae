"""Admin API bodies (ours: unknown fields are refused, so a typo is an error, not a silent no-op)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from twinbridge.models.base import StrictModel
from twinbridge.models.connection import SHORT_NAME_PATTERN, Mode, validate_peer_url


class ConnectionTerms(StrictModel):
    """What both setup styles (invitation, manual keys) ask the admin for."""

    name: str = Field(min_length=1, max_length=120)
    local_short_name: str = Field(pattern=SHORT_NAME_PATTERN)
    remote_short_name: str = Field(pattern=SHORT_NAME_PATTERN)
    description: str = Field(default="", max_length=2000)
    mode: Mode = "basic"
    project: str | None = Field(default=None, max_length=255, description="project for incoming sync")


class InitiateRequest(ConnectionTerms):
    partner_url: str | None = Field(default=None, description="the partner node's URL; null = 'I don't have a URL'")
    expires_in_hours: float = Field(default=72, gt=0, le=24 * 30)

    @field_validator("partner_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return validate_peer_url(value)


class AcceptInvitationRequest(StrictModel):
    code: str = Field(min_length=1, max_length=8192)
    project: str | None = Field(default=None, max_length=255)
    name: str | None = Field(default=None, max_length=120, description="local name; defaults to the invitation's")


class ManualConnectionRequest(ConnectionTerms):
    local_key: SecretStr = Field(description="verifies incoming requests; identifies the connection")
    remote_key: SecretStr | None = Field(default=None, description="signs requests to the partner")
    remote_url: str | None = None
    passive: bool = False
    technical_user: str | None = Field(default=None, max_length=255)
    alt_base_url: str | None = None

    @field_validator("remote_url", "alt_base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return validate_peer_url(value)

    @model_validator(mode="after")
    def _consistent(self) -> ManualConnectionRequest:
        if not self.passive and self.remote_key is None:
            raise ValueError("remote_key is required unless the connection is passive (it signs what this side sends)")
        if not self.passive and self.remote_url is None:
            raise ValueError(
                "remote_url is required unless the connection is passive (this side must reach the partner)"
            )
        return self


class SendMessageRequest(StrictModel):
    kind: Literal["note"] = "note"
    text: str = Field(min_length=1, max_length=4000)


class CheckResult(BaseModel):
    name: str
    status: Literal["ok", "failed", "skipped"]
    detail: str = ""


class TestReport(BaseModel):
    connection_id: str
    internal: list[CheckResult]
    remote: CheckResult

    @property
    def ok(self) -> bool:
        return all(c.status != "failed" for c in (*self.internal, self.remote))
