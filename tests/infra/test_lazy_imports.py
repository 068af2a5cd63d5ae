"""No handler loads requests, cryptography, the X-Ray SDK, moto or yaml when it is imported (a cold start pays
for what a handler imports): what is imported, checked by benchmarks/import_time.py, not how long it takes."""

from __future__ import annotations

import subprocess
import sys

from tests.support import REPO

SCRIPT = REPO / "benchmarks" / "import_time.py"


def _check(*modules: str) -> subprocess.CompletedProcess[str]:
    args = [arg for module in modules for arg in ("--module", module)]
    return subprocess.run([sys.executable, str(SCRIPT), "--check-only", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, check=False)


def test_no_handler_imports_a_heavy_module_eagerly():
    result = _check()

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 5 and all(line.endswith(": lazy") for line in lines), result.stdout


def test_the_check_fails_for_a_module_that_imports_requests_eagerly():
    result = _check("twinbridge.trackers.http", "twinbridge.models.jobs")

    assert result.returncode == 1
    assert "twinbridge.trackers.http: requests imported eagerly" in result.stdout
    assert "twinbridge.models.jobs: lazy" in result.stdout
