"""Turn the current API Gateway v2 event into typed inputs (raw body bytes kept for signatures)."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from twinbridge.peers.signing import SignedRequest

T = TypeVar("T", bound=BaseModel)
MAX_BODY_BYTES = 1024 * 1024


def raw_body(event) -> bytes:
    body = event.decoded_body if event.is_base64_encoded else (event.body or "")
    data = body if isinstance(body, bytes) else body.encode()
    if len(data) > MAX_BODY_BYTES:
        from twinbridge.errors import InvalidRequestError

        raise InvalidRequestError(f"request body too large ({len(data)} bytes; at most {MAX_BODY_BYTES})")
    return data


def parse_body(event, model: type[T]) -> T:
    """Validate the JSON body against ``model`` (pydantic errors become 400s naming the field)."""
    data = raw_body(event)
    if not data.strip():
        from twinbridge.errors import InvalidRequestError

        raise InvalidRequestError("request body is empty; a JSON object is expected")
    return model.model_validate_json(data)


def signed_request(event) -> SignedRequest:
    """The signature-relevant view of a peer request. The path starts at ``/peer/`` (base paths don't count)."""
    path = event.raw_event.get("rawPath") or event.path
    index = path.find("/peer/")
    return SignedRequest(
        method=event.http_method,
        path=path[index:] if index >= 0 else path,
        query=event.raw_event.get("rawQueryString", ""),
        headers={name.lower(): value for name, value in (event.headers or {}).items()},
        body=raw_body(event),
    )
