"""Peer API authentication: forged, tampered, replayed, stale or misdirected requests are refused and change nothing."""

from __future__ import annotations

import base64
import json
import math
import secrets
import time
from dataclasses import dataclass

import pytest

from tests.support import http_event

UNAUTHORIZED_BODY = json.dumps({"error": "unauthorized", "message": "request authentication failed"})
SIGNATURE_HEADERS = ("x-twinbridge-key-id", "x-twinbridge-timestamp", "x-twinbridge-nonce", "x-twinbridge-signature")


@dataclass
class Reply:
    status: int
    text: str
    headers: dict

    @property
    def json(self) -> dict:
        return json.loads(self.text)


@dataclass
class Partner:
    """The other node of a manual connection, as this node's tests play it."""

    connection_id: str
    local_key: str  # this node's inbound key: the partner signs with it
    remote_key: str  # this node's outbound key

    @property
    def signing_key(self) -> bytes:
        from twinbridge.peers.keys import parse_manual_key

        return parse_manual_key(self.local_key)

    def body(self, route: str, *, connection_id: str | None = None, text: str = "hello") -> bytes:
        cid = connection_id or self.connection_id
        if route == "/peer/v1/messages":
            message = {"message_id": "m-1", "connection_id": cid, "seq": 1, "kind": "note", "payload": {"text": text}}
            return json.dumps({"connection_id": cid, "messages": [message]}).encode()
        if route == "/peer/v1/poll":
            return json.dumps({"connection_id": cid, "ack_seq": 0, "wait_seconds": 0}).encode()
        return json.dumps({"connection_id": cid}).encode()

    def sign(
        self, route: str, body: bytes, *, key: bytes | None = None, query: str = "", now: float | None = None
    ) -> dict:
        from twinbridge.peers.signing import sign

        return sign(key or self.signing_key, "POST", route, query, body, now=now)


def _reply(response: dict) -> Reply:
    return Reply(response["statusCode"], response.get("body") or "", response.get("headers") or {})


def admin(method: str, path: str, body: dict | None, context) -> Reply:
    from functions.admin_api.app import lambda_handler

    return _reply(lambda_handler(http_event(method, path, body), context))


def peer(path: str, body: bytes, headers: dict, context, *, query: str = "") -> Reply:
    from functions.peer_api.app import lambda_handler

    return _reply(lambda_handler(http_event("POST", path, body, headers, query=query), context))


def without_nonces(items: list[dict]) -> list[dict]:
    """Everything but the replay-protection records an authenticated request leaves behind."""
    return [item for item in items if not item["PK"].startswith("NONCE#")]


@pytest.fixture
def partner(deps, lambda_context) -> Partner:
    from twinbridge.peers.keys import new_manual_key

    local, remote = new_manual_key(), new_manual_key()
    reply = admin("POST", "/admin/v1/connections/manual", {
        "name": "Acme", "local_short_name": "acme", "remote_short_name": "beta",
        "local_key": local, "remote_key": remote, "remote_url": "http://127.0.0.1:1",
    }, lambda_context)
    assert reply.status == 201, reply.text
    return Partner(reply.json["connection"]["id"], local, remote)


ROUTES = ["/peer/v1/ping", "/peer/v1/messages", "/peer/v1/poll"]


def assert_unauthorized(reply: Reply) -> None:
    assert reply.status == 401, reply.text
    assert reply.text == UNAUTHORIZED_BODY


# --- 1. forged and tampered requests -------------------------------------------------------------
@pytest.mark.parametrize("route", ROUTES)
def test_correctly_signed_request_is_answered(partner, lambda_context, route):
    body = partner.body(route)
    reply = peer(route, body, partner.sign(route, body), lambda_context)
    assert reply.status == 200, reply.text


@pytest.mark.parametrize("route", ROUTES)
def test_body_changed_after_signing_is_unauthorized_and_nothing_changes(partner, lambda_context, table_snapshot, route):
    signed_body = partner.body(route, text="harmless")
    sent_body = partner.body(route, text="forged") if route == "/peer/v1/messages" else signed_body + b" "
    headers = partner.sign(route, signed_body)
    before = table_snapshot()

    reply = peer(route, sent_body, headers, lambda_context)

    assert_unauthorized(reply)
    assert table_snapshot() == before


@pytest.mark.parametrize("route", ROUTES)
def test_key_unknown_to_node_is_unauthorized_and_nothing_changes(partner, lambda_context, table_snapshot, route):
    body = partner.body(route)
    headers = partner.sign(route, body, key=secrets.token_bytes(32))
    before = table_snapshot()

    reply = peer(route, body, headers, lambda_context)

    assert_unauthorized(reply)
    assert table_snapshot() == before


@pytest.mark.parametrize("route", ROUTES)
def test_known_key_id_with_signature_from_another_key_is_unauthorized_and_nothing_changes(
    partner, lambda_context, table_snapshot, route
):
    from twinbridge.peers.keys import key_id

    body = partner.body(route)
    headers = partner.sign(route, body, key=secrets.token_bytes(32))
    headers["x-twinbridge-key-id"] = key_id(partner.signing_key)
    before = table_snapshot()

    reply = peer(route, body, headers, lambda_context)

    assert_unauthorized(reply)
    assert table_snapshot() == before


def test_outbound_key_used_as_inbound_is_unauthorized_and_nothing_changes(partner, lambda_context, table_snapshot):
    """A partner who swaps the two keys (signs with the key this node sends with) is refused."""
    from twinbridge.peers.keys import parse_manual_key

    body = partner.body("/peer/v1/ping")
    headers = partner.sign("/peer/v1/ping", body, key=parse_manual_key(partner.remote_key))
    before = table_snapshot()

    assert_unauthorized(peer("/peer/v1/ping", body, headers, lambda_context))
    assert table_snapshot() == before


@pytest.mark.parametrize(
    ("signed_path", "sent_path", "signed_query", "sent_query"),
    [
        ("/peer/v1/ping", "/peer/v1/poll", "", ""),
        ("/peer/v1/poll", "/peer/v1/ping", "", ""),
        ("/peer/v1/ping", "/peer/v1/ping", "", "debug=1"),
        ("/peer/v1/ping", "/peer/v1/ping", "a=1", "a=2"),
    ],
    ids=["ping-sent-to-poll", "poll-sent-to-ping", "query-added", "query-changed"],
)
def test_request_sent_elsewhere_than_signed_is_unauthorized_and_nothing_changes(
    partner, lambda_context, table_snapshot, signed_path, sent_path, signed_query, sent_query
):
    body = partner.body("/peer/v1/ping")
    headers = partner.sign(signed_path, body, query=signed_query)
    before = table_snapshot()

    reply = peer(sent_path, body, headers, lambda_context, query=sent_query)

    assert_unauthorized(reply)
    assert table_snapshot() == before


# --- replay and clock skew -----------------------------------------------------------------------
@pytest.mark.parametrize("route", ROUTES)
def test_replayed_request_is_unauthorized_and_nothing_changes(partner, lambda_context, table_snapshot, route):
    body = partner.body(route)
    headers = partner.sign(route, body)
    first = peer(route, body, headers, lambda_context)
    assert first.status == 200, first.text
    after_first = table_snapshot()

    replay = peer(route, body, headers, lambda_context)

    assert_unauthorized(replay)
    assert table_snapshot() == after_first


def test_replayed_push_applies_its_note_once(partner, lambda_context, table_snapshot):
    body = partner.body("/peer/v1/messages", text="only once")
    headers = partner.sign("/peer/v1/messages", body)
    assert peer("/peer/v1/messages", body, headers, lambda_context).status == 200

    assert_unauthorized(peer("/peer/v1/messages", body, headers, lambda_context))

    notes = [item["detail"] for item in table_snapshot() if item.get("kind") == "note.received"]
    assert notes == ["only once"]


@pytest.mark.parametrize("offset", [-301, +301], ids=["301s-old", "301s-ahead"])
def test_timestamp_outside_allowed_skew_is_unauthorized_and_nothing_changes(
    partner, lambda_context, table_snapshot, offset
):
    # Whole seconds away from "now" so the request is outside the window even after int() truncation.
    at = math.floor(time.time()) + offset if offset < 0 else math.ceil(time.time()) + offset
    body = partner.body("/peer/v1/ping")
    headers = partner.sign("/peer/v1/ping", body, now=at)
    before = table_snapshot()

    reply = peer("/peer/v1/ping", body, headers, lambda_context)

    assert_unauthorized(reply)
    assert table_snapshot() == before


@pytest.mark.parametrize("offset", [-290, +290], ids=["290s-old", "290s-ahead"])
def test_timestamp_inside_allowed_skew_is_answered(partner, lambda_context, offset):
    body = partner.body("/peer/v1/ping")
    reply = peer("/peer/v1/ping", body, partner.sign("/peer/v1/ping", body, now=time.time() + offset), lambda_context)
    assert reply.status == 200, reply.text


# --- missing and malformed headers ---------------------------------------------------------------
@pytest.mark.parametrize("missing", [*SIGNATURE_HEADERS, "all"])
def test_missing_signature_header_is_unauthorized_and_nothing_changes(partner, lambda_context, table_snapshot, missing):
    body = partner.body("/peer/v1/ping")
    headers = partner.sign("/peer/v1/ping", body)
    for name in SIGNATURE_HEADERS if missing == "all" else (missing,):
        del headers[name]
    before = table_snapshot()

    reply = peer("/peer/v1/ping", body, headers, lambda_context)

    assert_unauthorized(reply)
    assert table_snapshot() == before


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("x-twinbridge-key-id", "k_" + "0" * 100),
        ("x-twinbridge-timestamp", "-5"),
        ("x-twinbridge-timestamp", "17e8"),
        ("x-twinbridge-timestamp", "\u00b2"),  # a superscript two: str.isdigit() says yes, int() says no
        ("x-twinbridge-nonce", "n" * 65),
        ("x-twinbridge-signature", "not-hex"),
        ("x-twinbridge-signature", "\u00e9" * 64),  # non-ASCII: hmac.compare_digest refuses to compare it
    ],
    ids=["oversized-key-id", "negative-timestamp", "float-timestamp", "superscript-timestamp", "oversized-nonce",
         "non-hex-signature", "non-ascii-signature"],
)
def test_malformed_signature_header_is_unauthorized_and_nothing_changes(
    partner, lambda_context, table_snapshot, header, value
):
    body = partner.body("/peer/v1/ping")
    headers = partner.sign("/peer/v1/ping", body)
    headers[header] = value
    before = table_snapshot()

    reply = peer("/peer/v1/ping", body, headers, lambda_context)

    assert_unauthorized(reply)
    assert table_snapshot() == before


# --- the connection named, deleted or deactivated ------------------------------------------------
def _manual_connection(context, name: str) -> Partner:
    from twinbridge.peers.keys import new_manual_key

    local, remote = new_manual_key(), new_manual_key()
    reply = admin("POST", "/admin/v1/connections/manual", {
        "name": name, "local_short_name": "acme", "remote_short_name": name.lower(),
        "local_key": local, "remote_key": remote, "remote_url": "http://127.0.0.1:1",
    }, context)
    assert reply.status == 201, reply.text
    return Partner(reply.json["connection"]["id"], local, remote)


@pytest.mark.parametrize("route", ROUTES)
def test_signed_request_naming_another_connection_acts_only_on_the_signing_key_connection(
    partner, lambda_context, table_snapshot, route
):
    """The body's connection_id is the sender's own id (ids may differ per side since c4bc031): the key decides."""
    from twinbridge.store import keys as k

    bystander = _manual_connection(lambda_context, "Gamma")
    bystander_pk = k.connection_pk(bystander.connection_id)
    bystander_before = [item for item in table_snapshot() if item["PK"] == bystander_pk]
    body = partner.body(route, connection_id=bystander.connection_id, text="for acme only")

    reply = peer(route, body, partner.sign(route, body), lambda_context)

    assert reply.status == 200, reply.text
    assert bystander.connection_id not in reply.text
    assert [item for item in table_snapshot() if item["PK"] == bystander_pk] == bystander_before
    if route == "/peer/v1/messages":
        notes = [(item["PK"], item["detail"]) for item in table_snapshot() if item.get("kind") == "note.received"]
        assert notes == [(k.connection_pk(partner.connection_id), "for acme only")]


def test_signed_request_for_deleted_connection_is_unauthorized_and_nothing_changes(
    partner, lambda_context, table_snapshot
):
    assert admin("DELETE", f"/admin/v1/connections/{partner.connection_id}", None, lambda_context).status == 200
    body = partner.body("/peer/v1/ping")
    before = table_snapshot()

    reply = peer("/peer/v1/ping", body, partner.sign("/peer/v1/ping", body), lambda_context)

    assert_unauthorized(reply)
    assert table_snapshot() == before


@pytest.mark.parametrize("route", ROUTES)
def test_signed_request_for_deactivated_connection_is_refused_with_conflict(
    partner, lambda_context, table_snapshot, route
):
    reply = admin("POST", f"/admin/v1/connections/{partner.connection_id}/deactivate", None, lambda_context)
    assert reply.status == 200 and reply.json["connection"]["status"] == "deactivated", reply.text
    body = partner.body(route)
    before = table_snapshot()

    reply = peer(route, body, partner.sign(route, body), lambda_context)

    assert reply.status == 409, reply.text
    assert reply.json["error"] == "connection_inactive"
    assert without_nonces(table_snapshot()) == without_nonces(before)


# --- 2. one answer for every authentication failure ----------------------------------------------
def test_every_unauthorized_answer_is_identical_and_reveals_nothing(partner, lambda_context):
    from twinbridge.peers.keys import key_id

    route = "/peer/v1/ping"
    body = partner.body(route)
    stranger = secrets.token_bytes(32)
    causes: dict[str, tuple[bytes, dict]] = {}

    causes["tampered body"] = (body + b" ", partner.sign(route, body))
    causes["unknown key"] = (body, partner.sign(route, body, key=stranger))
    forged = partner.sign(route, body, key=stranger)
    forged["x-twinbridge-key-id"] = key_id(partner.signing_key)
    causes["known key id, other key"] = (body, forged)
    causes["stale"] = (body, partner.sign(route, body, now=math.floor(time.time()) - 360))
    causes["future"] = (body, partner.sign(route, body, now=math.ceil(time.time()) + 360))
    causes["no headers"] = (body, {})
    no_signature = partner.sign(route, body)
    del no_signature["x-twinbridge-signature"]
    causes["no signature"] = (body, no_signature)
    replayed = partner.sign(route, body)
    assert peer(route, body, replayed, lambda_context).status == 200
    causes["replayed nonce"] = (body, replayed)

    replies = {cause: peer(route, sent, headers, lambda_context) for cause, (sent, headers) in causes.items()}

    assert {cause: r.status for cause, r in replies.items()} == dict.fromkeys(causes, 401)
    assert {r.text for r in replies.values()} == {UNAUTHORIZED_BODY}
    key = partner.signing_key
    revealing = [
        key_id(key), partner.local_key, key.hex(), base64.urlsafe_b64encode(key).decode().rstrip("="),
        base64.b64encode(key).decode(), key_id(stranger), partner.connection_id,
        "nonce", "timestamp", "skew", "signature", "mismatch", "key id", "replay", "expired", "deleted",
    ]
    for cause, r in replies.items():
        exposed = r.text + json.dumps(r.headers)
        assert [word for word in revealing if word in exposed] == [], cause


# --- 4. keys never leave the node -----------------------------------------------------------------
def _secret_spellings(item: dict) -> list[str]:
    """Every stored key of a connection item, in the spellings a leak could take."""
    from twinbridge.encoding import b64d

    stored = item["keys"]
    values = [entry["secret"] for entry in stored.get("inbound", [])]
    values += [value for name, value in stored.items() if name != "inbound" and isinstance(value, str) and value
               and name not in ("rotation_id", "next_inbound_key_id")]
    spellings = []
    for value in values:
        raw = b64d(value)
        spellings += [value, raw.hex(), raw.hex().upper(), base64.b64encode(raw).decode(),
                      base64.b64encode(raw).decode().rstrip("="), base64.urlsafe_b64encode(raw).decode()]
    return spellings


def test_manual_connection_keys_are_never_returned_by_the_admin_api(partner, table, lambda_context):
    from twinbridge.store import keys as k

    item = table.get_item(Key={"PK": k.connection_pk(partner.connection_id), "SK": k.CONNECTION_SK})["Item"]
    assert item["keys"]["inbound"] and item["keys"]["outbound"]
    secrets_ = [partner.local_key, partner.remote_key, *_secret_spellings(item)]
    body = partner.body("/peer/v1/ping")
    ping = peer("/peer/v1/ping", body, partner.sign("/peer/v1/ping", body), lambda_context)
    assert ping.status == 200

    bodies = {
        "list": admin("GET", "/admin/v1/connections", None, lambda_context),
        "show": admin("GET", f"/admin/v1/connections/{partner.connection_id}", None, lambda_context),
        "deactivate": admin("POST", f"/admin/v1/connections/{partner.connection_id}/deactivate", None, lambda_context),
        "activate": admin("POST", f"/admin/v1/connections/{partner.connection_id}/activate", None, lambda_context),
        "node": admin("GET", "/admin/v1/node", None, lambda_context),
        "ping": ping,
    }

    assert {name: r.status for name, r in bodies.items()} == dict.fromkeys(bodies, 200)
    assert partner.connection_id in bodies["list"].text  # the listing is about this connection
    leaks = {name: [s for s in secrets_ if s in r.text] for name, r in bodies.items()}
    assert leaks == dict.fromkeys(bodies, [])
