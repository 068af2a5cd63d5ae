"""Seen request nonces, kept past the signature skew window and then expired by DynamoDB TTL."""

from __future__ import annotations

import time

from botocore.exceptions import ClientError

from twinbridge.peers.signing import MAX_SKEW_SECONDS
from twinbridge.store import keys as k


class NonceRepository:
    def __init__(self, table) -> None:
        self._table = table

    def remember(self, nonce: str) -> bool:
        """Record ``nonce``; False when it was seen before (a replay)."""
        try:
            self._table.put_item(
                Item={
                    "PK": k.nonce_pk(nonce),
                    "SK": k.NONCE_SK,
                    k.TTL_ATTRIBUTE: int(time.time()) + 2 * MAX_SKEW_SECONDS + 60,
                },
                ConditionExpression="attribute_not_exists(PK)",
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
