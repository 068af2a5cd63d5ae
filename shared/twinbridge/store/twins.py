"""Twins in the node table, under their connection (deleted with it): the record keyed by twin id, an index
item from the local item id, a sparse GSI1 entry while the twin has an error, and the twin's inbox: the newest
replica received from the partner, an item of its own so receiving never races applying. It is pending while
its seq is above the twin's ``in_seq``; once applied it stays as the last replica received (no delete to pay)."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from twinbridge.errors import ConcurrentModificationError, StoreBusyError
from twinbridge.models.connection import Connection
from twinbridge.models.replica import ReplicaMessage
from twinbridge.models.twin import Twin
from twinbridge.store import keys
from twinbridge.store.conditions import condition_failed
from twinbridge.store.serialization import from_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

# change(twin) edits the twin in place and returns False when there is nothing to save (None counts as True).
TwinChange = Callable[[Twin], bool | None]
UPDATE_ATTEMPTS = 5
BATCH_GET_ATTEMPTS = 3


@dataclass(frozen=True)
class ApplyState:
    """What applying a replica starts from; None where the item does not exist (a deleted connection, an unlinked
    twin, nothing pending)."""

    connection: Connection | None
    twin: Twin | None
    pending: ReplicaMessage | None


@dataclass
class TwinSave:
    """Saving one twin as part of a transaction: its ``writes`` (conditional on the version read) and what the
    twin becomes once they are ``committed`` (the next version, its local item indexed)."""

    twin: Twin
    writes: builtins.list[dict[str, Any]]
    conflict: str  # said when the twin's condition fails: someone else saved it in between

    def committed(self) -> None:
        self.twin.version += 1
        if self.twin.local is not None:
            self.twin.indexed_local_id = self.twin.local.id


class TwinRepository:
    def __init__(self, table: Table) -> None:
        self._table = table

    # --- the twin record -------------------------------------------------------------------------------------
    def get(self, connection_id: str, twin_id: str) -> Twin | None:
        item = self._table.get_item(
            Key={"PK": keys.connection_pk(connection_id), "SK": keys.twin_sk(twin_id)}, ConsistentRead=True
        ).get("Item")
        return _load(item) if item else None

    def find_by_local(self, connection_id: str, local_item_id: str) -> Twin | None:
        item = self._table.get_item(
            Key={"PK": keys.connection_pk(connection_id), "SK": keys.twin_local_sk(local_item_id)}, ConsistentRead=True
        ).get("Item")
        return self.get(connection_id, str(item["twin_id"])) if item else None

    def list(self, connection_id: str) -> builtins.list[Twin]:
        return [_load(item) for item in self._query_all(
            KeyConditionExpression=Key("PK").eq(keys.connection_pk(connection_id))
            & Key("SK").begins_with(keys.TWIN_PREFIX),
            ConsistentRead=True,
        )]

    def with_errors(self) -> builtins.list[Twin]:
        return [_load(item) for item in self._query_all(
            IndexName=keys.CONNECTIONS_INDEX, KeyConditionExpression=Key("GSI1PK").eq(keys.TWIN_ERRORS_GSI_PK))]

    def update(self, connection_id: str, twin_id: str, change: TwinChange, *, current: Twin | None = None,
               new: Callable[[], Twin] | None = None, attempts: int = UPDATE_ATTEMPTS) -> Twin | None:
        """The one way to change a twin: ``change`` it and save, re-reading and changing again whenever someone
        else saved in between (so ``change`` must be safe to apply to a fresher record).

        Args:
            current: the twin as the caller last read or saved it; the first attempt starts from it (no read).
            new: makes the twin when none is stored (otherwise nothing is saved).

        Returns:
            The saved twin (``current`` itself when its first save went through), or None when nothing was saved.

        Raises:
            ConcurrentModificationError: it kept changing for ``attempts`` tries (the caller's job is retried).
        """
        twin = current
        for _ in range(attempts):
            if twin is None:
                twin = self.get(connection_id, twin_id) or (new() if new else None)
                if twin is None:
                    return None
            if change(twin) is False:
                return None
            try:
                return self.save(twin)
            except ConcurrentModificationError:
                twin = None
        raise ConcurrentModificationError(f"twin {twin_id} kept changing while it was being updated; try again")

    def save(self, twin: Twin) -> Twin:
        """One conditional write: create (version 0) or replace the version read; bumps the version. The local
        item is indexed when it is new on the twin. Services change twins through ``update``.

        Raises ConcurrentModificationError when someone else saved in between: re-read and retry.
        """
        part = self.save_alongside(twin)
        record = part.writes[0]["Put"]
        try:
            self._table.put_item(**{name: value for name, value in record.items() if name != "TableName"})
        except ClientError as exc:
            if condition_failed(exc):
                raise ConcurrentModificationError(part.conflict) from exc
            raise
        for write in part.writes[1:]:
            self._table.put_item(Item=write["Put"]["Item"])
        part.committed()
        return twin

    def save_alongside(self, twin: Twin) -> TwinSave:
        """The writes ``save`` makes, for another repository's transaction (the outbox appends a replica and saves
        the twin that records it in one, so no crash can come between them)."""
        expected = twin.version
        record: dict[str, Any] = {
            "PK": keys.connection_pk(twin.connection_id), "SK": keys.twin_sk(twin.twin_id),
            "version": expected + 1, "doc": twin.model_copy(update={"version": expected + 1}).model_dump_json(),
        }
        if twin.last_error is not None:
            record.update(GSI1PK=keys.TWIN_ERRORS_GSI_PK, GSI1SK=f"{twin.connection_id}#{twin.twin_id}")
        put: dict[str, Any] = {"TableName": self._table.name, "Item": record}
        if expected == 0:
            put["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            put.update(ConditionExpression="version = :expected", ExpressionAttributeValues={":expected": expected})
        writes = [{"Put": put}]
        if twin.local is not None and twin.local.id != twin.indexed_local_id:
            writes.append({"Put": {"TableName": self._table.name, "Item": {
                "PK": keys.connection_pk(twin.connection_id), "SK": keys.twin_local_sk(twin.local.id),
                "twin_id": twin.twin_id}}})
        return TwinSave(twin, writes, f"twin {twin.twin_id} changed while it was being updated; try again")

    def delete(self, twin: Twin) -> None:
        """The twin, its local-item index and its inbox."""
        pk = keys.connection_pk(twin.connection_id)
        with self._table.batch_writer() as batch:
            batch.delete_item(Key={"PK": pk, "SK": keys.twin_sk(twin.twin_id)})
            batch.delete_item(Key={"PK": pk, "SK": keys.inbox_sk(twin.twin_id)})
            if twin.local is not None:
                batch.delete_item(Key={"PK": pk, "SK": keys.twin_local_sk(twin.local.id)})

    # --- the inbox: the newest replica received (pending while its seq > the twin's in_seq) --------------------
    def get_for_apply(self, connection_id: str, twin_id: str) -> ApplyState:
        """The connection, the twin and the replica waiting to be applied to it: the three items of one partition
        in one strongly consistent BatchGetItem (keys DynamoDB leaves unprocessed are asked for again)."""
        pk = keys.connection_pk(connection_id)
        wanted = {"META": keys.CONNECTION_SK, "twin": keys.twin_sk(twin_id), "inbox": keys.inbox_sk(twin_id)}
        items = self._batch_get([{"PK": pk, "SK": sk} for sk in wanted.values()])
        conn_item, twin_item, inbox_item = (items.get(sk) for sk in wanted.values())
        twin = _load(twin_item) if twin_item else None
        held = ReplicaMessage.model_validate_json(str(inbox_item["message_json"])) if inbox_item else None
        if held is not None and twin is not None and held.seq <= twin.in_seq:
            held = None  # applied already
        return ApplyState(from_item(conn_item) if conn_item else None, twin, held)

    def _batch_get(self, wanted: builtins.list[dict[str, str]]) -> dict[str, dict[str, Any]]:
        """SK -> item for the keys that exist. Raises when DynamoDB still leaves some unprocessed (throttled):
        the job is retried rather than taking a missing answer for a missing item."""
        client, found = self._table.meta.client, {}
        request: Any = {self._table.name: {"Keys": wanted, "ConsistentRead": True}}
        for _ in range(BATCH_GET_ATTEMPTS):
            answer = client.batch_get_item(RequestItems=request)
            found.update({str(item["SK"]): item for item in answer["Responses"].get(self._table.name, [])})
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                return found
        raise StoreBusyError("DynamoDB left keys unprocessed after retries: the job is retried later")

    def hold(self, connection_id: str, message: ReplicaMessage) -> bool:
        """Keep ``message`` until it is applied, unless a newer replica already waits; True when kept (the same
        replica again counts as kept: its apply may not have been queued before a crash)."""
        try:
            self._table.put_item(
                Item={"PK": keys.connection_pk(connection_id), "SK": keys.inbox_sk(message.twin_id),
                      "seq": message.seq, "message_json": message.model_dump_json()},
                ConditionExpression="attribute_not_exists(PK) OR seq <= :seq",
                ExpressionAttributeValues={":seq": message.seq},
            )
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise
        return True

    def last_received(self, connection_id: str, twin_id: str) -> ReplicaMessage | None:
        """The newest replica received for the twin (applied or not: compare its seq with the twin's in_seq)."""
        item = self._table.get_item(
            Key={"PK": keys.connection_pk(connection_id), "SK": keys.inbox_sk(twin_id)}, ConsistentRead=True
        ).get("Item")
        return ReplicaMessage.model_validate_json(str(item["message_json"])) if item else None

    def received_seqs(self, connection_id: str) -> dict[str, int]:
        """twin id -> seq of the newest replica received, for every twin of the connection that has one."""
        return {
            str(item["SK"]).removeprefix(keys.INBOX_PREFIX): int(str(item["seq"]))
            for item in self._query_all(
                KeyConditionExpression=Key("PK").eq(keys.connection_pk(connection_id))
                & Key("SK").begins_with(keys.INBOX_PREFIX),
                ProjectionExpression="SK, seq", ConsistentRead=True,
            )
        }

    def _query_all(self, **query: Any) -> builtins.list[dict[str, Any]]:
        found: builtins.list[dict[str, Any]] = []
        while True:
            page = self._table.query(**query)
            found += page["Items"]
            if "LastEvaluatedKey" not in page:
                return found
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _load(item: dict[str, Any]) -> Twin:
    twin = Twin.model_validate_json(str(item["doc"]))
    twin.indexed_local_id = twin.local.id if twin.local else None  # stored twins have their local item indexed
    return twin
