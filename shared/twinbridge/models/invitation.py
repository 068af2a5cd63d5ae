"""Invitation codes: a copy-pasteable, integrity-checked string; it carries no key, only a public half."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from twinbridge.encoding import b64d, b64e
from twinbridge.errors import MalformedInvitationError
from twinbridge.models.connection import SHORT_NAME_PATTERN, Mode

PREFIX = "tbinv1."


def terms_context(connection_id: str, *, name: str, initiator_short_name: str, acceptor_short_name: str,
                  description: str, mode: str, expires_at: dt.datetime) -> str:
    """The key-derivation context of an invitation: its connection id and a digest of its terms. Both sides derive
    the keys with it, so a code whose terms were altered on the way (mode, description, names, expiry) yields keys
    that do not match, and the handshake fails instead of each side holding different terms."""
    terms = {"name": name, "initiator": initiator_short_name, "acceptor": acceptor_short_name,
             "description": description, "mode": mode,
             "expires_at": expires_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    digest = hashlib.sha256(json.dumps(terms, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return f"{connection_id}|terms:{digest}"


class InvitationCode(BaseModel):
    """What the acceptor needs: who invites, on which terms, and the initiator's X25519 public half."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connection_id: str = Field(pattern=r"^c-[0-9a-f]{32}$")
    name: str = Field(min_length=1, max_length=120)
    initiator_node: str
    initiator_short_name: str = Field(pattern=SHORT_NAME_PATTERN)
    acceptor_short_name: str = Field(pattern=SHORT_NAME_PATTERN)
    description: str = ""
    mode: Mode
    initiator_url: str | None = None
    expires_at: AwareDatetime
    public_key: str = Field(description="initiator's ephemeral X25519 public half, base64url")
    invitation_secret: str = Field(description="binds the exchange to holders of this code, base64url; not a key")

    @field_validator("public_key", "invitation_secret")
    @classmethod
    def _thirty_two_bytes(cls, value: str) -> str:
        if len(b64d(value)) != 32:
            raise ValueError("must be 32 bytes, base64url")
        return value

    def key_context(self) -> str:
        return terms_context(self.connection_id, name=self.name, initiator_short_name=self.initiator_short_name,
                             acceptor_short_name=self.acceptor_short_name, description=self.description,
                             mode=self.mode, expires_at=self.expires_at)

    def encode(self) -> str:
        """``tbinv1.<base64url json>.<8 hex check>``, so a truncated paste is caught."""
        body = b64e(json.dumps(self.model_dump(mode="json"), separators=(",", ":"), sort_keys=True).encode())
        return f"{PREFIX}{body}.{hashlib.sha256(body.encode()).hexdigest()[:8]}"

    @classmethod
    def decode(cls, code: str) -> InvitationCode:
        """Parse a pasted code (whitespace and line breaks are ignored).

        Raises:
            MalformedInvitationError: saying what is wrong, never echoing the code.
        """
        compact = "".join(code.split())
        if not compact.startswith(PREFIX):
            raise MalformedInvitationError(f"invitation code is malformed: it must start with '{PREFIX}'")
        body, _, check = compact[len(PREFIX) :].rpartition(".")
        if not body or hashlib.sha256(body.encode()).hexdigest()[:8] != check:
            raise MalformedInvitationError("invitation code is malformed: checksum mismatch (was it copied whole?)")
        try:
            return cls.model_validate(json.loads(b64d(body)))
        except (ValueError, ValidationError) as exc:
            raise MalformedInvitationError(
                "invitation code is malformed: its content is not a valid invitation"
            ) from exc
