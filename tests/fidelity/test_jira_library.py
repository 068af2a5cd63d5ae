"""pycontribs ``jira`` (the client library people point at Jira) against the Jira simulator, Cloud and Data Center,
out of the box: only the library's own constructor options. Every exchange after the constructor's ``serverInfo``
call is also checked against the vendor's OpenAPI document (``serverInfo`` is checked in the simulator's tests)."""

from __future__ import annotations

import io
import re

import pytest
from jira import JIRA, JIRAError

from twinbridge_tools.simulators.jira import JiraSimulator

TOKEN = "tok-lib-secret"
# Outside the REST documents: Jira DC's attachment download servlet. The library's own quirk: it sends Python's
# str(False) where Cloud's document lists 'true'/'false' (Jira parses booleans case-insensitively).
TOLERATED = re.compile(r"GET /secure/attachment/\d+/[^:]+: unknown path|query parameter deleteSubtasks='False'")


@pytest.fixture(params=["cloud", "dc"])
def flavour(request):
    return request.param


@pytest.fixture
def sim(flavour):
    with JiraSimulator(flavour) as simulator:
        simulator.add_user("bot", "Sync Bot", "bot@example.com", TOKEN)
        simulator.add_project("PRJ")
        yield simulator


@pytest.fixture
def jira(sim, flavour, contract_session):
    """``jira.JIRA`` as its documentation shows it: basic auth (Cloud: e-mail + API token; DC: user + password)."""
    if flavour == "cloud":
        client = JIRA(sim.url, basic_auth=("bot@example.com", TOKEN), options={"rest_api_version": "3"})
    else:
        client = JIRA(sim.url, basic_auth=("bot", TOKEN))
    contract_session("jira-cloud" if flavour == "cloud" else "jira-dc", strict=False, session=client._session)
    yield client
    unexpected = [str(v) for v in contract_session.take_violations() if not TOLERATED.search(str(v))]
    assert unexpected == []


def rich(flavour: str, text: str):
    """A description or comment body: ADF on Cloud's REST v3, wiki markup on DC's v2."""
    if flavour == "cloud":
        return {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text",
                                                                                           "text": text}]}]}
    return text


def test_the_library_connects_and_sees_the_deployment_type(jira, flavour):
    assert jira.deploymentType == ("Cloud" if flavour == "cloud" else "Server")
    assert jira.myself()["displayName"] == "Sync Bot"


def test_create_read_update_and_delete_an_issue(jira, sim, flavour):
    issue = jira.create_issue(project="PRJ", summary="From the library", issuetype={"name": "Bug"},
                              description=rich(flavour, "body"), labels=["one"])
    read = jira.issue(issue.key)
    assert (read.fields.summary, read.fields.issuetype.name, read.fields.labels) == ("From the library", "Bug", ["one"])
    read.update(summary="Renamed", description=rich(flavour, "new body"))
    jira.issue(issue.key).add_field_value("labels", "two")
    after = jira.issue(issue.key)

    assert after.fields.summary == "Renamed" and after.fields.labels == ["one", "two"]
    assert sim.issues[issue.key].description == rich(flavour, "new body")
    history = jira.issue(issue.key, expand="changelog").changelog.histories
    assert sorted(item.field for h in history for item in h.items) == ["description", "labels", "summary"]
    after.delete()
    with pytest.raises(JIRAError) as gone:
        jira.issue(issue.key)
    assert gone.value.status_code == 404


def test_search_with_jql_pages_through_the_matches(jira, flavour):
    keys = [jira.create_issue(project="PRJ", summary=f"n{n}", issuetype={"name": "Task"},
                              labels=["even" if n % 2 == 0 else "odd"]).key for n in range(5)]

    evens = jira.search_issues('project = PRJ AND labels = even ORDER BY created ASC', maxResults=False)
    text = jira.search_issues('project = "PRJ" AND summary ~ "n3"')
    none = jira.search_issues("project = PRJ AND labels in (missing)")

    assert [i.key for i in evens] == [keys[0], keys[2], keys[4]]
    assert [i.key for i in text] == [keys[3]] and list(none) == []
    with pytest.raises(JIRAError) as bad:
        jira.search_issues("project = PRJ AND nosuchfield = 1")
    assert bad.value.status_code == 400 and "nosuchfield" in bad.value.text


def test_comments_add_list_edit_and_delete(jira, flavour):
    issue = jira.create_issue(project="PRJ", summary="talk", issuetype={"name": "Task"})
    first = jira.add_comment(issue.key, rich(flavour, "first"))
    second = jira.add_comment(issue, rich(flavour, "second"))
    first.update(body=rich(flavour, "first, edited"))
    second.delete()

    [left] = jira.comments(issue.key)
    assert left.id == first.id and left.raw["body"] == rich(flavour, "first, edited")
    assert jira.comment(issue.key, first.id).raw["body"] == rich(flavour, "first, edited")


def test_attachments_add_read_and_delete(jira):
    issue = jira.create_issue(project="PRJ", summary="files", issuetype={"name": "Task"})
    added = jira.add_attachment(issue.key, io.BytesIO(b"\x00bytes\xff"), filename="data.bin")

    fetched = jira.attachment(added.id)
    listed = jira.issue(issue.key).fields.attachment
    assert fetched.filename == "data.bin" and fetched.get() == b"\x00bytes\xff"
    assert [a.id for a in listed] == [added.id]
    fetched.delete()
    assert jira.issue(issue.key).fields.attachment == []


def test_transitions_move_the_issue(jira):
    issue = jira.create_issue(project="PRJ", summary="flow", issuetype={"name": "Task"})
    names = {t["name"]: t["id"] for t in jira.transitions(issue)}

    jira.transition_issue(issue, "Move to Done")

    assert set(names) == {"Move to In Progress", "Move to Done"}
    assert jira.issue(issue.key).fields.status.name == "Done"
    assert {t["name"] for t in jira.transitions(issue)} == {"Move to To Do", "Move to In Progress"}


def test_issue_types_of_the_project(jira, flavour):
    if flavour == "dc":  # the library's per-project call exists for Data Center 8.4+ only
        names = [t.name for t in jira.project_issue_types("PRJ")]
    else:
        names = [t.name for t in jira.issue_types_for_project("PRJ")]
    assert names == ["Task", "Bug", "Story", "Sub-task"]
    bug = jira.issue_type_by_name("Bug", project="PRJ")
    assert jira.issue_type(bug.id).name == "Bug" and "Bug" in {t.name for t in jira.issue_types()}


def test_cloud_oauth_bearer_token_works_through_the_gateway_only(sim, flavour, contract_session):
    if flavour != "cloud":
        pytest.skip("OAuth 2.0 (3LO) is Jira Cloud's")
    gateway = JIRA(f"{sim.gateway_url}/ex/jira/{sim.cloud_id}", token_auth=TOKEN, options={"rest_api_version": "3"})
    assert gateway.myself()["accountId"] == "bot"
    with pytest.raises(JIRAError) as refused:
        JIRA(sim.site_url, token_auth=TOKEN, options={"rest_api_version": "3"}).myself()
    assert refused.value.status_code == 401
