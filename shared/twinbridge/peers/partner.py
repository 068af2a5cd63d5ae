"""The client half of the node-to-node protocol, one typed method per route of ``functions/peer_api/app.py``
(PartnerNode), over one signed HTTP transport (PeerClient): every request signed, every call with a timeout,
errors typed."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from pydantic import BaseModel

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
from twinbridge.peers.signing import sign

if TYPE_CHECKING:
    import requests

T = TypeVar("T", bound=BaseModel)
PEER_PREFIX = "/peer/v1"
MAX_ANSWER_BYTES = 48 * 1024 * 1024  # a full poll answer: 100 messages of at most ~350 KB each, with room


class PeerClient:
    """Calls ``{base_url}/peer/v1/...``; the signature covers the route path, so base-path prefixes don't matter."""

    def __init__(self, session: requests.Session | None = None, timeout: float = 10.0,
                 user_agent: str = "twinbridge") -> None:
        if session is None:
            import requests

            session = requests.Session()
        self._session = session
        self._timeout = timeout
        self._user_agent = user_agent

    def call(
        self,
        base_url: str,
        method: str,
        route: str,
        key: bytes,
        body: BaseModel | None,
        response_model: type[T],
        *,
        query: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> T:
        """Send one signed request and parse the answer.

        Raises:
            RemoteError: the partner is unreachable, timed out, or answered with an error (its message is kept).
        """
        import requests

        path = PEER_PREFIX + route
        raw = b"" if body is None else body.model_dump_json().encode()
        query_string = urlencode(sorted((query or {}).items()))
        headers = {
            "content-type": "application/json",
            "user-agent": self._user_agent,
            **sign(key, method, path, query_string, raw),
        }
        url = base_url.rstrip("/") + path + (f"?{query_string}" if query_string else "")
        try:  # no redirects: a partner must not bounce our signed request (or our node) to another host
            with self._session.request(method, url, data=raw if body is not None else None, headers=headers,
                                       timeout=timeout or self._timeout, stream=True,
                                       allow_redirects=False) as response:
                status, reason = response.status_code, response.reason
                content = _read_capped(response, MAX_ANSWER_BYTES)
        except requests.Timeout as exc:
            raise RemoteError(f"partner node at {base_url} did not answer in time") from exc
        except requests.RequestException as exc:
            raise RemoteError(f"partner node at {base_url} is unreachable ({type(exc).__name__})") from exc
        data = _json_or_none(content)
        if status >= 300:
            code, message = "remote_error", reason or ""
            if isinstance(data, dict):
                code, message = str(data.get("error", code)), str(data.get("message", message))
            raise RemoteError(f"partner node answered {status}: {printable(message, 300)}", status=status,
                              remote_code=printable(code, 64))
        try:
            return response_model.model_validate(data if content else {})
        except ValueError as exc:  # pydantic's ValidationError included
            raise RemoteError(f"partner node at {base_url} sent an unreadable answer") from exc


def _read_capped(response: requests.Response, cap: int) -> bytes:
    """The answer's body, refusing to read past ``cap`` bytes (a partner could answer endlessly)."""
    chunks, total = [], 0
    for chunk in response.iter_content(64 * 1024):
        total += len(chunk)
        if total > cap:
            raise RemoteError(f"partner node's answer is larger than {cap} bytes; not read")
        chunks.append(chunk)
    return b"".join(chunks)


def _json_or_none(content: bytes) -> Any:
    """Parsed JSON, or None when the bytes are not JSON (or nest deeper than the parser's recursion limit)."""
    if not content:
        return None
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return None


def printable(text: str, limit: int) -> str:
    """``text`` safe to put in our own messages and logs: no control or bidi characters, bounded."""
    cleaned = "".join(ch if ch.isprintable() and not 0x202A <= ord(ch) <= 0x202E and not 0x2066 <= ord(ch) <= 0x2069
                      else " " for ch in text)
    return cleaned[:limit] + ("…" if len(cleaned) > limit else "")


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
            if exc.status in (401, 404):  # not accepted yet: the acceptor tells nothing until there is something
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
