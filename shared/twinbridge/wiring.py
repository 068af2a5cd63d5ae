"""Builds the node's collaborators once per process from settings (the composition root for handlers)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Protocol

from twinbridge.settings import Settings, settings


class WorkQueue(Protocol):
    def send(self, body: dict[str, Any], group: str, dedup_id: str) -> None: ...


@dataclass
class Deps:
    """Everything a use case needs; tests build one directly with their own table and client."""

    settings: Settings
    table: Any
    peer_client: Any
    queue: WorkQueue | None = None
    probes: dict[str, Any] = field(default_factory=dict)

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
        from twinbridge.store.nonces import NonceRepository

        return NonceRepository(self.table)

    @functools.cached_property
    def events(self):
        from twinbridge.store.events import EventLog

        return EventLog(self.table)


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
