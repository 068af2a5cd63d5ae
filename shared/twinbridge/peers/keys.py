"""Connection key material: ephemeral X25519 agreement + HKDF, manual keys, key ids.

Every connection has two HMAC keys, one per direction. A node signs what it sends with its
*outbound* key and verifies what it receives with its *inbound* key; the partner holds the same
two keys the other way round. Keys are derived, never transmitted: only X25519 public halves travel.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from twinbridge.encoding import b64d, b64e

KEY_BYTES = 32
_KEY_ID_LABEL = b"twinbridge key id v1"


_HEX64 = re.compile(r"[0-9a-f]{64}")


def key_id(key: bytes) -> str:
    """Public identifier of a key: names it in request headers without revealing it."""
    return "k_" + hmac.new(key, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:32]


def new_manual_key() -> str:
    """A fresh authentication key for manual (IssueSYNC-style) connections, as typed by admins."""
    return "tbk1_" + b64e(secrets.token_bytes(KEY_BYTES))


def parse_manual_key(text: str) -> bytes:
    """Decode an admin-given key (``tbk1_`` base64url, bare base64url or hex) and require >= 32 bytes.

    Raises:
        ValueError: the key is not decodable or too short (the message never repeats the key).
    """
    raw = text.strip()
    if raw.startswith("tbk1_"):
        raw = raw[5:]
    key: bytes | None = None
    if len(raw) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in raw):
        key = bytes.fromhex(raw)
    else:
        try:
            key = b64d(raw)
        except (binascii.Error, ValueError):
            key = None
    if key is None:
        raise ValueError("key must be base64url or hex text")
    if len(key) < KEY_BYTES:
        raise ValueError(f"key must hold at least {KEY_BYTES} random bytes, got {len(key)}")
    return key


@dataclass(frozen=True)
class DirectionalKeys:
    """The two HMAC keys of a connection as one side sees them."""

    inbound: bytes
    outbound: bytes


@dataclass(frozen=True)
class EphemeralKeyPair:
    private: bytes
    public: bytes


def new_ephemeral() -> EphemeralKeyPair:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

    private = X25519PrivateKey.generate()
    return EphemeralKeyPair(
        private=private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()),
        public=private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
    )


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, info=info).derive(ikm)


def agree(
    own_private: bytes, peer_public: bytes, *, context: str, binding_secret: bytes, first_party: bool
) -> DirectionalKeys:
    """Derive a connection's two keys from an X25519 exchange.

    Args:
        own_private: this side's ephemeral private half.
        peer_public: the other side's ephemeral public half.
        context: binds the keys to one exchange (connection id, rotation id).
        binding_secret: a secret both sides know from the invitation or rotation (never a key itself).
        first_party: True on the side that published its half first (initiator / rotation offerer).

    Raises:
        ValueError: the peer's public half is not a valid X25519 point.
    """
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

    if len(peer_public) != 32:
        raise ValueError("X25519 public key must be 32 bytes")
    shared = X25519PrivateKey.from_private_bytes(own_private).exchange(X25519PublicKey.from_public_bytes(peer_public))
    salt = hashlib.sha256(b"twinbridge v1|" + context.encode()).digest()
    to_first = _hkdf(shared + binding_secret, salt, b"to-first-party")
    to_second = _hkdf(shared + binding_secret, salt, b"to-second-party")
    if first_party:
        return DirectionalKeys(inbound=to_first, outbound=to_second)
    return DirectionalKeys(inbound=to_second, outbound=to_first)


def handshake_key(invitation_secret: bytes, connection_id: str) -> bytes:
    """Key for the one pre-agreement call (a private initiator fetching the acceptance)."""
    return _hkdf(invitation_secret, hashlib.sha256(connection_id.encode()).digest(), b"handshake-fetch")


def proof(key: bytes, *parts: str) -> str:
    """A MAC proving possession of ``key`` over ``parts`` (used to confirm agreement results)."""
    return hmac.new(key, "|".join(("twinbridge-proof-v1", *parts)).encode(), hashlib.sha256).hexdigest()


def check_proof(key: bytes, value: str, *parts: str) -> bool:
    """Constant-time check; anything that is not 64 lowercase hex digits is simply a mismatch."""
    return bool(_HEX64.fullmatch(value)) and hmac.compare_digest(proof(key, *parts), value)
