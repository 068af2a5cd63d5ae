"""Powertools idempotency records of webhook deliveries, in the node table under one partition."""

from __future__ import annotations

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from twinbridge.store.keys import TTL_ATTRIBUTE, WEBHOOK_DELIVERY_PK


def webhook_delivery_records(table_name: str) -> DynamoDBPersistenceLayer:
    """PK=WEBHOOK_DELIVERY_PK, SK=<prefix>#<hash of the delivery id>, expiring through the table's TTL.

    The layer keeps its own low-level client: the table resource's client would re-serialize Powertools' typed values.
    """
    return DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr="PK",
        sort_key_attr="SK",
        static_pk_value=WEBHOOK_DELIVERY_PK,
        expiry_attr=TTL_ATTRIBUTE,  # Powertools writes epoch seconds, as DynamoDB TTL expects
    )
