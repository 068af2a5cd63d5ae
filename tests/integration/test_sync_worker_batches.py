"""The sync worker takes tracker changes off the queue, and a failing record holds back only its own group."""

from __future__ import annotations

import copy
import json

from tests.support import FakeLambdaContext, load_event

CHANGE = {
    "tracker": "jira-cloud", "instance": "https://acme.atlassian.net", "item_id": "10042", "item_key": "ACME-7",
    "project": "ACME", "kind": "updated", "occurred_at": "2026-11-23T10:00:00Z",
    "delivery_id": "e9f1c2d3-4b5a-4c6d-8e7f-90a1b2c3d4e5", "source_event": "jira:issue_updated/issue_updated",
}


def _record(template: dict, message_id: str, group: str, body: dict) -> dict:
    record = copy.deepcopy(template)
    record["messageId"] = message_id
    record["body"] = json.dumps(body)
    record["attributes"]["MessageGroupId"] = group
    return record


def test_a_bad_record_fails_its_own_group_and_other_groups_are_processed(aws, caplog):
    from functions.sync_worker.app import lambda_handler

    template = load_event("sync_worker/deliver-outbox.json")["Records"][0]
    event = {
        "Records": [
            _record(template, "m-1", "jira-cloud:10042", {"type": "tracker.change", "change": CHANGE}),
            _record(template, "m-2", "jira-cloud:10043", {"type": "no-such-type"}),
            _record(
                template,
                "m-3",
                "jira-cloud:10043",
                {"type": "tracker.change", "change": {**CHANGE, "item_id": "10043"}},
            ),
            _record(
                template,
                "m-4",
                "jira-cloud:10044",
                {"type": "tracker.change", "change": {**CHANGE, "item_id": "10044"}},
            ),
        ]
    }

    response = lambda_handler(event, FakeLambdaContext(timeout_seconds=120))

    # m-2 fails; m-3 waits behind it (same item, order kept); m-1 and m-4 are done.
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-2"}, {"itemIdentifier": "m-3"}]}
    received = [
        r for r in caplog.records if r.getMessage() == "tracker change dropped: no tracker configured on this node"
    ]
    assert len(received) == 2


def test_a_malformed_change_is_not_acknowledged_so_it_ends_in_the_dead_letter_queue(aws):
    from functions.sync_worker.app import lambda_handler

    template = load_event("sync_worker/deliver-outbox.json")["Records"][0]
    broken = {key: value for key, value in CHANGE.items() if key != "item_id"}
    event = {
        "Records": [
            _record(template, "m-1", "g-1", {"type": "tracker.change", "change": broken}),
            _record(template, "m-2", "g-2", {"type": "tracker.change", "change": CHANGE}),
        ]
    }
    assert lambda_handler(event, FakeLambdaContext(timeout_seconds=120)) == {
        "batchItemFailures": [{"itemIdentifier": "m-1"}]
    }
