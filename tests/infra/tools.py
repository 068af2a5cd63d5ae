"""Run the SAM CLI and cfn-lint from .venv-tools (their pins clash with the project's venv) offline."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support import REPO

TOOLS_BIN = REPO / ".venv-tools" / "bin"
REGION = "eu-west-1"


def tool(name: str) -> Path:
    """The executable from .venv-tools; fails (never skips) when the tools venv was not created."""
    path = TOOLS_BIN / name
    if not path.exists():
        pytest.fail(
            f"{path.relative_to(REPO)} is missing: the template checks need the tools venv. "
            "Create it with `make tools` (or run everything with `make test`).",
            pytrace=False,
        )
    return path


def run_tool(*args: str | Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run a tool in the repo root with no AWS account: no telemetry, placeholder credentials, a fixed region."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "SAM_CLI_"))}
    env.update(
        SAM_CLI_TELEMETRY="0",
        AWS_ACCESS_KEY_ID="offline",
        AWS_SECRET_ACCESS_KEY="offline",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return subprocess.run(
        [str(arg) for arg in args], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=timeout, check=False,
    )


def report(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
