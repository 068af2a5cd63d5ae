"""Does one partner's flood delay another partner's changes?

Starts one node on the local runtime (public, simulated Jira Cloud, project ACME) with two connections by manual
keys; this process plays both partners over loopback HTTP with valid keys. The honest partner shares one item and
then renames it again and again; each rename is timed until the Jira copy shows it. First with nothing else going
on (idle), then while the other partner floods the node with replicas of new items (a thread pushing 500 of them in
batches of 50, waiting as long as a 429's Retry-After says, as a twinbridge node's delivery would). Both p95s and
their ratio are printed; the goal is under-flood p95 within 3x idle.

    .venv/bin/python benchmarks/partner_flood.py [--changes 20] [--flood 500]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twinbridge.errors import RemoteError
from twinbridge.models.messages import PeerMessage, PushRequest
from twinbridge.models.tracker import ItemFields  # noqa: F401 - the person's client takes them
from twinbridge.peers.keys import new_manual_key, parse_manual_key
from twinbridge.peers.partner import PartnerNode, PeerClient
from twinbridge.trackers.base import TrackerClient
from twinbridge.trackers.credentials import TrackerCredentials
from twinbridge.trackers.factory import build_client
from twinbridge_tools.cli.admin_client import AdminClient
from twinbridge_tools.cli.dev import spawn_node, wait_ready
from twinbridge_tools.local.aws import free_port

GOAL_RATIO = 3.0


class Partner:
    """One connection's partner, pushing replicas of items of its own (twin ids in its namespace)."""

    def __init__(self, admin: AdminClient, url: str, short: str) -> None:
        key = new_manual_key()
        conn = admin.request("POST", "/admin/v1/connections/manual", {
            "name": short, "local_short_name": "victim", "remote_short_name": short, "project": "ACME",
            "local_key": key, "passive": True})["connection"]
        self.connection_id, self.short = conn["id"], short
        self.node = PartnerNode(PeerClient(timeout=30), url, parse_manual_key(key))
        self.seq = 0
        self.twin_seq: dict[str, int] = {}
        self.lock = threading.Lock()

    def _message(self, item_id: str, summary: str) -> PeerMessage:
        twin_id = f"{self.short}:{item_id}"
        self.seq += 1
        self.twin_seq[twin_id] = self.twin_seq.get(twin_id, 0) + 1
        replica = {"item": {"id": item_id, "key": f"{self.short.upper()}-{item_id}"}, "project": "X", "type": "Task",
                   "summary": summary, "updated": datetime.now(UTC).isoformat()}
        return PeerMessage(message_id=uuid.uuid4().hex, connection_id=self.connection_id, seq=self.seq,
                           kind="sync.replica", payload={"twin_id": twin_id, "seq": self.twin_seq[twin_id],
                                                         "origin": self.short, "replica": replica})

    def push_all(self, items: list[tuple[str, str]], batch: int = 50) -> int:
        """Push (item id, summary) replicas in order, retrying after a 429 as told; returns the 429s seen."""
        with self.lock:
            outbox = [self._message(item_id, summary) for item_id, summary in items]
        throttled = 0
        while outbox:
            try:
                answer = self.node.push(PushRequest(connection_id=self.connection_id, messages=outbox[:batch]))
            except RemoteError as exc:
                if exc.status != 429:
                    raise
                throttled += 1
                time.sleep(1.0)  # the Retry-After the node answers (whole seconds)
                continue
            outbox = [m for m in outbox if m.seq > answer.acked_seq]
            if outbox and answer.acked_seq < outbox[0].seq - 1:
                time.sleep(0.2)
        return throttled


def _person(info: dict[str, Any]) -> TrackerClient:
    person = info["tracker"]["people"][0]
    return build_client("jira-cloud", info["tracker"]["url"],
                        TrackerCredentials(email=person["email"], api_token=person["token"]))


def _wait(condition: Any, timeout: float = 120.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not seen within {timeout:.0f} s")
        time.sleep(interval)
    return value


def _copy(jira: TrackerClient, summary: str) -> Any:
    from datetime import timedelta

    for ref in jira.search_changed_since("ACME", datetime.now(UTC) - timedelta(minutes=30)):
        item = jira.get_item(ref.key)
        if item.summary == summary:
            return item
    return None


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def _renames(honest: Partner, jira: TrackerClient, key: str, label: str, count: int) -> list[float]:
    latencies = []
    for n in range(count):
        summary = f"honest item, {label} rename {n}"
        sent = time.monotonic()
        honest.push_all([("1", summary)])
        _wait(lambda s=summary: jira.get_item(key).summary == s)
        latencies.append((time.monotonic() - sent) * 1000)
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20, help="timed renames, idle and under flood (default 20)")
    parser.add_argument("--flood", type=int, default=500, help="replicas the flooding partner sends (default 500)")
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="twinbridge-flood-"))
    port = free_port()
    process = spawn_node("victim", True, port, "jira-cloud", logs / "victim.log", "WARNING",
                         simulate_project="ACME", info_file=logs / "victim.json")
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, process, logs / "victim.log", timeout=180)
        admin = AdminClient(url, sigv4=False, timeout=60)
        jira = _person(json.loads((logs / "victim.json").read_text()))
        honest, flooder = Partner(admin, url, "honest"), Partner(admin, url, "flood")

        honest.push_all([("1", "honest item")])
        copy = _wait(lambda: _copy(jira, "honest item"))
        _renames(honest, jira, copy.key, "warm-up", 3)
        idle = _renames(honest, jira, copy.key, "idle", args.changes)

        throttled: list[int] = []
        flood = threading.Thread(target=lambda: throttled.append(flooder.push_all(
            [(str(n), f"flood {n}") for n in range(1, args.flood + 1)])), daemon=True)
        started = time.monotonic()
        flood.start()
        time.sleep(1.0)  # let the flood get going before timing
        busy = _renames(honest, jira, copy.key, "flood", args.changes)
        still_flooding = flood.is_alive()
        flood.join(timeout=600)
        flood_seconds = time.monotonic() - started
    finally:
        process.terminate()
        process.wait(timeout=30)

    ratio = _p95(busy) / _p95(idle)
    print(f"one node, two partners on loopback; the honest one renames its item {args.changes} times per phase:")
    print(f"  idle         p50 {sorted(idle)[len(idle) // 2]:6.0f} ms   p95 {_p95(idle):6.0f} ms")
    print(f"  under flood  p50 {sorted(busy)[len(busy) // 2]:6.0f} ms   p95 {_p95(busy):6.0f} ms   "
          f"({args.flood} replicas from the other partner, {throttled[0] if throttled else '?'} pushes answered "
          f"429, all admitted after {flood_seconds:.0f} s; flood {'still running' if still_flooding else 'over'} "
          f"when the last rename landed)")
    print(f"  ratio {ratio:.2f}x; goal <= {GOAL_RATIO:.0f}x: {'met' if ratio <= GOAL_RATIO else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
