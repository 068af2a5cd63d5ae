"""HMAC-SHA256 request signatures for node-to-node calls (pure: no HTTP, no storage)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

from twinbridge.errors import AuthenticationError

ALGORITHM = "TWINBRIDGE-HMAC-SHA256"
MAX_SKEW_SECONDS = 300
HEADER_KEY_ID = "x-twinbridge-key-id"
HEADER_TIMESTAMP = "x-twinbridge-timestamp"
HEADER_NONCE = "x-twinbridge-nonce"
HEADER_SIGNATURE = "x-twinbridge-signature"
SIGNATURE_HEADERS = (HEADER_KEY_ID, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE)
# What each header must look like (anything else is a 401 before any key is looked up).
KEY_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
TIMESTAMP_PATTERN = r"^[0-9]{1,12}$"
NONCE_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"
SIGNATURE_PATTERN = r"^[0-9a-f]{64}$"
# The string to sign, one part per line (see string_to_sign).
STRING_TO_SIGN_PARTS = (
    ALGORITHM,
    "the upper-case method",
    "the path from /peer/ on",
    "the canonical query (pairs sorted, RFC 3986 percent-encoded)",
    f"the {HEADER_TIMESTAMP} value",
    f"the {HEADER_NONCE} value",
    "the lower-case hex SHA-256 of the raw body",
)
_KEY_ID = re.compile(KEY_ID_PATTERN.strip("^$"))
_TIMESTAMP = re.compile(TIMESTAMP_PATTERN.strip("^$"))
_NONCE = re.compile(NONCE_PATTERN.strip("^$"))
_SIGNATURE = re.compile(SIGNATURE_PATTERN.strip("^$"))


def canonical_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(pairs))


def string_to_sign(method: str, path: str, query: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join(
        (ALGORITHM, method.upper(), path, canonical_query(query), timestamp, nonce, hashlib.sha256(body).hexdigest())
    ).encode()


def sign(key: bytes, method: str, path: str, query: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """Headers that authenticate one request: key id, timestamp, a fresh nonce and the signature."""
    from twinbridge.peers.keys import key_id

    timestamp = str(int(time.time() if now is None else now))
    nonce = secrets.token_hex(16)
    signature = hmac.new(key, string_to_sign(method, path, query, timestamp, nonce, body), hashlib.sha256).hexdigest()
    return {
        HEADER_KEY_ID: key_id(key),
        HEADER_TIMESTAMP: timestamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: signature,
    }


@dataclass(frozen=True)
class SignedRequest:
    """The signature-relevant parts of an incoming request, headers lower-cased."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def key_id(self) -> str:
        value = self.headers.get(HEADER_KEY_ID, "")
        if not _KEY_ID.fullmatch(value):
            raise AuthenticationError("missing or malformed key id header")
        return value

    @property
    def nonce(self) -> str:
        return self.headers.get(HEADER_NONCE, "")


def verify(key: bytes, request: SignedRequest, *, now: float | None = None) -> None:
    """Check timestamp skew and the signature in constant time; raise AuthenticationError on any failure."""
    timestamp = request.headers.get(HEADER_TIMESTAMP, "")
    nonce = request.nonce
    signature = request.headers.get(HEADER_SIGNATURE, "")
    if not (_TIMESTAMP.fullmatch(timestamp) and _NONCE.fullmatch(nonce) and _SIGNATURE.fullmatch(signature)):
        raise AuthenticationError("missing or malformed signature headers")
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > MAX_SKEW_SECONDS:
        raise AuthenticationError("timestamp outside the allowed clock skew")
    expected = hmac.new(
        key, string_to_sign(request.method, request.path, request.query, timestamp, nonce, request.body), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise AuthenticationError("signature mismatch")
