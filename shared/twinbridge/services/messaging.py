"""The generic message channel: outbox -> (push | partner long-polls) -> ordered, de-duplicated apply -> ack."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from twinbridge.errors import ConnectionInactiveError, RefusedMessageError, ThrottledError
from twinbridge.models.connection import Connection, ConnectionStatus, utcnow
from twinbridge.models.jobs import DeliverJob
from twinbridge.models.messages import (
    PeerMessage,
    PingRequest,
    PingResponse,
    PollRequest,
    PollResponse,
    PushRequest,
    PushResponse,
)
from twinbridge.models.replica import REPLICA_KIND
from twinbridge.observability import logger
from twinbridge.services import attachments
from twinbridge.services.deps import Deps

if TYPE_CHECKING:
    from twinbridge.store.outbox import TransactionPart

# What this node does with each kind of message a partner sends; the table is passed in (services/routing.py).
MessageHandler = Callable[[Deps, Connection, PeerMessage], None]
KindTable = Mapping[str, MessageHandler]


def finish_for_sending(deps: Deps, messages: list[PeerMessage]) -> list[PeerMessage]:
    """Messages as they leave this node: replicas get fresh presigned attachment URLs (decision 13)."""
    return [attachments.with_download_urls(deps, m) if m.kind == REPLICA_KIND else m for m in messages]


def require_active(conn: Connection) -> None:
    if conn.status != ConnectionStatus.ACTIVE:
        raise ConnectionInactiveError(f"connection {conn.id} is {conn.status.value} on the receiving node")


# --- sending --------------------------------------------------------------------------------------
def send(deps: Deps, conn: Connection, kind: str, payload: dict[str, Any],
         alongside: TransactionPart | None = None) -> PeerMessage:
    """Queue a message for the partner (saved in one transaction with ``alongside``); it is pushed when this side
    may call, else the partner polls it."""
    message = deps.outbox.append(conn.id, kind, payload, alongside)
    if conn.can_call_remote and conn.status == ConnectionStatus.ACTIVE:
        schedule_delivery(deps, conn.id, message.message_id)
    return message


def schedule_delivery(deps: Deps, connection_id: str, reason: str) -> None:
    """Ask the sync worker to drain the outbox (one FIFO group per connection keeps it in order)."""
    deps.queue.send(DeliverJob(connection_id=connection_id, reason=reason))


def deliver_outbox(deps: Deps, connection_id: str, batch: int = 50) -> int:
    """Push every queued message to a callable partner in order; returns how many were acknowledged.

    Raises:
        RemoteError: the partner could not take them (the caller retries; nothing is lost).
    """
    conn = deps.connections.get(connection_id)
    if not conn.can_call_remote or conn.status != ConnectionStatus.ACTIVE or conn.keys.outbound is None:
        return 0
    partner = deps.partner(conn)
    delivered = 0
    after = 0
    while True:
        messages, more = deps.outbox.pending(conn.id, after, batch)
        if not messages:
            return delivered
        answer = partner.push(PushRequest(connection_id=conn.id, messages=finish_for_sending(deps, messages)))
        delivered += deps.outbox.ack(conn.id, answer.acked_seq)
        if answer.acked_seq < messages[-1].seq or not more:
            return delivered
        after = answer.acked_seq


# --- receiving ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Received:
    """The ack (the highest seq applied), and when the partner's replica quota stopped the batch, how many seconds
    until it may send more (the rest stays in its outbox: unacknowledged, never lost)."""

    acked: int
    retry_after: float | None = None


def receive(deps: Deps, conn: Connection, messages: list[PeerMessage], kinds: KindTable) -> Received:
    """Apply messages in seq order exactly once, each by its kind's handler; returns the ack.

    A kind this node does not know stops the batch unacknowledged: it is redelivered, never lost,
    and the error log says to upgrade this node. A message whose payload is invalid or claims what the partner
    may not claim is refused: acknowledged, recorded on the connection's activity log, never acted on (retrying
    it could never succeed, and holding it back would stop the channel). Replicas count against the connection's
    token bucket (``Settings.replica_burst``, ``replicas_per_second``): past it the batch stops there.
    """
    ordered = sorted(messages, key=lambda m: m.seq)
    wanted = sum(1 for m in ordered if m.kind == REPLICA_KIND and m.seq > conn.in_seq)
    allowed, retry_after = wanted, None
    if wanted:
        settings = deps.settings
        allowed, next_token = deps.quotas.take_tokens(conn.id, "replicas", wanted, settings.replica_burst,
                                                      settings.replicas_per_second)
        if allowed < wanted:
            retry_after = max(next_token, 0.2)
    for message in ordered:
        current = conn.in_seq
        if message.seq <= current:
            continue  # a redelivery: already applied
        if message.seq != current + 1:
            logger.warning(
                "gap in peer messages", extra={"connection_id": conn.id, "expected": current + 1, "got": message.seq}
            )
            break
        if message.kind == REPLICA_KIND:
            if allowed <= 0:
                logger.info("partner over its replica quota: the rest waits", extra={"connection_id": conn.id})
                break
            allowed -= 1
        handler = kinds.get(message.kind)
        if handler is None:
            logger.error(
                "message of an unknown kind held back: upgrade this node to the partner's twinbridge version",
                extra={"connection_id": conn.id, "kind": message.kind, "seq": message.seq},
            )
            break
        try:
            handler(deps, conn, message)
        except (ValidationError, RefusedMessageError) as exc:
            _refuse(deps, conn, message, exc)
        if not deps.connections.advance_in_seq(conn.id, current, message.seq):
            conn = deps.connections.get(conn.id)  # someone else applied it concurrently
            continue
        conn.in_seq = message.seq
    return Received(conn.in_seq, retry_after)


def _refuse(deps: Deps, conn: Connection, message: PeerMessage, exc: ValidationError | RefusedMessageError) -> None:
    if isinstance(exc, ValidationError):  # field names and error types only: never the values a partner sent
        reason = "invalid " + ", ".join(sorted({f"{'.'.join(map(str, e['loc']))} ({e['type']})"
                                                for e in exc.errors(include_input=False)})[:5])
    else:
        reason = exc.message
    logger.warning("partner message refused", extra={"connection_id": conn.id, "kind": message.kind,
                                                     "seq": message.seq, "reason": reason[:300]})
    deps.events.record(conn.id, "message.refused", f"#{message.seq} {message.kind}: {reason}"[:1000],
                       event_id=message.message_id[:64])


def receive_push(deps: Deps, conn: Connection, body: PushRequest, kinds: KindTable) -> PushResponse:
    require_active(conn)
    deps.connections.touch(conn.id, utcnow())
    before = conn.in_seq
    received = receive(deps, conn, body.messages, kinds)
    if received.retry_after is not None and received.acked == before:
        raise ThrottledError(f"connection {conn.id} is over its replica quota; try again later", received.retry_after)
    return PushResponse(acked_seq=received.acked)


def serve_poll(deps: Deps, conn: Connection, body: PollRequest, remaining_seconds: Callable[[], float]) -> PollResponse:
    """Long-poll: drop what the poller acknowledged, then answer as soon as something waits (or at the deadline).
    A partner holds at most ``Settings.polls_per_connection`` polls open at once (each one holds a function)."""
    require_active(conn)
    wait = min(body.wait_seconds, deps.settings.long_poll_seconds, max(0.0, remaining_seconds() - 2.0))
    holder = uuid.uuid4().hex
    slot = deps.quotas.lease(conn.id, "poll", deps.settings.polls_per_connection, wait + 5.0, holder)
    if slot is None:
        raise ThrottledError(f"connection {conn.id} already holds its long-polls open", 1.0)
    try:
        return _serve_poll(deps, conn, body, wait)
    finally:
        deps.quotas.release(conn.id, slot, holder)


def _serve_poll(deps: Deps, conn: Connection, body: PollRequest, wait: float) -> PollResponse:
    deps.outbox.ack(conn.id, body.ack_seq)
    deps.connections.touch(conn.id, utcnow())
    deadline = time.monotonic() + wait
    interval = deps.settings.long_poll_interval_seconds
    while True:
        messages, more = deps.outbox.pending(conn.id, body.ack_seq, body.max_messages)
        if messages or time.monotonic() + interval > deadline:
            return PollResponse(messages=finish_for_sending(deps, messages), more=more)
        time.sleep(interval)


def ping_remote(deps: Deps, conn: Connection) -> PingResponse:
    answer = deps.partner(conn).ping(PingRequest(connection_id=conn.id))
    deps.connections.touch(conn.id, utcnow())
    return answer


def receive_ping(deps: Deps, conn: Connection, body: PingRequest) -> PingResponse:
    require_active(conn)
    deps.connections.touch(conn.id, utcnow())
    return PingResponse(
        node=deps.settings.node_name, connection_id=conn.id, status=conn.status.value, received_at=utcnow()
    )
