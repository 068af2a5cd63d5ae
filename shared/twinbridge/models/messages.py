"""Bodies of the node-to-node protocol (our own: extra fields are refused)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from twinbridge.models.base import StrictModel
from twinbridge.models.connection import utcnow

NOTE_KIND = "note"  # an admin's note to the partner's admins
ROTATE_KIND = "keys.rotate"  # a key-rotation offer a private partner polls

# ``connection_id`` in the bodies below is the SENDER's id for the connection. Invited connections share one
# id; manually keyed ones may not. The receiver identifies the connection by the key the request is signed with.


class PeerMessage(StrictModel):
    """The generic envelope: ordered per connection by ``seq``, acknowledged explicitly."""

    message_id: str
    connection_id: str
    seq: int = Field(ge=1)
    kind: str = Field(pattern=r"^[a-z][a-z0-9_.-]{0,63}$")
    payload: dict[str, Any] = Field(default_factory=dict)
    created_at: dt.datetime = Field(default_factory=utcnow)


class AcceptRequest(StrictModel):
    acceptor_public_key: str
    acceptor_node: str
    acceptor_url: str | None = None


class AcceptResponse(StrictModel):
    initiator_node: str
    proof: str


class AcceptanceResponse(StrictModel):
    """What a public acceptor hands a private initiator that polls for the result of its invitation."""

    acceptor_public_key: str
    acceptor_node: str


class ConfirmRequest(StrictModel):
    initiator_node: str


class PingRequest(StrictModel):
    connection_id: str
    sent_at: dt.datetime = Field(default_factory=utcnow)


class PingResponse(StrictModel):
    node: str
    connection_id: str
    status: str
    received_at: dt.datetime


class PushRequest(StrictModel):
    connection_id: str
    messages: list[PeerMessage] = Field(max_length=100)


class PushResponse(StrictModel):
    acked_seq: int


class PollRequest(StrictModel):
    connection_id: str
    ack_seq: int = Field(ge=0, description="highest seq the poller has applied; older messages are dropped")
    wait_seconds: float = Field(default=20, ge=0, le=25)
    max_messages: int = Field(default=50, ge=1, le=100)


class PollResponse(StrictModel):
    messages: list[PeerMessage]
    more: bool = False


class RotateRequest(StrictModel):
    connection_id: str
    rotation_id: str
    public_key: str


class RotateResponse(StrictModel):
    public_key: str
    proof: str


class RotateAnswerRequest(StrictModel):
    """A private side's answer to a rotation offer it polled, posted back to the public offerer."""

    connection_id: str
    rotation_id: str
    public_key: str
    proof: str
