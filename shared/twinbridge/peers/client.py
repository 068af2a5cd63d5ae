"""HTTP client for partner nodes: every request signed, every call with a timeout, errors typed."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlencode

from pydantic import BaseModel

from twinbridge.errors import RemoteError
from twinbridge.peers.signing import sign

if TYPE_CHECKING:
    import requests

T = TypeVar("T", bound=BaseModel)
PEER_PREFIX = "/peer/v1"


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
        try:
            response = self._session.request(
                method, url, data=raw if body is not None else None, headers=headers, timeout=timeout or self._timeout
            )
        except requests.Timeout as exc:
            raise RemoteError(f"partner node at {base_url} did not answer in time") from exc
        except requests.RequestException as exc:
            raise RemoteError(f"partner node at {base_url} is unreachable ({type(exc).__name__})") from exc
        if response.status_code >= 400:
            code, message = "remote_error", response.reason
            try:
                data = response.json()
                code, message = data.get("error", code), data.get("message", message)
            except (ValueError, AttributeError):
                pass
            raise RemoteError(
                f"partner node answered {response.status_code}: {message}",
                status=response.status_code,
                remote_code=code,
            )
        try:
            return response_model.model_validate(response.json() if response.content else {})
        except (ValueError, json.JSONDecodeError) as exc:
            raise RemoteError(f"partner node at {base_url} sent an unreadable answer") from exc
