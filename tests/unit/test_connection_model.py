"""The Connection record: peer URL rules, what admins may see, who calls whom, and which keys verify."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from pydantic import ValidationError

from twinbridge.encoding import b64e
from twinbridge.models.connection import (
    Connection,
    ConnectionStatus,
    InboundKey,
    KeyMaterial,
    Origin,
    validate_peer_url,
)
from twinbridge.peers.keys import key_id

NOW = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)

# Distinct, recognisable secrets: printable ones so a plain-text leak is detectable too.
SECRETS = {
    "inbound_current": b"inbound-current-secret-key-000001",
    "inbound_old": bytes(range(1, 33)),
    "outbound": b"outbound-secret-signing-key-00002",
    "ephemeral_private": bytes(range(40, 72)),
    "invitation_secret": b"invitation-binding-secret-0000003",
    "handshake_key": bytes(range(100, 132)),
    "rotation_private": bytes(range(150, 182)),
    "next_outbound": b"next-outbound-after-rotation-0004",
}


def _material() -> KeyMaterial:
    return KeyMaterial(
        inbound=[
            InboundKey(key_id=key_id(SECRETS["inbound_current"]), secret=SECRETS["inbound_current"]),
            InboundKey(
                key_id=key_id(SECRETS["inbound_old"]),
                secret=SECRETS["inbound_old"],
                expires_at=NOW + dt.timedelta(hours=1),
            ),
        ],
        outbound=SECRETS["outbound"],
        ephemeral_private=SECRETS["ephemeral_private"],
        invitation_secret=SECRETS["invitation_secret"],
        handshake_key=SECRETS["handshake_key"],
        rotation_id="r-1",
        rotation_private=SECRETS["rotation_private"],
        next_outbound=SECRETS["next_outbound"],
        next_inbound_key_id="k_next",
    )


def _connection(**changes) -> Connection:
    fields = dict(
        id="c-" + "0f" * 16,
        name="Acme <-> Globex",
        local_short_name="Acme",
        remote_short_name="Globex",
        origin=Origin.INITIATOR,
        status=ConnectionStatus.ACTIVE,
        remote_url="https://globex.example/twinbridge",
        keys=_material(),
    )
    fields.update(changes)
    return Connection(**fields)


def _encodings(secret: bytes) -> list[str]:
    found = [
        secret.hex(),
        secret.hex().upper(),
        b64e(secret),
        base64.b64encode(secret).decode(),
        repr(secret),
        repr(secret)[2:-1],  # the escaped text without b'...'
        json.dumps(list(secret)),
    ]
    if secret.isascii():
        found.append(secret.decode())
    return found


# --- validate_peer_url ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://globex.example", "https://globex.example"),
        ("https://globex.example/", "https://globex.example"),
        ("https://globex.example/twinbridge/", "https://globex.example/twinbridge"),
        ("https://globex.example:8443/api", "https://globex.example:8443/api"),
        ("  https://globex.example/\n", "https://globex.example"),
        ("http://127.0.0.1:9000/", "http://127.0.0.1:9000"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
    ],
)
def test_acceptable_peer_url_is_stored_without_trailing_slash(given, stored):
    assert validate_peer_url(given) == stored


@pytest.mark.parametrize("given", [None, ""])
def test_absent_peer_url_means_no_url(given):
    assert validate_peer_url(given) is None


@pytest.mark.parametrize(
    "given",
    ["http://globex.example", "http://10.0.0.5:8080", "http://localhost.evil.example", "http://127.0.0.1.nip.io"],
)
def test_plain_http_to_a_non_loopback_host_is_refused(given):
    with pytest.raises(ValueError, match="https"):
        validate_peer_url(given)


@pytest.mark.parametrize(
    "given", ["globex.example", "ftp://globex.example", "https://", "//globex.example", "file:///etc/passwd"]
)
def test_non_absolute_or_non_web_url_is_refused(given):
    with pytest.raises(ValueError, match="absolute http"):
        validate_peer_url(given)


@pytest.mark.parametrize(
    "given",
    [
        "https://globex.example/?token=abc",
        "https://globex.example/#frag",
        "https://admin:hunter2@globex.example",
        "https://admin@globex.example",
    ],
)
def test_url_with_query_fragment_or_credentials_is_refused(given):
    with pytest.raises(ValueError, match="credentials, a query or a fragment"):
        validate_peer_url(given)


def test_url_with_password_but_empty_user_name_is_refused():
    with pytest.raises(ValueError):
        validate_peer_url("https://:hunter2@globex.example")


@pytest.mark.parametrize("given", ["https://globex.example?", "https://globex.example/#"])
def test_url_with_empty_query_or_fragment_marker_is_refused(given):
    # peers/partner.py builds base_url + "/peer/..." -> "https://globex.example?/peer/..." (path lands in the query)
    with pytest.raises(ValueError):
        validate_peer_url(given)


def test_connection_refuses_insecure_remote_url():
    with pytest.raises(ValidationError) as caught:
        _connection(remote_url="http://globex.example")
    assert caught.value.errors()[0]["loc"] == ("remote_url",)


def test_connection_refuses_insecure_url_set_later():
    conn = _connection()
    with pytest.raises(ValidationError):
        conn.remote_url = "http://globex.example"
    assert conn.remote_url == "https://globex.example/twinbridge"


def test_connection_normalises_alt_base_url():
    assert _connection(alt_base_url="https://jira.acme.example/").alt_base_url == "https://jira.acme.example"


# --- public_view ---------------------------------------------------------------------------------


def test_public_view_contains_no_key_material():
    dumped = json.dumps(_connection().public_view())
    for name, secret in SECRETS.items():
        for encoding in _encodings(secret):
            assert encoding not in dumped, f"{name} leaked as {encoding!r}"


def test_public_view_contains_no_key_material_while_pending():
    conn = _connection(status=ConnectionStatus.PENDING, remote_url=None, handshake_public_key=b64e(b"P" * 32))
    dumped = json.dumps(conn.public_view())
    for secret in SECRETS.values():
        for encoding in _encodings(secret):
            assert encoding not in dumped


def test_public_view_lists_the_public_key_ids_and_connection_facts():
    view = _connection().public_view()
    assert "keys" not in view
    assert view["key_ids"] == [key_id(SECRETS["inbound_current"]), key_id(SECRETS["inbound_old"])]
    assert view["status"] == "active"
    assert view["remote_url"] == "https://globex.example/twinbridge"
    assert view["rotation_pending"] is True


# --- who calls whom --------------------------------------------------------------------------------


def test_connection_with_url_pushes_to_the_partner():
    conn = _connection(remote_url="https://globex.example", passive=False)
    assert conn.can_call_remote
    assert conn.public_view()["delivery"] == "push"
    assert conn.public_view()["remote_private"] is False


def test_passive_connection_never_calls_the_partner_even_with_a_url():
    conn = _connection(remote_url="https://globex.example", passive=True)
    assert not conn.can_call_remote
    assert conn.public_view()["delivery"] == "partner polls"


def test_connection_to_a_private_partner_waits_to_be_polled():
    conn = _connection(remote_url=None)
    assert not conn.can_call_remote
    view = conn.public_view()
    assert view["remote_private"] is True and view["delivery"] == "partner polls"


# --- inbound keys --------------------------------------------------------------------------------


def test_inbound_key_without_expiry_verifies():
    material = _material()
    much_later = NOW + dt.timedelta(days=3650)
    assert material.inbound_key(key_id(SECRETS["inbound_current"]), much_later) == SECRETS["inbound_current"]


def test_retired_key_still_verifies_before_it_expires():
    material = _material()
    old_id = key_id(SECRETS["inbound_old"])
    assert material.inbound_key(old_id, NOW) == SECRETS["inbound_old"]
    assert material.inbound_key(old_id, NOW + dt.timedelta(minutes=59, seconds=59)) == SECRETS["inbound_old"]


@pytest.mark.parametrize("after", [dt.timedelta(hours=1), dt.timedelta(hours=1, microseconds=1), dt.timedelta(days=1)])
def test_retired_key_is_refused_from_its_expiry_on(after):
    assert _material().inbound_key(key_id(SECRETS["inbound_old"]), NOW + after) is None


def test_unknown_key_id_finds_no_key():
    assert _material().inbound_key(key_id(b"x" * 32), NOW) is None


def test_connection_without_keys_finds_no_key():
    assert KeyMaterial().inbound_key(key_id(SECRETS["inbound_current"]), NOW) is None


def test_key_material_repr_masks_secrets():
    text = repr(_material()) + str(_material())
    for secret in SECRETS.values():
        for encoding in _encodings(secret):
            assert encoding not in text
