"""The README's flow, literally: 'twinbridge dev' in one shell, the CLI in another."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest

from twinbridge_tools.local.aws import free_port

pytestmark = pytest.mark.e2e


def _cli(state_dir, *args, check=True):
    result = subprocess.run(
        [sys.executable, "-m", "twinbridge_tools.cli.main", "--state-dir", str(state_dir), *args],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"twinbridge {' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


@pytest.fixture
def dev_nodes(tmp_path):
    state_dir = tmp_path / "state"
    process = subprocess.Popen(
        [sys.executable, "-m", "twinbridge_tools.cli.main", "--state-dir", str(state_dir), "dev", "--no-demo",
         "--public-port", str(free_port()), "--private-port", str(free_port())],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    banner = []
    for line in process.stdout:  # blocks until the banner is printed (or the process dies)
        banner.append(line)
        if line.startswith("Ctrl-C stops both nodes"):
            break
    assert process.poll() is None and any("local runtime is up" in line for line in banner), "".join(banner)
    yield state_dir, "".join(banner)
    process.terminate()
    process.wait(timeout=20)


def test_readme_flow_initiate_public_accept_private_active_within_5_seconds(dev_nodes):
    state_dir, banner = dev_nodes
    assert "connection initiate" in banner and "connection accept" in banner

    initiated = _cli(
        state_dir,
        "--node",
        "public",
        "connection",
        "initiate",
        "--name",
        "Acme <-> Beta",
        "--local-short-name",
        "acme",
        "--remote-short-name",
        "beta",
        "--project",
        "ACME",
        "--no-partner-url",
    )
    code = re.search(r"^(tbinv1\.\S+)$", initiated.stdout, re.MULTILINE).group(1)
    connection_id = re.search(r"Connection (c-[0-9a-f]+) created", initiated.stdout).group(1)
    started = time.monotonic()

    accepted = _cli(state_dir, "--node", "private", "connection", "accept", code, "--project", "BETA")
    statuses = {}
    while time.monotonic() - started < 5 and set(statuses.values()) != {"active"}:
        for node in ("public", "private"):
            shown = json.loads(_cli(state_dir, "--json", "--node", node, "connection", "show", connection_id).stdout)
            statuses[node] = shown["connection"]["status"]

    assert "active" in accepted.stdout
    assert statuses == {"public": "active", "private": "active"}
    private_test = _cli(state_dir, "--node", "private", "connection", "test", connection_id)
    assert re.search(r"\[OK\s*\] signed ping answered by public", private_test.stdout)
    public_test = _cli(state_dir, "--node", "public", "connection", "test", connection_id)
    assert re.search(r"\[SKIPPED\] the partner is private", public_test.stdout)
    for report in (private_test.stdout, public_test.stdout):  # each node's own simulated tracker
        assert len(re.findall(r"\[OK\s*\] permission: ", report)) == 5 and "[FAILED" not in report
    listed = _cli(state_dir, "--node", "public", "connection", "list").stdout
    assert connection_id in listed and "active" in listed
    listed_json = json.loads(_cli(state_dir, "connection", "list", "--node", "public", "--json").stdout)  # flags last
    assert [conn["id"] for conn in listed_json["connections"]] == [connection_id]


def test_cli_errors_are_clear_and_exit_non_zero(dev_nodes):
    state_dir, _ = dev_nodes
    result = _cli(state_dir, "--node", "private", "connection", "accept", "tbinv1.garbage.00000000", check=False)
    assert result.returncode == 2 and "malformed" in result.stderr
    result = _cli(state_dir, "--node", "public", "connection", "show", "c-" + "0" * 32, check=False)
    assert result.returncode == 2 and "does not exist" in result.stderr
    result = _cli(state_dir, "--node", "nowhere", "node", "info", check=False)
    assert result.returncode == 2 and "no local node named 'nowhere'" in result.stderr


def test_a_change_in_the_simulated_jira_reaches_the_public_nodes_queue_through_its_webhook(dev_nodes):
    import requests

    state_dir, banner = dev_nodes
    jira = re.search(r"public node's simulated jira-cloud: (\S+)", banner).group(1)
    email, token = re.search(r"sign in as (ana@\S+), token (\S+)", banner).groups()
    created = requests.post(
        f"{jira}/rest/api/3/issue",
        auth=(email, token),
        timeout=10,
        json={"fields": {"project": {"key": "ACME"}, "issuetype": {"name": "Task"}, "summary": "Printer on fire"}},
    )
    assert created.status_code == 201, created.text
    issue_id = created.json()["id"]

    log = state_dir / "logs" / "public.log"
    deadline = time.monotonic() + 15
    lines: list[dict] = []
    while time.monotonic() < deadline:
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        if any(
            line.get("message") == "webhook queued" and line.get("item") == f"jira-cloud:{issue_id}" for line in lines
        ):
            break
        time.sleep(0.2)
    else:
        raise AssertionError(
            "the webhook never reached the node's queue; log messages: "
            + ", ".join(str(line.get("message")) for line in lines[-20:])
        )


def test_dev_on_a_taken_port_exits_at_once_naming_the_port(tmp_path):
    """A second 'make run' while the first holds its port: one line on stderr, exit 2, nothing started."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        taken = held.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "twinbridge_tools.cli.main",
                "dev",
                "--state-dir",
                str(tmp_path / "state"),
                "--public-port",
                str(taken),
                "--private-port",
                str(free_port()),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    assert result.returncode == 2, result.stderr
    assert f"port {taken} (wanted by the public node) is in use" in result.stderr
    assert "--public-port" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == "" and not (tmp_path / "state").exists()
