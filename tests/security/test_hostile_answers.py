"""A hostile public partner answering a private node's requests (finding 3): whatever it answers, the poller's
run goes on for every other connection, and expired invitations are not fetched."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support import FakeLambdaContext
from twinbridge.models.admin import InitiateRequest, ManualConnectionRequest
from twinbridge.peers.keys import new_manual_key

NESTED = b"[" * 100_000 + b"]" * 100_000


class _Hostile(BaseHTTPRequestHandler):
    seen: list[str] = []

    def log_message(self, *args) -> None:  # quiet
        pass

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # the acceptance fetch: an "accepted" answer whose key is not a key
        type(self).seen.append(self.path)
        self._answer(200, json.dumps({"acceptor_public_key": "bm90IGEga2V5", "acceptor_node": "evil"}).encode())

    def do_POST(self) -> None:  # everything else (the long-poll, a push): JSON nested past any parser
        type(self).seen.append(self.path)
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        if self.path.endswith("/poll"):
            self._answer(200, NESTED)
        else:
            self.send_response(302)
            self.send_header("location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()


@pytest.fixture
def hostile_url():
    _Hostile.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def private_node(monkeypatch, aws):
    from twinbridge.settings import settings
    from twinbridge.wiring import wiring

    monkeypatch.setenv("NODE_PUBLIC", "false")
    monkeypatch.setenv("PUBLIC_URL", "")
    monkeypatch.setenv("PEER_TIMEOUT_SECONDS", "1")
    monkeypatch.delenv("TRACKER_BASE_URL")
    settings.cache_clear()
    wiring.cache_clear()
    return wiring()


def test_finding_3_bad_answers_from_one_partner_never_end_the_poller_run(private_node, hostile_url):
    from twinbridge.services import connections, invitations
    from twinbridge.services.poller import Poller

    deps = private_node
    pending, _ = invitations.initiate(deps, InitiateRequest(
        name="to evil", local_short_name="us", remote_short_name="evil", partner_url=hostile_url))
    expired, _ = invitations.initiate(deps, InitiateRequest(
        name="old invitation", local_short_name="us", remote_short_name="old", partner_url=hostile_url,
        expires_in_hours=1))
    record = deps.connections.get(expired.id)
    record.invitation_expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    deps.connections.save(record)
    connections.add_manual(deps, ManualConnectionRequest(
        name="polled", local_short_name="us", remote_short_name="evil2", local_key=new_manual_key(),
        remote_key=new_manual_key(), remote_url=hostile_url))
    context = FakeLambdaContext(timeout_seconds=8)

    summary = Poller(deps, lambda: context.get_remaining_time_in_millis() / 1000).run()  # returns: no crash

    assert summary.errors >= 2  # the bad acceptance and the bad poll answer, each that connection's error
    assert any(path.endswith(f"/invitations/{pending.id}/acceptance") for path in _Hostile.seen)
    assert any(path.endswith("/poll") for path in _Hostile.seen)
    assert not any(expired.id in path for path in _Hostile.seen), "an expired invitation was fetched"
    assert deps.connections.get(pending.id).status.value == "pending"


def test_a_redirect_from_a_partner_is_an_error_never_followed(private_node, hostile_url):
    from twinbridge.errors import RemoteError
    from twinbridge.models.messages import PingRequest
    from twinbridge.peers.partner import PartnerNode, PeerClient

    partner = PartnerNode(PeerClient(timeout=5), hostile_url, b"k" * 32)

    with pytest.raises(RemoteError, match="answered 302"):
        partner.ping(PingRequest(connection_id="c-1"))
    assert _Hostile.seen == ["/peer/v1/ping"]  # and nothing went to the metadata address
