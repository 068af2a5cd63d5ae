"""Use case: an authenticated tracker webhook -> normalized ChangeEvent -> loop guard -> once-only enqueue.

The caller has already authenticated the raw bytes (twinbridge.http.webhook_auth). Redeliveries are
deduplicated with Powertools idempotency on the delivery id (records in the node table, see
``Deps.webhook_deliveries``), and again by SQS FIFO's deduplication id within its 5-minute window.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from twinbridge.errors import DeliveryInProgressError, TwinbridgeError, UnsupportedEventError
from twinbridge.models.change import CHANGE_MESSAGE_TYPE, ChangeEvent, WebhookReceiptResponse
from twinbridge.observability import logger
from twinbridge.trackers.webhooks import parse_webhook
from twinbridge.wiring import Deps, WorkQueue

DEDUP_WINDOW_SECONDS = 2 * 24 * 3600  # trackers retry for hours (ADO) or minutes (Jira); keep ids two days
IDEMPOTENCY_KEY_PREFIX = "webhook-delivery"
_SQS_ID = re.compile(r"^[A-Za-z0-9!-/:-@\[-`{-~]{1,128}$")  # SQS: 1-128 alphanumerics and punctuation


def _mark_duplicate(response: Any, data_record: Any) -> Any:
    """Powertools calls this when it returns a stored result instead of running the function: a redelivery."""
    if isinstance(response, dict):
        return {**response, "status": "duplicate"}
    return response


IDEMPOTENCY_CONFIG = IdempotencyConfig(
    event_key_jmespath="[tracker, delivery_id]",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=DEDUP_WINDOW_SECONDS,
    response_hook=_mark_duplicate,
)


class QueueNotConfiguredError(TwinbridgeError):
    """The node has no SYNC_QUEUE_URL: accepting the change would lose it (answered 500, the tracker retries)."""

    code = "queue_not_configured"


def message_group(change: ChangeEvent) -> str:
    """One FIFO group per tracker item, so changes to one item are applied in order."""
    return sqs_id(f"{change.tracker}:{change.item_id}")


def sqs_id(value: str) -> str:
    """``value`` when SQS accepts it as a group/deduplication id, else its SHA-256 (64 hex characters)."""
    return value if _SQS_ID.match(value) else hashlib.sha256(value.encode()).hexdigest()


def dedup_id(change: ChangeEvent) -> str:
    return hashlib.sha256(f"{change.tracker}:{change.delivery_id}".encode()).hexdigest()


def queue_message(change: ChangeEvent) -> dict[str, Any]:
    """The sync queue body for a change: ``{"type": "tracker.change", "change": <ChangeEvent JSON>}``."""
    return {"type": CHANGE_MESSAGE_TYPE, "change": change.model_dump(mode="json")}


def enqueue_change(queue: WorkQueue, change: ChangeEvent) -> None:
    """Queue a change for the sync worker: FIFO group per item, de-duplicated by tracker and delivery id."""
    queue.send(queue_message(change), group=message_group(change), dedup_id=dedup_id(change))


def ingest_webhook(deps: Deps, tracker: str, body: bytes, headers: Mapping[str, str] | None = None) -> WebhookReceiptResponse:
    """Normalize one authenticated delivery and queue it once.

    Returns:
        ``queued`` (new), ``duplicate`` (seen before: acknowledged, not queued again) or ``ignored``
        (made by the node's technical user: syncing it back would loop; or an event type that is not synced).

    Raises:
        InvalidRequestError: not JSON, or not an event of this tracker (400, saying what was expected).
        DeliveryInProgressError: the same delivery is being processed concurrently (409).
    """
    try:
        change = parse_webhook(tracker, body, headers)
    except UnsupportedEventError as exc:
        # A genuine event of a kind we do not sync (a worklog, a sprint): acknowledge it, or the tracker
        # counts failures and may disable the subscription (Azure DevOps puts it on probation).
        logger.info("webhook ignored: event type not synced", extra={"reason": exc.message})
        return WebhookReceiptResponse(status="ignored", reason=exc.message[:200])
    logger.append_keys(delivery_id=change.delivery_id, item=f"{change.tracker}:{change.item_id}")
    technical_user = deps.settings.technical_user if deps.settings.technical_user_guard else ""
    if technical_user and change.actor is not None and change.actor.matches(technical_user):
        logger.info("webhook ignored: made by the technical user", extra={"kind": change.kind.value})
        return WebhookReceiptResponse(status="ignored", reason="technical user")
    if deps.queue is None:
        raise QueueNotConfiguredError("this node has no sync queue configured (SYNC_QUEUE_URL); webhook not accepted")

    queue = deps.queue

    @idempotent_function(
        data_keyword_argument="change",
        persistence_store=deps.webhook_deliveries,
        config=IDEMPOTENCY_CONFIG,
        key_prefix=IDEMPOTENCY_KEY_PREFIX,
    )
    def enqueue(change: ChangeEvent) -> dict[str, Any]:
        enqueue_change(queue, change)
        return {
            "status": "queued",
            "delivery_id": change.delivery_id,
            "kind": change.kind.value,
            "item": change.item_key or change.item_id,
        }

    try:
        receipt = WebhookReceiptResponse.model_validate(enqueue(change=change))
    except IdempotencyAlreadyInProgressError as exc:
        raise DeliveryInProgressError(f"delivery {change.delivery_id[:80]} is already being processed; retry later") from exc
    logger.info(f"webhook {receipt.status}", extra={"kind": change.kind.value})
    return receipt
