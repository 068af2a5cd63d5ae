"""A replica sent while an incoming apply saves the same twin: the send and its record on the twin are one
transaction, so the send is rebuilt from the fresh twin (its sequence number is never reused for other content)
and the apply's change is kept."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.support import provision_webhook_node
from twinbridge.models.admin import ManualConnectionRequest
from twinbridge.models.change import ChangeEvent, ChangeKind
from twinbridge.models.tracker import ItemFields
from twinbridge.models.twin import CommentLink
from twinbridge.peers.keys import new_manual_key
from twinbridge.trackers.credentials import TrackerCredentials
from twinbridge.trackers.jira import JiraCloudClient
from twinbridge_tools.simulators.jira import JiraSimulator

BOT = {"email": "bot@acme.example", "api_token": "bot-token-0123456789"}


def test_send_racing_an_apply_keeps_both_and_never_reuses_a_sequence_number(aws, monkeypatch):
    import requests

    from twinbridge.services import messaging, sync_out
    from twinbridge.services.connections import add_manual
    from twinbridge.settings import settings
    from twinbridge.wiring import wiring

    with JiraSimulator("cloud") as sim:
        sim.add_user("bot-1", "Twinbridge Bot", BOT["email"], BOT["api_token"])
        sim.add_user("ana-1", "Ana", "ana@acme.example", "ana-token-0123456789")
        sim.add_project("ACME")
        provision_webhook_node(monkeypatch, "jira-cloud", BOT, technical_user="bot-1")
        monkeypatch.setenv("TRACKER_BASE_URL", sim.url)
        monkeypatch.setenv("NODE_PUBLIC", "true")
        settings.cache_clear()
        wiring.cache_clear()
        deps = wiring()
        conn = add_manual(deps, ManualConnectionRequest(
            name="Acme <-> Beta", local_short_name="acme", remote_short_name="beta", project="ACME",
            local_key=new_manual_key(), passive=True))
        ana = JiraCloudClient(sim.url, requests.Session(), auth=TrackerCredentials(
            email="ana@acme.example", api_token="ana-token-0123456789").auth_for("jira-cloud"))
        item = ana.create_item("ACME", ItemFields(type="Task", summary="Racing"))

        def change() -> ChangeEvent:
            return ChangeEvent(tracker="jira-cloud", instance=sim.url, item_id=item.id, item_key=item.key,
                               project="ACME", kind=ChangeKind.UPDATED, occurred_at=datetime.now(UTC),
                               delivery_id=f"d-{datetime.now(UTC).timestamp()}", source_event="test")

        assert sync_out.handle_change(deps, change()) == 1  # seq 1, twin created
        ana.update_item(item.key, ItemFields(summary="Racing v2"))
        real_send = messaging.send

        def send_while_an_apply_saves(deps_, conn_, kind, payload, alongside=None):
            if not raced:  # an apply saves the twin after the replica was built, before it is sent
                raced.append(True)
                twin = deps.twins.find_by_local(conn.id, item.id)
                twin.comment_map["remote-c1"] = CommentLink(local_id="10999", digest="d")  # what an apply records
                deps.twins.save(twin)
            return real_send(deps_, conn_, kind, payload, alongside)

        raced: list[bool] = []

        monkeypatch.setattr(messaging, "send", send_while_an_apply_saves)
        assert sync_out.handle_change(deps, change()) == 1

    twin = deps.twins.find_by_local(conn.id, item.id)
    messages, _ = deps.outbox.pending(conn.id, 0, 10)
    seqs = [m.payload["seq"] for m in messages]
    assert raced and seqs == [1, 2] and twin.out_seq == 2  # the raced send went out once, as seq 2
    assert twin.comment_map["remote-c1"].local_id == "10999"
    assert messages[-1].payload["replica"]["summary"] == "Racing v2"
