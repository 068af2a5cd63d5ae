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
        from twinbridge.services import sync_out

        change = ChangeEvent.model_validate(body["change"])
        logger.append_keys(item=f"{change.tracker}:{change.item_id}")
        sync_out.handle_change(deps, change)
        return
    if kind in ("sync.apply", "sync.unlink"):
        from twinbridge.services import sync_in

        if kind == "sync.apply":
            sync_in.apply_pending(deps, str(body["connection_id"]), str(body["twin_id"]))
        else:
            sync_in.unlink(deps, str(body["connection_id"]), str(body["twin_id"]), str(body.get("reason", "")))
        return
    raise InvalidRequestError(f"unknown work item type {kind!r}")
