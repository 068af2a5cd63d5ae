"""The Connection record: what two nodes agreed on, its state machine, and its key material."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretBytes, field_validator

from twinbridge.loopback import is_loopback

Mode = Literal["basic", "script"]
SHORT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,39}$"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_connection_id() -> str:
    return "c-" + uuid.uuid4().hex


class ConnectionStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


class Origin(StrEnum):
    INITIATOR = "initiator"
    ACCEPTOR = "acceptor"
    MANUAL = "manual"


def validate_peer_url(value: str | None) -> str | None:
    """Peer URLs must be https; plain http is allowed on loopback only (the local runtime)."""
    if value is None or value == "":
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError("must use https (plain http is only accepted for loopback addresses)")
    if "@" in parts.netloc or "?" in value or "#" in value:
        raise ValueError("must not carry credentials, a query or a fragment")
    return value.strip().rstrip("/")


class InboundKey(BaseModel):
    """A key that verifies incoming requests. Old keys linger until ``expires_at`` after a rotation."""

    model_config = ConfigDict(extra="forbid")

    key_id: str
    secret: SecretBytes
    expires_at: dt.datetime | None = None

    def valid_at(self, moment: dt.datetime) -> bool:
        return self.expires_at is None or moment < self.expires_at


class KeyMaterial(BaseModel):
    """Everything secret about a connection. Never serialized into an API response."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    inbound: list[InboundKey] = Field(default_factory=list)
    outbound: SecretBytes | None = None
    # Invitation handshake, kept only while the connection is pending:
    ephemeral_private: SecretBytes | None = None
    invitation_secret: SecretBytes | None = None
    handshake_key: SecretBytes | None = None  # acceptor of a private initiator: authenticates the one fetch
    # A rotation this side offered and is waiting to complete:
    rotation_id: str | None = None
    rotation_private: SecretBytes | None = None
    # A rotation this side answered: sign with ``next_outbound`` once the partner uses ``next_inbound_key_id``.
    next_outbound: SecretBytes | None = None
    next_inbound_key_id: str | None = None

    def invitation_halves(self) -> tuple[bytes, bytes] | None:
        """(our ephemeral private key, the invitation secret) while an invitation this side issued is pending."""
        if self.ephemeral_private is None or self.invitation_secret is None:
            return None
        return self.ephemeral_private.get_secret_value(), self.invitation_secret.get_secret_value()

    def inbound_key(self, key_id: str, moment: dt.datetime) -> bytes | None:
        for key in self.inbound:
            if key.key_id == key_id and key.valid_at(moment):
                return key.secret.get_secret_value()
        return None


class Connection(BaseModel):
    """One side's record of a connection. ``keys`` is excluded from every public view."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    id: str
    name: str = Field(min_length=1, max_length=120)
    local_short_name: str = Field(pattern=SHORT_NAME_PATTERN)
    remote_short_name: str = Field(pattern=SHORT_NAME_PATTERN)
    description: str = Field(default="", max_length=2000)
    mode: Mode = "basic"
    project: str | None = Field(default=None, max_length=255, description="project for incoming sync")
    remote_url: str | None = None
    remote_node: str | None = None
    passive: bool = False
    relay_other_partners: bool = Field(
        default=False, description="also share with this partner what other partners sent here: the copies made "
        "for other connections and their comments and attachments (off: no relays, no loops)")
    technical_user: str | None = None
    alt_base_url: str | None = None
    origin: Origin
    status: ConnectionStatus = ConnectionStatus.PENDING
    invitation_expires_at: dt.datetime | None = None
    handshake_public_key: str | None = None  # acceptor's X25519 public half, until the private initiator fetched it
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)
    activated_at: dt.datetime | None = None
    last_contact_at: dt.datetime | None = None
    keys_rotated_at: dt.datetime | None = None
    out_seq: int = 0
    in_seq: int = 0
    version: int = 0
    keys: KeyMaterial = Field(default_factory=KeyMaterial)

    @field_validator("remote_url", "alt_base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return validate_peer_url(value)

    @property
    def can_call_remote(self) -> bool:
        """This side may start HTTP requests to the partner."""
        return self.remote_url is not None and not self.passive

    @property
    def collects_changes(self) -> bool:
        """Its items are synced: active, or paused (a paused connection keeps queueing, delivered on resume)."""
        return self.status in (ConnectionStatus.ACTIVE, ConnectionStatus.DEACTIVATED)

    @property
    def rotation_pending(self) -> bool:
        return self.keys.rotation_id is not None

    def public_view(self) -> dict[str, Any]:
        """The record as admins see it: every field except key material, plus derived facts."""
        data = self.model_dump(mode="json", exclude={"keys"})
        data["remote_private"] = self.remote_url is None
        data["delivery"] = "push" if self.can_call_remote else "partner polls"
        data["rotation_pending"] = self.rotation_pending
        data["key_ids"] = [k.key_id for k in self.keys.inbound]
        return data
