"""Local nodes with simulated trackers for the sync tests, and a person on each side driving the tracker."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Node, wait_until
from twinbridge.models.tracker import ItemFields, NativeText, TrackerItem
from twinbridge.services.sync_in import find_by_marker
from twinbridge.sync.basic_rules import is_marker, marker_for
from twinbridge.trackers.base import TrackerClient
from twinbridge.trackers.credentials import TrackerCredentials
from twinbridge.trackers.factory import build_client
from twinbridge_tools.cli.dev import spawn_node, wait_ready
from twinbridge_tools.local.aws import free_port

# name -> (public, tracker, projects): one project per connection the node takes part in.
SYNC_NODES = {
    "pubjc": (True, "jira-cloud", "P1A,P1B,P2B"),
    "privado": (False, "azure-devops", "P1A"),
    "pubado": (True, "azure-devops", "P1B,P3A,P3B"),
    "pubdc": (True, "jira-dc", "P2A,P2B,P3B"),
    "privjc": (False, "jira-cloud", "P2A"),
    "privdc": (False, "jira-dc", "P3A"),
}
# (initiator, acceptor, project): the three tracker pairs, each public-private and public-public.
PAIRS = {
    "jira-cloud-public__ado-private": ("pubjc", "privado", "P1A"),
    "jira-cloud-public__ado-public": ("pubjc", "pubado", "P1B"),
    "jira-dc-public__jira-cloud-private": ("pubdc", "privjc", "P2A"),
    "jira-dc-public__jira-cloud-public": ("pubdc", "pubjc", "P2B"),
    "ado-public__jira-dc-private": ("pubado", "privdc", "P3A"),
    "ado-public__jira-dc-public": ("pubado", "pubdc", "P3B"),
}


@dataclass
class SyncNode(Node):
    tracker: str = ""
    tracker_url: str = ""
    person: dict[str, str] | None = None

    def client(self) -> TrackerClient:
        """The tracker as a person (not the technical user) uses it."""
        person = self.person or {}
        if self.tracker == "jira-cloud":
            credentials = TrackerCredentials(email=person["email"], api_token=person["token"])
        else:
            credentials = TrackerCredentials(pat=person["token"])
        return build_client(self.tracker, self.tracker_url, credentials)


def start_sync_nodes(logs: Path, specs: dict[str, tuple[bool, str, str]] = SYNC_NODES,
                     unguarded: tuple[str, ...] = ()) -> dict[str, SyncNode]:
    """Start ``specs`` (name -> (public, tracker, projects)); ``unguarded`` nodes sync their technical user's
    changes back (the loop test). Each node is its own process group, so a test can freeze it (SIGSTOP)."""
    nodes: dict[str, SyncNode] = {}
    for name, (public, tracker, projects) in specs.items():
        port, aws_port = free_port(), free_port()
        info = logs / f"{name}.json"
        process = spawn_node(name, public, port, tracker, logs / f"{name}.log", log_level="DEBUG",
                             long_poll_seconds=20, aws_port=aws_port, simulate_project=projects, info_file=info,
                             technical_user_guard=name not in unguarded, new_session=True)
        nodes[name] = SyncNode(name, public, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{aws_port}",
                               logs / f"{name}.log", process, tracker=tracker)
    for name, node in nodes.items():
        wait_ready(node.url, node.process, node.log_path, timeout=120)
        described = json.loads((logs / f"{name}.json").read_text())
        node.tracker_url = described["tracker"]["url"]
        node.person = described["tracker"]["people"][0]
    return nodes


@dataclass
class Side:
    node: SyncNode
    client: TrackerClient
    project: str
    short: str

    def text(self, words: str) -> NativeText:
        """``words`` as rich text in this tracker's own format, with one bold word."""
        fmt = self.client.text_format
        if fmt == "adf":
            return NativeText(format="adf", content={"type": "doc", "version": 1, "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": words + " "},
                                                  {"type": "text", "text": "bold", "marks": [{"type": "strong"}]}]}]})
        if fmt == "wiki":
            return NativeText(format="wiki", content=f"{words} *bold*")
        return NativeText(format="html", content=f"<div>{words} <b>bold</b></div>")

    def find_copy(self, connection_id: str, twin_id: str, since: datetime) -> TrackerItem | None:
        return find_by_marker(self.client, self.project, marker_for(connection_id, twin_id), since)

    def item(self, key: str) -> TrackerItem:
        return self.client.get_item(key)

    def comment_texts(self, key: str) -> list[str]:
        return [_plain(c.body) for c in self.client.list_comments(key)]

    def attachments(self, key: str) -> dict[str, int | None]:
        return {a.filename: a.size for a in self.client.get_item(key).attachments}

    def attachment_bytes(self, key: str, filename: str) -> bytes:
        (attachment,) = [a for a in self.client.get_item(key).attachments if a.filename == filename]
        sink = io.BytesIO()
        self.client.download_attachment(attachment, sink)
        return sink.getvalue()


def labels(item: TrackerItem) -> set[str]:
    return {label for label in item.labels if not is_marker(label)}


def description_text(item: TrackerItem) -> str:
    return _plain(item.description) if item.description else ""


def _plain(text: NativeText) -> str:
    from twinbridge.richtext import plain_text, to_canonical

    return plain_text(to_canonical(text.content, text.format).document)


def connect(nodes: dict[str, SyncNode], initiator: str, acceptor: str, project: str,
            mode: str = "basic") -> tuple[Side, Side, str]:
    left, right = nodes[initiator], nodes[acceptor]
    body: dict[str, Any] = {
        "name": f"{initiator} <-> {acceptor}", "local_short_name": initiator, "remote_short_name": acceptor,
        "project": project, "partner_url": right.url if right.public else None, "mode": mode,
    }
    created = left.call("POST", "/admin/v1/connections/invitations", body)
    connection_id = created["connection"]["id"]
    right.call("POST", "/admin/v1/connections/accept", {"code": created["invitation_code"], "project": project})
    for node in (left, right):
        wait_until(lambda node=node: node.connection(connection_id)["status"] == "active", what=f"{node.name} active")
        assert node.connection(connection_id)["mode"] == mode
    return (Side(left, left.client(), project, initiator), Side(right, right.client(), project, acceptor), connection_id)


def twin_status(node: SyncNode, item_key: str) -> dict:
    (twin,) = node.call("GET", f"/admin/v1/sync/twins?item={item_key}")["twins"]
    return twin


def recently() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=5)


def create(side: Side, summary: str, **fields: Any) -> TrackerItem:
    return side.client.create_item(side.project, ItemFields(summary=summary, **fields))
