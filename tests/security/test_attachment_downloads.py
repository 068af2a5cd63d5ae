"""Finding 1: the URL of a partner's attachment is the partner's to choose. A download goes only to an S3 endpoint
over https whose addresses are all public (loopback only in the local runtime), follows no redirect, reads no more
than the replica declared, and is verified as it streams. Finding 12: partner URLs this node will call are held to
the same rule. The bucket in these tests is a loopback server (the local-runtime case) or a resolver answer."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from twinbridge.errors import AttachmentTransferError
from twinbridge.peers.transfer import TransferPolicy, fetch_verified

GOOD = b"the partner's real file"
DEPLOYED = TransferPolicy(local=False)
LOCAL = TransferPolicy(local=True, max_bytes=1024 * 1024)


class _Bucket(BaseHTTPRequestHandler):
    requests: list[str] = []
    sent = 0

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        body = GOOD if self.path == "/good" else b"x" * (8 * 1024 * 1024)  # /big: 8 MB, whatever was declared
        self.send_response(200)
        if self.path != "/big-unannounced":
            self.send_header("content-length", str(len(body)))
        self.end_headers()
        try:
            for start in range(0, len(body), 65536):
                self.wfile.write(body[start:start + 65536])
                type(self).sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def bucket():
    _Bucket.requests, _Bucket.sent = [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Bucket)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.parametrize("url, why", [
    ("http://127.0.0.1:9000/bucket/file", "not https"),
    ("https://169.254.169.254/latest/meta-data/", "not an S3 endpoint"),
    ("https://intranet.example.internal/file", "not an S3 endpoint"),
    ("https://s3.amazonaws.com.evil.example/file", "not an S3 endpoint"),
    ("https://bucket.s3.eu-west-1.amazonaws.com:8443/file", "not the https port"),
    ("https://user:secret@bucket.s3.eu-west-1.amazonaws.com/file", "credentials"),
])
def test_a_deployed_node_refuses_urls_outside_s3_over_https(url, why):
    with pytest.raises(AttachmentTransferError, match=why), fetch_verified(url, "0" * 64, 10, DEPLOYED):
        pass


def test_an_s3_name_resolving_to_a_private_address_is_refused(monkeypatch):
    import socket

    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(socket.AF_INET, 1, 6, "", ("10.1.2.3", 443))])

    with pytest.raises(AttachmentTransferError, match="non-public"):
        DEPLOYED.check_url("https://evil-bucket.s3.eu-west-1.amazonaws.com/x")


def test_an_s3_name_resolving_to_public_addresses_passes_the_check(monkeypatch):
    import socket

    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [(socket.AF_INET, 1, 6, "", ("52.95.150.10", 443))])

    DEPLOYED.check_url("https://partner-bucket.s3.eu-west-1.amazonaws.com/outgoing/c-1/10/20?X-Amz-Signature=ab")


def test_the_declared_size_bounds_what_is_read(bucket):
    with pytest.raises(AttachmentTransferError, match="larger than the 100 bytes"), \
            fetch_verified(f"{bucket}/big", "0" * 64, 100, LOCAL):
        pass
    assert len(_Bucket.requests) == 1  # refused on the announced length: not read, not retried


def test_an_unannounced_body_stops_at_the_declared_size(bucket):
    with pytest.raises(AttachmentTransferError, match="larger than"), \
            fetch_verified(f"{bucket}/big-unannounced", "0" * 64, 100_000, LOCAL):
        pass
    assert len(_Bucket.requests) == 1 and _Bucket.sent < 8 * 1024 * 1024  # the rest was never taken


def test_the_node_limit_caps_a_replica_that_declares_a_huge_file(bucket):
    with pytest.raises(AttachmentTransferError, match="over this node's limit"), \
            fetch_verified(f"{bucket}/big", "0" * 64, 2 * 1024**3, LOCAL):
        pass
    assert _Bucket.requests == []


def test_a_wrong_hash_is_read_at_most_twice_and_fails(bucket):
    with pytest.raises(AttachmentTransferError, match="mismatch"), \
            fetch_verified(f"{bucket}/good", "0" * 64, len(GOOD), LOCAL):
        pass
    assert len(_Bucket.requests) == 2


def test_a_redirect_is_never_followed(bucket):
    with pytest.raises(AttachmentTransferError, match="answered 302"), \
            fetch_verified(f"{bucket}/redirect", "0" * 64, 10, LOCAL):
        pass


def test_a_verified_file_is_handed_over_whole(bucket):
    with fetch_verified(f"{bucket}/good", hashlib.sha256(GOOD).hexdigest(), len(GOOD), LOCAL) as (stream, size):
        assert (stream.read(), size) == (GOOD, len(GOOD))


@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "https://10.0.0.5", "https://169.254.169.254",
                                 "https://[::1]:8443"])
def test_a_deployed_node_refuses_a_partner_url_in_its_own_network(aws, monkeypatch, url):
    from twinbridge.errors import InvalidRequestError
    from twinbridge.models.admin import ManualConnectionRequest
    from twinbridge.peers.keys import new_manual_key
    from twinbridge.services import connections
    from twinbridge.settings import settings
    from twinbridge.wiring import wiring

    monkeypatch.setenv("LOCAL_RUNTIME", "false")
    settings.cache_clear()
    wiring.cache_clear()
    deps = wiring()
    with pytest.raises(InvalidRequestError, match="partner URL refused"):
        connections.add_manual(deps, ManualConnectionRequest(
            name="inside", local_short_name="us", remote_short_name="them", local_key=new_manual_key(),
            remote_key=new_manual_key(), remote_url=url))
    assert deps.connections.list() == []
