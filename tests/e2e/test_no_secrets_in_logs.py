"""A whole flow with DEBUG logs captured on every node: no key material may appear in any of them."""

from __future__ import annotations

import base64

import pytest

from tests.e2e.conftest import wait_until
from twinbridge.encoding import b64d
from twinbridge.peers.keys import new_manual_key, parse_manual_key

pytestmark = pytest.mark.e2e


def _secret_strings(raw: bytes) -> set[str]:
    """The forms a leaked key would take in a log line."""
    return {raw.hex(), base64.urlsafe_b64encode(raw).decode().rstrip("="), base64.b64encode(raw).decode().rstrip("=")}


def _stored_secrets(node) -> set[bytes]:
    """Every secret in the node's table: inbound/outbound keys, handshake and rotation halves."""
    found: set[bytes] = set()

    def walk(value):
        if isinstance(value, dict):
            for kind, inner in value.items():
                if kind == "S" and isinstance(inner, str) and len(inner) >= 43:
                    try:
                        decoded = b64d(inner)
                    except ValueError:
                        continue
                    if len(decoded) == 32:
                        found.add(decoded)
                else:
                    walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    for item in node.table_items():
        if "keys" in item:
            walk(item["keys"])
    return found


def test_whole_flow_leaves_no_key_material_in_any_log(cluster):
    public, private, other = cluster["pub-a"], cluster["priv-c"], cluster["pub-b"]
    secrets: set[bytes] = set()

    def harvest():
        for node in (public, private, other):
            secrets.update(_stored_secrets(node))

    created, code = public.initiate(None)
    harvest()  # the initiator's ephemeral private half and invitation secret, while pending
    private.accept(code)
    wait_until(lambda: public.connection(created["id"])["status"] == "active", what="active")
    harvest()
    private.test(created["id"])
    public.call("POST", f"/admin/v1/connections/{created['id']}/messages", {"kind": "note", "text": "hello"})
    private.call("POST", f"/admin/v1/connections/{created['id']}/rotate-keys")
    harvest()
    public.call("POST", f"/admin/v1/connections/{created['id']}/rotate-keys")
    harvest()  # the pending rotation's private half
    wait_until(lambda: not public.connection(created["id"])["rotation_pending"], what="rotation done")
    harvest()
    key_a, key_b = new_manual_key(), new_manual_key()
    manual = public.call("POST", "/admin/v1/connections/manual", {
        "name": "m", "local_short_name": "a", "remote_short_name": "b",
        "local_key": key_a, "remote_key": key_b, "remote_url": other.url,
    })["connection"]
    public.test(manual["id"])  # the partner has no such key: a refused, logged request
    secrets.update({parse_manual_key(key_a), parse_manual_key(key_b)})
    harvest()

    assert len(secrets) >= 10, "the flow should have produced plenty of key material to look for"
    needles = set().union(*(_secret_strings(secret) for secret in secrets)) | {key_a, key_b}
    logs = {node.name: node.log_path.read_text(errors="replace") for node in cluster.values()}
    assert sum(len(text) for text in logs.values()) > 10_000, "DEBUG logs were captured"
    leaks = [(name, needle[:6] + "...") for name, text in logs.items() for needle in needles if needle in text]
    assert leaks == []
