"""Microsoft's recorded wit 7.1 responses (httpExamples) normalized into TrackerItem / TrackerComment."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support import CORPORA
from twinbridge.trackers.azure_devops import CLASSIFICATION_FIELDS, identity, normalize_comment, normalize_work_item

EXAMPLES = CORPORA / "openapi" / "azure-devops" / "wit-7.1-httpExamples"
BASE = "https://dev.azure.com/fabrikam"


def work_items(path: Path) -> list[dict]:
    """The work items in a recorded 200 answer (one item, or a ``{count, value}`` list)."""
    body = json.loads(path.read_text())["responses"].get("200", {}).get("body") or {}
    items = body.get("value", [body]) if isinstance(body, dict) else []
    return [item for item in items if isinstance(item, dict) and "System.ChangedDate" in item.get("fields", {})]


RECORDED = sorted(path for path in (EXAMPLES / "workItems").glob("*.json") if work_items(path))


def test_the_corpus_has_work_item_examples():
    assert len(RECORDED) >= 15


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
def test_every_recorded_work_item_normalizes(path):
    for body in work_items(path):
        item = normalize_work_item(body, base_url=BASE)
        fields = body["fields"]
        assert item.id == item.key == str(body["id"]) and item.revision == str(body["rev"])
        assert (item.project, item.type, item.summary) == (
            fields["System.TeamProject"], fields["System.WorkItemType"], fields["System.Title"])
        assert item.updated.tzinfo is not None and item.url.startswith("https://dev.azure.com/fabrikam/")
        assert item.status == fields.get("System.State")
        assert not any(name.startswith("System.") for name in item.custom_fields if name not in CLASSIFICATION_FIELDS)


def test_single_get_with_tags_identity_and_priority():
    [body] = work_items(EXAMPLES / "workItems" / "GET__wit_WorkItems_id.json")
    item = normalize_work_item(body, base_url=BASE)
    assert item.labels == ["client", "sample", "teamservices"]
    assert item.priority == "2" and item.status == "Active" and item.type == "User Story"
    assert item.assignee.account_id == "d291b0c4-a05c-4ea6-8df1-4b41d5f39eff"
    assert (item.assignee.display_name, item.assignee.email) == ("Jamal Hartnett", "fabrikamfiber4@hotmail.com")
    assert item.reporter == item.assignee
    assert item.created == datetime(2017, 9, 4, 6, 11, 59, 50000, tzinfo=UTC)
    assert item.updated == datetime(2017, 10, 4, 23, 32, 2, 180000, tzinfo=UTC)
    assert item.url == "https://dev.azure.com/fabrikam/web/wi.aspx?pcguid=20cda608-32f0-4e6e-9b7c-8def7b38d15a&id=12"
    assert item.custom_fields["Microsoft.VSTS.Common.ValueArea"] == "Business"
    assert item.description is None and item.attachments == []


def test_attached_files_become_attachments_and_links_do_not():
    bodies = work_items(EXAMPLES / "workItems" / "GET__wit_WorkItems_ids-_ids___expand-all.json")
    item = normalize_work_item(next(b for b in bodies if b["id"] == 297), base_url=BASE)
    [attachment] = item.attachments
    assert attachment.id == "098a279a-60b9-40a8-868b-b7fd00c0a439" and attachment.filename == "Spec.txt"
    assert attachment.content_url == f"{BASE}/_apis/wit/attachments/098a279a-60b9-40a8-868b-b7fd00c0a439"
    assert attachment.created == datetime(2014, 12, 29, 20, 49, 20, 770000, tzinfo=UTC)
    assert item.description.format == "html" and "Microsoft accounts" in item.description.content


def test_a_patch_answer_with_an_added_attachment():
    [body] = work_items(EXAMPLES / "workItems" / "PATCH__wit_workitems__taskId_6.json")
    assert [a.filename for a in normalize_work_item(body, base_url=BASE).attachments] == ["Spec.txt"]


def test_item_without_html_link_gets_the_web_url():
    [body] = work_items(EXAMPLES / "workItems" / "PATCH__wit_workitems__taskId_14.json")
    body = {key: value for key, value in body.items() if key != "_links"}
    item = normalize_work_item(body, base_url=BASE)
    assert item.url == f"{BASE}/Fabrikam-Fiber-Git/_workitems/edit/299" and item.labels == ["Tag1", "Tag2"]


@pytest.mark.parametrize("name", ["POST__wit_workitems__taskId__comments_create.json",
                                  "PATCH__wit_workitems__taskId__comments_1.json"])
def test_recorded_comments_normalize(name):
    body = json.loads((EXAMPLES / "comments" / name).read_text())["responses"]["200"]["body"]
    comment = normalize_comment(body)
    assert comment.id == "50" and comment.body.format == "html" and comment.body.content == body["text"]
    assert comment.author.display_name == "Jamal Hartnett" and comment.created.tzinfo is not None


def test_recorded_comment_pages_normalize():
    body = json.loads((EXAMPLES / "comments" / "GET__wit_workitems__issueId__comments_1.json").read_text())
    comments = [normalize_comment(c) for c in body["responses"]["200"]["body"]["comments"]]
    assert [c.id for c in comments] == ["45", "44"]


def test_service_hook_identity_strings():
    ref = identity("Giulio Vian (Dev AAD) <giulio.dev@casavian.eu>")
    assert (ref.account_id, ref.display_name, ref.email) == ("giulio.dev@casavian.eu", "Giulio Vian (Dev AAD)",
                                                             "giulio.dev@casavian.eu")
    assert identity("Jamal Hartnett").display_name == "Jamal Hartnett" and identity("") is None
