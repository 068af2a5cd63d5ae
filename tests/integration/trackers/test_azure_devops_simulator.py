"""The Azure DevOps simulator answers like the service: Microsoft's recorded examples replayed, WIQL semantics."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
import requests
from requests.auth import HTTPBasicAuth

from tests.support import CORPORA
from twinbridge.models.tracker import ItemFields, NativeText
from twinbridge.trackers.azure_devops import AzureDevOpsClient
from twinbridge_tools.simulators.azure_devops import AzureDevOpsSimulator

PROJECT = "Fabrikam"
EXAMPLES = CORPORA / "openapi" / "azure-devops" / "wit-7.1-httpExamples"
AUTH = HTTPBasicAuth("", "pat-full")
PATCH = {"Content-Type": "application/json-patch+json"}


@pytest.fixture
def sim():
    with AzureDevOpsSimulator(organization="fabrikam", project=PROJECT) as simulator:
        simulator.add_user("Twinbridge Bot", "bot@fabrikam.example", "pat-full")
        yield simulator
        assert simulator.errors == []


@pytest.fixture
def http(contract_session):
    """Every exchange checked against Microsoft's wit 7.1 document; the one finding accepted is an error status the
    document does not list (it documents 200 only)."""
    yield contract_session("azure-devops", strict=False)
    found = [e for e in contract_session.exchanges if e.violation is not None]
    contract_session.take_violations()
    assert [e.violation for e in found if e.status is None or e.status < 400
            or not all("undocumented status" in problem for problem in e.violation.problems)] == []


def _create(sim, http, title: str, *extra: dict) -> dict:
    ops = [{"op": "add", "path": "/fields/System.Title", "value": title}, *extra]
    response = http.post(f"{sim.url}/{PROJECT}/_apis/wit/workitems/$Task?api-version=7.1", data=json.dumps(ops),
                         headers=PATCH, auth=AUTH, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def _patch(sim, http, item_id: int, ops: list[dict]):
    return http.patch(f"{sim.url}/{PROJECT}/_apis/wit/workitems/{item_id}?api-version=7.1", data=json.dumps(ops),
                      headers=PATCH, auth=AUTH, timeout=5)


def _wiql(sim, http, query: str, **params: str):
    return http.post(f"{sim.url}/{PROJECT}/_apis/wit/wiql", json={"query": query}, auth=AUTH, timeout=5,
                     params={"api-version": "7.1", **params})


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [ref["id"] for ref in response.json()["workItems"]]


# ----------------------------------------------------------------------------------------------- tags (item 1)


@pytest.mark.parametrize("example", ["PATCH__wit_workitems__taskId_9.json", "PATCH__wit_workitems__taskId_14.json"])
def test_microsofts_tag_examples_replayed_give_the_recorded_tags(sim, http, example):
    # "Add a tag" (add merges into Tag0) and its replace twin, both sent to an item at rev 6 that carries Tag0.
    recorded = json.loads((EXAMPLES / "workItems" / example).read_text())
    item = _create(sim, http, "Tagged", {"op": "add", "path": "/fields/System.Tags", "value": "Tag0"})
    for rev in range(2, 7):
        assert _patch(sim, http, item["id"], [{"op": "add", "path": "/fields/System.Title", "value": f"r{rev}"}]).ok
    answer = _patch(sim, http, item["id"], recorded["parameters"]["body"])
    assert answer.status_code == 200, answer.text
    expected = recorded["responses"]["200"]["body"]
    assert (answer.json()["rev"], answer.json()["fields"]["System.Tags"]) == (expected["rev"],
                                                                              expected["fields"]["System.Tags"])


# ----------------------------------------------------------------------------------------------- WIQL dates (item 2)


def test_wiql_changed_date_equal_to_the_returned_value_matches_the_item_and_greater_does_not(http):
    instant = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)  # sub-millisecond digits the API never returns
    with AzureDevOpsSimulator(organization="fabrikam", project=PROJECT, clock=lambda: instant) as sim:
        sim.add_user("Twinbridge Bot", "bot@fabrikam.example", "pat-full")
        item = _create(sim, http, "Stamped")
        returned = item["fields"]["System.ChangedDate"]
        assert returned == "2024-03-01T12:00:00.123Z"
        field = "[System.ChangedDate]"
        assert _ids(_wiql(sim, http, f"SELECT [System.Id] FROM WorkItems WHERE {field} = '{returned}'",
                          timePrecision="true")) == [item["id"]]
        assert _ids(_wiql(sim, http, f"SELECT [System.Id] FROM WorkItems WHERE {field} > '{returned}'",
                          timePrecision="true")) == []
        assert _ids(_wiql(sim, http, f"SELECT [System.Id] FROM WorkItems WHERE {field} <= '{returned}'",
                          timePrecision="true")) == [item["id"]]
        assert sim.errors == []


# ----------------------------------------------------------------------------------------------- WIQL fields (item 5)


@pytest.mark.parametrize("name", ["System.Title", "system.title", "SYSTEM.TITLE", "Title", "title"])
def test_wiql_resolves_reference_and_friendly_field_names_in_any_case(sim, http, name):
    wanted = _create(sim, http, "Printer on fire")
    _create(sim, http, "Coffee machine")
    query = f"SELECT [{name}] FROM WorkItems WHERE [{name}] = 'printer on fire' ORDER BY [{name}] DESC"
    answer = _wiql(sim, http, query)
    assert _ids(answer) == [wanted["id"]]
    assert answer.json()["columns"][0] == {"referenceName": "System.Title", "name": "Title",
                                           "url": f"{sim.url}/_apis/wit/fields/System.Title"}


def test_wiql_friendly_date_field_name_compares_like_its_reference_name(sim, http):
    item = _create(sim, http, "Dated")
    when = item["fields"]["System.ChangedDate"]
    query = f"SELECT [System.Id] FROM WorkItems WHERE [Changed Date] >= '{when}' AND [changed date] <= '{when}'"
    assert _ids(_wiql(sim, http, query, timePrecision="true")) == [item["id"]]


@pytest.mark.parametrize("clause", ["WHERE [System.ChangedDat] > '2024-01-01'", "WHERE [Titel] = 'x'",
                                    "ORDER BY [System.Chnaged]"])
def test_wiql_unknown_field_is_a_400_naming_it(sim, http, clause):
    _create(sim, http, "Anything")
    answer = _wiql(sim, http, f"SELECT [System.Id] FROM WorkItems {clause}")
    assert answer.status_code == 400
    body = answer.json()
    assert body["message"].startswith("TF51005: ") and clause.split("[")[1].split("]")[0] in body["message"]
    assert body["typeKey"] == "WiqlFieldNotFoundException" and set(body) >= {"$id", "typeName", "errorCode", "eventId"}


# ----------------------------------------------------------------------------------------------- clients (item 7)


def test_api_version_is_taken_from_the_accept_header_as_microsofts_sdks_send_it(sim, http):
    url = f"{sim.url}/{PROJECT}/_apis/wit/workitemtypes"
    accepted = requests.get(url, headers={"Accept": "application/json;api-version=7.1-preview.2"}, auth=AUTH, timeout=5)
    assert accepted.status_code == 200 and len(accepted.json()["value"]) == 6
    missing = requests.get(url, headers={"Accept": "application/json"}, auth=AUTH, timeout=5)
    assert missing.status_code == 400 and missing.json()["message"].startswith("VS800075")


def test_a_comment_delete_carrying_a_body_deletes_the_comment(sim, http):
    item = _create(sim, http, "Chatty")
    comments = f"{sim.url}/{PROJECT}/_apis/wit/workItems/{item['id']}/comments"
    added = http.post(comments, params={"api-version": "7.1-preview.4"}, json={"text": "bye"}, auth=AUTH, timeout=5)
    deleted = requests.delete(f"{comments}/{added.json()['id']}", data=b"{}", auth=AUTH, timeout=5,
                              headers={"Accept": "application/json;api-version=7.1-preview.4",
                                       "Content-Type": "application/json; charset=utf-8"})
    assert deleted.status_code == 200
    listed = http.get(comments, params={"api-version": "7.1-preview.4"}, auth=AUTH, timeout=5).json()
    assert listed["totalCount"] == 0 and sim.item_fields(item["id"])["System.CommentCount"] == 0


@pytest.mark.parametrize("where", ["query", "batch"])
def test_fields_together_with_expand_is_refused(sim, http, where):
    item = _create(sim, http, "Both")
    api = f"{sim.url}/{PROJECT}/_apis/wit"
    if where == "query":
        answer = http.get(f"{api}/workitems/{item['id']}", auth=AUTH, timeout=5,
                          params={"api-version": "7.1", "fields": "System.Title", "$expand": "relations"})
    else:
        answer = http.post(f"{api}/workitemsbatch", params={"api-version": "7.1"}, auth=AUTH, timeout=5,
                           json={"ids": [item["id"]], "fields": ["System.Title"], "$expand": "relations"})
    assert answer.status_code == 400
    assert answer.json()["message"] == "The expand parameter can not be used with the fields parameter."


# ----------------------------------------------------------------------------------------------- the demo's links


def test_the_link_the_product_prints_opens_a_read_only_page_with_everything_escaped(sim, http):
    client = AzureDevOpsClient(sim.url, http, auth=AUTH, project=PROJECT)
    item = client.create_item(PROJECT, ItemFields(type="Bug", summary="<script>alert(1)</script> & more",
                                                  labels=["x<y"]))
    client.add_comment(item.key, NativeText(format="html", content="<img src=x onerror=alert(2)>"))
    client.upload_attachment(item.key, "<b>notes</b>.txt", io.BytesIO(b"hello"))
    assert item.url == sim.html_url(int(item.id))  # what the demo and `sync status` print

    page = requests.get(item.url, timeout=5)  # a browser: no credentials
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    text = page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in text and "<script>" not in text
    assert "&lt;img src=x onerror=alert(2)&gt;" in text and "<img" not in text
    assert "&lt;b&gt;notes&lt;/b&gt;.txt (5 bytes)" in text and "x&lt;y" in text and "Twinbridge Bot" in text
    assert "Comments (1)" in text and "Attachments (1)" in text

    edit = requests.get(f"{sim.url}/{PROJECT}/_workitems/edit/{item.id}", timeout=5)
    assert edit.status_code == 200 and "&lt;script&gt;" in edit.text
    assert requests.get(f"{sim.url}/web/wi.aspx?id=999", timeout=5).status_code == 404
    assert requests.post(item.url, timeout=5).status_code != 200  # read-only: the page is never a write


def test_head_of_an_item_page_answers_the_headers_only(sim, http):
    item = _create(sim, http, "Headed")
    browser = requests.Session()  # one kept-alive connection: a body sent after HEAD would corrupt the next answer
    head = browser.head(sim.html_url(item["id"]), timeout=5)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) > 0 and head.content == b""
    again = browser.get(sim.html_url(item["id"]), timeout=5)
    assert again.status_code == 200 and len(again.content) == int(head.headers["Content-Length"])
