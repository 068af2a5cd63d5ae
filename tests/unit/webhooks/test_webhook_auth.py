"""Webhook authentication: HMAC over the raw bytes, tokens and basic auth in constant time, failing closed."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from twinbridge.errors import NotFoundError, PayloadTooLargeError, WebhookAuthenticationError
from twinbridge.http.errors import status_for
from twinbridge.http.webhook_auth import (
    MAX_WEBHOOK_BYTES,
    WebhookRequest,
    check_basic_auth,
    check_hub_signature,
    check_token,
    check_tracker_path,
    read_webhook,
    verify_webhook,
)
from twinbridge.store.keys import WEBHOOK_DELIVERY_PK
from twinbridge.trackers.credentials import TrackerCredentials
from twinbridge_tools.local.template import resource

SECRET = "s3cret-webhook-value"
BODY = b'{"webhookEvent":"jira:issue_updated","timestamp":1}'


def _sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _creds(**kwargs) -> TrackerCredentials:
    return TrackerCredentials(**{"webhook_secret": SECRET, **kwargs})


def _request(
    tracker: str, headers: dict | None = None, query: dict | None = None, body: bytes = BODY
) -> WebhookRequest:
    return WebhookRequest(tracker=tracker, body=body, headers=headers or {}, query=query or {})


def test_valid_hub_signature_over_the_raw_bytes_passes():
    check_hub_signature(BODY, _sign(BODY), SECRET.encode())
    check_hub_signature(BODY, _sign(BODY).upper().replace("SHA256=", "sha256="), SECRET.encode())  # hex case


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha1=" + "0" * 40,
        "sha256=" + "0" * 64,
        _sign(BODY, "other-secret"),
        _sign(BODY + b" "),
        _sign(BODY)[:-1],
    ],
)
def test_wrong_or_missing_hub_signature_is_refused(header):
    with pytest.raises(WebhookAuthenticationError) as caught:
        check_hub_signature(BODY, header, SECRET.encode())
    assert status_for(caught.value) == 401


def test_signature_of_reserialized_json_does_not_pass():
    import json

    reserialized = json.dumps(json.loads(BODY)).encode()
    with pytest.raises(WebhookAuthenticationError):
        check_hub_signature(BODY, _sign(reserialized), SECRET.encode())


def test_no_secret_fails_closed_everywhere():
    for check in (
        lambda: check_hub_signature(BODY, _sign(BODY, ""), b""),
        lambda: check_token("", b""),
        lambda: check_basic_auth(_basic("u", ""), None, b""),
    ):
        with pytest.raises(WebhookAuthenticationError) as caught:
            check()
        assert caught.value.reason == "no webhook secret configured"


@pytest.mark.parametrize("credentials", [None, TrackerCredentials(), TrackerCredentials(webhook_secret="")])
@pytest.mark.parametrize("tracker", ["jira-cloud", "jira-dc", "azure-devops"])
def test_unconfigured_webhook_secret_refuses_even_a_matching_empty_proof(tracker, credentials):
    request = _request(
        tracker,
        headers={"x-hub-signature": _sign(BODY, ""), "x-twinbridge-token": "", "authorization": _basic("", "")},
        query={"token": [""]},
    )
    with pytest.raises(WebhookAuthenticationError) as caught:
        verify_webhook(request, credentials)
    assert caught.value.message == WebhookAuthenticationError.PUBLIC_MESSAGE  # generic: says not which part failed
    assert "secret" in caught.value.reason


def test_jira_dc_token_in_query_or_header_passes():
    verify_webhook(_request("jira-dc", query={"token": [SECRET]}), _creds())
    verify_webhook(_request("jira-dc", headers={"x-twinbridge-token": SECRET}), _creds())


@pytest.mark.parametrize(
    "headers, query",
    [
        ({}, {}),
        ({}, {"token": ["wrong"]}),
        ({"x-twinbridge-token": "wrong"}, {}),
        ({}, {"token": [SECRET, SECRET]}),
        ({}, {"token": [SECRET[:-1]]}),
        ({"x-hub-signature": _sign(BODY)}, {}),
    ],
)
def test_jira_dc_wrong_missing_or_repeated_token_is_refused(headers, query):
    with pytest.raises(WebhookAuthenticationError):
        verify_webhook(_request("jira-dc", headers=headers, query=query), _creds())


def test_jira_cloud_accepts_only_the_signature_not_a_token():
    verify_webhook(_request("jira-cloud", headers={"x-hub-signature": _sign(BODY)}), _creds())
    with pytest.raises(WebhookAuthenticationError):
        verify_webhook(
            _request("jira-cloud", headers={"x-twinbridge-token": SECRET}, query={"token": [SECRET]}), _creds()
        )


def test_ado_basic_auth_checks_user_and_password():
    verify_webhook(
        _request("azure-devops", headers={"authorization": _basic("hooks", SECRET)}), _creds(webhook_username="hooks")
    )
    for user, password in (("hooks", "wrong"), ("other", SECRET), ("", SECRET)):
        with pytest.raises(WebhookAuthenticationError):
            verify_webhook(
                _request("azure-devops", headers={"authorization": _basic(user, password)}),
                _creds(webhook_username="hooks"),
            )


def test_ado_basic_auth_without_configured_user_name_checks_the_password_only():
    verify_webhook(_request("azure-devops", headers={"authorization": _basic("anyone", SECRET)}), _creds())
    with pytest.raises(WebhookAuthenticationError):
        verify_webhook(_request("azure-devops", headers={"authorization": _basic("anyone", "nope")}), _creds())


@pytest.mark.parametrize(
    "authorization", ["Bearer " + SECRET, "Basic !!!notbase64", "Basic " + base64.b64encode(SECRET.encode()).decode()]
)
def test_ado_malformed_authorization_is_refused(authorization):
    with pytest.raises(WebhookAuthenticationError):
        verify_webhook(_request("azure-devops", headers={"authorization": authorization}), _creds())


def test_ado_custom_header_token_passes_and_a_wrong_one_is_not_rescued_by_basic_auth():
    verify_webhook(_request("azure-devops", headers={"x-twinbridge-token": SECRET}), _creds())
    with pytest.raises(WebhookAuthenticationError):
        verify_webhook(
            _request("azure-devops", headers={"x-twinbridge-token": "wrong", "authorization": _basic("u", SECRET)}),
            _creds(),
        )


def test_path_must_name_the_nodes_tracker():
    check_tracker_path("jira-cloud", "jira-cloud")
    for tracker in ("jira-dc", "github", "x" * 300):
        with pytest.raises(NotFoundError) as caught:
            check_tracker_path(tracker, "jira-cloud")
        assert "/hooks/jira-cloud" in caught.value.message or "expected one of" in caught.value.message
        assert len(caught.value.message) < 200


class _Event:
    def __init__(self, body, encoded=False, headers=None, query=""):
        self.body, self.is_base64_encoded, self.headers = body, encoded, headers or {}
        self.raw_event = {"rawQueryString": query}


def test_read_webhook_keeps_raw_bytes_lowercases_headers_and_parses_the_query():
    request = read_webhook(
        _Event(base64.b64encode(b"\x00raw").decode(), True, {"X-Hub-Signature": "s"}, "token=a%2Bb"), "jira-dc"
    )
    assert (
        request.body == b"\x00raw"
        and request.headers == {"x-hub-signature": "s"}
        and request.query == {"token": ["a+b"]}
    )


def test_oversized_body_is_refused_as_too_large():
    read_webhook(_Event("x" * MAX_WEBHOOK_BYTES), "jira-cloud")
    with pytest.raises(PayloadTooLargeError) as caught:
        read_webhook(_Event("x" * (MAX_WEBHOOK_BYTES + 1)), "jira-cloud")
    assert "too large" in caught.value.message


def test_template_lets_the_webhook_function_write_only_the_delivery_partition():
    policies = resource("TrackerWebhookFunction")["Properties"]["Policies"]
    statements = [s for p in policies if isinstance(p, dict) for s in p.get("Statement", [])]
    (table,) = [s for s in statements if any(a.startswith("dynamodb:") for a in s["Action"])]
    assert table["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [WEBHOOK_DELIVERY_PK]}}
    assert not any("DynamoDBCrudPolicy" in p for p in policies if isinstance(p, dict))
