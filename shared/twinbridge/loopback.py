"""The loopback host names: where plain http is accepted (the local runtime's nodes, buckets and admin API)."""

from __future__ import annotations

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    """``host`` as ``urlsplit`` gives it (no brackets around IPv6, no port)."""
    return host.lower() in LOOPBACK_HOSTS
