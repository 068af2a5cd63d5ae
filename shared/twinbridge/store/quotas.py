"""Per-connection quotas, in the node table: counters per fixed time window (replicas admitted, key rotations) and
leases (long-polls held open). Every item expires through the table's TTL; nothing needs cleaning up."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from twinbridge.store import keys
from twinbridge.store.conditions import condition_failed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


@dataclass(frozen=True)
class _Bucket:
    tokens: Decimal
    at: Decimal  # epoch seconds of the last take; the write condition


class QuotaRepository:
    def __init__(self, table: Table) -> None:
        self._table = table
        self._buckets: dict[tuple[str, str], _Bucket] = {}  # what this process last wrote of each bucket

    def take(self, connection_id: str, name: str, want: int, limit: int, window_seconds: int,
             now: float | None = None) -> tuple[int, float]:
        """Take up to ``want`` units of ``limit`` per window; returns (units granted, seconds until the window ends).
        Two calls at most: one read of what is left, one conditional add (racing takers never exceed the limit)."""
        moment = time.time() if now is None else now
        window = int(moment // window_seconds)
        retry_after = (window + 1) * window_seconds - moment
        key = {"PK": keys.connection_pk(connection_id), "SK": f"QUOTA#{name}#{window}"}
        for _ in range(3):
            item = self._table.get_item(Key=key, ConsistentRead=True).get("Item") or {}
            used = int(str(item.get("used", 0)))
            granted = min(want, limit - used)
            if granted <= 0:
                return 0, retry_after
            try:
                self._table.update_item(
                    Key=key, UpdateExpression="ADD used :n SET expires_at = :ttl",
                    ConditionExpression="attribute_not_exists(used) OR used <= :room",
                    ExpressionAttributeValues={":n": granted, ":room": limit - granted,
                                               ":ttl": int(moment) + 2 * window_seconds + 60},
                )
                return granted, retry_after
            except ClientError as exc:
                if not condition_failed(exc):
                    raise
        return 0, retry_after

    def take_tokens(self, connection_id: str, name: str, want: int, capacity: int, per_second: float,
                    now: float | None = None) -> tuple[int, float]:
        """A token bucket: up to ``want`` of the tokens there are (``capacity`` at most, ``per_second`` more each
        second); returns (tokens granted, seconds until the next one). A burst up to ``capacity`` passes at once,
        a steady stream up to ``per_second`` is never held back, a flood gets ``per_second``.

        One conditional write when this process wrote the bucket last (the usual case: a connection's replicas
        reach one warm container in turn), a read first otherwise; the condition on the bucket's time and tokens
        keeps racing takers from spending the same tokens twice."""
        moment = time.time() if now is None else now
        key: dict[str, Any] = {"PK": keys.connection_pk(connection_id), "SK": f"BUCKET#{name}"}
        for _ in range(3):
            known = self._buckets.get((connection_id, name))
            if known is None:
                item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
                known = _Bucket(Decimal(str(item["tokens"])), Decimal(str(item["at"]))) if item else None
            if known is None:
                tokens = float(capacity)
            else:
                elapsed = max(0.0, moment - float(known.at))
                tokens = min(float(capacity), float(known.tokens) + elapsed * per_second)
            granted = min(want, int(tokens))
            left = tokens - granted
            retry_after = 0.0 if left >= 1 else (1 - left) / per_second
            taken_at = max(moment, float(known.at)) if known else moment  # a clock behind never refills twice
            written = _Bucket(Decimal(str(round(left, 6))), Decimal(str(round(taken_at, 6))))
            values: dict[str, Any] = {":tokens": written.tokens, ":at": written.at, ":ttl": int(moment) + 3600}
            try:
                if known is not None:
                    self._table.update_item(
                        Key=key, UpdateExpression="SET tokens = :tokens, #at = :at, expires_at = :ttl",
                        ConditionExpression="#at = :last AND tokens = :before",
                        ExpressionAttributeNames={"#at": "at"},
                        ExpressionAttributeValues={**values, ":last": known.at, ":before": known.tokens})
                else:
                    self._table.put_item(Item={**key, "tokens": written.tokens, "at": written.at,
                                               "expires_at": values[":ttl"]},
                                         ConditionExpression="attribute_not_exists(PK)")
            except ClientError as exc:
                self._buckets.pop((connection_id, name), None)  # another container took tokens: read again
                if not condition_failed(exc):
                    raise
                continue
            self._buckets[(connection_id, name)] = written
            return granted, retry_after
        return 0, 1 / per_second

    def lease(self, connection_id: str, name: str, slots: int, seconds: float, holder: str,
              now: float | None = None) -> str | None:
        """Hold one of ``slots`` leases for ``seconds``; returns the slot's name, or None when all are held."""
        moment = time.time() if now is None else now
        for slot in range(slots):
            key = {"PK": keys.connection_pk(connection_id), "SK": f"LEASE#{name}#{slot}"}
            try:
                self._table.put_item(
                    Item={**key, "holder": holder, "until": int(moment + seconds) + 1,
                          "expires_at": int(moment + seconds) + 3600},
                    ConditionExpression="attribute_not_exists(PK) OR #until < :now",
                    ExpressionAttributeNames={"#until": "until"}, ExpressionAttributeValues={":now": int(moment)},
                )
                return str(key["SK"])
            except ClientError as exc:
                if not condition_failed(exc):
                    raise
        return None

    def release(self, connection_id: str, slot: str, holder: str) -> None:
        try:
            self._table.delete_item(Key={"PK": keys.connection_pk(connection_id), "SK": slot},
                                    ConditionExpression="holder = :me", ExpressionAttributeValues={":me": holder})
        except ClientError as exc:
            if not condition_failed(exc):
                raise
