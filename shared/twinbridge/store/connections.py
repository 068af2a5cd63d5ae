"""Connection records, their key index (unique key ids) and optimistic locking on ``version``."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from twinbridge.errors import ConcurrentModificationError, ConflictError, DuplicateKeyError, NotFoundError
from twinbridge.models.connection import Connection
from twinbridge.store import keys
from twinbridge.store.conditions import cancellation_codes, condition_failed
from twinbridge.store.serialization import COUNTER_FIELDS, from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class ConnectionRepository:
    """All reads and writes of connection records. ``table`` is a boto3 DynamoDB Table resource."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._client = table.meta.client

    # --- reads -------------------------------------------------------------------------------
    def get(self, connection_id: str) -> Connection:
        item = self._table.get_item(
            Key={"PK": keys.connection_pk(connection_id), "SK": keys.CONNECTION_SK}, ConsistentRead=True
        ).get("Item")
        if item is None:
            raise NotFoundError(f"connection {connection_id} does not exist on this node")
        return from_item(item)

    def find(self, connection_id: str) -> Connection | None:
        try:
            return self.get(connection_id)
        except NotFoundError:
            return None

    def list(self) -> builtins.list[Connection]:
        items: builtins.list[dict[str, Any]] = []
        query: dict[str, Any] = {
            "IndexName": keys.CONNECTIONS_INDEX,
            "KeyConditionExpression": Key("GSI1PK").eq(keys.CONNECTIONS_GSI_PK),
        }
        while True:
            page = self._table.query(**query)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [from_item(item) for item in items]

    def connection_id_for_key(self, key_id: str) -> str | None:
        item = self._table.get_item(Key={"PK": keys.key_pk(key_id), "SK": keys.KEY_SK}).get("Item")
        return str(item["connection_id"]) if item else None

    # --- writes ------------------------------------------------------------------------------
    def create(self, conn: Connection) -> Connection:
        """Store a new connection and claim its key ids; both must be new on this node."""
        writes: builtins.list[Any] = [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": to_item(conn),
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
        ]
        writes += self._key_claims(conn.id, self._index_key_ids(conn))
        try:
            self._client.transact_write_items(TransactItems=writes)
        except self._client.exceptions.TransactionCanceledException as exc:
            codes = cancellation_codes(exc)
            if codes and codes[0] == "ConditionalCheckFailed":
                raise ConflictError(f"connection {conn.id} already exists on this node") from exc
            raise DuplicateKeyError(
                "the local authentication key is already used by another connection on this node"
            ) from exc
        return conn

    def save(self, conn: Connection) -> Connection:
        """Write ``conn`` if nobody changed it since it was read (``version``); index new key ids, drop gone ones.

        Raises:
            ConcurrentModificationError: the record changed meanwhile; read it again and retry.
        """
        old_version = conn.version
        conn.version = old_version + 1
        conn.updated_at = dt.datetime.now(dt.UTC)
        item = to_item(conn)
        fields = [name for name in item if name not in ("PK", "SK", *COUNTER_FIELDS)]
        cleared = [name for name in Connection.model_fields if name not in item and name not in COUNTER_FIELDS]
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        names.update({f"#r{i}": name for i, name in enumerate(cleared)})
        values = {f":v{i}": item[name] for i, name in enumerate(fields)}
        values[":expected"] = old_version
        expression = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields)))
        if cleared:
            expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(cleared)))
        update = {
            "Update": {
                "TableName": self._table.name,
                "Key": {"PK": item["PK"], "SK": item["SK"]},
                "UpdateExpression": expression,
                "ConditionExpression": "attribute_exists(PK) AND #version = :expected",
                "ExpressionAttributeNames": {**names, "#version": "version"},
                "ExpressionAttributeValues": values,
            }
        }
        existing = set(self._existing_key_ids(conn.id))
        wanted = self._index_key_ids(conn)
        claims = self._key_claims(conn.id, [kid for kid in wanted if kid not in existing])
        try:
            self._client.transact_write_items(TransactItems=[update, *claims])  # type: ignore[list-item]
        except self._client.exceptions.TransactionCanceledException as exc:
            conn.version = old_version
            codes = cancellation_codes(exc)
            if codes and codes[0] == "ConditionalCheckFailed":
                raise ConcurrentModificationError(
                    f"connection {conn.id} was changed by someone else meanwhile; read it again and retry"
                ) from exc
            raise DuplicateKeyError("a key id of this connection is already used by another connection") from exc
        # Index items of keys no longer held: outside the transaction (at most 100 items), any number of them.
        # One left behind by a crash only points at a connection that no longer holds that key: it verifies nothing.
        with self._table.batch_writer() as batch:
            for kid in sorted(existing - set(wanted)):
                batch.delete_item(Key={"PK": keys.key_pk(kid), "SK": keys.KEY_SK})
        return conn

    def delete(self, connection_id: str) -> None:
        """Remove the record, its key index entries, its outbox and its event log."""
        key_ids = self._existing_key_ids(connection_id)
        with self._table.batch_writer() as batch:
            for kid in key_ids:
                batch.delete_item(Key={"PK": keys.key_pk(kid), "SK": keys.KEY_SK})
            query: dict[str, Any] = {
                "KeyConditionExpression": Key("PK").eq(keys.connection_pk(connection_id)),
                "ProjectionExpression": "PK, SK",
            }
            while True:
                page = self._table.query(**query)
                for item in page["Items"]:
                    batch.delete_item(Key={"PK": item["PK"], "SK": item["SK"]})
                if "LastEvaluatedKey" not in page:
                    break
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def touch(self, connection_id: str, moment: dt.datetime) -> None:
        """Record that the partner was heard from (no version bump: liveness is not an admin change)."""
        try:
            self._table.update_item(
                Key={"PK": keys.connection_pk(connection_id), "SK": keys.CONNECTION_SK},
                UpdateExpression="SET last_contact_at = :at",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeValues={":at": moment.isoformat()},
            )
        except ClientError as exc:
            if not condition_failed(exc):
                raise

    def advance_in_seq(self, connection_id: str, previous: int, new: int) -> bool:
        """Move the receive watermark from ``previous`` to ``new``; False when another delivery got there first."""
        try:
            self._table.update_item(
                Key={"PK": keys.connection_pk(connection_id), "SK": keys.CONNECTION_SK},
                UpdateExpression="SET in_seq = :new",
                ConditionExpression="attribute_exists(PK) AND in_seq = :previous",
                ExpressionAttributeValues={":new": new, ":previous": previous},
            )
            return True
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise

    # --- helpers -----------------------------------------------------------------------------
    @staticmethod
    def _index_key_ids(conn: Connection) -> builtins.list[str]:
        return [key.key_id for key in conn.keys.inbound]

    def _key_claims(self, connection_id: str, key_ids: Iterable[str]) -> builtins.list[dict[str, Any]]:
        return [
            {
                "Put": {
                    "TableName": self._table.name,
                    "Item": {"PK": keys.key_pk(kid), "SK": keys.KEY_SK, "connection_id": connection_id},
                    "ConditionExpression": "attribute_not_exists(PK)",
                }
            }
            for kid in key_ids
        ]

    def _existing_key_ids(self, connection_id: str) -> builtins.list[str]:
        conn = self.find(connection_id)
        return self._index_key_ids(conn) if conn else []
