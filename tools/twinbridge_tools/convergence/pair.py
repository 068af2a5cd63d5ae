"""Two nodes in one process for convergence testing: a Jira Cloud node and a Jira Data Center node, each with its own
moto table and tracker simulator, joined by one connection. People edit both trackers through the REST clients;
the pipeline (change jobs, the message channel each way, apply jobs) is stepped explicitly, with faults a real
deployment sees: duplicate, late and partial deliveries, lost acknowledgements, spurious change events, and crashes
at the engine's named crash points (a crashed job is redelivered, a crashed delivery is not acknowledged).

Used by tests/convergence (hypothesis drives the steps) and benchmarks/convergence.py (a seeded random walk).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from twinbridge import crashpoints
from twinbridge.models.change import ChangeEvent, ChangeKind
from twinbridge.models.connection import Connection, ConnectionStatus, KeyMaterial, Mode, Origin
from twinbridge.models.jobs import Job, TrackerChangeJob
from twinbridge.models.tracker import ItemFields, NativeText, TrackerItem
from twinbridge.peers.partner import PeerClient
from twinbridge.services import messaging, routing
from twinbridge.services.deps import Deps
from twinbridge.services.routing import InlineJobQueue
from twinbridge.settings import Settings
from twinbridge.trackers.base import TrackerClient
from twinbridge.trackers.credentials import TrackerCredentials
from twinbridge.trackers.dry_run import dry_run_client
from twinbridge.trackers.factory import build_client

CONNECTION_ID = "c-converge"
PROJECT = "CNV"
TYPES = ("Task", "Bug")  # on every tracker here (a type the other side lacks is mapped, not mirrored)
SIDES = ("a", "b")


@dataclass(frozen=True)
class NodeSpec:
    tracker: str
    short: str
    bot: str  # the technical user's id as the node's settings name it
    person: str


# side a is public, side b private; the pair of trackers is chosen per run
SPECS = {
    "jira-cloud": NodeSpec("jira-cloud", "alpha", "bot-a", "ana"),
    "jira-dc": NodeSpec("jira-dc", "bravo", "bot-b", "ben"),
    "azure-devops": NodeSpec("azure-devops", "bravo", "bot-b@example.com", "ben@example.com"),
}
PAIRS = {"jira-cloud/jira-dc": ("jira-cloud", "jira-dc"), "jira-cloud/azure-devops": ("jira-cloud", "azure-devops")}
DELIVERY_MODES = ("normal", "duplicate", "later-first", "lost-ack")


@dataclass
class Node:
    side: str
    spec: NodeSpec
    deps: Deps
    queue: InlineJobQueue
    sim: Any
    person: TrackerClient
    crashed_jobs: list[Job] = field(default_factory=list)

    @property
    def other(self) -> str:
        return "b" if self.side == "a" else "a"


@dataclass
class Stats:
    operations: int = 0
    crashes: dict[str, int] = field(default_factory=dict)
    deliveries: dict[str, int] = field(default_factory=dict)


class Pair:
    """Both nodes, connected; ``nodes['a']`` and ``nodes['b']``."""

    def __init__(self, nodes: dict[str, Node], stats: Stats) -> None:
        self.nodes = nodes
        self.stats = stats
        self._delivery_ids = itertools.count(1)

    # --------------------------------------------------------------------------------------------- people

    def notify(self, side: str, key: str) -> None:
        """The tracker's webhook for a change to ``key``: a change job on that side's queue."""
        node = self.nodes[side]
        item = node.person.get_item(key)
        change = ChangeEvent(
            tracker=node.deps.settings.tracker_type, instance=node.sim.url, item_id=item.id, item_key=item.key,
            project=PROJECT, kind=ChangeKind.UPDATED, occurred_at=datetime.now(UTC),
            delivery_id=f"d-{next(self._delivery_ids)}", source_event="convergence")
        node.queue.send(TrackerChangeJob(change=change))

    def create(self, side: str, summary: str, labels: list[str]) -> TrackerItem:
        item = self.nodes[side].person.create_item(PROJECT, ItemFields(type="Task", summary=summary, labels=labels))
        self.notify(side, item.key)
        return item

    def edit(self, side: str, key: str, fields: ItemFields) -> None:
        self.nodes[side].person.update_item(key, fields)
        self.notify(side, key)

    def text(self, side: str, words: str) -> NativeText:
        text_format = self.nodes[side].person.text_format
        if text_format == "adf":  # an empty text node is not valid ADF: nothing to say is an empty document
            content = [{"type": "paragraph", "content": [{"type": "text", "text": words}]}] if words else []
            return NativeText(format="adf", content={"type": "doc", "version": 1, "content": content})
        if not words:
            return NativeText(format=text_format, content="")
        return NativeText(format=text_format, content=words if text_format == "wiki" else f"<div>{words}</div>")

    def made_by_twinbridge(self, side: str) -> list[str]:
        """Keys of the items on ``side`` that twinbridge created (their reporter is the node's technical user)."""
        node = self.nodes[side]
        items = [node.person.get_item(ref.key)
                 for ref in node.person.search_changed_since(PROJECT, datetime(2000, 1, 1, tzinfo=UTC))]
        return sorted(item.key for item in items if is_bot(node, item.reporter))

    def attach(self, side: str, key: str, filename: str, data: bytes) -> str:
        attachment = self.nodes[side].person.upload_attachment(key, filename, io.BytesIO(data), len(data))
        self.notify(side, key)
        return attachment.id

    # --------------------------------------------------------------------------------------------- pipeline

    def run_changes(self, side: str) -> int:
        return self._run(self.nodes[side], "tracker.change")

    def run_applies(self, side: str) -> int:
        return self._run(self.nodes[side], "sync.apply") + self._run(self.nodes[side], "sync.unlink")

    def deliver(self, source: str, mode: str = "normal") -> int:
        """Hand ``source``'s outbox to its partner as a push or poll would, in one of ``DELIVERY_MODES``."""
        sender, receiver = self.nodes[source], self.nodes["b" if source == "a" else "a"]
        messages, _ = sender.deps.outbox.pending(CONNECTION_ID, 0, 10_000)
        if not messages:
            return 0
        messages = messaging.finish_for_sending(sender.deps, messages)  # presigned attachment URLs, as they leave
        self.stats.deliveries[mode] = self.stats.deliveries.get(mode, 0) + 1
        conn = receiver.deps.connections.get(CONNECTION_ID)
        try:
            if mode == "later-first" and len(messages) > 1:  # the later half first: stops at the gap, acks nothing new
                messaging.receive(receiver.deps, conn, messages[len(messages) // 2:], routing.MESSAGE_KINDS)
            acked = messaging.receive(receiver.deps, conn, messages, routing.MESSAGE_KINDS).acked
            if mode == "duplicate":  # delivered again before the acknowledgement arrives
                acked = messaging.receive(receiver.deps, conn, messages, routing.MESSAGE_KINDS).acked
        except crashpoints.CrashPointReached as crash:
            self._count(crash)
            return len(messages)  # nothing acknowledged: the partner delivers it all again
        if mode != "lost-ack":
            sender.deps.outbox.ack(CONNECTION_ID, acked)
        return len(messages)

    def redeliver_crashed(self) -> int:
        """What SQS does after a crashed invocation's visibility timeout: the jobs come back."""
        count = 0
        for node in self.nodes.values():
            jobs, node.crashed_jobs = node.crashed_jobs, []
            for job in jobs:
                node.queue.send(job)
            count += len(jobs)
        return count

    def quiesce(self, limit: int = 200) -> None:
        """Run everything until nothing moves (crashes included: crashed work comes back and is run again)."""
        for _ in range(limit):
            moved = self.redeliver_crashed()
            for side in SIDES:
                moved += self.run_changes(side)
            for side in SIDES:
                moved += self.deliver(side)
                moved += self.run_applies("b" if side == "a" else "a")
            if not moved and not any(node.queue.held() for node in self.nodes.values()):
                return
        raise AssertionError(f"the pair did not settle within {limit} rounds")

    def _run(self, node: Node, kind: str) -> int:
        ran = node.queue.run(kind)
        node.queue.take("deliver")  # the harness hands outboxes over itself
        failed, node.queue.failed = node.queue.failed, []
        for job, _ in failed:  # an ordinary failure (a conflict, a tracker error): SQS retries it
            node.crashed_jobs.append(job)
        return ran

    def _count(self, crash: crashpoints.CrashPointReached) -> None:
        self.stats.crashes[crash.name] = self.stats.crashes.get(crash.name, 0) + 1


def is_bot(node: Node, user: Any) -> bool:
    """Whether ``user`` (a UserRef) is ``node``'s technical user."""
    bot = node.spec.bot.casefold()
    return user is not None and any(str(value).casefold() == bot
                                    for value in (user.account_id, user.email, user.display_name) if value)


def _crash_tolerant(node: Node, pair_stats: Stats) -> None:
    """Jobs that reach an armed crash point die (nothing after the point runs) and come back later, as from SQS."""
    runner = node.queue.runner
    assert runner is not None

    def run(job: Job) -> None:
        try:
            runner(job)
        except crashpoints.CrashPointReached as crash:
            pair_stats.crashes[crash.name] = pair_stats.crashes.get(crash.name, 0) + 1
            node.crashed_jobs.append(job)

    node.queue.runner = run


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    import os

    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _table(name: str, region: str) -> Any:
    import boto3

    from twinbridge_tools.local.template import resource

    spec = resource("NodeTable")["Properties"]
    return boto3.resource("dynamodb", region_name=region).create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=spec["KeySchema"],
        AttributeDefinitions=spec["AttributeDefinitions"],
        GlobalSecondaryIndexes=spec.get("GlobalSecondaryIndexes", []))


def _credentials(tracker: str, user: str, secret: str) -> TrackerCredentials:
    if tracker == "jira-cloud":
        return TrackerCredentials(email=f"{user}@example.com", api_token=secret)
    return TrackerCredentials(pat=secret)


def _secret(user: str) -> str:
    return f"{user.split('@')[0]}-token-0123456789"


def _simulator(spec: NodeSpec) -> Any:
    """The spec's tracker simulator with its technical user, a person and the project (not started)."""
    from twinbridge_tools.simulators.azure_devops import AzureDevOpsSimulator
    from twinbridge_tools.simulators.jira import JiraSimulator

    if spec.tracker == "azure-devops":
        ado = AzureDevOpsSimulator(organization="converge", project=PROJECT)
        ado.add_user("Bot", spec.bot, _secret(spec.bot))
        ado.add_user("Ben", spec.person, _secret(spec.person))
        return ado
    jira = JiraSimulator("cloud" if spec.tracker == "jira-cloud" else "dc")
    jira.add_user(spec.bot, f"Bot {spec.short}", f"{spec.bot}@example.com", _secret(spec.bot))
    jira.add_user(spec.person, spec.person.title(), f"{spec.person}@example.com", _secret(spec.person))
    jira.add_project(PROJECT, issue_types=(*TYPES, "Story", "Sub-task"))
    return jira


def _node(side: str, spec: NodeSpec, other: NodeSpec, sim: Any, stats: Stats, mode: Mode) -> Node:
    tracker, short, bot, person = spec.tracker, spec.short, spec.bot, spec.person
    public, other_short = side == "a", other.short
    import boto3

    region = "eu-west-1" if side == "a" else "eu-central-1"
    table = _table(f"{short}-NodeTable", region)
    bucket = f"{short}-attachments"
    boto3.client("s3", region_name=region).create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    queue = InlineJobQueue()
    queue.hold()
    settings = Settings(node_name=short, tracker_type=tracker, tracker_base_url=sim.url, technical_user=bot,
                        node_public=public, public_url="http://127.0.0.1:9" if public else "", table_name=table.name,
                        attachments_bucket=bucket, replica_burst=10**6, local_runtime=True)
    deps = Deps(settings=settings, table=table, peer_client=PeerClient(), queue=queue)
    queue.bind(deps)
    deps.tracker = build_client(tracker, sim.url, _credentials(tracker, bot, _secret(bot)))
    deps.dry_run_tracker = dry_run_client(tracker, sim.url, _credentials(tracker, bot, _secret(bot)))
    conn = Connection(
        id=CONNECTION_ID, name="convergence", status=ConnectionStatus.ACTIVE, local_short_name=short, mode=mode,
        remote_short_name=other_short, project=PROJECT,
        origin=Origin.INITIATOR if side == "a" else Origin.ACCEPTOR,
        **({} if public else {"remote_url": "http://127.0.0.1:9", "keys": KeyMaterial(outbound=b"k" * 32)}))
    deps.connections.create(conn)
    node = Node(side, spec, deps, queue, sim, build_client(tracker, sim.url, _credentials(tracker, person,
                                                                                          _secret(person))))
    _crash_tolerant(node, stats)
    return node


@contextmanager
def converging_pair(trackers: str = "jira-cloud/jira-dc", mode: Mode = "basic") -> Iterator[Pair]:
    """Both nodes in this process (moto for AWS, loopback simulators for the trackers), connected and empty;
    ``trackers`` is one of ``PAIRS`` (side a, public / side b, private), ``mode`` the connection's."""
    # moto in server mode, as the local runtime runs it: the partner downloads attachments from presigned URLs over
    # loopback HTTP, which an in-process mock could not serve.
    import requests

    from twinbridge_tools.local.aws import EmbeddedAws

    aws = EmbeddedAws()
    aws.start()
    with ExitStack() as stack:
        stack.callback(aws.stop)
        # moto's backends live in this process, shared by every server: each pair starts from empty ones
        stack.callback(requests.post, f"{aws.endpoint}/moto-api/reset", timeout=10)
        requests.post(f"{aws.endpoint}/moto-api/reset", timeout=10).raise_for_status()
        stack.enter_context(_environment({"AWS_ENDPOINT_URL": aws.endpoint, "AWS_ACCESS_KEY_ID": "test",
                                          "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "eu-west-1"}))
        stats = Stats()
        nodes = {}
        specs = dict(zip(SIDES, (SPECS[name] for name in PAIRS[trackers]), strict=True))
        for side in SIDES:
            sim = _simulator(specs[side])
            stack.enter_context(sim)
            nodes[side] = _node(side, specs[side], specs["b" if side == "a" else "a"], sim, stats, mode)
        pair = Pair(nodes, stats)
        try:
            yield pair
        finally:
            crashpoints.disarm()
