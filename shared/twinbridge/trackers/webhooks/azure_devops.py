"""Azure DevOps / TFS service hooks for work items (``eventType: workitem.*``, resourceVersion 1.0) -> ChangeEvent.

Sans-I/O like the Jira parser. Identities arrive as strings ("Name <DOMAIN\\user>") in resource version 1.0
and as objects (id, displayName, uniqueName) elsewhere; both are understood.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from twinbridge.errors import NotATrackerEventError, UnsupportedEventError
from twinbridge.models.change import ActorRef, ChangeEvent, ChangeKind, FieldChangeItem, clip
from twinbridge.trackers.webhooks.common import (
    as_dict,
    base_url_before,
    body_delivery_id,
    load_object,
    parse_instant,
    text,
)

EXPECTED = (
    "an Azure DevOps service hook event: a JSON object with 'eventType' "
    "(workitem.created, workitem.updated, workitem.deleted, workitem.restored, workitem.commented)"
)

EVENT_KINDS: dict[str, ChangeKind] = {
    "workitem.created": ChangeKind.CREATED,
    "workitem.updated": ChangeKind.UPDATED,
    "workitem.deleted": ChangeKind.DELETED,
    "workitem.restored": ChangeKind.RESTORED,
    "workitem.commented": ChangeKind.COMMENT_CREATED,
}

# Bookkeeping fields that change with every revision; they say nothing about what the user changed.
NOISE_FIELDS = frozenset({
    "System.Rev", "System.AuthorizedDate", "System.RevisedDate", "System.ChangedDate", "System.Watermark",
    "System.AuthorizedAs", "System.ChangedBy", "System.PersonId",
})
ATTACHMENT_FIELDS = frozenset({"System.AttachedFileCount", "System.ExternalLinkCount", "System.History"})
ATTACHMENT_RELATION = "AttachedFile"

_WORK_ITEM_IN_URL = re.compile(r"/_apis/wit/(?:workItems|recyclebin)/(\d+)", re.IGNORECASE)
_NAME_WITH_UNIQUE = re.compile(r"^(?P<display>.*?)\s*<(?P<unique>[^<>]+)>\s*$")


def parse(tracker: str, body: bytes, headers: Mapping[str, str] | None = None) -> ChangeEvent:
    """Normalize one Azure DevOps service hook delivery; raises NotATrackerEventError/UnsupportedEventError (400s)."""
    payload = load_object(body, EXPECTED)
    event = payload.get("eventType")
    if not isinstance(event, str) or not event:
        raise NotATrackerEventError(f"not a tracker event: no 'eventType' in the body; expected {EXPECTED}")
    publisher = payload.get("publisherId")
    kind = EVENT_KINDS.get(event)
    if kind is None or publisher not in (None, "tfs"):
        raise UnsupportedEventError(
            f"Azure DevOps event '{event[:60]}' is not synced; subscribe service hooks to: {', '.join(EVENT_KINDS)}"
        )
    resource = as_dict(payload.get("resource"))
    if not resource:
        raise NotATrackerEventError(f"Azure DevOps '{event}' event has no 'resource'; expected {EXPECTED}")

    revision = as_dict(resource.get("revision"))
    fields = as_dict(resource.get("fields"))
    item_id = _work_item_id(kind, resource, revision)
    if item_id is None:
        raise NotATrackerEventError(f"Azure DevOps '{event}' event names no work item (no resource id or url)")
    instance = _instance(payload, resource)
    if instance is None:
        raise NotATrackerEventError(
            f"Azure DevOps '{event}' event has no resourceContainers or url to tell the organization from"
        )

    current = as_dict(revision.get("fields")) if kind is ChangeKind.UPDATED else fields
    changes = _changes(fields, resource) if kind is ChangeKind.UPDATED else []
    if kind is ChangeKind.UPDATED:
        kind = _refine_update(changes)
    comment = as_dict(resource.get("commentVersionRef"))
    return ChangeEvent(
        tracker=tracker,
        instance=instance,
        item_id=item_id,
        item_key=item_id,
        project=text(current.get("System.TeamProject")) or text(_new_value(fields.get("System.TeamProject"))),
        kind=kind,
        actor=_actor(kind, resource, fields, current),
        changes=changes,
        # workitem.commented names its comment; so does a workitem.created whose comment was typed at creation.
        comment_id=text(comment.get("commentId")) if kind in (ChangeKind.COMMENT_CREATED, ChangeKind.CREATED) else None,
        attachment_id=_attachment_id(kind, resource),
        occurred_at=parse_instant(payload.get("createdDate")) or dt.datetime.now(dt.UTC),
        delivery_id=(text(payload.get("id")) or body_delivery_id("ado", event, body))[:512],
        source_event=event,
    )


def _work_item_id(kind: ChangeKind, resource: dict, revision: dict) -> str | None:
    """Updates carry the update's own id in ``id``; the work item is ``workItemId`` (0 in old samples) or the URL."""
    if kind is ChangeKind.UPDATED:
        candidates = [resource.get("workItemId"), revision.get("id")]
    else:
        candidates = [resource.get("id")]
    for value in candidates:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return str(value)
        if isinstance(value, str) and value.isdigit() and int(value) > 0:
            return value
    match = _WORK_ITEM_IN_URL.search(str(resource.get("url") or ""))
    return match.group(1) if match else None


def _instance(payload: dict, resource: dict) -> str | None:
    containers = as_dict(payload.get("resourceContainers"))
    for name in ("account", "collection"):
        base = text(as_dict(containers.get(name)).get("baseUrl"))
        if base and base.startswith(("http://", "https://")):
            return base.rstrip("/")
    base = base_url_before(resource.get("url"), "/_apis/")
    project_id = text(as_dict(containers.get("project")).get("id"))
    if base and project_id and base.lower().endswith("/" + project_id.lower()):
        base = base[: -len(project_id) - 1]
    return base


def _identity(value: Any) -> ActorRef | None:
    if isinstance(value, dict):
        unique = text(value.get("uniqueName"))
        actor = ActorRef(
            account_id=text(value.get("id")),
            display_name=text(value.get("displayName")),
            unique_name=unique,
            email=unique if unique and "@" in unique else None,
        )
        named = _identity(text(value.get("name"))) if not (actor.display_name or actor.unique_name) else None
        if named is not None:
            return named.model_copy(update={"account_id": actor.account_id})
        return actor if actor.model_dump(exclude_none=True) else None
    name = text(value)
    if name is None:
        return None
    match = _NAME_WITH_UNIQUE.match(name)
    if match:
        unique = match.group("unique").strip()
        return ActorRef(
            display_name=match.group("display") or None, unique_name=unique, email=unique if "@" in unique else None
        )
    return ActorRef(display_name=name)


def _new_value(change: Any) -> Any:
    return change.get("newValue") if isinstance(change, dict) else change


def _actor(kind: ChangeKind, resource: dict, fields: dict, current: dict) -> ActorRef | None:
    """Updates: ``revisedBy``, else the new System.ChangedBy. Others: System.ChangedBy of the item as sent
    (deleting, restoring and commenting each make a revision, so that is who did it)."""
    if resource.get("revisedBy"):
        actor = _identity(resource.get("revisedBy"))
        if actor is not None:
            return actor
    if "System.ChangedBy" in fields:
        return _identity(
            _new_value(fields["System.ChangedBy"]) if kind is ChangeKind.UPDATED else fields["System.ChangedBy"]
        )
    if kind is ChangeKind.UPDATED:
        return None  # revision.fields holds the revision before this one on old servers: not who changed it
    return _identity(current.get("System.ChangedBy"))


def _changes(fields: dict, resource: dict) -> list[FieldChangeItem]:
    changes: list[FieldChangeItem] = []
    for name, change in fields.items():
        if name in NOISE_FIELDS or not isinstance(change, dict):
            continue
        old, cut_old = clip(change.get("oldValue"))
        new, cut_new = clip(change.get("newValue"))
        changes.append(FieldChangeItem(field=name, old=old, new=new, truncated=cut_old or cut_new))
    relations = as_dict(resource.get("relations"))
    for side, attr in (("added", "new"), ("removed", "old")):
        for relation in relations.get(side) or []:
            if isinstance(relation, dict) and relation.get("rel"):
                changes.append(
                    FieldChangeItem(field=f"relation:{relation['rel']}", **{attr: text(relation.get("url"))})
                )
    return changes


def _refine_update(changes: list[FieldChangeItem]) -> ChangeKind:
    attached = [c for c in changes if c.field == f"relation:{ATTACHMENT_RELATION}"]
    others = [c for c in changes if c not in attached and c.field not in ATTACHMENT_FIELDS]
    if attached and not others:
        return ChangeKind.ATTACHMENT_ADDED if any(c.new for c in attached) else ChangeKind.ATTACHMENT_REMOVED
    return ChangeKind.UPDATED


def _attachment_id(kind: ChangeKind, resource: dict) -> str | None:
    if kind not in (ChangeKind.ATTACHMENT_ADDED, ChangeKind.ATTACHMENT_REMOVED):
        return None
    side = "added" if kind is ChangeKind.ATTACHMENT_ADDED else "removed"
    for relation in as_dict(resource.get("relations")).get(side) or []:
        if isinstance(relation, dict) and relation.get("rel") == ATTACHMENT_RELATION:
            return text(str(relation.get("url") or "").rstrip("/").rsplit("/", 1)[-1])
    return None
