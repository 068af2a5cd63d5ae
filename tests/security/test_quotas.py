"""Finding 10: per-connection limits. A partner's replicas pass through a token bucket of their own connection
(a burst, then a steady rate; 429 with Retry-After past it, the rest kept in its outbox), it holds a bounded number
of long-polls open, rotates keys a bounded number of times a day, and however many keys it rotated, saving the
connection never fails. The honest partner on another connection notices nothing."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from tests.support import http_event
from twinbridge.models.admin import ManualConnectionRequest
from twinbridge.peers.keys import new_manual_key, parse_manual_key
from twinbridge.peers.signing import sign


def _connection(deps, remote: str):
    from twinbridge.services import connections

    key = new_manual_key()
    conn = connections.add_manual(deps, ManualConnectionRequest(
        name=remote, local_short_name="us", remote_short_name=remote, project="ACME", local_key=key, passive=True))
    return conn, parse_manual_key(key)


def _replicas(conn_id: str, remote: str, first_seq: int, count: int) -> list[dict]:
    return [{"message_id": uuid.uuid4().hex, "connection_id": conn_id, "seq": first_seq + n, "kind": "sync.replica",
             "payload": {"twin_id": f"{remote}:{first_seq + n}", "seq": 1, "origin": remote, "replica": {
                 "item": {"id": str(first_seq + n), "key": f"R-{first_seq + n}"}, "project": "R", "type": "Task",
                 "summary": f"item {first_seq + n}", "updated": datetime.now(UTC).isoformat()}}}
            for n in range(count)]


def _post(route: str, body: dict, key: bytes, context) -> tuple[int, dict, dict]:
    from functions.peer_api.app import lambda_handler

    raw = json.dumps(body).encode()
    response = lambda_handler(http_event("POST", route, raw, sign(key, "POST", route, "", raw)), context)
    return response["statusCode"], json.loads(response["body"]), response.get("headers") or {}


@pytest.fixture
def held(monkeypatch, aws):
    """Applies stay queued (the tracker is not what is measured here); the bucket refills too slowly to matter."""
    from twinbridge.settings import settings
    from twinbridge.wiring import wiring

    monkeypatch.setenv("PARTNER_REPLICAS_PER_SECOND", "0.001")
    settings.cache_clear()
    wiring.cache_clear()
    deps = wiring()
    deps.queue.hold()
    return deps


def test_a_flood_gets_its_burst_then_429_with_retry_after_and_another_partner_is_untouched(held, lambda_context):
    deps = held
    flood, flood_key = _connection(deps, "flood")
    honest, honest_key = _connection(deps, "honest")
    burst = deps.settings.replica_burst

    status, first, _ = _post("/peer/v1/messages", {"connection_id": flood.id,
                                                   "messages": _replicas(flood.id, "flood", 1, burst + 10)},
                             flood_key, lambda_context)
    again, refused, headers = _post("/peer/v1/messages", {"connection_id": flood.id, "messages": _replicas(
        flood.id, "flood", burst + 1, 10)}, flood_key, lambda_context)
    ok, answer, _ = _post("/peer/v1/messages", {"connection_id": honest.id,
                                                "messages": _replicas(honest.id, "honest", 1, 5)},
                          honest_key, lambda_context)

    assert (status, first["acked_seq"]) == (200, burst)  # the burst; the rest stays in the partner's outbox
    assert again == 429 and refused["error"] == "throttled" and int(headers["Retry-After"]) >= 1
    assert (ok, answer["acked_seq"]) == (200, 5)
    assert deps.queue.held("sync.apply") == burst + 5


def test_a_partner_holds_a_bounded_number_of_long_polls(held, lambda_context):
    deps = held
    conn, key = _connection(deps, "poller")
    for n in range(deps.settings.polls_per_connection):
        assert deps.quotas.lease(conn.id, "poll", deps.settings.polls_per_connection, 30, f"open-{n}")

    status, body, headers = _post("/peer/v1/poll", {"connection_id": conn.id, "ack_seq": 0, "wait_seconds": 0},
                                  key, lambda_context)

    assert status == 429 and "long-polls" in body["message"] and headers["Retry-After"] == "1"


def test_key_rotations_are_capped_per_day(held, lambda_context):
    from twinbridge.encoding import b64e
    from twinbridge.peers.keys import new_ephemeral
    from twinbridge.services.rotation import ROTATIONS_PER_DAY

    deps = held
    conn, key = _connection(deps, "rotator")
    statuses = []
    for _ in range(ROTATIONS_PER_DAY + 1):
        offer = {"connection_id": conn.id, "rotation_id": uuid.uuid4().hex, "public_key": b64e(new_ephemeral().public)}
        statuses.append(_post("/peer/v1/keys/rotate", offer, key, lambda_context)[0])  # the old key stays valid

    assert statuses[:-1] == [200] * ROTATIONS_PER_DAY and statuses[-1] == 429
    assert len(deps.connections.get(conn.id).keys.inbound) <= 3


def test_saving_a_connection_that_drops_over_a_hundred_keys_succeeds(deps):
    from twinbridge.models.connection import InboundKey
    from twinbridge.peers.keys import key_id
    from twinbridge.store import keys
    from twinbridge.store.serialization import to_item

    conn, _ = _connection(deps, "many-keys")
    record = deps.connections.get(conn.id)
    extra = [bytes([n % 256, n // 256]) * 16 for n in range(150)]
    record.keys.inbound = [*record.keys.inbound, *(InboundKey(key_id=key_id(k), secret=k) for k in extra)]
    deps.table.put_item(Item=to_item(record))  # what 110+ rotations left behind before keys were capped
    for k in extra:
        deps.table.put_item(Item={"PK": keys.key_pk(key_id(k)), "SK": keys.KEY_SK, "connection_id": conn.id})

    record = deps.connections.get(conn.id)
    record.keys.inbound = record.keys.inbound[:1]
    deps.connections.save(record)

    assert [k.key_id for k in deps.connections.get(conn.id).keys.inbound] == [record.keys.inbound[0].key_id]
    assert deps.connections.connection_id_for_key(key_id(extra[0])) is None
