"""How fast does a private node see a message queued on its public partner?

Starts a public and a private local node (real processes, loopback HTTP, moto server mode), connects
them with an invitation, then queues notes on the public side one at a time and measures the time
until the private side has applied each one (its receive watermark moved). The private node learns
of them only through its own long-poll: the public node can never call it.

    .venv/bin/python benchmarks/private_reaction_latency.py [--messages 30]
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
import time
from pathlib import Path

from twinbridge_tools.cli.admin_client import AdminClient
from twinbridge_tools.cli.dev import spawn_node, wait_ready
from twinbridge_tools.local.aws import free_port


def _wait_for(condition, timeout: float = 30.0, interval: float = 0.01):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        time.sleep(interval)
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=30)
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="twinbridge-bench-"))
    ports = {"public": free_port(), "private": free_port()}
    processes = {
        "public": spawn_node("bench-public", True, ports["public"], "jira-cloud", logs / "public.log", "WARNING"),
        "private": spawn_node(
            "bench-private", False, ports["private"], "azure-devops", logs / "private.log", "WARNING"
        ),
    }
    try:
        for name, process in processes.items():
            wait_ready(f"http://127.0.0.1:{ports[name]}", process, logs / f"{name}.log")
        public = AdminClient(f"http://127.0.0.1:{ports['public']}", sigv4=False)
        private = AdminClient(f"http://127.0.0.1:{ports['private']}", sigv4=False)

        started = time.monotonic()
        invited = public.request(
            "POST",
            "/admin/v1/connections/invitations",
            {
                "name": "bench",
                "local_short_name": "pub",
                "remote_short_name": "priv",
                "partner_url": None,
            },
        )
        connection_id = invited["connection"]["id"]
        private.request("POST", "/admin/v1/connections/accept", {"code": invited["invitation_code"]})
        handshake_ms = (time.monotonic() - started) * 1000

        def applied(count: int):
            return private.request("GET", f"/admin/v1/connections/{connection_id}")["connection"]["in_seq"] >= count

        _wait_for(lambda: applied(0))
        latencies = []
        for index in range(1, args.messages + 1):
            sent = time.monotonic()
            public.request(
                "POST", f"/admin/v1/connections/{connection_id}/messages", {"kind": "note", "text": f"n{index}"}
            )
            _wait_for(functools.partial(applied, index))
            latencies.append((time.monotonic() - sent) * 1000)

        ordered = sorted(latencies)
        p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
        print(f"invitation initiate + accept (both active): {handshake_ms:.0f} ms")
        print(
            f"public -> private message reaction over {len(latencies)} messages "
            f"(includes the admin call and ~10 ms status polling):"
        )
        print(f"  p50 {statistics.median(latencies):.0f} ms   p95 {p95:.0f} ms   max {ordered[-1]:.0f} ms")
        print("  for comparison: Exalate polls every 20 s; IssueSYNC at best every 60 s")
        return 0
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            process.wait(timeout=20)


if __name__ == "__main__":
    sys.exit(main())
