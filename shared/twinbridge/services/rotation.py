"""Key rotation for an active connection, without re-inviting: a fresh X25519 exchange over the signed channel.

The offerer switches as soon as it has the answer; the answerer keeps signing with the old key until the
partner is seen using the new one, and old inbound keys stay valid for a grace period, so no request in
flight is refused during the switch.
"""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import SecretBytes

from twinbridge.encoding import b64d, b64e
from twinbridge.errors import ConflictError, InvalidRequestError, RemoteError, ThrottledError
from twinbridge.models.connection import Connection, InboundKey, utcnow
from twinbridge.models.messages import (
    ROTATE_KIND,
    PeerMessage,
    PingResponse,
    RotateAnswerRequest,
    RotateRequest,
    RotateResponse,
)
from twinbridge.observability import logger
from twinbridge.peers import keys as crypto
from twinbridge.services.deps import Deps
from twinbridge.services.messaging import ping_remote, require_active, send

OLD_KEY_GRACE = dt.timedelta(minutes=15)
MAX_INBOUND_KEYS = 3  # the new key and the two before it (in their grace period): requests in flight still verify
ROTATIONS_PER_DAY = 24  # per connection, offered here or by the partner: each one costs both sides key writes


def _context(rotation_id: str) -> str:
    """Bound to the rotation id both sides share (manual connections have a different id on each side)."""
    return f"rotation/{rotation_id}"


def _install_inbound(conn: Connection, new_key: bytes, *, replacing: str | None = None) -> None:
    """Add ``new_key``; current keys get the grace expiry, expired ones and ``replacing`` are dropped."""
    now = utcnow()
    kept = []
    for key in conn.keys.inbound:
        if not key.valid_at(now) or key.key_id == replacing:
            continue
        if key.expires_at is None:
            key = key.model_copy(update={"expires_at": now + OLD_KEY_GRACE})
        kept.append(key)
    kept.append(InboundKey(key_id=crypto.key_id(new_key), secret=new_key))
    conn.keys.inbound = kept[-MAX_INBOUND_KEYS:]


def _count_rotation(deps: Deps, conn: Connection) -> None:
    """Raises ThrottledError past ROTATIONS_PER_DAY for this connection (whichever side offered them)."""
    granted, retry_after = deps.quotas.take(conn.id, "rotations", 1, ROTATIONS_PER_DAY, 24 * 3600)
    if not granted:
        raise ThrottledError(f"connection {conn.id} has rotated its keys {ROTATIONS_PER_DAY} times today; "
                             "try again tomorrow", retry_after)


def rotate_keys(deps: Deps, connection_id: str) -> Connection:
    """Start (and, when this side may call the partner, finish) a key rotation."""
    conn = deps.connections.get(connection_id)
    require_active(conn)
    if conn.keys.outbound is None and conn.can_call_remote:
        raise InvalidRequestError("this connection has no outbound key to authenticate a rotation")
    _count_rotation(deps, conn)
    pair = crypto.new_ephemeral()
    rotation_id = uuid.uuid4().hex
    conn.keys.rotation_id = rotation_id
    conn.keys.rotation_private = SecretBytes(pair.private)
    deps.connections.save(conn)
    offer = RotateRequest(connection_id=conn.id, rotation_id=rotation_id, public_key=b64e(pair.public))
    if conn.can_call_remote:
        answer = deps.partner(conn).rotate(offer)
        conn = complete_rotation(deps, conn.id, rotation_id, answer.public_key, answer.proof)
        ping_remote(deps, conn)  # signed with the new key: tells the partner to switch too
    else:
        send(deps, conn, ROTATE_KIND, offer.model_dump(mode="json"))
        deps.events.record(conn.id, "keys.rotation_offered", "waiting for the partner to poll the offer")
    return deps.connections.get(conn.id)


def complete_rotation(
    deps: Deps, connection_id: str, rotation_id: str, partner_public: str, proof_value: str
) -> Connection:
    """The offerer gets the answer: derive, check the partner's proof, switch to the new keys."""
    conn = deps.connections.get(connection_id)
    if conn.keys.rotation_id != rotation_id or conn.keys.rotation_private is None:
        raise ConflictError("this rotation is not the one pending on the connection (superseded or finished)")
    try:
        agreed = crypto.agree(
            conn.keys.rotation_private.get_secret_value(),
            b64d(partner_public),
            context=_context(rotation_id),
            binding_secret=b"",
            first_party=True,
        )
    except ValueError as exc:
        raise InvalidRequestError("public_key is not a valid X25519 public key") from exc
    if not crypto.check_proof(agreed.inbound, proof_value, "rotate", rotation_id):
        raise RemoteError("the partner's rotation answer does not prove the agreed key; keys unchanged")
    _install_inbound(conn, agreed.inbound)
    conn.keys.rotation_id = None
    conn.keys.rotation_private = None
    return _switch_outbound(deps, conn, agreed.outbound, "this side offered the rotation")


def answer_rotation(deps: Deps, conn: Connection, offer: RotateRequest) -> RotateResponse:
    """The partner offered a rotation: derive, accept the new inbound key, stage the new outbound key."""
    require_active(conn)
    _count_rotation(deps, conn)
    pair = crypto.new_ephemeral()
    try:
        agreed = crypto.agree(
            pair.private,
            b64d(offer.public_key),
            context=_context(offer.rotation_id),
            binding_secret=b"",
            first_party=False,
        )
    except ValueError as exc:
        raise InvalidRequestError("public_key is not a valid X25519 public key") from exc
    _install_inbound(conn, agreed.inbound, replacing=conn.keys.next_inbound_key_id)
    conn.keys.next_outbound = SecretBytes(agreed.outbound)
    conn.keys.next_inbound_key_id = crypto.key_id(agreed.inbound)
    deps.connections.save(conn)
    deps.events.record(conn.id, "keys.rotation_answered", "switching once the partner uses the new key")
    return RotateResponse(
        public_key=b64e(pair.public), proof=crypto.proof(agreed.outbound, "rotate", offer.rotation_id)
    )


def promote_if_confirmed(deps: Deps, conn: Connection, used_key_id: str) -> Connection:
    """After an answered rotation, the partner's first request with the new key switches our outbound key."""
    if conn.keys.next_outbound is None or used_key_id != conn.keys.next_inbound_key_id:
        return conn
    return _promote(deps, conn)


def _promote(deps: Deps, conn: Connection) -> Connection:
    outbound = conn.keys.next_outbound
    if outbound is None:
        return conn
    conn.keys.next_outbound = None
    conn.keys.next_inbound_key_id = None
    return _switch_outbound(deps, conn, outbound, "the partner offered the rotation")


def _switch_outbound(deps: Deps, conn: Connection, outbound: SecretBytes | bytes, how: str) -> Connection:
    """Sign with ``outbound`` from now on and record the rotation."""
    conn.keys.outbound = outbound if isinstance(outbound, SecretBytes) else SecretBytes(outbound)
    conn.keys_rotated_at = utcnow()
    deps.connections.save(conn)
    deps.events.record(conn.id, "keys.rotated", how)
    logger.info("connection keys rotated", extra={"connection_id": conn.id})
    return conn


def answer_polled_offer(deps: Deps, conn: Connection, message: PeerMessage) -> None:
    """A private side polled a rotation offer: answer it by a signed POST (it may call the partner)."""
    offer = RotateRequest.model_validate(message.payload)
    conn = deps.connections.get(conn.id)
    answer = answer_rotation(deps, conn, offer)
    conn = deps.connections.get(conn.id)
    deps.partner(conn).rotate_answer(
        RotateAnswerRequest(
            connection_id=conn.id, rotation_id=offer.rotation_id, public_key=answer.public_key, proof=answer.proof
        )
    )
    _promote(deps, deps.connections.get(conn.id))


def receive_rotate_answer(deps: Deps, conn: Connection, body: RotateAnswerRequest) -> PingResponse:
    conn = complete_rotation(deps, conn.id, body.rotation_id, body.public_key, body.proof)
    return PingResponse(
        node=deps.settings.node_name, connection_id=conn.id, status=conn.status.value, received_at=utcnow()
    )
