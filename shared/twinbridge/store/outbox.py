"""Per-connection outbox: gap-free sequence numbers, ordered reads, deletion on acknowledgement."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Protocol, cast

from boto3.dynamodb.conditions import Key

from twinbridge.errors import ConcurrentModificationError, NotFoundError
from twinbridge.models.messages import PeerMessage
from twinbridge.store import keys
from twinbridge.store.conditions import cancellation_codes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

_MAX_ATTEMPTS = 20


class TransactionPart(Protocol):
    """Writes another repository adds to an append's transaction (e.g. ``store.twins.TwinSave``)."""

    writes: list[dict[str, Any]]
    conflict: str

    def committed(self) -> None: ...


class OutboxRepository:
    def __init__(self, table: Table) -> None:
        self._table = table
        self._client = table.meta.client

    def append(self, connection_id: str, kind: str, payload: dict[str, Any],
               alongside: TransactionPart | None = None) -> PeerMessage:
        """Give the message the next sequence number and store it, atomically (no gaps even under races), together
        with the ``alongside`` writes: all or nothing.

        Raises:
            ConcurrentModificationError: an ``alongside`` condition failed (someone else saved that record).
        """
        pk = keys.connection_pk(connection_id)
        for _ in range(_MAX_ATTEMPTS):
            meta = self._table.get_item(
                Key={"PK": pk, "SK": keys.CONNECTION_SK}, ConsistentRead=True, ProjectionExpression="out_seq"
            ).get("Item")
            if meta is None:
                raise NotFoundError(f"connection {connection_id} does not exist on this node")
            current = int(str(meta.get("out_seq", 0)))
            message = PeerMessage(
                message_id=uuid.uuid4().hex, connection_id=connection_id, seq=current + 1, kind=kind, payload=payload
            )
            # JSON text, not a DynamoDB map: a map turns numbers into Decimals (and refuses floats), which would
            # change payloads such as rich-text documents on their way through the outbox.
            item = {"PK": pk, "SK": keys.outbox_sk(message.seq), "message_json": message.model_dump_json()}
            try:
                self._client.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": self._table.name,
                                "Key": {"PK": pk, "SK": keys.CONNECTION_SK},
                                "UpdateExpression": "SET out_seq = :next",
                                "ConditionExpression": (
                                    "out_seq = :current OR (attribute_not_exists(out_seq) AND :current = :zero)"),
                                "ExpressionAttributeValues": {":next": current + 1, ":current": current, ":zero": 0},
                            }
                        },
                        {
                            "Put": {
                                "TableName": self._table.name,
                                "Item": item,
                                "ConditionExpression": "attribute_not_exists(PK)",
                            }
                        },
                        *cast("list[TransactWriteItemTypeDef]", alongside.writes if alongside is not None else []),
                    ]
                )
            except self._client.exceptions.TransactionCanceledException as exc:
                reasons = cancellation_codes(exc)
                if alongside is not None and "ConditionalCheckFailed" in reasons[2:]:
                    raise ConcurrentModificationError(alongside.conflict) from exc
                continue  # another append took the sequence number: take the next one
            if alongside is not None:
                alongside.committed()
            return message
        raise ConcurrentModificationError(f"could not append to the outbox of {connection_id}: too much contention")

    def pending(self, connection_id: str, after_seq: int, limit: int) -> tuple[list[PeerMessage], bool]:
        """Messages with seq > ``after_seq`` in order, and whether more are waiting beyond ``limit``."""
        page = self._table.query(
            KeyConditionExpression=Key("PK").eq(keys.connection_pk(connection_id))
            & Key("SK").between(keys.outbox_sk(after_seq + 1), keys.OUTBOX_PREFIX + "~"),
            ConsistentRead=True,
            Limit=limit + 1,
        )
        messages = [PeerMessage.model_validate_json(str(item["message_json"])) for item in page["Items"]]
        return messages[:limit], len(messages) > limit

    def ack(self, connection_id: str, up_to_seq: int) -> int:
        """Drop every message with seq <= ``up_to_seq``; returns how many were dropped."""
        if up_to_seq < 1:
            return 0
        page = self._table.query(
            KeyConditionExpression=Key("PK").eq(keys.connection_pk(connection_id))
            & Key("SK").between(keys.outbox_sk(1), keys.outbox_sk(up_to_seq)),
            ProjectionExpression="PK, SK",
        )
        with self._table.batch_writer() as batch:
            for item in page["Items"]:
                batch.delete_item(Key={"PK": item["PK"], "SK": item["SK"]})
        return len(page["Items"])
