"""Normalization of real Jira REST responses (and the REST-shaped issue inside real webhooks) into tracker models."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from tests.support import CORPORA
from twinbridge.trackers.jira import (
    JiraCloudClient,
    JiraDcClient,
    default_type_name,
    normalize_comment,
    normalize_issue,
)

REST = CORPORA / "jira-webhooks" / "rest-api-responses"


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def test_server_issue_with_custom_fields_normalizes_every_field():
    item = normalize_issue(load(REST / "jira-server-rest-v2-issue-with-customfield.json"), "http://localhost:2990/jira",
                           "wiki", JiraDcClient.user_ref)
    assert (item.key, item.project, item.summary, item.status) == ("TEST-136", "TEST", "summary content", "To Do")
    assert item.url == "http://localhost:2990/jira/browse/TEST-136"
    assert item.description.format == "wiki" and item.description.content == "description body"
    assert item.reporter.account_id == "admin" and item.reporter.email == "admin@admin.com"
    assert item.assignee is None and item.attachments == [] and item.id.isdigit()
    assert item.updated == datetime(2015, 12, 26, 12, 0, 38, 891000, tzinfo=UTC)
    assert item.custom_fields and all(k.startswith("customfield_") for k in item.custom_fields)


def test_server_comment_normalizes_author_body_and_times():
    comment = normalize_comment(load(REST / "jira-server-rest-v2-comment.json"), "wiki", JiraDcClient.user_ref)
    assert (comment.id, comment.body.content, comment.author.account_id) == ("10000", "comment body", "admin")
    assert comment.created == datetime(2015, 12, 20, 19, 4, 58, 421000, tzinfo=UTC)


def test_cloud_v3_issue_keeps_the_adf_description():
    folder = CORPORA / "adf" / "documents" / "jira-cloud-jira-cli"
    raw = load(folder / "jira-cloud-v3-get-issue-response-with-adf-description.json")
    item = normalize_issue(raw, "https://x.atlassian.net/", "adf", JiraCloudClient.user_ref)
    assert item.description.format == "adf" and item.description.content["type"] == "doc"
    assert (item.key, item.project, item.type, item.priority, item.id) == ("TEST-1", "TEST", "Bug", "Medium", "TEST-1")
    assert item.url == "https://x.atlassian.net/browse/TEST-1" and item.reporter.display_name == "Person A"
    assert item.updated.utcoffset().total_seconds() == 3600


def test_cloud_webhook_issue_normalizes_with_account_ids():
    raw = load(CORPORA / "jira-webhooks" / "mattermost-plugin-jira" / "jira-cloud-issue-updated-assigned.json")["issue"]
    item = normalize_issue(raw, "https://some.atlassian.net", "adf", JiraCloudClient.user_ref)
    assert item.assignee is not None and item.assignee.account_id == raw["fields"]["assignee"]["accountId"]


def test_default_type_is_the_scheme_default_else_the_first_standard_type():
    for name in ("jira-cloud-createmeta-for-project.json", "jira-server-createmeta-for-project.json"):
        types = load(REST / name)["projects"][0]["issuetypes"]
        assert default_type_name(types, None) == "Task"
        sub = next(t for t in types if t.get("subtask"))
        assert default_type_name(types, str(sub["id"])) == sub["name"]
        assert default_type_name([t for t in types if t.get("subtask")], None) is None
