"""OpenAPI 3.1 documents generated from the routes themselves.

Each route states its models in its decorator through ``documented(...)``: the request body (the peer API reads and
verifies the raw bytes itself, so the body is described, not parsed by Powertools), the answer, and the error statuses
it can give. ``openapi_document(app, ...)`` lets Powertools turn the routes into paths, then adds the models' JSON
Schemas (pydantic, as the handlers validate them), the error body and the security schemes. The command that writes
docs/openapi/*.json is benchmarks/openapi_documents.py; tests/security/test_openapi_documents.py fails when the
committed files differ from what the code generates.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from twinbridge.peers import signing

API_VERSION = "v1"  # the routes' /v1/ prefix; the package version is not the protocol's
REF_PREFIX = "#/components/schemas/"
ERROR_SCHEMA = "Error"
JSON = "application/json"

# What each error status means on these APIs (http/errors.py maps domain errors to them).
ERROR_MEANINGS: dict[int, str] = {
    400: "invalid request: the body is not JSON, or a field is missing, malformed or out of bounds",
    401: "authentication failed (one generic message whatever the reason)",
    404: "no such route or object on this node",
    409: "conflict with the object's state (used invitation, inactive connection, concurrent change)",
    410: "the invitation has expired",
    413: "request body larger than 1 MiB",
    429: "the partner is over one of its connection's quotas; the Retry-After header says when to try again",
    502: "the partner node or the tracker failed",
    503: "the tracker is throttling this node",
}

ERROR_BODY: dict[str, Any] = {
    "type": "object",
    "description": "Every error: a stable machine-readable code and a sentence for people; never a secret or a trace.",
    "properties": {
        "error": {"type": "string", "maxLength": 64, "examples": ["unauthorized", "invalid_request", "not_found"]},
        "message": {"type": "string"},
    },
    "required": ["error", "message"],
    "additionalProperties": False,
}

PEER_SECURITY_SCHEMES: dict[str, Any] = {
    "peerKeyId": {
        "type": "apiKey",
        "in": "header",
        "name": signing.HEADER_KEY_ID,
        "description": f"public id of the HMAC key the request is signed with ({signing.KEY_ID_PATTERN})",
    },
    "peerTimestamp": {
        "type": "apiKey",
        "in": "header",
        "name": signing.HEADER_TIMESTAMP,
        "description": f"Unix seconds ({signing.TIMESTAMP_PATTERN}); at most {signing.MAX_SKEW_SECONDS} s "
        "from the receiver's clock",
    },
    "peerNonce": {
        "type": "apiKey",
        "in": "header",
        "name": signing.HEADER_NONCE,
        "description": f"single-use random value ({signing.NONCE_PATTERN}); a replay is refused",
    },
    "peerSignature": {
        "type": "apiKey",
        "in": "header",
        "name": signing.HEADER_SIGNATURE,
        "description": f"lower-case hex HMAC-SHA256 ({signing.SIGNATURE_PATTERN}) of the string to sign: "
        + "\\n-joined " + ", ".join(signing.STRING_TO_SIGN_PARTS),
    },
}
PEER_SECURITY: list[dict[str, list[str]]] = [dict.fromkeys(PEER_SECURITY_SCHEMES, [])]
PEER_SECURITY_DESCRIPTION = (
    f"Every request carries the four {signing.ALGORITHM} headers together (all four are required: a request "
    "missing any of them, signed with an unknown key, outside the clock skew, replayed, or whose body, path or "
    "query differ from what was signed is refused with 401 and one generic body). The HMAC key is the connection's "
    "inbound key on the receiving node; during an invitation handshake it is the key both sides derive from the "
    "invitation (docs/protocol.md)."
)

ADMIN_SECURITY_SCHEMES: dict[str, Any] = {
    "sigv4": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "AWS Signature Version 4 with IAM credentials allowed to invoke the admin routes "
        "(execute-api:Invoke); API Gateway's AWS_IAM authorizer checks it before the function runs.",
        "x-amazon-apigateway-authtype": "awsSigv4",
    },
}
ADMIN_SECURITY: list[dict[str, list[str]]] = [{"sigv4": []}]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF_PREFIX + model.__name__}


def _error_response(status: int) -> dict[str, Any]:
    return {"description": ERROR_MEANINGS[status], "content": {JSON: {"schema": {"$ref": REF_PREFIX + ERROR_SCHEMA}}}}


def documented(
    *,
    summary: str,
    response: type[BaseModel],
    request: type[BaseModel] | None = None,
    status: int = 200,
    errors: Iterable[int] = (),
    query: Iterable[tuple[str, str]] = (),
    description: str | None = None,
) -> dict[str, Any]:
    """Keyword arguments for a Powertools route decorator that describe the route in the OpenAPI document.

    Args:
        summary: one line.
        response: the model of a successful answer (``status``).
        request: the JSON body's model, when the route takes one (the handler still parses the raw body itself).
        errors: statuses besides 400 and 404, which every route can answer.
        query: (name, description) of optional query parameters the handler reads.
    """
    responses: dict[int, Any] = {status: {"description": summary, "content": {JSON: {"schema": _ref(response)}}}}
    for code in sorted({400, 404, *errors}):
        responses[code] = _error_response(code)
    extensions: dict[str, Any] = {}
    if request is not None:
        extensions["requestBody"] = {"required": True, "content": {JSON: {"schema": _ref(request)}}}
    if query:
        extensions["parameters"] = [
            {"name": name, "in": "query", "required": False, "description": text, "schema": {"type": "string"}}
            for name, text in query
        ]
    kwargs: dict[str, Any] = {"summary": summary, "responses": responses}
    if extensions:
        kwargs["openapi_extensions"] = extensions
    if description:
        kwargs["description"] = description
    return kwargs


def _refs(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(REF_PREFIX):
                yield ref[len(REF_PREFIX) :]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def model_schemas(models: Iterable[type[BaseModel]]) -> dict[str, Any]:
    """The JSON Schemas of ``models`` and of every model they nest, keyed by class name (validation mode: what the
    node accepts). Two different models with one name would make ambiguous references, so that is an error."""
    unique = sorted(set(models), key=lambda m: (m.__name__, m.__module__))
    names = [m.__name__ for m in unique]
    if len(names) != len(set(names)):
        raise ValueError(f"two models share a name in one document: {sorted(names)}")
    _, top = models_json_schema([(m, "validation") for m in unique], ref_template=REF_PREFIX + "{model}")
    return dict(top.get("$defs", {}))


def openapi_document(
    app: Any,
    *,
    title: str,
    description: str,
    models: Iterable[type[BaseModel]],
    security_schemes: dict[str, Any],
    security: list[dict[str, list[str]]],
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of a Powertools resolver whose routes were declared with ``documented(...)``.

    ``models`` are the models the routes name (by class name); a reference to anything else is an error.
    """
    document: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(title=title, version=API_VERSION, description=description)
    )
    by_name = {m.__name__: m for m in models}
    wanted = set(_refs(document.get("paths", {}))) - {ERROR_SCHEMA}
    unknown = sorted(wanted - set(by_name))
    if unknown:
        raise ValueError(f"routes reference models that were not given: {unknown}")
    schemas = model_schemas(by_name[name] for name in wanted)
    schemas[ERROR_SCHEMA] = ERROR_BODY
    document["components"] = {
        "schemas": dict(sorted(schemas.items())),
        "securitySchemes": security_schemes,
    }
    document["security"] = security
    document.pop("servers", None)  # each node has its own URL; "/" tells nothing
    return document


def render(document: dict[str, Any]) -> str:
    """The committed form: sorted keys, two-space indent, a final newline (stable diffs)."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
