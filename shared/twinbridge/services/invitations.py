"""Exalate-style invitations in every arrangement: public->private, public->public, private->public.

Keys are agreed with an ephemeral X25519 exchange; only public halves travel (in the code, in the
accept request, or in the acceptance a private initiator fetches). Both-private is refused.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from pydantic import ValidationError

from twinbridge.encoding import b64d, b64e
from twinbridge.errors import (
    AuthenticationError,
    BothSidesPrivateError,
    ConflictError,
    ConnectionInactiveError,
    InvalidRequestError,
    InvitationExpiredError,
    InvitationUsedError,
    MalformedInvitationError,
    RemoteError,
)
from twinbridge.models.admin import AcceptInvitationRequest, InitiateRequest
from twinbridge.models.connection import (
    Connection,
    ConnectionStatus,
    InboundKey,
    KeyMaterial,
    Origin,
    new_connection_id,
    utcnow,
)
from twinbridge.models.invitation import InvitationCode, terms_context
from twinbridge.models.messages import (
    AcceptanceResponse,
    AcceptRequest,
    AcceptResponse,
    ConfirmRequest,
    PingResponse,
)
from twinbridge.observability import logger
from twinbridge.peers import keys as crypto
from twinbridge.peers.signing import SignedRequest, verify
from twinbridge.services.connections import refuse_second_connection, require_public_partner_url
from twinbridge.services.deps import Deps
from twinbridge.services.peer_auth import remember_nonce, verify_with

NOT_PENDING = "this invitation was already used"


def node_url(deps: Deps, seen_as: str | None = None) -> str | None:
    """This node's peer URL when it is public, else None (a private node never advertises one).

    Args:
        seen_as: the URL the current admin request arrived on (``https://<domainName>``); used when no
            PUBLIC_URL is configured, i.e. a stack reached on its execute-api URL.
    """
    if not deps.settings.node_public:
        return None
    return deps.settings.public_url or seen_as or None


def _terms(conn: Connection) -> str:
    """The key-derivation context of the invitation this (initiator's) record was issued as."""
    return terms_context(conn.id, name=conn.name, initiator_short_name=conn.local_short_name,
                         acceptor_short_name=conn.remote_short_name, description=conn.description, mode=conn.mode,
                         expires_at=conn.invitation_expires_at or dt.datetime.fromtimestamp(0, dt.UTC))


def _accept_proof_parts(connection_id: str, acceptor_public_key: str) -> tuple[str, str, str]:
    return ("accept", connection_id, acceptor_public_key)


# --- initiator side -----------------------------------------------------------------------------
def initiate(deps: Deps, request: InitiateRequest, seen_as: str | None = None) -> tuple[Connection, str]:
    """Create a pending connection and its single-use invitation code."""
    own_url = node_url(deps, seen_as)
    if own_url is None and request.partner_url is None:
        raise BothSidesPrivateError(
            "this node is private and no partner URL was given: two private nodes can never reach each other. "
            "Give the partner's URL, or initiate from the public side."
        )
    if deps.settings.node_public and own_url is None:
        raise InvalidRequestError("this node is public but its URL is unknown; set the PublicBaseUrl parameter")
    require_public_partner_url(deps, request.partner_url)
    pair = crypto.new_ephemeral()
    invitation_secret = secrets.token_bytes(32)
    connection_id = new_connection_id()
    expires_at = (utcnow() + dt.timedelta(hours=request.expires_in_hours)).replace(microsecond=0)
    conn = Connection(
        id=connection_id,
        name=request.name,
        local_short_name=request.local_short_name,
        remote_short_name=request.remote_short_name,
        description=request.description,
        mode=request.mode,
        project=request.project,
        relay_other_partners=request.relay_other_partners,
        remote_url=request.partner_url,
        origin=Origin.INITIATOR,
        invitation_expires_at=expires_at,
        technical_user=deps.settings.technical_user or None,
        keys=KeyMaterial(
            ephemeral_private=pair.private,
            invitation_secret=invitation_secret,
        ),
    )
    refuse_second_connection(deps, conn)
    deps.connections.create(conn)
    code = InvitationCode(
        connection_id=connection_id,
        name=request.name,
        initiator_node=deps.settings.node_name,
        initiator_short_name=request.local_short_name,
        acceptor_short_name=request.remote_short_name,
        description=request.description,
        mode=request.mode,
        initiator_url=own_url,
        expires_at=expires_at,
        public_key=b64e(pair.public),
        invitation_secret=b64e(invitation_secret),
    ).encode()
    deps.events.record(connection_id, "invitation.created", f"expires {expires_at.isoformat()}")
    logger.info(
        "invitation created", extra={"connection_id": connection_id, "partner_private": request.partner_url is None}
    )
    return conn, code


def _complete(deps: Deps, conn: Connection, agreed: crypto.DirectionalKeys, remote_node: str) -> Connection:
    """Turn a pending record active with its agreed keys, dropping every handshake secret."""
    conn.keys = KeyMaterial(
        inbound=[InboundKey(key_id=crypto.key_id(agreed.inbound), secret=agreed.inbound)],
        outbound=agreed.outbound,
    )
    conn.remote_node = remote_node
    conn.status = ConnectionStatus.ACTIVE
    conn.activated_at = utcnow()
    conn.invitation_expires_at = None
    conn.handshake_public_key = None
    return conn


CONNECTION_ID = re.compile(r"^c-[0-9a-f]{32}$")


def _refused(reason: str, request: SignedRequest) -> AuthenticationError:
    logger.warning("peer request refused", extra={"reason": reason, "path": request.path[:200]})
    return AuthenticationError(reason)


def _initiator_keys(conn: Connection, halves: tuple[bytes, bytes], acceptor_public_key: str) -> crypto.DirectionalKeys:
    """The keys this (initiator's) invitation agrees with an acceptor's public half.

    Raises:
        ValueError: the half is not a valid X25519 public key.
    """
    ephemeral_private, invitation_secret = halves
    return crypto.agree(ephemeral_private, b64d(acceptor_public_key), context=_terms(conn),
                        binding_secret=invitation_secret, first_party=True)


@dataclass(frozen=True)
class ProvenAccept:
    """An accept request that proved it holds a key of the invitation, with what the proof read and derived."""

    body: AcceptRequest
    conn: Connection
    agreed: crypto.DirectionalKeys | None  # None: the invitation was used (the proof was the connection's own key)


def prove_accept(deps: Deps, connection_id: str, request: SignedRequest) -> ProvenAccept:
    """The accept body with its invitation and agreed keys, once the request proves it holds a key of the invitation;
    one 401 otherwise, whatever the invitation's state (unknown, used, expired), so nobody learns that state without
    the invitation's key.

    Proof: a signature with the key agreed from the pending invitation and the body's public half (the acceptor
    holds the code), or, once the invitation was used, with the connection's own inbound key (the acceptor that
    used it, who may then learn that it was used). Nothing is written: ``receive_accept`` remembers the nonce.

    Raises:
        AuthenticationError: no proof.
    """
    try:
        body = AcceptRequest.model_validate_json(request.body)
    except ValidationError:
        raise _refused("accept body unreadable: no public half to verify against", request) from None
    conn = deps.connections.find(connection_id) if CONNECTION_ID.fullmatch(connection_id) else None
    if conn is None or conn.origin != Origin.INITIATOR:
        raise _refused("no invitation issued by this node under that id", request)
    halves = conn.keys.invitation_halves()
    agreed = None
    try:
        if halves is None:  # used: only the partner that completed it holds a key of the connection
            key = conn.keys.inbound_key(request.key_id, utcnow())
            if key is None:
                raise AuthenticationError("invitation already used; request not signed with the connection's key")
        else:
            try:
                agreed = _initiator_keys(conn, halves, body.acceptor_public_key)
            except ValueError:
                raise AuthenticationError("acceptor_public_key is not a valid X25519 public key") from None
            key = agreed.inbound
        verify(key, request)
    except AuthenticationError as exc:
        raise _refused(exc.reason, request) from None
    return ProvenAccept(body, conn, agreed)


def receive_accept(deps: Deps, connection_id: str, request: SignedRequest) -> AcceptResponse:
    """A (public) initiator receives the acceptor's half; the request must prove it holds the agreed key before
    anything about the invitation is told (``prove_accept``)."""
    proven = prove_accept(deps, connection_id, request)
    body, conn, agreed = proven.body, proven.conn, proven.agreed
    if agreed is None or conn.status != ConnectionStatus.PENDING:
        raise InvitationUsedError(NOT_PENDING)
    if conn.invitation_expires_at and utcnow() >= conn.invitation_expires_at:
        raise InvitationExpiredError("this invitation has expired; ask the partner for a new one")
    try:
        remember_nonce(deps, request)  # the signature was verified by the proof
    except AuthenticationError as exc:
        raise _refused(exc.reason, request) from None
    if body.acceptor_url:
        require_public_partner_url(deps, body.acceptor_url)
        if conn.remote_url and conn.remote_url != body.acceptor_url:
            raise ConflictError("this invitation was issued for another partner URL")
        conn.remote_url = body.acceptor_url
    _complete(deps, conn, agreed, body.acceptor_node)
    refuse_second_connection(deps, conn)
    try:
        deps.connections.save(conn)
    except ConflictError as exc:
        raise InvitationUsedError(NOT_PENDING) from exc
    deps.events.record(connection_id, "connection.activated", f"accepted by {body.acceptor_node}")
    logger.info("invitation accepted", extra={"connection_id": connection_id})
    return AcceptResponse(
        initiator_node=deps.settings.node_name,
        proof=crypto.proof(agreed.outbound, *_accept_proof_parts(connection_id, body.acceptor_public_key)),
    )


def fetch_acceptance(deps: Deps, conn: Connection) -> bool:
    """A private initiator asks its public partner whether the code was accepted; completes when it was.

    Returns:
        True when the connection became active.
    """
    halves = conn.keys.invitation_halves()
    if halves is None or conn.remote_url is None:
        raise ConflictError(f"connection {conn.id} has no pending invitation to a partner URL")
    fetch_key = crypto.handshake_key(halves[1], conn.id)
    acceptance = deps.partner_at(conn.remote_url, fetch_key).fetch_acceptance(conn.id)
    if acceptance is None:
        return False  # not accepted yet
    try:
        agreed = _initiator_keys(conn, halves, acceptance.acceptor_public_key)
    except ValueError as exc:
        raise RemoteError("the partner's acceptance carries no valid X25519 public key; not completed") from exc
    conn.remote_node = acceptance.acceptor_node
    refuse_second_connection(deps, conn)
    deps.partner_at(conn.remote_url, agreed.outbound).confirm(ConfirmRequest(initiator_node=deps.settings.node_name))
    _complete(deps, conn, agreed, acceptance.acceptor_node)
    deps.connections.save(conn)
    deps.events.record(conn.id, "connection.activated", f"acceptance fetched from {acceptance.acceptor_node}")
    logger.info("invitation completed by fetch", extra={"connection_id": conn.id})
    return True


# --- acceptor side ------------------------------------------------------------------------------
def accept(deps: Deps, request: AcceptInvitationRequest, seen_as: str | None = None) -> Connection:
    """Accept a pasted code. Nothing is stored unless the whole handshake succeeds (or can complete later)."""
    code = InvitationCode.decode(request.code)
    if utcnow() >= code.expires_at:
        raise InvitationExpiredError("this invitation has expired; ask the partner for a new one")
    own_url = node_url(deps, seen_as)
    if code.initiator_url is None and own_url is None:
        raise BothSidesPrivateError(
            "both sides are private: the inviting node has no URL and neither has this node, so they could never "
            "reach each other. Ask the partner to initiate with this node's URL or from a public node."
        )
    require_public_partner_url(deps, code.initiator_url)
    if deps.connections.find(code.connection_id) is not None:
        raise InvitationUsedError(f"this node already holds connection {code.connection_id}: the code was used here")
    pair = crypto.new_ephemeral()
    invitation_secret = b64d(code.invitation_secret)
    try:
        agreed = crypto.agree(
            pair.private,
            b64d(code.public_key),
            context=code.key_context(),
            binding_secret=invitation_secret,
            first_party=False,
        )
    except ValueError as exc:
        raise MalformedInvitationError("invitation code is malformed: its public key is not valid") from exc
    conn = Connection(
        id=code.connection_id,
        name=request.name or code.name,
        local_short_name=code.acceptor_short_name,
        remote_short_name=code.initiator_short_name,
        description=code.description,
        mode=code.mode,
        project=request.project,
        relay_other_partners=request.relay_other_partners,
        remote_url=code.initiator_url,
        remote_node=code.initiator_node,
        origin=Origin.ACCEPTOR,
        invitation_expires_at=code.expires_at,
        technical_user=deps.settings.technical_user or None,
    )
    refuse_second_connection(deps, conn)
    if code.initiator_url is not None:
        request_body = AcceptRequest(
            acceptor_public_key=b64e(pair.public), acceptor_node=deps.settings.node_name, acceptor_url=own_url)
        try:
            response = deps.partner_at(code.initiator_url, agreed.outbound).accept(code.connection_id, request_body)
        except RemoteError as exc:
            if exc.status == 401:  # the initiator tells a stranger nothing more (no oracle of its invitations)
                raise InvitationUsedError("the inviting node refused this code: it was already used, has expired or "
                                          "was withdrawn; ask the partner for a new one") from exc
            raise
        if not crypto.check_proof(
            agreed.inbound, response.proof, *_accept_proof_parts(code.connection_id, b64e(pair.public))
        ):
            raise RemoteError("the inviting node could not prove it holds the invitation's key; nothing was stored")
        _complete(deps, conn, agreed, response.initiator_node)
        deps.connections.create(conn)
        deps.events.record(conn.id, "connection.activated", f"accepted invitation from {code.initiator_node}")
    else:
        # Private initiator: it fetches our public half on its next poll, then confirms with the agreed key.
        conn.keys = KeyMaterial(
            inbound=[InboundKey(key_id=crypto.key_id(agreed.inbound), secret=agreed.inbound)],
            outbound=agreed.outbound,
            handshake_key=crypto.handshake_key(invitation_secret, code.connection_id),
        )
        conn.handshake_public_key = b64e(pair.public)
        deps.connections.create(conn)
        deps.events.record(conn.id, "invitation.accepted", "waiting for the private initiator to fetch the acceptance")
    logger.info("invitation accepted locally", extra={"connection_id": conn.id, "status": conn.status.value})
    return deps.connections.get(conn.id)


def serve_acceptance(deps: Deps, connection_id: str, request: SignedRequest) -> AcceptanceResponse:
    """A public acceptor hands its public half to the private initiator (signed with the invitation's fetch key).
    Until the code is accepted here (and after the handshake) there is nothing to verify against: the same 401 as a
    forged request, so the state of an acceptance is told to nobody."""
    conn = deps.connections.find(connection_id) if CONNECTION_ID.fullmatch(connection_id) else None
    if (
        conn is None
        or conn.origin != Origin.ACCEPTOR
        or conn.status != ConnectionStatus.PENDING
        or conn.keys.handshake_key is None
        or conn.handshake_public_key is None
    ):
        raise _refused("no pending acceptance on this node under that id", request)
    verify_with(deps, conn.keys.handshake_key.get_secret_value(), request)
    deps.connections.touch(conn.id, utcnow())
    return AcceptanceResponse(acceptor_public_key=conn.handshake_public_key, acceptor_node=deps.settings.node_name)


def receive_confirm(deps: Deps, conn: Connection, body: ConfirmRequest) -> PingResponse:
    """The private initiator proved it derived our keys (the request verified): the connection is live. A retried
    confirm on an active connection is answered again; a paused connection stays paused (409)."""
    if conn.status == ConnectionStatus.DEACTIVATED:
        raise ConnectionInactiveError(f"connection {conn.id} is deactivated on this node: it cannot be confirmed")
    if conn.origin == Origin.ACCEPTOR and conn.status == ConnectionStatus.PENDING:
        conn.keys.handshake_key = None
        conn.status = ConnectionStatus.ACTIVE
        conn.activated_at = utcnow()
        conn.invitation_expires_at = None
        conn.handshake_public_key = None
        conn.remote_node = body.initiator_node
        deps.connections.save(conn)
        deps.events.record(conn.id, "connection.activated", f"confirmed by {body.initiator_node}")
        logger.info("invitation confirmed by private initiator", extra={"connection_id": conn.id})
    deps.connections.touch(conn.id, utcnow())
    return PingResponse(
        node=deps.settings.node_name, connection_id=conn.id, status=conn.status.value, received_at=utcnow()
    )
