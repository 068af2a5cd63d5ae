"""Cold import time of every handler in template.yaml against a bare import of its dependencies.

Each measurement is a fresh interpreter timing only the import statement (interpreter start-up excluded);
one warm-up run (which writes .pyc files) is discarded, then the median of ``--repeat`` runs is reported.
It also lists which heavy modules each import pulls in; they should load lazily, on first use.

Exits 1 when a handler imports one of the heavy modules at import time (--check-only: that check alone, no
timing; tests/infra/test_lazy_imports.py runs it).

Usage: python benchmarks/import_time.py [--repeat N] [--check-only] [--module dotted.name ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("cryptography", "requests", "aws_xray_sdk", "moto", "yaml")
GOAL_RATIO = 1.3
BASELINE = (
    "import boto3\n"
    "from aws_lambda_powertools import Logger, Metrics\n"
    "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver\n"
)
ENV = {
    "NODE_NAME": "bench-node",
    "TRACKER_TYPE": "jira-cloud",
    "TABLE_NAME": "twinbridge-bench",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
PROBE = """
import json, sys, time
started = time.perf_counter()
exec(compile({code!r}, "<import>", "exec"))
elapsed = time.perf_counter() - started
print(json.dumps({{"ms": elapsed * 1000, "heavy": [name for name in {heavy!r} if name in sys.modules],
                  "boto3": "boto3" in sys.modules}}))
"""


def measure_once(code: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "POWERTOOLS_"))}
    env.update(ENV)
    # As in Lambda, where the layer's python/ directory is on sys.path: not through the editable install's finder.
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "shared"), str(REPO)])
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(code=code, heavy=HEAVY)],
        cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"import failed:\n{code}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(code: str, repeat: int) -> tuple[float, list[str], bool]:
    """Median ms over ``repeat`` fresh interpreters (after one discarded warm-up), heavy modules seen, boto3 loaded."""
    measure_once(code)
    runs = [measure_once(code) for _ in range(repeat)]
    return statistics.median(run["ms"] for run in runs), runs[-1]["heavy"], runs[-1]["boto3"]


def handler_modules() -> list[tuple[str, str]]:
    """(logical id, dotted module) for every function, derived from CodeUri + Handler."""
    from twinbridge_tools.local.template import functions

    return [(spec.logical_id, spec.import_name) for spec in functions()]


def eager_heavy_imports(modules: list[str]) -> dict[str, list[str]]:
    """module -> the heavy modules that importing it loads (one fresh interpreter each); only modules with some."""
    found = {module: measure_once(f"import {module}\n")["heavy"] for module in modules}
    return {module: names for module, names in found.items() if names}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="fresh interpreters per module (default 7)")
    parser.add_argument("--check-only", action="store_true", help="only check that no heavy module loads eagerly")
    parser.add_argument("--module", action="append", help="check these modules instead of the handlers")
    args = parser.parse_args()

    if args.check_only:
        modules = args.module or [module for _, module in handler_modules()]
        eager = eager_heavy_imports(modules)
        for module in modules:
            print(f"{module}: {', '.join(eager[module]) + ' imported eagerly' if module in eager else 'lazy'}")
        return 1 if eager else 0

    baseline_ms, baseline_heavy, _ = measure(BASELINE, args.repeat)
    rows = []
    for logical_id, module in handler_modules():
        median_ms, heavy, boto3 = measure(f"import {module}\n", args.repeat)
        rows.append((logical_id, module, median_ms, heavy, boto3))

    print(
        f"Python {sys.version.split()[0]}, median of {args.repeat} fresh interpreters per row (import statement only)"
    )
    print(
        "baseline = import boto3; from aws_lambda_powertools import Logger, Metrics; "
        "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver"
    )
    print()
    header = f"{'module':<32} {'median ms':>10} {'baseline ms':>12} {'ratio':>6} {'boto3':>6}  heavy modules imported"
    print(header)
    print("-" * len(header))
    row = "{:<32} {:>10.1f} {:>12.1f} {:>6.2f} {:>6}  {}"
    print(row.format("(baseline)", baseline_ms, baseline_ms, 1.0, "yes", ", ".join(baseline_heavy) or "-"))
    for _, module, median_ms, heavy, boto3 in rows:
        extra = [name for name in heavy if name not in baseline_heavy]
        ratio = median_ms / baseline_ms
        print(row.format(module, median_ms, baseline_ms, ratio, "yes" if boto3 else "no", ", ".join(extra) or "-"))
    print()
    eager = {module: [name for name in heavy if name not in baseline_heavy] for _, module, _, heavy, _ in rows}
    eager = {module: names for module, names in eager.items() if names}
    over = [module for _, module, median_ms, _, _ in rows if median_ms / baseline_ms > GOAL_RATIO]
    verdict = "met" if not over else f"NOT met by {', '.join(over)}"
    print(f"goal: every handler <= {GOAL_RATIO}x the baseline: {verdict}")
    if eager:
        print(f"NOT LAZY: imported at handler import time (of {', '.join(HEAVY)}):")
        for module, names in eager.items():
            print(f"  {module}: {', '.join(names)}")
        return 1
    print(f"lazy: no handler imports {', '.join(HEAVY)} at import time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
