"""Seen request nonces, kept past the signature skew window and then expired by DynamoDB TTL."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from twinbridge.store import keys
from twinbridge.store.conditions import condition_failed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class NonceRepository:
    """``ttl_seconds`` must outlast the window in which a signed request is accepted (the signing skew, both ways)."""

    def __init__(self, table: Table, ttl_seconds: int) -> None:
        self._table = table
        self._ttl_seconds = ttl_seconds

    def remember(self, nonce: str) -> bool:
        """Record ``nonce``; False when it was seen before (a replay)."""
        try:
            self._table.put_item(
                Item={
                    "PK": keys.nonce_pk(nonce),
                    "SK": keys.NONCE_SK,
                    keys.TTL_ATTRIBUTE: int(time.time()) + self._ttl_seconds,
                },
                ConditionExpression="attribute_not_exists(PK)",
            )
            return True
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
