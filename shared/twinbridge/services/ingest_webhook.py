"""Use case: an authenticated tracker webhook -> normalized ChangeEvent -> loop guard -> once-only enqueue.

The caller has already authenticated the raw bytes (twinbridge.http.webhook_auth). Redeliveries are
deduplicated with Powertools idempotency on the delivery id (records in the node table, see
``Deps.webhook_deliveries``), and again by SQS FIFO's deduplication id within its 5-minute window.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from twinbridge.errors import DeliveryInProgressError, UnsupportedEventError
from twinbridge.models.change import ChangeEvent, WebhookReceiptResponse
from twinbridge.models.jobs import TrackerChangeJob
from twinbridge.observability import logger
from twinbridge.services.deps import Deps, JobQueue
from twinbridge.trackers.webhooks import parse_webhook

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

DEDUP_WINDOW_SECONDS = 2 * 24 * 3600  # trackers retry for hours (ADO) or minutes (Jira); keep ids two days
IDEMPOTENCY_KEY_PREFIX = "webhook-delivery"


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    """Powertools calls this when it returns a stored result instead of running the function: a redelivery."""
    if isinstance(response, dict):
        return {**response, "status": "duplicate"}
    return response


@functools.cache
def idempotency_config() -> IdempotencyConfig:
    """Built on first use: Powertools' idempotency module loads boto3, which no handler imports before it needs it."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="[tracker, delivery_id]",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=DEDUP_WINDOW_SECONDS,
        response_hook=_mark_duplicate,
    )


def track_invocation(context: LambdaContext) -> None:
    """In-progress idempotency records expire with the current invocation (a crashed one frees its deliveries)."""
    idempotency_config().register_lambda_context(context)


def _queue_change(change: ChangeEvent, queue: JobQueue) -> dict[str, Any]:
    queue.send(TrackerChangeJob(change=change))
    return {"status": "queued", "delivery_id": change.delivery_id, "kind": change.kind.value,
            "item": change.item_key or change.item_id}


@functools.cache
def _queue_once(persistence: BasePersistenceLayer) -> Callable[..., dict[str, Any]]:
    """``_queue_change`` made idempotent on the delivery id, with records in ``persistence`` (built once per store)."""
    from aws_lambda_powertools.utilities.idempotency import idempotent_function

    queue_once: Callable[..., dict[str, Any]] = idempotent_function(
        data_keyword_argument="change", persistence_store=persistence, config=idempotency_config(),
        key_prefix=IDEMPOTENCY_KEY_PREFIX,
    )(_queue_change)
    return queue_once


def ingest_webhook(
    deps: Deps, tracker: str, body: bytes, headers: Mapping[str, str] | None = None
) -> WebhookReceiptResponse:
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
    unattributed = bool(technical_user) and (change.actor is None or not change.actor.identifiable)
    if unattributed:  # queued all the same: the echo guards (markers, replica digests) stop our own writes
        logger.warning("webhook names no usable actor: the technical-user guard cannot tell who made it",
                       extra={"kind": change.kind.value, "source_event": change.source_event})
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    try:
        answer = _queue_once(deps.webhook_deliveries)(change=change, queue=deps.queue)
    except IdempotencyAlreadyInProgressError as exc:
        raise DeliveryInProgressError(
            f"delivery {change.delivery_id[:80]} is already being processed; retry later"
        ) from exc
    receipt = WebhookReceiptResponse.model_validate(answer)
    if unattributed:
        receipt = receipt.model_copy(update={"actor": "unknown"})
    logger.info(f"webhook {receipt.status}", extra={"kind": change.kind.value})
    return receipt
