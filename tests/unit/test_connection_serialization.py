"""Connection <-> DynamoDB item: what is stored must come back exactly, secrets included."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from twinbridge.models.connection import Connection, ConnectionStatus, InboundKey, KeyMaterial, Origin
from twinbridge.peers.keys import key_id
from twinbridge.store.serialization import from_item, to_item

T = dt.datetime(2030, 6, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)

INBOUND_NEW = bytes(range(32))
INBOUND_OLD = bytes(range(32, 64))
OUTBOUND = bytes(range(64, 96))
EPHEMERAL = bytes(range(96, 128))
INVITATION = bytes(range(128, 160))
HANDSHAKE = bytes(range(160, 192))
ROTATION = bytes(range(192, 224))
NEXT_OUTBOUND = bytes(range(224, 256))


def _full_connection() -> Connection:
    return Connection(
        id="c-" + "12" * 16,
        name="Acme <-> Globex",
        local_short_name="Acme",
        remote_short_name="Globex Corp",
        description="Support escalations",
        mode="script",
        project="SUP",
        remote_url="https://globex.example/tb",
        remote_node="globex-prod",
        passive=False,
        technical_user="twinbridge-bot",
        alt_base_url="https://jira.acme.example",
        origin=Origin.ACCEPTOR,
        status=ConnectionStatus.ACTIVE,
        invitation_expires_at=T + dt.timedelta(days=3),
        handshake_public_key="cHVibGlj",
        created_at=T - dt.timedelta(days=10),
        updated_at=T,
        activated_at=T - dt.timedelta(days=9),
        last_contact_at=T - dt.timedelta(seconds=5),
        keys_rotated_at=T - dt.timedelta(days=1),
        out_seq=41,
        in_seq=17,
        version=6,
        keys=KeyMaterial(
            inbound=[
                InboundKey(key_id=key_id(INBOUND_NEW), secret=INBOUND_NEW),
                InboundKey(key_id=key_id(INBOUND_OLD), secret=INBOUND_OLD, expires_at=T + dt.timedelta(hours=1)),
            ],
            outbound=OUTBOUND,
            ephemeral_private=EPHEMERAL,
            invitation_secret=INVITATION,
            handshake_key=HANDSHAKE,
            rotation_id="r-7",
            rotation_private=ROTATION,
            next_outbound=NEXT_OUTBOUND,
            next_inbound_key_id="k_next",
        ),
    )


def _minimal_connection() -> Connection:
    return Connection(
        id="c-" + "34" * 16,
        name="Manual link",
        local_short_name="A",
        remote_short_name="B",
        origin=Origin.MANUAL,
        created_at=T,
        updated_at=T,
    )


def _as_dynamodb_returns(item: dict) -> dict:
    """Numbers come back from DynamoDB as Decimal."""

    def convert(value):
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return Decimal(str(value))
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    return convert(item)


def test_connection_survives_a_round_trip_unchanged():
    conn = _full_connection()
    assert from_item(to_item(conn)) == conn


def test_every_secret_survives_the_round_trip_byte_for_byte():
    back = from_item(to_item(_full_connection())).keys
    assert [(k.key_id, k.secret.get_secret_value(), k.expires_at) for k in back.inbound] == [
        (key_id(INBOUND_NEW), INBOUND_NEW, None),
        (key_id(INBOUND_OLD), INBOUND_OLD, T + dt.timedelta(hours=1)),
    ]
    assert back.outbound.get_secret_value() == OUTBOUND
    assert back.ephemeral_private.get_secret_value() == EPHEMERAL
    assert back.invitation_secret.get_secret_value() == INVITATION
    assert back.handshake_key.get_secret_value() == HANDSHAKE
    assert back.rotation_private.get_secret_value() == ROTATION
    assert back.next_outbound.get_secret_value() == NEXT_OUTBOUND
    assert (back.rotation_id, back.next_inbound_key_id) == ("r-7", "k_next")


def test_restored_keys_still_verify_requests():
    back = from_item(to_item(_full_connection()))
    assert back.keys.inbound_key(key_id(INBOUND_OLD), T) == INBOUND_OLD
    assert back.keys.inbound_key(key_id(INBOUND_OLD), T + dt.timedelta(hours=2)) is None


def test_stored_item_holds_real_secrets_not_pydantic_masks():
    stored = json.dumps(to_item(_full_connection()))
    assert "**********" not in stored


def test_datetimes_come_back_timezone_aware_and_exact():
    back = from_item(to_item(_full_connection()))
    for name in (
        "created_at", "updated_at", "activated_at", "last_contact_at", "keys_rotated_at", "invitation_expires_at"
    ):
        value = getattr(back, name)
        assert value.utcoffset() == dt.timedelta(0), name
    assert back.updated_at == T
    assert back.updated_at.microsecond == 123456


def test_status_and_origin_come_back_as_enums():
    back = from_item(to_item(_full_connection()))
    assert back.status is ConnectionStatus.ACTIVE
    assert back.origin is Origin.ACCEPTOR


def test_numbers_read_back_from_dynamodb_become_integers():
    back = from_item(_as_dynamodb_returns(to_item(_full_connection())))
    assert (back.out_seq, back.in_seq, back.version) == (41, 17, 6)
    assert all(type(v) is int for v in (back.out_seq, back.in_seq, back.version))
    assert back == _full_connection()


def test_connection_without_keys_or_optional_fields_round_trips():
    conn = _minimal_connection()
    back = from_item(to_item(conn))
    assert back == conn
    assert back.keys.outbound is None and back.keys.inbound == []
    assert back.status is ConnectionStatus.PENDING


def test_item_has_no_empty_top_level_attributes():
    item = to_item(_minimal_connection())
    assert None not in item.values()


def test_item_is_addressed_by_connection_id():
    conn = _full_connection()
    item = to_item(conn)
    assert conn.id in item["PK"]
    assert item["SK"]
    assert conn.id in item["GSI1SK"]


def test_connections_list_in_creation_order():
    older = _minimal_connection()
    newer = older.model_copy(update={"id": "c-" + "00" * 16, "created_at": T + dt.timedelta(seconds=1)})
    assert to_item(older)["GSI1SK"] < to_item(newer)["GSI1SK"]
