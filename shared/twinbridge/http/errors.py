"""The single map from domain errors to HTTP statuses; bodies are ``{"error", "message"}`` and never hold secrets."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Literal

from aws_lambda_powertools.event_handler import Response
from pydantic import ValidationError

from twinbridge import errors
from twinbridge.observability import logger

LogLevel = Literal["none", "warning", "exception"]


@dataclass(frozen=True)
class ErrorRule:
    """Errors of ``kind`` answer ``status``; ``log`` says what the node's log gets (only our own faults get a stack)."""

    kind: type[errors.TwinbridgeError]
    status: int
    log: LogLevel


# Ordered: the first rule whose kind matches wins, so subclasses come before their bases.
STATUS_BY_ERROR: tuple[ErrorRule, ...] = (
    ErrorRule(errors.AuthenticationError, 401, "none"),  # the precise reason is logged where it is found
    ErrorRule(errors.NotFoundError, 404, "none"),
    ErrorRule(errors.InvitationExpiredError, 410, "none"),
    ErrorRule(errors.PayloadTooLargeError, 413, "none"),
    ErrorRule(errors.ConflictError, 409, "none"),
    ErrorRule(errors.InvalidRequestError, 400, "none"),
    ErrorRule(errors.ThrottledError, 429, "none"),  # a partner over its connection's quota; Retry-After says when
    ErrorRule(errors.RemoteError, 502, "warning"),  # the partner's status is never passed through as ours
    ErrorRule(errors.TrackerThrottledError, 503, "warning"),
    ErrorRule(errors.StoreBusyError, 503, "warning"),
    ErrorRule(errors.TrackerError, 502, "warning"),
    ErrorRule(errors.TwinbridgeError, 500, "exception"),
)


def rule_for(exc: errors.TwinbridgeError) -> ErrorRule:
    return next(rule for rule in STATUS_BY_ERROR if isinstance(exc, rule.kind))


def status_for(exc: errors.TwinbridgeError) -> int:
    return rule_for(exc).status


def error_response(status: int, code: str, message: str, retry_after: float | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps({"error": code, "message": message}),
        headers={"Retry-After": str(max(1, math.ceil(retry_after)))} if retry_after is not None else None,
    )


def describe_validation_error(exc: ValidationError) -> str:
    """'name: Field required; mode: Input should be ...' without echoing the offending values (they may be keys)."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in error.get("loc", ())) or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "invalid request body: " + "; ".join(parts[:10])


def install_error_handlers(app: Any) -> None:
    """Register the table on a Powertools resolver, the same for every function."""

    @app.exception_handler(errors.TwinbridgeError)
    def _domain(exc: errors.TwinbridgeError) -> Response[str]:
        rule = rule_for(exc)
        if rule.log == "exception":
            logger.exception("request failed")
        elif rule.log == "warning":
            logger.warning("upstream call failed", extra={"error": exc.message, "status": rule.status})
        retry_after = getattr(exc, "retry_after", None)  # ThrottledError, TrackerThrottledError
        return error_response(rule.status, exc.code, exc.message,
                              retry_after if isinstance(retry_after, int | float) else None)

    @app.exception_handler(ValidationError)
    def _validation(exc: ValidationError) -> Response[str]:
        return error_response(400, "invalid_request", describe_validation_error(exc))

    @app.exception_handler(json.JSONDecodeError)
    def _json(exc: json.JSONDecodeError) -> Response[str]:
        return error_response(
            400, "invalid_request", f"request body is not valid JSON (line {exc.lineno}, column {exc.colno})"
        )

    @app.not_found
    def _not_found(exc: Exception) -> Response[str]:
        return error_response(404, "not_found", "no such route on this node")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response[str]:
        logger.exception("unexpected failure")
        return error_response(500, "internal_error", "internal error; the node's logs have the details")
