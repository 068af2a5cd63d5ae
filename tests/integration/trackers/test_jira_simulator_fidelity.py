"""The Jira simulator answers like Jira where a 2xx used to mean something else: ADF checked on Cloud writes,
``update`` verbs and ``expand`` honoured or refused, serverInfo and /field served, and a browse page for people.
Every exchange is checked against the flavour's OpenAPI document."""

from __future__ import annotations

import re

import pytest
import requests

from twinbridge.models.tracker import ItemFields, NativeText
from twinbridge.richtext.convert import convert
from twinbridge.trackers.credentials import TrackerCredentials
from twinbridge.trackers.jira import JiraCloudClient
from twinbridge_tools.simulators.jira import JiraSimulator

TOKEN = "tok-fid-secret"
# /browse and DC's /rest/api/latest alias are outside the REST documents.
TOLERATED = re.compile(r"GET /browse/[^:]+: unknown path|GET /rest/api/latest/[^:]+: unknown path")


def doc(*content) -> dict:
    return {"type": "doc", "version": 1, "content": list(content)}


def para(text: str) -> dict:
    return {"type": "paragraph", "content": [{"type": "text", "text": text}]}


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
def http(sim, flavour, contract_session):
    """A logged-in session checked against the document; ``http.api`` is the REST base."""
    session = contract_session("jira-cloud" if flavour == "cloud" else "jira-dc", strict=False)
    session.auth = ("bot@example.com", TOKEN) if flavour == "cloud" else ("bot", TOKEN)
    session.api = f"{sim.url}{sim.api}"
    yield session
    unexpected = [str(v) for v in contract_session.take_violations() if not TOLERATED.search(str(v))]
    assert unexpected == []


def rich(flavour: str, text: str):
    return doc(para(text)) if flavour == "cloud" else text


def create(http, flavour, summary="first", **fields) -> str:
    body = {"fields": {"project": {"key": "PRJ"}, "issuetype": {"name": "Task"}, "summary": summary,
                       "description": rich(flavour, "hello"), **fields}}
    response = http.post(f"{http.api}/issue", json=body, timeout=5)
    assert response.status_code == 201, response.text
    return response.json()["key"]


# ----------------------------------------------------------------------------------------------- ADF (item 4)


@pytest.mark.parametrize("bad", [
    doc({"type": "paragraph", "content": [{"type": "text", "text": ""}]}),
    doc({"type": "blink", "content": [para("x")]}),
    doc({"type": "paragraph", "content": [{"type": "mystery", "text": "x"}]}),
], ids=["empty-text-node", "unknown-block", "unknown-inline"])
def test_cloud_refuses_schema_invalid_adf_on_every_write_and_keeps_nothing(sim, http, bad):
    if sim.flavour != "cloud":
        pytest.skip("ADF is Cloud's format")
    created = http.post(f"{http.api}/issue", json={"fields": {"project": {"key": "PRJ"}, "summary": "s",
                                                              "issuetype": {"name": "Task"}, "description": bad}})
    key = create(http, "cloud")
    updated = http.put(f"{http.api}/issue/{key}", json={"fields": {"description": bad}})
    commented = http.post(f"{http.api}/issue/{key}/comment", json={"body": bad})

    for response, name in ((created, "description"), (updated, "description"), (commented, "comment")):
        assert response.status_code == 400
        assert response.json()["errorMessages"] == [] and "not valid ADF" in response.json()["errors"][name]
    assert list(sim.issues) == [key]
    assert sim.issues[key].description == doc(para("hello")) and sim.issues[key].comments == []


def test_the_products_own_adf_is_accepted_by_the_schema_checking_simulator():
    samples = [("html", "<p>a<br>b</p><ul><li><b>x</b></li></ul><p></p><table><tr><td></td></tr></table>"),
               ("wiki", "h1. Title\n* one\n** two\n{code}x{code}\n||h||\n|c|\n\n----\n[link|http://example.com]"),
               ("html", "<p> </p><pre></pre><blockquote></blockquote><img src='x.png'>"), ("wiki", "")]
    with JiraSimulator("cloud") as sim:
        sim.add_user("bot", "Sync Bot", "bot@example.com", TOKEN)
        sim.add_project("PRJ")
        creds = TrackerCredentials(email="bot@example.com", api_token=TOKEN)
        client = JiraCloudClient(sim.url, requests.Session(), auth=creds.auth_for("jira-cloud"))
        for source, text in samples:
            adf = NativeText(format="adf", content=convert(text, source, "adf").content)
            item = client.create_item("PRJ", ItemFields(summary=f"from {source}", description=adf))
            client.add_comment(item.key, adf)
    assert len(sim.issues) == len(samples)


# ----------------------------------------------------------------------------------------------- update verbs, expand (item 6)


def test_update_verbs_add_remove_and_set_change_the_issue(sim, http, flavour):
    key = create(http, flavour, labels=["keep", "drop"])
    response = http.put(f"{http.api}/issue/{key}", json={"update": {
        "labels": [{"add": "new"}, {"remove": "drop"}, {"add": "keep"}],
        "summary": [{"set": "renamed"}],
        "description": [{"set": rich(flavour, "rewritten")}]}})

    assert response.status_code == 204
    issue = http.get(f"{http.api}/issue/{key}", params={"fields": "labels,summary,description"}).json()["fields"]
    assert issue["labels"] == ["keep", "new"] and issue["summary"] == "renamed"
    assert issue["description"] == rich(flavour, "rewritten")


def test_labels_set_replaces_and_a_concurrent_add_is_not_lost(sim, http, flavour):
    key = create(http, flavour, labels=["a"])
    assert http.put(f"{http.api}/issue/{key}", json={"update": {"labels": [{"set": ["b", "c"]}]}}).status_code == 204
    assert http.put(f"{http.api}/issue/{key}", json={"update": {"labels": [{"add": "d"}]}}).status_code == 204
    assert sim.issues[key].labels == ["b", "c", "d"]


@pytest.mark.parametrize(("body", "field"), [
    ({"update": {"summary": [{"add": "x"}]}}, "summary"),
    ({"update": {"labels": [{"copy": "x"}]}}, "labels"),
    ({"update": {"nosuchfield": [{"set": "x"}]}}, "nosuchfield"),
    ({"fields": {"summary": "a"}, "update": {"summary": [{"set": "b"}]}}, "summary"),
], ids=["verb-the-field-does-not-take", "unknown-verb", "unknown-field", "field-in-both"])
def test_unsupported_updates_are_refused_and_change_nothing(sim, http, flavour, body, field):
    key = create(http, flavour, labels=["a"])
    response = http.put(f"{http.api}/issue/{key}", json=body)
    assert response.status_code == 400 and field in response.json()["errors"]
    assert sim.issues[key].summary == "first" and sim.issues[key].labels == ["a"]


def test_expand_changelog_names_and_rendered_fields(sim, http, flavour):
    key = create(http, flavour, summary="<script>alert(1)</script>")
    http.put(f"{http.api}/issue/{key}", json={"update": {"labels": [{"add": "x"}]}})
    http.put(f"{http.api}/issue/{key}", json={"fields": {"description": rich(flavour, "<b>not bold</b>")}})

    data = http.get(f"{http.api}/issue/{key}", params={"expand": "changelog,names,renderedFields",
                                                        "fields": "summary,description,labels"}).json()

    changes = [(i["field"], i["toString"]) for h in data["changelog"]["histories"] for i in h["items"]]
    assert changes == [("labels", "x"), ("description", "<b>not bold</b>")]
    assert data["changelog"]["total"] == 2 and data["changelog"]["histories"][0]["author"]["displayName"] == "Sync Bot"
    assert data["names"] == {"summary": "Summary", "description": "Description", "labels": "Labels"}
    assert data["renderedFields"]["description"] == "<p>&lt;b&gt;not bold&lt;/b&gt;</p>"


def test_expansions_the_simulator_does_not_build_are_refused_not_ignored(http, flavour, contract_session):
    key = create(http, flavour)
    response = http.get(f"{http.api}/issue/{key}", params={"expand": "editmeta"})
    assert response.status_code == 400 and "editmeta" in response.json()["errorMessages"][0]
    [refusal] = contract_session.take_violations()  # a refusal Jira itself never gives (it would build editmeta)
    assert "response 400: undocumented status" in str(refusal)


# ----------------------------------------------------------------------------------------------- out of the box (item 7)


def test_server_info_answers_anonymous_callers_with_version_and_deployment(sim, flavour, contract_session):
    anonymous = contract_session("jira-cloud" if flavour == "cloud" else "jira-dc")
    info = anonymous.get(f"{sim.url}{sim.api}/serverInfo", timeout=5)
    assert info.status_code == 200
    assert info.json()["deploymentType"] == ("Cloud" if flavour == "cloud" else "Server")
    assert len(info.json()["versionNumbers"]) == 3 and info.json()["baseUrl"] == sim.site_url
    assert anonymous.get(f"{sim.url}{sim.api}/myself", timeout=5).status_code == 401  # the rest still needs a log-in


def test_field_list_names_the_fields_and_their_jql_clauses(http):
    fields = {f["id"]: f for f in http.get(f"{http.api}/field").json()}
    assert fields["summary"]["name"] == "Summary" and "summary" in fields["summary"]["clauseNames"]
    assert {"labels", "status", "issuetype", "assignee", "description"} <= set(fields)


def test_dc_serves_rest_api_latest_as_v2(sim, http, flavour):
    if flavour != "dc":
        pytest.skip("Data Center only")
    response = http.get(f"{sim.url}/rest/api/latest/myself")
    assert response.status_code == 200 and response.json()["name"] == "bot"


# ----------------------------------------------------------------------------------------------- the browse page


def test_browse_page_shows_the_issue_escaped_without_a_log_in(sim, http, flavour):
    key = create(http, flavour, summary="<script>alert('x')</script> & more", labels=["red"])
    http.post(f"{http.api}/issue/{key}/comment", json={"body": rich(flavour, "<img src=x onerror=alert(1)>")})
    http.post(f"{http.api}/issue/{key}/attachments", headers={"X-Atlassian-Token": "no-check"},
              files={"file": ("<evil>.txt", b"payload", "text/plain")})

    page = requests.get(f"{sim.url}/browse/{key}", timeout=5)
    missing = requests.get(f"{sim.url}/browse/PRJ-999", timeout=5)

    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page.text and "<script>" not in page.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.text and "<img" not in page.text
    assert "&lt;evil&gt;.txt" in page.text and "red" in page.text and "To Do" in page.text
    assert missing.status_code == 404 and "PRJ-999" in missing.text
