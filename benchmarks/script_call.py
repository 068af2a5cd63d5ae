"""What running a script in the guarded worker costs, next to running it in this process.

Prints the worker's start-up (spawn until its first answer, then a respawn after a SIGKILL), the guarded call of
the brief's mapping script (docs: script-mode §3.7 example 1, one users.by_email round trip to this process per
call) and the same script called by the engine in this process, as p50/p95/p99 over --calls calls. Goal: guarded
p95 at most 1 ms.

    .venv/bin/python benchmarks/script_call.py [--calls 5000] [--spawns 10]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.script_samples: the same script and helpers the tests use

from tests.script_samples import EXPECTED, MAPPING, DirectoryHelpers, mapping_args  # noqa: E402
from twinbridge.scripting.engine import Script  # noqa: E402
from twinbridge.scripting.runner import GuardedRunner  # noqa: E402


def _percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _row(label: str, seconds: list[float]) -> str:
    ordered = sorted(s * 1000 for s in seconds)
    return (f"{label:<34}{len(ordered):>7}{statistics.mean(ordered):>9.3f}{_percentile(ordered, 0.5):>9.3f}"
            f"{_percentile(ordered, 0.95):>9.3f}{_percentile(ordered, 0.99):>9.3f}{ordered[-1]:>9.3f}")


def _timed(calls: int, one: Callable[[], object]) -> list[float]:
    for _ in range(min(200, calls)):  # warm caches (and the worker's compiled script)
        one()
    seconds = []
    for _ in range(calls):
        started = time.perf_counter()
        one()
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--spawns", type=int, default=10)
    args = parser.parse_args()
    helpers = DirectoryHelpers()
    inputs = mapping_args()

    firsts, respawns = [], []
    for _ in range(args.spawns):
        with GuardedRunner() as runner:
            started = time.perf_counter()
            assert runner.run(MAPPING, "incoming", inputs, helpers).value == EXPECTED
            firsts.append(time.perf_counter() - started)
            os.kill(runner.pid or 0, signal.SIGKILL)
            os.waitid(os.P_PID, runner.pid or 0, os.WEXITED | os.WNOWAIT)
            started = time.perf_counter()
            runner.run(MAPPING, "incoming", inputs, helpers)
            respawns.append(time.perf_counter() - started)

    with GuardedRunner() as runner:
        guarded = _timed(args.calls, lambda: runner.run(MAPPING, "incoming", inputs, helpers))
        spawns = runner.spawns
    script = Script(MAPPING, "incoming")
    in_process = _timed(args.calls, lambda: script.call(inputs, helpers))

    header = f"{'ms':<34}{'n':>7}{'mean':>9}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}"
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; mapping script of {len(MAPPING.splitlines())} "
          "lines, 1 helper round trip per call\n")
    print(header)
    print("-" * len(header))
    print(_row("first call of a new worker", firsts))
    print(_row("first call after a SIGKILL", respawns))
    print(_row("guarded call (worker)", guarded))
    print(_row("in-process engine call", in_process))
    p95 = _percentile(sorted(guarded), 0.95) * 1000
    print(f"\nguarded p95 {p95:.3f} ms (goal <= 1 ms: {'met' if p95 <= 1 else 'NOT met'}); guard overhead at p50 "
          f"{(statistics.median(guarded) - statistics.median(in_process)) * 1e6:.0f} us; "
          f"{spawns} spawn for {args.calls + min(200, args.calls)} guarded calls")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
