"""Dry runs of script-mode rules on a real item, for any version (a draft too): what the rules would send or write,
down to the exact tracker requests, with nothing sent to the tracker or the partner.

Outgoing: the local item is read and the rules run on the replica basic mode would send; the answer is the replica
and whether it differs from the last one sent. Incoming: the rules run on the twin's pending replica (or one pasted
by the admin) against the local item, the plan is built as an apply builds it, and each write is handed to the
node's tracker client on a session that captures writes unsent (``trackers.dry_run``): the requests shown are the
ones the client builds, not a rendering of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from twinbridge.errors import ConflictError, InvalidRequestError, NotFoundError, TwinbridgeError
from twinbridge.models.connection import Connection
from twinbridge.models.replica import FieldClock, ItemIdentity, Replica, message_digest
from twinbridge.models.rules import DryRunRequest, DryRunRequestView, DryRunResponse, RuleDirection
from twinbridge.models.tracker import TrackerItem
from twinbridge.models.twin import Twin
from twinbridge.scripting.contract import ScriptError
from twinbridge.services import rules, sync_scripts
from twinbridge.services.deps import Deps
from twinbridge.services.sync_in import target_for
from twinbridge.sync import basic_rules, script_rules
from twinbridge.trackers.base import TrackerClient
from twinbridge.trackers.captured import WriteCaptured

NEW_ITEM = "NEW"  # the key the requests after a create name: the tracker gives the real one when it creates it


def dry_run(deps: Deps, connection_id: str, direction: RuleDirection, request: DryRunRequest) -> DryRunResponse:
    """Raises:
        NotFoundError: no such connection, version, twin or item.
        ConflictError: the node has no tracker, or (incoming) nothing is pending and no replica was given.
        InvalidRequestError: the pasted replica is not one.
    """
    conn = deps.connections.get(connection_id)
    chosen = rules.show(deps, connection_id, direction, request.version)
    client, dry = deps.tracker, deps.dry_run_tracker
    if client is None or dry is None:
        raise ConflictError("this node has no tracker configured: a dry run reads the real item")
    response = DryRunResponse(connection_id=connection_id, direction=direction, version=chosen.version)
    if conn.mode != "script":
        response.warnings.append("the connection is in basic mode: these rules run once it is switched to script mode")
    run = _Outgoing if direction == "outgoing" else _Incoming
    run(deps, conn, client, dry, (chosen.version, chosen.source), response).run(request)
    return response


class _Run:
    def __init__(self, deps: Deps, conn: Connection, client: TrackerClient, dry: TrackerClient,
                 chosen: tuple[int, str], response: DryRunResponse) -> None:
        self.deps, self.conn, self.client, self.dry, self.chosen, self.response = \
            deps, conn, client, dry, chosen, response

    def scripted(self, call: Callable[[], Any]) -> Any:
        """Run the rules; a script error is the answer (with line and frame), not a failure of the dry run."""
        try:
            return call()
        except ScriptError as error:
            self.response.error = {**error.to_json(), "rules_version": error.rules_version}
            return _FAILED


_FAILED = object()


class _Outgoing(_Run):
    def run(self, request: DryRunRequest) -> None:
        item = self.client.get_item(request.item or "")
        twin = self.deps.twins.find_by_local(self.conn.id, item.id) or Twin(
            connection_id=self.conn.id, twin_id=f"{self.conn.local_short_name}:{item.id}", origin="local",
            local=ItemIdentity(id=item.id, key=item.key, url=item.url))
        self.response.item = {"id": item.id, "key": item.key, "url": item.url}
        comments = item.comments if item.comments is not None else self.client.list_comments(item.key)
        staged = {local_id: (s.object_key, s.sha256) for local_id, s in twin.staged.items()}
        unstaged = [a.filename for a in item.attachments if a.id not in staged
                    and a.id not in twin.local_attachment_ids_from_partner]
        if unstaged:
            self.response.warnings.append(f"attachments not staged yet are left out here (a sync stages them first): "
                                          f"{', '.join(unstaged[:10])}")
        default = basic_rules.outgoing(item, comments, twin, staged)
        made = self.scripted(lambda: sync_scripts.outgoing(self.deps, self.client, self.conn, item, comments,
                                                           twin, default, self.chosen, self.response.logs))
        if made is _FAILED:
            return
        replica = made[1]
        self.response.shared = replica is not None
        if replica is None:
            return
        fields = basic_rules.outgoing_clocks(default, twin)
        digest = message_digest(replica, {name: state.clock for name, state in fields.items()})
        self.response.would_send = digest != twin.last_sent_digest
        self.response.replica = replica.model_dump(mode="json")


class _Incoming(_Run):
    def run(self, request: DryRunRequest) -> None:
        twin = self._twin(request)
        replica, clocks = self._replica(twin, request)
        self.response.replica = replica.model_dump(mode="json")
        local = self.client.get_item(twin.local.key) if twin.local is not None else None
        self.response.item = None if local is None else {"id": local.id, "key": local.key, "url": local.url}
        target = target_for(self.client, self.conn)
        made = self.scripted(lambda: sync_scripts.incoming_plan(
            self.deps, self.client, self.conn, twin, replica, local, target, clocks, self.chosen, self.response.logs))
        if made is _FAILED:
            return
        plan, writes = made
        self.response.writes = _writes_view(writes)
        self.response.losses = list(plan.losses)
        if writes.ignored:
            self.response.warnings.append("the rules returned None: this replica would be acknowledged, not written")
            return
        self._render(plan, script_rules.status_to_set(writes, local), local, twin)

    def _twin(self, request: DryRunRequest) -> Twin:
        if request.twin_id is not None:
            twin = self.deps.twins.get(self.conn.id, request.twin_id)
        else:
            item = self.client.get_item(request.item or "")
            twin = self.deps.twins.find_by_local(self.conn.id, item.id)
        if twin is None:
            raise NotFoundError("no twin of this connection for that item: it has not been synced")
        return twin

    def _replica(self, twin: Twin, request: DryRunRequest) -> tuple[Replica, dict[str, FieldClock] | None]:
        if request.replica is not None:
            try:
                return Replica.model_validate(request.replica), None
            except ValidationError as error:
                problem = error.errors()[0]
                where = ".".join(str(part) for part in problem["loc"])
                raise InvalidRequestError(f"replica.{where}: {problem['msg']}") from None
        pending = self.deps.twins.get_for_apply(self.conn.id, twin.twin_id).pending
        if pending is None:
            raise ConflictError(f"twin {twin.twin_id} has no replica waiting to be applied: paste one (replica)")
        return pending.replica, {str(name): clock for name, clock in pending.clocks.items()}

    def _render(self, plan: basic_rules.Plan, status: str | None, local: TrackerItem | None, twin: Twin) -> None:
        key = local.key if local is not None else NEW_ITEM
        if plan.create is not None:
            self._capture(lambda: self.dry.create_item(self.conn.project or "", plan.create))  # type: ignore[arg-type]
        if plan.update is not None:
            self._capture(lambda: self.dry.update_item(key, plan.update))  # type: ignore[arg-type]
        if status is not None:
            self._capture(lambda: self.dry.change_status(key, status), f"status {status!r}")
        for add in plan.comments_add:
            self._capture(lambda add=add: self.dry.add_comment(key, add.body))  # type: ignore[misc]
        for update in plan.comments_update:
            self._capture(lambda u=update: self.dry.update_comment(key, u.local_id, u.body))  # type: ignore[misc]
        for _, local_id in plan.comments_delete:
            self._capture(lambda c=local_id: self.dry.delete_comment(key, c))  # type: ignore[misc]
        for attachment in plan.attachments_add:
            self.response.warnings.append(f"would upload the partner's file {attachment.filename!r} "
                                          f"({attachment.size} bytes) after downloading it (not rendered here)")
        for remote_id, local_id in plan.attachments_delete:
            link = twin.attachment_map.get(remote_id)
            if link is not None and link.owned:
                self._capture(lambda a=local_id: self.dry.delete_attachment(key, a))  # type: ignore[misc]

    def _capture(self, call: Callable[[], Any], what: str = "") -> None:
        try:
            call()
        except WriteCaptured as captured:
            self.response.requests.append(DryRunRequestView(**captured.request.to_json()))
            return
        except TwinbridgeError as refused:  # a read on the way said no (an unreachable status, a missing item)
            self.response.warnings.append(f"{what or 'a write'} would fail: {refused.message}"[:500])
            return
        if what:  # nothing to write: the reads showed the tracker already holds it
            self.response.warnings.append(f"{what}: nothing to send")


def _writes_view(writes: script_rules.IncomingWrites) -> dict[str, Any]:
    return {"fields_written": sorted(writes.basic), "values": writes.basic, "status": writes.status,
            "priority": writes.priority, "assignee": writes.assignee if writes.assignee_set else "(unchanged)",
            "fields": writes.fields, "comments": "merge" if writes.comments else "none",
            "attachments": "merge" if writes.attachments else "none", "ignored": writes.ignored}
