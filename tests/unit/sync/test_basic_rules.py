"""Basic-mode rules: tracker item -> replica (outgoing) and replica -> plan of tracker writes (incoming)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from twinbridge.models.replica import Person, Replica, ReplicaAttachment, ReplicaComment
from twinbridge.models.tracker import ItemFields, NativeText, TrackerAttachment, TrackerComment, TrackerItem, UserRef
from twinbridge.models.twin import AttachmentLink, CommentLink, Twin
from twinbridge.richtext import plain_text, to_canonical
from twinbridge.richtext.serialize import from_json, to_json
from twinbridge.sync.basic_rules import (
    Target,
    adapt_label,
    choose_type,
    empty_text,
    is_marker,
    marker_for,
    outgoing,
    plan,
)

T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)

# The same content ("Hello **world**") as each tracker stores it.
HELLO_ADF = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
    {"type": "text", "text": "Hello "}, {"type": "text", "text": "world", "marks": [{"type": "strong"}]}]}]}
HELLO_HTML = "<p>Hello <strong>world</strong></p>"
HELLO_WIKI = "Hello *world*\n"
PANEL_ADF = {"type": "doc", "version": 1, "content": [{"type": "panel", "attrs": {"panelType": "info"}, "content": [
    {"type": "paragraph", "content": [{"type": "text", "text": "Careful"}]}]}]}

JIRA_CLOUD = Target(text_format="adf", issue_types=["Bug", "Story", "Task", "Epic"], default_type="Story",
                    remote_short_name="acme", labels_allow_spaces=False)
JIRA_DC = Target(text_format="wiki", issue_types=["Bug", "Task", "Improvement"], default_type=None,
                 remote_short_name="acme", labels_allow_spaces=False)
AZURE_DEVOPS = Target(text_format="html", issue_types=["Bug", "Task", "User Story", "Epic"], default_type="User Story",
                      remote_short_name="acme", labels_allow_spaces=True)


def adf_text(text: str) -> dict[str, Any]:
    paragraph = {"type": "paragraph", "content": [{"type": "text", "text": text}]}
    return {"type": "doc", "version": 1, "content": [paragraph]}


def canonical(content: Any, fmt: str) -> dict[str, Any]:
    return to_json(to_canonical(content, fmt).document)


def native(fmt: str, content: Any) -> NativeText:
    return NativeText(format=fmt, content=content)


def make_item(**overrides: Any) -> TrackerItem:
    fields: dict[str, Any] = dict(
        id="10001", key="ACME-1", url="https://acme.atlassian.net/browse/ACME-1", project="ACME", type="Bug",
        summary="Login fails", description=native("adf", HELLO_ADF), labels=["backend"], updated=T0,
        reporter=UserRef(account_id="u-1", display_name="Ana Pérez", email="ana@acme.test"),
    )
    fields.update(overrides)
    return TrackerItem(**fields)


def make_comment(comment_id: str, text: str, **overrides: Any) -> TrackerComment:
    fields: dict[str, Any] = dict(id=comment_id, author=UserRef(account_id="u-1", display_name="Ana Pérez"),
                                  body=native("adf", adf_text(text)), created=T0, updated=T0)
    fields.update(overrides)
    return TrackerComment(**fields)


def make_attachment(attachment_id: str, filename: str = "trace.log") -> TrackerAttachment:
    return TrackerAttachment(id=attachment_id, filename=filename, size=12, mime_type="text/plain",
                             content_url=f"https://acme.atlassian.net/attachment/{attachment_id}")


def make_twin(**overrides: Any) -> Twin:
    return Twin(connection_id="conn-1", twin_id="acme:10001", origin="remote", **overrides)


def make_replica(**overrides: Any) -> Replica:
    fields: dict[str, Any] = dict(
        item={"id": "10001", "key": "ACME-1", "url": "https://acme.atlassian.net/browse/ACME-1"},
        project="ACME", type="Bug", summary="Login fails", description=canonical(HELLO_ADF, "adf"),
        labels=["backend"], updated=T0,
    )
    fields.update(overrides)
    return Replica(**fields)


def replica_comment(comment_id: str, text: str, author: str | None = "Ana Pérez") -> ReplicaComment:
    return ReplicaComment(id=comment_id, author=Person(display_name=author) if author else None,
                          body=canonical(adf_text(text), "adf"), created=T0, updated=T0)


def replica_attachment(attachment_id: str, filename: str = "trace.log") -> ReplicaAttachment:
    return ReplicaAttachment(id=attachment_id, filename=filename, size=12, mime_type="text/plain",
                             sha256="ab" * 32, object_key=f"staged/{attachment_id}")


def local_item(target: Target, **overrides: Any) -> TrackerItem:
    """The receiving side's copy, already in sync with ``make_replica()`` in ``target``'s format."""
    description = {"adf": HELLO_ADF, "html": HELLO_HTML, "wiki": HELLO_WIKI}[target.text_format]
    fields: dict[str, Any] = dict(
        id="900", key="900", url="https://dev.azure.com/acme/_workitems/edit/900", project="Local", type="Bug",
        summary="Login fails", description=native(target.text_format, description),
        labels=["backend", marker_for("conn-1", "acme:10001")], updated=T0,
    )
    fields.update(overrides)
    return TrackerItem(**fields)


# --------------------------------------------------------------------------------------------------- outgoing


def test_jira_cloud_item_gives_replica_with_its_identity_fields_and_canonical_description():
    item = make_item(status="In Progress", priority="High",
                     assignee=UserRef(account_id="u-2", display_name="Bo Chen", email=None))

    replica = outgoing(item, [], make_twin())

    assert replica.item.id == "10001" and replica.item.key == "ACME-1"
    assert replica.item.url == "https://acme.atlassian.net/browse/ACME-1"
    assert (replica.project, replica.type, replica.summary) == ("ACME", "Bug", "Login fails")
    assert (replica.status, replica.priority) == ("In Progress", "High")
    assert replica.reporter == Person(display_name="Ana Pérez", email="ana@acme.test", account_id="u-1")
    assert replica.assignee == Person(display_name="Bo Chen", email=None, account_id="u-2")
    assert replica.description == canonical(HELLO_ADF, "adf")
    assert plain_text(from_json(replica.description)) == "Hello world"
    assert replica.updated == T0


@pytest.mark.parametrize(("fmt", "content"), [("html", HELLO_HTML), ("wiki", HELLO_WIKI)],
                         ids=["azure-devops-html", "jira-dc-wiki"])
def test_item_in_any_tracker_format_gives_the_same_canonical_description_as_adf(fmt, content):
    replica = outgoing(make_item(description=native(fmt, content)), [], make_twin())

    assert replica.description == canonical(HELLO_ADF, "adf")


@pytest.mark.parametrize("description", [None, native("adf", {"type": "doc", "version": 1, "content": []}),
                                         native("html", ""), native("wiki", "")],
                         ids=["none", "empty-adf", "empty-html", "empty-wiki"])
def test_item_without_description_gives_replica_without_description(description):
    assert outgoing(make_item(description=description), [], make_twin()).description is None


def test_ado_comment_html_body_travels_as_canonical_json():
    comment = make_comment("7", "", body=native("html", "<div>Looks <em>good</em></div>"))

    replica = outgoing(make_item(), [comment], make_twin())

    assert replica.comments[0].body == canonical("<p>Looks <em>good</em></p>", "html")
    assert replica.comments[0].author == Person(display_name="Ana Pérez", account_id="u-1")


def test_comments_that_came_from_the_partner_are_left_out_of_the_replica():
    twin = make_twin(comment_map={"remote-c9": CommentLink(local_id="c2", digest="d")})
    comments = [make_comment("c1", "ours"), make_comment("c2", "copy of theirs"), make_comment("c3", "ours too")]

    replica = outgoing(make_item(), comments, twin)

    assert [c.id for c in replica.comments] == ["c1", "c3"]


def test_attachments_from_the_partner_or_not_staged_are_left_out_of_the_replica():
    twin = make_twin(attachment_map={"remote-a9": AttachmentLink(local_id="a2", sha256="00" * 32)})
    item = make_item(attachments=[make_attachment("a1", "ours.png"), make_attachment("a2", "theirs.png"),
                                  make_attachment("a3", "not-staged-yet.png")])
    staged = {"a1": ("bucket/a1", "11" * 32), "a2": ("bucket/a2", "22" * 32)}

    replica = outgoing(item, [], twin, staged)

    assert [(a.id, a.filename, a.object_key, a.sha256) for a in replica.attachments] == [
        ("a1", "ours.png", "bucket/a1", "11" * 32)]


def test_marker_labels_are_left_out_and_the_rest_sorted():
    marker = marker_for("conn-1", "acme:10001")
    item = make_item(labels=["zeta", marker, "alpha", marker_for("conn-2", "other:1")])

    assert outgoing(item, [], make_twin()).labels == ["alpha", "zeta"]


def test_replica_digest_is_stable_when_only_url_updated_or_staging_change():
    item = make_item(attachments=[make_attachment("a1")])
    first = outgoing(item, [make_comment("c1", "hi")], make_twin(), {"a1": ("bucket/one", "11" * 32)})
    moved = item.model_copy(update={"url": "https://acme.example/browse/ACME-1", "updated": T0 + timedelta(hours=3)})
    second = outgoing(moved, [make_comment("c1", "hi")], make_twin(), {"a1": ("bucket/two", "11" * 32)})
    second.attachments[0].url = "https://bucket.example/presigned?sig=abc"

    assert first.item.url != second.item.url and first.updated != second.updated
    assert second.digest() == first.digest()


@pytest.mark.parametrize("change", [
    {"summary": "Login fails on Safari"},
    {"labels": ["backend", "regression"]},
    {"comment": "hi, edited"},
    {"description": native("adf", adf_text("Hello world"))},  # the bold is gone
    {"type": "Story"},
], ids=["summary", "labels", "comment-body", "description-marks", "type"])
def test_replica_digest_changes_when_shared_content_changes(change):
    comment_text = change.pop("comment", "hi")
    before = outgoing(make_item(), [make_comment("c1", "hi")], make_twin())
    after = outgoing(make_item(**change), [make_comment("c1", comment_text)], make_twin())

    assert after.digest() != before.digest()


def test_replica_comment_digest_follows_the_body_only():
    one = replica_comment("c1", "same words", author="Ana Pérez")
    other_author = replica_comment("c1", "same words", author="Bo Chen")
    edited = replica_comment("c1", "other words")

    assert one.digest() == other_author.digest()
    assert one.digest() != edited.digest()


# --------------------------------------------------------------------------------------------------- markers


def test_marker_is_stable_per_connection_and_twin_and_recognised():
    marker = marker_for("conn-1", "acme:10001")

    assert marker == marker_for("conn-1", "acme:10001")
    assert marker != marker_for("conn-2", "acme:10001") and marker != marker_for("conn-1", "acme:10002")
    assert is_marker(marker) and " " not in marker
    assert not is_marker("backend") and not is_marker("twinbridge")


def test_user_label_that_only_starts_like_a_marker_is_still_synced():
    assert outgoing(make_item(labels=["twinbridge-rollout"]), [], make_twin()).labels == ["twinbridge-rollout"]


# --------------------------------------------------------------------------------------------------- type, labels


@pytest.mark.parametrize(("wanted", "types", "default", "expected"), [
    ("Bug", ["Bug", "Task"], "Task", "Bug"),
    ("bug", ["Bug", "Task"], None, "Bug"),
    ("Story", ["Bug", "User Story", "Task"], "User Story", "User Story"),
    ("Story", ["Bug", "Task"], None, "Task"),
    ("Story", ["Bug", "Task"], "Gone", "Task"),
    ("Story", ["Bug", "task"], None, "task"),
    ("Story", ["Issue", "Bug"], None, "Issue"),
], ids=["mirrored", "mirrored-ignoring-case", "project-default", "task-without-default",
        "task-when-default-missing", "task-ignoring-case", "first-type"])
def test_choose_type_falls_back_from_mirror_to_default_to_task_to_first(wanted, types, default, expected):
    target = Target(text_format="adf", issue_types=types, default_type=default, remote_short_name="acme",
                    labels_allow_spaces=False)

    assert choose_type(wanted, target) == expected


@pytest.mark.parametrize(("tag", "expected"), [
    ("needs review", "needs_review"), ("  spaced   out  ", "spaced_out"), ("tab\there", "tab_here"), ("plain", "plain"),
])
def test_ado_tag_with_spaces_becomes_jira_label_with_underscores(tag, expected):
    assert adapt_label(tag, JIRA_CLOUD) == expected


def test_label_with_spaces_is_kept_where_spaces_are_allowed():
    assert adapt_label("needs review", AZURE_DEVOPS) == "needs review"


# --------------------------------------------------------------------------------------------------- plan: create


def test_first_sync_creates_item_with_mirrored_type_labels_and_marker():
    result = plan(make_replica(labels=["backend", "ui"]), make_twin(), AZURE_DEVOPS, None)

    assert result.create is not None and result.update is None
    assert result.create.type == "Bug"
    assert result.create.summary == "Login fails"
    assert result.create.labels == ["backend", "ui", marker_for("conn-1", "acme:10001")]
    assert not result.empty


@pytest.mark.parametrize(("target", "expected"), [(AZURE_DEVOPS, "User Story"), (JIRA_DC, "Task")],
                         ids=["project-default", "task"])
def test_first_sync_with_type_missing_on_receiving_side_uses_fallback(target, expected):
    result = plan(make_replica(type="Incident"), make_twin(), target, None)

    assert result.create is not None and result.create.type == expected


def test_first_sync_of_ado_tags_with_spaces_creates_jira_labels_with_underscores():
    result = plan(make_replica(labels=["needs review", "backend"]), make_twin(), JIRA_CLOUD, None)

    assert result.create is not None
    assert result.create.labels == ["backend", "needs_review", marker_for("conn-1", "acme:10001")]


@pytest.mark.parametrize(("source_format", "source", "target", "expected"), [
    ("adf", HELLO_ADF, AZURE_DEVOPS, HELLO_HTML),
    ("adf", HELLO_ADF, JIRA_DC, HELLO_WIKI),
    ("html", "<div>Hello <b>world</b></div>", JIRA_CLOUD, HELLO_ADF),
    ("wiki", HELLO_WIKI, AZURE_DEVOPS, HELLO_HTML),
], ids=["adf-to-html", "adf-to-wiki", "html-to-adf", "wiki-to-html"])
def test_first_sync_converts_description_to_target_format(source_format, source, target, expected):
    result = plan(make_replica(description=canonical(source, source_format)), make_twin(), target, None)

    assert result.create is not None
    assert result.create.description == NativeText(format=target.text_format, content=expected)
    assert result.losses == []


def test_first_sync_without_description_creates_without_one():
    result = plan(make_replica(description=None), make_twin(), JIRA_CLOUD, None)

    assert result.create is not None and result.create.description is None


@pytest.mark.parametrize(("target", "expected_content", "loss_kind"), [
    (AZURE_DEVOPS, "<blockquote><p><strong>Info:</strong> Careful</p></blockquote>", "panel"),
    (JIRA_DC, "State *\\[DONE\\]*\n", "status"),
], ids=["panel-to-html", "status-to-wiki"])
def test_adf_only_content_is_degraded_visibly_and_listed_as_loss(target, expected_content, loss_kind):
    description = PANEL_ADF if loss_kind == "panel" else {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "State "},
                                          {"type": "status", "attrs": {"text": "DONE", "color": "green"}}]}]}

    result = plan(make_replica(description=canonical(description, "adf")), make_twin(), target, None)

    assert result.create is not None and result.create.description.content == expected_content
    assert len(result.losses) == 1
    assert result.losses[0].startswith(f"description: {loss_kind}: ")


def test_panel_to_jira_cloud_is_lossless():
    result = plan(make_replica(description=canonical(PANEL_ADF, "adf")), make_twin(), JIRA_CLOUD, None)

    assert result.create is not None and result.create.description.content == PANEL_ADF
    assert result.losses == []


def test_loss_in_comment_is_listed_under_the_comment():
    comment = ReplicaComment(id="c5", author=Person(display_name="Ana Pérez"), body=canonical(PANEL_ADF, "adf"))

    result = plan(make_replica(comments=[comment]), make_twin(), AZURE_DEVOPS, local_item(AZURE_DEVOPS))

    assert [loss.split(":")[0:2] for loss in result.losses] == [["comment c5", " panel"]]


# --------------------------------------------------------------------------------------------------- plan: update


@pytest.mark.parametrize("target", [JIRA_CLOUD, JIRA_DC, AZURE_DEVOPS], ids=["adf", "wiki", "html"])
def test_unchanged_item_gives_empty_plan(target):
    twin = make_twin(comment_map={"c1": CommentLink(local_id="L1", digest=replica_comment("c1", "hi").digest())},
                     attachment_map={"a1": AttachmentLink(local_id="LA1", sha256="ab" * 32)})
    replica = make_replica(comments=[replica_comment("c1", "hi")], attachments=[replica_attachment("a1")])
    local = local_item(target, attachments=[make_attachment("LA1")])

    result = plan(replica, twin, target, local)

    assert result.empty
    assert (result.create, result.update) == (None, None)


@pytest.mark.parametrize(("target", "local_description"), [
    (AZURE_DEVOPS, "<div>Hello <b>world</b></div>"),
    (AZURE_DEVOPS, "Hello&nbsp;<strong>world</strong>"),
    (AZURE_DEVOPS, "<p>Hello\n  <b>world</b></p>\n"),
    (JIRA_DC, "Hello {*}world{*}"),
    (JIRA_DC, "Hello *world*\n\n\n"),
    (JIRA_CLOUD, {"type": "doc", "version": 1, "content": [{"type": "paragraph", "attrs": {"localId": "p-1"},
                  "content": [{"type": "text", "text": "Hello "},
                              {"type": "text", "text": "world", "marks": [{"type": "strong"}]}]}]}),
], ids=["html-div-b", "html-nbsp", "html-whitespace", "wiki-braced-bold", "wiki-trailing-newlines", "adf-local-id"])
def test_local_description_equal_after_conversion_needs_no_update(target, local_description):
    local = local_item(target, description=native(target.text_format, local_description))

    result = plan(make_replica(), make_twin(), target, local)

    assert result.update is None and result.empty


@pytest.mark.parametrize(("target", "local_description"), [
    (JIRA_CLOUD, {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
        {"type": "text", "text": "Hello "},
        {"type": "text", "text": "world", "marks": [{"type": "em"}, {"type": "strong"}]}]}]}),
    (AZURE_DEVOPS, "<p>Hello <em><strong>world</strong></em></p>"),
    (AZURE_DEVOPS, "<p>Hel<span>lo</span> <strong><em>world</em></strong></p>"),
    (AZURE_DEVOPS, "<div>Hello <strong><em>world</em></strong><br></div>"),
], ids=["adf-mark-order", "html-mark-nesting", "html-split-text-run", "html-trailing-br"])
def test_local_description_differing_only_in_mark_order_or_text_runs_needs_no_update(target, local_description):
    bold_italic = {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
        {"type": "text", "text": "Hello "},
        {"type": "text", "text": "world", "marks": [{"type": "strong"}, {"type": "em"}]}]}]}
    local = local_item(target, description=native(target.text_format, local_description))

    result = plan(make_replica(description=canonical(bold_italic, "adf")), make_twin(), target, local)

    assert result.update is None


def test_changed_description_updates_it_in_target_format():
    local = local_item(AZURE_DEVOPS, description=native("html", "<p>Hello <strong>moon</strong></p>"))

    result = plan(make_replica(), make_twin(), AZURE_DEVOPS, local)

    assert result.update == ItemFields(description=native("html", HELLO_HTML))


def test_description_removed_on_partner_clears_local_description():
    result = plan(make_replica(description=None), make_twin(), JIRA_CLOUD, local_item(JIRA_CLOUD))

    assert result.update == ItemFields(description=empty_text("adf"))
    assert result.update.description.is_empty


def test_no_description_on_either_side_needs_no_update():
    local = local_item(AZURE_DEVOPS, description=native("html", ""))

    assert plan(make_replica(description=None), make_twin(), AZURE_DEVOPS, local).empty


def test_changed_summary_updates_only_the_summary():
    result = plan(make_replica(summary="Login fails on Safari"), make_twin(), JIRA_CLOUD, local_item(JIRA_CLOUD))

    assert result.update == ItemFields(summary="Login fails on Safari")
    assert result.create is None


def test_changed_labels_keep_the_local_marker():
    marker = marker_for("conn-1", "acme:10001")

    result = plan(make_replica(labels=["needs review", "backend"]), make_twin(), JIRA_CLOUD, local_item(JIRA_CLOUD))

    assert result.update == ItemFields(labels=["backend", "needs_review", marker])


def test_labels_in_another_order_need_no_update():
    local = local_item(JIRA_CLOUD, labels=[marker_for("conn-1", "acme:10001"), "ui", "backend"])

    assert plan(make_replica(labels=["backend", "ui"]), make_twin(), JIRA_CLOUD, local).empty


def test_changed_type_updates_the_type_but_case_alone_does_not():
    assert plan(make_replica(type="Story"), make_twin(), JIRA_CLOUD, local_item(JIRA_CLOUD)).update == \
        ItemFields(type="Story")
    assert plan(make_replica(type="bug"), make_twin(), JIRA_CLOUD, local_item(JIRA_CLOUD)).empty


# --------------------------------------------------------------------------------------------------- plan: comments


@pytest.mark.parametrize(("target", "expected"), [
    (AZURE_DEVOPS, "<p><strong>Ana Pérez (acme) wrote:</strong></p><p>Looks good</p>"),
    (JIRA_DC, "*Ana Pérez (acme) wrote:*\n\nLooks good\n"),
    (JIRA_CLOUD, {"version": 1, "type": "doc", "content": [
        {"type": "paragraph", "content": [
            {"type": "text", "text": "Ana Pérez (acme) wrote:", "marks": [{"type": "strong"}]}]},
        {"type": "paragraph", "content": [{"type": "text", "text": "Looks good"}]}]}),
], ids=["html", "wiki", "adf"])
def test_new_partner_comment_is_added_with_byline_in_target_format(target, expected):
    comment = replica_comment("c1", "Looks good")

    result = plan(make_replica(comments=[comment]), make_twin(), target, local_item(target))

    assert len(result.comments_add) == 1
    write = result.comments_add[0]
    assert (write.remote_id, write.digest) == ("c1", comment.digest()) and not hasattr(write, "local_id")
    assert write.body == NativeText(format=target.text_format, content=expected)
    assert result.update is None and not result.comments_update and not result.comments_delete


def test_comment_without_author_is_signed_as_someone():
    result = plan(make_replica(comments=[replica_comment("c1", "hi", author=None)]), make_twin(), AZURE_DEVOPS,
                  local_item(AZURE_DEVOPS))

    assert result.comments_add[0].body.content.startswith("<p><strong>Someone (acme) wrote:</strong></p>")


def test_edited_partner_comment_is_updated_through_its_local_id():
    twin = make_twin(comment_map={"c1": CommentLink(local_id="L1", digest=replica_comment("c1", "v1").digest())})
    edited = replica_comment("c1", "v2")

    result = plan(make_replica(comments=[edited]), twin, JIRA_DC, local_item(JIRA_DC))

    assert not result.comments_add and not result.comments_delete
    assert len(result.comments_update) == 1
    write = result.comments_update[0]
    assert (write.remote_id, write.local_id, write.digest) == ("c1", "L1", edited.digest())
    assert write.body == native("wiki", "*Ana Pérez (acme) wrote:*\n\nv2\n")


def test_partner_comment_deleted_is_deleted_locally():
    twin = make_twin(comment_map={
        "c1": CommentLink(local_id="L1", digest=replica_comment("c1", "stays").digest()),
        "c2": CommentLink(local_id="L2", digest="whatever"),
    })

    result = plan(make_replica(comments=[replica_comment("c1", "stays")]), twin, JIRA_CLOUD, local_item(JIRA_CLOUD))

    assert result.comments_delete == [("c2", "L2")]
    assert not result.comments_add and not result.comments_update


# --------------------------------------------------------------------------------------------------- plan: attachments


def test_new_partner_attachment_is_added():
    attachment = replica_attachment("a1", "screen.png")

    result = plan(make_replica(attachments=[attachment]), make_twin(), JIRA_CLOUD, local_item(JIRA_CLOUD))

    assert result.attachments_add == [attachment]
    assert not result.attachments_delete


def test_new_partner_attachment_is_added_on_first_sync():
    result = plan(make_replica(attachments=[replica_attachment("a1")]), make_twin(), JIRA_CLOUD, None)

    assert [a.id for a in result.attachments_add] == ["a1"]


def test_linked_attachment_someone_removed_locally_is_not_added_again():
    twin = make_twin(attachment_map={"a1": AttachmentLink(local_id="LA1", sha256="ab" * 32)})

    result = plan(make_replica(attachments=[replica_attachment("a1")]), twin, JIRA_CLOUD, local_item(JIRA_CLOUD))

    assert result.empty


def test_attachment_removed_on_partner_is_deleted_when_still_present_locally():
    twin = make_twin(attachment_map={"a1": AttachmentLink(local_id="LA1", sha256="ab" * 32),
                                     "a2": AttachmentLink(local_id="LA2", sha256="cd" * 32)})
    local = local_item(JIRA_CLOUD, attachments=[make_attachment("LA1"), make_attachment("LA2")])

    result = plan(make_replica(attachments=[replica_attachment("a1")]), twin, JIRA_CLOUD, local)

    assert result.attachments_delete == [("a2", "LA2")]
    assert not result.attachments_add


def test_attachment_removed_on_partner_and_already_gone_locally_is_not_deleted():
    twin = make_twin(attachment_map={"a2": AttachmentLink(local_id="LA2", sha256="cd" * 32)})

    result = plan(make_replica(attachments=[]), twin, JIRA_CLOUD, local_item(JIRA_CLOUD, attachments=[]))

    assert result.attachments_delete == []
    assert result.empty


# --------------------------------------------------------------------------------------------------- both ways


@pytest.mark.parametrize("target", [JIRA_CLOUD, JIRA_DC, AZURE_DEVOPS], ids=["adf", "wiki", "html"])
def test_applying_a_plan_then_planning_again_gives_empty_plan(target):
    """What create + comment writes leave on the receiving side must not trigger another round of writes."""
    source = make_item(
        labels=["needs review", "backend"], attachments=[make_attachment("a1")],
        description=native("adf", {"type": "doc", "version": 1, "content": [
            {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Steps"}]},
            {"type": "orderedList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [
                    {"type": "text", "text": "open "},
                    {"type": "text", "text": "login", "marks": [{"type": "code"}]}]}]},
                {"type": "listItem", "content": [{"type": "paragraph", "content": [
                    {"type": "text", "text": "see docs", "marks": [
                        {"type": "link", "attrs": {"href": "https://docs.acme.test/login"}}]}]}]}]},
            {"type": "codeBlock", "attrs": {"language": "python"}, "content": [{"type": "text", "text": "login()"}]},
        ]}),
    )
    replica = outgoing(source, [make_comment("c1", "first"), make_comment("c2", "second")], make_twin(),
                       {"a1": ("bucket/a1", "11" * 32)})
    twin = make_twin()

    first = plan(replica, twin, target, None)
    assert first.create is not None
    created = local_item(target, type=first.create.type, summary=first.create.summary,
                         description=first.create.description, labels=first.create.labels,
                         attachments=[make_attachment("LA1")])
    for number, write in enumerate(first.comments_add):
        twin.comment_map[write.remote_id] = CommentLink(local_id=f"L{number}", digest=write.digest)
    for attachment in first.attachments_add:
        twin.attachment_map[attachment.id] = AttachmentLink(local_id="LA1", sha256=attachment.sha256)

    second = plan(replica, twin, target, created)

    assert second.empty, second
    back = outgoing(created, [], twin)
    assert back.comments == [] and back.attachments == []
