"""No duplicates, ever: a crash right after the tracker create (before the twin records it) is recovered by
the correlation marker on retry, and a replayed replica never creates a second item."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support import provision_webhook_node
from twinbridge.models.admin import ManualConnectionRequest
from twinbridge.models.replica import FIELDS, FieldClock, ItemIdentity, Replica, ReplicaMessage
from twinbridge.models.twin import Twin
from twinbridge.peers.keys import new_manual_key
from twinbridge.store.twins import TwinRepository
from twinbridge_tools.simulators.jira import JiraSimulator

BOT = {"email": "bot@acme.example", "api_token": "bot-token-0123456789"}


class Crash(BaseException):
    """The process dies: nothing after this line runs, nothing is recorded."""


@pytest.fixture
def receiving_node(aws, monkeypatch):
    from twinbridge.services.connections import add_manual
    from twinbridge.settings import settings
    from twinbridge.wiring import wiring

    with JiraSimulator("cloud") as sim:
        sim.add_user("bot-1", "Twinbridge Bot", BOT["email"], BOT["api_token"])
        sim.add_project("ACME")
        provision_webhook_node(monkeypatch, "jira-cloud", BOT, technical_user="bot-1")
        monkeypatch.setenv("TRACKER_BASE_URL", sim.url)
        monkeypatch.setenv("NODE_PUBLIC", "true")
        monkeypatch.delenv("SYNC_QUEUE_URL")  # applies run inline here
        settings.cache_clear()
        wiring.cache_clear()
        conn = add_manual(wiring(), ManualConnectionRequest(
            name="Beta <-> Acme", local_short_name="acme", remote_short_name="beta", project="ACME",
            local_key=new_manual_key(), passive=True))
        yield sim, conn


def _replica_from_partner(seq: int, summary: str) -> ReplicaMessage:
    replica = Replica(item=ItemIdentity(id="77", key="77"), project="BETA", type="Task", summary=summary,
                      labels=["printer"], updated=datetime.now(UTC))
    clocks = {name: FieldClock(by_origin=seq) for name in FIELDS}  # the partner edited every field in each one
    return ReplicaMessage(twin_id="beta:77", seq=seq, origin="beta", replica=replica, clocks=clocks)


def _pending(conn, message: ReplicaMessage) -> None:
    from twinbridge.wiring import wiring

    repo = wiring().twins
    if repo.get(conn.id, message.twin_id) is None:
        repo.save(Twin(connection_id=conn.id, twin_id=message.twin_id, origin="remote"))
    assert repo.hold(conn.id, message)


def _issues(sim: JiraSimulator) -> list:
    return [issue for issue in sim.issues.values() if issue.project.key == "ACME"]


def test_crash_after_the_tracker_create_is_resumed_without_a_second_item(receiving_node, monkeypatch):
    from twinbridge.services import sync_in
    from twinbridge.wiring import wiring

    sim, conn = receiving_node
    _pending(conn, _replica_from_partner(1, "Printer on fire"))
    real_save = TwinRepository.save
    crashed = []

    def crash_once_after_create(self, twin, **kwargs):
        if twin.local is not None and not crashed:
            crashed.append(twin.local.key)
            raise Crash()
        return real_save(self, twin, **kwargs)

    monkeypatch.setattr(TwinRepository, "save", crash_once_after_create)
    with pytest.raises(Crash):
        sync_in.apply_pending(wiring(), conn.id, "beta:77")
    assert len(_issues(sim)) == 1 and crashed

    sync_in.apply_pending(wiring(), conn.id, "beta:77")  # the queue's retry

    twin = wiring().twins.get(conn.id, "beta:77")
    assert len(_issues(sim)) == 1
    assert twin.local is not None and twin.local.key == crashed[0] and twin.claim is None
    assert wiring().twins.get_for_apply(conn.id, "beta:77").pending is None  # applied: nothing pending


def test_replayed_and_older_replicas_never_create_or_revert(receiving_node):
    from twinbridge.models.messages import PeerMessage
    from twinbridge.services import sync_in
    from twinbridge.wiring import wiring

    sim, conn = receiving_node
    deps = wiring()

    def deliver(message: ReplicaMessage) -> None:
        sync_in.receive_replica(deps, deps.connections.get(conn.id), PeerMessage(
            message_id=f"m{message.seq}", connection_id=conn.id, seq=1, kind="sync.replica",
            payload=message.model_dump(mode="json")))

    deliver(_replica_from_partner(1, "First"))
    deliver(_replica_from_partner(2, "Second"))
    deliver(_replica_from_partner(2, "Second"))  # duplicate
    deliver(_replica_from_partner(1, "First"))  # late, out of order
    (issue,) = _issues(sim)
    assert issue.summary == "Second"
