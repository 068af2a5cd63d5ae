"""A node with something to attack: a manual connection whose keys the test holds, a pending invitation this node
issued, and a private initiator's invitation this node accepted (waiting for the fetch)."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass

import pytest

from tests.support import http_event


@dataclass
class Node:
    connection_id: str  # manual connection; the test signs as its partner with ``signing_key``
    signing_key: bytes
    invitation_id: str  # pending invitation issued here
    invitation_code: str
    acceptance_id: str  # a private initiator's invitation accepted here, waiting for the fetch

    @property
    def ids(self) -> list[str]:
        return [self.connection_id, self.invitation_id, self.acceptance_id]


def admin_call(method: str, path: str, body: dict | None, context) -> tuple[int, dict]:
    from functions.admin_api.app import lambda_handler

    response = lambda_handler(http_event(method, path, body), context)
    return response["statusCode"], json.loads(response["body"])


def private_initiator_code() -> str:
    """A code as a private node issues it (no URL): accepting it stores a pending acceptance, calls nobody."""
    from twinbridge.encoding import b64e
    from twinbridge.models.invitation import InvitationCode
    from twinbridge.peers.keys import new_ephemeral

    return InvitationCode(
        connection_id="c-" + secrets.token_hex(16), name="Globex <-> Acme", initiator_node="globex",
        initiator_short_name="globex", acceptor_short_name="acme", mode="basic", initiator_url=None,
        expires_at=dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=3),
        public_key=b64e(new_ephemeral().public), invitation_secret=b64e(secrets.token_bytes(32)),
    ).encode()


@pytest.fixture
def node(deps, lambda_context, monkeypatch) -> Node:
    from twinbridge.peers.keys import new_manual_key, parse_manual_key
    from twinbridge.settings import settings
    from twinbridge.wiring import wiring

    monkeypatch.setenv("LONG_POLL_SECONDS", "0.05")  # a valid long-poll answers at once when nothing waits
    settings.cache_clear()
    wiring.cache_clear()
    local, remote = new_manual_key(), new_manual_key()
    status, manual = admin_call("POST", "/admin/v1/connections/manual", {
        "name": "Acme", "local_short_name": "acme", "remote_short_name": "beta",
        "local_key": local, "remote_key": remote, "remote_url": "http://127.0.0.1:1",
    }, lambda_context)
    assert status == 201, manual
    status, invited = admin_call("POST", "/admin/v1/connections/invitations", {
        "name": "Acme <-> Gamma", "local_short_name": "acme", "remote_short_name": "gamma",
    }, lambda_context)
    assert status == 201, invited
    status, accepted = admin_call("POST", "/admin/v1/connections/accept", {"code": private_initiator_code()},
                                  lambda_context)
    assert status == 201, accepted
    return Node(manual["connection"]["id"], parse_manual_key(local), invited["connection"]["id"],
                invited["invitation_code"], accepted["connection"]["id"])
