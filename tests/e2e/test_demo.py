"""The README's 'make run ARGS=--scripted': 'twinbridge dev' connects its two nodes and tells the sync story, then exits."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from twinbridge_tools.cli.demo import STATUS_STEP, STEPS, steps_for
from twinbridge_tools.local.aws import free_port

pytestmark = pytest.mark.e2e


def test_scripted_demo_completes_every_step_and_exits_zero(tmp_path):
    result = run_demo(tmp_path)
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
    assert STATUS_STEP not in result.stdout and "script mode" not in result.stdout  # basic mode is the default


def test_scripted_demo_in_script_mode_maps_the_status_both_ways(tmp_path):
    """'make run ARGS="--scripted --mode script"': a script-mode connection, a status map published on each node,
    and the sixth step: Jira In Progress -> Azure DevOps Active, Azure DevOps Closed -> Jira Done."""
    result = run_demo(tmp_path, "--mode", "script")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    steps = steps_for("script")
    assert len(steps) == len(STEPS) + 1 and steps[-1] == STATUS_STEP
    for number, title in enumerate(steps, start=1):
        assert f"[{number}/{len(steps)}] {title}" in result.stdout, output
    assert len(re.findall(r"^      done in \d+\.\d s$", result.stdout, re.MULTILINE)) == len(steps), output
    assert "active on both nodes, in script mode" in result.stdout, output  # the demo read each node's connection
    for node in ("private", "public"):
        assert re.search(rf"^      {node} node: incoming rules version 1 published \(the defaults plus ",
                         result.stdout, re.MULTILINE), output
    # the basic steps still pass: the published rules keep the defaults (summary, comments, attachments, ...)
    assert "Ben Okafor (beta) wrote: Toner ordered" in result.stdout
    assert "toner-quote.txt is on ACME-1 in Jira" in result.stdout
    status_step = result.stdout.split(f"[{len(steps)}/{len(steps)}] {STATUS_STEP}")[1]
    assert 'Ana Pérez moved ACME-1 to "In Progress" in Jira' in status_step, output
    assert re.search(r'work item \d+ is "Active" in Azure DevOps \(In Progress -> Active\)', status_step), output
    assert re.search(r'Ben Okafor moved work item \d+ to "Closed" in Azure DevOps', status_step), output
    assert 'ACME-1 is "Done" in Jira (Closed -> Done)' in status_step, output
    assert f"All {len(steps)} steps done" in result.stdout and "Ctrl-C stops" not in result.stdout


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


def run_demo(tmp_path, *options: str) -> subprocess.CompletedProcess:
    """``twinbridge dev --scripted`` (the README's ``make run ARGS=--scripted``) with ``options``, to the end."""
    command = [sys.executable, "-m", "twinbridge_tools.cli.main", "--state-dir", str(tmp_path / "state"), "dev",
               "--scripted", *options, "--public-port", str(free_port()), "--private-port", str(free_port())]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
