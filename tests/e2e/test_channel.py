"""Manual keys, ordered messages with acks, key rotation and deactivation between real nodes."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import wait_until
from twinbridge.peers.keys import new_manual_key

pytestmark = pytest.mark.e2e


def _manual(node, *, local_key, remote_key, remote_url, passive=False, name="manual"):
    body = {
        "name": name, "local_short_name": node.name, "remote_short_name": "partner",
        "local_key": local_key, "remote_key": remote_key, "remote_url": remote_url, "passive": passive,
    }
    return node.call("POST", "/admin/v1/connections/manual", body)["connection"]


def _pair_by_invitation(public, private):
    created, code = public.initiate(None)
    private.accept(code)
    wait_until(lambda: public.connection(created["id"])["status"] == "active", what="public side active")
    return created["id"]


def _notes(node, connection_id):
    events = node.connection(connection_id)["recent_events"]
    return [e["detail"] for e in sorted(events, key=lambda e: e.get("seq", 0)) if e["kind"] == "note.received"]


def _send(node, connection_id, text):
    return node.call("POST", f"/admin/v1/connections/{connection_id}/messages", {"kind": "note", "text": text})[
        "message"
    ]


def test_manual_keys_between_two_public_nodes_interoperate(cluster):
    a, b = cluster["pub-a"], cluster["pub-b"]
    key_a, key_b = new_manual_key(), new_manual_key()
    conn_a = _manual(a, local_key=key_a, remote_key=key_b, remote_url=b.url)
    conn_b = _manual(b, local_key=key_b, remote_key=key_a, remote_url=a.url)

    assert a.test(conn_a["id"])["remote"]["status"] == "ok"
    assert b.test(conn_b["id"])["remote"]["status"] == "ok"
    _send(a, conn_a["id"], "from a")
    wait_until(lambda: _notes(b, conn_b["id"]) == ["from a"], what="note pushed to b")


def test_manual_passive_public_with_private_partner_polls_and_pushes(cluster):
    public, private = cluster["pub-a"], cluster["priv-c"]
    key_pub, key_priv = new_manual_key(), new_manual_key()
    conn_pub = _manual(public, local_key=key_pub, remote_key=None, remote_url=None, passive=True)
    conn_priv = _manual(private, local_key=key_priv, remote_key=key_pub, remote_url=public.url)

    assert private.test(conn_priv["id"])["remote"]["status"] == "ok"
    report = public.test(conn_pub["id"])
    assert report["remote"]["status"] == "skipped" and "passive" in report["remote"]["detail"]
    _send(public, conn_pub["id"], "to the private side")
    wait_until(lambda: _notes(private, conn_priv["id"]) == ["to the private side"], what="note long-polled")


def test_manual_key_already_used_on_the_node_is_refused(cluster):
    a, b = cluster["pub-a"], cluster["pub-b"]
    key = new_manual_key()
    _manual(a, local_key=key, remote_key=new_manual_key(), remote_url=b.url)
    message = a.error(
        "POST",
        "/admin/v1/connections/manual",
        {
            "name": "dup",
            "local_short_name": "a",
            "remote_short_name": "b",
            "local_key": key,
            "remote_key": new_manual_key(),
            "remote_url": b.url,
        },
    )
    assert "already used" in message and key not in message


def test_messages_arrive_in_order_exactly_once_and_are_acknowledged(cluster):
    public, private = cluster["pub-a"], cluster["priv-c"]
    connection_id = _pair_by_invitation(public, private)

    for index in range(5):
        _send(public, connection_id, f"note {index}")

    wait_until(lambda: private.connection(connection_id)["in_seq"] == 5, what="five messages applied")
    assert _notes(private, connection_id) == [f"note {i}" for i in range(5)]
    wait_until(lambda: public.connection(connection_id)["queued_for_partner"] == 0, what="outbox acknowledged")
    _send(private, connection_id, "reply")
    wait_until(lambda: _notes(public, connection_id) == ["reply"], what="private side pushed its own message")


def test_key_rotation_from_the_private_side_completes_at_once(cluster):
    public, private = cluster["pub-a"], cluster["priv-c"]
    connection_id = _pair_by_invitation(public, private)
    keys_before = set(private.connection(connection_id)["key_ids"])

    rotated = private.call("POST", f"/admin/v1/connections/{connection_id}/rotate-keys")["connection"]

    assert rotated["rotation_pending"] is False and rotated["keys_rotated_at"]
    assert set(rotated["key_ids"]) - keys_before  # a new inbound key, the old one only lingers for the grace period
    wait_until(lambda: public.connection(connection_id)["keys_rotated_at"], what="public side switched")
    assert private.test(connection_id)["remote"]["status"] == "ok"
    _send(public, connection_id, "after rotation")
    wait_until(lambda: _notes(private, connection_id) == ["after rotation"], what="channel works after rotation")


def test_key_rotation_from_the_public_side_completes_through_the_private_poll(cluster):
    public, private = cluster["pub-a"], cluster["priv-c"]
    connection_id = _pair_by_invitation(public, private)

    offered = public.call("POST", f"/admin/v1/connections/{connection_id}/rotate-keys")["connection"]

    assert offered["rotation_pending"] is True  # the private partner has to poll the offer
    wait_until(lambda: not public.connection(connection_id)["rotation_pending"], what="rotation completed")
    wait_until(lambda: private.connection(connection_id)["keys_rotated_at"], what="private side switched")
    assert private.test(connection_id)["remote"]["status"] == "ok"
    _send(public, connection_id, "after public rotation")
    wait_until(lambda: _notes(private, connection_id) == ["after public rotation"], what="channel works")


def test_key_rotation_between_public_nodes(cluster):
    a, b = cluster["pub-a"], cluster["pub-b"]
    created, code = a.initiate(b)
    b.accept(code)

    a.call("POST", f"/admin/v1/connections/{created['id']}/rotate-keys")

    assert a.test(created["id"])["remote"]["status"] == "ok"
    assert b.test(created["id"])["remote"]["status"] == "ok"


def test_deactivated_connection_refuses_partner_then_resumes_with_queued_messages(cluster):
    public, private = cluster["pub-a"], cluster["priv-c"]
    connection_id = _pair_by_invitation(public, private)

    public.call("POST", f"/admin/v1/connections/{connection_id}/deactivate")
    report = private.test(connection_id)
    assert report["remote"]["status"] == "failed" and "deactivated" in report["remote"]["detail"]
    message = public.error("POST", f"/admin/v1/connections/{connection_id}/messages", {"kind": "note", "text": "x"})
    assert "deactivated" in message

    private.call("POST", f"/admin/v1/connections/{connection_id}/deactivate")
    public.call("POST", f"/admin/v1/connections/{connection_id}/activate")
    _send(public, connection_id, "queued while the partner was paused")
    assert private.connection(connection_id)["in_seq"] == 0
    private.call("POST", f"/admin/v1/connections/{connection_id}/activate")
    wait_until(lambda: _notes(private, connection_id) == ["queued while the partner was paused"], what="resumed")
    assert private.test(connection_id)["remote"]["status"] == "ok"


def test_pending_connection_cannot_be_activated_and_delete_removes_it(cluster):
    public = cluster["pub-a"]
    created, _ = public.initiate(None)
    assert "still pending" in public.error("POST", f"/admin/v1/connections/{created['id']}/activate")
    public.call("DELETE", f"/admin/v1/connections/{created['id']}")
    assert "does not exist" in public.error("GET", f"/admin/v1/connections/{created['id']}")
