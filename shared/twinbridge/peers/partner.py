"""The client half of the node-to-node protocol: one typed method per route of ``functions/peer_api/app.py``."""

from __future__ import annotations

from twinbridge.errors import ConflictError, RemoteError
from twinbridge.models.connection import Connection
from twinbridge.models.messages import (
    AcceptanceResponse,
    AcceptRequest,
    AcceptResponse,
    ConfirmRequest,
    PingRequest,
    PingResponse,
    PollRequest,
    PollResponse,
    PushRequest,
    PushResponse,
    RotateAnswerRequest,
    RotateRequest,
    RotateResponse,
)
from twinbridge.peers.client import PeerClient


class PartnerNode:
    """A partner node at ``base_url``; every request is signed with ``key`` (our outbound key, or a handshake key)."""

    def __init__(self, client: PeerClient, base_url: str, key: bytes) -> None:
        self._client = client
        self._url = base_url
        self._key = key

    @classmethod
    def of(cls, client: PeerClient, conn: Connection) -> PartnerNode:
        """The partner of an established connection.

        Raises:
            ConflictError: this side may not call it (passive, the partner is private, or no outbound key yet).
        """
        if not conn.can_call_remote or conn.remote_url is None or conn.keys.outbound is None:
            raise ConflictError(
                f"connection {conn.id} cannot call its partner: this side is passive, the partner is private, "
                "or no outbound key was agreed")
        return cls(client, conn.remote_url, conn.keys.outbound.get_secret_value())

    # --- invitations (the acceptor, or a private initiator) ---------------------------------------------
    def accept(self, connection_id: str, body: AcceptRequest) -> AcceptResponse:
        return self._client.call(self._url, "POST", f"/invitations/{connection_id}/accept", self._key, body,
                                 AcceptResponse)

    def fetch_acceptance(self, connection_id: str) -> AcceptanceResponse | None:
        """The acceptor's public half, or None while the invitation has not been accepted (the partner's 404)."""
        try:
            return self._client.call(self._url, "GET", f"/invitations/{connection_id}/acceptance", self._key, None,
                                     AcceptanceResponse)
        except RemoteError as exc:
            if exc.status == 404:
                return None
            raise

    def confirm(self, body: ConfirmRequest) -> PingResponse:
        return self._client.call(self._url, "POST", "/handshake/confirm", self._key, body, PingResponse)

    # --- the message channel ----------------------------------------------------------------------------
    def ping(self, body: PingRequest) -> PingResponse:
        return self._client.call(self._url, "POST", "/ping", self._key, body, PingResponse)

    def push(self, body: PushRequest) -> PushResponse:
        return self._client.call(self._url, "POST", "/messages", self._key, body, PushResponse)

    def poll(self, body: PollRequest, *, timeout: float) -> PollResponse:
        """A long-poll: ``timeout`` must cover the partner's wait (``body.wait_seconds``) plus the round trip."""
        return self._client.call(self._url, "POST", "/poll", self._key, body, PollResponse, timeout=timeout)

    # --- key rotation -----------------------------------------------------------------------------------
    def rotate(self, body: RotateRequest) -> RotateResponse:
        return self._client.call(self._url, "POST", "/keys/rotate", self._key, body, RotateResponse)

    def rotate_answer(self, body: RotateAnswerRequest) -> PingResponse:
        return self._client.call(self._url, "POST", "/keys/rotate-answer", self._key, body, PingResponse)
