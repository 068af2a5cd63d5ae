"""Builds the node's collaborators once per process from settings (the composition root for handlers)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Protocol

from twinbridge.settings import Settings, settings

WEBHOOK_DELIVERY_PK = "WEBHOOK#DELIVERY"


class WorkQueue(Protocol):
    def send(self, body: dict[str, Any], group: str, dedup_id: str) -> None: ...


@dataclass
class Deps:
    """Everything a use case needs; tests build one directly with their own table and client."""

    settings: Settings
    table: Any
    peer_client: Any
    queue: WorkQueue | None = None
    secrets: Any = None  # a Secrets Manager client; created on first use when not injected

    @functools.cached_property
    def connections(self):
        from twinbridge.store.connections import ConnectionRepository

        return ConnectionRepository(self.table)

    @functools.cached_property
    def outbox(self):
        from twinbridge.store.outbox import OutboxRepository

        return OutboxRepository(self.table)

    @functools.cached_property
    def nonces(self):
        from twinbridge.peers.signing import MAX_SKEW_SECONDS
        from twinbridge.store.nonces import NonceRepository

        return NonceRepository(self.table, ttl_seconds=2 * MAX_SKEW_SECONDS + 60)

    @functools.cached_property
    def events(self):
        from twinbridge.store.events import EventLog

        return EventLog(self.table)

    @functools.cached_property
    def tracker_credentials(self):
        """The tracker secret (TRACKER_SECRET_ARN) as TrackerCredentials, read on first use and then kept for the
        container's life; None when no ARN is configured. A failed read raises and is retried on the next use."""
        from twinbridge.trackers.credentials import TrackerCredentials

        arn = self.settings.tracker_secret_arn
        if not arn:
            return None
        if self.secrets is None:
            import boto3

            self.secrets = boto3.client("secretsmanager")
        secret = self.secrets.get_secret_value(SecretId=arn)["SecretString"]
        return TrackerCredentials.model_validate_json(secret)

    @functools.cached_property
    def tracker(self):
        """The node's TrackerClient, or None when the tracker is not configured (no base URL or no credentials)."""
        from twinbridge.trackers.factory import build_client

        credentials = self.tracker_credentials
        if credentials is None or not self.settings.tracker_base_url:
            return None
        return build_client(
            self.settings.tracker_type, self.settings.tracker_base_url, credentials,
            alt_base_url=self.settings.tracker_alt_base_url or None, user_agent=f"twinbridge/{self.settings.node_name}",
        )

    @functools.cached_property
    def s3(self):
        import boto3
        from botocore.config import Config

        return boto3.client("s3", config=Config(signature_version="s3v4"))

    @functools.cached_property
    def twins(self):
        from twinbridge.store.twins import TwinRepository

        return TwinRepository(self.table)

    @functools.cached_property
    def watermarks(self):
        from twinbridge.store.watermarks import WatermarkRepository

        return WatermarkRepository(self.table)

    @functools.cached_property
    def webhook_deliveries(self):
        """Powertools idempotency records for webhook deliveries, in the node table under one partition
        (PK=WEBHOOK_DELIVERY_PK, SK=<prefix>#<hash of the delivery id>, expiring through the table's TTL)."""
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        from twinbridge.store.keys import TTL_ATTRIBUTE

        return DynamoDBPersistenceLayer(
            table_name=self.table.name,
            key_attr="PK",
            sort_key_attr="SK",
            static_pk_value=WEBHOOK_DELIVERY_PK,
            expiry_attr=TTL_ATTRIBUTE,  # Powertools writes epoch seconds, as DynamoDB TTL expects
        )  # its own low-level client: the table resource's client would re-serialize Powertools' typed values


class SqsWorkQueue:
    """The sync queue (FIFO): one message group per connection keeps deliveries in order."""

    def __init__(self, client, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, body: dict[str, Any], group: str, dedup_id: str) -> None:
        import json

        self._client.send_message(
            QueueUrl=self._url, MessageBody=json.dumps(body), MessageGroupId=group, MessageDeduplicationId=dedup_id
        )


@functools.cache
def wiring() -> Deps:
    """The process-wide dependencies (cached; ``wiring.cache_clear()`` in tests)."""
    import boto3

    from twinbridge.peers.client import PeerClient

    config = settings()
    queue = SqsWorkQueue(boto3.client("sqs"), config.sync_queue_url) if config.sync_queue_url else None
    return Deps(
        settings=config,
        table=boto3.resource("dynamodb").Table(config.table_name),
        peer_client=PeerClient(timeout=config.peer_timeout_seconds, user_agent=f"twinbridge/{config.node_name}"),
        queue=queue,
    )
