"""The script-mode contract, engine-agnostic and pure: what a sync script is given (plain JSON data built from the
tracker item, the replica, the twin and the connection) and what its answer may be, validated into what the basic
rules' plan writes. Script mode is basic mode with the plan's inputs chosen by the admin's rules:

- ``outgoing(item, replica, ctx)`` edits the replica basic mode would send (or returns None: not shared);
- ``incoming(replica, local, ctx)`` returns only what to write here; the basic plan then writes it, with the same
  content policy, conflict rule and create fence as basic mode, and the extras (status, priority, assignee,
  custom fields) go after it, the status last so transition validators see the fields first.

A script is the node admin's, but what it returns still goes through the model's bounds: a script cannot make a
replica claim another item, invent an attachment it was not given, or write an unknown key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from twinbridge.models.connection import Connection
from twinbridge.models.replica import FIELDS, Replica
from twinbridge.models.tracker import ItemFields, TrackerComment, TrackerItem, UserRef
from twinbridge.models.twin import Twin
from twinbridge.richtext.model import Document, Paragraph, Text
from twinbridge.richtext.serialize import to_json
from twinbridge.sync import basic_rules

INCOMING_KEYS = frozenset({"project", "type", "summary", "description", "labels", "status", "priority", "assignee",
                           "fields", "comments", "attachments"})
POLICIES = ("merge", "none")
MAX_FIELDS = 100
VALUE_LIMIT = 32_000


class ScriptResultError(ValueError):
    """A script's answer that cannot be used; the message says which key and why (shown on the twin)."""


# --------------------------------------------------------------------------------------------------- inputs


def _user(user: UserRef | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"account_id": user.account_id, "display_name": user.display_name, "email": user.email}


def item_view(item: TrackerItem, comments: list[TrackerComment] | None, twin: Twin | None) -> dict[str, Any]:
    """A local item as a script sees it: plain data, rich text in the canonical JSON form, custom fields by id."""
    from_partner_comments = twin.local_comment_ids_from_partner if twin else set()
    from_partner_files = twin.local_attachment_ids_from_partner if twin else set()
    return {
        "id": item.id, "key": item.key, "url": item.url, "project": item.project, "type": item.type,
        "summary": item.summary, "description": basic_rules.canonical_json(item.description),
        "status": item.status, "priority": item.priority,
        "labels": basic_rules.shared_labels(item.labels),
        "reporter": _user(item.reporter), "assignee": _user(item.assignee),
        "created": item.created.isoformat() if item.created else None, "updated": item.updated.isoformat(),
        "fields": dict(item.custom_fields),
        "comments": [{"id": c.id, "author": _user(c.author), "body": basic_rules.canonical_json(c.body),
                      "created": c.created.isoformat() if c.created else None,
                      "updated": c.updated.isoformat() if c.updated else None,
                      "internal": c.internal, "from_partner": c.id in from_partner_comments}
                     for c in comments or []],
        "attachments": [{"id": a.id, "filename": a.filename, "size": a.size, "mime_type": a.mime_type,
                         "from_partner": a.id in from_partner_files} for a in item.attachments],
    }


def replica_view(replica: Replica) -> dict[str, Any]:
    return replica.model_dump(mode="json", exclude={"attachments": {"__all__": {"url", "object_key"}}})


def context(conn: Connection, twin: Twin | None, *, first_sync: bool, rules_version: int,
            direction: str, types: list[str] | None = None) -> dict[str, Any]:
    """``ctx``: where the script runs. ``twin`` gives recipe 17 (the remote key/URL written into a local field);
    ``types`` (incoming) the local project's issue types, to choose one that exists."""
    return {
        "types": list(types or []),
        "direction": direction,
        "first_sync": first_sync,
        "rules_version": rules_version,
        "connection": {"id": conn.id, "name": conn.name, "local": conn.local_short_name,
                       "remote": conn.remote_short_name, "project": conn.project},
        "twin": None if twin is None else {
            "id": twin.twin_id, "origin": twin.origin,
            "remote_key": twin.remote.key if twin.remote else None,
            "remote_url": twin.remote.url if twin.remote else None,
        },
    }


# --------------------------------------------------------------------------------------------------- outgoing


def outgoing_result(value: Any, default: Replica) -> Replica | None:
    """The replica an outgoing script returned, validated: the same item, comments and attachments only from those
    it was given (dropped or, for comments, rewritten), within the replica's bounds. None: not shared."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ScriptResultError(f"outgoing must return the replica (a dict) or None, not {_kind(value)}")
    data = dict(value)
    data["item"] = default.item.model_dump(mode="json")  # the item it describes is not the script's to choose
    given_files = {a.id: a for a in default.attachments}
    kept_files = []
    for entry in data.get("attachments") or []:
        attachment = given_files.get(str(entry.get("id"))) if isinstance(entry, dict) else None
        if attachment is None:
            raise ScriptResultError("outgoing: an attachment in the replica is not one of the item's")
        kept_files.append(attachment)
    data["attachments"] = []
    given_comments = {c.id for c in default.comments}
    if any(not isinstance(c, dict) or c.get("id") not in given_comments for c in data.get("comments") or []):
        raise ScriptResultError("outgoing: a comment in the replica is not one of the item's")
    try:
        replica = Replica.model_validate(data)
    except ValidationError as error:
        raise ScriptResultError(f"outgoing: the replica is not valid: {_first_problem(error)}") from None
    return replica.model_copy(update={"attachments": kept_files})


# --------------------------------------------------------------------------------------------------- incoming


@dataclass
class IncomingWrites:
    """What an incoming script asked to write. ``basic`` holds the basic fields it named (only those are written);
    the extras are written after the plan, the status last."""

    basic: dict[str, Any] = field(default_factory=dict)
    project: str | None = None
    status: str | None = None
    priority: str | None = None
    assignee: dict[str, Any] | None = None
    assignee_set: bool = False
    fields: dict[str, Any] = field(default_factory=dict)
    comments: bool = False
    byline: str | None = None  # the comments' byline template when the rules chose one
    attachments: bool = False
    ignored: bool = False  # the script returned None: this replica is acknowledged and nothing is written
    rules_version: int = 0

    @property
    def taken(self) -> frozenset[str]:
        return frozenset(self.basic)


def incoming_result(value: Any, rules_version: int = 0) -> IncomingWrites:
    """An incoming script's answer, checked key by key. None: this replica is ignored (acknowledged, still linked)."""
    if value is None:
        return IncomingWrites(ignored=True, rules_version=rules_version)
    if not isinstance(value, dict):
        raise ScriptResultError(f"incoming must return a dict of what to write, or None, not {_kind(value)}")
    unknown = sorted(str(key) for key in value if key not in INCOMING_KEYS)
    if unknown:
        raise ScriptResultError(f"incoming returned unknown keys {', '.join(unknown)} "
                                f"(known: {', '.join(sorted(INCOMING_KEYS))})")
    writes = IncomingWrites(rules_version=rules_version)
    for name in FIELDS:
        if name in value:
            writes.basic[name] = _basic_value(name, value[name])
    writes.project = _name(value, "project")
    writes.status = _name(value, "status")
    if "priority" in value and value["priority"] is not None:
        writes.priority = str(value["priority"])[:255] if isinstance(value["priority"], (str, int)) else None
        if writes.priority is None:
            raise ScriptResultError("incoming: priority must be a name or a number")
    if "assignee" in value:
        writes.assignee_set = True
        writes.assignee = _assignee(value["assignee"])
    writes.fields = _fields(value.get("fields"))
    writes.comments, writes.byline = _comments(value.get("comments", "none"))
    writes.attachments = _policy(value, "attachments")
    return writes


def scripted_replica(replica: Replica, writes: IncomingWrites) -> Replica:
    """The replica as the plan is to write it: the partner's, with the basic fields the script chose."""
    try:
        return Replica.model_validate({**replica.model_dump(mode="json"), **writes.basic})
    except ValidationError as error:
        raise ScriptResultError(f"incoming: {_first_problem(error)}") from None


def add_extras(plan: basic_rules.Plan, writes: IncomingWrites, local: TrackerItem | None) -> None:
    """Put the script's priority, assignee and custom fields into the plan's create or update, each only when it
    differs from the local value (the status is changed separately, after these writes)."""
    changes: dict[str, Any] = {}
    if writes.priority is not None and (local is None or local.priority != writes.priority):
        changes["priority"] = writes.priority
    if writes.assignee_set:
        wanted = writes.assignee["account_id"] if writes.assignee else ""
        current = local.assignee.account_id if local is not None and local.assignee is not None else ""
        if wanted != current:
            changes["assignee_account_id"] = wanted
    custom = {key: value for key, value in writes.fields.items()
              if local is None or local.custom_fields.get(key) != value}
    if custom:
        changes["custom_fields"] = custom
    if not changes:
        return
    if plan.create is not None:
        plan.create = plan.create.model_copy(update=changes)
    else:
        plan.update = (plan.update or ItemFields()).model_copy(update=changes)


def status_to_set(writes: IncomingWrites, local: TrackerItem | None) -> str | None:
    """The status the rules ask for, when the local item does not show it already (a new item always gets it)."""
    wanted = writes.status
    if not wanted or (local is not None and (local.status or "").casefold() == wanted.casefold()):
        return None
    return wanted


def _basic_value(name: str, value: Any) -> Any:
    if name == "description":
        if value is None or isinstance(value, dict):
            return value
        if isinstance(value, str):
            return to_json(Document(blocks=[Paragraph(children=[Text(line)]) for line in value.split("\n")]))
    elif name == "labels":
        if isinstance(value, list) and all(isinstance(label, str) for label in value):
            return value
    elif isinstance(value, str):
        return value
    raise ScriptResultError(f"incoming: {name} has the wrong type ({_kind(value)})")


def _name(value: dict[str, Any], key: str) -> str | None:
    if value.get(key) is None:
        return None
    name = value[key]
    if not isinstance(name, str) or not name.strip():
        raise ScriptResultError(f"incoming: {key} must be a non-empty name")
    return name.strip()[:255]


def _assignee(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, dict) and isinstance(value.get("account_id"), str) and value["account_id"]:
        return value
    raise ScriptResultError("incoming: assignee must be a user from users.by_email()/users.by_id(), or None")


def _fields(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(key, str) and key for key in value):
        raise ScriptResultError("incoming: fields must map field ids or reference names to values")
    if len(value) > MAX_FIELDS:
        raise ScriptResultError(f"incoming: more than {MAX_FIELDS} fields")
    for key, entry in value.items():
        if len(repr(entry)) > VALUE_LIMIT:
            raise ScriptResultError(f"incoming: the value of field {key!r} is too large")
    return dict(value)


def _comments(policy: Any) -> tuple[bool, str | None]:
    """``"merge"``, ``"none"``, or ``{"merge": True, "byline": "{author} ({side}) wrote:"}`` (``""``: no byline)."""
    if isinstance(policy, dict):
        unknown = sorted(str(key) for key in policy if key not in ("merge", "byline"))
        byline = policy.get("byline")
        if unknown or not isinstance(policy.get("merge", True), bool) or not isinstance(byline, (str, type(None))):
            raise ScriptResultError('incoming: comments must be "merge", "none" or {"merge": True, "byline": "..."}')
        return bool(policy.get("merge", True)), None if byline is None else byline[:200]
    return _policy({"comments": policy}, "comments"), None


def _policy(value: dict[str, Any], key: str) -> bool:
    policy = value.get(key, "none")
    if policy is None:
        return False
    if policy not in POLICIES:
        raise ScriptResultError(f"incoming: {key} must be one of {', '.join(POLICIES)}")
    return bool(policy == "merge")


def _kind(value: Any) -> str:
    return type(value).__name__


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    return f"{where}: {problem['msg']}"[:300]
