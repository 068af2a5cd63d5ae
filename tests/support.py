"""Test helpers: API Gateway v2 events, Lambda contexts, and the moto table built from template.yaml."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events"


def _corpora() -> Path:
    """The third-party reference data beside the repo (``../shared/corpora``); TWINBRIDGE_CORPORA overrides it.

    A clone elsewhere on the same machine (CI's fresh clone) falls back to /work/shared/corpora.
    """
    import os

    explicit = os.environ.get("TWINBRIDGE_CORPORA")
    if explicit:
        return Path(explicit)
    for candidate in (REPO.parent / "shared" / "corpora", Path("/work/shared/corpora")):
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared" / "corpora"  # missing: tests that need it fail, naming this path


CORPORA = _corpora()

TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_REGION": "eu-west-1",
    "NODE_NAME": "test-node",
    "TRACKER_TYPE": "jira-cloud",
    "TRACKER_BASE_URL": "https://acme.atlassian.net",
    "TECHNICAL_USER": "twinbridge-bot",
    "NODE_PUBLIC": "true",
    "PUBLIC_URL": "http://127.0.0.1:9",
    "TABLE_NAME": "twinbridge-test",
    "POWERTOOLS_SERVICE_NAME": "twinbridge",
    "POWERTOOLS_METRICS_NAMESPACE": "Twinbridge",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "LONG_POLL_SECONDS": "2",
    "LONG_POLL_INTERVAL_SECONDS": "0.05",
    "LOCAL_RUNTIME": "true",  # partners and buckets on loopback, as in the local runtime (tests of refusals unset it)
}


class FakeLambdaContext:
    def __init__(self, function_name: str = "test", timeout_seconds: float = 29.0) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def create_table(dynamodb_resource, name: str):
    """The node table exactly as template.yaml declares it (keys, GSIs, TTL)."""
    from twinbridge_tools.local.template import resource

    spec = resource("NodeTable")["Properties"]
    table = dynamodb_resource.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=spec["KeySchema"],
        AttributeDefinitions=spec["AttributeDefinitions"],
        GlobalSecondaryIndexes=spec.get("GlobalSecondaryIndexes", []),
    )
    table.meta.client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": spec["TimeToLiveSpecification"]["AttributeName"]},
    )
    return table


def http_event(
    method: str,
    path: str,
    body: bytes | str | dict | None = None,
    headers: dict[str, str] | None = None,
    query: str = "",
    route_key: str | None = None,
    domain: str = "127.0.0.1:9",
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload v2) event, built the way the local runtime builds it."""
    from twinbridge_tools.local.events import http_api_event

    if isinstance(body, dict):
        body = json.dumps(body)
    raw = body.encode() if isinstance(body, str) else body
    return http_api_event(
        method, path, query, {"content-type": "application/json", **(headers or {})}, raw,
        route_key=route_key or f"{method} {path}", domain=domain,
    )


def load_event(relative: str) -> dict[str, Any]:
    return json.loads((EVENTS / relative).read_text(encoding="utf-8"))


def provision_webhook_node(monkeypatch, tracker: str = "jira-cloud", credentials: dict | None = None,
                           technical_user: str = "twinbridge-bot") -> str:
    """Inside moto: the sync queue as template.yaml declares it and (unless ``credentials`` is None) the tracker
    secret; the node's environment points at both. Returns the queue URL."""
    import boto3

    from twinbridge.settings import settings
    from twinbridge.wiring import wiring
    from twinbridge_tools.local.template import resource

    spec = resource("SyncQueue")["Properties"]
    queue_url = boto3.client("sqs").create_queue(
        QueueName="twinbridge-test-sync.fifo",
        Attributes={
            "FifoQueue": "true",
            "ContentBasedDeduplication": str(spec["ContentBasedDeduplication"]).lower(),
            "DeduplicationScope": spec["DeduplicationScope"],
            "FifoThroughputLimit": spec["FifoThroughputLimit"],
        },
    )["QueueUrl"]
    monkeypatch.setenv("SYNC_QUEUE_URL", queue_url)
    monkeypatch.setenv("TRACKER_TYPE", tracker)
    monkeypatch.setenv("TECHNICAL_USER", technical_user)
    if credentials is not None:
        arn = boto3.client("secretsmanager").create_secret(
            Name="twinbridge-test/tracker", SecretString=json.dumps(credentials)
        )["ARN"]
        monkeypatch.setenv("TRACKER_SECRET_ARN", arn)
    else:
        monkeypatch.delenv("TRACKER_SECRET_ARN", raising=False)
    settings.cache_clear()
    wiring.cache_clear()
    return queue_url


def queued(queue_url: str) -> list[dict]:
    """Every message on the queue (FIFO: receiving them hides them; each test reads once, at its end)."""
    import boto3

    sqs = boto3.client("sqs")
    messages: list[dict] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)
