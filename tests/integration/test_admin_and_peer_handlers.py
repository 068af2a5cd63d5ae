import json

from tests.support import http_event


def test_manual_connection_then_signed_ping_is_answered(deps, lambda_context):
    from functions.admin_api.app import lambda_handler as admin
    from functions.peer_api.app import lambda_handler as peer
    from twinbridge.peers.keys import new_manual_key, parse_manual_key
    from twinbridge.peers.signing import sign

    local, remote = new_manual_key(), new_manual_key()
    response = admin(http_event("POST", "/admin/v1/connections/manual", {
        "name": "Acme", "local_short_name": "acme", "remote_short_name": "beta",
        "local_key": local, "remote_key": remote, "remote_url": "http://127.0.0.1:1",
    }), lambda_context)
    assert response["statusCode"] == 201, response["body"]
    conn = json.loads(response["body"])["connection"]
    body = json.dumps({"connection_id": conn["id"]}).encode()
    headers = sign(parse_manual_key(local), "POST", "/peer/v1/ping", "", body)
    response = peer(http_event("POST", "/peer/v1/ping", body, headers), lambda_context)
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["node"] == "test-node"


def test_public_node_without_configured_url_invites_with_the_url_it_was_reached_on(deps, lambda_context, monkeypatch):
    from functions.admin_api.app import lambda_handler as admin
    from twinbridge.models.invitation import InvitationCode
    from twinbridge.settings import settings
    from twinbridge.wiring import wiring

    monkeypatch.delenv("PUBLIC_URL")
    settings.cache_clear()
    wiring.cache_clear()
    event = http_event("POST", "/admin/v1/connections/invitations", {
        "name": "Acme", "local_short_name": "acme", "remote_short_name": "beta", "partner_url": None,
    }, domain="abc123.execute-api.eu-west-1.amazonaws.com")

    response = admin(event, lambda_context)

    assert response["statusCode"] == 201, response["body"]
    code = InvitationCode.decode(json.loads(response["body"])["invitation_code"])
    assert code.initiator_url == "https://abc123.execute-api.eu-west-1.amazonaws.com"
