"""Faults on the local runtime, each ending with both sides equal and no duplicates: duplicate and stale
webhook deliveries, the private node frozen for a while, changes on both sides within 100 ms, a paused
connection catching up in order, deleting the origin item, and the loop test with the technical-user
guard switched off. (A crash between the tracker write and the ack is covered
in-process by tests/integration/test_sync_crash_recovery.py, where the crash point can be exact.)"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import threading
import time
import uuid

import boto3
import pytest
import requests

from tests.e2e.conftest import stop_nodes, wait_until
from tests.e2e.sync_support import connect, create, labels, recently, start_sync_nodes, twin_status
from twinbridge.models.tracker import ItemFields

pytestmark = pytest.mark.e2e
WAIT = 30.0
NODES = {
    "pubjcf": (True, "jira-cloud", "F1,F2,F3,F4,F5,F6"),
    "privadof": (False, "azure-devops", "F1,F2,F3,F4,F5,F6"),
    "pubjcl": (True, "jira-cloud", "L1"),
    "privadol": (False, "azure-devops", "L1"),
}


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    started = start_sync_nodes(tmp_path_factory.mktemp("fault-nodes"), NODES, unguarded=("pubjcl", "privadol"))
    try:
        yield started
    finally:
        for node in started.values():  # never leave a frozen node behind
            if node.process.poll() is None:
                os.killpg(node.process.pid, signal.SIGCONT)
        stop_nodes(started)


def _linked(nodes, project: str, summary: str):
    left, right, connection_id = connect(nodes, "pubjcf" if project.startswith("F") else "pubjcl",
                                         "privadof" if project.startswith("F") else "privadol", project)
    since = recently()
    item = create(left, summary, type="Task", labels=["fault"])
    copy = wait_until(lambda: right.find_copy(connection_id, f"{left.short}:{item.id}", since), WAIT, 0.3, "copy")
    return left, right, connection_id, item, copy, since


def _copies(side, connection_id: str, twin_id: str, since) -> int:
    from twinbridge.sync.basic_rules import marker_for

    marker = marker_for(connection_id, twin_id)
    return sum(
        marker in side.client.get_item(ref.key).labels for ref in side.client.search_changed_since(side.project, since)
    )


def _signed_webhook(side, item_key: str, delivery_id: str) -> tuple[bytes, dict]:
    """A Jira Cloud admin webhook for the item's current state, signed with the node's webhook secret."""
    node = side.node
    secrets = boto3.client(
        "secretsmanager",
        endpoint_url=node.aws_endpoint,
        region_name="eu-west-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    secret = json.loads(secrets.get_secret_value(SecretId=f"{node.name}/webhook-secret")["SecretString"])
    issue = requests.get(
        f"{node.tracker_url}/rest/api/3/issue/{item_key}", timeout=10, auth=(node.person["email"], node.person["token"])
    ).json()
    body = json.dumps(
        {
            "timestamp": int(time.time() * 1000),
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_updated",
            "user": {"accountId": node.person["account_id"], "displayName": node.person["name"]},
            "issue": issue,
            "changelog": {
                "id": "1",
                "items": [
                    {
                        "field": "summary",
                        "fieldtype": "jira",
                        "from": None,
                        "fromString": "x",
                        "to": None,
                        "toString": issue["fields"]["summary"],
                    }
                ],
            },
        }
    ).encode()
    signature = "sha256=" + hmac.new(secret["webhook_secret"].encode(), body, hashlib.sha256).hexdigest()
    return body, {
        "Content-Type": "application/json",
        "X-Hub-Signature": signature,
        "X-Atlassian-Webhook-Identifier": delivery_id,
    }


def _settled(read, quiet: float = 5.0, limit: float = 45.0):
    """Wait until ``read()`` stops changing for ``quiet`` seconds; returns its last value."""
    deadline, last, since = time.monotonic() + limit, read(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        value = read()
        if value != last:
            last, since = value, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return value
    raise AssertionError(f"still changing after {limit} s: {last!r}")


def test_duplicate_webhook_deliveries_sync_once(nodes):
    left, right, connection_id, item, copy, since = _linked(nodes, "F1", "Duplicate me")
    left.client.update_item(item.key, ItemFields(summary="Duplicate me v2"))
    wait_until(lambda: right.item(copy.key).summary == "Duplicate me v2", WAIT, 0.3, "update synced")
    sent = _settled(lambda: twin_status(left.node, item.key)["out_seq"])

    body, headers = _signed_webhook(left, item.key, "dup-" + uuid.uuid4().hex)
    answers = [
        requests.post(f"{left.node.url}/hooks/jira-cloud", data=body, headers=headers, timeout=10).json()
        for _ in range(3)
    ]
    fresh = [
        requests.post(
            f"{left.node.url}/hooks/jira-cloud",
            data=body,
            timeout=10,
            headers={**headers, "X-Atlassian-Webhook-Identifier": uuid.uuid4().hex},
        ).status_code
        for _ in range(2)
    ]

    assert [a["status"] for a in answers] == ["queued", "duplicate", "duplicate"] and fresh == [202, 202]
    assert _settled(lambda: twin_status(left.node, item.key)["out_seq"]) == sent  # nothing new to send
    assert right.item(copy.key).summary == "Duplicate me v2"
    assert _copies(right, connection_id, f"{left.short}:{item.id}", since) == 1


def test_stale_webhook_delivered_late_does_not_roll_the_copy_back(nodes):
    left, right, _, item, copy, _ = _linked(nodes, "F2", "Order v1")
    stale_body, stale_headers = _signed_webhook(left, item.key, "stale-" + uuid.uuid4().hex)  # carries "Order v1"
    left.client.update_item(item.key, ItemFields(summary="Order v2"))
    wait_until(lambda: right.item(copy.key).summary == "Order v2", WAIT, 0.3, "v2 synced")

    assert (
        requests.post(
            f"{left.node.url}/hooks/jira-cloud", data=stale_body, headers=stale_headers, timeout=10
        ).status_code
        == 202
    )
    assert _settled(lambda: right.item(copy.key).summary) == "Order v2"
    assert left.item(item.key).summary == "Order v2"


def test_private_node_frozen_for_a_while_catches_up_when_back(nodes):
    left, right, _, item, copy, _ = _linked(nodes, "F3", "Before the outage")
    os.killpg(right.node.process.pid, signal.SIGSTOP)
    try:
        left.client.update_item(item.key, ItemFields(summary="During the outage", labels=["outage"]))
        left.client.add_comment(item.key, left.text("Written while the partner was down"))
        time.sleep(3)  # the outage itself: the private node cannot poll
    finally:
        os.killpg(right.node.process.pid, signal.SIGCONT)
    wait_until(
        lambda: (c := right.item(copy.key)).summary == "During the outage" and labels(c) == {"outage"},
        60,
        0.5,
        "fields after the outage",
    )
    wait_until(
        lambda: any("while the partner was down" in t for t in right.comment_texts(copy.key)),
        60,
        0.5,
        "comment after the outage",
    )


def test_changes_on_both_sides_within_100_ms_converge(nodes):
    left, right, _, item, copy, _ = _linked(nodes, "F4", "Concurrent")
    barrier = threading.Barrier(2)

    def on_left():
        barrier.wait()
        left.client.update_item(item.key, ItemFields(summary="Summary from Jira"))

    def on_right():
        barrier.wait()
        right.client.update_item(copy.key, ItemFields(labels=["from-ado"]))

    threads = [threading.Thread(target=on_left), threading.Thread(target=on_right)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    def both():
        mine, theirs = left.item(item.key), right.item(copy.key)
        return (mine.summary, sorted(labels(mine))), (theirs.summary, sorted(labels(theirs)))

    wait_until(lambda: both() == (("Summary from Jira", ["from-ado"]),) * 2, WAIT, 0.3, "different fields merged")

    # the same field on both sides at once: the side the item was created on (Jira) wins, on both sides
    barrier = threading.Barrier(2)
    threads = [
        threading.Thread(
            target=lambda: (barrier.wait(), left.client.update_item(item.key, ItemFields(summary="Jira says")))
        ),
        threading.Thread(
            target=lambda: (barrier.wait(), right.client.update_item(copy.key, ItemFields(summary="ADO says")))
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = _settled(both)
    assert final[0] == final[1] and final[0][0] == "Jira says"


def test_a_change_bounces_at_most_once_without_the_technical_user_guard(nodes):
    left, right, _, item, copy, _ = _linked(nodes, "L1", "Loop check")
    left.client.update_item(item.key, ItemFields(summary="Loop check v2", labels=["a", "b"]))
    left.client.add_comment(item.key, left.text("Does it loop?"))
    wait_until(lambda: right.item(copy.key).summary == "Loop check v2", WAIT, 0.3, "update synced")

    def seqs():
        return twin_status(left.node, item.key)["out_seq"], twin_status(right.node, copy.key)["out_seq"]

    left_sent, right_sent = _settled(seqs, quiet=6.0)
    changes_on_left = 3  # create, update, comment (each may be one replica, or fewer when coalesced)
    assert left_sent <= changes_on_left + 1  # at most one bounce back of the echo
    assert right_sent <= changes_on_left  # the copy echoes each change at most once
    assert right.item(copy.key).summary == left.item(item.key).summary == "Loop check v2"


def test_paused_connection_keeps_changes_and_applies_them_in_order_when_resumed(nodes):
    left, right, connection_id, item, copy, _ = _linked(nodes, "F5", "Paused v1")
    right.node.call("POST", f"/admin/v1/connections/{connection_id}/deactivate")
    for version in ("Paused v2", "Paused v3"):
        left.client.update_item(item.key, ItemFields(summary=version))
    left.client.add_comment(item.key, left.text("Queued while paused"))
    time.sleep(3)  # the pause itself: nothing may arrive
    assert right.item(copy.key).summary == "Paused v1" and right.comment_texts(copy.key) == []

    right.node.call("POST", f"/admin/v1/connections/{connection_id}/activate")
    wait_until(
        lambda: (
            right.item(copy.key).summary == "Paused v3"
            and any("Queued while paused" in t for t in right.comment_texts(copy.key))
        ),
        60,
        0.5,
        "caught up",
    )


def test_deleting_the_origin_item_unlinks_and_marks_the_copy(nodes):
    jira, ado, connection_id = connect(nodes, "pubjcf", "privadof", "F6")
    since = recently()
    origin = create(ado, "Delete me", type="Task")
    copy = wait_until(lambda: jira.find_copy(connection_id, f"{ado.short}:{origin.id}", since), WAIT, 0.3, "copy")

    deleted = requests.delete(
        f"{ado.node.tracker_url}/F6/_apis/wit/workitems/{origin.id}?api-version=7.1",
        auth=("", ado.node.person["token"]),
        timeout=10,
    )
    assert deleted.status_code == 200, deleted.text

    wait_until(lambda: any("was deleted" in t for t in jira.comment_texts(copy.key)), WAIT, 0.3, "copy marked")
    assert jira.item(copy.key).summary == "Delete me"  # the copy stays
    assert copy.key in jira.node.error("GET", f"/admin/v1/sync/twins?item={copy.key}")  # 404: the link is gone
