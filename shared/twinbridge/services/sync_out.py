"""Outgoing sync: a tracker change -> the item's current state (webhooks arrive late and out of order, so
the tracker is re-read) -> for each connection whose project matches, a replica -> sent unless it equals the
last one sent for that twin. Deleting an item unlinks its twins (the partner's copy stays)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from twinbridge import crashpoints
from twinbridge.errors import ConcurrentModificationError, TrackerNotFoundError, TwinbridgeError
from twinbridge.models.change import ChangeEvent, ChangeKind
from twinbridge.models.connection import Connection, utcnow
from twinbridge.models.replica import (
    REPLICA_KIND,
    UNLINKED_KIND,
    ItemIdentity,
    ReplicaMessage,
    UnlinkedMessage,
    message_digest,
)
from twinbridge.models.tracker import TrackerItem
from twinbridge.models.twin import FieldState, ScriptFailure, StagedAttachment, Twin, TwinError
from twinbridge.observability import logger
from twinbridge.scripting.contract import ScriptError
from twinbridge.services import attachments, messaging, sync_scripts
from twinbridge.services.deps import Deps
from twinbridge.sync import basic_rules
from twinbridge.trackers.base import TrackerClient

SEND_ATTEMPTS = 3


def handle_change(deps: Deps, change: ChangeEvent) -> int:
    """Process one tracker change; returns how many replicas were sent."""
    client = deps.tracker
    if client is None:
        logger.warning("tracker change dropped: no tracker configured on this node")
        return 0
    if change.kind == ChangeKind.DELETED:
        unlink_everywhere(deps, change.item_id, "the item was deleted")
        return 0
    try:
        item = client.get_item(change.item_key or change.item_id)
    except TrackerNotFoundError:
        unlink_everywhere(deps, change.item_id, "the item no longer exists")
        return 0
    item = _without_technical_user_files(item, deps.settings.technical_user)
    connections = [conn for conn in deps.connections.list()
                   if conn.collects_changes and conn.project and conn.project.casefold() == item.project.casefold()]
    twins = {conn.id: deps.twins.find_by_local(conn.id, item.id) for conn in connections}
    if any(basic_rules.is_marker(label) for label in item.labels) and not any(twins.values()):
        logger.info("item created by twinbridge and not linked yet: its create is still being recorded",
                    extra={"item": item.key})
        return 0
    sent, failures = 0, []
    for conn in connections:
        share = _shareable(item, conn, twins)
        if share is None:
            logger.debug("a copy made for another connection: not relayed", extra={"connection_id": conn.id})
            continue
        shared_item, hidden_comments = share
        try:
            sent += _sync_to(deps, client, conn, shared_item, twins[conn.id], hidden_comments)
        except ScriptError as exc:  # the rules fail the same way on a retry: recorded, not retried (a fix re-queues)
            reason = sync_scripts.script_reason(exc)
            _record_outgoing_error(deps, conn, item, reason, script=sync_scripts.script_failure(exc))
            sync_scripts.count_failure()
            deps.events.record(conn.id, "script.error", f"outgoing rules on {item.key}: {reason}"[:500])
        except TwinbridgeError as exc:
            _record_outgoing_error(deps, conn, item, exc.message)
            failures.append(exc)
    if failures:  # the other connections got theirs; the queue retries this change (sends are idempotent)
        raise failures[0]
    return sent


def _without_technical_user_files(item: TrackerItem, technical_user: str) -> TrackerItem:
    """``item`` without the files the technical user attached: copies of the partner's (linked once recorded; one
    in flight, or crashed before its link was recorded, must not travel back as ours). Its comments are left out
    the same way when the replica is built. What the technical user writes is never shared (README, "Loops")."""
    if not technical_user:
        return item
    kept = [a for a in item.attachments if a.author is None or not a.author.is_account(technical_user)]
    return item if len(kept) == len(item.attachments) else item.model_copy(update={"attachments": kept})


def _record_outgoing_error(deps: Deps, conn: Connection, item: TrackerItem, reason: str,
                           script: ScriptFailure | None = None) -> None:
    twin = deps.twins.find_by_local(conn.id, item.id)
    if twin is None:
        return

    def record(fresh: Twin) -> bool:
        previous = fresh.last_error
        attempts = previous.attempts + 1 if previous and previous.direction == "outgoing" else 1
        fresh.last_error = TwinError(direction="outgoing", reason=reason[:500], at=utcnow(), attempts=attempts,
                                     script=script)
        return True

    deps.twins.update(conn.id, twin.twin_id, record)
    logger.warning("replica not sent; retried with backoff", extra={"twin": twin.twin_id, "reason": reason[:300]})


def _shareable(item: TrackerItem, conn: Connection,
               twins: dict[str, Twin | None]) -> tuple[TrackerItem, frozenset[str]] | None:
    """What of ``item`` this connection's partner may get: nothing when the item is a copy made for another
    connection, and never the comments and attachments other partners sent, unless the admin opted this connection
    into relaying. Without relays no item travels A -> us -> B, and a cycle of nodes makes no copies of copies."""
    others = [twin for conn_id, twin in twins.items() if conn_id != conn.id and twin is not None]
    if conn.relay_other_partners or not others:
        return item, frozenset()
    if any(twin.origin == "remote" for twin in others):
        return None
    comments = frozenset().union(*(twin.local_comment_ids_from_partner for twin in others))
    attachments = frozenset().union(*(twin.local_attachment_ids_from_partner for twin in others))
    if attachments:
        item = item.model_copy(update={"attachments": [a for a in item.attachments if a.id not in attachments]})
    return item, comments


def _sync_to(deps: Deps, client: TrackerClient, conn: Connection, item: TrackerItem, known: Twin | None,
             hidden_comments: frozenset[str]) -> int:
    for attempt in range(SEND_ATTEMPTS):
        found = known if attempt == 0 else deps.twins.find_by_local(conn.id, item.id)
        twin = found or Twin(
            connection_id=conn.id, twin_id=f"{conn.local_short_name}:{item.id}", origin="local",
            local=ItemIdentity(id=item.id, key=item.key, url=item.url))
        _stage_new_attachments(deps, client, conn, item, twin)
        comments = item.comments if item.comments is not None else client.list_comments(item.key)
        technical_user = deps.settings.technical_user
        comments = [c for c in comments if c.id not in hidden_comments
                    and not (technical_user and c.author is not None and c.author.is_account(technical_user))]
        staged = {local_id: (s.object_key, s.sha256) for local_id, s in twin.staged.items()}
        replica = basic_rules.outgoing(item, comments, twin, staged)
        # The field clocks follow the local item's own values (what basic mode shares), whatever the rules send.
        fields = basic_rules.outgoing_clocks(replica, twin)
        rules_version = None
        if conn.mode == "script":
            rules_version, scripted = sync_scripts.outgoing(deps, client, conn, item, comments, twin, replica)
            if scripted is None:
                logger.info("not shared: the outgoing rules returned None", extra={"twin": twin.twin_id})
                return 0
            replica = scripted
        clocks = {name: state.clock for name, state in fields.items()}
        digest = message_digest(replica, clocks)
        if digest == twin.last_sent_digest:
            logger.debug("replica unchanged: nothing to send", extra={"twin": twin.twin_id})
            return 0
        message = ReplicaMessage(twin_id=twin.twin_id, seq=twin.out_seq + 1, based_on=twin.in_seq,
                                 origin=_origin_short_name(conn, twin), replica=replica, clocks=clocks)
        recorded = twin.model_copy(deep=True)
        recorded.indexed_local_id = twin.indexed_local_id
        SentReplica(message, digest, fields, item, dict(twin.staged), utcnow(), rules_version).record_on(recorded)
        crashpoints.reached("sync_out.before_send")
        try:
            # The replica and the twin's record of it are saved in one transaction: a seq is never sent without
            # being taken on the twin, so a retry after a crash never re-uses it for different content.
            messaging.send(deps, conn, REPLICA_KIND, message.model_dump(mode="json"),
                           alongside=deps.twins.save_alongside(recorded))
        except ConcurrentModificationError:
            continue  # an apply saved the twin meanwhile: build the replica again from the fresh twin
        crashpoints.reached("sync_out.after_send")
        logger.info("replica sent", extra={"twin": twin.twin_id, "seq": message.seq, "connection_id": conn.id})
        return 1
    raise ConcurrentModificationError(f"twin of {item.key} kept changing; the change is retried")


@dataclass(frozen=True)
class SentReplica:
    """A replica going out, as its twin records it."""

    message: ReplicaMessage
    digest: str
    fields: dict[str, FieldState]
    item: TrackerItem
    staged: dict[str, StagedAttachment]
    at: datetime
    rules_version: int | None = None  # script mode: the outgoing rules' version that made it

    def record_on(self, twin: Twin) -> None:
        if self.rules_version is not None:
            twin.rules_versions["outgoing"] = self.rules_version
        for name, sent in self.fields.items():
            twin.absorb(name, sent)
        twin.out_seq = max(twin.out_seq, self.message.seq)
        twin.last_sent_digest, twin.last_sent_at = self.digest, self.at
        if twin.last_error is not None and twin.last_error.direction == "outgoing":
            twin.last_error = None
        twin.local = ItemIdentity(id=self.item.id, key=self.item.key, url=self.item.url)
        twin.staged.update(self.staged)


def _origin_short_name(conn: Connection, twin: Twin) -> str:
    return conn.local_short_name if twin.origin == "local" else conn.remote_short_name


def _stage_new_attachments(deps: Deps, client: TrackerClient, conn: Connection, item: TrackerItem, twin: Twin) -> None:
    from_partner = twin.local_attachment_ids_from_partner
    for attachment in item.attachments:
        if attachment.id in from_partner or attachment.id in twin.staged:
            continue
        key, sha256, size = attachments.stage(deps, client, conn.id, item.id, attachment)
        twin.staged[attachment.id] = StagedAttachment(object_key=key, sha256=sha256, size=size)


def unlink_everywhere(deps: Deps, local_item_id: str, reason: str) -> None:
    for conn in deps.connections.list():
        twin = deps.twins.find_by_local(conn.id, local_item_id)
        if twin is None:
            continue
        messaging.send(deps, conn, UNLINKED_KIND, UnlinkedMessage(twin_id=twin.twin_id, reason=reason).model_dump())
        deps.twins.delete(twin)
        logger.info("twin unlinked", extra={"twin": twin.twin_id, "connection_id": conn.id})
