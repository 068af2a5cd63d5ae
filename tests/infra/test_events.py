"""Sample events under events/<function>/ are full Lambda events for their function's trigger (`sam local invoke -e`)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model, EventBridgeModel, SqsModel

from tests.support import EVENTS
from twinbridge_tools.local.template import functions, load_template

FUNCTIONS = {Path(spec.code_uri).name: spec for spec in functions()}
EVENT_FILES = sorted(EVENTS.rglob("*.json"))


def _function_for(path: Path):
    folder = path.relative_to(EVENTS).parts[0]
    assert folder in FUNCTIONS, f"events/{folder}/ matches no function directory in template.yaml"
    return FUNCTIONS[folder]


def _check_http_api(event: dict, spec) -> None:
    parsed = APIGatewayProxyEventV2Model.model_validate(event)
    assert parsed.version == "2.0"
    route = next((r for r in spec.routes if r.route_key == parsed.routeKey), None)
    assert route, f"routeKey {parsed.routeKey!r} is not one of {spec.logical_id}'s routes"
    http = event["requestContext"]["http"]
    assert parsed.requestContext.routeKey == parsed.routeKey
    assert http["path"] == parsed.rawPath
    assert route.match(http["method"], parsed.rawPath) == (parsed.pathParameters or {})
    assert all(name == name.lower() for name in parsed.headers), "HTTP APIs deliver lower-case header names"
    iam = parsed.requestContext.authorizer.iam if parsed.requestContext.authorizer else None
    if route.iam_auth:
        assert iam and iam.userArn and iam.accountId, "an AWS_IAM route's event carries requestContext.authorizer.iam"
        assert parsed.headers["authorization"].startswith("AWS4-HMAC-SHA256 ")
    else:
        assert iam is None
    if parsed.body:
        raw = base64.b64decode(parsed.body) if parsed.isBase64Encoded else parsed.body.encode()
        if parsed.headers.get("content-type", "").startswith("application/json"):
            json.loads(raw)
        if "content-length" in parsed.headers:
            assert int(parsed.headers["content-length"]) == len(raw)


def _check_sqs(event: dict, spec) -> None:
    parsed = SqsModel.model_validate(event)
    assert parsed.Records
    (queue,) = spec.queues
    fifo = load_template()["Resources"][queue]["Properties"].get("FifoQueue", False)
    for record in parsed.Records:
        assert record.eventSource == "aws:sqs"
        assert record.eventSourceARN.startswith("arn:aws:sqs:")
        body = json.loads(record.body)
        assert isinstance(body, dict) and body.get("type")
        if fifo:
            assert record.eventSourceARN.endswith(".fifo")
            attributes = record.attributes
            assert attributes.MessageGroupId and attributes.MessageDeduplicationId and attributes.SequenceNumber


def _check_schedule(event: dict, spec) -> None:
    parsed = EventBridgeModel.model_validate(event)
    assert parsed.detail_type == "Scheduled Event"
    triggers = load_template()["Resources"][spec.logical_id]["Properties"]["Events"].values()
    scheduler_v2 = any(trigger["Type"] == "ScheduleV2" for trigger in triggers)
    assert parsed.source == ("aws.scheduler" if scheduler_v2 else "aws.events")


def test_every_function_has_a_sample_event():
    covered = {path.relative_to(EVENTS).parts[0] for path in EVENT_FILES}
    assert covered == set(FUNCTIONS)


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda path: str(path.relative_to(EVENTS)))
def test_every_event_file_parses(path):
    event = json.loads(path.read_text(encoding="utf-8"))
    spec = _function_for(path)
    if spec.routes:
        _check_http_api(event, spec)
    elif spec.queues:
        _check_sqs(event, spec)
    elif spec.schedules:
        _check_schedule(event, spec)
    else:
        pytest.fail(f"{spec.logical_id} has no trigger this test knows")
