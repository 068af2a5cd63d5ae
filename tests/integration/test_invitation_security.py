"""Invitations under attack: bad, expired, reused or forged codes and accepts are refused and store nothing."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
from dataclasses import dataclass

import pytest

from tests.support import http_event

UNAUTHORIZED_BODY = json.dumps({"error": "unauthorized", "message": "request authentication failed"})


@dataclass
class Reply:
    status: int
    text: str

    @property
    def json(self) -> dict:
        return json.loads(self.text)


def _reply(response: dict) -> Reply:
    return Reply(response["statusCode"], response.get("body") or "")


def admin(method: str, path: str, body: dict | None, context) -> Reply:
    from functions.admin_api.app import lambda_handler

    return _reply(lambda_handler(http_event(method, path, body), context))


def peer(method: str, path: str, body: bytes, headers: dict, context) -> Reply:
    from functions.peer_api.app import lambda_handler

    return _reply(lambda_handler(http_event(method, path, body or None, headers), context))


def private_node(monkeypatch) -> None:
    """Turn the test node into a private one (no URL it could be reached at)."""
    from twinbridge.settings import settings
    from twinbridge.wiring import wiring

    monkeypatch.setenv("NODE_PUBLIC", "false")
    monkeypatch.setenv("PUBLIC_URL", "")
    settings.cache_clear()
    wiring.cache_clear()


def crafted_code(**changes) -> str:
    """An invitation code as another node would issue it (a real X25519 half; nobody listens at its URL)."""
    from twinbridge.encoding import b64e
    from twinbridge.models.invitation import InvitationCode
    from twinbridge.peers.keys import new_ephemeral

    fields = dict(
        connection_id="c-" + secrets.token_hex(16),
        name="Globex <-> Acme",
        initiator_node="globex-prod",
        initiator_short_name="globex",
        acceptor_short_name="acme",
        mode="basic",
        initiator_url="http://127.0.0.1:1",
        expires_at=dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=3),
        public_key=b64e(new_ephemeral().public),
        invitation_secret=b64e(secrets.token_bytes(32)),
    )
    fields.update(changes)
    # model_construct skips validation, as a buggy or hostile node's encoder would
    return InvitationCode.model_construct(**fields).encode()


def echoes(message: str, code: str, window: int = 12) -> bool:
    """True when ``message`` repeats any ``window``-long piece of ``code``."""
    return any(code[i : i + window] in message for i in range(max(1, len(code) - window + 1)))


@dataclass
class Acceptor:
    """The accepting node of an invitation this node issued, played by the test."""

    connection_id: str
    public_key: str
    inbound: bytes
    outbound: bytes

    @classmethod
    def for_code(cls, code_text: str, *, binding_secret: bytes | None = None) -> Acceptor:
        from twinbridge.encoding import b64d, b64e
        from twinbridge.models.invitation import InvitationCode
        from twinbridge.peers.keys import agree, new_ephemeral

        code = InvitationCode.decode(code_text)
        pair = new_ephemeral()
        agreed = agree(
            pair.private, b64d(code.public_key), context=code.key_context(),
            binding_secret=b64d(code.invitation_secret) if binding_secret is None else binding_secret,
            first_party=False,
        )
        return cls(code.connection_id, b64e(pair.public), agreed.inbound, agreed.outbound)

    def body(self, public_key: str | None = None) -> bytes:
        return json.dumps({
            "acceptor_public_key": public_key or self.public_key,
            "acceptor_node": "partner-node",
            "acceptor_url": "http://127.0.0.1:1",
        }).encode()

    def accept(self, context, *, key: bytes | None = None, connection_id: str | None = None,
               signed_body: bytes | None = None, sent_body: bytes | None = None) -> Reply:
        from twinbridge.peers.signing import sign

        path = f"/peer/v1/invitations/{connection_id or self.connection_id}/accept"
        signed_body = signed_body or self.body()
        headers = sign(self.outbound if key is None else key, "POST", path, "", signed_body)
        return peer("POST", path, sent_body or signed_body, headers, context)


@pytest.fixture
def invitation(deps, lambda_context) -> tuple[str, str]:
    """(connection id, invitation code) of an invitation this (public) node issued."""
    reply = admin("POST", "/admin/v1/connections/invitations", {
        "name": "Acme <-> Beta", "local_short_name": "acme", "remote_short_name": "beta",
    }, lambda_context)
    assert reply.status == 201, reply.text
    return reply.json["connection"]["id"], reply.json["invitation_code"]


def status_of(connection_id: str, context) -> str:
    reply = admin("GET", f"/admin/v1/connections/{connection_id}", None, context)
    assert reply.status == 200, reply.text
    return reply.json["connection"]["status"]


# --- 3. codes an admin pastes -------------------------------------------------------------------
def _changed(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


MALFORMED = {
    "garbage": lambda good: "not-an-invitation-%%%",
    "wrong-prefix": lambda good: "tbinv2." + good[len("tbinv1.") :],
    "truncated-end": lambda good: good[:-3],
    "truncated-middle": lambda good: good[: len(good) // 2] + good[-9:],
    "one-character-changed": lambda good: _changed(good, len(good) // 2),
    "checksum-character-changed": lambda good: _changed(good, len(good) - 1),
}


@pytest.mark.parametrize("spoil", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_invitation_code_is_refused_without_echo_and_nothing_stored(
    deps, lambda_context, table_snapshot, spoil
):
    code = spoil(crafted_code())
    before = table_snapshot()

    reply = admin("POST", "/admin/v1/connections/accept", {"code": code, "project": "ACME"}, lambda_context)

    assert reply.status == 400, reply.text
    assert reply.json["error"] == "malformed_invitation"
    assert not echoes(reply.text, code)
    assert table_snapshot() == before


CRAFTED_CONTENT = {
    "public-key-too-short": lambda: {"public_key": base64.urlsafe_b64encode(bytes(31)).decode().rstrip("=")},
    "public-key-low-order-point": lambda: {"public_key": base64.urlsafe_b64encode(bytes(32)).decode().rstrip("=")},
    "secret-not-base64url": lambda: {"invitation_secret": "a"},
    "expiry-without-timezone": lambda: {"expires_at": dt.datetime(2099, 1, 1, 0, 0, 0)},
}


@pytest.mark.parametrize("content", CRAFTED_CONTENT.values(), ids=CRAFTED_CONTENT.keys())
def test_intact_code_with_unusable_content_is_refused_as_malformed_and_nothing_stored(
    deps, lambda_context, table_snapshot, content
):
    """The checksum only catches copy errors: a code can be whole and still carry content no node can use."""
    code = crafted_code(**content())
    before = table_snapshot()

    reply = admin("POST", "/admin/v1/connections/accept", {"code": code}, lambda_context)

    assert reply.status == 400, reply.text
    assert reply.json["error"] == "malformed_invitation"
    assert not echoes(reply.text, code)
    assert table_snapshot() == before


def test_expired_invitation_code_is_refused_and_nothing_stored(deps, lambda_context, table_snapshot):
    code = crafted_code(expires_at=dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=1))
    before = table_snapshot()

    reply = admin("POST", "/admin/v1/connections/accept", {"code": code}, lambda_context)

    assert reply.status == 410, reply.text
    assert reply.json["error"] == "invitation_expired"
    assert not echoes(reply.text, code)
    assert table_snapshot() == before


# --- the initiator's accept endpoint --------------------------------------------------------------
def test_signed_accept_activates_invitation_with_working_keys(invitation, lambda_context):
    from twinbridge.peers.keys import check_proof
    from twinbridge.peers.signing import sign

    connection_id, code = invitation
    acceptor = Acceptor.for_code(code)

    reply = acceptor.accept(lambda_context)

    assert reply.status == 200, reply.text
    assert check_proof(acceptor.inbound, reply.json["proof"], "accept", connection_id, acceptor.public_key)
    assert status_of(connection_id, lambda_context) == "active"
    ping = json.dumps({"connection_id": connection_id}).encode()
    headers = sign(acceptor.outbound, "POST", "/peer/v1/ping", "", ping)
    answer = peer("POST", "/peer/v1/ping", ping, headers, lambda_context)
    assert answer.status == 200, answer.text


@pytest.mark.parametrize("second", ["same-acceptor", "another-acceptor"])
def test_reused_invitation_is_refused_and_nothing_changes(invitation, lambda_context, table_snapshot, second):
    connection_id, code = invitation
    first = Acceptor.for_code(code)
    assert first.accept(lambda_context).status == 200
    before = table_snapshot()
    again = first if second == "same-acceptor" else Acceptor.for_code(code)

    reply = again.accept(lambda_context)  # signed afresh: a new nonce, so this is not a replay

    if second == "same-acceptor":  # it proves the key: it may learn that the invitation was used
        assert reply.status == 409, reply.text
        assert reply.json["error"] == "invitation_used"
    else:  # no proof: the same 401 as for anything else (no oracle of the invitation's state)
        assert (reply.status, reply.text) == (401, UNAUTHORIZED_BODY)
    assert table_snapshot() == before


def test_accept_for_unknown_invitation_tells_nothing_and_changes_nothing(invitation, lambda_context, table_snapshot):
    _, code = invitation
    unknown = "c-" + secrets.token_hex(16)
    before = table_snapshot()

    reply = Acceptor.for_code(code).accept(lambda_context, connection_id=unknown)

    assert (reply.status, reply.text) == (401, UNAUTHORIZED_BODY)  # the same answer as a wrong signature
    assert table_snapshot() == before


def test_accept_after_invitation_expired_is_refused_and_invitation_untouched(
    invitation, lambda_context, table_snapshot, monkeypatch
):
    import twinbridge.services.invitations as service

    connection_id, code = invitation
    acceptor = Acceptor.for_code(code)
    before = table_snapshot()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=72, seconds=1)
    monkeypatch.setattr(service, "utcnow", lambda: later)

    reply = acceptor.accept(lambda_context)

    assert reply.status == 410, reply.text
    assert reply.json["error"] == "invitation_expired"
    assert table_snapshot() == before


FORGERIES = {
    "random-key": lambda acceptor, code: {"key": secrets.token_bytes(32)},
    "derived-without-invitation-secret": lambda acceptor, code: {
        "key": Acceptor.for_code(code, binding_secret=secrets.token_bytes(32)).outbound
    },
    "acceptor-signs-with-its-inbound-key": lambda acceptor, code: {"key": acceptor.inbound},
    "public-key-swapped-after-signing": lambda acceptor, code: {
        "sent_body": acceptor.body(public_key=Acceptor.for_code(code).public_key)
    },
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_forged_accept_is_unauthorized_and_invitation_stays_pending(
    invitation, lambda_context, table_snapshot, forge
):
    connection_id, code = invitation
    acceptor = Acceptor.for_code(code)
    before = table_snapshot()

    reply = acceptor.accept(lambda_context, **forge(acceptor, code))

    assert reply.status == 401, reply.text
    assert reply.text == UNAUTHORIZED_BODY
    assert table_snapshot() == before
    assert status_of(connection_id, lambda_context) == "pending"
    assert acceptor.accept(lambda_context).status == 200  # the genuine partner can still complete it


# --- both sides private ---------------------------------------------------------------------------
def test_private_node_inviting_a_partner_without_url_is_refused_and_nothing_stored(
    table, lambda_context, table_snapshot, monkeypatch
):
    private_node(monkeypatch)
    before = table_snapshot()

    reply = admin("POST", "/admin/v1/connections/invitations", {
        "name": "Acme <-> Beta", "local_short_name": "acme", "remote_short_name": "beta", "partner_url": None,
    }, lambda_context)

    assert reply.status == 400, reply.text
    assert reply.json["error"] == "both_sides_private"
    assert table_snapshot() == before


def test_private_node_accepting_code_of_private_initiator_is_refused_and_nothing_stored(
    table, lambda_context, table_snapshot, monkeypatch
):
    private_node(monkeypatch)
    code = crafted_code(initiator_url=None)
    before = table_snapshot()

    reply = admin("POST", "/admin/v1/connections/accept", {"code": code}, lambda_context)

    assert reply.status == 400, reply.text
    assert reply.json["error"] == "both_sides_private"
    assert not echoes(reply.text, code)
    assert table_snapshot() == before


# --- a private initiator fetching a public acceptor's half -----------------------------------------
@pytest.fixture
def accepted_here(deps, lambda_context) -> tuple[str, str, str]:
    """(connection id, code, admin reply): this public node accepted a private initiator's code, awaiting the fetch."""
    code = crafted_code(initiator_url=None)
    reply = admin("POST", "/admin/v1/connections/accept", {"code": code, "project": "ACME"}, lambda_context)
    assert reply.status == 201, reply.text
    assert reply.json["connection"]["status"] == "pending"
    return reply.json["connection"]["id"], code, reply.text


def test_acceptance_fetch_without_the_invitation_secret_is_unauthorized_and_nothing_changes(
    accepted_here, lambda_context, table_snapshot
):
    from twinbridge.encoding import b64d
    from twinbridge.models.invitation import InvitationCode
    from twinbridge.peers.keys import handshake_key
    from twinbridge.peers.signing import sign

    connection_id, code, _ = accepted_here
    path = f"/peer/v1/invitations/{connection_id}/acceptance"
    before = table_snapshot()

    forged = peer("GET", path, b"", sign(secrets.token_bytes(32), "GET", path, "", b""), lambda_context)

    assert forged.status == 401, forged.text
    assert forged.text == UNAUTHORIZED_BODY
    assert table_snapshot() == before
    fetch_key = handshake_key(b64d(InvitationCode.decode(code).invitation_secret), connection_id)
    genuine = peer("GET", path, b"", sign(fetch_key, "GET", path, "", b""), lambda_context)
    assert genuine.status == 200, genuine.text
    assert genuine.json["acceptor_node"] == "test-node"


# --- 4. keys never leave the node -----------------------------------------------------------------
def _secret_spellings(item: dict) -> list[str]:
    """Every stored key of a connection item, in the spellings a leak could take."""
    from twinbridge.encoding import b64d

    stored = item["keys"]
    values = [entry["secret"] for entry in stored.get("inbound", [])]
    values += [value for name, value in stored.items()
               if name not in ("inbound", "rotation_id", "next_inbound_key_id") and isinstance(value, str) and value]
    spellings = []
    for value in values:
        raw = b64d(value)
        spellings += [value, raw.hex(), raw.hex().upper(), base64.b64encode(raw).decode(),
                      base64.b64encode(raw).decode().rstrip("="), base64.urlsafe_b64encode(raw).decode()]
    return spellings


def _stored_item(table, connection_id: str) -> dict:
    from twinbridge.store import keys as k

    return table.get_item(Key={"PK": k.connection_pk(connection_id), "SK": k.CONNECTION_SK})["Item"]


def _views(connection_id: str, context) -> dict[str, str]:
    """What admins read back about a connection: the listing and the detail view."""
    views = {
        "list": admin("GET", "/admin/v1/connections", None, context),
        "show": admin("GET", f"/admin/v1/connections/{connection_id}", None, context),
    }
    assert {name: r.status for name, r in views.items()} == {"list": 200, "show": 200}
    assert connection_id in views["list"].text
    return {name: r.text for name, r in views.items()}


def test_invitation_secrets_are_never_returned_while_pending(deps, table, lambda_context):
    reply = admin("POST", "/admin/v1/connections/invitations", {
        "name": "Acme <-> Beta", "local_short_name": "acme", "remote_short_name": "beta",
    }, lambda_context)
    assert reply.status == 201, reply.text
    connection_id, code = reply.json["connection"]["id"], reply.json["invitation_code"]
    item = _stored_item(table, connection_id)
    assert item["keys"]["ephemeral_private"] and item["keys"]["invitation_secret"]
    secrets_ = _secret_spellings(item)
    private_half = _secret_spellings({"keys": {"ephemeral_private": item["keys"]["ephemeral_private"]}})
    # The code carries the invitation secret by design (it is what the partner pastes), never the private half.
    bodies = {"initiate": json.dumps(reply.json["connection"]), **_views(connection_id, lambda_context)}

    assert [s for s in private_half if s in code] == []
    assert {name: [s for s in secrets_ if s in text] for name, text in bodies.items()} == dict.fromkeys(bodies, [])


def test_agreed_keys_are_never_returned_after_partner_accepted(invitation, table, lambda_context):
    connection_id, code = invitation
    acceptor = Acceptor.for_code(code)
    accepted = acceptor.accept(lambda_context)
    assert accepted.status == 200, accepted.text
    item = _stored_item(table, connection_id)
    assert item["keys"]["inbound"] and item["keys"]["outbound"]
    secrets_ = _secret_spellings(item)
    bodies = {"accept": accepted.text, **_views(connection_id, lambda_context)}

    assert {name: [s for s in secrets_ if s in text] for name, text in bodies.items()} == dict.fromkeys(bodies, [])


def test_agreed_keys_are_never_returned_after_accepting_here(accepted_here, table, lambda_context):
    from twinbridge.encoding import b64d
    from twinbridge.models.invitation import InvitationCode
    from twinbridge.peers.keys import handshake_key
    from twinbridge.peers.signing import sign

    connection_id, code, accept_reply = accepted_here
    item = _stored_item(table, connection_id)
    assert item["keys"]["inbound"] and item["keys"]["outbound"] and item["keys"]["handshake_key"]
    secrets_ = _secret_spellings(item)
    path = f"/peer/v1/invitations/{connection_id}/acceptance"
    fetch_key = handshake_key(b64d(InvitationCode.decode(code).invitation_secret), connection_id)
    fetched = peer("GET", path, b"", sign(fetch_key, "GET", path, "", b""), lambda_context)
    assert fetched.status == 200, fetched.text
    bodies = {"accept": accept_reply, "acceptance": fetched.text, **_views(connection_id, lambda_context)}

    assert {name: [s for s in secrets_ if s in text] for name, text in bodies.items()} == dict.fromkeys(bodies, [])


def test_a_code_whose_terms_were_altered_on_the_way_completes_no_handshake(invitation, lambda_context, table_snapshot):
    """The terms (mode, description, names, expiry) are bound into the keys: an acceptor holding an altered code
    derives keys the initiator does not, so its accept is refused and neither side holds the altered terms."""
    from twinbridge.models.invitation import InvitationCode

    _, code = invitation
    genuine = InvitationCode.decode(code)
    altered = genuine.model_copy(update={"mode": "script", "description": "altered on the way"}).encode()
    before = table_snapshot()

    reply = Acceptor.for_code(altered).accept(lambda_context)

    assert (reply.status, reply.text) == (401, UNAUTHORIZED_BODY)
    assert table_snapshot() == before
