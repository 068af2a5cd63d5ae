"""Each sample event under events/ goes through its real handler against moto: what `sam local invoke -e` would show."""

from __future__ import annotations

import json

from tests.support import FakeLambdaContext, load_event


def _body(response: dict) -> dict:
    return json.loads(response["body"])


def test_list_connections_event_on_an_empty_node_lists_none(aws):
    from functions.admin_api.app import lambda_handler

    response = lambda_handler(load_event("admin_api/list-connections.json"), FakeLambdaContext(timeout_seconds=29))
    assert response["statusCode"] == 200, response["body"]
    assert _body(response) == {"connections": []}


def test_initiate_invitation_event_creates_a_pending_connection_and_code(aws):
    from functions.admin_api.app import lambda_handler

    response = lambda_handler(load_event("admin_api/initiate-invitation.json"), FakeLambdaContext(timeout_seconds=29))
    assert response["statusCode"] == 201, response["body"]
    body = _body(response)
    assert body["invitation_code"].startswith("tbinv1.")
    assert body["connection"]["local_short_name"] == "acme" and body["connection"]["remote_short_name"] == "beta"


def test_jira_cloud_webhook_event_signed_with_the_sample_secret_is_queued_once(aws, monkeypatch, table_snapshot):
    from functions.tracker_webhook.app import lambda_handler
    from tests.integration.test_tracker_webhook import SECRET, provision_webhook_node, queued

    queue_url = provision_webhook_node(monkeypatch, "jira-cloud", {"webhook_secret": SECRET})
    event = load_event("tracker_webhook/jira-cloud-issue-updated.json")
    response = lambda_handler(event, FakeLambdaContext(timeout_seconds=10))
    assert response["statusCode"] == 202, response["body"]
    body = _body(response)
    assert (body["status"], body["kind"], body["item"]) == ("queued", "updated", "OPS-42")
    assert body["delivery_id"].startswith("jira:sha256:")  # named by the signed body, not the unsigned header
    (message,) = queued(queue_url)
    assert message["Attributes"]["MessageGroupId"] == "jira-cloud:10042"
    assert [item["SK"].split("#")[0] for item in table_snapshot()] == ["webhook-delivery"]


def test_jira_cloud_webhook_event_on_a_node_without_webhook_secret_is_refused_and_nothing_is_stored(
    aws, monkeypatch, table_snapshot
):
    from functions.tracker_webhook.app import lambda_handler
    from tests.integration.test_tracker_webhook import provision_webhook_node, queued

    queue_url = provision_webhook_node(monkeypatch, "jira-cloud", credentials=None)
    response = lambda_handler(
        load_event("tracker_webhook/jira-cloud-issue-updated.json"), FakeLambdaContext(timeout_seconds=10)
    )
    assert response["statusCode"] == 401, response["body"]
    assert _body(response)["error"] == "unauthorized"
    assert queued(queue_url) == [] and table_snapshot() == []


def test_ping_event_with_placeholder_signature_is_refused_and_nothing_is_stored(aws, table_snapshot):
    from functions.peer_api.app import lambda_handler

    response = lambda_handler(load_event("peer_api/ping.json"), FakeLambdaContext(timeout_seconds=29))
    assert response["statusCode"] == 401, response["body"]
    assert _body(response)["message"] == "request authentication failed"
    assert table_snapshot() == []


def test_deliver_event_for_an_unknown_connection_is_dropped_not_retried(aws, table_snapshot, caplog):
    from functions.sync_worker.app import lambda_handler

    response = lambda_handler(load_event("sync_worker/deliver-outbox.json"), FakeLambdaContext(timeout_seconds=120))
    assert response == {"batchItemFailures": []}
    assert "delivery dropped: the connection was deleted" in caplog.messages
    assert table_snapshot() == []


def test_scheduled_event_on_a_public_node_scans_once_and_summarizes(aws):
    from functions.poller.app import lambda_handler

    summary = lambda_handler(load_event("poller/scheduled.json"), FakeLambdaContext(timeout_seconds=75))
    assert summary == {
        "connections_polled": 0,
        "messages_applied": 0,
        "handshakes_completed": 0,
        "changes_queued": 0,
        "errors": 0,
    }
