"""Turn the current API Gateway v2 event into typed inputs: the one raw-body reader (bytes kept for signatures)."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from pydantic import BaseModel

from twinbridge.errors import InvalidRequestError, PayloadTooLargeError
from twinbridge.peers.signing import SignedRequest

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

MAX_BODY_BYTES = 1024 * 1024  # API Gateway's own payload limit is 10 MB; none of our bodies comes near 1 MB


def read_body(event: APIGatewayProxyEventV2, limit: int = MAX_BODY_BYTES, *, advice: str = "") -> bytes:
    """The request body as raw bytes, at most ``limit`` of them (413 beyond, ``advice`` added to the message)."""
    body = event.body or ""
    if not isinstance(body, str | bytes):
        raise InvalidRequestError("request body is not text")
    if event.is_base64_encoded:
        if len(body) > _base64_length(limit):  # refuse before decoding megabytes that would be refused anyway
            raise PayloadTooLargeError(
                f"request body too large ({len(body)} base64 characters; at most {limit} bytes){advice}"
            )
        try:
            data = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidRequestError("request body is not valid base64") from exc
    elif isinstance(body, bytes):
        data = body
    else:
        try:
            data = body.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates: no bytes were ever sent that decode to this text
            raise InvalidRequestError("request body is not valid UTF-8 text") from exc
    if len(data) > limit:
        raise PayloadTooLargeError(f"request body too large ({len(data)} bytes; at most {limit}){advice}")
    return data


def _base64_length(size: int) -> int:
    """The longest base64 text (padding and a little slack included) that can decode to ``size`` bytes."""
    return 4 * ((size + 2) // 3) + 4


def parse_body[T: BaseModel](event: APIGatewayProxyEventV2, model: type[T]) -> T:
    """Validate the JSON body against ``model`` (pydantic errors become 400s naming the field)."""
    data = read_body(event)
    if not data.strip():
        raise InvalidRequestError("request body is empty; a JSON object is expected")
    return model.model_validate_json(data)


def signed_request(event: APIGatewayProxyEventV2) -> SignedRequest:
    """The signature-relevant view of a peer request. The path starts at ``/peer/`` (base paths don't count)."""
    path = event.raw_event.get("rawPath") or event.path
    index = path.find("/peer/")
    return SignedRequest(
        method=event.http_method,
        path=path[index:] if index >= 0 else path,
        query=event.raw_event.get("rawQueryString", ""),
        headers={name.lower(): value for name, value in (event.headers or {}).items()},
        body=read_body(event),
    )
