"""Basic mode, the fixed rules: summary, description, labels (Jira labels <-> ADO tags), comments (all public,
with a byline), attachments and issue type. Pure: tracker items in, a replica or a plan of operations out.

Everything in a received replica is the partner's, so hostile: ``plan`` passes its rich text through the content
policy (``richtext.policy``) before rendering, and its summary, labels, type, author names and file names through
the short-text rules below (docs/security.md, "Content from the partner")."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from twinbridge.models.replica import (
    FIELDS,
    FieldClock,
    ItemIdentity,
    Person,
    Replica,
    ReplicaAttachment,
    ReplicaComment,
    field_digest,
    field_versions,
)
from twinbridge.models.tracker import ItemFields, NativeText, TextFormat, TrackerComment, TrackerItem, UserRef
from twinbridge.models.twin import FieldState, Twin
from twinbridge.richtext import from_canonical, to_canonical
from twinbridge.richtext.model import Document, Mark, Paragraph, Text
from twinbridge.richtext.normalize import normalized
from twinbridge.richtext.policy import NAME_LIMIT, clean_line, partner_content, safe_filename
from twinbridge.richtext.serialize import from_json, to_json

MARKER_PREFIX = "twinbridge-"
FALLBACK_TYPE = "Task"
SUMMARY_LIMIT = 255  # Jira's summary and Azure DevOps' System.Title (a String field) hold at most 255 characters
LABEL_LIMIT = 255  # a Jira label holds at most 255 characters
TYPE_LIMIT = 255
REASON_LIMIT = 200
BYLINE = "{author} ({side}) wrote:"


def marker_for(connection_id: str, twin_id: str) -> str:
    """The correlation label/tag put on an item at creation, so a retried create finds it instead of creating again."""
    return MARKER_PREFIX + hashlib.sha256(f"{connection_id}|{twin_id}".encode()).hexdigest()[:16]


_MARKER = re.compile(re.escape(MARKER_PREFIX) + r"[0-9a-f]{16}")


def is_marker(label: str) -> bool:
    """Exactly the shape ``marker_for`` makes: a user's own ``twinbridge-rollout`` label is still synced."""
    return _MARKER.fullmatch(label) is not None


# --------------------------------------------------------------------------------------------------- outgoing


def canonical_json(text: NativeText | None) -> dict[str, Any] | None:
    if text is None or text.is_empty:
        return None
    return to_json(to_canonical(text.content, text.format).document)


def person(user: UserRef | None) -> Person | None:
    if user is None:
        return None
    return Person(display_name=user.display_name, email=user.email, account_id=user.account_id)


def shared_labels(labels: list[str]) -> list[str]:
    """The labels a side shares: its own, sorted, without correlation markers."""
    return sorted(label for label in labels if not is_marker(label))


def local_digest(item: TrackerItem, name: str) -> str:
    """The digest of field ``name`` of a local item, exactly as ``outgoing`` would carry it."""
    if name == "description":  # converted only when asked for: rich text is the costly one
        return field_digest(name, canonical_json(item.description))
    values = {"type": item.type, "summary": item.summary, "labels": shared_labels(item.labels)}
    return field_digest(name, values[name])


def outgoing_clocks(replica: Replica, twin: Twin) -> dict[str, FieldState]:
    """The field states after sending ``replica``: a field whose value moved since it was last synced is a local
    edit, counted on this side's entry of its clock; the others keep theirs."""
    states = {}
    for name, digest in field_versions(replica).items():
        state = twin.field(name)
        clock = state.clock if state.digest == digest else state.clock.bumped(twin.role)
        states[name] = FieldState(clock=clock, digest=digest)
    return states


def outgoing(item: TrackerItem, comments: list[TrackerComment], twin: Twin,
             staged: dict[str, tuple[str, str]] | None = None) -> Replica:
    """The replica of ``item`` for the partner. Comments and attachments that came from the partner are left
    out (they are the partner's own); ``staged`` maps local attachment id -> (object key, sha256)."""
    from_partner_comments = twin.local_comment_ids_from_partner
    from_partner_attachments = twin.local_attachment_ids_from_partner
    staged = staged or {}
    return Replica(
        item=ItemIdentity(id=item.id, key=item.key, url=item.url),
        project=item.project,
        type=item.type,
        summary=item.summary,
        description=canonical_json(item.description),
        labels=shared_labels(item.labels),
        status=item.status,
        priority=item.priority,
        reporter=person(item.reporter),
        assignee=person(item.assignee),
        comments=[
            ReplicaComment(id=c.id, author=person(c.author), body=canonical_json(c.body) or to_json(Document()),
                           created=c.created, updated=c.updated)
            for c in comments if c.id not in from_partner_comments
        ],
        attachments=[
            ReplicaAttachment(id=a.id, filename=a.filename, size=a.size, mime_type=a.mime_type,
                              sha256=staged[a.id][1], object_key=staged[a.id][0])
            for a in item.attachments if a.id not in from_partner_attachments and a.id in staged
        ],
        updated=item.updated,
    )


# --------------------------------------------------------------------------------------------------- incoming


@dataclass
class CommentWrite:
    remote_id: str
    body: NativeText
    digest: str


@dataclass
class CommentUpdate(CommentWrite):
    local_id: str  # the comment this side wrote for it before


@dataclass
class Plan:
    """What to do to the local tracker so it shows the replica. Empty plan = already in sync."""

    create: ItemFields | None = None
    update: ItemFields | None = None
    comments_add: list[CommentWrite] = field(default_factory=list)
    comments_update: list[CommentUpdate] = field(default_factory=list)
    comments_delete: list[tuple[str, str]] = field(default_factory=list)  # (remote id, local id)
    attachments_add: list[ReplicaAttachment] = field(default_factory=list)
    attachments_delete: list[tuple[str, str]] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    fields: dict[str, FieldState] = field(default_factory=dict)  # the twin's field states once the plan is written

    @property
    def empty(self) -> bool:
        return not (self.create or self.update or self.comments_add or self.comments_update or self.comments_delete
                    or self.attachments_add or self.attachments_delete)


@dataclass
class Target:
    """What the receiving side is: its text format, its issue types, and the names for the byline."""

    text_format: TextFormat
    issue_types: list[str]
    default_type: str | None
    remote_short_name: str
    labels_allow_spaces: bool
    byline: str = BYLINE  # script mode may set its own ({author}, {side}); "" posts the comment without one


def choose_type(wanted: str, target: Target) -> str:
    """Mirrored by name (case-insensitive); else the project's default type; else Task; else the first type."""
    by_name = {name.casefold(): name for name in target.issue_types}
    for candidate in (wanted, target.default_type, FALLBACK_TYPE):
        if candidate and candidate.casefold() in by_name:
            return by_name[candidate.casefold()]
    return target.issue_types[0] if target.issue_types else wanted


def adapt_label(label: str, target: Target) -> str:
    """ADO tags may hold spaces, Jira labels may not: spaces become underscores."""
    return label if target.labels_allow_spaces else re.sub(r"\s+", "_", label.strip())


def partner_summary(summary: str) -> str:
    """The partner's summary as our tracker may hold it: one clean line (no control, bidi or zero-width characters),
    at most ``SUMMARY_LIMIT`` characters."""
    return clean_line(summary, SUMMARY_LIMIT)


def partner_labels(labels: list[str], target: Target) -> list[str]:
    """The partner's labels, cleaned and adapted, without empty ones and without any shaped like our correlation
    marker (in any case): a partner cannot plant a marker that makes a retried create adopt the wrong item."""
    kept = set()
    for label in labels:
        clean = adapt_label(clean_line(label, LABEL_LIMIT, ellipsis=False), target)
        if clean and not is_marker(clean.lower()):
            kept.add(clean)
    return sorted(kept)


def render(body: dict[str, Any] | None, target: Target, losses: list[str], what: str,
           byline: Paragraph | None = None) -> NativeText | None:
    """The partner's canonical JSON in the target format, after the content policy; ``byline`` (ours) goes first.
    What the policy and the conversion changed is added to ``losses`` under ``what``."""
    if body is None:
        return None
    policed = partner_content(from_json(body))
    document = Document(blocks=[byline, *policed.document.blocks]) if byline else policed.document
    converted = from_canonical(document, target.text_format)
    losses += [f"{what}: {loss.kind}: {loss.detail}" for loss in [*policed.losses, *converted.losses]]
    return NativeText(format=target.text_format, content=converted.content)


def byline_for(comment: ReplicaComment, target: Target) -> Paragraph | None:
    """"Name (side) wrote:" in bold, on one line: the name cannot carry line breaks or bidi tricks to fake another.
    The words come from ``target.byline`` with ``{author}`` and ``{side}`` replaced (no other formatting)."""
    if not target.byline:
        return None
    who = clean_line(comment.author.display_name, NAME_LIMIT) if comment.author else ""
    words = clean_line(target.byline.replace("{author}", who or "Someone").replace("{side}", target.remote_short_name),
                       NAME_LIMIT * 2)
    return Paragraph(children=[Text(words, marks=(Mark("strong"),))])


def comment_body(comment: ReplicaComment, target: Target, losses: list[str]) -> NativeText:
    """The partner's comment with a byline naming its author and side, since the technical user posts it."""
    body = render(comment.body, target, losses, f"comment {comment.id}", byline_for(comment, target))
    assert body is not None
    return body


def unlink_notice(remote_short_name: str, reason: str, text_format: TextFormat) -> NativeText:
    """The comment left on our copy when the partner's item is deleted: the copy stays, the sync ends."""
    why = clean_line(reason, REASON_LIMIT) or "no reason given"
    words = f"twinbridge: the linked item on {remote_short_name} was deleted ({why}); this copy is no longer synced."
    note = Document(blocks=[Paragraph(children=[Text(words)])])
    return NativeText(format=text_format, content=from_canonical(note, text_format).content)


def empty_text(text_format: TextFormat) -> NativeText:
    return NativeText(
        format=text_format, content={"type": "doc", "version": 1, "content": []} if text_format == "adf" else ""
    )


def same_text(current: NativeText | None, desired: NativeText | None) -> bool:
    if current is None or current.is_empty:
        return desired is None or desired.is_empty
    if desired is None:
        return False
    return _comparable(current) == _comparable(desired)


def _comparable(text: NativeText) -> dict[str, Any]:
    """Equal content written differently (mark order, split text runs, a trailing break) compares equal."""
    return to_json(normalized(to_canonical(text.content, text.format).document))


@dataclass(frozen=True)
class FieldDecision:
    take: bool
    state: FieldState  # the field's state after the apply (digest None: the written value's, filled in by ``plan``)


def decide_field(name: str, twin: Twin, theirs: FieldClock, local: TrackerItem | None) -> FieldDecision:
    """Take the partner's value of field ``name`` or keep ours, by the fields' clocks (docs/sync-model.md).

    The partner's value is taken when its clock has seen every edit ours has (it is newer). When both sides edited
    the field without seeing the other's edit (concurrent clocks), the side the item was created on keeps its value
    and the other takes it: both sides apply the same rule, so they converge. A local edit not sent yet (the local
    value moved since the field was last synced) counts as an edit here. The merged clock is kept either way."""
    state = twin.field(name)
    ours = state.clock
    if local is None:  # creating the copy: everything is taken
        return FieldDecision(True, FieldState(clock=ours.merged(theirs)))
    if ours.order(theirs) in ("same", "newer"):
        return FieldDecision(False, state)  # an echo, a duplicate or an older replica: nothing to take
    digest = state.digest
    if digest is not None:
        now = local_digest(local, name)
        if now != digest:  # an edit here the partner has not seen
            ours, digest = ours.bumped(twin.role), now
    order = ours.order(theirs)
    take = order == "older" or (order == "concurrent" and twin.role == "copy")
    return FieldDecision(take, FieldState(clock=ours.merged(theirs), digest=None if take else digest))


def plan(replica: Replica, twin: Twin, target: Target, local: TrackerItem | None,
         clocks: dict[str, FieldClock] | None = None, *, only: frozenset[str] | None = None,
         comments: bool = True, attachments: bool = True) -> Plan:
    """Compare the replica with the local copy (None: not created yet) and list the writes, nothing more.
    Only fields the partner's clocks say are newer are written (``decide_field``); ``clocks`` None takes all.
    Script mode narrows it: only the fields in ``only`` (all when None), comments and attachments only when asked;
    a create always writes the summary and the type, which the trackers require."""
    result = Plan()
    chosen = FIELDS if only is None else tuple(name for name in FIELDS if name in only)
    decisions = {name: decide_field(name, twin, (clocks or {}).get(name, FieldClock()), local)
                 if clocks is not None else FieldDecision(True, FieldState(clock=twin.field(name).clock))
                 for name in chosen}
    take = {name for name, decision in decisions.items() if decision.take}
    # converted only when it may be written: no conversion work, and no losses reported, for an untouched field
    wanted = "description" in take
    description = render(replica.description, target, result.losses, "description") if wanted else None
    summary = partner_summary(replica.summary)
    labels = partner_labels(replica.labels, target) if local is not None or "labels" in take else []
    item_type = choose_type(clean_line(replica.type, TYPE_LIMIT), target)
    if local is None:
        result.create = ItemFields(
            type=item_type,
            summary=summary,
            description=description,
            labels=[*labels, marker_for(twin.connection_id, twin.twin_id)],
        )
    else:
        changes: dict[str, Any] = {}
        if "summary" in take and local.summary != summary:
            changes["summary"] = summary
        if wanted and not same_text(local.description, description):
            changes["description"] = description or empty_text(target.text_format)
        markers = [label for label in local.labels if is_marker(label)]
        if "labels" in take and shared_labels(local.labels) != labels:
            changes["labels"] = [*labels, *markers]
        if "type" in take and local.type.casefold() != item_type.casefold():
            changes["type"] = item_type
        if changes:
            result.update = ItemFields(**changes)
    writes = result.create or result.update or ItemFields()
    result.fields = {name: decision.state.model_copy(update={"digest": _synced_digest(name, writes, local)})
                     if decision.take else decision.state for name, decision in decisions.items()}
    if comments:
        _plan_comments(replica, twin, target, result)
    if attachments:
        _plan_attachments(replica, twin, local, result)
    return result


def _synced_digest(name: str, writes: ItemFields, local: TrackerItem | None) -> str:
    """A taken field's digest once the plan is written: the value written, as this side's outgoing rules will read
    it back, or the local value when nothing was written (it already showed the partner's)."""
    value = getattr(writes, name)
    if value is None:
        return local_digest(local, name) if local is not None else field_digest(name, None)
    if name == "description":
        value = canonical_json(value)
    elif name == "labels":
        value = shared_labels(value)
    return field_digest(name, value)


def _plan_comments(replica: Replica, twin: Twin, target: Target, result: Plan) -> None:
    seen = set()
    for comment in replica.comments:
        seen.add(comment.id)
        link = twin.comment_map.get(comment.id)
        digest = comment.digest()
        if link is None:
            result.comments_add.append(CommentWrite(comment.id, comment_body(comment, target, result.losses), digest))
        elif link.digest != digest:
            result.comments_update.append(
                CommentUpdate(comment.id, comment_body(comment, target, result.losses), digest, local_id=link.local_id)
            )
    result.comments_delete = [
        (remote_id, link.local_id) for remote_id, link in twin.comment_map.items() if remote_id not in seen
    ]


def _plan_attachments(replica: Replica, twin: Twin, local: TrackerItem | None, result: Plan) -> None:
    present = {a.id for a in local.attachments} if local else set()
    wanted = {a.id for a in replica.attachments}
    for attachment in replica.attachments:
        link = twin.attachment_map.get(attachment.id)
        if link is None:  # one the partner added; a copy someone removed here is not forced back
            safe = attachment.model_copy(update={"filename": safe_filename(attachment.filename)})
            result.attachments_add.append(safe)
    result.attachments_delete = [
        (remote_id, link.local_id)
        for remote_id, link in twin.attachment_map.items()
        if remote_id not in wanted and link.local_id in present
    ]
