"""Items on the sync queue and what to do with each (the sync worker's dispatch table)."""

from __future__ import annotations

from typing import Any

from twinbridge.errors import InvalidRequestError, NotFoundError
from twinbridge.models.change import CHANGE_MESSAGE_TYPE, ChangeEvent
from twinbridge.observability import logger
from twinbridge.services import messaging
from twinbridge.wiring import Deps


def handle_work_item(deps: Deps, body: dict[str, Any]) -> None:
    """Run one queued work item; raising makes SQS redeliver it (then the DLQ after maxReceiveCount)."""
    kind = body.get("type")
    if kind == "deliver":
        try:
            messaging.deliver_outbox(deps, str(body["connection_id"]))
        except NotFoundError:
            logger.info("delivery dropped: the connection was deleted", extra={"connection_id": body["connection_id"]})
        return
    if kind == CHANGE_MESSAGE_TYPE:
        change = ChangeEvent.model_validate(body["change"])
        # The sync engine (replicas, twins) consumes these; until it is installed the change is only recorded.
        logger.info("tracker change received; no sync engine installed yet",
                    extra={"item": f"{change.tracker}:{change.item_id}", "kind": change.kind.value})
        return
    raise InvalidRequestError(f"unknown work item type {kind!r}")
