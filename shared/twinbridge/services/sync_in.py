"""Incoming sync. Receiving a replica only keeps it in its twin's inbox and queues an apply job (one FIFO group per
twin), so the connection's message channel never waits on a tracker: a failing twin is retried on its own
while the others keep flowing. Applying runs the basic rules' plan against the local tracker as the
technical user; creates are fenced so a retry never makes a second copy."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from twinbridge import crashpoints
from twinbridge.errors import (
    ApplyFailedError,
    AttachmentTransferError,
    ConcurrentModificationError,
    RefusedMessageError,
    TrackerNotFoundError,
    TrackerRejectedError,
)
from twinbridge.models.connection import Connection, utcnow
from twinbridge.models.jobs import ApplyJob, UnlinkJob
from twinbridge.models.messages import PeerMessage
from twinbridge.models.replica import (
    LINKED_KIND,
    FieldClock,
    ItemIdentity,
    LinkedMessage,
    ReplicaAttachment,
    ReplicaMessage,
    UnlinkedMessage,
)
from twinbridge.models.tracker import ItemFields, TrackerAttachment, TrackerComment, TrackerItem
from twinbridge.models.twin import AttachmentLink, CommentLink, CreateClaim, FieldState, Twin, TwinError
from twinbridge.observability import logger
from twinbridge.peers.transfer import TransferPolicy, fetch_verified
from twinbridge.richtext.policy import safe_filename
from twinbridge.scripting.contract import Deferred, ScriptError
from twinbridge.services import messaging, sync_scripts
from twinbridge.services.deps import Deps
from twinbridge.sync import basic_rules, script_rules
from twinbridge.trackers.base import TrackerClient

TYPES_CACHE_SECONDS = 300
DEFER_ATTEMPTS = 5  # a deferred twin is tried again with the queue's backoff this often, then it is a script error


# --------------------------------------------------------------------------------------------------- receiving


def receive_replica(deps: Deps, conn: Connection, message: PeerMessage) -> None:
    """Keep the replica in the twin's inbox and queue its apply; the channel never waits on the tracker.

    Raises:
        RefusedMessageError: the replica claims a twin the partner may not write (see ``_check_claim``).
    """
    incoming = ReplicaMessage.model_validate(message.payload)
    twin = deps.twins.get(conn.id, incoming.twin_id)
    _check_claim(conn, incoming, twin)
    if twin is not None and incoming.seq <= twin.in_seq:
        logger.info("replica already applied", extra={"twin": incoming.twin_id, "seq": incoming.seq})
        return
    if twin is None:
        deps.twins.update(conn.id, incoming.twin_id, _only_if_new, new=lambda: Twin(
            connection_id=conn.id, twin_id=incoming.twin_id, origin="remote", remote=incoming.replica.item))
    if not deps.twins.hold(conn.id, incoming):
        logger.info("a newer replica is already waiting", extra={"twin": incoming.twin_id, "seq": incoming.seq})
        return
    crashpoints.reached("sync_in.after_hold")
    # Queued even when this replica was already held (a redelivery after a crash before this line): the job's
    # de-duplication id is the seq, and an apply finding nothing to do is harmless.
    deps.queue.send(ApplyJob(connection_id=conn.id, twin_id=incoming.twin_id, seq=incoming.seq))


def _check_claim(conn: Connection, incoming: ReplicaMessage, twin: Twin | None) -> None:
    """Who originated a twin decides who may write it. A twin id names its origin side: the partner may start
    twins in its own namespace only, and may send replicas of its copies of our items only for twins we started
    (a twin id in our namespace that we never shared would take over the item we create next under that id)."""
    side = incoming.origin_side
    if incoming.origin != side:
        raise RefusedMessageError(f"replica for {incoming.twin_id} names {incoming.origin!r} as its origin")
    if side == conn.remote_short_name:
        if twin is not None and twin.origin != "remote":
            raise RefusedMessageError(f"twin {incoming.twin_id} was started on this side, not by the partner")
    elif side == conn.local_short_name:
        if twin is None or twin.origin != "local":
            raise RefusedMessageError(f"twin {incoming.twin_id} is in this side's namespace but was never shared")
    else:
        raise RefusedMessageError(f"twin {incoming.twin_id} names neither side of the connection as its origin")


def _only_if_new(twin: Twin) -> bool:
    return twin.version == 0


def receive_linked(deps: Deps, conn: Connection, message: PeerMessage) -> None:
    """The partner created its copy of one of our items: remember which it is (for status and links)."""
    linked = LinkedMessage.model_validate(message.payload)
    twin = deps.twins.get(conn.id, linked.twin_id)
    if twin is None:
        return  # unlinked meanwhile: it stays gone
    if twin.origin != "local":
        raise RefusedMessageError(f"twin {linked.twin_id} was started by the partner: it has no copy to announce")
    deps.twins.update(conn.id, linked.twin_id, functools.partial(_record_remote, linked.item), current=twin)


def _record_remote(item: ItemIdentity, twin: Twin) -> None:
    twin.remote = item


def receive_unlinked(deps: Deps, conn: Connection, message: PeerMessage) -> None:
    """The partner deleted an item it started: the tracker is written by the sync worker, after any apply queued
    before it for this twin. The partner may end only twins it started: a partner's copy of one of our items being
    deleted does not unlink our item (its next change shares it again)."""
    unlinked = UnlinkedMessage.model_validate(message.payload)
    twin = deps.twins.get(conn.id, unlinked.twin_id)
    if twin is None:
        return
    if twin.origin != "remote":
        raise RefusedMessageError(f"twin {unlinked.twin_id} was started on this side: the partner may not unlink it")
    deps.queue.send(UnlinkJob(connection_id=conn.id, twin_id=unlinked.twin_id, message_id=message.message_id))


def unlink(deps: Deps, connection_id: str, twin_id: str) -> None:
    """The partner deleted the item it started: our copy stays, marked with our own fixed note, and the link goes.
    Nothing the partner wrote goes into the note (its reason is not shown)."""
    twin = deps.twins.get(connection_id, twin_id)
    if twin is None or twin.origin != "remote":
        return
    conn = deps.connections.get(connection_id)
    client = deps.tracker
    if client is not None and twin.local is not None:
        try:
            client.add_comment(twin.local.key, basic_rules.unlink_notice(conn.remote_short_name, "deleted there",
                                                                         client.text_format))
        except TrackerNotFoundError:
            pass
    deps.twins.delete(twin)


# --------------------------------------------------------------------------------------------------- applying


def apply_pending(deps: Deps, connection_id: str, twin_id: str) -> bool:
    """Apply the replica waiting in the twin's inbox; True when something was applied. Raising makes the queue retry."""
    state = deps.twins.get_for_apply(connection_id, twin_id)
    conn, twin, pending = state.connection, state.twin, state.pending
    if conn is None:
        logger.info("apply dropped: the connection was deleted", extra={"connection_id": connection_id})
        return False
    if twin is None or pending is None:  # unlinked meanwhile, or applied already (a redelivered job)
        return False
    client = deps.tracker
    if client is None:
        raise _record_error(deps, twin, "no tracker is configured on this node")
    try:
        _Apply(deps, client, conn, twin, pending).run()
    except ConcurrentModificationError:
        raise
    except ScriptError as exc:
        return _script_failed(deps, twin, exc)
    except Exception as exc:
        reason = getattr(exc, "message", None) or f"{type(exc).__name__}"
        raise _record_error(deps, twin, reason) from exc
    return True


@dataclass
class AppliedWrites:
    """What an apply has written to the local tracker so far, as the twin must record it. Recorded after each write
    a retry must not repeat; re-applied as a whole to a fresher twin when a save conflicts (sync_out saves too)."""

    claim: CreateClaim | None = None
    local: ItemIdentity | None = None
    comments: dict[str, CommentLink | None] = field(default_factory=dict)  # remote id -> link; None: dropped
    attachments: dict[str, AttachmentLink | None] = field(default_factory=dict)
    comment_claims: dict[str, datetime] = field(default_factory=dict)  # posts about to be made
    attachment_claims: dict[str, datetime] = field(default_factory=dict)  # uploads about to be made
    applied: ReplicaMessage | None = None
    applied_fields: dict[str, FieldState] = field(default_factory=dict)
    applied_at: datetime | None = None
    rules_version: int | None = None  # script mode: the incoming rules' version that chose the writes

    def record_on(self, twin: Twin) -> None:
        if self.claim is not None and twin.local is None:
            twin.claim = self.claim
        if self.local is not None:
            twin.local, twin.claim = self.local, None
        for claims, made, links in ((twin.comment_claims, self.comment_claims, self.comments),
                                    (twin.attachment_claims, self.attachment_claims, self.attachments)):
            for remote_id, at in made.items():
                claims.setdefault(remote_id, at)  # the earliest claim stands: a retry looks back to it
            for remote_id in links:
                claims.pop(remote_id, None)  # linked (or dropped): the claim is resolved
        _merge(twin.comment_map, self.comments)
        _merge(twin.attachment_map, self.attachments)
        if self.applied is not None:
            for name, state in self.applied_fields.items():
                twin.absorb(name, state)  # a send saved meanwhile may have counted a newer local edit
            replica = self.applied.replica
            for claims, still in ((twin.comment_claims, {c.id for c in replica.comments}),
                                  (twin.attachment_claims, {a.id for a in replica.attachments})):
                for remote_id in [r for r in claims if r not in still]:  # gone from the partner before a retry
                    del claims[remote_id]
            twin.in_seq = max(twin.in_seq, self.applied.seq)
            if self.rules_version is not None:
                twin.rules_versions["incoming"] = self.rules_version
            twin.remote = self.applied.replica.item
            twin.last_received_at, twin.last_error = self.applied_at, None


def _merge(links: dict[str, Any], changes: dict[str, Any]) -> None:
    for remote_id, link in changes.items():
        if link is None:
            links.pop(remote_id, None)
        else:
            links[remote_id] = link


class _Apply:
    """One apply of one replica: plan, write to the tracker, record each write on the twin as it is made."""

    def __init__(self, deps: Deps, client: TrackerClient, conn: Connection, twin: Twin,
                 pending: ReplicaMessage) -> None:
        self.deps, self.client, self.conn, self.twin, self.pending = deps, client, conn, twin, pending
        self.writes = AppliedWrites()

    def record(self) -> None:
        """Save what was written so far (``twin`` becomes the saved record; a twin unlinked meanwhile stays gone)."""
        saved = self.deps.twins.update(self.conn.id, self.twin.twin_id, self.writes.record_on, current=self.twin)
        if saved is not None:
            self.twin = saved

    def run(self) -> None:
        twin, client, pending = self.twin, self.client, self.pending
        target = target_for(client, self.conn)
        local = self._local_item()
        # The conflict rule applies from the first replica on: the copy's first message back is an echo of ours,
        # and must not overwrite a newer edit made here meanwhile.
        scripted: script_rules.IncomingWrites | None = None
        if self.conn.mode == "script":
            plan, scripted = sync_scripts.incoming_plan(self.deps, client, self.conn, twin, pending.replica, local,
                                                        target, self._clocks())
            self.writes.rules_version = scripted.rules_version
            if scripted.ignored:
                logger.info("replica ignored by the incoming rules", extra={"twin": twin.twin_id})
                return self._finish({})
        else:
            plan = basic_rules.plan(pending.replica, twin, target, local, clocks=self._clocks())
        for loss in plan.losses:
            logger.info("rich text degraded", extra={"twin": twin.twin_id, "loss": loss[:300]})
        if plan.create is not None:
            local = self._create(plan.create)
        if local is None:
            raise ApplyFailedError(f"twin {twin.twin_id}: the local copy is unknown and the plan creates none")
        if plan.update is not None:
            client.update_item(local.key, plan.update)
            crashpoints.reached("sync_in.after_update")
        status = script_rules.status_to_set(scripted, local) if scripted is not None else None
        if scripted is not None and status is not None:
            self._change_status(local, status, scripted.rules_version)  # after the fields: validators see them
        self._add_comments(local, plan.comments_add)
        for write in plan.comments_update:
            client.update_comment(local.key, write.local_id, write.body)
            crashpoints.reached("sync_in.after_comment_update")
            self.writes.comments[write.remote_id] = CommentLink(local_id=write.local_id, digest=write.digest)
        for remote_id, local_id in plan.comments_delete:
            try:
                client.delete_comment(local.key, local_id)
            except TrackerNotFoundError:
                pass
            crashpoints.reached("sync_in.after_comment_delete")
            self.writes.comments[remote_id] = None
        self._add_attachments(local, plan.attachments_add)
        for remote_id, local_id in plan.attachments_delete:
            link = twin.attachment_map.get(remote_id)
            if link is not None and link.owned:  # never one this side had before the partner named its hash
                try:
                    client.delete_attachment(local.key, local_id)
                except TrackerNotFoundError:
                    pass  # deleted by the attempt before a crash, or by a person
                crashpoints.reached("sync_in.after_attachment_delete")
            self.writes.attachments[remote_id] = None
        crashpoints.reached("sync_in.before_record")
        self._finish(plan.fields)

    def _finish(self, fields: dict[str, FieldState]) -> None:
        self.writes.applied, self.writes.applied_fields, self.writes.applied_at = self.pending, fields, utcnow()
        self.record()  # in_seq moves to the applied seq: the inbox item is no longer pending
        logger.info("replica applied", extra={"twin": self.twin.twin_id, "seq": self.pending.seq})

    def _change_status(self, local: TrackerItem, status: str, rules_version: int) -> None:
        try:
            self.client.change_status(local.key, status)
        except TrackerRejectedError as refused:  # no transition path, or a state the type does not have
            failed = ScriptError(f"status {status!r} cannot be set on {local.key}: {refused.detail}"[:500])
            failed.rules_version = rules_version  # the rules that asked for it
            raise failed from None
        crashpoints.reached("sync_in.after_update")

    def _add_comments(self, local: TrackerItem, writes: list[basic_rules.CommentWrite]) -> None:
        """Post the partner's new comments. Fenced like creates: the posts are claimed on the twin first, so a retry
        after a crash between a post and its record finds the comment it posted (same text, posted since the claim,
        linked to nothing) instead of posting it twice."""
        if not writes:
            return
        earlier = {w.remote_id: self.twin.comment_claims[w.remote_id] for w in writes
                   if w.remote_id in self.twin.comment_claims}
        self.writes.comment_claims = {w.remote_id: utcnow() for w in writes if w.remote_id not in earlier}
        self.record()
        crashpoints.reached("sync_in.after_comment_claim")
        posted = (local.comments if local.comments is not None else self.client.list_comments(local.key)) \
            if earlier else []  # the item read at the start of this apply already shows what a crashed one wrote
        for write in writes:
            found = _posted_before(posted, self.twin, write, earlier.get(write.remote_id))
            local_id = found.id if found is not None else self.client.add_comment(local.key, write.body).id
            if found is not None:
                logger.info("comment posted before a crash found; linked", extra={"twin": self.twin.twin_id})
            crashpoints.reached("sync_in.after_comment_post")
            self.writes.comments[write.remote_id] = CommentLink(local_id=local_id, digest=write.digest)
            self.record()  # a retry must not post it again

    def _add_attachments(self, local: TrackerItem, attachments: list[ReplicaAttachment]) -> None:
        """Copy the partner's new attachments, fenced like comments (an upload found after a crash is linked)."""
        if not attachments:
            return
        earlier = {a.id: self.twin.attachment_claims[a.id] for a in attachments if a.id in self.twin.attachment_claims}
        self.writes.attachment_claims = {a.id: utcnow() for a in attachments if a.id not in earlier}
        self.record()
        crashpoints.reached("sync_in.after_attachment_claim")
        present = local.attachments if earlier else []  # read at the start of this apply, after the crashed one
        for attachment in attachments:
            found = _uploaded_before(present, self.twin, attachment, earlier.get(attachment.id))
            if found is not None:
                logger.info("attachment uploaded before a crash found; linked", extra={"twin": self.twin.twin_id})
                link = AttachmentLink(local_id=found.id, sha256=attachment.sha256)
            else:
                link = _copy_attachment(self.client, self.twin, local, attachment, self._transfer_policy())
            crashpoints.reached("sync_in.after_attachment_upload")
            self.writes.attachments[attachment.id] = link
            self.record()

    def _transfer_policy(self) -> TransferPolicy:
        settings = self.deps.settings
        return TransferPolicy(max_bytes=settings.attachment_max_bytes, local=settings.local_runtime)

    def _clocks(self) -> dict[str, FieldClock]:
        """The partner's field clocks, with our own side's entry bounded by the edits we ever made (a partner cannot
        have seen more of them; a larger claim would make its value beat every later edit here, so it is capped and
        recorded, as a partner that lies about it)."""
        role, bounded = self.twin.role, dict[str, FieldClock]()
        for name, clock in self.pending.clocks.items():
            ours = self.twin.field(name).clock.count(role)
            if clock.count(role) > ours:
                self.deps.events.record(self.conn.id, "replica.claim_bounded",
                                        f"twin {self.twin.twin_id}: {name} claims {clock.count(role)} edits by "
                                        f"this side, {ours} made; {ours} used")
                clock = clock.capped(role, ours)
            bounded[name] = clock
        return bounded

    def _local_item(self) -> TrackerItem | None:
        twin = self.twin
        if twin.local is not None:
            return self.client.get_item(twin.local.key)
        if twin.claim is not None:  # a create was attempted before: did it happen?
            since = twin.claim.claimed_at - timedelta(minutes=5)
            found = find_by_marker(self.client, self.conn.project or "", twin.claim.marker, since)
            if found is not None:
                self._link(found)
                logger.info(
                    "earlier create found by its marker; resumed", extra={"twin": twin.twin_id, "item": found.key}
                )
                return found
        return None

    def _create(self, fields: ItemFields) -> TrackerItem:
        # Fence: the claim is stored (conditionally) before the tracker create, so a concurrent or retried apply
        # either loses the save or finds the claim and looks for the item by its marker instead of creating again.
        # Applies of one twin run one at a time (one FIFO group per twin).
        self.writes.claim = CreateClaim(
            marker=basic_rules.marker_for(self.conn.id, self.twin.twin_id), claimed_at=utcnow()
        )
        self.record()
        crashpoints.reached("sync_in.after_create_claim")
        created = self.client.create_item(self.conn.project or "", fields)
        crashpoints.reached("sync_in.after_create")
        self._link(created)
        logger.info("copy created", extra={"twin": self.twin.twin_id, "item": created.key})
        return created

    def _link(self, item: TrackerItem) -> None:
        """Record the local copy on the twin (the claim is resolved) and tell the partner which item it is."""
        self.writes.local = ItemIdentity(id=item.id, key=item.key, url=item.url)
        self.record()
        messaging.send(
            self.deps,
            self.conn,
            LINKED_KIND,
            LinkedMessage(twin_id=self.twin.twin_id, item=self.writes.local).model_dump(),
        )


CLAIM_SKEW = timedelta(minutes=10)  # the tracker's clock may differ from ours: look back this much before a claim


def _posted_before(posted: list[TrackerComment], twin: Twin, write: basic_rules.CommentWrite,
                   claimed: datetime | None) -> TrackerComment | None:
    """The comment an earlier attempt posted for ``write`` before it crashed: same text, posted since the claim, and
    not the copy of another partner comment already. None when there was no claim (nothing was attempted)."""
    if claimed is None:
        return None
    linked = twin.local_comment_ids_from_partner
    for comment in posted:
        recent = comment.created is None or comment.created >= claimed - CLAIM_SKEW
        if comment.id not in linked and recent and basic_rules.same_text(comment.body, write.body):
            return comment
    return None


def _uploaded_before(present: list[TrackerAttachment], twin: Twin, attachment: ReplicaAttachment,
                     claimed: datetime | None) -> TrackerAttachment | None:
    """The attachment an earlier attempt uploaded before it crashed: same file name and size, uploaded since the
    claim, neither linked to another partner file nor one of this side's own files it shares."""
    if claimed is None:
        return None
    taken = twin.local_attachment_ids_from_partner | set(twin.staged)
    name = safe_filename(attachment.filename)
    for candidate in present:
        recent = candidate.created is None or candidate.created >= claimed - CLAIM_SKEW
        same = candidate.filename == name and (attachment.size is None or candidate.size == attachment.size)
        if candidate.id not in taken and recent and same:
            return candidate
    return None


def find_by_marker(client: TrackerClient, project: str, marker: str, since: datetime) -> TrackerItem | None:
    for ref in client.search_changed_since(project, since):
        item = client.get_item(ref.key)
        if marker in item.labels:
            return item
    return None


def _copy_attachment(
    client: TrackerClient, twin: Twin, local: TrackerItem, attachment: ReplicaAttachment, policy: TransferPolicy
) -> AttachmentLink:
    """De-duplicated by hash: a file this side already has (staged here, or copied before) is linked, not uploaded."""
    present = {a.id for a in local.attachments}
    for link in twin.attachment_map.values():
        if link.sha256 == attachment.sha256 and link.local_id in present:
            return AttachmentLink(local_id=link.local_id, sha256=attachment.sha256, owned=False)
    for local_id, staged in twin.staged.items():
        if staged.sha256 == attachment.sha256 and local_id in present:  # our own file, shared from here
            return AttachmentLink(local_id=local_id, sha256=attachment.sha256, owned=False)
    if not attachment.url:
        raise AttachmentTransferError(f"attachment {attachment.filename!r} arrived without a download URL")
    with fetch_verified(attachment.url, attachment.sha256, attachment.size, policy) as (stream, size):
        uploaded = client.upload_attachment(local.key, attachment.filename, stream, size)
    return AttachmentLink(local_id=uploaded.id, sha256=attachment.sha256)


def _script_failed(deps: Deps, twin: Twin, error: ScriptError) -> bool:
    """The rules failed on this twin: recorded with where and why, and acknowledged (the same rules fail the same
    way on a retry; the replica stays pending for a retry after a fix). ``defer()`` is retried with the queue's
    backoff ``DEFER_ATTEMPTS`` times first. Other twins keep flowing: the connection is never paused."""
    reason = sync_scripts.script_reason(error)
    failure = sync_scripts.script_failure(error)
    recorded: list[TwinError] = []

    def record(fresh: Twin) -> bool:
        attempts = fresh.last_error.attempts + 1 if fresh.last_error else 1
        fresh.last_error = TwinError(direction="incoming", reason=reason[:500], at=utcnow(), attempts=attempts,
                                     script=failure)
        recorded.append(fresh.last_error)
        return True

    deps.twins.update(twin.connection_id, twin.twin_id, record)
    if isinstance(error, Deferred) and recorded and recorded[-1].attempts < DEFER_ATTEMPTS:
        logger.info("apply deferred by the rules; retried", extra={"twin": twin.twin_id, "reason": reason[:300]})
        raise ApplyFailedError(f"twin {twin.twin_id}: deferred: {error.message}")
    sync_scripts.count_failure()
    deps.events.record(twin.connection_id, "script.error", f"incoming rules on {twin.twin_id}: {reason}"[:500])
    logger.warning("the incoming rules failed on this twin", extra={"twin": twin.twin_id, "reason": reason[:300]})
    return False


def _record_error(deps: Deps, twin: Twin, reason: str) -> Exception:
    def record(fresh: Twin) -> bool:
        attempts = fresh.last_error.attempts + 1 if fresh.last_error else 1
        fresh.last_error = TwinError(direction="incoming", reason=reason[:500], at=utcnow(), attempts=attempts)
        return True

    deps.twins.update(twin.connection_id, twin.twin_id, record)
    logger.warning("twin apply failed; retried with backoff", extra={"twin": twin.twin_id, "reason": reason[:300]})
    return ApplyFailedError(f"twin {twin.twin_id}: {reason}")


def target_for(client: TrackerClient, conn: Connection) -> basic_rules.Target:
    """What the local tracker is, for the plan: its text format, the project's issue types, the byline's names."""
    types, default = _project_types(client, conn.project or "", int(time.monotonic() // TYPES_CACHE_SECONDS))
    return basic_rules.Target(
        text_format=client.text_format,
        issue_types=types,
        default_type=default,
        remote_short_name=conn.remote_short_name,
        labels_allow_spaces=client.kind == "azure-devops",
    )


@functools.lru_cache(maxsize=64)
def _project_types(client: TrackerClient, project: str, _epoch: int) -> tuple[list[str], str | None]:
    """Issue types and the default, cached per container for a few minutes (they rarely change)."""
    return client.issue_types(project), client.default_issue_type(project)
