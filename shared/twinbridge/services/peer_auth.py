"""Authenticate a signed peer request: key id -> connection -> signature -> fresh nonce. Fails closed."""

from __future__ import annotations

from twinbridge.errors import AuthenticationError
from twinbridge.models.connection import Connection, utcnow
from twinbridge.observability import logger
from twinbridge.peers.signing import SignedRequest, verify
from twinbridge.services.deps import Deps


def authenticate(deps: Deps, request: SignedRequest) -> tuple[Connection, str]:
    """Return the connection the request is signed for and the key id used.

    Raises:
        AuthenticationError: for every failure; the reason goes to our log only, never to the caller.
    """
    try:
        key_id = request.key_id
        connection_id = deps.connections.connection_id_for_key(key_id)
        if connection_id is None:
            raise AuthenticationError("unknown key id")
        conn = deps.connections.find(connection_id)
        if conn is None:
            raise AuthenticationError("key id points to a deleted connection")
        key = conn.keys.inbound_key(key_id, utcnow())
        if key is None:
            raise AuthenticationError("key id is retired or expired")
        verify(key, request)
        remember_nonce(deps, request)
    except AuthenticationError as exc:
        logger.warning("peer request refused", extra={"reason": exc.reason, "path": request.path})
        raise
    return conn, key_id


def verify_with(deps: Deps, key: bytes, request: SignedRequest) -> None:
    """Verify against a known key (handshake calls, before the key is indexed)."""
    try:
        verify(key, request)
        remember_nonce(deps, request)
    except AuthenticationError as exc:
        logger.warning("peer request refused", extra={"reason": exc.reason, "path": request.path})
        raise


def remember_nonce(deps: Deps, request: SignedRequest) -> None:
    if not deps.nonces.remember(request.nonce):
        raise AuthenticationError("nonce replayed")
