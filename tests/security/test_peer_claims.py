"""Lower-severity claims a partner may not make (finding 12): confirming a paused connection, claiming to have seen
more of our replicas than we ever sent. In process: the peer API handler and moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.support import http_event
from twinbridge.models.admin import ManualConnectionRequest
from twinbridge.peers.keys import new_manual_key, parse_manual_key
from twinbridge.peers.signing import sign


def _peer(route: str, body: dict, key: bytes, context) -> tuple[int, dict]:
    from functions.peer_api.app import lambda_handler

    raw = json.dumps(body).encode()
    response = lambda_handler(http_event("POST", route, raw, sign(key, "POST", route, "", raw)), context)
    return response["statusCode"], json.loads(response["body"])


def test_a_paused_connection_cannot_be_confirmed(deps, lambda_context):
    from twinbridge.services import connections

    key = new_manual_key()
    conn = connections.add_manual(deps, ManualConnectionRequest(
        name="paused", local_short_name="us", remote_short_name="them", local_key=key, passive=True))
    connections.set_active(deps, conn.id, False)

    status, body = _peer("/peer/v1/handshake/confirm", {"initiator_node": "them"}, parse_manual_key(key),
                         lambda_context)

    assert status == 409 and body["error"] == "connection_inactive"
    assert deps.connections.get(conn.id).status.value == "deactivated"


def test_a_claim_to_have_seen_more_of_our_edits_than_we_made_is_bounded_and_recorded(deps, aws, monkeypatch):
    """A partner claiming our side made 10**9 edits to a field would have its value beat every later edit here
    (its clock would never be older than ours): our entry is capped at the edits we made, and the claim recorded."""
    from twinbridge.models.replica import FieldClock, ItemIdentity, Replica, ReplicaMessage, field_digest
    from twinbridge.models.twin import FieldState, Twin
    from twinbridge.services import connections
    from twinbridge.services.sync_in import _Apply

    conn = connections.add_manual(deps, ManualConnectionRequest(
        name="claims", local_short_name="us", remote_short_name="them", project="ACME", local_key=new_manual_key(),
        passive=True))
    twin = deps.twins.save(Twin(connection_id=conn.id, twin_id="us:10", origin="local", out_seq=3,
                                local=ItemIdentity(id="10", key="ACME-10"),
                                fields={"summary": FieldState(clock=FieldClock(by_origin=3, by_copy=1),
                                                              digest=field_digest("summary", "ours"))}))
    claim = ReplicaMessage(twin_id="us:10", seq=1, origin="us", replica=Replica(
        item=ItemIdentity(id="77", key="THEM-77"), project="THEM", type="Task", summary="x",
        updated=datetime.now(UTC)), clocks={"summary": FieldClock(by_origin=10**9, by_copy=2)})
    run = _Apply(deps, None, conn, twin, claim)  # the claim is weighed before any tracker call

    assert run._clocks() == {"summary": FieldClock(by_origin=3, by_copy=2)}  # its own entry stands
    [event] = [e for e in deps.events.recent(conn.id) if e["kind"] == "replica.claim_bounded"]
    assert "summary claims 1000000000 edits by this side, 3 made" in event["detail"]
