"""Reconciliation state per tracker project: the watermark (newest ``updated`` handed to the queue) and the
versions queued near it, so a re-found item is not queued again and a late-indexed one is not missed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from twinbridge.store import keys
from twinbridge.store.conditions import condition_failed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

MAX_SEEN = 5000  # keeps the record far below DynamoDB's 400 KB item limit


def iso(value: datetime) -> str:
    """A fixed-width UTC form, so string order is time order."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass
class ScanState:
    since: datetime
    seen: dict[str, str] = field(default_factory=dict)  # item id -> iso(updated) already queued
    version: int = 0

    def prune(self, older_than: datetime) -> None:
        cutoff = iso(older_than)
        kept = sorted(((at, item) for item, at in self.seen.items() if at >= cutoff), reverse=True)[:MAX_SEEN]
        self.seen = {item: at for at, item in kept}


class WatermarkRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, tracker: str, project: str) -> ScanState | None:
        item = self._table.get_item(
            Key={"PK": keys.watermark_pk(tracker), "SK": keys.watermark_sk(project)}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        seen: dict[str, Any] = item.get("seen") or {}  # type: ignore[assignment]  # a DynamoDB map of strings
        return ScanState(since=parse_iso(str(item["since"])), seen={str(k): str(v) for k, v in seen.items()},
                         version=int(str(item["version"])))

    def save(self, tracker: str, project: str, state: ScanState) -> bool:
        """Write ``state`` if nobody saved since it was read (overlapping scans); False when another scan won."""
        item: dict[str, Any] = {
            "PK": keys.watermark_pk(tracker), "SK": keys.watermark_sk(project), "since": iso(state.since),
            "seen": state.seen, "version": state.version + 1, "updated_at": iso(datetime.now(UTC)),
        }
        try:
            if state.version == 0:
                self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(PK)")
            else:
                self._table.put_item(Item=item, ConditionExpression="version = :expected",
                                     ExpressionAttributeValues={":expected": state.version})
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        state.version += 1
        return True
