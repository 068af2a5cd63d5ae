"""Invitations between real nodes over loopback, in every arrangement of public and private sides."""

from __future__ import annotations

import json
import socket

import pytest
import requests

from tests.e2e.conftest import wait_until

pytestmark = pytest.mark.e2e


def _status(node, connection_id):
    conn = node.connection(connection_id)
    return conn["status"] == "active" and conn


def test_public_initiator_private_acceptor_both_active_and_tests_report_correctly(cluster):
    public, private = cluster["pub-a"], cluster["priv-c"]
    created, code = public.initiate(None)
    assert created["status"] == "pending" and created["remote_private"] is True

    accepted = private.accept(code)

    assert accepted["status"] == "active" and accepted["remote_url"] == public.url
    wait_until(lambda: _status(public, created["id"]), timeout=5, what="public side active")
    private_test = private.test(created["id"])
    assert (
        private_test["remote"]["status"] == "ok" and "signed ping answered by pub-a" in private_test["remote"]["detail"]
    )
    public_test = public.test(created["id"])
    assert public_test["remote"]["status"] == "skipped"
    assert "partner is private" in public_test["remote"]["detail"]


def test_public_initiator_public_acceptor_push_both_ways(cluster):
    a, b = cluster["pub-a"], cluster["pub-b"]
    created, code = a.initiate(b)

    b.accept(code)

    conn_a = wait_until(lambda: _status(a, created["id"]), what="initiator active")
    assert conn_a["remote_url"] == b.url and conn_a["delivery"] == "push"
    assert a.test(created["id"])["remote"]["status"] == "ok"
    assert b.test(created["id"])["remote"]["status"] == "ok"


def test_public_initiator_without_partner_url_learns_public_acceptors_url(cluster):
    a, b = cluster["pub-a"], cluster["pub-b"]
    created, code = a.initiate(None)

    b.accept(code)

    assert a.connection(created["id"])["remote_url"] == b.url
    assert a.test(created["id"])["remote"]["status"] == "ok"


def test_private_initiator_public_acceptor_completes_on_the_private_poll(cluster):
    private, public = cluster["priv-c"], cluster["pub-a"]
    created, code = private.initiate(public)
    assert created["remote_url"] == public.url

    accepted = public.accept(code)

    assert accepted["status"] == "pending"  # until the private initiator fetches the acceptance
    wait_until(lambda: _status(private, created["id"]), what="private initiator active")
    wait_until(lambda: _status(public, created["id"]), what="public acceptor active")
    assert private.test(created["id"])["remote"]["status"] == "ok"
    assert public.test(created["id"])["remote"]["status"] == "skipped"


def test_both_private_is_refused_and_nothing_is_stored(cluster):
    private, other_private, public = cluster["priv-c"], cluster["priv-d"], cluster["pub-a"]
    before = other_private.connections()

    message = private.error(
        "POST",
        "/admin/v1/connections/invitations",
        {
            "name": "nowhere",
            "local_short_name": "c",
            "remote_short_name": "d",
            "partner_url": None,
        },
    )
    assert "private" in message and "both_sides_private" in message

    _, code = private.initiate(public)  # a private initiator's code carries no URL
    message = other_private.error("POST", "/admin/v1/connections/accept", {"code": code})
    assert "both sides are private" in message
    assert other_private.connections() == before


def test_invitation_code_is_single_use_across_nodes(cluster):
    a, b, c = cluster["pub-a"], cluster["pub-b"], cluster["priv-c"]
    created, code = a.initiate(None)
    c.accept(code)
    before = b.connections()

    message = b.error("POST", "/admin/v1/connections/accept", {"code": code})

    assert "already used" in message and "409" in message
    assert b.connections() == before
    assert a.connection(created["id"])["remote_url"] is None  # still the first acceptor's (private) connection


def test_private_node_exposes_no_peer_routes(cluster):
    private = cluster["priv-c"]
    response = requests.post(f"{private.url}/peer/v1/ping", data=json.dumps({"connection_id": "c-x"}), timeout=5)
    assert response.status_code == 404
    response = requests.post(f"{private.url}/peer/v1/invitations/c-x/accept", data="{}", timeout=5)
    assert response.status_code == 404
    assert cluster["pub-a"].call("GET", "/admin/v1/node")["public"] is True
    assert private.call("GET", "/admin/v1/node")["public"] is False


def test_local_admin_api_answers_only_an_admin_on_this_machine(cluster):
    """No web page and no rebound DNS name can drive a local node's admin API; bad framing is a 4xx, not a crash."""
    node = cluster["pub-a"]
    port = node.url.rsplit(":", 1)[1]
    before = node.connections()
    body = json.dumps({"name": "from a web page", "local_short_name": "web", "remote_short_name": "x", "project": "WEB"})
    attempts = {
        "rebound DNS name": {"Host": f"evil.example:{port}", "Content-Type": "application/json"},
        "web page origin": {"Origin": "http://evil.example", "Content-Type": "application/json"},
        "cross-site fetch": {"Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"},
        "HTML form": {"Content-Type": "text/plain"},
    }
    for label, headers in attempts.items():
        response = requests.post(f"{node.url}/admin/v1/connections/invitations", data=body, headers=headers, timeout=5)
        assert response.status_code in (403, 415), label
        assert response.json()["message"], label
    assert node.connections() == before

    for length, status in (("-1", 400), ("abc", 400), (str(64 * 1024 * 1024), 413)):
        with socket.create_connection(("127.0.0.1", int(port)), timeout=5) as raw:
            request = f"POST /admin/v1/connections/invitations HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            raw.sendall(f"{request}Content-Length: {length}\r\n\r\n".encode())
            answer = raw.recv(4096).decode()
        assert answer.startswith(f"HTTP/1.1 {status} "), (length, answer[:80])
    assert node.call("GET", "/admin/v1/node")["public"] is True  # the node is still serving
