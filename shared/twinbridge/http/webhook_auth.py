"""Tracker webhook authentication, before anything reads the payload: raw bytes, constant time, failing closed.

- Jira Cloud (admin webhooks with a secret): ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>``.
- Jira Data Center: the node's token in the webhook URL (``?token=``) or in an ``X-Twinbridge-Token`` header.
- Azure DevOps service hooks: basic auth (``webhook_username`` + ``webhook_secret``) or ``X-Twinbridge-Token``.

The secret is ``WebhookCredentials.webhook_secret``, from the node's webhook secret (``WEBHOOK_SECRET_ARN``, the
only secret the webhook function may read; see ``Deps.webhook_credentials``). No secret configured, or a secret that
cannot be read, means every delivery is refused. Callers only ever see one generic 401 message; the precise reason
goes to the node's log.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from twinbridge.errors import NotFoundError, WebhookAuthenticationError
from twinbridge.http.inputs import MAX_BODY_BYTES, read_body
from twinbridge.models.base import TRACKER_KINDS
from twinbridge.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

    from twinbridge.trackers.credentials import TrackerCredentials, WebhookCredentials

    # The webhook fields are all that is read; a TrackerCredentials (an older combined secret) has them too.
    Credentials = WebhookCredentials | TrackerCredentials

MAX_WEBHOOK_BYTES = MAX_BODY_BYTES
TOKEN_HEADER = "x-twinbridge-token"
SIGNATURE_HEADER = "x-hub-signature"


@dataclass(frozen=True)
class WebhookRequest:
    """The parts of a webhook delivery that matter: the raw body (signatures are over these bytes) and headers."""

    tracker: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, list[str]] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------- pure checks


def check_hub_signature(raw: bytes, header: str | None, secret: bytes) -> None:
    """Jira Cloud: ``sha256=<hex>`` over the raw bytes, compared in constant time."""
    if not secret:
        raise WebhookAuthenticationError("no webhook secret configured")
    if not header or not header.startswith("sha256="):
        raise WebhookAuthenticationError("X-Hub-Signature missing or not sha256")
    expected = "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(header.strip().lower().encode(), expected.encode()):
        raise WebhookAuthenticationError("X-Hub-Signature does not match")


def check_token(presented: str | None, secret: bytes, where: str = "token") -> None:
    """A shared token (Jira DC query/header, ADO custom header), compared in constant time."""
    if not secret:
        raise WebhookAuthenticationError("no webhook secret configured")
    if not presented:
        raise WebhookAuthenticationError(f"{where} missing")
    if not hmac.compare_digest(presented.encode(), secret):
        raise WebhookAuthenticationError(f"{where} does not match")


def check_basic_auth(authorization: str | None, username: str | None, secret: bytes) -> None:
    """ADO basic auth: the password must be the webhook secret, and the user name ``webhook_username`` when one
    is configured (both compared in constant time)."""
    if not secret:
        raise WebhookAuthenticationError("no webhook secret configured")
    if not authorization or not authorization[:6].lower() == "basic ":
        raise WebhookAuthenticationError("Authorization header missing or not Basic")
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise WebhookAuthenticationError("Authorization header is not valid base64 user:password") from exc
    user, sep, password = decoded.partition(":")
    if not sep:
        raise WebhookAuthenticationError("Authorization header has no user:password pair")
    password_ok = hmac.compare_digest(password.encode(), secret)
    user_ok = username is None or hmac.compare_digest(user.encode(), username.encode())
    if not (password_ok and user_ok):
        raise WebhookAuthenticationError("basic auth user name or password does not match")


def verify_webhook(request: WebhookRequest, credentials: Credentials | None) -> None:
    """Authenticate one delivery for its tracker; raises WebhookAuthenticationError (401) on any doubt."""
    secret_value = credentials.webhook_secret.get_secret_value() if credentials and credentials.webhook_secret else ""
    secret = secret_value.encode()
    if not secret:
        raise WebhookAuthenticationError("no webhook_secret configured (WebhookSecretArn): every delivery is refused")
    headers = request.headers
    if request.tracker == "jira-cloud":
        check_hub_signature(request.body, headers.get(SIGNATURE_HEADER), secret)
    elif request.tracker == "jira-dc":
        presented = headers.get(TOKEN_HEADER) or _single(request.query.get("token"))
        check_token(presented, secret, "X-Twinbridge-Token header or token query parameter")
    elif request.tracker == "azure-devops":
        if headers.get(TOKEN_HEADER) is not None:
            check_token(headers.get(TOKEN_HEADER), secret, "X-Twinbridge-Token header")
        else:
            check_basic_auth(
                headers.get("authorization"), credentials.webhook_username if credentials else None, secret
            )
    else:  # pragma: no cover - guarded by check_tracker_path
        raise WebhookAuthenticationError(f"unknown tracker {request.tracker!r}")


def _single(values: list[str] | None) -> str | None:
    """One value only: a repeated ``token`` parameter is refused rather than guessed at."""
    return values[0] if values and len(values) == 1 else None


# --------------------------------------------------------------------------------------------------- the request


def check_tracker_path(tracker: str, node_tracker: str) -> None:
    """``/hooks/{tracker}`` must name the tracker this node is attached to."""
    if tracker != node_tracker:
        shown = tracker[:40]
        if tracker not in TRACKER_KINDS:
            raise NotFoundError(
                f"unknown tracker '{shown}' in the webhook path; expected one of {', '.join(TRACKER_KINDS)}"
            )
        raise NotFoundError(
            f"this node is attached to a {node_tracker} tracker; "
            f"send its webhooks to /hooks/{node_tracker}, not /hooks/{shown}"
        )


def read_webhook(event: APIGatewayProxyEventV2, tracker: str) -> WebhookRequest:
    """The raw body (at most MAX_WEBHOOK_BYTES, else 413), lower-cased headers and the parsed query string."""
    data = read_body(
        event, MAX_WEBHOOK_BYTES, advice="; narrow the webhook's fields or events so each delivery stays under 1 MB"
    )
    return WebhookRequest(
        tracker=tracker,
        body=data,
        headers={name.lower(): value for name, value in (event.headers or {}).items()},
        query=parse_qs(event.raw_event.get("rawQueryString", "") or "", keep_blank_values=True),
    )


def verified_webhook(
    event, tracker: str, node_tracker: str, credentials: Callable[[], Credentials | None]
) -> WebhookRequest:
    """Path check (404), size check (413), then authentication (401) before anything parses the body.

    ``credentials`` is called lazily; if loading them fails the delivery is refused (fail closed) and the
    failure is logged, not cached, so a fixed secret is picked up on the next delivery.
    """
    check_tracker_path(tracker, node_tracker)
    request = read_webhook(event, tracker)
    try:
        loaded = credentials()
    except Exception as exc:
        logger.error("webhook secret could not be read; refusing webhooks", extra=_describe(exc))
        raise WebhookAuthenticationError(f"webhook secret unavailable ({type(exc).__name__})") from exc
    try:
        verify_webhook(request, loaded)
    except WebhookAuthenticationError as exc:
        logger.warning("webhook refused", extra={"tracker": tracker, "reason": exc.reason})
        raise
    return request


def _describe(exc: Exception) -> dict[str, object]:
    """What to log about a secret that could not be loaded: the error type and, for a document that does not
    validate, the offending field names (never their values: the message of a validation error quotes the input)."""
    described: dict[str, object] = {"error": type(exc).__name__}
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            described["fields"] = sorted({".".join(map(str, e.get("loc", ()))) for e in errors(include_input=False)})
        except TypeError:  # not a pydantic ValidationError after all
            pass
    return described
