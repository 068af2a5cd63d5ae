"""Script-mode rule versions per connection and direction, the active pointer and the history (one partition each).

Items, all under the connection's partition ``CONN#<id>`` (so deleting the connection deletes them):

- ``RULES#<in|out>#v000042``: one version (source, digest, status, author, diagnostics); written once by a save
  (a conditional put: two saves never take one number), then only its ``status`` changes;
- ``RULES#<in|out>#ACTIVE``: the active pointer ``{version, sha256}``, moved by a publish only while it still points
  where the publisher saw it; absent (or version 0) means the generated defaults run;
- ``RULES#<in|out>#LOG#<time>#<id>``: the history, one entry per save, publish or rollback, written in the same
  transaction as the change it records.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import uuid
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from twinbridge.errors import ConcurrentModificationError, ConflictError, NotFoundError
from twinbridge.models.rules import (
    MAX_VERSION,
    ActiveRules,
    RuleAction,
    RuleDiagnostic,
    RuleDirection,
    RuleDraft,
    RuleHistoryEntry,
    RuleVersion,
    RuleVersionSummary,
)
from twinbridge.store import keys
from twinbridge.store.conditions import cancellation_codes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

API_VERSION = 1  # the script API the source was written against (design brief §3.2)
SAVE_ATTEMPTS = 5  # a save that lost the race for a version number takes the next one
_SUMMARY_ATTRIBUTES = ("version", "status", "sha256", "author", "created_at", "note", "based_on", "error_count",
                       "warning_count")


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _number(value: Any) -> int:
    return int(value)


class RulesRepository:
    """Reads and writes of rule versions; ``table`` is the node's DynamoDB Table resource."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._client = table.meta.client

    # --- reads -------------------------------------------------------------------------------
    def get(self, connection_id: str, direction: RuleDirection, version: int) -> RuleVersion:
        """One version. Raises NotFoundError when it was never saved."""
        item = None
        if 1 <= version <= MAX_VERSION:
            item = self._table.get_item(
                Key={"PK": keys.connection_pk(connection_id), "SK": keys.rules_version_sk(direction, version)},
                ConsistentRead=True,
            ).get("Item")
        if item is None:
            raise NotFoundError(f"connection {connection_id} has no {direction} rules version {version}")
        return _version_from_item(item)

    def latest(self, connection_id: str, direction: RuleDirection) -> RuleVersion | None:
        """The newest version saved, whatever its status; None before the first save."""
        page = self._table.query(
            KeyConditionExpression=Key("PK").eq(keys.connection_pk(connection_id))
            & Key("SK").between(keys.rules_version_sk(direction, 0), keys.rules_version_sk(direction, MAX_VERSION)),
            ScanIndexForward=False, Limit=1, ConsistentRead=True,
        )
        return _version_from_item(page["Items"][0]) if page["Items"] else None

    def list(self, connection_id: str, direction: RuleDirection, limit: int = 20,
             before: int | None = None) -> tuple[builtins.list[RuleVersionSummary], int | None]:
        """Versions newest first, without their source: at most ``limit`` of them, older than ``before`` when given.
        The second value is the ``before`` of the next page (None on the last one)."""
        top = MAX_VERSION if before is None else before - 1
        if top < 1:
            return [], None
        names = {f"#a{i}": name for i, name in enumerate(_SUMMARY_ATTRIBUTES)}
        query: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(keys.connection_pk(connection_id))
            & Key("SK").between(keys.rules_version_sk(direction, 1), keys.rules_version_sk(direction, top)),
            "ScanIndexForward": False,
            "Limit": limit + 1,
            "ProjectionExpression": ", ".join(names),
            "ExpressionAttributeNames": names,
        }
        items: builtins.list[dict[str, Any]] = []
        while len(items) <= limit:
            page = self._table.query(**query)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        summaries = [_summary_from_item(item) for item in items[:limit]]
        more = len(items) > limit
        return summaries, (summaries[-1].version if more and summaries else None)

    def history(self, connection_id: str, direction: RuleDirection, limit: int = 50) -> builtins.list[RuleHistoryEntry]:
        """Saves, publishes and rollbacks, newest first (at most ``limit``)."""
        page = self._table.query(
            KeyConditionExpression=Key("PK").eq(keys.connection_pk(connection_id))
            & Key("SK").begins_with(keys.rules_log_prefix(direction)),
            ScanIndexForward=False, Limit=limit,
        )
        return [
            RuleHistoryEntry(
                connection_id=connection_id, direction=direction, action=item["action"],
                version=_number(item["version"]), previous=_int(item.get("previous")), author=str(item["author"]),
                at=dt.datetime.fromisoformat(str(item["at"])), note=str(item.get("note", "")),
            )
            for item in page["Items"]
        ]

    def active_pointer(self, connection_id: str, direction: RuleDirection) -> ActiveRules | None:
        """Which version runs in production; None when no version was ever published (the defaults run)."""
        item = self._table.get_item(
            Key={"PK": keys.connection_pk(connection_id), "SK": keys.rules_active_sk(direction)}, ConsistentRead=True
        ).get("Item")
        return ActiveRules(version=_number(item["version"]), sha256=str(item["sha256"])) if item else None

    def active(self, connection_id: str, direction: RuleDirection) -> RuleVersion | None:
        """The version that runs in production; None when the generated defaults run."""
        pointer = self.active_pointer(connection_id, direction)
        if pointer is None or pointer.version == 0:
            return None
        return self.get(connection_id, direction, pointer.version)

    # --- writes ------------------------------------------------------------------------------
    def save_draft(self, draft: RuleDraft) -> RuleVersion:
        """Store ``draft`` as a new version, numbered one above the newest. The put is conditional, so two saves
        at once get two numbers (the loser takes the next one); the connection must still exist.

        Raises:
            NotFoundError: the connection is gone.
            ConcurrentModificationError: lost the race for a number SAVE_ATTEMPTS times in a row.
        """
        for _ in range(SAVE_ATTEMPTS):
            latest = self.latest(draft.connection_id, draft.direction)
            number = (latest.version if latest else 0) + 1
            if number > MAX_VERSION:
                raise ConflictError(f"connection {draft.connection_id} has used every {draft.direction} "
                                    f"rules version number (at most {MAX_VERSION})")
            version = RuleVersion(**draft.model_dump(), version=number, status="draft")
            entry = RuleHistoryEntry(connection_id=draft.connection_id, direction=draft.direction, action="saved",
                                     version=number, author=draft.author, at=draft.created_at, note=draft.note)
            writes: builtins.list[Any] = [
                {"Put": {"TableName": self._table.name, "Item": _version_to_item(version),
                         "ConditionExpression": "attribute_not_exists(PK)"}},
                self._connection_exists(draft.connection_id),
                self._history_put(entry),
            ]
            try:
                self._client.transact_write_items(TransactItems=writes)
                return version
            except self._client.exceptions.TransactionCanceledException as exc:
                codes = cancellation_codes(exc)
                if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                    raise NotFoundError(f"connection {draft.connection_id} does not exist on this node") from exc
                if not codes or codes[0] != "ConditionalCheckFailed":
                    raise
        raise ConcurrentModificationError(
            f"other saves of the {draft.direction} rules of {draft.connection_id} kept taking the next version "
            "number; try again")

    def publish(self, connection_id: str, direction: RuleDirection, target: ActiveRules,
                expected_active: int | None, *, author: str, at: dt.datetime,
                action: RuleAction = "published", note: str = "") -> None:
        """Make ``target`` the active version in one transaction: the pointer moves only while it still points at
        ``expected_active`` (None: no pointer yet), the target (unless 0, the defaults) must exist without errors and
        becomes 'published', the previously published version becomes 'retired', and the history gets an entry.

        Raises:
            NotFoundError: the connection is gone.
            ConcurrentModificationError: someone else published meanwhile, or the target changed; read and retry.
        """
        pk = keys.connection_pk(connection_id)
        pointer: dict[str, Any] = {
            "Put": {
                "TableName": self._table.name,
                "Item": {"PK": pk, "SK": keys.rules_active_sk(direction), "version": target.version,
                         "sha256": target.sha256, "updated_at": at.isoformat(), "updated_by": author},
                "ConditionExpression": "attribute_not_exists(PK)" if expected_active is None else "#v = :expected",
            }
        }
        if expected_active is not None:
            pointer["Put"]["ExpressionAttributeNames"] = {"#v": "version"}
            pointer["Put"]["ExpressionAttributeValues"] = {":expected": expected_active}
        writes: builtins.list[Any] = [self._connection_exists(connection_id), pointer]
        if target.version > 0:
            writes.append({"Update": {
                "TableName": self._table.name,
                "Key": {"PK": pk, "SK": keys.rules_version_sk(direction, target.version)},
                "UpdateExpression": "SET #s = :published",
                "ConditionExpression": "attribute_exists(PK) AND error_count = :zero AND sha256 = :sha",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":published": "published", ":zero": 0, ":sha": target.sha256},
            }})
        if expected_active and expected_active != target.version:
            writes.append({"Update": {
                "TableName": self._table.name,
                "Key": {"PK": pk, "SK": keys.rules_version_sk(direction, expected_active)},
                "UpdateExpression": "SET #s = :retired",
                "ConditionExpression": "attribute_exists(PK)",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": {":retired": "retired"},
            }})
        writes.append(self._history_put(RuleHistoryEntry(
            connection_id=connection_id, direction=direction, action=action, version=target.version,
            previous=expected_active, author=author, at=at, note=note)))
        try:
            self._client.transact_write_items(TransactItems=writes)
        except self._client.exceptions.TransactionCanceledException as exc:
            codes = cancellation_codes(exc)
            if codes and codes[0] == "ConditionalCheckFailed":
                raise NotFoundError(f"connection {connection_id} does not exist on this node") from exc
            if "ConditionalCheckFailed" in codes:
                raise ConcurrentModificationError(
                    f"the active {direction} rules of {connection_id} changed meanwhile; look again and retry"
                ) from exc
            raise

    # --- helpers -----------------------------------------------------------------------------
    def _connection_exists(self, connection_id: str) -> dict[str, Any]:
        return {"ConditionCheck": {
            "TableName": self._table.name,
            "Key": {"PK": keys.connection_pk(connection_id), "SK": keys.CONNECTION_SK},
            "ConditionExpression": "attribute_exists(PK)",
        }}

    def _history_put(self, entry: RuleHistoryEntry) -> dict[str, Any]:
        item: dict[str, Any] = {
            "PK": keys.connection_pk(entry.connection_id),
            "SK": keys.rules_log_sk(entry.direction, entry.at.isoformat(), uuid.uuid4().hex[:12]),
            "action": entry.action, "version": entry.version, "author": entry.author, "at": entry.at.isoformat(),
            "note": entry.note,
        }
        if entry.previous is not None:
            item["previous"] = entry.previous
        return {"Put": {"TableName": self._table.name, "Item": item}}


def _version_to_item(version: RuleVersion) -> dict[str, Any]:
    item: dict[str, Any] = {
        "PK": keys.connection_pk(version.connection_id),
        "SK": keys.rules_version_sk(version.direction, version.version),
        "connection_id": version.connection_id, "direction": version.direction, "version": version.version,
        "source": version.source, "sha256": version.sha256, "status": version.status, "author": version.author,
        "created_at": version.created_at.isoformat(), "note": version.note, "engine": version.engine,
        "api": API_VERSION,
        # JSON text, not a map: DynamoDB would turn the numbers into Decimals
        "diagnostics": json.dumps([d.model_dump() for d in version.diagnostics]),
        "error_count": len(version.errors), "warning_count": len(version.warnings),
    }
    if version.based_on is not None:
        item["based_on"] = version.based_on
    return item


def _version_from_item(item: dict[str, Any]) -> RuleVersion:
    return RuleVersion(
        connection_id=str(item["connection_id"]), direction=item["direction"], version=int(item["version"]),
        source=str(item["source"]), sha256=str(item["sha256"]), status=item["status"], author=str(item["author"]),
        created_at=dt.datetime.fromisoformat(str(item["created_at"])), note=str(item.get("note", "")),
        based_on=_int(item.get("based_on")), engine=str(item["engine"]),
        diagnostics=[RuleDiagnostic.model_validate(d) for d in json.loads(str(item.get("diagnostics", "[]")))],
    )


def _summary_from_item(item: dict[str, Any]) -> RuleVersionSummary:
    return RuleVersionSummary(
        version=int(item["version"]), status=item["status"], sha256=str(item["sha256"]), author=str(item["author"]),
        created_at=dt.datetime.fromisoformat(str(item["created_at"])), note=str(item.get("note", "")),
        based_on=_int(item.get("based_on")), errors=int(item.get("error_count", 0)),
        warnings=int(item.get("warning_count", 0)),
    )
