"""Which DynamoDB and tracker API calls does one synced field update cost, on each side?

In this process: moto, a Jira Cloud simulator behind the public node and an Azure DevOps simulator behind the
private node, each node's Deps built directly with a list for its sync queue. One issue is created and linked
and one rename is synced to warm caches; then a person renames it again and each stage of that one change is
run by hand while botocore's event hooks name every DynamoDB call and the simulators log every request.
Counted per stage: the public node's webhook ingest, its sync worker (tracker.change) and serving the
partner's long-poll; the private node's receipt of the polled replica and its sync worker (sync.apply).
Not counted: the per-request peer authentication and the poller's per-round reads, which one poll round
shares among all the messages it carries.

    .venv/bin/python benchmarks/sync_calls_per_change.py
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Callable

from sync_bench_support import CONNECTION_ID, BenchNode, BenchPair, run, sync_pair

from twinbridge.models.messages import PollRequest
from twinbridge.models.tracker import ItemFields
from twinbridge.services import messaging, routing

GOAL = "1 tracker read (the sending side re-reads the item) and 1 tracker write (the receiving side updates its copy)"
_ID = re.compile(r"^(?:[A-Z][A-Z0-9]*-\d+|\d+)$")  # ACME-7, 10042, 3


def _template(method: str, path: str, query: dict) -> str:
    """``GET /rest/api/3/issue/{id}?fields`` from ``GET /rest/api/3/issue/ACME-1?fields=...`` (values dropped)."""
    segments = path.split("/")
    parts = ["{id}" if _ID.match(part) and segments[n - 1] != "api" else part for n, part in enumerate(segments)]
    if len(parts) > 1 and parts[1] == "priv":  # the Azure DevOps organization
        parts[1] = "{org}"
    names = sorted(name for name in query if name != "api-version")
    return f"{method} {'/'.join(parts)}" + (f"?{'&'.join(names)}" if names else "")


def _tracker_log(node: BenchNode) -> list[str]:
    """The simulator's request log (SimRequest objects, both simulators) as templates."""
    return [_template(r.method, r.path, r.query) for r in node.sim.requests]


def _stage(node: BenchNode, step: Callable[[], object]) -> tuple[Counter, Counter, int]:
    node.dynamodb_calls.clear()
    node.sim.requests.clear()
    sent = node.queue.sent
    step()
    return Counter(name for name, _ in node.dynamodb_calls), Counter(_tracker_log(node)), node.queue.sent - sent


def _reads_writes(calls: Counter) -> tuple[int, int]:
    reads = sum(n for call, n in calls.items() if call.startswith("GET "))
    return reads, sum(calls.values()) - reads


def _names(calls: Counter, indent: str) -> str:
    return f"\n{indent}".join(f"{n} x {call}" if n > 1 else call for call, n in calls.items()) or "none"


def main() -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    with sync_pair() as pair:
        ((key, ado_id),) = pair.link(1)
        _rename(pair, key, "warm-up")
        pair.sync_all()  # the first update fills per-container caches (issue types): not a typical change
        _rename(pair, key, "measured")
        public, private = pair.public, pair.private
        polled: list = []
        stages = [
            ("sending", "webhook ingest (TrackerWebhookFunction)", public, lambda: pair.ingest_webhooks()),
            ("sending", "tracker.change (SyncWorkerFunction)", public, lambda: run(public, "tracker.change")),
            (
                "sending",
                "serve the partner's long-poll (PeerApiFunction)",
                public,
                lambda: polled.extend(_serve_poll(pair)),
            ),
            ("receiving", "take in the polled replica (PollerFunction)", private, lambda: _receive(pair, polled)),
            ("receiving", "sync.apply (SyncWorkerFunction)", private, lambda: run(private, "sync.apply")),
        ]
        results = [(side, name, *_stage(node, step)) for side, name, node, step in stages]
        assert private.sim.item_fields(int(ado_id))["System.Title"] == "measured", "the change did not arrive"

    print("one summary change of an already-linked item, Jira Cloud (public) -> Azure DevOps (private):")
    totals: dict[str, tuple[int, int, int]] = {}
    for side, name, dynamodb, tracker, queued in results:
        print(f"\n  [{side}] {name}")
        print(f"    DynamoDB {sum(dynamodb.values()):2}: {_names(dynamodb, ' ' * 17)}")
        print(f"    tracker  {sum(tracker.values()):2}: {_names(tracker, ' ' * 17)}")
        if queued:
            print(f"    SQS     {queued:2}: send_message")
        reads, writes = _reads_writes(tracker)
        before = totals.get(side, (0, 0, 0))
        totals[side] = (before[0] + sum(dynamodb.values()), before[1] + reads, before[2] + writes)
    print()
    for side, (dynamodb, reads, writes) in totals.items():
        print(f"  {side:9} side: {dynamodb} DynamoDB calls, {reads} tracker reads, {writes} tracker writes")
    reads, writes = sum(t[1] for t in totals.values()), sum(t[2] for t in totals.values())
    print(
        "  (+ on the sending side, the next poll round deletes the acknowledged outbox entry: Query, BatchWriteItem,"
        " shared by the messages acknowledged together)"
    )
    print(f"\n  goal: {GOAL}.")
    if (reads, writes) == (1, 1):
        print("  met.")
    else:
        print(
            f"  NOT met: {reads} tracker reads and {writes} tracker writes per change "
            f"({reads + writes - 2} call(s) over the goal)."
        )
    return 0


def _rename(pair: BenchPair, key: str, summary: str) -> None:
    pair.public.person.update_item(key, ItemFields(summary=summary))


def _serve_poll(pair: BenchPair) -> list:
    conn = pair.public.deps.connections.get(CONNECTION_ID)
    ack = pair.private.deps.connections.get(CONNECTION_ID).in_seq
    pair.public.dynamodb_calls.clear()  # the read above stands in for the poll request's authentication
    request = PollRequest(connection_id=CONNECTION_ID, ack_seq=ack, wait_seconds=1)
    return messaging.serve_poll(pair.public.deps, conn, request, lambda: 30.0).messages


def _receive(pair: BenchPair, messages: list) -> None:
    conn = pair.private.deps.connections.get(CONNECTION_ID)
    pair.private.dynamodb_calls.clear()  # the poller's per-round read of its connection
    messaging.receive(pair.private.deps, conn, messages, routing.MESSAGE_KINDS)


if __name__ == "__main__":
    sys.exit(main())
