"""The script-mode contract (sync/script_rules.py): what a rule is given and which answers are accepted. A rule is
the node admin's, but its answer is still data: it cannot re-point the replica at another item, invent files or
comments, or write keys nobody defined, and every refusal says what was wrong."""

from __future__ import annotations

import pytest

from tests.unit.sync.test_basic_rules import (
    make_comment,
    make_item,
    make_replica,
    make_twin,
    replica_attachment,
    replica_comment,
)
from twinbridge.models.tracker import UserRef
from twinbridge.sync import basic_rules
from twinbridge.sync.script_rules import (
    ScriptResultError,
    add_extras,
    incoming_result,
    item_view,
    outgoing_result,
    replica_view,
    scripted_replica,
)


def test_the_item_a_rule_sees_is_plain_data_with_internal_comments_and_partner_copies_marked():
    item = make_item(custom_fields={"customfield_10016": 5}, assignee=UserRef(account_id="u-2", email=None))
    twin = make_twin(comment_map={"r-1": {"local_id": "c-2", "digest": "d"}})
    comments = [make_comment("c-1", "mine", internal=True), make_comment("c-2", "theirs")]
    view = item_view(item, comments, twin)
    assert view["fields"] == {"customfield_10016": 5} and view["assignee"]["email"] is None
    assert [(c["id"], c["internal"], c["from_partner"]) for c in view["comments"]] == [
        ("c-1", True, False), ("c-2", False, True)]
    assert view["description"]["t"] == "Document"  # canonical rich text, the same whatever the tracker


def test_an_outgoing_answer_keeps_the_item_and_may_only_drop_files_and_comments():
    default = make_replica(comments=[replica_comment("c-1", "a"), replica_comment("c-2", "b")],
                           attachments=[replica_attachment("f-1"), replica_attachment("f-2")])
    answer = replica_view(default)
    answer["item"] = {"id": "999", "key": "OTHER-1", "url": "https://elsewhere"}  # ignored: not the rule's to pick
    answer["comments"] = answer["comments"][1:]
    answer["attachments"] = answer["attachments"][:1]
    answer["summary"] = "[ACME] Login fails"
    made = outgoing_result(answer, default)
    assert made.item == default.item and made.summary == "[ACME] Login fails"
    assert [c.id for c in made.comments] == ["c-2"]
    assert made.attachments == default.attachments[:1]  # the staged object and hash are the sender's, untouched
    assert outgoing_result(None, default) is None


@pytest.mark.parametrize("change, message", [
    (lambda r: r["attachments"].append({"id": "f-9", "filename": "x"}), "an attachment in the replica is not one"),
    (lambda r: r["comments"].append({"id": "c-9", "body": {}}), "a comment in the replica is not one"),
    (lambda r: r.update(labels="not a list"), "the replica is not valid: labels"),
])
def test_an_outgoing_answer_that_invents_or_breaks_something_is_refused(change, message):
    default = make_replica(comments=[replica_comment("c-1", "a")], attachments=[replica_attachment("f-1")])
    answer = replica_view(default)
    change(answer)
    with pytest.raises(ScriptResultError, match=message):
        outgoing_result(answer, default)
    with pytest.raises(ScriptResultError, match="must return the replica"):
        outgoing_result(["a list"], default)


def test_an_incoming_answer_names_only_known_keys_with_the_right_types():
    with pytest.raises(ScriptResultError, match=r"unknown keys colour, stauts \(known: assignee, attachments"):
        incoming_result({"stauts": "Done", "colour": "red"})
    with pytest.raises(ScriptResultError, match="labels has the wrong type"):
        incoming_result({"labels": "a,b"})
    with pytest.raises(ScriptResultError, match="assignee must be a user"):
        incoming_result({"assignee": "ana@example.com"})
    with pytest.raises(ScriptResultError, match="comments must be one of merge, none"):
        incoming_result({"comments": "all"})
    assert incoming_result(None).ignored


def test_only_the_fields_a_rule_names_are_planned_and_the_extras_join_the_update():
    twin = make_twin()
    replica = make_replica(summary="New title", labels=["x"], status="Active", priority="2")
    target = basic_rules.Target(text_format="adf", issue_types=["Bug", "Task"], default_type="Task",
                                remote_short_name="beta", labels_allow_spaces=False)
    local = make_item(summary="Old title", labels=["backend"], priority="Medium", custom_fields={})
    writes = incoming_result({"summary": replica.summary, "priority": "High", "status": "In Progress",
                              "fields": {"customfield_10016": 3}, "description": "plain words"})
    plan = basic_rules.plan(scripted_replica(replica, writes), twin, target, local, only=writes.taken,
                            comments=writes.comments, attachments=writes.attachments)
    add_extras(plan, writes, local)
    assert plan.update is not None
    assert plan.update.summary == "New title" and plan.update.labels is None  # labels not named: left alone
    assert plan.update.priority == "High" and plan.update.custom_fields == {"customfield_10016": 3}
    assert plan.update.description is not None  # a plain string becomes paragraphs in the tracker's format
    assert writes.status == "In Progress" and not plan.comments_add


def test_a_comment_byline_template_only_fills_author_and_side():
    writes = incoming_result({"comments": {"merge": True, "byline": "{author.__class__} of {side}: {0}"}})
    assert writes.comments and writes.byline == "{author.__class__} of {side}: {0}"
    target = basic_rules.Target(text_format="adf", issue_types=["Task"], default_type="Task",
                                remote_short_name="beta", labels_allow_spaces=False, byline=writes.byline)
    byline = basic_rules.byline_for(replica_comment("c-1", "hi", author="Ana"), target)
    assert byline.children[0].text == "{author.__class__} of beta: {0}"  # no formatting beyond the two names
    no_byline = basic_rules.Target(**{**target.__dict__, "byline": ""})
    assert basic_rules.byline_for(replica_comment("c-1", "hi"), no_byline) is None
    with pytest.raises(ScriptResultError, match="comments must be"):
        incoming_result({"comments": {"merge": True, "internal": True}})
