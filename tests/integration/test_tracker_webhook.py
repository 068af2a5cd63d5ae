"""Tracker webhooks through the real handler against moto: authenticate, normalize, enqueue once, answer 202."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from tests.support import CORPORA, FakeLambdaContext, http_event, load_event, provision_webhook_node, queued

SECRET = "twinbridge-sample-webhook-secret"  # the secret the sample events under events/tracker_webhook/ use
ADO_USER = "twinbridge-hooks"
JIRA_CLOUD_BODY = (CORPORA / "jira-webhooks/mattermost-plugin-jira/jira-cloud-issue-updated-renamed.json").read_bytes()
JIRA_DC_BODY = (CORPORA / "jira-webhooks/mattermost-plugin-jira/jira-server-issue-updated-closed.json").read_bytes()
ADO_BODY = (
    CORPORA / "ado-webhooks/tfsaggregator/ado-vsts-workitem-updated-resource-details-all-messages-none.json"
).read_bytes()


def _sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _post(tracker: str, body: bytes | str, headers: dict | None = None, query: str = "") -> dict:
    from functions.tracker_webhook.app import lambda_handler

    event = http_event("POST", f"/hooks/{tracker}", body, headers, query=query, route_key="POST /hooks/{tracker}")
    event["pathParameters"] = {"tracker": tracker}
    return lambda_handler(event, FakeLambdaContext(timeout_seconds=10))


def _body(response: dict) -> dict:
    return json.loads(response["body"])


@pytest.fixture
def jira_cloud(aws, monkeypatch):
    return provision_webhook_node(monkeypatch, "jira-cloud", {"webhook_secret": SECRET})


# --------------------------------------------------------------------------------------------------- Jira Cloud


def test_signed_jira_cloud_webhook_is_queued_once_in_the_items_group(jira_cloud, table_snapshot):
    response = _post(
        "jira-cloud",
        JIRA_CLOUD_BODY,
        {"x-hub-signature": _sign(JIRA_CLOUD_BODY), "x-atlassian-webhook-identifier": "delivery-1"},
    )
    assert response["statusCode"] == 202, response["body"]
    signed_id = "jira:sha256:" + hashlib.sha256(b"jira:issue_updated\n" + JIRA_CLOUD_BODY).hexdigest()
    assert _body(response) == {"status": "queued", "delivery_id": signed_id, "kind": "updated", "item": "TES-41"}

    (message,) = queued(jira_cloud)
    assert message["Attributes"]["MessageGroupId"] == "jira-cloud:10040"
    assert message["Attributes"]["MessageDeduplicationId"] == hashlib.sha256(f"jira-cloud:{signed_id}".encode()).hexdigest()
    body = json.loads(message["Body"])
    assert body["type"] == "tracker.change"
    change = body["change"]
    assert (change["item_key"], change["project"], change["kind"], change["delivery_id"]) == (
        "TES-41",
        "TES",
        "updated",
        signed_id,  # the unsigned x-atlassian-webhook-identifier header does not name the delivery
    )
    assert change["instance"] == "https://some-instance-test.atlassian.net"
    assert [c["field"] for c in change["changes"]] == ["summary"]

    (record,) = table_snapshot()  # the idempotency record, expiring through the table's TTL attribute
    assert record["PK"] == "WEBHOOK#DELIVERY" and record["SK"].startswith("webhook-delivery#")
    assert record["status"] == "COMPLETED" and 1e9 < int(record["expires_at"]) < 1e10  # epoch seconds


def test_redelivered_jira_webhook_is_acknowledged_and_not_queued_twice(jira_cloud, table_snapshot):
    headers = {"x-hub-signature": _sign(JIRA_CLOUD_BODY), "x-atlassian-webhook-identifier": "delivery-2"}
    first = _post("jira-cloud", JIRA_CLOUD_BODY, headers)
    again = _post("jira-cloud", JIRA_CLOUD_BODY, headers)
    assert (first["statusCode"], again["statusCode"]) == (202, 202)
    assert _body(first)["status"] == "queued" and _body(again)["status"] == "duplicate"
    assert len(queued(jira_cloud)) == 1
    assert len(table_snapshot()) == 1


def test_a_captured_delivery_replayed_under_a_new_identifier_header_is_still_a_duplicate(jira_cloud):
    signed = {"x-hub-signature": _sign(JIRA_CLOUD_BODY)}
    assert _body(_post("jira-cloud", JIRA_CLOUD_BODY, {**signed, "x-atlassian-webhook-identifier": "a"}))["status"] \
        == "queued"
    replayed = _post("jira-cloud", JIRA_CLOUD_BODY, {**signed, "x-atlassian-webhook-identifier": "forged-new-id"})
    assert _body(replayed)["status"] == "duplicate"
    assert len(queued(jira_cloud)) == 1


def test_redelivery_without_identifier_header_is_recognized_by_the_body_hash(jira_cloud):
    headers = {"x-hub-signature": _sign(JIRA_CLOUD_BODY)}
    assert _body(_post("jira-cloud", JIRA_CLOUD_BODY, headers))["status"] == "queued"
    assert _body(_post("jira-cloud", JIRA_CLOUD_BODY, headers))["status"] == "duplicate"
    assert len(queued(jira_cloud)) == 1


def test_forged_jira_signature_is_refused_and_nothing_is_queued_or_stored(jira_cloud, table_snapshot):
    for signature in ("sha256=" + "0" * 64, _sign(JIRA_CLOUD_BODY, "guessed"), None):
        headers = {"x-hub-signature": signature} if signature else {}
        response = _post("jira-cloud", JIRA_CLOUD_BODY, headers)
        assert response["statusCode"] == 401, response["body"]
        assert _body(response) == {
            "error": "unauthorized",
            "message": "webhook authentication failed: the signature, token or credentials are missing or wrong",
        }
    assert queued(jira_cloud) == [] and table_snapshot() == []


@pytest.mark.parametrize("credentials", [None, {}, {"webhook_username": "x"}])
def test_missing_webhook_secret_fails_closed(aws, monkeypatch, table_snapshot, credentials):
    queue_url = provision_webhook_node(monkeypatch, "jira-cloud", credentials)
    response = _post("jira-cloud", JIRA_CLOUD_BODY, {"x-hub-signature": _sign(JIRA_CLOUD_BODY, "")})
    assert response["statusCode"] == 401, response["body"]
    assert queued(queue_url) == [] and table_snapshot() == []


def test_unreadable_tracker_secret_fails_closed(aws, monkeypatch, table_snapshot):
    queue_url = provision_webhook_node(monkeypatch, "jira-cloud", None)
    monkeypatch.setenv("TRACKER_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:missing-AbCdEf")
    from twinbridge.settings import settings

    settings.cache_clear()
    response = _post("jira-cloud", JIRA_CLOUD_BODY, {"x-hub-signature": _sign(JIRA_CLOUD_BODY, "")})
    assert response["statusCode"] == 401 and queued(queue_url) == [] and table_snapshot() == []


def test_change_by_the_technical_user_is_ignored_and_not_queued(aws, monkeypatch, table_snapshot, caplog):
    queue_url = provision_webhook_node(
        monkeypatch, "jira-cloud", {"webhook_secret": SECRET}, technical_user="Some-Instance-Test@gmail.com"
    )  # the actor's email
    response = _post("jira-cloud", JIRA_CLOUD_BODY, {"x-hub-signature": _sign(JIRA_CLOUD_BODY)})
    assert response["statusCode"] == 202, response["body"]
    assert _body(response) == {"status": "ignored", "reason": "technical user"}
    assert "webhook ignored: made by the technical user" in caplog.messages
    assert queued(queue_url) == [] and table_snapshot() == []


def test_failed_enqueue_is_a_500_and_leaves_no_record_so_the_retry_is_processed(
    jira_cloud, monkeypatch, table_snapshot
):
    from twinbridge.settings import settings
    from twinbridge.wiring import wiring

    headers = {"x-hub-signature": _sign(JIRA_CLOUD_BODY), "x-atlassian-webhook-identifier": "delivery-3"}
    monkeypatch.setenv("SYNC_QUEUE_URL", jira_cloud.replace("twinbridge-test-sync", "no-such-queue"))
    settings.cache_clear()
    wiring.cache_clear()
    response = _post("jira-cloud", JIRA_CLOUD_BODY, headers)
    assert response["statusCode"] == 500 and table_snapshot() == []  # the tracker retries

    monkeypatch.setenv("SYNC_QUEUE_URL", jira_cloud)
    settings.cache_clear()
    wiring.cache_clear()
    assert _body(_post("jira-cloud", JIRA_CLOUD_BODY, headers))["status"] == "queued"
    assert len(queued(jira_cloud)) == 1


def test_webhook_for_another_tracker_type_is_404_with_the_right_path(jira_cloud):
    response = _post("azure-devops", ADO_BODY, {"authorization": _basic(ADO_USER, SECRET)})
    assert response["statusCode"] == 404
    assert "/hooks/jira-cloud" in _body(response)["message"]
    assert queued(jira_cloud) == []


def test_oversized_body_is_413(jira_cloud):
    body = b'{"webhookEvent":"jira:issue_updated","pad":"' + b"x" * (1024 * 1024) + b'"}'
    response = _post("jira-cloud", body, {"x-hub-signature": _sign(body)})
    assert response["statusCode"] == 413, response["body"]
    assert _body(response)["error"] == "payload_too_large" and "at most 1048576" in _body(response)["message"]
    assert queued(jira_cloud) == []


def test_signed_non_json_is_400(jira_cloud, table_snapshot):
    body = b"<xml>not json</xml>"
    response = _post("jira-cloud", body, {"x-hub-signature": _sign(body), "content-type": "text/xml"})
    assert response["statusCode"] == 400
    assert "not valid JSON" in _body(response)["message"]
    assert queued(jira_cloud) == [] and table_snapshot() == []


def test_signed_json_that_is_not_a_jira_event_is_400_saying_what_was_expected(jira_cloud, table_snapshot):
    body = (CORPORA / "jira-webhooks/rest-api-responses/jira-server-rest-v2-comment.json").read_bytes()
    response = _post("jira-cloud", body, {"x-hub-signature": _sign(body)})
    assert response["statusCode"] == 400
    assert _body(response)["error"] == "not_a_tracker_event"
    assert "expected a Jira webhook event" in _body(response)["message"]
    assert queued(jira_cloud) == [] and table_snapshot() == []


def test_unauthenticated_garbage_is_401_not_400(jira_cloud):
    assert _post("jira-cloud", b"not json", {})["statusCode"] == 401


# --------------------------------------------------------------------------------------------------- Jira DC


@pytest.fixture
def jira_dc(aws, monkeypatch):
    return provision_webhook_node(monkeypatch, "jira-dc", {"pat": "x", "webhook_secret": SECRET})


@pytest.mark.parametrize("where", ["query", "header"])
def test_jira_dc_webhook_with_the_node_token_is_queued(jira_dc, where):
    headers, query = ({}, f"token={SECRET}") if where == "query" else ({"x-twinbridge-token": SECRET}, "")
    response = _post("jira-dc", JIRA_DC_BODY, headers, query=query)
    assert response["statusCode"] == 202, response["body"]
    (message,) = queued(jira_dc)
    assert message["Attributes"]["MessageGroupId"] == "jira-dc:10300"
    assert json.loads(message["Body"])["change"]["item_key"] == "TES-4"


@pytest.mark.parametrize(
    "headers, query",
    [
        ({}, ""),
        ({}, "token=wrong"),
        ({"x-twinbridge-token": "wrong"}, ""),
        ({"x-hub-signature": _sign(JIRA_DC_BODY)}, ""),
    ],
)
def test_jira_dc_webhook_without_the_right_token_is_refused(jira_dc, table_snapshot, headers, query):
    response = _post("jira-dc", JIRA_DC_BODY, headers, query=query)
    assert response["statusCode"] == 401
    assert queued(jira_dc) == [] and table_snapshot() == []


# --------------------------------------------------------------------------------------------------- Azure DevOps


@pytest.fixture
def ado(aws, monkeypatch):
    return provision_webhook_node(
        monkeypatch, "azure-devops", {"pat": "x", "webhook_secret": SECRET, "webhook_username": ADO_USER}
    )


def test_ado_service_hook_with_basic_auth_is_queued_by_work_item(ado):
    response = _post("azure-devops", ADO_BODY, {"authorization": _basic(ADO_USER, SECRET)})
    assert response["statusCode"] == 202, response["body"]
    (message,) = queued(ado)
    assert message["Attributes"]["MessageGroupId"] == "azure-devops:12"
    change = json.loads(message["Body"])["change"]
    assert change["delivery_id"] == "e6812110-770b-41f9-b853-7421ca3cd4ad"
    assert change["project"] == "WorkItemTracking" and change["instance"] == "https://giuliovaad.visualstudio.com"


def test_ado_service_hook_with_the_custom_header_is_queued(ado):
    assert _post("azure-devops", ADO_BODY, {"x-twinbridge-token": SECRET})["statusCode"] == 202
    assert len(queued(ado)) == 1


@pytest.mark.parametrize("authorization", [_basic(ADO_USER, "wrong"), _basic("someone", SECRET), None])
def test_ado_service_hook_with_wrong_basic_auth_is_refused(ado, table_snapshot, authorization):
    response = _post("azure-devops", ADO_BODY, {"authorization": authorization} if authorization else {})
    assert response["statusCode"] == 401
    assert queued(ado) == [] and table_snapshot() == []


def test_ado_event_type_not_synced_is_acknowledged_as_ignored_naming_the_synced_ones(ado):
    """A genuine event we do not sync gets a 202, so Azure DevOps does not put the subscription on probation."""
    body = (CORPORA / "ado-webhooks/aspnet-webhooks-vsts/ado-invalid-bad.notMappedEventType.json").read_bytes()
    response = _post("azure-devops", body, {"authorization": _basic(ADO_USER, SECRET)})
    assert response["statusCode"] == 202
    assert _body(response)["status"] == "ignored" and "workitem.updated" in _body(response)["reason"]
    assert queued(ado) == []


def test_ado_technical_user_by_unique_name_is_ignored(aws, monkeypatch):
    queue_url = provision_webhook_node(
        monkeypatch, "azure-devops", {"webhook_secret": SECRET}, technical_user="GIULIO.DEV@casavian.eu"
    )
    response = _post("azure-devops", ADO_BODY, {"x-twinbridge-token": SECRET})
    assert _body(response) == {"status": "ignored", "reason": "technical user"}
    assert queued(queue_url) == []


# --------------------------------------------------------------------------------------------------- sample events


@pytest.mark.parametrize(
    "name, tracker, group",
    [
        ("jira-cloud-issue-updated.json", "jira-cloud", "jira-cloud:10042"),
        ("jira-dc-issue-commented.json", "jira-dc", "jira-dc:21877"),
        ("azure-devops-workitem-updated.json", "azure-devops", "azure-devops:1207"),
    ],
)
def test_sample_events_are_authentic_for_the_sample_secret(aws, monkeypatch, name, tracker, group):
    queue_url = provision_webhook_node(monkeypatch, tracker, {"webhook_secret": SECRET, "webhook_username": ADO_USER})
    from functions.tracker_webhook.app import lambda_handler

    response = lambda_handler(load_event(f"tracker_webhook/{name}"), FakeLambdaContext(timeout_seconds=10))
    assert response["statusCode"] == 202, response["body"]
    (message,) = queued(queue_url)
    assert message["Attributes"]["MessageGroupId"] == group


def test_delivery_naming_nobody_is_queued_and_counted_as_unattributed(aws, monkeypatch, capsys):
    """The technical-user guard cannot fire without an actor: the change is still synced (the echo guards stop our
    own writes) and a WebhookWithoutActor metric says how often the guard was blind."""
    queue_url = provision_webhook_node(
        monkeypatch, "jira-cloud", {"webhook_secret": SECRET}, technical_user="Some-Instance-Test@gmail.com"
    )
    payload = json.loads(JIRA_CLOUD_BODY)
    del payload["user"]
    body = json.dumps(payload).encode()
    response = _post("jira-cloud", body, {"x-hub-signature": _sign(body)})
    assert response["statusCode"] == 202, response["body"]
    assert _body(response)["status"] == "queued" and _body(response)["actor"] == "unknown"
    assert len(queued(queue_url)) == 1
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    metrics = {m["Name"] for e in emitted for d in e["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"WebhookQueued", "WebhookWithoutActor"} <= metrics


def test_delivery_with_a_known_actor_is_not_counted_as_unattributed(jira_cloud, capsys):
    response = _post("jira-cloud", JIRA_CLOUD_BODY, {"x-hub-signature": _sign(JIRA_CLOUD_BODY)})
    assert response["statusCode"] == 202 and "actor" not in _body(response)
    assert "WebhookWithoutActor" not in capsys.readouterr().out
