"""Deliveries real trackers send that the happy-path samples do not show: none may lose a change or crash.

Each starts from a real capture in ../shared/corpora and changes only what the case is about.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.support import CORPORA
from twinbridge.models.change import ChangeKind
from twinbridge.trackers.webhooks import parse_webhook
from twinbridge.trackers.webhooks.common import parse_instant

JIRA = CORPORA / "jira-webhooks"
ADO = CORPORA / "ado-webhooks"
NOON = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def _load(path):
    return json.loads(path.read_text())


def _parse(tracker: str, payload: dict):
    return parse_webhook(tracker, json.dumps(payload).encode())


# --------------------------------------------------------------------------------------------------- Jira


def test_jira_comment_event_with_field_changes_but_no_comment_is_an_update_keeping_the_changes():
    payload = _load(JIRA / "mattermost-plugin-jira/jira-cloud-issue-updated-renamed.json")
    payload["issue_event_type_name"] = "issue_commented"  # a transition screen's comment: fields changed too
    payload.pop("comment", None)
    change = _parse("jira-cloud", payload)
    assert change.kind is ChangeKind.UPDATED  # not a comment event with no comment to name
    assert [c.field for c in change.changes] == ["summary"] and change.comment_id is None
    assert change.item_key == "TES-41"


def test_jira_comment_event_with_its_comment_stays_comment_activity():
    payload = _load(JIRA / "mattermost-plugin-jira/jira-cloud-issue-updated-renamed.json")
    payload["issue_event_type_name"] = "issue_commented"
    payload["comment"] = {"id": "10100", "self": payload["issue"]["self"] + "/comment/10100"}
    change = _parse("jira-cloud", payload)
    assert (change.kind, change.comment_id) == (ChangeKind.COMMENT_CREATED, "10100")


def test_jira_delivery_without_any_user_has_no_actor_and_still_names_its_issue():
    payload = _load(JIRA / "mattermost-plugin-jira/jira-cloud-issue-updated-renamed.json")
    payload.pop("user")
    change = _parse("jira-cloud", payload)
    assert change.actor is None and change.item_key == "TES-41" and change.kind is ChangeKind.UPDATED


@pytest.mark.parametrize("timestamp", [1796040000000, "1796040000000", 1796040000, "2026-11-30T12:00:00.000+0000",
                                       "2026-11-30 12:00:00", "Mon, 30 Nov 2026 12:00:00 GMT"])
def test_jira_timestamps_in_other_forms_are_read(timestamp):
    payload = _load(JIRA / "mattermost-plugin-jira/jira-cloud-issue-updated-renamed.json")
    payload["timestamp"] = timestamp
    assert _parse("jira-cloud", payload).occurred_at == NOON


# --------------------------------------------------------------------------------------------------- ADO


def test_ado_created_with_the_comment_typed_at_creation_names_that_comment():
    payload = _load(ADO / "msdocs-service-hooks-events/ado-workitem-created-docs-sample.json")
    payload["resource"]["commentVersionRef"] = {"commentId": 5, "version": 1,
                                                "url": payload["resource"]["url"] + "/comments/5/versions/1"}
    change = _parse("azure-devops", payload)
    assert (change.kind, change.item_id, change.comment_id) == (ChangeKind.CREATED, "5", "5")


def test_ado_update_without_revised_by_or_changed_by_has_no_actor():
    payload = _load(ADO / "msdocs-service-hooks-events/ado-workitem-updated-docs-sample.json")
    payload["resource"].pop("revisedBy", None)
    payload["resource"]["fields"].pop("System.ChangedBy", None)
    change = _parse("azure-devops", payload)
    assert change.actor is None and change.kind is ChangeKind.UPDATED and change.item_id == "5"


@pytest.mark.parametrize("created", ["/Date(1796040000000)/", "2026-11-30T12:00:00.0000000Z", "2026-11-30T13:00:00+01:00",
                                     "Mon, 30 Nov 2026 12:00:00 GMT"])
def test_ado_created_dates_in_other_forms_are_read(created):
    payload = _load(ADO / "msdocs-service-hooks-events/ado-workitem-updated-docs-sample.json")
    payload["createdDate"] = created
    assert _parse("azure-devops", payload).occurred_at == NOON


# --------------------------------------------------------------------------------------------------- instants


@pytest.mark.parametrize("value", ["12/30/2026 noon", "", "   ", "1e400", float("nan"), 10**30, True, {"t": 1}, [1]])
def test_unreadable_instants_are_none_not_errors(value):
    assert parse_instant(value) is None


def test_a_delivery_with_an_unreadable_timestamp_is_still_normalized():
    payload = _load(JIRA / "mattermost-plugin-jira/jira-cloud-issue-updated-renamed.json")
    payload["timestamp"] = "yesterday-ish"
    before = dt.datetime.now(dt.UTC)
    change = _parse("jira-cloud", payload)
    assert change.occurred_at >= before and change.item_key == "TES-41"
