"""A short activity log per connection (what happened, never secrets), expired after 30 days."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from twinbridge.store import keys

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

RETENTION_SECONDS = 30 * 24 * 3600
_INTERNAL = ("PK", "SK", keys.TTL_ATTRIBUTE)


class EventLog:
    def __init__(self, table: Table) -> None:
        self._table = table

    def record(
        self,
        connection_id: str,
        kind: str,
        detail: str = "",
        *,
        at: dt.datetime | None = None,
        event_id: str | None = None,
        **extra: Any,
    ) -> None:
        """Append an entry; the same (``at``, ``event_id``) pair overwrites, so redeliveries never duplicate."""
        moment = (at or dt.datetime.now(dt.UTC)).isoformat()
        self._table.put_item(
            Item={
                "PK": keys.connection_pk(connection_id),
                "SK": keys.event_sk(moment, event_id or uuid.uuid4().hex),
                "at": moment,
                "kind": kind,
                "detail": detail,
                keys.TTL_ATTRIBUTE: int(time.time()) + RETENTION_SECONDS,
                **extra,
            }
        )

    def recent(self, connection_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """Newest first."""
        page = self._table.query(
            KeyConditionExpression=Key("PK").eq(keys.connection_pk(connection_id))
            & Key("SK").begins_with(keys.EVENT_PREFIX),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [
            {
                name: int(value) if isinstance(value, Decimal) else value
                for name, value in item.items()
                if name not in _INTERNAL
            }
            for item in page["Items"]
        ]
