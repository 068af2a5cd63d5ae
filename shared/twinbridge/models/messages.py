"""Bodies of the node-to-node protocol (our own: extra fields are refused).

Every field is bounded: a partner is another organization, so its bodies are untrusted input even when they are
correctly signed. The bounds are generous for what twinbridge itself sends (docs/security.md, "Limits chosen").
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from pydantic import Field, field_validator

from twinbridge.models.base import StrictModel
from twinbridge.models.connection import utcnow

NOTE_KIND = "note"  # an admin's note to the partner's admins
ROTATE_KIND = "keys.rotate"  # a key-rotation offer a private partner polls

# --- limits -----------------------------------------------------------------------------------------------------
MAX_ID_CHARS = 128  # connection, message and rotation ids (ours: "c-" + 32 hex, 32 hex)
MAX_NODE_NAME_CHARS = 128  # template.yaml allows 63
MAX_KEY_TEXT_CHARS = 128  # an X25519 public half in base64url is 43 characters
MAX_PROOF_CHARS = 128  # a proof is 64 hex digits
MAX_URL_CHARS = 2048
MAX_STATUS_CHARS = 32
MAX_SEQ = 2**53 - 1  # sequence numbers count messages; 2**53 keeps them exact in every JSON reader
MAX_MESSAGES = 100  # per push or poll answer (PollRequest.max_messages has the same ceiling)
# One message must fit one DynamoDB item on both sides (the sender's outbox, the receiver's twin inbox: 400 KB =
# 409,600 bytes); 16 KiB of that is left for the envelope and the item's keys. The sender caps a replica at
# replica.MAX_REPLICA_BYTES (350,000) before presigned attachment URLs are added, so ~43 KB remain for those.
MAX_PAYLOAD_BYTES = 384 * 1024
# The deepest canonical rich-text document of the reference corpus nests 26 levels; a replica adds about 5 around a
# comment body. 100 leaves room for ~20 levels of nested lists and stays far below the JSON parser's own limit (200)
# and Python's recursion limit (1000), which the rich-text code walks under.
MAX_PAYLOAD_DEPTH = 100

Id = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]
NodeName = Annotated[str, Field(min_length=1, max_length=MAX_NODE_NAME_CHARS)]
KeyText = Annotated[
    str, Field(min_length=1, max_length=MAX_KEY_TEXT_CHARS, description="X25519 public half, base64url")
]
Proof = Annotated[str, Field(min_length=1, max_length=MAX_PROOF_CHARS, description="HMAC-SHA256 proof, 64 hex digits")]
Seq = Annotated[int, Field(ge=0, le=MAX_SEQ)]

# ``connection_id`` in the bodies below is the SENDER's id for the connection. Invited connections share one
# id; manually keyed ones may not. The receiver identifies the connection by the key the request is signed with.


def json_depth(value: Any, stop_after: int = MAX_PAYLOAD_DEPTH) -> int:
    """How deeply ``value`` nests (a scalar is 0, ``{}`` and ``[]`` are 1), walked without recursion; the walk stops
    as soon as it is deeper than ``stop_after`` (the result is then ``stop_after + 1``)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        if depth > stop_after:
            return depth  # deep enough to refuse: no need to walk the rest
        stack.extend((child, depth + 1) for child in children)
    return deepest


def check_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """Refuse payloads nested deeper than MAX_PAYLOAD_DEPTH or larger than MAX_PAYLOAD_BYTES of compact JSON."""
    if json_depth(payload) > MAX_PAYLOAD_DEPTH:
        raise ValueError(f"payload nests deeper than {MAX_PAYLOAD_DEPTH} levels")
    size = len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8", "replace"))
    if size > MAX_PAYLOAD_BYTES:
        raise ValueError(f"payload is {size} bytes of JSON; at most {MAX_PAYLOAD_BYTES}")
    return payload


class PeerMessage(StrictModel):
    """The generic envelope: ordered per connection by ``seq``, acknowledged explicitly."""

    message_id: Id
    connection_id: Id
    seq: int = Field(ge=1, le=MAX_SEQ)
    kind: str = Field(pattern=r"^[a-z][a-z0-9_.-]{0,63}$", max_length=64)
    payload: dict[str, Any] = Field(
        default_factory=dict,
        description=f"at most {MAX_PAYLOAD_BYTES} bytes of compact JSON, nested at most {MAX_PAYLOAD_DEPTH} levels",
    )
    created_at: dt.datetime = Field(default_factory=utcnow)

    @field_validator("payload")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_payload(value)


class AcceptRequest(StrictModel):
    acceptor_public_key: KeyText
    acceptor_node: NodeName
    acceptor_url: str | None = Field(default=None, max_length=MAX_URL_CHARS)


class AcceptResponse(StrictModel):
    initiator_node: NodeName
    proof: Proof


class AcceptanceResponse(StrictModel):
    """What a public acceptor hands a private initiator that polls for the result of its invitation."""

    acceptor_public_key: KeyText
    acceptor_node: NodeName


class ConfirmRequest(StrictModel):
    initiator_node: NodeName


class PingRequest(StrictModel):
    connection_id: Id
    sent_at: dt.datetime = Field(default_factory=utcnow)


class PingResponse(StrictModel):
    node: NodeName
    connection_id: Id
    status: str = Field(max_length=MAX_STATUS_CHARS)
    received_at: dt.datetime


class PushRequest(StrictModel):
    connection_id: Id
    messages: list[PeerMessage] = Field(max_length=MAX_MESSAGES)


class PushResponse(StrictModel):
    acked_seq: Seq


class PollRequest(StrictModel):
    connection_id: Id
    ack_seq: Seq = Field(description="highest seq the poller has applied; older messages are dropped")
    wait_seconds: float = Field(default=20, ge=0, le=25)
    max_messages: int = Field(default=50, ge=1, le=MAX_MESSAGES)


class PollResponse(StrictModel):
    messages: list[PeerMessage] = Field(max_length=MAX_MESSAGES)
    more: bool = False


class RotateRequest(StrictModel):
    connection_id: Id
    rotation_id: Id
    public_key: KeyText


class RotateResponse(StrictModel):
    public_key: KeyText
    proof: Proof


class RotateAnswerRequest(StrictModel):
    """A private side's answer to a rotation offer it polled, posted back to the public offerer."""

    connection_id: Id
    rotation_id: Id
    public_key: KeyText
    proof: Proof
