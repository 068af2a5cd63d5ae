"""How many changes per second does ONE sync worker get through, outgoing and incoming?

Everything runs in this process on one thread: moto's DynamoDB, a Jira Cloud simulator (the public node's
tracker) and an Azure DevOps simulator (the private node's), both on loopback with no added latency, and each
node's Deps built directly with a list for its sync queue. N items are created and linked first (untimed).
Then a person renames all N in Jira, the webhooks go through the webhook use case (untimed), and:

  outgoing: N ``tracker.change`` work items through the sync worker's dispatch (read the issue and its
            comments, build the replica, append it to the outbox, save the twin);
  incoming: the N replicas reach the private node (untimed) and N ``sync.apply`` work items write them to
            Azure DevOps (read the work item, patch it, save the twin).

    .venv/bin/python benchmarks/sync_worker_throughput.py [--items 200]
"""

from __future__ import annotations

import argparse
import sys

from sync_bench_support import run, sync_pair, timed

from twinbridge.models.tracker import ItemFields


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200, help="linked items, each changed once (default 200)")
    args = parser.parse_args()
    n = args.items
    with sync_pair() as pair:
        setup, _, linked = timed(lambda: pair.link(n))
        for key, _ in linked:
            pair.public.person.update_item(key, ItemFields(summary=f"{key} renamed"))
        pair.ingest_webhooks()
        assert pair.public.queue.held("tracker.change") == n, "one queued change per renamed item"

        outgoing = _measure(pair.public, "tracker.change", n)
        pair.transfer(pair.public, pair.private)
        incoming = _measure(pair.private, "sync.apply", n)

        titles = {pair.private.sim.item_fields(int(ado_id))["System.Title"] for _, ado_id in linked}
        assert titles == {f"{key} renamed" for key, _ in linked}, "some copies were not updated"
    print(f"one sync worker, one thread, {n} linked items changed once each (Jira Cloud -> Azure DevOps);")
    print("in-process simulators and moto, no network latency:")
    print(f"  outgoing  tracker.change -> replica in the outbox   {outgoing}")
    print(f"  incoming  sync.apply -> Azure DevOps work item       {incoming}")
    print("  'moto' is the time inside DynamoDB calls, emulated by moto in this process (its GSI queries scan the")
    print("  whole table, so it grows with --items); real DynamoDB costs ~3-10 ms of network wait per call instead.")
    print(f"  (set-up, untimed: creating and linking the {n} items took {setup:.1f} s)")
    return 0


def _measure(node, kind: str, n: int) -> str:
    node.dynamodb_calls.clear()
    wall, cpu, done = timed(lambda: run(node, kind))
    assert done == n, (kind, done)
    calls, in_dynamodb = len(node.dynamodb_calls), sum(seconds for _, seconds in node.dynamodb_calls)
    return (f"{n / wall:6.1f} changes/s, {n / (wall - in_dynamodb):6.1f} without moto  "
            f"({wall / n * 1000:5.1f} ms each, CPU {cpu / n * 1000:5.1f} ms; {calls / n:.0f} DynamoDB calls, "
            f"moto {in_dynamodb / n * 1000:5.1f} ms)")


if __name__ == "__main__":
    sys.exit(main())
