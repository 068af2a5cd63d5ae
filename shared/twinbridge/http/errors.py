"""The single map from domain errors to HTTP statuses; bodies are ``{"error", "message"}`` and never hold secrets."""

from __future__ import annotations

import json

from aws_lambda_powertools.event_handler import Response
from pydantic import ValidationError

from twinbridge import errors
from twinbridge.observability import logger

STATUS_BY_ERROR: list[tuple[type[errors.TwinbridgeError], int]] = [
    (errors.AuthenticationError, 401),
    (errors.NotFoundError, 404),
    (errors.InvitationExpiredError, 410),
    (errors.ConflictError, 409),
    (errors.InvalidRequestError, 400),
    (errors.RemoteError, 502),
    (errors.NotImplementedYetError, 501),
]


def error_response(status: int, code: str, message: str) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps({"error": code, "message": message}),
    )


def status_for(exc: errors.TwinbridgeError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(exc, kind):
            return status
    return 500


def describe_validation_error(exc: ValidationError) -> str:
    """'name: Field required; mode: Input should be ...' without echoing the offending values (they may be keys)."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in error.get("loc", ())) or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "invalid request body: " + "; ".join(parts[:10])


def install_error_handlers(app) -> None:
    """Register the table on a Powertools resolver, the same for every function."""

    @app.exception_handler(errors.TwinbridgeError)
    def _domain(exc: errors.TwinbridgeError) -> Response:
        status = status_for(exc)
        if status >= 500 and status != 502:
            logger.exception("request failed")
        elif status == 502:
            logger.warning("partner node call failed", extra={"error": exc.message})
        return error_response(status, exc.code, exc.message)

    @app.exception_handler(ValidationError)
    def _validation(exc: ValidationError) -> Response:
        return error_response(400, "invalid_request", describe_validation_error(exc))

    @app.exception_handler(json.JSONDecodeError)
    def _json(exc: json.JSONDecodeError) -> Response:
        return error_response(400, "invalid_request", f"request body is not valid JSON (line {exc.lineno}, column {exc.colno})")

    @app.not_found
    def _not_found(exc: Exception) -> Response:
        return error_response(404, "not_found", "no such route on this node")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unexpected failure")
        return error_response(500, "internal_error", "internal error; the node's logs have the details")
