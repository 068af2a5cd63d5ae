"""Reconciliation watermarks: per tracker project, the newest ``updated`` time the scan has handed to the queue."""

from __future__ import annotations

from datetime import UTC, datetime

from botocore.exceptions import ClientError

from twinbridge.store import keys as k


def _iso(value: datetime) -> str:
    """A fixed-width UTC form, so DynamoDB's string comparison orders watermarks correctly."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class WatermarkRepository:
    def __init__(self, table) -> None:
        self._table = table

    def get(self, tracker: str, project: str) -> datetime | None:
        item = self._table.get_item(Key={"PK": k.watermark_pk(tracker), "SK": k.watermark_sk(project)}).get("Item")
        if not item:
            return None
        return datetime.strptime(item["since"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)

    def advance(self, tracker: str, project: str, to: datetime) -> bool:
        """Move the watermark forward to ``to``; never backwards (overlapping scans may finish out of order)."""
        try:
            self._table.update_item(
                Key={"PK": k.watermark_pk(tracker), "SK": k.watermark_sk(project)},
                UpdateExpression="SET since = :to, updated_at = :now",
                ConditionExpression="attribute_not_exists(since) OR since < :to",
                ExpressionAttributeValues={":to": _iso(to), ":now": _iso(datetime.now(UTC))},
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
