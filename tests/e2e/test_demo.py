"""The README's 'make run ARGS=--scripted': 'twinbridge dev' connects its two nodes and tells the sync story, then exits."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from twinbridge_tools.cli.demo import STEPS
from twinbridge_tools.local.aws import free_port

pytestmark = pytest.mark.e2e


def test_scripted_demo_completes_every_step_and_exits_zero(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "twinbridge_tools.cli.main",
            "--state-dir",
            str(tmp_path / "state"),
            "dev",
            "--scripted",
            "--public-port",
            str(free_port()),
            "--private-port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for number, title in enumerate(STEPS, start=1):
        assert f"[{number}/{len(STEPS)}] {title}" in result.stdout, output
    assert len(re.findall(r"^      done in \d+\.\d s$", result.stdout, re.MULTILINE)) == len(STEPS), output
    assert re.search(
        r"work item (\d+) \"Printer on fire\" appeared in Azure DevOps: http://127\.0\.0\.1:\d+/", result.stdout
    )
    assert "Ben Okafor (beta) wrote: Toner ordered" in result.stdout
    assert (
        "printer-log.txt is on work item" in result.stdout and "toner-quote.txt is on ACME-1 in Jira" in result.stdout
    )
    assert f"All {len(STEPS)} steps done" in result.stdout and "Ctrl-C stops" not in result.stdout


def test_scripted_without_trackers_is_refused_before_any_node_starts(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "twinbridge_tools.cli.main",
            "--state-dir",
            str(tmp_path / "state"),
            "dev",
            "--scripted",
            "--no-trackers",
            "--public-port",
            str(free_port()),
            "--private-port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2 and "--scripted runs the demo" in result.stderr
    assert not (tmp_path / "state" / "logs").exists()


def test_a_step_that_cannot_complete_is_named_with_the_node_logs(tmp_path):
    from twinbridge_tools.cli.demo import DemoNode, DemoStepError, Story

    def nowhere(name: str, kind: str, project: str) -> DemoNode:  # nothing listens on these ports
        person = {"name": name, "email": f"{name}@x.local", "token": "t"}
        tracker = {"type": kind, "url": f"http://127.0.0.1:{free_port()}", "project": project, "people": [person]}
        return DemoNode(name, f"http://127.0.0.1:{free_port()}", tmp_path / f"{name}.log", tracker)

    lines: list[str] = []
    with pytest.raises(DemoStepError) as caught:
        Story(
            nowhere("public", "jira-cloud", "ACME"),
            nowhere("private", "azure-devops", "BETA"),
            step_timeout=1,
            out=lines.append,
        ).run()
    assert caught.value.step == 1 and caught.value.exit_code == 1
    assert f"demo step 1/{len(STEPS)} '{STEPS[0]}' failed: cannot reach the node" in caught.value.message
    assert (
        str(tmp_path / "public.log") in caught.value.message and str(tmp_path / "private.log") in caught.value.message
    )
    assert lines == [f"\n[1/{len(STEPS)}] {STEPS[0]}"]  # the step was announced, and never reported done
