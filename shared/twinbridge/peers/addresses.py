"""Where this node may send requests on a partner's word: public addresses only (the local runtime excepted, where
every node and bucket is on loopback)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from twinbridge.loopback import is_loopback


def non_public_reason(host: str, port: int) -> str | None:
    """Why ``host`` is not a public destination (it resolves to loopback, private, link-local, metadata or other
    special addresses, or not at all), or None when every address it resolves to is public."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
    except OSError:
        return "its host does not resolve"
    for address in addresses:
        if not ipaddress.ip_address(str(address).split("%")[0]).is_global:
            return "its host resolves to a non-public address"
    return None


def partner_url_problem(url: str, *, local: bool) -> str | None:
    """Why this node should not call a partner at ``url``, or None. Outside the local runtime a partner URL must
    reach a public address over https (no loopback, private, link-local or cloud metadata endpoints)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if local and is_loopback(host):
        return None
    if parts.scheme != "https":
        return "a partner URL must use https"
    return non_public_reason(host, parts.port or 443)
