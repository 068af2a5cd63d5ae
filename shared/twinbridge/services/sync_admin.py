"""Admin use cases on sync state: a summary per connection, one item's twins, twins with errors, and retries."""

from __future__ import annotations

import uuid

from twinbridge.errors import InvalidRequestError, NotFoundError
from twinbridge.models.change import ChangeEvent, ChangeKind
from twinbridge.models.connection import Connection, utcnow
from twinbridge.models.jobs import ApplyJob, TrackerChangeJob
from twinbridge.models.replica import ItemIdentity
from twinbridge.models.sync_admin import (
    ConnectionSyncSummaryItem,
    RetryQueuedItem,
    RetrySkippedItem,
    SyncErrorItem,
    SyncErrorsResponse,
    SyncRetryRequest,
    SyncRetryResponse,
    SyncSummaryResponse,
    TwinStatusItem,
    TwinStatusResponse,
)
from twinbridge.models.twin import Twin
from twinbridge.observability import logger
from twinbridge.services.deps import Deps

OUTBOX_COUNT_LIMIT = 100
MAX_LOOKUP_CHARS = 255  # what may reach a table key from a query string (DynamoDB refuses keys over 2 KB)
RETRY_SOURCE_EVENT = "twinbridge:retry"


def summary(deps: Deps, connection_id: str | None = None) -> SyncSummaryResponse:
    """Twins, twins with errors, twins with a pending replica and the outbox backlog, per connection."""
    items = []
    for conn in _connections(deps, connection_id):
        twins = deps.twins.list(conn.id)
        pending = deps.twins.received_seqs(conn.id)
        queued, more = _outbox_backlog(deps, conn.id)
        items.append(ConnectionSyncSummaryItem(
            connection_id=conn.id, name=conn.name, status=conn.status.value, twins=len(twins),
            with_errors=sum(1 for t in twins if t.last_error is not None),
            pending=sum(1 for t in twins if pending.get(t.twin_id, 0) > t.in_seq),
            queued_for_partner=queued, queued_for_partner_more=more,
        ))
    return SyncSummaryResponse(connections=items)


def twin_status(deps: Deps, item: str, connection_id: str | None = None) -> TwinStatusResponse:
    """The twins of ``item``: a twin id, a local item id, or a local or remote item key (one per connection).

    Raises:
        InvalidRequestError: ``item`` is empty.
        NotFoundError: the connection does not exist, or no twin matches ``item``.
    """
    item = item.strip()
    if not item:
        raise InvalidRequestError("item is empty: give a local item key (ACME-12), a local item id or a twin id")
    if len(item) > MAX_LOOKUP_CHARS:
        raise InvalidRequestError(f"item is longer than {MAX_LOOKUP_CHARS} characters: no key or id is that long")
    connections = _connections(deps, connection_id)
    found = [(conn, twin) for conn in connections for twin in _lookup(deps, conn, item)]
    if not found:
        if not connections:
            raise NotFoundError(f"no twin found for {item!r}: this node has no connections")
        where = f"connection {connection_id}" if connection_id else f"any of the {len(connections)} connection(s)"
        raise NotFoundError(
            f"no twin found for {item!r} in {where} "
            "(looked it up as a twin id, a local item id and a local or remote item key)"
        )
    backlog = {conn.id: _outbox_backlog(deps, conn.id) for conn, _ in found}
    return TwinStatusResponse(
        item=item, twins=[_status_item(conn, twin, _pending_seq(deps, twin), *backlog[conn.id]) for conn, twin in found]
    )


def errors(deps: Deps, connection_id: str | None = None) -> SyncErrorsResponse:
    """Twins whose last sync attempt failed, newest first."""
    if connection_id is not None:
        _connections(deps, connection_id)  # a clear 404 for a mistyped id
    twins = [t for t in deps.twins.with_errors() if connection_id is None or t.connection_id == connection_id]
    items = [
        SyncErrorItem(
            connection_id=t.connection_id,
            twin_id=t.twin_id,
            local=t.local,
            remote=t.remote,
            direction=t.last_error.direction,
            reason=t.last_error.reason,
            attempts=t.last_error.attempts,
            at=t.last_error.at,
            pending_seq=_pending_seq(deps, t),
            script=t.last_error.script,
        )
        for t in twins
        if t.last_error is not None
    ]
    return SyncErrorsResponse(errors=sorted(items, key=lambda e: e.at, reverse=True))


def retry(deps: Deps, request: SyncRetryRequest) -> SyncRetryResponse:
    """Queue again what failed: the pending replica's apply, and/or a change of the local item (outgoing errors, or
    nothing pending). The twin's error stays until a retry succeeds.

    Raises:
        NotFoundError: the connection, or one of the twin ids, does not exist (nothing is queued then).
    """
    connections = _connections(deps, request.connection_id)
    by_id = {conn.id: conn for conn in connections}
    if request.all:
        targets = [(by_id[t.connection_id], t.twin_id) for t in deps.twins.with_errors() if t.connection_id in by_id]
    else:
        targets = _resolve_twin_ids(deps, connections, request.twin_ids, request.connection_id)
    response = SyncRetryResponse(queued=[], skipped=[])
    for conn, twin_id in targets:
        twin = deps.twins.get(conn.id, twin_id)  # the index is eventually consistent: read the twin itself
        if twin is None:
            response.skipped.append(
                RetrySkippedItem(connection_id=conn.id, twin_id=twin_id, reason="unlinked meanwhile")
            )
        elif twin.last_error is None:
            response.skipped.append(
                RetrySkippedItem(connection_id=conn.id, twin_id=twin_id, reason="no error recorded")
            )
        else:
            _retry_twin(deps, conn, twin, response)
    logger.info("sync retry requested", extra={"queued": len(response.queued), "skipped": len(response.skipped)})
    return response


def _retry_twin(deps: Deps, conn: Connection, twin: Twin, response: SyncRetryResponse) -> None:
    acted = False
    pending = _pending_seq(deps, twin)
    if pending is not None:
        response.queued.append(_requeue_apply(deps, conn, twin, pending))
        acted = True
    outgoing = twin.last_error is not None and twin.last_error.direction == "outgoing"
    if twin.local is not None and (outgoing or pending is None):
        response.queued.append(_requeue_change(deps, conn, twin, twin.local))
        acted = True
    if not acted:
        response.skipped.append(
            RetrySkippedItem(
                connection_id=conn.id,
                twin_id=twin.twin_id,
                reason="nothing to retry: no pending replica and no local item (the partner must send the item again)",
            )
        )


def _requeue_apply(deps: Deps, conn: Connection, twin: Twin, seq: int) -> RetryQueuedItem:
    deps.queue.send(ApplyJob(connection_id=conn.id, twin_id=twin.twin_id, seq=seq, attempt=f"retry-{uuid.uuid4().hex}"))
    return RetryQueuedItem(connection_id=conn.id, twin_id=twin.twin_id, action="apply", status="queued", seq=seq)


def _requeue_change(deps: Deps, conn: Connection, twin: Twin, local: ItemIdentity) -> RetryQueuedItem:
    if not deps.settings.tracker_base_url:
        return RetryQueuedItem(
            connection_id=conn.id,
            twin_id=twin.twin_id,
            action="change",
            status="failed",
            item_key=local.key,
            detail="no tracker is configured on this node (TrackerBaseUrl)",
        )
    change = ChangeEvent(
        tracker=deps.settings.tracker_type,
        instance=deps.settings.tracker_base_url,
        item_id=local.id,
        item_key=local.key,
        kind=ChangeKind.UPDATED,
        occurred_at=utcnow(),
        delivery_id=f"{RETRY_SOURCE_EVENT}:{uuid.uuid4()}",
        source_event=RETRY_SOURCE_EVENT,
    )
    deps.queue.send(TrackerChangeJob(change=change))
    return RetryQueuedItem(
        connection_id=conn.id,
        twin_id=twin.twin_id,
        action="change",
        status="queued",
        item_key=local.key,
        delivery_id=change.delivery_id,
    )


def _resolve_twin_ids(
    deps: Deps, connections: list[Connection], twin_ids: list[str], connection_id: str | None
) -> list[tuple[Connection, str]]:
    targets, unknown = [], []
    for twin_id in dict.fromkeys(twin_ids):
        matches = [(conn, twin_id) for conn in connections if deps.twins.get(conn.id, twin_id) is not None]
        targets += matches
        if not matches:
            unknown.append(twin_id)
    if unknown:
        where = f"connection {connection_id}" if connection_id else "any connection"
        raise NotFoundError(
            f"no twin with id {', '.join(map(repr, unknown))} in {where}; nothing was queued "
            "('twinbridge sync errors' lists the twins with errors)"
        )
    return targets


def _connections(deps: Deps, connection_id: str | None) -> list[Connection]:
    if connection_id is not None:
        if len(connection_id) > MAX_LOOKUP_CHARS:
            raise NotFoundError("no such connection on this node")
        return [deps.connections.get(connection_id)]
    return deps.connections.list()


def _lookup(deps: Deps, conn: Connection, item: str) -> list[Twin]:
    twin = deps.twins.get(conn.id, item) or deps.twins.find_by_local(conn.id, item)
    if twin is not None:
        return [twin]
    wanted = item.casefold()
    return [
        t
        for t in deps.twins.list(conn.id)
        if any(side is not None and wanted in (side.key.casefold(), side.id.casefold()) for side in (t.local, t.remote))
    ]


def _outbox_backlog(deps: Deps, connection_id: str) -> tuple[int, bool]:
    waiting, more = deps.outbox.pending(connection_id, 0, OUTBOX_COUNT_LIMIT)
    return len(waiting), more


def _pending_seq(deps: Deps, twin: Twin) -> int | None:
    pending = deps.twins.last_received(twin.connection_id, twin.twin_id)
    return pending.seq if pending is not None and pending.seq > twin.in_seq else None


def _status_item(conn: Connection, twin: Twin, pending_seq: int | None, queued: int, more: bool) -> TwinStatusItem:
    return TwinStatusItem(
        connection_id=conn.id,
        connection_name=conn.name,
        twin_id=twin.twin_id,
        origin=twin.origin,
        local=twin.local,
        remote=twin.remote,
        last_sent_at=twin.last_sent_at,
        last_received_at=twin.last_received_at,
        out_seq=twin.out_seq,
        in_seq=twin.in_seq,
        pending_seq=pending_seq,
        create_claimed_at=twin.claim.claimed_at if twin.claim else None,
        unlinked=twin.unlinked,
        last_error=twin.last_error,
        rules_versions=dict(twin.rules_versions),
        queued_for_partner=queued,
        queued_for_partner_more=more,
    )
