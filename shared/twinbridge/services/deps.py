"""The ports every use case takes, typed. ``wiring`` builds one per process; tests and benchmarks build their own.

Collaborators are created on first use and their modules imported then, so a handler's cold start only pays for
what it touches (``benchmarks/import_time.py``); the imports under TYPE_CHECKING give the types without the cost.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from twinbridge.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from mypy_boto3_dynamodb.service_resource import Table

    from twinbridge.models.connection import Connection
    from twinbridge.models.jobs import Job
    from twinbridge.models.rules import RuleDirection
    from twinbridge.peers.partner import PartnerNode, PeerClient
    from twinbridge.scripting.contract import Diagnostic, Direction
    from twinbridge.scripting.runner import GuardedRunner
    from twinbridge.store.blobs import AttachmentBucket
    from twinbridge.store.connections import ConnectionRepository
    from twinbridge.store.events import EventLog
    from twinbridge.store.nonces import NonceRepository
    from twinbridge.store.outbox import OutboxRepository
    from twinbridge.store.quotas import QuotaRepository
    from twinbridge.store.rules import RulesRepository
    from twinbridge.store.twins import TwinRepository
    from twinbridge.store.watermarks import WatermarkRepository
    from twinbridge.trackers.base import TrackerClient
    from twinbridge.trackers.credentials import TrackerCredentials, WebhookCredentials

# Save-time checker of a script; None in Deps means the node's guarded runner (``Deps.scripts.check``).
RuleChecker = Callable[[str, "Direction"], list["Diagnostic"]]


class RulesSource(Protocol):
    """Which rules the sync engine runs for a connection and direction: (version, source); (0, the generated
    defaults) while no version was published."""

    def active_source(self, connection_id: str, direction: RuleDirection) -> tuple[int, str]: ...


class JobQueue(Protocol):
    """Where use cases put work for the sync worker: SQS (FIFO) in Lambda and the local runtime, in-process in tests."""

    def send(self, job: Job) -> None: ...


@dataclass
class Deps:
    """Everything a use case needs; tests build one directly with their own table, queue and clients."""

    settings: Settings
    table: Table
    peer_client: PeerClient
    queue: JobQueue
    rule_checker: RuleChecker | None = None  # None: the node's script runner checks (``scripts.check``)

    @functools.cached_property
    def connections(self) -> ConnectionRepository:
        from twinbridge.store.connections import ConnectionRepository

        return ConnectionRepository(self.table)

    @functools.cached_property
    def outbox(self) -> OutboxRepository:
        from twinbridge.store.outbox import OutboxRepository

        return OutboxRepository(self.table)

    @functools.cached_property
    def nonces(self) -> NonceRepository:
        from twinbridge.peers.signing import MAX_SKEW_SECONDS
        from twinbridge.store.nonces import NonceRepository

        return NonceRepository(self.table, ttl_seconds=2 * MAX_SKEW_SECONDS + 60)

    @functools.cached_property
    def events(self) -> EventLog:
        from twinbridge.store.events import EventLog

        return EventLog(self.table)

    @functools.cached_property
    def twins(self) -> TwinRepository:
        from twinbridge.store.twins import TwinRepository

        return TwinRepository(self.table)

    @functools.cached_property
    def rules(self) -> RulesRepository:
        from twinbridge.store.rules import RulesRepository

        return RulesRepository(self.table)

    @functools.cached_property
    def rules_source(self) -> RulesSource:
        """The published script-mode rules per connection and direction, the generated defaults when none."""
        from twinbridge.services.rules import StoredRulesSource

        return StoredRulesSource(self.rules)

    @functools.cached_property
    def quotas(self) -> QuotaRepository:
        from twinbridge.store.quotas import QuotaRepository

        return QuotaRepository(self.table)

    @functools.cached_property
    def watermarks(self) -> WatermarkRepository:
        from twinbridge.store.watermarks import WatermarkRepository

        return WatermarkRepository(self.table)

    @functools.cached_property
    def tracker_credentials(self) -> TrackerCredentials | None:
        """The tracker secret (TRACKER_SECRET_ARN) as TrackerCredentials, read on first use and then kept for the
        container's life; None when no ARN is configured. A failed read raises and is retried on the next use."""
        from twinbridge.store.secrets import read_secret
        from twinbridge.trackers.credentials import TrackerCredentials

        arn = self.settings.tracker_secret_arn
        if not arn:
            return None
        return TrackerCredentials.model_validate_json(read_secret(arn))

    @functools.cached_property
    def webhook_credentials(self) -> WebhookCredentials | None:
        """The webhook secret (WEBHOOK_SECRET_ARN) as WebhookCredentials, read on first use and then kept for the
        container's life; a failed read raises and is retried on the next use. Only the tracker webhook function
        reads it, and that function is granted this secret alone (template.yaml).

        Backward compatibility: when WEBHOOK_SECRET_ARN is unset (a node set up before the secret was split, tests),
        the webhook fields of the tracker secret are used instead. A deployed stack always sets WEBHOOK_SECRET_ARN
        and never gives the webhook function TRACKER_SECRET_ARN, so there this fallback cannot reach the tracker
        credentials. None when neither secret is configured: every delivery is then refused.
        """
        from twinbridge.store.secrets import read_secret
        from twinbridge.trackers.credentials import WebhookCredentials

        arn = self.settings.webhook_secret_arn
        if arn:
            return WebhookCredentials.model_validate_json(read_secret(arn))
        tracker = self.tracker_credentials
        return tracker.webhook_credentials() if tracker is not None else None

    @functools.cached_property
    def tracker(self) -> TrackerClient | None:
        """The node's TrackerClient, or None when the tracker is not configured (no base URL or no credentials)."""
        from twinbridge.trackers.factory import build_client

        return self._tracker_client(build_client)

    @functools.cached_property
    def dry_run_tracker(self) -> TrackerClient | None:
        """The node's TrackerClient for rule dry runs: it reads the tracker and captures every write unsent."""
        from twinbridge.trackers.dry_run import dry_run_client

        return self._tracker_client(dry_run_client)

    def _tracker_client(self, build: Callable[..., TrackerClient]) -> TrackerClient | None:
        credentials = self.tracker_credentials
        if credentials is None or not self.settings.tracker_base_url:
            return None
        return build(
            self.settings.tracker_type, self.settings.tracker_base_url, credentials,
            alt_base_url=self.settings.tracker_alt_base_url or None, user_agent=f"twinbridge/{self.settings.node_name}",
            jira_api_gateway=self.settings.jira_api_gateway_url,
        )

    @functools.cached_property
    def attachments(self) -> AttachmentBucket:
        """The node's attachment bucket (ATTACHMENTS_BUCKET)."""
        from twinbridge.store.blobs import AttachmentBucket

        return AttachmentBucket.named(self.settings.attachments_bucket)

    @functools.cached_property
    def webhook_deliveries(self) -> DynamoDBPersistenceLayer:
        """Powertools idempotency records for webhook deliveries (store/deliveries.py)."""
        from twinbridge.store.deliveries import webhook_delivery_records

        return webhook_delivery_records(self.table.name)

    @functools.cached_property
    def scripts(self) -> GuardedRunner:
        """Where script-mode rules run: the process-wide guarded worker (never this process, with its role)."""
        from twinbridge.scripting.runner import default_runner

        return default_runner()

    def partner(self, conn: Connection) -> PartnerNode:
        """The partner node of ``conn``, called with the connection's URL and outbound key.

        Raises:
            ConflictError: this side may not call the partner (passive, partner private, or no outbound key).
        """
        from twinbridge.peers.partner import PartnerNode

        return PartnerNode.of(self.peer_client, conn)

    def partner_at(self, base_url: str, key: bytes) -> PartnerNode:
        """A partner node known by URL and key only (the invitation handshake, before a connection exists)."""
        from twinbridge.peers.partner import PartnerNode

        return PartnerNode(self.peer_client, base_url, key)
