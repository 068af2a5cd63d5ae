"""One test per finding of the security review and of the fuzz pass (each failed on the code before its fix)."""

from __future__ import annotations

import datetime as dt
import json
import secrets

import pytest

from tests.security.fuzz_support import event, invoke, nested
from tests.security.test_fuzz_webhook import SECRET, TRACKERS, credentials_for
from tests.support import provision_webhook_node

UNAUTHORIZED = {"error": "unauthorized", "message": "request authentication failed"}
PEER_ROUTES = [
    ("POST", "/peer/v1/ping"), ("POST", "/peer/v1/messages"), ("POST", "/peer/v1/poll"),
    ("POST", "/peer/v1/handshake/confirm"), ("POST", "/peer/v1/keys/rotate"), ("POST", "/peer/v1/keys/rotate-answer"),
    ("POST", "/peer/v1/invitations/c-00000000000000000000000000000000/accept"),
    ("GET", "/peer/v1/invitations/c-00000000000000000000000000000000/acceptance"),
]


# --- review: "any non-UTF-8 body on a peer route returns 500 with a stack trace logged, before the signature check"
@pytest.mark.parametrize(("method", "path"), PEER_ROUTES, ids=[p for _, p in PEER_ROUTES])
def test_non_utf8_body_on_a_peer_route_is_a_400_without_a_stack_trace(
    deps, lambda_context, table_snapshot, caplog, method, path
):
    from functions.peer_api.app import lambda_handler

    before = table_snapshot()
    # API Gateway hands Lambda text; bytes that are not UTF-8 arrive as lone surrogates in it.
    built = event(method, path, b'{"connection_id": "\xff\xfe"}', {}, encoding="surrogates")

    reply = invoke(lambda_handler, built, lambda_context)

    assert reply.status == 400, reply.text
    assert json.loads(reply.text) == {"error": "invalid_request", "message": "request body is not valid UTF-8 text"}
    assert not [r for r in caplog.records if r.exc_info], "a stack trace was logged"
    assert table_snapshot() == before


# --- review: "deeply nested webhook JSON gives 500" (json.loads raising RecursionError in load_object) -------------
@pytest.mark.parametrize("tracker", TRACKERS)
@pytest.mark.parametrize("body", [nested(10_000), b'{"a":' * 10_000 + b"1" + b"}" * 10_000, nested(500)],
                         ids=["array-10000", "object-10000", "array-500"])
def test_deeply_nested_authenticated_webhook_is_a_400(aws, monkeypatch, lambda_context, table_snapshot, tracker, body):
    from functions.tracker_webhook.app import lambda_handler

    provision_webhook_node(monkeypatch, tracker, {"webhook_secret": SECRET})
    before = table_snapshot()

    reply = invoke(lambda_handler, event("POST", f"/hooks/{tracker}", body, credentials_for(tracker, body)),
                   lambda_context)

    assert reply.status == 400, reply.text
    assert json.loads(reply.text)["error"] == "invalid_request"
    assert "nests deeper than 64 levels" in json.loads(reply.text)["message"]
    assert table_snapshot() == before


def test_webhook_integer_beyond_pythons_digit_limit_is_a_400(aws, monkeypatch, lambda_context, table_snapshot):
    """Found by the fuzz pass: json.loads raises a plain ValueError for integers over 4300 digits."""
    from functions.tracker_webhook.app import lambda_handler

    provision_webhook_node(monkeypatch, "jira-cloud", {"webhook_secret": SECRET})
    body = b'{"webhookEvent": "jira:issue_updated", "timestamp": ' + b"9" * 5000 + b"}"
    before = table_snapshot()

    reply = invoke(lambda_handler, event("POST", "/hooks/jira-cloud", body, credentials_for("jira-cloud", body)),
                   lambda_context)

    assert reply.status == 400, reply.text
    assert table_snapshot() == before


# --- review: "unauthenticated invitation-state oracle (404/410/409 before any proof)" ------------------------------
def _acceptor(code_text: str):
    from twinbridge.encoding import b64d, b64e
    from twinbridge.models.invitation import InvitationCode
    from twinbridge.peers.keys import agree, new_ephemeral

    code = InvitationCode.decode(code_text)
    pair = new_ephemeral()
    keys = agree(pair.private, b64d(code.public_key), context=code.key_context(),
                 binding_secret=b64d(code.invitation_secret), first_party=False)
    body = json.dumps({"acceptor_public_key": b64e(pair.public), "acceptor_node": "partner"}).encode()
    return code.connection_id, body, keys.outbound


def _accept(connection_id: str, body: bytes, key: bytes | None, context):
    from functions.peer_api.app import lambda_handler
    from twinbridge.peers.signing import sign

    path = f"/peer/v1/invitations/{connection_id}/accept"
    headers = sign(key, "POST", path, "", body) if key is not None else {}
    return invoke(lambda_handler, event("POST", path, body, headers), context)


def _states(node, lambda_context, monkeypatch) -> dict[str, str]:
    """connection id of an invitation in each state this node can hold."""
    from tests.security.conftest import admin_call

    def invite() -> tuple[str, str]:
        status, answer = admin_call("POST", "/admin/v1/connections/invitations", {
            "name": "X", "local_short_name": "acme", "remote_short_name": "x"}, lambda_context)
        assert status == 201
        return answer["connection"]["id"], answer["invitation_code"]

    used_id, used_code = invite()
    cid, body, key = _acceptor(used_code)
    assert _accept(cid, body, key, lambda_context).status == 200
    expired_id, _ = invite()
    return {
        "unknown": "c-" + secrets.token_hex(16),
        "pending": node.invitation_id,
        "used": used_id,
        "expired": expired_id,
        "manual-connection": node.connection_id,
        "acceptance-waiting": node.acceptance_id,
        "not-an-id": "x" * 3000,
    }


def _expire(monkeypatch) -> None:
    import twinbridge.services.invitations as service

    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=4)
    monkeypatch.setattr(service, "utcnow", lambda: later)


@pytest.mark.parametrize("signature", ["none", "random-key"])
def test_accept_answers_one_401_whatever_the_invitation_state(node, lambda_context, table_snapshot, monkeypatch,
                                                               signature):
    states = _states(node, lambda_context, monkeypatch)
    _expire(monkeypatch)  # "expired" is expired now; so is "pending", which must not say so either
    _, body, _ = _acceptor(node.invitation_code)
    key = None if signature == "none" else secrets.token_bytes(32)
    before = table_snapshot()

    replies = {state: _accept(cid, body, key, lambda_context) for state, cid in states.items()}

    assert {state: (r.status, json.loads(r.text)) for state, r in replies.items()} == dict.fromkeys(
        states, (401, UNAUTHORIZED))
    assert table_snapshot() == before


@pytest.mark.parametrize("signature", ["none", "random-key"])
def test_acceptance_fetch_answers_one_401_whatever_the_state(node, lambda_context, table_snapshot, monkeypatch,
                                                              signature):
    from functions.peer_api.app import lambda_handler
    from twinbridge.peers.signing import sign

    states = _states(node, lambda_context, monkeypatch)
    before = table_snapshot()
    replies = {}
    for state, cid in states.items():
        path = f"/peer/v1/invitations/{cid}/acceptance"
        headers = sign(secrets.token_bytes(32), "GET", path, "", b"") if signature == "random-key" else {}
        replies[state] = invoke(lambda_handler, event("GET", path, b"", headers), lambda_context)

    assert {state: (r.status, json.loads(r.text)) for state, r in replies.items()} == dict.fromkeys(
        states, (401, UNAUTHORIZED))
    assert table_snapshot() == before


def test_accept_that_proves_the_key_still_learns_used_and_expired(node, lambda_context, monkeypatch):
    """Holding the invitation's key (the acceptor that used it, or the holder of an expired code) gets the real
    reason: the fix hides the state from strangers only."""
    from tests.security.conftest import admin_call

    status, answer = admin_call("POST", "/admin/v1/connections/invitations", {
        "name": "X", "local_short_name": "acme", "remote_short_name": "x"}, lambda_context)
    cid, body, key = _acceptor(answer["invitation_code"])
    assert _accept(cid, body, key, lambda_context).status == 200

    again = _accept(cid, body, key, lambda_context)  # signed afresh with the connection's own key
    assert (again.status, json.loads(again.text)["error"]) == (409, "invitation_used")

    pending_cid, pending_body, pending_key = _acceptor(node.invitation_code)
    _expire(monkeypatch)
    late = _accept(pending_cid, pending_body, pending_key, lambda_context)
    assert (late.status, json.loads(late.text)["error"]) == (410, "invitation_expired")


# --- hardening: an id that cannot be a connection id never reaches DynamoDB ---------------------------------------
# Real DynamoDB refuses a partition key over 2048 bytes with a ValidationException (a 500 here before the fix); moto
# does not check key sizes, so this guards the fix (admin_api._connection_id) rather than reproducing the failure.
@pytest.mark.parametrize("method_and_suffix", [("GET", ""), ("DELETE", ""), ("POST", "/activate"),
                                               ("POST", "/deactivate"), ("POST", "/rotate-keys"), ("POST", "/test")])
def test_admin_connection_id_that_cannot_exist_is_a_404(deps, lambda_context, table_snapshot, method_and_suffix):
    from functions.admin_api.app import lambda_handler

    method, suffix = method_and_suffix
    before = table_snapshot()

    reply = invoke(lambda_handler, event(method, f"/admin/v1/connections/{'x' * 3000}{suffix}", b"", {}),
                   lambda_context)

    assert reply.status == 404, reply.text
    assert table_snapshot() == before
