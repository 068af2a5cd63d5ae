"""Twins in the node table, under their connection (deleted with it): the record keyed by twin id, an index
item from the local item id, and a sparse GSI1 entry while the twin has an error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from twinbridge.errors import ConcurrentModificationError
from twinbridge.models.twin import Twin
from twinbridge.store import keys as k


class TwinRepository:
    def __init__(self, table) -> None:
        self._table = table

    def get(self, connection_id: str, twin_id: str) -> Twin | None:
        item = self._table.get_item(
            Key={"PK": k.connection_pk(connection_id), "SK": k.twin_sk(twin_id)}, ConsistentRead=True
        ).get("Item")
        return Twin.model_validate_json(item["doc"]) if item else None

    def find_by_local(self, connection_id: str, local_item_id: str) -> Twin | None:
        item = self._table.get_item(
            Key={"PK": k.connection_pk(connection_id), "SK": k.twin_local_sk(local_item_id)}, ConsistentRead=True
        ).get("Item")
        return self.get(connection_id, item["twin_id"]) if item else None

    def list(self, connection_id: str) -> list[Twin]:
        return self._query_all(
            KeyConditionExpression=Key("PK").eq(k.connection_pk(connection_id)) & Key("SK").begins_with(k.TWIN_PREFIX),
            ConsistentRead=True,
        )

    def with_errors(self) -> list[Twin]:
        return self._query_all(IndexName=k.CONNECTIONS_INDEX, KeyConditionExpression=Key("GSI1PK").eq(k.TWIN_ERRORS_GSI_PK))

    def _query_all(self, **query: Any) -> list[Twin]:
        found: list[Twin] = []
        while True:
            page = self._table.query(**query)
            found += [Twin.model_validate_json(item["doc"]) for item in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return found
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def save(self, twin: Twin, *, local_assigned: bool = False) -> Twin:
        """Create (version 0) or update (the stored version must still be ``twin.version``); bumps the version.
        ``local_assigned``: the local item was just set on an existing twin, so index it.

        Raises ConcurrentModificationError when someone else saved in between: re-read and retry.
        """
        expected = twin.version
        twin.version = expected + 1
        item: dict[str, Any] = {
            "PK": k.connection_pk(twin.connection_id), "SK": k.twin_sk(twin.twin_id),
            "version": twin.version, "doc": twin.model_dump_json(),
        }
        if twin.last_error is not None:
            item.update(GSI1PK=k.TWIN_ERRORS_GSI_PK, GSI1SK=f"{twin.connection_id}#{twin.twin_id}")
        condition = "attribute_not_exists(PK)" if expected == 0 else "version = :expected"
        try:
            self._table.put_item(
                Item=item, ConditionExpression=condition,
                **({"ExpressionAttributeValues": {":expected": expected}} if expected else {}),
            )
        except ClientError as exc:
            twin.version = expected
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConcurrentModificationError(
                    f"twin {twin.twin_id} changed while it was being updated; try again") from exc
            raise
        if twin.local is not None and (expected == 0 or local_assigned):
            self._table.put_item(Item={
                "PK": k.connection_pk(twin.connection_id), "SK": k.twin_local_sk(twin.local.id), "twin_id": twin.twin_id,
            })
        return twin

    def update(self, connection_id: str, twin_id: str, change: Callable[[Twin], bool], *,
               new: Callable[[], Twin] | None = None, attempts: int = 5) -> Twin | None:
        """Read, ``change``, save; re-read and repeat on a concurrent save. ``change`` returns False to save
        nothing; a missing twin is made by ``new`` (else nothing is saved). Returns the saved twin or None."""
        for _ in range(attempts):
            twin = self.get(connection_id, twin_id) or (new() if new else None)
            if twin is None or not change(twin):
                return None
            try:
                return self.save(twin)
            except ConcurrentModificationError:
                continue
        raise ConcurrentModificationError(f"twin {twin_id} kept changing while it was being updated; try again")

    def delete(self, twin: Twin) -> None:
        with self._table.batch_writer() as batch:
            batch.delete_item(Key={"PK": k.connection_pk(twin.connection_id), "SK": k.twin_sk(twin.twin_id)})
            if twin.local is not None:
                batch.delete_item(Key={"PK": k.connection_pk(twin.connection_id), "SK": k.twin_local_sk(twin.local.id)})
