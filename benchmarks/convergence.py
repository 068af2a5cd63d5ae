"""The randomized convergence walk, longer than the test command runs it: seeds until at least --operations people
operations were made, over two in-process nodes with faulty deliveries and armed crash points. Prints the figures;
exits 1 on any violation (the failing walk is printed by hypothesis).

    .venv/bin/python benchmarks/convergence.py --operations 5000
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "CRITICAL")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")


def main() -> int:
    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.stateful import run_state_machine_as_test

    from twinbridge_tools.convergence.machine import MACHINES, TOTALS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=5000)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--examples", type=int, default=40, help="walks per seed")
    parser.add_argument("--steps", type=int, default=60, help="steps per walk at most")
    parser.add_argument("--trackers", choices=sorted(MACHINES), default="jira-cloud/jira-dc")
    args = parser.parse_args()
    machine = MACHINES[args.trackers]
    started, seed, failed = time.perf_counter(), args.first_seed, False
    TOTALS.clear()
    while TOTALS["operations"] < args.operations:
        machine._hypothesis_internal_use_seed = seed
        try:
            run_state_machine_as_test(machine, settings=settings(
                max_examples=args.examples, stateful_step_count=args.steps, deadline=None, database=None,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck)))
        except AssertionError as failure:
            print(f"seed {seed}: VIOLATION\n{failure}", file=sys.stderr)
            failed = True
            break
        print(f"seed {seed}: {TOTALS['operations']} operations so far", flush=True)
        seed += 1
    elapsed = time.perf_counter() - started
    crashes = {name.removeprefix("crash: "): n for name, n in TOTALS.items() if name.startswith("crash: ")}
    print(f"\n{args.trackers}, seeds {args.first_seed}..{seed}: {TOTALS['runs']} walks, "
          f"{TOTALS['operations']} operations, "
          f"{TOTALS['settles checked']} settles checked, {TOTALS['violations']} violations, {elapsed:.0f} s")
    for name in sorted(n for n in TOTALS if n.startswith(("op: ", "delivery: "))):
        print(f"  {name}: {TOTALS[name]}")
    print(f"  crash points armed: {TOTALS['crash points armed']}, crashes: {sum(crashes.values())}")
    for name, count in sorted(crashes.items()):
        print(f"    {name}: {count}")
    return 1 if failed or TOTALS["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
