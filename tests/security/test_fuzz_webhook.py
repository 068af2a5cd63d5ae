"""Fuzz POST /hooks/{tracker} for each tracker kind: deliveries from anyone (random credentials headers) and
correctly authenticated deliveries with hostile bodies (the parsers run only after authentication). No 5xx, no
trace, on time, JSON errors; a refused delivery stores and queues nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.security.fuzz_support import (
    ENCODINGS,
    FUZZ,
    MAX_BODY,
    SPECIAL_BODIES,
    WEBHOOK_HEADERS,
    _json_values,
    check,
    event,
    header_mixes,
    invoke,
)
from tests.support import load_event, provision_webhook_node, queued

SECRET = "twinbridge-sample-webhook-secret"
TRACKERS = ["jira-cloud", "jira-dc", "azure-devops"]
SAMPLES = {
    "jira-cloud": "tracker_webhook/jira-cloud-issue-updated.json",
    "jira-dc": "tracker_webhook/jira-dc-issue-commented.json",
    "azure-devops": "tracker_webhook/azure-devops-workitem-updated.json",
}


def sample_body(tracker: str) -> dict:
    sample = load_event(SAMPLES[tracker])
    raw = base64.b64decode(sample["body"]) if sample.get("isBase64Encoded") else sample["body"].encode()
    return json.loads(raw)


def credentials_for(tracker: str, body: bytes) -> dict[str, str]:
    """Headers that authenticate a delivery of ``body`` to a node whose webhook secret is SECRET."""
    if tracker == "jira-cloud":
        return {"x-hub-signature": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}
    return {"x-twinbridge-token": SECRET}


def _mutations(payload: dict) -> st.SearchStrategy[dict]:
    """The tracker's own sample with one top-level field replaced by random JSON, or dropped."""
    keys = sorted(payload)
    replaced = st.tuples(st.sampled_from(keys), _json_values).map(lambda kv: {**payload, kv[0]: kv[1]})
    dropped = st.sampled_from(keys).map(lambda key: {k: v for k, v in payload.items() if k != key})
    return st.one_of(replaced, dropped, st.just(payload))


def webhook_bodies(tracker: str) -> st.SearchStrategy[bytes]:
    return st.one_of(
        _mutations(sample_body(tracker)).map(lambda value: json.dumps(value).encode()),
        _json_values.map(lambda value: json.dumps(value).encode()),
        st.binary(max_size=256),
        st.sampled_from(sorted(SPECIAL_BODIES.values())),
    )


@pytest.fixture(params=TRACKERS)
def webhook_node(request, aws, monkeypatch) -> tuple[str, str]:
    """(tracker, queue URL) of a node attached to that tracker, with a webhook secret configured."""
    return request.param, provision_webhook_node(monkeypatch, request.param, {"webhook_secret": SECRET})


def test_unauthenticated_deliveries_are_refused_and_nothing_is_stored_or_queued(
    webhook_node, lambda_context, table_snapshot
):
    from functions.tracker_webhook.app import lambda_handler

    tracker, queue_url = webhook_node
    before = table_snapshot()

    @FUZZ
    @given(
        body=webhook_bodies(tracker),
        headers=header_mixes(WEBHOOK_HEADERS),
        path=st.sampled_from([f"/hooks/{t}" for t in TRACKERS] + ["/hooks/" + "x" * 300, "/hooks/%00"]),
        encoding=st.sampled_from(ENCODINGS),
        query=st.sampled_from(["", "token=wrong", "token=a&token=b", f"token={SECRET[:-1]}"]),
    )
    def attempt(body: bytes, headers: dict, path: str, encoding: str, query: str) -> None:
        built = event("POST", path, body, headers, query=query, encoding=encoding)
        reply = invoke(lambda_handler, built, lambda_context)
        check(reply, None, f"{path} {encoding} {body[:60]!r}")
        assert reply.status in (400, 401, 404, 413), reply.text
        assert table_snapshot() == before

    attempt()
    assert queued(queue_url) == []


def test_authenticated_deliveries_with_hostile_bodies_never_fail_the_node(
    webhook_node, lambda_context, table_snapshot
):
    from functions.tracker_webhook.app import lambda_handler

    tracker, _ = webhook_node

    @FUZZ
    @given(body=webhook_bodies(tracker), base64=st.booleans())
    def attempt(body: bytes, base64: bool) -> None:
        before = table_snapshot()
        headers = {"content-type": "application/json", **credentials_for(tracker, body)}
        built = event("POST", f"/hooks/{tracker}", body, headers, encoding="base64" if base64 else "as-built")
        reply = invoke(lambda_handler, built, lambda_context)
        check(reply, None, f"{tracker} {body[:60]!r}")
        assert reply.status in (202, 400, 409, 413), reply.text
        if reply.status >= 400:
            assert table_snapshot() == before, reply.text

    attempt()


@pytest.mark.parametrize("size", [MAX_BODY, MAX_BODY + 1, 6 * MAX_BODY], ids=["1MiB", "1MiB+1", "6MiB"])
def test_huge_deliveries_are_refused_quickly(webhook_node, lambda_context, table_snapshot, size):
    from functions.tracker_webhook.app import lambda_handler

    tracker, _ = webhook_node
    body = b'{"webhookEvent": "' + b"a" * (size - 20) + b'"}'
    assert len(body) == size
    before = table_snapshot()
    for encoding in ("as-built", "base64"):
        headers = credentials_for(tracker, body)
        reply = invoke(lambda_handler, event("POST", f"/hooks/{tracker}", body, headers, encoding=encoding),
                       lambda_context)
        check(reply, None, f"{size} bytes {encoding}")
        assert reply.status in ((413,) if size > MAX_BODY else (202, 400)), reply.text  # 202: an event not synced
    assert table_snapshot() == before
