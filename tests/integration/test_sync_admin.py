"""The sync admin API (status, errors, retry) through the real admin handler, with twins set up in moto's table."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from tests.support import http_event, provision_webhook_node, queued

AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _admin(lambda_context, method: str, path: str, body: dict | None = None, **query: str) -> tuple[int, dict]:
    from functions.admin_api.app import lambda_handler

    response = lambda_handler(http_event(method, path, body, query=urlencode(query)), lambda_context)
    return response["statusCode"], json.loads(response["body"])


def _connection(deps, name: str = "Acme", local: str = "acme", remote: str = "beta"):
    from twinbridge.models.admin import ManualConnectionRequest
    from twinbridge.peers.keys import new_manual_key
    from twinbridge.services import connections

    return connections.add_manual(deps, ManualConnectionRequest(
        name=name, local_short_name=local, remote_short_name=remote, project="ACME",
        local_key=new_manual_key(), remote_key=new_manual_key(), remote_url=f"http://127.0.0.1:1/{remote}",
    ))


def _replica_message(twin_id: str, seq: int, key: str = "BETA-7"):
    from twinbridge.models.replica import ItemIdentity, Replica, ReplicaMessage

    return ReplicaMessage(twin_id=twin_id, seq=seq, origin="beta", replica=Replica(
        item=ItemIdentity(id="70", key=key, url=f"https://beta.example/{key}"),
        project="BETA", type="Bug", summary="Printer on fire", updated=AT))


def _twin(deps, conn_id: str, twin_id: str, *, local: tuple[str, str] | None = ("10012", "ACME-12"),
          pending_seq: int | None = None, error: str | None = None, direction: str = "incoming", **fields):
    from twinbridge.models.replica import ItemIdentity
    from twinbridge.models.twin import Twin, TwinError

    twin = Twin(
        connection_id=conn_id,
        twin_id=twin_id,
        origin=fields.pop("origin", "local"),
        local=ItemIdentity(id=local[0], key=local[1], url=f"https://acme.atlassian.net/browse/{local[1]}")
        if local
        else None,
        remote=ItemIdentity(id="70", key="BETA-7", url="https://beta.example/BETA-7"),
        last_error=TwinError(direction=direction, reason=error, at=AT, attempts=3) if error else None,
        **fields,
    )
    if pending_seq:
        deps.twins.hold(conn_id, _replica_message(twin_id, pending_seq))
    return deps.twins.save(twin)


@pytest.fixture
def queue_url(table, monkeypatch):
    """A node with the sync queue (in moto) and no tracker secret."""
    return provision_webhook_node(monkeypatch, credentials=None)


def _bodies(queue_url: str) -> list[dict]:
    return [json.loads(message["Body"]) for message in queued(queue_url)]


def test_summary_counts_twins_errors_pending_and_backlog_per_connection(deps, lambda_context):
    acme, other = _connection(deps), _connection(deps, "Other", "acme2", "gamma")
    _twin(deps, acme.id, "acme:10012", last_sent_at=AT)
    _twin(deps, acme.id, "beta:70", local=None, origin="remote", pending_seq=2, error="create refused")
    _twin(deps, acme.id, "acme:10013", local=("10013", "ACME-13"), pending_seq=1)
    deps.outbox.append(acme.id, "note", {"text": "hello"})

    status, body = _admin(lambda_context, "GET", "/admin/v1/sync/summary")

    assert status == 200, body
    rows = {row["connection_id"]: row for row in body["connections"]}
    assert rows[acme.id] == {
        "connection_id": acme.id,
        "name": "Acme",
        "status": "active",
        "twins": 3,
        "with_errors": 1,
        "pending": 2,
        "queued_for_partner": 1,
        "queued_for_partner_more": False,
    }
    assert rows[other.id]["twins"] == 0


def test_status_by_local_key_shows_both_sides_sequences_pending_and_error(deps, lambda_context):
    conn = _connection(deps)
    _twin(
        deps,
        conn.id,
        "acme:10012",
        pending_seq=5,
        error="Jira answered 400: priority is required",
        out_seq=4,
        in_seq=4,
        last_sent_at=AT,
        last_received_at=AT,
    )
    deps.outbox.append(conn.id, "note", {"text": "hello"})

    status, body = _admin(lambda_context, "GET", "/admin/v1/sync/twins", item="acme-12")

    assert status == 200, body
    [twin] = body["twins"]
    assert twin["twin_id"] == "acme:10012" and twin["connection_name"] == "Acme" and twin["origin"] == "local"
    assert twin["local"] == {"id": "10012", "key": "ACME-12", "url": "https://acme.atlassian.net/browse/ACME-12"}
    assert twin["remote"]["key"] == "BETA-7"
    assert (twin["out_seq"], twin["in_seq"], twin["pending_seq"]) == (4, 4, 5)
    assert twin["last_sent_at"].startswith("2025-03-01T12:00") and twin["last_received_at"].startswith("2025-03-01")
    assert twin["queued_for_partner"] == 1
    assert twin["last_error"] == {
        "direction": "incoming",
        "reason": "Jira answered 400: priority is required",
        "at": "2025-03-01T12:00:00Z",
        "attempts": 3,
        "script": None,  # set only when the connection's script-mode rules failed
    }


@pytest.mark.parametrize("item", ["acme:10012", "10012", "BETA-7"])
def test_status_finds_a_twin_by_twin_id_local_id_or_remote_key(deps, lambda_context, item):
    conn = _connection(deps)
    _twin(deps, conn.id, "acme:10012")

    status, body = _admin(lambda_context, "GET", "/admin/v1/sync/twins", item=item, connection=conn.id)

    assert status == 200, body
    assert [t["twin_id"] for t in body["twins"]] == ["acme:10012"]


def test_status_of_an_unknown_item_is_404_naming_what_was_looked_for(deps, lambda_context):
    conn = _connection(deps)
    _twin(deps, conn.id, "acme:10012")

    status, body = _admin(lambda_context, "GET", "/admin/v1/sync/twins", item="ACME-99")

    assert status == 404
    assert "'ACME-99'" in body["message"] and "twin id" in body["message"] and "item key" in body["message"]


def test_status_without_item_or_with_unknown_connection_is_refused(deps, lambda_context):
    status, body = _admin(lambda_context, "GET", "/admin/v1/sync/twins")
    assert status == 400 and "'item'" in body["message"]

    status, body = _admin(lambda_context, "GET", "/admin/v1/sync/twins", item="ACME-12", connection="c-nope")
    assert status == 404 and "c-nope" in body["message"]

    status, body = _admin(lambda_context, "GET", "/admin/v1/sync/summary", connection="c-nope")
    assert status == 404 and "c-nope" in body["message"]


def test_errors_lists_only_failed_twins_with_direction_reason_and_attempts(deps, lambda_context):
    conn = _connection(deps)
    _twin(deps, conn.id, "acme:10012")
    _twin(deps, conn.id, "beta:70", local=None, origin="remote", pending_seq=2, error="create refused")

    status, body = _admin(lambda_context, "GET", "/admin/v1/sync/errors")

    assert status == 200, body
    assert body["errors"] == [
        {
            "connection_id": conn.id,
            "twin_id": "beta:70",
            "local": None,
            "remote": {"id": "70", "key": "BETA-7", "url": "https://beta.example/BETA-7"},
            "direction": "incoming",
            "reason": "create refused",
            "attempts": 3,
            "at": "2025-03-01T12:00:00Z",
            "pending_seq": 2,
            "script": None,
        }
    ]
    status, body = _admin(
        lambda_context, "GET", "/admin/v1/sync/errors", connection=_connection(deps, "B", "b1", "b2").id
    )
    assert status == 200 and body["errors"] == []


def test_retry_requeues_the_pending_apply_and_the_local_change(queue_url, lambda_context):
    from twinbridge.wiring import wiring

    deps = wiring()
    conn = _connection(deps)
    _twin(deps, conn.id, "beta:70", origin="remote", local=("10020", "ACME-20"), pending_seq=3, error="Jira 503")
    _twin(deps, conn.id, "acme:10012", error="partner refused", direction="outgoing")
    _twin(deps, conn.id, "acme:10013", local=("10013", "ACME-13"))  # no error: skipped

    status, body = _admin(
        lambda_context, "POST", "/admin/v1/sync/retry", {"twin_ids": ["beta:70", "acme:10012", "acme:10013"]}
    )

    assert status == 202, body
    assert [(q["twin_id"], q["action"], q["status"], q["seq"], q["item_key"]) for q in body["queued"]] == [
        ("beta:70", "apply", "queued", 3, None),
        ("acme:10012", "change", "queued", None, "ACME-12"),
    ]
    assert body["skipped"] == [{"connection_id": conn.id, "twin_id": "acme:10013", "reason": "no error recorded"}]
    apply, change = _bodies(queue_url)
    assert apply == {
        "type": "sync.apply",
        "connection_id": conn.id,
        "twin_id": "beta:70",
        "seq": 3,
        "attempt": apply["attempt"],
    }
    assert apply["attempt"].startswith("retry-")  # a manual retry is never dropped as a duplicate of the first send
    assert change["type"] == "tracker.change"
    assert change["change"] | {"occurred_at": None} == {
        "tracker": "jira-cloud",
        "instance": "https://acme.atlassian.net",
        "item_id": "10012",
        "item_key": "ACME-12",
        "project": None,
        "kind": "updated",
        "actor": None,
        "changes": [],
        "comment_id": None,
        "attachment_id": None,
        "occurred_at": None,
        "delivery_id": body["queued"][1]["delivery_id"],
        "source_event": "twinbridge:retry",
    }


def test_retry_all_queues_every_failed_twin_with_a_fresh_delivery_id_each_time(queue_url, lambda_context):
    from twinbridge.wiring import wiring

    deps = wiring()
    conn = _connection(deps)
    _twin(deps, conn.id, "acme:10012", error="partner refused", direction="outgoing", pending_seq=2)
    _twin(deps, conn.id, "beta:71", origin="remote", local=None, error="create refused")  # nothing to retry with

    first = _admin(lambda_context, "POST", "/admin/v1/sync/retry", {"all": True})[1]
    second = _admin(lambda_context, "POST", "/admin/v1/sync/retry", {"all": True, "connection_id": conn.id})[1]

    assert [(q["action"], q["status"]) for q in first["queued"]] == [("apply", "queued"), ("change", "queued")]
    assert [s["twin_id"] for s in first["skipped"]] == ["beta:71"] and "nothing to retry" in first["skipped"][0][
        "reason"
    ]
    assert first["queued"][1]["delivery_id"] != second["queued"][1]["delivery_id"]
    changes = [b["change"]["delivery_id"] for b in _bodies(queue_url) if b["type"] == "tracker.change"]
    assert changes == [first["queued"][1]["delivery_id"], second["queued"][1]["delivery_id"]]


def test_retry_of_an_unknown_twin_is_404_and_queues_nothing(queue_url, lambda_context):
    from twinbridge.wiring import wiring

    deps = wiring()
    conn = _connection(deps)
    _twin(deps, conn.id, "acme:10012", error="partner refused", direction="outgoing")

    status, body = _admin(lambda_context, "POST", "/admin/v1/sync/retry", {"twin_ids": ["acme:10012", "acme:999"]})

    assert status == 404 and "'acme:999'" in body["message"] and "nothing was queued" in body["message"]
    assert _bodies(queue_url) == []


@pytest.mark.parametrize(
    "request_body, expected",
    [
        ({}, "twin_ids"),
        ({"twin_ids": ["a:1"], "all": True}, "not both"),
        ({"all": True, "twins": ["a:1"]}, "twins"),
    ],
)
def test_retry_with_a_bad_body_is_400_naming_the_problem(deps, lambda_context, request_body, expected):
    status, body = _admin(lambda_context, "POST", "/admin/v1/sync/retry", request_body)

    assert status == 400 and expected in body["message"]


def test_a_retried_apply_that_fails_again_is_recorded_on_the_twin(deps, lambda_context):
    conn = _connection(deps)
    _twin(deps, conn.id, "beta:70", origin="remote", local=None, pending_seq=2, error="no tracker")

    status, body = _admin(lambda_context, "POST", "/admin/v1/sync/retry", {"twin_ids": ["beta:70"]})

    assert status == 202, body
    [outcome] = body["queued"]
    assert (outcome["action"], outcome["status"]) == ("apply", "queued")
    error = deps.twins.get(conn.id, "beta:70").last_error  # the in-process queue ran it: it failed once more
    assert error.attempts == 4 and "no tracker is configured" in error.reason
    [(job, failure)] = deps.queue.failed
    assert job.type == "sync.apply" and "no tracker" in str(failure)


def test_cli_renders_status_errors_and_retry_from_the_api_json(deps, lambda_context):
    from twinbridge_tools.cli import render

    conn = _connection(deps)
    _twin(deps, conn.id, "acme:10012", pending_seq=5, error="Jira answered 400", out_seq=4, in_seq=4, last_sent_at=AT)

    twins = _admin(lambda_context, "GET", "/admin/v1/sync/twins", item="ACME-12")[1]["twins"]
    text = render.twin_details(twins)
    assert "local item:               ACME-12 (id 10012)  https://acme.atlassian.net/browse/ACME-12" in text
    assert "pending replica:          #5 (received, not applied yet)" in text
    assert "last received:            never" in text
    assert "last error:               incoming, 3 attempt(s), at 2025-03-01T12:00:00Z: Jira answered 400" in text

    errors = render.sync_errors(_admin(lambda_context, "GET", "/admin/v1/sync/errors")[1]["errors"])
    assert errors.splitlines()[0].split() == [
        "CONNECTION",
        "TWIN",
        "LOCAL",
        "REMOTE",
        "DIRECTION",
        "ATTEMPTS",
        "AT",
        "REASON",
    ]
    assert "acme:10012" in errors and "Jira answered 400" in errors

    summary = render.sync_summary(_admin(lambda_context, "GET", "/admin/v1/sync/summary")[1]["connections"])
    assert summary.splitlines()[1].split()[:2] == [conn.id, "Acme"]

    report = render.retry_report(
        {
            "queued": [
                {"connection_id": conn.id, "twin_id": "acme:10012", "action": "apply", "status": "queued", "seq": 5}
            ],
            "skipped": [],
        }
    )
    assert report == f"1 queued, 0 skipped:\n  [queued] acme:10012 ({conn.id}): apply of replica #5"


def test_cli_sync_retry_needs_twin_ids_or_all(capsys):
    from twinbridge_tools.cli.main import main

    assert main(["--url", "http://127.0.0.1:9", "sync", "retry"]) == 2
    assert "--all" in capsys.readouterr().err
