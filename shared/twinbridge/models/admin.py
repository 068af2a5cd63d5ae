"""Admin API bodies (ours: unknown fields are refused, so a typo is an error, not a silent no-op)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, create_model, field_validator, model_validator

from twinbridge.models.base import StrictModel
from twinbridge.models.connection import SHORT_NAME_PATTERN, Connection, Mode, validate_peer_url
from twinbridge.models.messages import PeerMessage

MAX_URL_CHARS = 2048
MAX_KEY_CHARS = 512  # a manual key: tbk1_ + 43 base64url characters, or >= 64 hex digits
MAX_CHECK_NAME_CHARS = 200
MAX_CHECK_DETAIL_CHARS = 2000
MAX_CHECKS = 50


class ConnectionTerms(StrictModel):
    """What both setup styles (invitation, manual keys) ask the admin for."""

    name: str = Field(min_length=1, max_length=120)
    local_short_name: str = Field(pattern=SHORT_NAME_PATTERN, max_length=40)
    remote_short_name: str = Field(pattern=SHORT_NAME_PATTERN, max_length=40)
    description: str = Field(default="", max_length=2000)
    mode: Mode = "basic"
    project: str | None = Field(default=None, max_length=255, description="project for incoming sync")
    relay_other_partners: bool = Field(
        default=False, description="share with this partner what other partners sent here (copies, comments)")


class InitiateRequest(ConnectionTerms):
    partner_url: str | None = Field(
        default=None, max_length=MAX_URL_CHARS, description="the partner node's URL; null = 'I don't have a URL'"
    )
    expires_in_hours: float = Field(default=72, gt=0, le=24 * 30)

    @field_validator("partner_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return validate_peer_url(value)


class AcceptInvitationRequest(StrictModel):
    code: str = Field(min_length=1, max_length=8192)
    project: str | None = Field(default=None, max_length=255)
    name: str | None = Field(default=None, max_length=120, description="local name; defaults to the invitation's")
    relay_other_partners: bool = Field(
        default=False, description="share with this partner what other partners sent here (copies, comments)")


class ManualConnectionRequest(ConnectionTerms):
    local_key: SecretStr = Field(
        min_length=1, max_length=MAX_KEY_CHARS, description="verifies incoming requests; identifies the connection"
    )
    remote_key: SecretStr | None = Field(
        default=None, min_length=1, max_length=MAX_KEY_CHARS, description="signs requests to the partner"
    )
    remote_url: str | None = Field(default=None, max_length=MAX_URL_CHARS)
    passive: bool = False
    technical_user: str | None = Field(default=None, max_length=255)
    alt_base_url: str | None = Field(default=None, max_length=MAX_URL_CHARS)

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


def _clip(limit: int) -> Any:
    """A before-validator that shortens text we compose ourselves (tracker messages may be long) instead of failing."""

    def clip(value: Any) -> Any:
        return value[: limit - 1] + "\u2026" if isinstance(value, str) and len(value) > limit else value

    return clip


class CheckResult(BaseModel):
    """One check of ``connection test`` (a response: built by this node, clipped rather than refused)."""

    name: str = Field(max_length=MAX_CHECK_NAME_CHARS)
    status: Literal["ok", "failed", "skipped"]
    detail: str = Field(default="", max_length=MAX_CHECK_DETAIL_CHARS)

    _clip_name = field_validator("name", mode="before")(_clip(MAX_CHECK_NAME_CHARS))
    _clip_detail = field_validator("detail", mode="before")(_clip(MAX_CHECK_DETAIL_CHARS))


class TestReport(BaseModel):
    connection_id: str = Field(max_length=128)
    internal: list[CheckResult] = Field(max_length=MAX_CHECKS)
    remote: CheckResult

    @property
    def ok(self) -> bool:
        return all(c.status != "failed" for c in (*self.internal, self.remote))


# --- answers (built by this node; described for the OpenAPI document) -----------------------------------------------
class TrackerInfo(BaseModel):
    type: str = Field(max_length=32)
    base_url: str | None = Field(default=None, max_length=MAX_URL_CHARS)
    alt_base_url: str | None = Field(default=None, max_length=MAX_URL_CHARS)


class NodeInfoResponse(BaseModel):
    node: str = Field(max_length=128)
    public: bool
    url: str | None = Field(default=None, max_length=MAX_URL_CHARS)
    tracker: TrackerInfo
    technical_user: str | None = Field(default=None, max_length=255)
    connections: int = Field(ge=0)


def _connection_view_fields() -> dict[str, Any]:
    """Connection's own fields minus its key material (Connection.public_view), plus the derived facts it adds."""
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in Connection.model_fields.items() if name != "keys"
    }
    fields.update(
        remote_private=(bool, Field(description="the partner has no URL: it polls this node")),
        delivery=(Literal["push", "partner polls"], ...),
        rotation_pending=(bool, ...),
        key_ids=(list[Annotated[str, Field(max_length=128)]], Field(max_length=16, description="inbound key ids")),
    )
    return fields


# Generated from Connection so the described view cannot drift from the record it shows.
ConnectionView: type[BaseModel] = create_model(
    "ConnectionView",
    __doc__="A connection as admins see it: every field except key material, plus derived facts.",
    **_connection_view_fields(),
)


class ConnectionDetail(ConnectionView):
    """``connection show``: the view plus the partner's backlog and the newest activity-log entries."""

    queued_for_partner: int | str = Field(description="outbox messages not acknowledged; '100+' when capped")
    recent_events: list[dict[str, Any]] = Field(max_length=10)


class ConnectionResponse(BaseModel):
    connection: ConnectionView


class ConnectionDetailResponse(BaseModel):
    connection: ConnectionDetail


class ConnectionListResponse(BaseModel):
    connections: list[ConnectionView]


class InitiateResponse(BaseModel):
    connection: ConnectionView
    invitation_code: str = Field(max_length=8192, description="single-use; give it to the partner's admin")


class DeletedResponse(BaseModel):
    deleted: str = Field(max_length=128)


class SentMessageResponse(BaseModel):
    message: PeerMessage


class TestReportResponse(BaseModel):
    connection_id: str = Field(max_length=128)
    internal: list[CheckResult] = Field(max_length=MAX_CHECKS)
    remote: CheckResult
    ok: bool = Field(description="no check failed")
