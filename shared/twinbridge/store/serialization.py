"""Connection <-> DynamoDB item, with key material encoded explicitly (pydantic would mask it)."""

from __future__ import annotations

from typing import Any

from twinbridge.encoding import b64d, b64e
from twinbridge.models.connection import Connection, KeyMaterial
from twinbridge.store import keys

_SECRET_FIELDS = (
    "outbound",
    "ephemeral_private",
    "invitation_secret",
    "handshake_key",
    "rotation_private",
    "next_outbound",
)
# Fields owned by other writers (counters, liveness): the versioned save never overwrites them.
COUNTER_FIELDS = ("out_seq", "in_seq", "last_contact_at")


def dump_keys(material: KeyMaterial) -> dict[str, Any]:
    data: dict[str, Any] = {
        "inbound": [
            {
                "key_id": key.key_id,
                "secret": b64e(key.secret.get_secret_value()),
                "expires_at": key.expires_at.isoformat() if key.expires_at else None,
            }
            for key in material.inbound
        ],
        "rotation_id": material.rotation_id,
        "next_inbound_key_id": material.next_inbound_key_id,
    }
    for name in _SECRET_FIELDS:
        value = getattr(material, name)
        data[name] = b64e(value.get_secret_value()) if value is not None else None
    return data


def load_keys(data: dict[str, Any]) -> KeyMaterial:
    decoded = dict(data)
    decoded["inbound"] = [{**key, "secret": b64d(key["secret"])} for key in data.get("inbound", [])]
    for name in _SECRET_FIELDS:
        if decoded.get(name):
            decoded[name] = b64d(decoded[name])
    return KeyMaterial.model_validate(decoded)


def to_item(conn: Connection) -> dict[str, Any]:
    item = conn.model_dump(mode="json", exclude={"keys"})
    item = {name: value for name, value in item.items() if value is not None}
    item["keys"] = dump_keys(conn.keys)
    item.update(
        PK=keys.connection_pk(conn.id),
        SK=keys.CONNECTION_SK,
        GSI1PK=keys.CONNECTIONS_GSI_PK,
        GSI1SK=f"{conn.created_at.isoformat()}#{conn.id}",
    )
    return item


def from_item(item: dict[str, Any]) -> Connection:
    data = {name: value for name, value in item.items() if name not in ("PK", "SK", "GSI1PK", "GSI1SK", "keys")}
    for name in ("out_seq", "in_seq", "version"):
        if name in data:
            data[name] = int(data[name])
    return Connection.model_validate({**data, "keys": load_keys(item.get("keys", {}))})
