"""Incoming sync. Receiving a replica only records it on its twin and queues an apply job (one FIFO group per
twin), so the connection's message channel never waits on a tracker: a failing twin is retried on its own
while the others keep flowing. Applying runs the basic rules' plan against the local tracker as the
technical user; creates are fenced so a retry never makes a second copy."""

from __future__ import annotations

import functools
import hashlib
import time
from datetime import timedelta

from twinbridge.errors import (
    ApplyFailedError,
    AttachmentTransferError,
    ConcurrentModificationError,
    NotFoundError,
    TrackerNotFoundError,
)
from twinbridge.models.connection import Connection, utcnow
from twinbridge.models.messages import PeerMessage
from twinbridge.models.replica import (
    LINKED_KIND,
    REPLICA_KIND,
    UNLINKED_KIND,
    ItemIdentity,
    LinkedMessage,
    ReplicaMessage,
    UnlinkedMessage,
    field_versions,
)
from twinbridge.models.tracker import NativeText, TrackerItem
from twinbridge.models.twin import AttachmentLink, CommentLink, CreateClaim, Twin, TwinError
from twinbridge.observability import logger
from twinbridge.richtext import from_canonical
from twinbridge.richtext.model import Document, Paragraph, Text
from twinbridge.services import attachments, messaging
from twinbridge.sync import basic_rules
from twinbridge.trackers.base import TrackerClient
from twinbridge.wiring import Deps

APPLY_TYPE = "sync.apply"
UNLINK_TYPE = "sync.unlink"
TYPES_CACHE_SECONDS = 300
SAVE_ATTEMPTS = 5


# --------------------------------------------------------------------------------------------------- receiving


@messaging.handles(REPLICA_KIND)
def receive_replica(deps: Deps, conn: Connection, message: PeerMessage) -> None:
    incoming = ReplicaMessage.model_validate(message.payload)

    def take(twin: Twin) -> bool:
        if incoming.seq <= max(twin.in_seq, twin.pending.seq if twin.pending else 0):
            return False  # a duplicate, or older than what is already here
        twin.pending, twin.remote = incoming, incoming.replica.item
        return True

    def new() -> Twin:
        return Twin(connection_id=conn.id, twin_id=incoming.twin_id, origin="remote")

    if deps.twins.update(conn.id, incoming.twin_id, take, new=new) is None:
        logger.info("replica already received", extra={"twin": incoming.twin_id, "seq": incoming.seq})
        return
    queue_apply(deps, conn.id, incoming.twin_id, incoming.seq)


def queue_apply(deps: Deps, connection_id: str, twin_id: str, seq: int, attempt: str = "") -> None:
    """Queue the apply of ``seq`` (FIFO group per twin). ``attempt`` distinguishes a manual retry, which SQS
    would otherwise drop as a duplicate of the first send within its five-minute window."""
    body = {"type": APPLY_TYPE, "connection_id": connection_id, "twin_id": twin_id}
    if deps.queue is None:
        apply_pending(deps, connection_id, twin_id)
        return
    dedup = hashlib.sha256(f"apply:{connection_id}:{twin_id}:{seq}:{attempt}".encode()).hexdigest()
    deps.queue.send(body, group=_twin_group(connection_id, twin_id), dedup_id=dedup)


def _twin_group(connection_id: str, twin_id: str) -> str:
    """The FIFO group of a twin's jobs (applies, unlinks): one at a time, in order."""
    return hashlib.sha256(f"twin:{connection_id}:{twin_id}".encode()).hexdigest()


@messaging.handles(LINKED_KIND)
def receive_linked(deps: Deps, conn: Connection, message: PeerMessage) -> None:
    linked = LinkedMessage.model_validate(message.payload)

    def record(twin: Twin) -> bool:
        twin.remote = linked.item
        return True

    deps.twins.update(conn.id, linked.twin_id, record)  # a twin unlinked meanwhile stays gone


@messaging.handles(UNLINKED_KIND)
def receive_unlinked(deps: Deps, conn: Connection, message: PeerMessage) -> None:
    unlinked = UnlinkedMessage.model_validate(message.payload)
    body = {"type": UNLINK_TYPE, "connection_id": conn.id, "twin_id": unlinked.twin_id, "reason": unlinked.reason}
    if deps.queue is None:
        unlink(deps, conn.id, unlinked.twin_id, unlinked.reason)
    else:  # the tracker is written by the sync worker, after any apply queued before it for this twin
        deps.queue.send(body, group=_twin_group(conn.id, unlinked.twin_id), dedup_id=f"unlink:{message.message_id}")


@messaging.on_the_wire_for(REPLICA_KIND)
def _with_download_urls(deps: Deps, message: PeerMessage) -> PeerMessage:
    return message.model_copy(update={"payload": attachments.add_download_urls(deps, message.payload)})


def unlink(deps: Deps, connection_id: str, twin_id: str, reason: str) -> None:
    """The partner deleted its item: our copy stays, marked with a comment, and the link goes."""
    twin = deps.twins.get(connection_id, twin_id)
    if twin is None:
        return
    conn = deps.connections.get(connection_id)
    unlinked = UnlinkedMessage(twin_id=twin_id, reason=reason)
    client = deps.tracker
    if client is not None and twin.local is not None:
        note = Document(blocks=[Paragraph(children=[Text(
            f"twinbridge: the linked item on {conn.remote_short_name} was deleted ({unlinked.reason}); "
            "this copy is no longer synced.")])])
        try:
            text = NativeText(format=client.text_format, content=from_canonical(note, client.text_format).content)
            client.add_comment(twin.local.key, text)
        except TrackerNotFoundError:
            pass
    deps.twins.delete(twin)


# --------------------------------------------------------------------------------------------------- applying


def apply_pending(deps: Deps, connection_id: str, twin_id: str) -> bool:
    """Apply the twin's pending replica; True when something was applied. Raising makes the queue retry it."""
    try:
        conn = deps.connections.get(connection_id)
    except NotFoundError:
        logger.info("apply dropped: the connection was deleted", extra={"connection_id": connection_id})
        return False
    twin = deps.twins.get(connection_id, twin_id)
    if twin is None or twin.pending is None:
        return False
    client = deps.tracker
    if client is None:
        raise _record_error(deps, twin, "no tracker is configured on this node")
    pending = twin.pending
    try:
        _apply(deps, client, conn, twin, pending)
    except ConcurrentModificationError:
        raise
    except Exception as exc:
        reason = getattr(exc, "message", None) or f"{type(exc).__name__}"
        raise _record_error(deps, twin, reason) from exc
    return True


def _apply(deps: Deps, client: TrackerClient, conn: Connection, twin: Twin, pending: ReplicaMessage) -> None:
    target = _target(client, conn)
    local = _local_item(deps, client, conn, twin)
    # The conflict rule applies from the first replica on: the copy's first message back is an echo of ours,
    # and must not overwrite a newer edit made here meanwhile.
    plan = basic_rules.plan(pending.replica, twin, target, local, based_on=pending.based_on)
    for loss in plan.losses:
        logger.info("rich text degraded", extra={"twin": twin.twin_id, "loss": loss[:300]})
    if plan.create is not None:
        local = _create(deps, client, conn, twin, plan)
    assert local is not None and twin.local is not None
    if plan.update is not None:
        client.update_item(local.key, plan.update)
    for write in plan.comments_add:
        created = client.add_comment(local.key, write.body)
        link = CommentLink(local_id=created.id, digest=write.digest)
        _save(deps, twin, lambda t, r=write.remote_id, link=link: t.comment_map.__setitem__(r, link))  # a retry must not post it again
    for write in plan.comments_update:
        client.update_comment(local.key, write.local_id, write.body)
        twin.comment_map[write.remote_id] = CommentLink(local_id=write.local_id, digest=write.digest)
    for remote_id, local_id in plan.comments_delete:
        try:
            client.delete_comment(local.key, local_id)
        except TrackerNotFoundError:
            pass
        twin.comment_map.pop(remote_id, None)
    for attachment in plan.attachments_add:
        link = _copy_attachment(client, twin, local, attachment)
        _save(deps, twin, lambda t, r=attachment.id, link=link: t.attachment_map.__setitem__(r, link))
    for remote_id, local_id in plan.attachments_delete:
        client.delete_attachment(local.key, local_id)
        twin.attachment_map.pop(remote_id, None)
    _finish(deps, twin, pending)


def _finish(deps: Deps, twin: Twin, applied: ReplicaMessage) -> None:
    now = utcnow()

    versions = field_versions(applied.replica)

    def done(target: Twin) -> None:
        target.received_fields = versions
        target.in_seq = max(target.in_seq, applied.seq)
        target.last_received_at, target.last_error = now, None
        if target.pending is not None and target.pending.seq <= applied.seq:
            target.pending = None  # a newer one stays pending: its own apply job is queued

    _save(deps, twin, done)
    logger.info("replica applied", extra={"twin": twin.twin_id, "seq": applied.seq})


def _save(deps: Deps, twin: Twin, change, *, local_assigned: bool = False) -> Twin:
    """Apply ``change`` to the twin and save it. The apply path owns the local item and the id maps; a replica
    arriving meanwhile only touches ``pending``/``remote``. So on a conflict the same change is re-applied to
    the fresh record, keeping both."""
    change(twin)
    try:
        return deps.twins.save(twin, local_assigned=local_assigned)
    except ConcurrentModificationError:
        pass
    for _ in range(SAVE_ATTEMPTS):
        fresh = deps.twins.get(twin.connection_id, twin.twin_id)
        if fresh is None:
            return twin
        fresh.local, fresh.claim = twin.local, twin.claim
        fresh.comment_map, fresh.attachment_map = twin.comment_map, twin.attachment_map
        change(fresh)
        try:
            saved = deps.twins.save(fresh, local_assigned=local_assigned)
        except ConcurrentModificationError:
            continue
        twin.version, twin.pending, twin.remote = saved.version, saved.pending, saved.remote
        return saved
    raise ConcurrentModificationError(f"twin {twin.twin_id} kept changing; the apply is retried")


def _local_item(deps: Deps, client: TrackerClient, conn: Connection, twin: Twin) -> TrackerItem | None:
    if twin.local is not None:
        return client.get_item(twin.local.key)
    if twin.claim is not None:  # a create was attempted before: did it happen?
        found = find_by_marker(client, conn.project or "", twin.claim.marker, twin.claim.claimed_at - timedelta(minutes=5))
        if found is not None:
            _link(deps, conn, twin, found)
            logger.info("earlier create found by its marker; resumed", extra={"twin": twin.twin_id, "item": found.key})
            return found
    return None


def _create(deps: Deps, client: TrackerClient, conn: Connection, twin: Twin, plan: basic_rules.Plan) -> TrackerItem:
    # Fence: the claim is stored (conditionally) before the tracker create, so a concurrent or retried apply
    # either loses the save or finds the claim and looks for the item by its marker instead of creating again.
    # Applies of one twin run one at a time (one FIFO group per twin); only arriving replicas race with us.
    twin.claim = CreateClaim(marker=basic_rules.marker_for(twin.connection_id, twin.twin_id), claimed_at=utcnow())
    _save(deps, twin, lambda t: None)
    created = client.create_item(conn.project or "", plan.create)
    _link(deps, conn, twin, created)
    logger.info("copy created", extra={"twin": twin.twin_id, "item": created.key})
    return created


def _link(deps: Deps, conn: Connection, twin: Twin, item: TrackerItem) -> None:
    """Record the local copy on the twin (the claim is resolved) and tell the partner which item it is."""
    twin.local = ItemIdentity(id=item.id, key=item.key, url=item.url)
    twin.claim = None
    _save(deps, twin, lambda t: None, local_assigned=True)
    messaging.send(deps, conn, LINKED_KIND, LinkedMessage(twin_id=twin.twin_id, item=twin.local).model_dump())


def find_by_marker(client: TrackerClient, project: str, marker: str, since) -> TrackerItem | None:
    for ref in client.search_changed_since(project, since):
        item = client.get_item(ref.key)
        if marker in item.labels:
            return item
    return None


def _copy_attachment(client: TrackerClient, twin: Twin, local: TrackerItem, attachment) -> AttachmentLink:
    """De-duplicated by hash: a file this side already has (staged from here, or copied before) is linked, not uploaded."""
    present = {a.id for a in local.attachments}
    for link in twin.attachment_map.values():
        if link.sha256 == attachment.sha256 and link.local_id in present:
            return AttachmentLink(local_id=link.local_id, sha256=attachment.sha256)
    for local_id, staged in twin.staged.items():
        if staged.sha256 == attachment.sha256 and local_id in present:
            return AttachmentLink(local_id=local_id, sha256=attachment.sha256)
    if not attachment.url:
        raise AttachmentTransferError(f"attachment {attachment.filename!r} arrived without a download URL")
    with attachments.fetch_verified(attachment.url, attachment.sha256) as (stream, size):
        uploaded = client.upload_attachment(local.key, attachment.filename, stream, size)
    return AttachmentLink(local_id=uploaded.id, sha256=attachment.sha256)


def _record_error(deps: Deps, twin: Twin, reason: str) -> Exception:
    def record(fresh: Twin) -> bool:
        attempts = fresh.last_error.attempts + 1 if fresh.last_error else 1
        fresh.last_error = TwinError(direction="incoming", reason=reason[:500], at=utcnow(), attempts=attempts)
        return True

    deps.twins.update(twin.connection_id, twin.twin_id, record)
    logger.warning("twin apply failed; retried with backoff", extra={"twin": twin.twin_id, "reason": reason[:300]})
    return ApplyFailedError(f"twin {twin.twin_id}: {reason}")


def _target(client: TrackerClient, conn: Connection) -> basic_rules.Target:
    types, default = _project_types(client, conn.project or "", int(time.monotonic() // TYPES_CACHE_SECONDS))
    return basic_rules.Target(text_format=client.text_format, issue_types=types, default_type=default,
                              remote_short_name=conn.remote_short_name,
                              labels_allow_spaces=client.kind == "azure-devops")


@functools.lru_cache(maxsize=64)
def _project_types(client: TrackerClient, project: str, _epoch: int) -> tuple[list[str], str | None]:
    """Issue types and the default, cached per container for a few minutes (they rarely change)."""
    return client.issue_types(project), client.default_issue_type(project)
