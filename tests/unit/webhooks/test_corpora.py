"""Every payload in ../shared/corpora/{jira,ado}-webhooks is either normalized or refused with a clear 400.

The folders are enumerated, so a new file is picked up without touching this test; the refused set is asserted
exactly (from PROVENANCE.md: REST responses and the declared negative cases), so a regression shows by name.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import CORPORA
from twinbridge.errors import InvalidRequestError, NotATrackerEventError, UnsupportedEventError
from twinbridge.http.errors import status_for
from twinbridge.models.change import ChangeEvent, ChangeKind
from twinbridge.trackers.webhooks import parse_webhook

JIRA = CORPORA / "jira-webhooks"
ADO = CORPORA / "ado-webhooks"
PAYLOADS = sorted([*JIRA.rglob("*.json"), *ADO.rglob("*.json")])

# PROVENANCE.md: rest-api-responses/ are "Not webhooks: REST responses"; zulip's anomalous payload and
# aspnet's ado-invalid-* are the declared negative cases.
REFUSED = {
    "jira-webhooks/rest-api-responses/jira-cloud-createmeta-for-project-many-fields.json": NotATrackerEventError,
    "jira-webhooks/rest-api-responses/jira-cloud-createmeta-for-project.json": NotATrackerEventError,
    "jira-webhooks/rest-api-responses/jira-server-createmeta-for-project-many-fields.json": NotATrackerEventError,
    "jira-webhooks/rest-api-responses/jira-server-createmeta-for-project.json": NotATrackerEventError,
    "jira-webhooks/rest-api-responses/jira-server-rest-v2-comment.json": NotATrackerEventError,
    "jira-webhooks/rest-api-responses/jira-server-rest-v2-issue-with-customfield.json": NotATrackerEventError,
    "jira-webhooks/zulip/anomalous-payload-not-a-jira-event.json": NotATrackerEventError,
    "ado-webhooks/aspnet-webhooks-vsts/ado-invalid-bad.noEventType.json": NotATrackerEventError,
    "ado-webhooks/aspnet-webhooks-vsts/ado-invalid-bad.notMappedEventType.json": UnsupportedEventError,
}

JIRA_EVENT_KINDS = {
    "jira:issue_created": {ChangeKind.CREATED},
    "jira:issue_updated": {
        ChangeKind.UPDATED, ChangeKind.COMMENT_CREATED, ChangeKind.COMMENT_UPDATED, ChangeKind.COMMENT_DELETED,
        ChangeKind.ATTACHMENT_ADDED, ChangeKind.ATTACHMENT_REMOVED,
    },
    "jira:issue_deleted": {ChangeKind.DELETED},
    "comment_created": {ChangeKind.COMMENT_CREATED},
    "comment_updated": {ChangeKind.COMMENT_UPDATED},
    "comment_deleted": {ChangeKind.COMMENT_DELETED},
    "attachment_created": {ChangeKind.ATTACHMENT_ADDED},
}
ADO_EVENT_KINDS = {
    "workitem.created": {ChangeKind.CREATED},
    "workitem.updated": {ChangeKind.UPDATED, ChangeKind.ATTACHMENT_ADDED, ChangeKind.ATTACHMENT_REMOVED},
    "workitem.deleted": {ChangeKind.DELETED},
    "workitem.restored": {ChangeKind.RESTORED},
    "workitem.commented": {ChangeKind.COMMENT_CREATED},
}


def _name(path: Path) -> str:
    return path.relative_to(CORPORA).as_posix()


def _tracker(path: Path) -> str:
    if path.is_relative_to(ADO):
        return "azure-devops"
    return "jira-dc" if "-server-" in path.name else "jira-cloud"


def _outcome(path: Path) -> ChangeEvent | InvalidRequestError:
    try:
        return parse_webhook(_tracker(path), path.read_bytes(), {})
    except InvalidRequestError as exc:
        return exc


def test_corpora_are_present_and_enumerated():
    assert len([p for p in PAYLOADS if p.is_relative_to(JIRA)]) >= 80
    assert len([p for p in PAYLOADS if p.is_relative_to(ADO)]) >= 20


def test_every_payload_is_either_normalized_or_refused_and_the_refused_set_is_exact(report_figure):
    outcomes = {_name(path): _outcome(path) for path in PAYLOADS}
    refused = {name: type(result) for name, result in outcomes.items() if isinstance(result, InvalidRequestError)}
    handled = len(outcomes) - len(refused)
    report_figure(f"webhook corpora: {len(outcomes)} payloads, {handled} normalized, {len(refused)} refused (400)")
    assert refused == REFUSED
    assert handled == len(PAYLOADS) - len(REFUSED)


@pytest.mark.parametrize("path", [p for p in PAYLOADS if _name(p) not in REFUSED], ids=_name)
def test_webhook_payload_is_normalized(path):
    raw = json.loads(path.read_bytes())
    change = parse_webhook(_tracker(path), path.read_bytes(), {})

    assert change.tracker == _tracker(path)
    assert change.instance.startswith(("http://", "https://")) and not change.instance.endswith("/")
    assert change.delivery_id and change.occurred_at.tzinfo is not None
    ChangeEvent.model_validate_json(change.model_dump_json())  # what goes on the queue reads back
    if path.is_relative_to(JIRA):
        assert change.kind in JIRA_EVENT_KINDS[raw["webhookEvent"]]
        issue = raw.get("issue") or {}
        assert change.item_key == issue.get("key")
        assert change.item_id == (issue.get("id") or change.item_id)
        project = (issue.get("fields") or {}).get("project") or {}
        assert change.project == project.get("key")
        for changed, item in zip(change.changes, (raw.get("changelog") or {}).get("items") or [], strict=True):
            assert changed.field == item["field"]
        if change.kind.value.startswith("comment_") and raw.get("comment"):
            assert change.comment_id == raw["comment"]["id"]
    else:
        assert change.kind in ADO_EVENT_KINDS[raw["eventType"]]
        assert change.item_key == change.item_id and change.item_id.isdigit() and int(change.item_id) > 0
        assert change.delivery_id == raw["id"]
        fields = (raw["resource"].get("revision") or raw["resource"]).get("fields") or {}
        assert change.project == fields.get("System.TeamProject")


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_non_event_payload_is_refused_with_a_400_saying_what_was_expected(name):
    result = _outcome(CORPORA / name)
    assert isinstance(result, REFUSED[name])
    assert status_for(result) == 400
    if isinstance(result, NotATrackerEventError):
        assert result.message.startswith("not a tracker event") and "expected" in result.message
    else:
        assert "is not synced" in result.message and "workitem.updated" in result.message


# --------------------------------------------------------------------------------- specific payloads, by hand


def _parse(relative: str) -> ChangeEvent:
    path = CORPORA / relative
    return parse_webhook(_tracker(path), path.read_bytes(), {})


def test_jira_cloud_issue_update_names_instance_item_actor_and_changelog():
    change = _parse("jira-webhooks/mattermost-plugin-jira/jira-cloud-issue-updated-reopened.json")
    assert (change.instance, change.item_id, change.item_key, change.project) == (
        "https://some-instance-test.atlassian.net", "10040", "TES-41", "TES",
    )
    assert change.kind is ChangeKind.UPDATED and change.source_event == "jira:issue_updated/issue_generic"
    assert change.actor is not None and change.actor.account_id == "5c5f880629be9642ba529340"
    assert {c.field for c in change.changes} == {"resolution", "status"}
    assert change.delivery_id.startswith("jira:sha256:")


def test_jira_dc_comment_event_without_issue_takes_the_issue_id_from_the_comment_url():
    change = _parse("jira-webhooks/mattermost-plugin-jira/jira-server-comment-created.json")
    assert change.kind is ChangeKind.COMMENT_CREATED
    assert (change.item_id, change.item_key, change.comment_id) == ("10013", None, "10082")
    assert change.instance == "http://sales-jira.centralus.cloudapp.azure.com:8080"
    assert change.actor is not None and change.actor.name == "levbrouk"  # the comment's author


def test_jira_dc_context_path_is_part_of_the_instance():
    change = _parse("jira-webhooks/jira-trigger-plugin/jira-server-issue-created-no-issue-event-type.json")
    assert change.instance == "http://localhost:2990/jira" and change.kind is ChangeKind.CREATED


def test_jira_cloud_comment_deleted_without_user_has_no_actor_rather_than_the_comment_author():
    change = _parse("jira-webhooks/mattermost-plugin-jira/jira-cloud-comment-deleted.json")
    assert change.kind is ChangeKind.COMMENT_DELETED and change.actor is None


def test_jira_attachment_created_is_attachment_added_with_its_id():
    change = _parse("jira-webhooks/zulip/jira-cloud-attachment-created.json")
    assert change.kind is ChangeKind.ATTACHMENT_ADDED and change.attachment_id == "10000"
    assert change.actor is not None and change.actor.account_id == "5c76b994e1bcdf6294d0eb0f"


def test_legacy_jira_comment_edit_without_event_type_is_comment_updated():
    change = _parse(
        "jira-webhooks/mattermost-plugin-jira/jira-server-issue-updated-legacy-no-issue-event-type-comment-edited.json"
    )
    assert change.kind is ChangeKind.COMMENT_UPDATED and change.comment_id == "10084"


def test_a_jira_cloud_delivery_is_identified_by_its_signed_body_not_its_unsigned_header():
    path = CORPORA / "jira-webhooks/mattermost-plugin-jira/jira-cloud-issue-created.json"
    with_header = parse_webhook("jira-cloud", path.read_bytes(), {"X-Atlassian-Webhook-Identifier": "abc-123"})
    replayed = parse_webhook("jira-cloud", path.read_bytes(), {"X-Atlassian-Webhook-Identifier": "new-id-999"})
    without = parse_webhook("jira-cloud", path.read_bytes(), {})
    assert with_header.delivery_id == replayed.delivery_id == without.delivery_id  # the header cannot make it new
    assert without.delivery_id != parse_webhook("jira-cloud", path.read_bytes() + b"\n", {}).delivery_id


def test_a_jira_dc_delivery_keeps_the_identifier_its_authenticated_sender_gives():
    path = CORPORA / "jira-webhooks/mattermost-plugin-jira/jira-cloud-issue-created.json"
    assert parse_webhook("jira-dc", path.read_bytes(), {"X-Atlassian-Webhook-Identifier": "abc-123"}).delivery_id \
        == "abc-123"


def test_ado_update_reads_old_and_new_values_and_the_revising_identity():
    change = _parse("ado-webhooks/aspnet-webhooks-vsts/ado-workitem-updated-vsts-2016-sample.json")
    assert (change.item_id, change.project, change.kind) == ("5", "GoodCompanyCloud", ChangeKind.UPDATED)
    changed = {c.field: (c.old, c.new) for c in change.changes}
    assert changed["System.State"] == ("New", "Approved")
    assert "System.Rev" not in changed and "System.Watermark" not in changed  # bookkeeping is dropped
    assert change.instance == "http://good-company.some.ssl.host/DefaultCollection"


def test_ado_tfs_identity_string_gives_display_and_unique_name():
    change = _parse("ado-webhooks/tfsaggregator/ado-tfs-2018-workitem-updated-resource-details-all-messages-none.json")
    assert change.actor is not None
    assert change.actor.unique_name == "WIN-VJNVOUQJMAM\\Administrator" and change.actor.display_name == "Administrator"
    assert change.instance == "https://win-vjnvouqjmam/DefaultCollection"


def test_ado_minimal_update_still_names_the_work_item():
    change = _parse("ado-webhooks/tfsaggregator/ado-vsts-workitem-updated-resource-details-minimal-messages-none.json")
    assert (change.item_id, change.project, change.actor) == ("14", None, None)
    assert change.instance == "https://giuliovaad.visualstudio.com"


@pytest.mark.parametrize("tracker", ["jira-cloud", "azure-devops"])
@pytest.mark.parametrize("body", [b"", b"not json", b"\xff\xfe", b"[1, 2]", b'"text"', b"{}"])
def test_malformed_bodies_are_400s(tracker, body):
    with pytest.raises(InvalidRequestError) as caught:
        parse_webhook(tracker, body, {})
    assert status_for(caught.value) == 400 and "expected" in caught.value.message


def test_unsynced_jira_event_is_refused_naming_the_events_to_subscribe():
    with pytest.raises(UnsupportedEventError) as caught:
        parse_webhook("jira-cloud", b'{"webhookEvent": "worklog_updated", "timestamp": 1}', {})
    assert "worklog_updated" in caught.value.message and "jira:issue_updated" in caught.value.message
