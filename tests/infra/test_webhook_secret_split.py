"""The webhook function works on exactly what template.yaml gives it: the webhook secret (WEBHOOK_SECRET_ARN) and
never the tracker secret; the webhook secret wins over the webhook fields of an older combined tracker secret, and a
tracker secret passed off as the webhook secret is refused (fail closed, field names logged, values never)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os

from tests.infra.stack_rules import environment
from tests.support import CORPORA, FakeLambdaContext, http_event, provision_webhook_node, queued
from twinbridge_tools.local.template import load_template

SECRET = "webhook-secret-of-its-own-0123456789"
OLD_SECRET = "webhook-secret-in-the-tracker-secret-0123"
TOKEN = "tracker-api-token-never-logged-0123456789"
BODY = (CORPORA / "jira-webhooks/mattermost-plugin-jira/jira-cloud-issue-updated-renamed.json").read_bytes()


def _post(secret: str, delivery: str = "delivery-1") -> dict:
    from functions.tracker_webhook.app import lambda_handler

    signature = "sha256=" + hmac.new(secret.encode(), BODY, hashlib.sha256).hexdigest()
    headers = {"x-hub-signature": signature, "x-atlassian-webhook-identifier": delivery}
    event = http_event("POST", "/hooks/jira-cloud", BODY, headers, route_key="POST /hooks/{tracker}")
    event["pathParameters"] = {"tracker": "jira-cloud"}
    return lambda_handler(event, FakeLambdaContext(timeout_seconds=10))


def _webhook_secret(monkeypatch, document: dict) -> None:
    import boto3

    from twinbridge.settings import settings
    from twinbridge.wiring import wiring

    arn = boto3.client("secretsmanager").create_secret(Name="twinbridge-test/webhook", SecretString=json.dumps(document))[
        "ARN"
    ]
    monkeypatch.setenv("WEBHOOK_SECRET_ARN", arn)
    settings.cache_clear()
    wiring.cache_clear()


def test_deliveries_are_accepted_with_the_webhook_secret_alone(aws, monkeypatch):
    queue_url = provision_webhook_node(monkeypatch, "jira-cloud", None)  # no TRACKER_SECRET_ARN, as deployed
    _webhook_secret(monkeypatch, {"webhook_secret": SECRET})
    deployed = environment(load_template(), "TrackerWebhookFunction")
    assert "TRACKER_SECRET_ARN" not in deployed and "TRACKER_SECRET_ARN" not in os.environ

    response = _post(SECRET)

    assert response["statusCode"] == 202, response["body"]
    assert len(queued(queue_url)) == 1


def test_the_webhook_secret_wins_over_the_webhook_fields_of_the_tracker_secret(aws, monkeypatch):
    queue_url = provision_webhook_node(monkeypatch, "jira-cloud", {"pat": TOKEN, "webhook_secret": OLD_SECRET})
    _webhook_secret(monkeypatch, {"webhook_secret": SECRET})

    refused, accepted = _post(OLD_SECRET, "delivery-old"), _post(SECRET, "delivery-new")

    assert (refused["statusCode"], accepted["statusCode"]) == (401, 202), (refused["body"], accepted["body"])
    assert len(queued(queue_url)) == 1


def test_a_tracker_secret_given_as_the_webhook_secret_refuses_every_delivery(aws, monkeypatch, caplog):
    queue_url = provision_webhook_node(monkeypatch, "jira-cloud", None)
    _webhook_secret(monkeypatch, {"email": "bot@acme.example", "api_token": TOKEN, "webhook_secret": SECRET})

    response = _post(SECRET)

    assert response["statusCode"] == 401 and queued(queue_url) == []
    (record,) = [r for r in caplog.records if r.getMessage() == "webhook secret could not be read; refusing webhooks"]
    assert record.fields == ["api_token", "email"]  # says which fields do not belong, by name
    logged = json.dumps({key: str(value) for key, value in vars(record).items()})
    assert TOKEN not in logged and SECRET not in logged


def test_an_empty_webhook_secret_refuses_every_delivery(aws, monkeypatch):
    queue_url = provision_webhook_node(monkeypatch, "jira-cloud", {"webhook_secret": SECRET})  # not the fallback
    _webhook_secret(monkeypatch, {})

    response = _post(SECRET)

    assert response["statusCode"] == 401 and queued(queue_url) == []
