"""The reconciliation scan: a change whose webhook was lost is still found and queued by the scheduled poller."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.support import FakeLambdaContext, load_event, provision_webhook_node, queued
from twinbridge.models.admin import ManualConnectionRequest
from twinbridge.models.tracker import ItemFields
from twinbridge.peers.keys import new_manual_key
from twinbridge.trackers.credentials import TrackerCredentials
from twinbridge.trackers.jira import JiraCloudClient
from twinbridge_tools.simulators.azure_devops import AzureDevOpsSimulator
from twinbridge_tools.simulators.jira import JiraSimulator

BOT = {"email": "bot@acme.example", "api_token": "bot-token-0123456789", "webhook_secret": "hook-secret-0123456789"}


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[bytes] = []

    def do_POST(self):
        type(self).bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    """A loopback endpoint standing in for the node's webhook route: records what the tracker delivered."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.bodies = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/jira-cloud", _Receiver.bodies
    server.shutdown()
    server.server_close()


def _connect_project(project: str) -> None:
    from twinbridge.services.connections import add_manual
    from twinbridge.wiring import wiring

    add_manual(wiring(), ManualConnectionRequest(
        name="Acme <-> Beta", local_short_name="acme", remote_short_name="beta", project=project,
        local_key=new_manual_key(), passive=True,
    ))


def _poll(timeout_seconds: int = 75) -> dict:
    """One scheduled run. An Azure DevOps node keeps sweeping until its deadline, so its tests give it a short one."""
    from functions.poller.app import lambda_handler

    return lambda_handler(load_event("poller/scheduled.json"), FakeLambdaContext(timeout_seconds=timeout_seconds))


def _changes(queue_url: str) -> list[dict]:
    return [json.loads(message["Body"])["change"] for message in queued(queue_url)]


def test_dropped_webhook_change_is_found_and_queued_by_the_scan(aws, monkeypatch, receiver):
    hook_url, delivered = receiver
    with JiraSimulator("cloud", webhook_url=hook_url, webhook_secret=BOT["webhook_secret"]) as sim:
        sim.add_user("bot-1", "Twinbridge Bot", BOT["email"], BOT["api_token"])
        sim.add_user("ana-1", "Ana Pérez", "ana@acme.example", "ana-token-0123456789")
        sim.add_project("ACME")
        queue_url = provision_webhook_node(monkeypatch, "jira-cloud", BOT, technical_user="bot-1")
        monkeypatch.setenv("NODE_PUBLIC", "true")
        monkeypatch.setenv("TRACKER_BASE_URL", sim.url)
        _clear_caches()
        _connect_project("ACME")
        assert _poll()["changes_queued"] == 0  # the first scan only sets the watermark

        ana = JiraCloudClient(sim.url, requests.Session(), auth=TrackerCredentials(
            email="ana@acme.example", api_token="ana-token-0123456789").auth_for("jira-cloud"))
        sim.faults.drop_webhooks(1)
        created = ana.create_item("ACME", ItemFields(type="Task", summary="Printer on fire"))
        assert sim.webhooks[-1]["event"] == "jira:issue_created" and sim.webhooks[-1]["dropped"]
        assert delivered == []

        summary = _poll()

        assert summary["changes_queued"] == 1 and summary["errors"] == 0
        (change,) = _changes(queue_url)
        assert (change["item_id"], change["item_key"], change["project"]) == (created.id, created.key, "ACME")
        assert change["kind"] == "updated" and change["source_event"] == "twinbridge:reconcile"
        assert _poll()["changes_queued"] == 0  # found again inside the overlap window, not queued again

        ana.update_item(created.key, ItemFields(summary="Printer on fire, again"))
        assert len(delivered) == 1  # this webhook arrived; the scan still sees the new version (harmless)
        assert _poll()["changes_queued"] == 1


def test_scan_works_without_webhooks_on_azure_devops(aws, monkeypatch):
    with AzureDevOpsSimulator(organization="beta", project="BETA") as sim:
        sim.add_user("bot@beta.example", "bot@beta.example", pat="bot-pat-0123456789")
        queue_url = provision_webhook_node(monkeypatch, "azure-devops", {"pat": "bot-pat-0123456789"},
                                           technical_user="bot@beta.example")
        monkeypatch.setenv("TRACKER_BASE_URL", sim.url)
        _clear_caches()
        _connect_project("BETA")
        _poll(6)
        sim.seed_items(3, changed=datetime.now(UTC))

        summary = _poll(6)

        assert summary["changes_queued"] == 3
        assert {change["tracker"] for change in _changes(queue_url)} == {"azure-devops"}


def test_unconfigured_tracker_is_reported_once_per_run_and_partners_are_still_served(aws, monkeypatch):
    provision_webhook_node(monkeypatch, "jira-cloud", {"webhook_secret": "only-a-webhook-secret"})
    monkeypatch.setenv("TRACKER_BASE_URL", "http://127.0.0.1:9")
    _clear_caches()
    summary = _poll()
    assert summary["errors"] == 1 and summary["changes_queued"] == 0


def _clear_caches() -> None:
    from twinbridge.settings import settings
    from twinbridge.wiring import wiring

    settings.cache_clear()
    wiring.cache_clear()

