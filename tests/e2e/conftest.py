"""Real local nodes as subprocesses (each its own moto server and HTTP server), talking over loopback."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from twinbridge_tools.cli.admin_client import AdminClient, CliError
from twinbridge_tools.cli.dev import spawn_node, wait_ready
from twinbridge_tools.local.aws import free_port

_projects = itertools.count(1)
NODES = {
    "pub-a": {"public": True, "tracker": "jira-cloud"},
    "pub-b": {"public": True, "tracker": "jira-dc"},
    "priv-c": {"public": False, "tracker": "azure-devops"},
    "priv-d": {"public": False, "tracker": "jira-dc"},
}


@dataclass
class Node:
    name: str
    public: bool
    url: str
    aws_endpoint: str
    log_path: Path
    process: Any

    @property
    def admin(self) -> AdminClient:
        return AdminClient(self.url, sigv4=False, timeout=60)

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        return self.admin.request(method, path, body)

    def error(self, method: str, path: str, body: dict | None = None) -> str:
        """The admin API's error message for a request that must fail."""
        with pytest.raises(CliError) as caught:
            self.admin.request(method, path, body)
        return caught.value.message

    def connection(self, connection_id: str) -> dict:
        return self.call("GET", f"/admin/v1/connections/{connection_id}")["connection"]

    def connections(self) -> list[dict]:
        return self.call("GET", "/admin/v1/connections")["connections"]

    def initiate(self, partner: Node | None, **extra) -> tuple[dict, str]:
        body = {
            "name": extra.pop("name", f"{self.name} to {partner.name if partner else 'private partner'}"),
            "local_short_name": self.name,
            "remote_short_name": partner.name if partner else "partner",
            "project": f"PRJ{next(_projects)}",  # one connection per partner and project: a fresh project each
            "partner_url": partner.url if partner else None,
            **extra,
        }
        result = self.call("POST", "/admin/v1/connections/invitations", body)
        return result["connection"], result["invitation_code"]

    def accept(self, code: str, project: str | None = None) -> dict:
        project = project or f"INC{next(_projects)}"
        return self.call("POST", "/admin/v1/connections/accept", {"code": code, "project": project})["connection"]

    def test(self, connection_id: str) -> dict:
        return self.call("POST", f"/admin/v1/connections/{connection_id}/test")

    def table_items(self) -> list[dict]:
        import boto3

        client = boto3.client(
            "dynamodb", endpoint_url=self.aws_endpoint, region_name="eu-west-1",
            aws_access_key_id="local", aws_secret_access_key="local",
        )
        items, kwargs = [], {}
        while True:
            page = client.scan(TableName=f"{self.name}-NodeTable", **kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def wait_until(
    condition: Callable[[], Any], timeout: float = 15.0, interval: float = 0.1, what: str = "condition"
) -> Any:
    """Poll ``condition`` until it returns something truthy, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout} s (last value: {value!r})")
        time.sleep(interval)


def stop_nodes(nodes: dict[str, Node]) -> None:
    """Terminate every node process (all at once, then wait), killing any that will not stop."""
    for node in nodes.values():
        if node.process.poll() is None:
            node.process.terminate()
    for node in nodes.values():
        try:
            node.process.wait(timeout=15)
        except Exception:
            node.process.kill()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory) -> dict[str, Node]:
    logs = tmp_path_factory.mktemp("node-logs")
    nodes: dict[str, Node] = {}
    try:
        for name, spec in NODES.items():
            port, aws_port = free_port(), free_port()
            process = spawn_node(
                name,
                spec["public"],
                port,
                spec["tracker"],
                logs / f"{name}.log",
                log_level="DEBUG",
                long_poll_seconds=20,
                aws_port=aws_port,
            )
            nodes[name] = Node(
                name,
                spec["public"],
                f"http://127.0.0.1:{port}",
                f"http://127.0.0.1:{aws_port}",
                logs / f"{name}.log",
                process,
            )
        for node in nodes.values():
            wait_ready(node.url, node.process, node.log_path)
        yield nodes
    finally:
        stop_nodes(nodes)
