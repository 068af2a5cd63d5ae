"""The generic message channel: outbox -> (push | partner long-polls) -> ordered, de-duplicated apply -> ack."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from twinbridge.errors import ConnectionInactiveError
from twinbridge.models.connection import Connection, ConnectionStatus, utcnow
from twinbridge.models.messages import (
    PeerMessage,
    PingRequest,
    PingResponse,
    PollRequest,
    PollResponse,
    PushRequest,
    PushResponse,
)
from twinbridge.observability import logger
from twinbridge.wiring import Deps

# Message kinds -> handler(deps, conn, message). Later layers (the sync engine) register their own kinds,
# and list their module in HANDLER_MODULES so every process (handler container) knows every kind.
MessageHandler = Callable[[Deps, Connection, PeerMessage], None]
HANDLERS: dict[str, MessageHandler] = {}
HANDLER_MODULES = ("twinbridge.services.rotation", "twinbridge.services.sync_in")
# Message kinds -> how a queued message is finished as it leaves this node (e.g. fresh presigned URLs).
WireTransform = Callable[[Deps, PeerMessage], PeerMessage]
WIRE_TRANSFORMS: dict[str, WireTransform] = {}


def on_the_wire(deps: Deps, messages: list[PeerMessage]) -> list[PeerMessage]:
    _load_handlers()
    return [WIRE_TRANSFORMS[m.kind](deps, m) if m.kind in WIRE_TRANSFORMS else m for m in messages]


def _load_handlers() -> None:
    import importlib

    for module in HANDLER_MODULES:
        importlib.import_module(module)


def handles(kind: str) -> Callable[[MessageHandler], MessageHandler]:
    def register(func: MessageHandler) -> MessageHandler:
        HANDLERS[kind] = func
        return func

    return register


def on_the_wire_for(kind: str) -> Callable[[WireTransform], WireTransform]:
    def register(func: WireTransform) -> WireTransform:
        WIRE_TRANSFORMS[kind] = func
        return func

    return register


@handles("note")
def _apply_note(deps: Deps, conn: Connection, message: PeerMessage) -> None:
    deps.events.record(
        conn.id, "note.received", str(message.payload.get("text", ""))[:4000],
        at=message.created_at, event_id=message.message_id, seq=message.seq,
    )


def require_active(conn: Connection) -> None:
    if conn.status != ConnectionStatus.ACTIVE:
        raise ConnectionInactiveError(f"connection {conn.id} is {conn.status.value} on the receiving node")


# --- sending --------------------------------------------------------------------------------------
def send(deps: Deps, conn: Connection, kind: str, payload: dict[str, Any]) -> PeerMessage:
    """Queue a message for the partner; it is pushed when this side may call, else the partner polls it."""
    message = deps.outbox.append(conn.id, kind, payload)
    if conn.can_call_remote and conn.status == ConnectionStatus.ACTIVE:
        schedule_delivery(deps, conn.id, message.message_id)
    return message


def schedule_delivery(deps: Deps, connection_id: str, dedup_id: str) -> None:
    """Ask the sync worker to drain the outbox (FIFO group per connection); inline when no queue is wired."""
    if deps.queue is not None:
        deps.queue.send({"type": "deliver", "connection_id": connection_id}, group=connection_id, dedup_id=dedup_id)
    else:
        deliver_outbox(deps, connection_id)


def deliver_outbox(deps: Deps, connection_id: str, batch: int = 50) -> int:
    """Push every queued message to a callable partner in order; returns how many were acknowledged.

    Raises:
        RemoteError: the partner could not take them (the caller retries; nothing is lost).
    """
    conn = deps.connections.get(connection_id)
    if not conn.can_call_remote or conn.status != ConnectionStatus.ACTIVE or conn.keys.outbound is None:
        return 0
    delivered = 0
    after = 0
    while True:
        messages, more = deps.outbox.pending(conn.id, after, batch)
        if not messages:
            return delivered
        answer = deps.peer_client.call(
            conn.remote_url, "POST", "/messages", conn.keys.outbound.get_secret_value(),
            PushRequest(connection_id=conn.id, messages=on_the_wire(deps, messages)), PushResponse,
        )
        delivered += deps.outbox.ack(conn.id, answer.acked_seq)
        if answer.acked_seq < messages[-1].seq or not more:
            return delivered
        after = answer.acked_seq


# --- receiving ------------------------------------------------------------------------------------
def receive(deps: Deps, conn: Connection, messages: list[PeerMessage]) -> int:
    """Apply messages in seq order exactly once; returns the highest seq applied (the ack).

    A kind this node does not know stops the batch unacknowledged: it is redelivered, never lost,
    and the error log says to upgrade this node.
    """
    _load_handlers()
    for message in sorted(messages, key=lambda m: m.seq):
        current = conn.in_seq
        if message.seq <= current:
            continue  # a redelivery: already applied
        if message.seq != current + 1:
            logger.warning("gap in peer messages", extra={"connection_id": conn.id, "expected": current + 1, "got": message.seq})
            break
        handler = HANDLERS.get(message.kind)
        if handler is None:
            logger.error(
                "message of an unknown kind held back: upgrade this node to the partner's twinbridge version",
                extra={"connection_id": conn.id, "kind": message.kind, "seq": message.seq},
            )
            break
        handler(deps, conn, message)
        if not deps.connections.advance_in_seq(conn.id, current, message.seq):
            conn = deps.connections.get(conn.id)  # someone else applied it concurrently
            continue
        conn.in_seq = message.seq
    return conn.in_seq


def receive_push(deps: Deps, conn: Connection, body: PushRequest) -> PushResponse:
    require_active(conn)
    deps.connections.touch(conn.id, utcnow())
    return PushResponse(acked_seq=receive(deps, conn, body.messages))


def serve_poll(deps: Deps, conn: Connection, body: PollRequest, remaining_seconds: Callable[[], float]) -> PollResponse:
    """Long-poll: drop what the poller acknowledged, then answer as soon as something waits (or at the deadline)."""
    require_active(conn)
    deps.outbox.ack(conn.id, body.ack_seq)
    deps.connections.touch(conn.id, utcnow())
    wait = min(body.wait_seconds, deps.settings.long_poll_seconds, max(0.0, remaining_seconds() - 2.0))
    deadline = time.monotonic() + wait
    interval = deps.settings.long_poll_interval_seconds
    while True:
        messages, more = deps.outbox.pending(conn.id, body.ack_seq, body.max_messages)
        if messages or time.monotonic() + interval > deadline:
            return PollResponse(messages=on_the_wire(deps, messages), more=more)
        time.sleep(interval)


def ping_remote(deps: Deps, conn: Connection) -> PingResponse:
    answer = deps.peer_client.call(
        conn.remote_url, "POST", "/ping", conn.keys.outbound.get_secret_value(),
        PingRequest(connection_id=conn.id), PingResponse,
    )
    deps.connections.touch(conn.id, utcnow())
    return answer


def receive_ping(deps: Deps, conn: Connection, body: PingRequest) -> PingResponse:
    require_active(conn)
    deps.connections.touch(conn.id, utcnow())
    return PingResponse(node=deps.settings.node_name, connection_id=conn.id, status=conn.status.value, received_at=utcnow())
