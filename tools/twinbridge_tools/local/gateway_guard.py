"""What the local runtime's gateway checks before a request reaches a function.

A deployed stack's admin routes sit behind AWS_IAM: only a SigV4-signed caller gets in. The local runtime has no
IAM, so it stands in for the signature with what keeps other programs on the same machine out: the node listens on
loopback only, and an admin request must name the node by a loopback Host (no DNS rebinding), carry no foreign
Origin and no cross-site fetch metadata (no page in a browser can drive it), and send its body as JSON (an HTML form
cannot, without a CORS preflight this gateway never answers). Request framing is checked for every route, as API
Gateway does: a readable Content-Length within the payload limit, no chunked bodies.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from twinbridge.loopback import LOOPBACK_HOSTS

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway HTTP APIs refuse larger request bodies with 413


@dataclass(frozen=True)
class Refusal:
    status: int
    error: str
    message: str


def body_length(headers: dict[str, str]) -> int | Refusal:
    """The number of body bytes to read, or why the request cannot be read. Header names are lower-case."""
    if "transfer-encoding" in headers:
        return Refusal(411, "length_required", "chunked request bodies are not accepted: send a Content-Length")
    raw = headers.get("content-length", "").strip()
    if not raw:
        return 0
    if not raw.isascii() or not raw.isdigit():
        return Refusal(400, "invalid_request", "Content-Length must be a non-negative whole number of bytes")
    length = int(raw)
    if length > MAX_PAYLOAD_BYTES:
        return Refusal(413, "payload_too_large", f"the request body is larger than {MAX_PAYLOAD_BYTES} bytes")
    return length


def admin_refusal(port: int, headers: dict[str, str], body: bytes) -> Refusal | None:
    """Why an admin request does not come from an admin on this machine, or None when it may go through."""
    own = {f"[{name}]:{port}" if ":" in name else f"{name}:{port}" for name in LOOPBACK_HOSTS}
    host = headers.get("host", "").strip().lower()
    if host not in own:
        return Refusal(403, "forbidden", "admin routes answer only to a loopback Host naming this node's port")
    origin = headers.get("origin")
    if origin is not None and _origin_authority(origin) not in own:
        return Refusal(403, "forbidden", "admin routes do not answer requests made by web pages (foreign Origin)")
    if headers.get("sec-fetch-site", "same-origin").strip().lower() not in ("same-origin", "none"):
        return Refusal(403, "forbidden", "admin routes do not answer cross-site requests")
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if body and content_type != "application/json":
        return Refusal(415, "unsupported_media_type", "admin request bodies must be sent as application/json")
    return None


def _origin_authority(origin: str) -> str:
    parts = urlsplit(origin.strip().lower())
    if parts.scheme != "http" or not parts.netloc:
        return ""  # "null", https or anything odd is never this node (it serves plain http on loopback)
    return parts.netloc
