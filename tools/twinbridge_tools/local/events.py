"""Build Lambda events exactly as AWS shapes them: API Gateway HTTP API v2, SQS, EventBridge schedules."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import time
import uuid
from typing import Any

ACCOUNT = "000000000000"
REGION = "eu-west-1"


def http_api_event(
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes | None,
    *,
    route_key: str,
    path_parameters: dict[str, str] | None = None,
    domain: str = "127.0.0.1",
    source_ip: str = "127.0.0.1",
    iam_caller: str | None = None,
) -> dict[str, Any]:
    """An HTTP API payload v2 event. Text bodies are passed as-is, binary ones base64-encoded, as AWS does."""
    now = time.time()
    text: str | None = None
    encoded = False
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode("ascii"), True
    lowered = {name.lower(): value for name, value in headers.items()}
    context: dict[str, Any] = {
        "accountId": ACCOUNT,
        "apiId": "local",
        "domainName": domain,
        "domainPrefix": domain.split(".")[0],
        "http": {
            "method": method.upper(),
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": lowered.get("user-agent", ""),
        },
        "requestId": uuid.uuid4().hex,
        "routeKey": route_key,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if iam_caller:
        context["authentication"] = {"iam": {"accountId": ACCOUNT, "userArn": iam_caller, "userId": "local"}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowered,
        "requestContext": context,
        "isBase64Encoded": encoded,
    }
    if text is not None:
        event["body"] = text
    if path_parameters:
        event["pathParameters"] = path_parameters
    if query:
        from urllib.parse import parse_qsl

        event["queryStringParameters"] = {k: v for k, v in parse_qsl(query, keep_blank_values=True)}
    return event


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """Records as the SQS event source mapping delivers them (``messages`` from ReceiveMessage)."""
    records = []
    for message in messages:
        attributes = dict(message.get("Attributes", {}))
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": attributes,
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


def scheduled_event(rule_arn: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": ACCOUNT,
        "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [rule_arn],
        "detail": {},
    }
