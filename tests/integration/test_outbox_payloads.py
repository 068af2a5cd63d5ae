"""Payloads come out of the outbox exactly as they went in (numbers stay numbers, floats are allowed)."""

from __future__ import annotations

from twinbridge.models.admin import ManualConnectionRequest
from twinbridge.peers.keys import new_manual_key


def test_payload_numbers_and_nesting_survive_the_outbox(deps):
    from twinbridge.services.connections import add_manual

    conn = add_manual(deps, ManualConnectionRequest(
        name="A", local_short_name="acme", remote_short_name="beta", local_key=new_manual_key(),
        remote_url="http://127.0.0.1:9", remote_key=new_manual_key()))
    payload = {"doc": {"t": "Document", "v": 1, "blocks": [{"t": "Heading", "level": 2}]}, "ratio": 0.25, "n": None}
    deps.outbox.append(conn.id, "sync.replica", payload)
    (message,), more = deps.outbox.pending(conn.id, 0, 10)
    assert message.payload == payload and not more
    assert type(message.payload["doc"]["v"]) is int
