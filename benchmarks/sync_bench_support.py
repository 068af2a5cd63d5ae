"""In-process sync bench: moto, a Jira Cloud node and an Azure DevOps node wired as Deps, simulators on loopback."""

from __future__ import annotations

import gc
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# Before boto3, moto or Powertools read them: fake credentials, one region, quiet logs, no metrics or traces.
for _name, _value in {
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_REGION": "eu-west-1", "POWERTOOLS_SERVICE_NAME": "twinbridge", "POWERTOOLS_METRICS_NAMESPACE": "Twinbridge",
    "POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING",
}.items():
    os.environ.setdefault(_name, _value)
warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left")  # no Lambda context here

from twinbridge.models.connection import Connection, ConnectionStatus, KeyMaterial, Origin  # noqa: E402
from twinbridge.models.tracker import ItemFields  # noqa: E402
from twinbridge.peers.partner import PeerClient  # noqa: E402
from twinbridge.services import messaging, routing  # noqa: E402
from twinbridge.services.deps import Deps  # noqa: E402
from twinbridge.services.ingest_webhook import ingest_webhook  # noqa: E402
from twinbridge.services.routing import InlineJobQueue  # noqa: E402
from twinbridge.settings import Settings  # noqa: E402
from twinbridge.trackers.base import TrackerClient  # noqa: E402
from twinbridge.trackers.credentials import TrackerCredentials  # noqa: E402
from twinbridge.trackers.factory import build_client  # noqa: E402

CONNECTION_ID = "c-bench"
JIRA_PROJECT, ADO_PROJECT = "ACME", "Beta"
BOT, PERSON = "twinbridge-bot", "ana"


@dataclass
class BenchNode:
    deps: Deps
    queue: InlineJobQueue  # held: jobs wait until the bench runs them, kind by kind
    sim: Any
    person: TrackerClient  # the tracker as a person uses it (their changes are synced, the bot's are not)
    conn: Connection
    dynamodb_calls: list[tuple[str, float]] = field(default_factory=list)  # ("Operation (caller)", seconds) per call


@dataclass
class BenchPair:
    public: BenchNode  # Jira Cloud; its partner is private, so replicas wait in its outbox for the partner's poll
    private: BenchNode  # Azure DevOps

    def transfer(self, source: BenchNode, target: BenchNode) -> int:
        """Hand everything in ``source``'s outbox to ``target`` as a poll or push would, then ack it."""
        messages, _ = source.deps.outbox.pending(CONNECTION_ID, 0, 10_000)
        conn = target.deps.connections.get(CONNECTION_ID)
        acked = messaging.receive(target.deps, conn, messages, routing.MESSAGE_KINDS).acked
        source.deps.outbox.ack(CONNECTION_ID, acked)
        return len(messages)

    def ingest_webhooks(self) -> int:
        """Run the Jira webhooks recorded since the last call through the webhook use case (queues changes)."""
        sim = self.public.sim
        fresh, sim.webhooks = sim.webhooks, []
        for hook in fresh:
            ingest_webhook(self.public.deps, "jira-cloud", hook["body"], hook["headers"])
        return len(fresh)

    def link(self, count: int) -> list[tuple[str, str]]:
        """Create ``count`` issues as the person and sync each to a linked copy; returns (jira key, ado id) pairs."""
        keys = [self.public.person.create_item(JIRA_PROJECT, ItemFields(summary=f"Item {n}", type="Task")).key
                for n in range(count)]
        self.sync_all()
        pairs = []
        for key in keys:
            twin = self.public.deps.twins.find_by_local(CONNECTION_ID, self.public.person.get_item(key).id)
            assert twin is not None and twin.remote is not None, f"{key} was not linked"
            pairs.append((key, twin.remote.key))
        return pairs

    def sync_all(self) -> None:
        """Everything pending, both ways, until quiet: webhooks, changes, transfers, applies."""
        while True:
            moved = self.ingest_webhooks()
            moved += run(self.public, "tracker.change")
            moved += self.transfer(self.public, self.private)
            moved += run(self.private, "sync.apply")
            moved += self.transfer(self.private, self.public)
            if not moved:
                return


def run(node: BenchNode, kind: str) -> int:
    """Run the queued jobs of ``kind`` through the sync worker's dispatch; returns how many."""
    ran = node.queue.run(kind)
    node.queue.take("deliver")  # nothing to push to here: the bench hands outboxes over itself
    failed, node.queue.failed = node.queue.failed, []
    if failed:
        raise RuntimeError(f"{len(failed)} {kind} job(s) failed; the first: {failed[0][1]!r}")
    return ran


def timed(func: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall seconds, CPU seconds of this whole process (engine, moto and simulators alike), and the result.

    The set-up's objects are frozen first, so the garbage collector does not charge the timed work for walking
    them (moto deep-copies a table on every transaction, which makes collections frequent)."""
    gc.collect()
    gc.freeze()
    wall, cpu = time.perf_counter(), time.process_time()
    result = func()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _table(name: str, region: str):
    import boto3

    from twinbridge_tools.local.template import resource

    spec = resource("NodeTable")["Properties"]
    return boto3.resource("dynamodb", region_name=region).create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=spec["KeySchema"],
        AttributeDefinitions=spec["AttributeDefinitions"],
        GlobalSecondaryIndexes=spec.get("GlobalSecondaryIndexes", []),
    )


def _node(
    name: str,
    public: bool,
    tracker: str,
    sim: Any,
    bot: TrackerCredentials,
    person: TrackerCredentials,
    conn: Connection,
) -> BenchNode:
    # Each node in its own moto region, as two real nodes live in two accounts: moto's transactions copy every
    # table of their region, so a shared region would charge one node for the other's table.
    table = _table(f"{name}-NodeTable", "eu-west-1" if public else "eu-central-1")
    queue = InlineJobQueue()
    queue.hold()
    settings = Settings(
        node_name=name,
        tracker_type=tracker,
        tracker_base_url=sim.url,
        technical_user=sim_bot_id(tracker),
        node_public=public,
        public_url="http://127.0.0.1:9" if public else "",
        table_name=table.name,
        replica_burst=10**6,  # the bench hands a whole outbox over at once: the per-partner quota is not measured here
    )
    deps = Deps(settings=settings, table=table, peer_client=PeerClient(), queue=queue)
    queue.bind(deps)
    deps.tracker = build_client(tracker, sim.url, bot)  # what Deps.tracker builds from the node's secret
    node = BenchNode(deps, queue, sim, build_client(tracker, sim.url, person), conn)
    watch_dynamodb(table.meta.client, node.dynamodb_calls)
    watch_dynamodb(deps.webhook_deliveries.client, node.dynamodb_calls)  # Powertools idempotency: its own client
    deps.connections.create(conn)
    return node


def watch_dynamodb(client, calls: list[tuple[str, float]]) -> None:
    """Record every call ``client`` makes as ("Operation (caller)", seconds), through botocore's event hooks."""

    def started(context, **_) -> None:
        context["bench_started"] = time.perf_counter()

    def finished(model, context, **_) -> None:
        calls.append((f"{model.name} ({_caller()})", time.perf_counter() - context["bench_started"]))

    client.meta.events.register("before-call.dynamodb", started)
    client.meta.events.register("after-call.dynamodb", finished)


def _caller() -> str:
    """The repository method (or Powertools idempotency step) that made the current DynamoDB call."""
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if "/twinbridge/store/" in path or "/utilities/idempotency/persistence/base" in path:
            name = frame.f_code.co_qualname
            return name.replace("BasePersistenceLayer", "idempotency")
        frame = frame.f_back
    return "?"


def sim_bot_id(tracker: str) -> str:
    return BOT if tracker == "jira-cloud" else "bot@priv.local"


@contextmanager
def sync_pair() -> Iterator[BenchPair]:
    """Both nodes in this process, connected (as an accepted invitation leaves them), trackers empty."""
    from moto import mock_aws

    from twinbridge_tools.simulators.azure_devops import AzureDevOpsSimulator
    from twinbridge_tools.simulators.jira import JiraSimulator

    with (
        mock_aws(),
        JiraSimulator("cloud") as jira,
        AzureDevOpsSimulator(organization="priv", project=ADO_PROJECT) as ado,
    ):
        jira.add_user(BOT, "Twinbridge Bot", "bot@pub.local", "bot-token-0123456789")
        jira.add_user(PERSON, "Ana Pérez", "ana@pub.local", "ana-token-0123456789")
        jira.add_project(JIRA_PROJECT)
        ado.add_user("Twinbridge Bot", sim_bot_id("azure-devops"), pat="bot-pat-0123456789")
        ado.add_user("Ben Okafor", "ben@priv.local", pat="ben-pat-0123456789")
        terms = {"id": CONNECTION_ID, "name": "bench", "status": ConnectionStatus.ACTIVE}
        public = _node(
            "pub",
            True,
            "jira-cloud",
            jira,
            TrackerCredentials(email="bot@pub.local", api_token="bot-token-0123456789"),
            TrackerCredentials(email="ana@pub.local", api_token="ana-token-0123456789"),
            Connection(
                **terms, local_short_name="pub", remote_short_name="priv", project=JIRA_PROJECT, origin=Origin.INITIATOR
            ),
        )
        private = _node(
            "priv",
            False,
            "azure-devops",
            ado,
            TrackerCredentials(pat="bot-pat-0123456789"),
            TrackerCredentials(pat="ben-pat-0123456789"),
            Connection(
                **terms,
                local_short_name="priv",
                remote_short_name="pub",
                project=ADO_PROJECT,
                remote_url="http://127.0.0.1:9",
                origin=Origin.ACCEPTOR,
                keys=KeyMaterial(outbound=b"k" * 32),
            ),
        )
        yield BenchPair(public, private)
