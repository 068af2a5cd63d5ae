"""The recipes people write sync rules for (the design brief's 22, ../shared/design/script-mode.md §1.4), each as
the admin would publish it, run end to end between two in-process nodes: Jira Cloud (side a) and Azure DevOps
(side b), real tracker clients against the simulators, moto for AWS, rules through the guarded script runner.
Each test names the recipe numbers it covers."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from twinbridge.models.rules import SaveRulesRequest
from twinbridge.models.tracker import ItemFields, TrackerItem
from twinbridge.services import rules
from twinbridge.services.sync_in import find_by_marker
from twinbridge.sync.basic_rules import marker_for
from twinbridge_tools.convergence.pair import CONNECTION_ID, PROJECT, Pair, converging_pair

JIRA, ADO = "a", "b"

# Recipe 1, both ways, strict: an unmapped value fails that twin with the line, not the connection.
JIRA_TO_ADO_STATES = '''
STATES = {"To Do": "New", "In Progress": "Active", "Done": "Closed"}

def incoming(replica, local, ctx):
    return {"summary": replica["summary"], "status": lookup(STATES, replica["status"])}
'''
ADO_TO_JIRA_STATES = '''
STATES = {"New": "To Do", "Active": "In Progress", "Resolved": "Done", "Closed": "Done"}

def incoming(replica, local, ctx):
    return {"summary": replica["summary"], "status": lookup(STATES, replica["status"])}
'''


@pytest.fixture
def pair() -> Iterator[Pair]:
    with converging_pair("jira-cloud/azure-devops", mode="script") as made:
        yield made


def publish(pair: Pair, side: str, direction: str, source: str) -> int:
    deps = pair.nodes[side].deps
    saved = rules.save(deps, CONNECTION_ID, direction, SaveRulesRequest(source=source), author="admin")  # type: ignore[arg-type]
    assert not [d for d in saved.diagnostics if d.severity == "error"], saved.diagnostics
    return rules.publish(deps, CONNECTION_ID, direction, saved.version, author="admin").version  # type: ignore[arg-type]


def copy_of(pair: Pair, side: str, item: TrackerItem) -> TrackerItem | None:
    other = "b" if side == "a" else "a"
    twin_id = f"{pair.nodes[side].spec.short}:{item.id}"
    from datetime import UTC, datetime

    return find_by_marker(pair.nodes[other].person, PROJECT, marker_for(CONNECTION_ID, twin_id),
                          datetime(2000, 1, 1, tzinfo=UTC))


def create(pair: Pair, side: str, summary: str, **fields: object) -> TrackerItem:
    item = pair.nodes[side].person.create_item(PROJECT, ItemFields(type="Task", summary=summary, **fields))
    pair.notify(side, item.key)
    return item


def twin_error(pair: Pair, side: str, twin_id: str) -> dict | None:
    twin = pair.nodes[side].deps.twins.get(CONNECTION_ID, twin_id)
    assert twin is not None
    return None if twin.last_error is None else twin.last_error.model_dump(mode="json")


def test_status_maps_both_ways_and_an_unmapped_state_fails_only_that_twin(pair):  # recipes 1, 2
    publish(pair, ADO, "incoming", JIRA_TO_ADO_STATES)
    publish(pair, JIRA, "incoming", ADO_TO_JIRA_STATES)
    jira, ado = pair.nodes[JIRA].person, pair.nodes[ADO].person
    first, second = create(pair, JIRA, "Printer on fire"), create(pair, JIRA, "Toner low")
    pair.quiesce()
    copy = copy_of(pair, JIRA, first)
    assert copy is not None and copy.status == "New"

    jira.change_status(first.key, "In Progress")
    pair.notify(JIRA, first.key)
    pair.quiesce()
    assert ado.get_item(copy.key).status == "Active"

    ado.change_status(copy.key, "Closed")
    pair.notify(ADO, copy.key)
    pair.quiesce()
    assert jira.get_item(first.key).status == "Done"

    # "Removed" is not in the table: this twin fails at the lookup's line; the other twin keeps flowing
    ado.change_status(copy.key, "Removed")
    pair.notify(ADO, copy.key)
    other = copy_of(pair, JIRA, second)
    ado.update_item(other.key, ItemFields(summary="Toner very low"))
    pair.notify(ADO, other.key)
    pair.quiesce()
    error = twin_error(pair, JIRA, f"alpha:{first.id}")
    assert error is not None and error["script"]["line"] == 5 and error["script"]["rules_version"] == 1
    assert "no mapping for 'Removed' (known: Active, Closed, New, Resolved)" in error["reason"]
    assert "incoming.star:5" in error["script"]["frame"]
    assert jira.get_item(first.key).status == "Done"
    assert jira.get_item(second.key).summary == "Toner very low"
    assert twin_error(pair, JIRA, f"alpha:{second.id}") is None
    conn = pair.nodes[JIRA].deps.connections.get(CONNECTION_ID)
    assert conn.status.value == "active"  # never paused


def test_a_published_fix_is_used_for_the_next_change(pair):  # versions: rules change without a redeploy
    publish(pair, ADO, "incoming", JIRA_TO_ADO_STATES)
    publish(pair, JIRA, "incoming", ADO_TO_JIRA_STATES)
    item = create(pair, JIRA, "Printer on fire")
    pair.quiesce()
    copy = copy_of(pair, JIRA, item)
    fixed = ADO_TO_JIRA_STATES.replace('"Closed": "Done"}', '"Closed": "Done", "Removed": "Done"}')
    assert publish(pair, JIRA, "incoming", fixed) == 2
    pair.nodes[ADO].person.change_status(copy.key, "Removed")
    pair.notify(ADO, copy.key)
    pair.quiesce()
    assert pair.nodes[JIRA].person.get_item(item.key).status == "Done"
    assert twin_error(pair, JIRA, f"alpha:{item.id}") is None


def test_publishing_a_fix_requeues_the_twins_that_failed_under_the_old_version(pair):  # §3.5
    publish(pair, ADO, "incoming", JIRA_TO_ADO_STATES)
    publish(pair, JIRA, "incoming", ADO_TO_JIRA_STATES)
    item = create(pair, JIRA, "Printer on fire")
    pair.quiesce()
    copy = copy_of(pair, JIRA, item)
    pair.nodes[ADO].person.change_status(copy.key, "Removed")
    pair.notify(ADO, copy.key)
    pair.quiesce()
    assert twin_error(pair, JIRA, f"alpha:{item.id}")["script"]["rules_version"] == 1

    fixed = ADO_TO_JIRA_STATES.replace('"Closed": "Done"}', '"Closed": "Done", "Removed": "Done"}')
    saved = rules.save(pair.nodes[JIRA].deps, CONNECTION_ID, "incoming", SaveRulesRequest(source=fixed), author="a")
    published = rules.publish(pair.nodes[JIRA].deps, CONNECTION_ID, "incoming", saved.version, author="a")
    assert published.requeued == 1
    pair.quiesce()  # no new change on either side: the pending replica is applied again, under version 2
    assert pair.nodes[JIRA].person.get_item(item.key).status == "Done"
    assert twin_error(pair, JIRA, f"alpha:{item.id}") is None
    twin = pair.nodes[JIRA].deps.twins.get(CONNECTION_ID, f"alpha:{item.id}")
    assert twin.rules_versions == {"outgoing": 0, "incoming": 2}  # which rules made the last send and apply


def test_a_runaway_or_hostile_rule_fails_only_its_twin_within_the_limits(pair):  # the sandbox, in the sync path
    publish(pair, ADO, "incoming", '''
def incoming(replica, local, ctx):
    if replica["summary"] == "loop":
        for i in range(2147483647):
            for j in range(2147483647):
                pass
    if replica["summary"] == "memory":
        x = ["x" * 1000]
        for i in range(40):
            x = x + x
    if replica["summary"] == "escape":
        return {"summary": "{0.__globals__}".format(users.by_email)}
    return {"summary": replica["summary"]}
''')
    bad = [create(pair, JIRA, name) for name in ("loop", "memory", "escape")]
    good = create(pair, JIRA, "Printer on fire")
    pair.quiesce()
    assert copy_of(pair, JIRA, good) is not None
    for item, kind in zip(bad, ("limit", "limit", "error"), strict=True):
        assert copy_of(pair, JIRA, item) is None
        error = twin_error(pair, ADO, f"alpha:{item.id}")
        assert error is not None and error["script"]["kind"] == kind, error
        assert "/work" not in error["reason"] and "Traceback (most recent call last):\n  File \"/" not in error["script"]["frame"]
    pair.nodes[JIRA].person.update_item(good.key, ItemFields(summary="Printer still on fire"))
    pair.notify(JIRA, good.key)
    pair.quiesce()  # the same worker (or its respawn) keeps serving the connection
    assert pair.nodes[ADO].person.get_item(copy_of(pair, JIRA, good).key).summary == "Printer still on fire"


def test_priority_map_with_a_default_and_type_on_first_sync_only(pair):  # recipes 3, 6, 7
    publish(pair, ADO, "incoming", '''
PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4"}
TYPES = {"Bug": "Bug", "Story": "User Story", "Task": "Task"}

def incoming(replica, local, ctx):
    changes = {"priority": PRIORITIES.get(replica["priority"] or "", "3"), "description": replica["description"]}
    if ctx["first_sync"]:
        changes["summary"] = replica["summary"]  # set once, then owned here
        changes["type"] = TYPES.get(replica["type"], "Task")
    return changes
''')
    jira, ado = pair.nodes[JIRA].person, pair.nodes[ADO].person
    item = jira.create_item(PROJECT, ItemFields(type="Story", summary="Login page", priority="High"))
    pair.notify(JIRA, item.key)
    pair.quiesce()
    copy = copy_of(pair, JIRA, item)
    assert (copy.type, copy.priority, copy.summary) == ("User Story", "2", "Login page")

    jira.update_item(item.key, ItemFields(summary="Login page, renamed", priority="Highest"))
    pair.notify(JIRA, item.key)
    pair.quiesce()
    copy = ado.get_item(copy.key)
    assert (copy.priority, copy.summary) == ("1", "Login page")


def test_assignee_by_email_with_a_fallback_user(pair):  # recipe 4
    jira_sim = pair.nodes[JIRA].sim
    jira_sim.add_user("ben-jira", "Ben", "ben@example.com", "s1")
    jira_sim.add_user("triage", "Triage", "triage@example.com", "s2")
    publish(pair, JIRA, "incoming", '''
def incoming(replica, local, ctx):
    who = replica["assignee"]
    user = users.by_email(who["email"]) if who and who["email"] else None
    return {"summary": replica["summary"], "assignee": user or users.by_email("triage@example.com")}
''')
    ado = pair.nodes[ADO].person
    mine = ado.create_item(PROJECT, ItemFields(type="Task", summary="Mine", assignee_account_id="ben@example.com"))
    nobody = ado.create_item(PROJECT, ItemFields(type="Task", summary="Nobody's"))
    for key in (mine.key, nobody.key):
        pair.notify(ADO, key)
    pair.quiesce()
    assert copy_of(pair, ADO, mine).assignee.account_id == "ben-jira"
    assert copy_of(pair, ADO, nobody).assignee.account_id == "triage"

    more = [ado.create_item(PROJECT, ItemFields(type="Task", summary=f"Nobody's {n}")) for n in range(3)]
    for item in more:
        pair.notify(ADO, item.key)
    pair.quiesce()
    assert all(copy_of(pair, ADO, item).assignee.account_id == "triage" for item in more)
    searches = [r for r in jira_sim.requests if r.path.endswith("/user/search")]
    assert [r.param("query") for r in searches].count("triage@example.com") == 1  # looked up once, then cached


def test_only_items_labelled_for_the_partner_are_shared_without_that_label(pair):  # recipes 8, 20
    publish(pair, JIRA, "outgoing", '''
SHARE = "share-with-fabrikam"

def outgoing(item, replica, ctx):
    if SHARE not in item["labels"]:
        return None
    replica["labels"] = [l for l in item["labels"] if l != SHARE and not l.startswith("internal-")]
    return replica
''')
    jira = pair.nodes[JIRA].person
    private = create(pair, JIRA, "Ours only", labels=["internal-audit"])
    shared = create(pair, JIRA, "For them", labels=["share-with-fabrikam", "internal-audit", "printer"])
    pair.quiesce()
    assert copy_of(pair, JIRA, private) is None
    copy = copy_of(pair, JIRA, shared)
    assert copy is not None and [label for label in copy.labels if not label.startswith("twinbridge-")] == ["printer"]

    jira.update_item(private.key, ItemFields(labels=["internal-audit", "share-with-fabrikam"]))  # shared later
    pair.notify(JIRA, private.key)
    pair.quiesce()
    assert copy_of(pair, JIRA, private) is not None


CUSTOM_OUT = '''
def outgoing(item, replica, ctx):
    fields = item["fields"]
    sprint = fields.get("customfield_10020")
    replica["custom_fields"] = {
        "tier": fields["customfield_10100"]["value"] if fields.get("customfield_10100") else None,
        "story_points": fields.get("customfield_10016"),
        "sprint": sprint[-1]["name"] if sprint else None,
        "epic_id": fields.get("customfield_10014"),
    }
    return replica
'''
CUSTOM_IN = '''
AREAS = {"backend": "CNV\\\\Platform", "web": "CNV\\\\Web"}

def incoming(replica, local, ctx):
    extra = replica["custom_fields"]
    fields = {"Custom.Tier": extra.get("tier"), "Custom.JiraKey": ctx["twin"]["remote_key"]}
    areas = [AREAS[l] for l in replica["labels"] if l in AREAS]
    fields["System.AreaPath"] = areas[0] if areas else "CNV"
    if extra.get("sprint"):
        fields["System.IterationPath"] = "CNV\\\\" + extra["sprint"]
    if extra.get("story_points") != None:
        fields["Microsoft.VSTS.Scheduling.StoryPoints"] = float(extra["story_points"])
    if extra.get("epic_id"):
        parent = links.local(extra["epic_id"])
        if parent == None:
            return defer("epic %s is not synced yet" % extra["epic_id"])
        fields["Custom.EpicWorkItem"] = parent["key"]
    return {"summary": replica["summary"], "labels": replica["labels"], "fields": fields}
'''


def test_custom_fields_story_points_sprint_area_path_and_remote_key(pair):  # recipes 9, 10, 11, 12, 17
    publish(pair, JIRA, "outgoing", CUSTOM_OUT)
    publish(pair, ADO, "incoming", CUSTOM_IN)
    item = pair.nodes[JIRA].person.create_item(PROJECT, ItemFields(
        type="Task", summary="Checkout API", labels=["backend"],
        custom_fields={"customfield_10100": {"value": "Gold"}, "customfield_10016": 5,
                       "customfield_10020": [{"id": 4, "name": "Sprint 4"}, {"id": 5, "name": "Sprint 5"}]}))
    pair.notify(JIRA, item.key)
    pair.quiesce()
    fields = copy_of(pair, JIRA, item).custom_fields
    assert fields["Custom.Tier"] == "Gold" and fields["Microsoft.VSTS.Scheduling.StoryPoints"] == 5.0
    assert fields["System.IterationPath"] == "CNV\\Sprint 5" and fields["System.AreaPath"] == "CNV\\Platform"
    assert fields["Custom.JiraKey"] == item.key


def test_a_child_waits_for_its_parent_with_defer(pair):  # recipe 13
    publish(pair, JIRA, "outgoing", CUSTOM_OUT.replace("return replica", '''if item["labels"] == ["later"]:
        return None
    return replica'''))
    publish(pair, ADO, "incoming", CUSTOM_IN)
    jira = pair.nodes[JIRA].person
    epic = create(pair, JIRA, "The epic", labels=["later"])  # not shared yet
    child = create(pair, JIRA, "The story", custom_fields={"customfield_10014": None})
    jira.update_item(child.key, ItemFields(custom_fields={"customfield_10014": epic.id}))
    pair.notify(JIRA, child.key)
    pair.quiesce()
    assert copy_of(pair, JIRA, child) is None  # deferred: retried, not created, not an error yet
    error = twin_error(pair, ADO, f"alpha:{child.id}")
    assert error is not None and error["script"]["kind"] == "defer" and "is not synced yet" in error["reason"]

    jira.update_item(epic.key, ItemFields(labels=["epic"]))  # now the epic is shared
    pair.notify(JIRA, epic.key)
    pair.quiesce()
    pair.notify(JIRA, child.key)  # (the retry after the queue's backoff)
    pair.nodes[JIRA].person.update_item(child.key, ItemFields(summary="The story, again"))
    pair.quiesce()
    copy = copy_of(pair, JIRA, child)
    assert copy is not None and copy.custom_fields["Custom.EpicWorkItem"] == copy_of(pair, JIRA, epic).key


def test_internal_comments_stay_home_and_incoming_comments_can_be_left_out(pair):  # recipes 14, 15
    publish(pair, JIRA, "outgoing", '''
def outgoing(item, replica, ctx):
    internal = [c["id"] for c in item["comments"] if c["internal"]]
    replica["comments"] = [c for c in replica["comments"] if c["id"] not in internal]
    return replica
''')
    item = create(pair, JIRA, "Printer on fire")
    sim = pair.nodes[JIRA].sim
    jira = pair.nodes[JIRA].person
    jira.add_comment(item.key, pair.text(JIRA, "Customer can see this"))
    restricted = sim.url + f"/rest/api/3/issue/{item.key}/comment"
    body = {"body": pair.text(JIRA, "Only for admins").content, "visibility": {"type": "role", "value": "Administrators"}}
    import requests

    requests.post(restricted, json=body, auth=("ana@example.com", pair_secret("ana")), timeout=10).raise_for_status()
    pair.notify(JIRA, item.key)
    pair.quiesce()
    copy = copy_of(pair, JIRA, item)
    texts = [c.body.content for c in pair.nodes[ADO].person.list_comments(copy.key)]
    assert len(texts) == 1 and "Customer can see this" in texts[0]

    # the ADO side takes the partner's fields but none of its comments
    publish(pair, ADO, "incoming", 'def incoming(replica, local, ctx):\n    return {"summary": replica["summary"]}\n')
    jira.add_comment(item.key, pair.text(JIRA, "A second public one"))
    jira.update_item(item.key, ItemFields(summary="Printer still on fire"))
    pair.notify(JIRA, item.key)
    pair.quiesce()
    copy = pair.nodes[ADO].person.get_item(copy.key)
    assert copy.summary == "Printer still on fire"
    assert len(pair.nodes[ADO].person.list_comments(copy.key)) == 1


def test_attachments_filtered_by_type_and_size(pair):  # recipe 16
    publish(pair, JIRA, "outgoing", '''
def outgoing(item, replica, ctx):
    replica["attachments"] = [a for a in replica["attachments"]
                              if (a["size"] or 0) <= 1000 and a["mime_type"] in ("text/plain", "application/pdf")]
    return replica
''')
    item = create(pair, JIRA, "Logs attached")
    jira = pair.nodes[JIRA].person
    jira.upload_attachment(item.key, "small.txt", io.BytesIO(b"hello"), 5)
    jira.upload_attachment(item.key, "big.txt", io.BytesIO(b"x" * 5000), 5000)
    jira.upload_attachment(item.key, "tool.exe", io.BytesIO(b"MZ"), 2)
    pair.notify(JIRA, item.key)
    pair.quiesce()
    copy = copy_of(pair, JIRA, item)
    assert [a.filename for a in pair.nodes[ADO].person.get_item(copy.key).attachments] == ["small.txt"]


def pair_secret(user: str) -> str:
    from twinbridge_tools.convergence.pair import _secret

    return _secret(user)


def test_a_required_field_default_lets_the_transition_validator_pass(pair):  # recipes 19, 21
    pair.nodes[JIRA].sim.projects[PROJECT].required["Done"] = ("customfield_10200", "Resolution note")
    publish(pair, JIRA, "incoming", ADO_TO_JIRA_STATES)
    item = create(pair, JIRA, "Printer on fire")
    pair.quiesce()
    copy = copy_of(pair, JIRA, item)
    pair.nodes[ADO].person.change_status(copy.key, "Closed")
    pair.notify(ADO, copy.key)
    pair.quiesce()
    error = twin_error(pair, JIRA, f"alpha:{item.id}")
    assert error is not None and "Resolution note is required" in error["reason"]  # the validator said no
    assert error["script"]["rules_version"] == 1 and error["reason"].startswith("rules v1: ")

    fixed = ADO_TO_JIRA_STATES.replace(
        '"status": lookup(STATES, replica["status"])}',
        '"status": lookup(STATES, replica["status"]),\n'
        '            "fields": {"customfield_10200": "Closed in Fabrikam"} if replica["status"] == "Closed" else {}}')
    assert publish(pair, JIRA, "incoming", fixed) == 2  # the fix queues the failed twin again
    pair.quiesce()
    done = pair.nodes[JIRA].person.get_item(item.key)
    assert done.status == "Done" and done.custom_fields["customfield_10200"] == "Closed in Fabrikam"


def test_a_hidden_email_arrives_as_none_and_the_fallback_applies(pair):  # recipe 4, privacy settings
    pair.nodes[JIRA].sim.add_user("zoe", "Zoe", "zoe@example.com", "s3", email_visible=False)
    publish(pair, ADO, "incoming", '''
def incoming(replica, local, ctx):
    who = replica["assignee"]
    log("assignee e-mail: %s" % (who["email"] if who else "-"))
    user = users.by_email(who["email"]) if who and who["email"] else None
    return {"summary": replica["summary"], "assignee": user or {"account_id": "ben@example.com"}}
''')
    item = create(pair, JIRA, "Printer on fire", assignee_account_id="zoe")
    pair.quiesce()
    replica_assignee = pair.nodes[JIRA].person.get_item(item.key).assignee
    assert replica_assignee.account_id == "zoe" and replica_assignee.email is None
    assert copy_of(pair, JIRA, item).assignee.email == "ben@example.com"


def test_a_status_is_taken_only_from_a_given_local_state(pair):  # recipe 2
    publish(pair, JIRA, "incoming", '''
def incoming(replica, local, ctx):
    changes = {"summary": replica["summary"]}
    if local and local["status"] == "In Progress" and replica["status"] == "Closed":
        changes["status"] = "Done"              # only work in progress is closed from the partner's side
    return changes
''')
    jira, ado = pair.nodes[JIRA].person, pair.nodes[ADO].person
    waiting, started = create(pair, JIRA, "Not started"), create(pair, JIRA, "Started")
    jira.change_status(started.key, "In Progress")
    pair.quiesce()
    for item in (waiting, started):
        ado.change_status(copy_of(pair, JIRA, item).key, "Closed")
        pair.notify(ADO, copy_of(pair, JIRA, item).key)
    pair.quiesce()
    assert jira.get_item(waiting.key).status == "To Do"
    assert jira.get_item(started.key).status == "Done"


def test_incoming_comments_with_the_rules_own_byline_and_the_project_types_in_ctx(pair):  # recipe 15 (byline)
    publish(pair, ADO, "incoming", '''
def incoming(replica, local, ctx):
    kind = "User Story" if replica["type"] == "Story" and "User Story" in ctx["types"] else "Task"
    return {"summary": replica["summary"], "type": kind,
            "comments": {"merge": True, "byline": "From Contoso, {author} on {side}:"}}
''')
    item = pair.nodes[JIRA].person.create_item(PROJECT, ItemFields(type="Story", summary="Login page"))
    pair.nodes[JIRA].person.add_comment(item.key, pair.text(JIRA, "Please check"))
    pair.notify(JIRA, item.key)
    pair.quiesce()
    copy = copy_of(pair, JIRA, item)
    (comment,) = pair.nodes[ADO].person.list_comments(copy.key)
    assert copy.type == "User Story"
    assert "From Contoso, Ana on alpha:" in comment.body.content and "Please check" in comment.body.content


def test_the_reporter_as_text_in_front_of_the_description(pair):  # recipe 5
    publish(pair, ADO, "incoming", '''
def incoming(replica, local, ctx):
    who = replica["reporter"]["display_name"] if replica["reporter"] else "someone"
    line = {"t": "Paragraph", "children": [{"t": "Text", "text": "Reported by %s (%s)" % (who, ctx["connection"]["remote"])}]}
    body = replica["description"] or {"v": 1, "t": "Document", "blocks": []}
    return {"summary": replica["summary"], "description": dict(body, blocks = [line] + body["blocks"])}
''')
    item = pair.nodes[JIRA].person.create_item(PROJECT, ItemFields(
        type="Task", summary="Printer on fire", description=pair.text(JIRA, "Smoke everywhere")))
    pair.notify(JIRA, item.key)
    pair.quiesce()
    html = copy_of(pair, JIRA, item).description.content
    assert html.index("Reported by Ana (alpha)") < html.index("Smoke everywhere")


def test_sharing_stops_when_the_item_is_closed(pair):  # recipe 18
    publish(pair, JIRA, "outgoing", '''
def outgoing(item, replica, ctx):
    return None if item["status"] == "Done" else replica
''')
    jira, ado = pair.nodes[JIRA].person, pair.nodes[ADO].person
    item = create(pair, JIRA, "Printer on fire")
    pair.quiesce()
    copy = copy_of(pair, JIRA, item)
    jira.change_status(item.key, "Done")
    jira.update_item(item.key, ItemFields(summary="Printer fixed"))
    pair.notify(JIRA, item.key)
    pair.quiesce()
    assert ado.get_item(copy.key).summary == "Printer on fire"  # a closed item is no longer shared
    twin = pair.nodes[JIRA].deps.twins.get(CONNECTION_ID, f"alpha:{item.id}")
    assert twin is not None and twin.last_error is None  # still linked, nothing failed
