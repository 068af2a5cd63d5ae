"""A hostile partner: a real node of ours (a local-runtime process with a simulated Jira) and, on the other side,
this test process speaking the peer protocol over real loopback HTTP with valid keys it was given, sending
whatever it likes."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.conftest import wait_until
from tests.e2e.sync_support import SyncNode, start_sync_nodes
from twinbridge.models.messages import PeerMessage, PollRequest, PushRequest, PushResponse
from twinbridge.models.replica import REPLICA_KIND
from twinbridge.models.tracker import TrackerItem
from twinbridge.peers.keys import new_manual_key, parse_manual_key
from twinbridge.peers.partner import PartnerNode, PeerClient
from twinbridge.trackers.base import TrackerClient

PROJECT = "ACME"
_names = itertools.count(1)


def start_victim(logs: Path) -> SyncNode:
    """Our node: public, Jira Cloud (simulated) with project ACME."""
    return start_sync_nodes(logs, {"victim": (True, "jira-cloud", PROJECT)})["victim"]


@dataclass
class HostilePartner:
    """One connection on the victim, set up with manual keys; this side holds the victim's inbound key."""

    victim: SyncNode
    connection_id: str
    short: str  # the partner's short name on the victim (remote_short_name)
    local_short: str  # the victim's short name on this connection
    node: PartnerNode
    seq: itertools.count = field(default_factory=lambda: itertools.count(1))
    twin_seq: dict[str, int] = field(default_factory=dict)

    @classmethod
    def connect(cls, victim: SyncNode, **terms: Any) -> HostilePartner:
        n = next(_names)
        short, local_short = terms.pop("remote_short_name", f"evil{n}"), terms.pop("local_short_name", f"victim{n}")
        inbound = new_manual_key()
        conn = victim.call("POST", "/admin/v1/connections/manual", {
            "name": f"hostile partner {n}", "local_short_name": local_short, "remote_short_name": short,
            "project": PROJECT, "local_key": inbound, "passive": True, **terms,
        })["connection"]
        partner = PartnerNode(PeerClient(timeout=30), victim.url, parse_manual_key(inbound))
        return cls(victim, conn["id"], short, local_short, partner)

    # --- sending --------------------------------------------------------------------------------------------
    def send(self, kind: str, payload: dict[str, Any]) -> PushResponse:
        message = PeerMessage(message_id=uuid.uuid4().hex, connection_id=self.connection_id, seq=next(self.seq),
                              kind=kind, payload=payload)
        return self.node.push(PushRequest(connection_id=self.connection_id, messages=[message]))

    def replica(self, twin_id: str, summary: str = "From the partner", **fields: Any) -> PushResponse:
        """A replica of twin ``twin_id`` (each call the next seq of that twin)."""
        seq = self.twin_seq[twin_id] = self.twin_seq.get(twin_id, 0) + 1
        item_id = twin_id.split(":", 1)[1]
        body: dict[str, Any] = {
            "twin_id": twin_id, "seq": seq, "based_on": fields.pop("based_on", 0),
            "origin": fields.pop("origin", twin_id.split(":", 1)[0]),
            "replica": {"item": {"id": item_id, "key": f"EVIL-{item_id}"}, "project": "EVIL", "type": "Task",
                        "summary": summary, "updated": "2026-12-01T10:00:00Z", **fields},
        }
        return self.send(REPLICA_KIND, body)

    def poll(self, ack_seq: int = 0) -> list[PeerMessage]:
        """What the victim has queued for this partner (the victim is public: anyone with the key may poll)."""
        return self.node.poll(PollRequest(connection_id=self.connection_id, ack_seq=ack_seq, wait_seconds=0),
                              timeout=30).messages

    # --- looking at the victim ------------------------------------------------------------------------------
    def events(self) -> list[dict[str, Any]]:
        """The victim's activity log for this connection, newest first (the last 10)."""
        return list(self.victim.connection(self.connection_id)["recent_events"])

    def refused(self) -> list[str]:
        return [e["detail"] for e in self.events() if e["kind"] == "message.refused"]

    def twins(self, item: str) -> list[dict[str, Any]]:
        found = self.victim.call("GET", f"/admin/v1/sync/twins?item={item}&connection={self.connection_id}")
        return list(found["twins"])


def person(victim: SyncNode) -> TrackerClient:
    """The victim's tracker as its person (Ana) uses it."""
    return victim.client()


def item_by_summary(victim: SyncNode, summary: str) -> TrackerItem | None:
    from datetime import UTC, datetime, timedelta

    client = person(victim)
    for ref in client.search_changed_since(PROJECT, datetime.now(UTC) - timedelta(hours=1)):
        item = client.get_item(ref.key)
        if item.summary == summary:
            return item
    return None


def wait_for_twin(partner: HostilePartner, item_key: str, timeout: float = 30) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        try:
            twins = partner.twins(item_key)
        except Exception:
            return None
        return twins[0] if twins else None

    return wait_until(found, timeout=timeout, what=f"the twin of {item_key}")
