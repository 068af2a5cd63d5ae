"""Jira Cloud and Jira Data Center webhooks (``webhookEvent`` payloads, REST v2-shaped) -> ChangeEvent.

Sans-I/O: bytes and headers in, a ChangeEvent out (or a 400-mapped error saying what was expected).
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
    header,
    load_object,
    parse_instant,
    text,
)

EXPECTED = ("a Jira webhook event: a JSON object with 'webhookEvent' "
            "(jira:issue_created, jira:issue_updated, comment_created, ...)")

EVENT_KINDS: dict[str, ChangeKind] = {
    "jira:issue_created": ChangeKind.CREATED,
    "jira:issue_updated": ChangeKind.UPDATED,
    "jira:issue_deleted": ChangeKind.DELETED,
    "comment_created": ChangeKind.COMMENT_CREATED,
    "comment_updated": ChangeKind.COMMENT_UPDATED,
    "comment_deleted": ChangeKind.COMMENT_DELETED,
    "attachment_created": ChangeKind.ATTACHMENT_ADDED,
    "attachment_deleted": ChangeKind.ATTACHMENT_REMOVED,
}

# jira:issue_updated is also sent for comment activity; issue_event_type_name says which.
ISSUE_EVENT_TYPE_KINDS: dict[str, ChangeKind] = {
    "issue_commented": ChangeKind.COMMENT_CREATED,
    "issue_comment_edited": ChangeKind.COMMENT_UPDATED,
    "issue_comment_deleted": ChangeKind.COMMENT_DELETED,
}

_ISSUE_IN_COMMENT_URL = re.compile(r"/rest/api/\d+/issue/(\d+)/comment/")


def parse(tracker: str, body: bytes, headers: Mapping[str, str] | None = None) -> ChangeEvent:
    """Normalize one Jira webhook delivery; raises NotATrackerEventError/UnsupportedEventError (400s)."""
    payload = load_object(body, EXPECTED)
    event = payload.get("webhookEvent")
    if not isinstance(event, str) or not event:
        raise NotATrackerEventError(f"not a tracker event: no 'webhookEvent' in the body; expected {EXPECTED}")
    kind = EVENT_KINDS.get(event)
    if kind is None:
        raise UnsupportedEventError(
            f"Jira webhook event '{event[:60]}' is not synced; subscribe this webhook to: {', '.join(EVENT_KINDS)}"
        )

    issue = as_dict(payload.get("issue"))
    comment = as_dict(payload.get("comment"))
    attachment = as_dict(payload.get("attachment"))
    event_type = text(payload.get("issue_event_type_name"))
    changelog_items = [item for item in as_dict(payload.get("changelog")).get("items") or [] if isinstance(item, dict)]
    if event == "jira:issue_updated":
        kind = _refine_update(event_type, changelog_items, comment)

    item_id = text(issue.get("id")) or _issue_id_from_comment(comment)
    if item_id is None:
        what = {"attachment_created": "attachment", "attachment_deleted": "attachment"}.get(event, "issue")
        raise NotATrackerEventError(
            f"Jira '{event}' event names no issue (no issue.id{', no comment.self' if comment else ''}); "
            f"cannot tell which {what} changed"
        )
    instance = (
        base_url_before(issue.get("self"), "/rest/api/")
        or base_url_before(comment.get("self"), "/rest/api/")
        or base_url_before(attachment.get("self"), "/rest/api/")
        or base_url_before(as_dict(payload.get("user")).get("self"), "/rest/api/")
    )
    if instance is None:
        raise NotATrackerEventError(f"Jira '{event}' event has no 'self' URL to tell the Jira instance from")

    # Jira Cloud signs the body, not its headers: a delivery is identified by what is signed, so a captured delivery
    # replayed under a new X-Atlassian-Webhook-Identifier is still the same delivery (a retry resends the same bytes).
    # Jira DC authenticates the sender with a token (headers and body alike): its identifier header is kept.
    identifier = None if tracker == "jira-cloud" else text(header(headers, "x-atlassian-webhook-identifier"))
    delivery = identifier or body_delivery_id("jira", event, body)
    return ChangeEvent(
        tracker=tracker,
        instance=instance,
        item_id=item_id,
        item_key=text(issue.get("key")),
        project=text(as_dict(as_dict(issue.get("fields")).get("project")).get("key")),
        kind=kind,
        actor=_actor(payload, kind, comment, attachment),
        changes=[_change(item) for item in changelog_items],
        comment_id=text(comment.get("id")) if kind.value.startswith("comment_") else None,
        attachment_id=text(attachment.get("id")) or _attachment_id(kind, changelog_items),
        occurred_at=parse_instant(payload.get("timestamp")) or dt.datetime.now(dt.UTC),
        delivery_id=delivery[:512],
        source_event=f"{event}/{event_type}" if event_type else event,
    )


def _refine_update(event_type: str | None, items: list[dict], comment: dict) -> ChangeKind:
    if event_type in ISSUE_EVENT_TYPE_KINDS and (comment or not items):
        return ISSUE_EVENT_TYPE_KINDS[event_type]
    # A comment event that carries field changes but no comment object (a transition screen's comment, seen in
    # real deliveries): the field changes are what it says for sure; the worker reads the item, comments included.
    attachment_items = [item for item in items if str(item.get("field", "")).lower() == "attachment"]
    if items and len(attachment_items) == len(items):
        # Added: nothing before, something after; removed: the reverse. Anything else is a plain update.
        before = {bool(item.get("from") or item.get("fromString")) for item in items}
        after = {bool(item.get("to") or item.get("toString")) for item in items}
        if before == {False} and after == {True}:
            return ChangeKind.ATTACHMENT_ADDED
        if before == {True} and after == {False}:
            return ChangeKind.ATTACHMENT_REMOVED
    if event_type is None and not items and comment:
        # Older Jira sends no issue_event_type_name: a comment without field changes is comment activity.
        edited = comment.get("updated") and comment.get("updated") != comment.get("created")
        return ChangeKind.COMMENT_UPDATED if edited else ChangeKind.COMMENT_CREATED
    return ChangeKind.UPDATED


def _issue_id_from_comment(comment: dict) -> str | None:
    """Jira DC comment_* events carry no issue; the comment's self URL has the issue id."""
    match = _ISSUE_IN_COMMENT_URL.search(str(comment.get("self") or ""))
    return match.group(1) if match else None


def _user(value: Any) -> ActorRef | None:
    user = as_dict(value)
    if not user:
        return None
    actor = ActorRef(
        account_id=text(user.get("accountId")),
        name=text(user.get("name")),
        key=text(user.get("key")),
        display_name=text(user.get("displayName")),
        email=text(user.get("emailAddress")),
    )
    return actor if actor.model_dump(exclude_none=True) else None


def _actor(payload: dict, kind: ChangeKind, comment: dict, attachment: dict) -> ActorRef | None:
    """The top-level ``user`` when sent. Otherwise the author of what changed; for a deleted comment that
    would be whoever last edited it (often our own technical user), so it stays unknown."""
    actor = _user(payload.get("user"))
    if actor is not None:
        return actor
    if kind is ChangeKind.COMMENT_CREATED:
        return _user(comment.get("author"))
    if kind is ChangeKind.COMMENT_UPDATED:
        return _user(comment.get("updateAuthor")) or _user(comment.get("author"))
    if kind is ChangeKind.ATTACHMENT_ADDED:
        return _user(attachment.get("author"))
    return None


def _change(item: dict) -> FieldChangeItem:
    old, cut_old = clip(item.get("from"))
    new, cut_new = clip(item.get("to"))
    old_text, cut_old_text = clip(item.get("fromString"))
    new_text, cut_new_text = clip(item.get("toString"))
    return FieldChangeItem(
        field=str(item.get("field") or item.get("fieldId") or "?"),
        field_id=text(item.get("fieldId")),
        old=old,
        new=new,
        old_text=old_text if isinstance(old_text, str) else None,
        new_text=new_text if isinstance(new_text, str) else None,
        truncated=cut_old or cut_new or cut_old_text or cut_new_text,
    )


def _attachment_id(kind: ChangeKind, items: list[dict]) -> str | None:
    if kind not in (ChangeKind.ATTACHMENT_ADDED, ChangeKind.ATTACHMENT_REMOVED):
        return None
    for item in items:
        value = text(item.get("to") if kind is ChangeKind.ATTACHMENT_ADDED else item.get("from"))
        if value:
            return value
    return None
