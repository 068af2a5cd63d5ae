"""Microsoft's azure-devops Python SDK (7.1), used as shipped, against the Azure DevOps simulator.

The SDK finds every URL through the location service (``OPTIONS {org}/_apis``, ``_apis/ResourceAreas``) and sends
the api-version in the ``Accept`` header: a simulator that works with it out of the box answers the way the service
does. Each wit response the SDK received is also checked against Microsoft's wit 7.1 document.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pytest
import requests

from tests.contract.plugin import check_exchange
from tests.contract.specs import Api
from twinbridge_tools.simulators.azure_devops import AzureDevOpsSimulator

# The SDK makes its on-disk cache directory when imported (default ~/.azure-devops): keep it in the temp dir.
os.environ.setdefault("AZURE_DEVOPS_CACHE_DIR", str(Path(tempfile.gettempdir()) / "twinbridge-azure-devops-sdk"))
azure_devops = pytest.importorskip("azure.devops")  # a test-only dependency ([dev])

from azure.devops import _file_cache  # noqa: E402
from azure.devops.client import Client  # noqa: E402
from azure.devops.connection import Connection  # noqa: E402
from azure.devops.exceptions import AzureDevOpsServiceError  # noqa: E402
from azure.devops.v7_1.work_item_tracking.models import (  # noqa: E402
    CommentCreate,
    CommentUpdate,
    JsonPatchOperation,
    TeamContext,
    Wiql,
    WorkItemBatchGetRequest,
)
from msrest.authentication import BasicAuthentication  # noqa: E402

PROJECT = "Fabrikam"
PAT = "sdk-pat-0123456789"
WIT: Api = "azure-devops"


@pytest.fixture(autouse=True)
def sdk_caches(tmp_path, monkeypatch):
    """The SDK caches resource locations per URL on disk (~/.azure-devops) and in a class attribute: a port reused
    from an earlier run would skip the location service. Each test starts with empty caches in its own tmp dir."""
    for cache, name in ((_file_cache.OPTIONS_CACHE, "options"), (_file_cache.RESOURCE_CACHE, "resources")):
        monkeypatch.setattr(cache, "file_name", str(tmp_path / f"{name}.json"))
        monkeypatch.setattr(cache, "data", {})
        monkeypatch.setattr(cache, "initial_load_occurred", True)
    monkeypatch.setattr(Client, "_locations_cache", {})


@pytest.fixture
def sim():
    with AzureDevOpsSimulator(organization="fabrikam", project=PROJECT) as simulator:
        simulator.add_user("Ben Okafor", "ben@fabrikam.example", PAT)
        yield simulator
        assert simulator.errors == []


class Exchanges:
    """Every response the SDK received (a requests response hook, msrest's documented ``config.hooks``)."""

    def __init__(self) -> None:
        self.responses: list[requests.Response] = []

    def __call__(self, response: requests.Response, *args, **kwargs) -> requests.Response:
        self.responses.append(response)
        return response

    def check_wit_responses(self) -> list[str]:
        """Check each successful wit exchange's response against the document (it documents no error statuses; the
        requests carry api-version in Accept, which the document, written for the query parameter, does not
        describe: requests are not checked)."""
        checked = []
        for response in self.responses:
            streamed = not response.headers.get("Content-Type", "application/json").startswith("application/json")
            if "/_apis/wit/" not in response.url or not response.ok or streamed:
                continue
            checked.append(check_exchange(WIT, response, check_request=False).operation_id)
        return checked


@pytest.fixture
def exchanges():
    return Exchanges()


@pytest.fixture
def connection(sim, exchanges):
    connection = Connection(base_url=sim.url, creds=BasicAuthentication("", PAT))
    connection.clients_v7_1.get_work_item_tracking_client().config.hooks.append(exchanges)
    return connection


@pytest.fixture
def wit(connection):
    return connection.clients_v7_1.get_work_item_tracking_client()


def _ops(*triples: tuple[str, str, object]) -> list[JsonPatchOperation]:
    return [JsonPatchOperation(op=op, path=path, value=value) for op, path, value in triples]


def test_the_sdk_finds_the_organization_through_the_location_service(sim, connection):
    core = connection.clients_v7_1.get_core_client()
    assert [project.name for project in core.get_projects()] == [PROJECT]
    assert core.get_project(PROJECT).capabilities["processTemplate"]["templateName"] == "Agile"
    seen = [(r.method, r.path) for r in sim.requests]
    assert ("OPTIONS", "/fabrikam/_apis") in seen and ("GET", "/fabrikam/_apis/ResourceAreas") in seen
    assert all(r.param("api-version") is None for r in sim.requests)  # the SDK's version goes in Accept


def test_create_read_update_with_tags_and_states(wit, exchanges):
    created = wit.create_work_item(_ops(("add", "/fields/System.Title", "Printer on fire"),
                                        ("add", "/fields/System.Tags", "hardware; urgent")), PROJECT, "Task")
    assert (created.fields["System.State"], created.fields["System.Tags"]) == ("New", "hardware; urgent")
    wit.update_work_item(_ops(("add", "/fields/System.Tags", "Facilities")), created.id, PROJECT)
    assert wit.get_work_item(created.id, PROJECT).fields["System.Tags"] == "hardware; urgent; Facilities"
    wit.update_work_item(_ops(("replace", "/fields/System.Tags", "facilities")), created.id, PROJECT)
    assert wit.get_work_item(created.id, PROJECT).fields["System.Tags"] == "facilities"

    for state in ("Active", "Closed"):
        moved = wit.update_work_item(_ops(("add", "/fields/System.State", state)), created.id, PROJECT)
        assert moved.fields["System.State"] == state
    with pytest.raises(AzureDevOpsServiceError) as refused:
        wit.update_work_item(_ops(("add", "/fields/System.State", "Resolved")), created.id, PROJECT)  # not a Task state
    assert "TF401320" in str(refused.value)
    read = wit.get_work_item(created.id, PROJECT)
    assert (read.rev, read.fields["System.Title"], read.fields["System.State"]) == (5, "Printer on fire", "Closed")
    assert {"Work Items_Create", "Work Items_Update", "Work Items_Get Work Item"} <= set(exchanges.check_wit_responses())


def test_search_with_wiql_then_read_the_fields(wit, exchanges):
    ids = [wit.create_work_item(_ops(("add", "/fields/System.Title", f"Item {n}")), PROJECT, "Bug").id
           for n in range(3)]
    result = wit.query_by_wiql(Wiql(query="SELECT [System.Id] FROM WorkItems WHERE [Work Item Type] = 'Bug' "
                                          "AND [System.ChangedDate] >= '2024-01-01T00:00:00Z' ORDER BY [ID] DESC"),
                               team_context=TeamContext(project=PROJECT), time_precision=True)
    assert [ref.id for ref in result.work_items] == ids[::-1]
    batch = wit.get_work_items_batch(WorkItemBatchGetRequest(ids=ids, fields=["System.Id", "System.Title"]), PROJECT)
    assert [item.fields["System.Title"] for item in batch] == ["Item 0", "Item 1", "Item 2"]
    listed = wit.get_work_items(ids, PROJECT, fields=["System.Title"])
    assert [item.id for item in listed] == ids
    with pytest.raises(AzureDevOpsServiceError) as unknown:
        wit.query_by_wiql(Wiql(query="SELECT [System.Id] FROM WorkItems WHERE [System.Titel] = 'x'"),
                          team_context=TeamContext(project=PROJECT))
    assert "TF51005" in str(unknown.value)
    assert {"Wiql_Query By Wiql", "Work Items_Get Work Items Batch"} <= set(exchanges.check_wit_responses())


def test_fields_with_expand_is_refused_like_the_service_does(wit):
    item = wit.create_work_item(_ops(("add", "/fields/System.Title", "Both")), PROJECT, "Task")
    with pytest.raises(AzureDevOpsServiceError) as refused:
        wit.get_work_item(item.id, PROJECT, fields=["System.Title"], expand="Relations")
    assert "expand parameter can not be used with the fields parameter" in str(refused.value)
    assert wit.get_work_item(item.id, PROJECT, fields=["System.Title"]).fields == {"System.Title": "Both"}


def test_comments_add_edit_delete(wit, exchanges):
    item = wit.create_work_item(_ops(("add", "/fields/System.Title", "Chatty")), PROJECT, "Task")
    first = wit.add_comment(CommentCreate(text="<p>first</p>"), PROJECT, item.id)
    second = wit.add_comment(CommentCreate(text="<p>second</p>"), PROJECT, item.id)
    edited = wit.update_comment(CommentUpdate(text="<p>first, edited</p>"), PROJECT, item.id, first.id)
    assert (edited.text, edited.version) == ("<p>first, edited</p>", 2)
    wit.delete_comment(PROJECT, item.id, second.id)
    comments = wit.get_comments(PROJECT, item.id)
    assert [(c.id, c.text) for c in comments.comments] == [(first.id, "<p>first, edited</p>")]
    assert wit.get_work_item(item.id, PROJECT).fields["System.CommentCount"] == 1
    assert {"Comments_Add Comment", "Comments_Update Comment", "Comments_Delete", "Comments_Get Comments"} <= set(
        exchanges.check_wit_responses())


def test_attachments_upload_link_download(wit, exchanges):
    item = wit.create_work_item(_ops(("add", "/fields/System.Title", "With a file")), PROJECT, "Task")
    payload = bytes(range(256)) * 1024
    reference = wit.create_attachment(io.BytesIO(payload), PROJECT, file_name="trace.bin")
    linked = wit.update_work_item(
        _ops(("add", "/relations/-", {"rel": "AttachedFile", "url": reference.url})), item.id, PROJECT)
    assert wit.get_work_item(linked.id, PROJECT, expand="Relations").relations[0].attributes["name"] == "trace.bin"
    downloaded = b"".join(wit.get_attachment_content(reference.id, PROJECT, file_name="trace.bin", download=True))
    assert downloaded == payload
    assert "Attachments_Create" in exchanges.check_wit_responses()


def test_work_item_types_states_categories_and_fields(wit, exchanges):
    assert [t.name for t in wit.get_work_item_types(PROJECT)] == ["Bug", "Epic", "Feature", "Task", "Test Case",
                                                                 "User Story"]
    assert wit.get_work_item_type(PROJECT, "bug").reference_name == "Microsoft.VSTS.WorkItemTypes.Bug"
    assert [s.name for s in wit.get_work_item_type_states(PROJECT, "Task")] == ["New", "Active", "Closed", "Removed"]
    requirement = wit.get_work_item_type_category(PROJECT, "Microsoft.RequirementCategory")
    assert requirement.default_work_item_type.name == "User Story"
    fields = {f.reference_name: f for f in wit.get_work_item_fields(PROJECT)}
    assert fields["System.ChangedDate"].type == "dateTime" and fields["System.Tags"].name == "Tags"
    assert wit.get_work_item_field("changed date", PROJECT).reference_name == "System.ChangedDate"
    exchanges.check_wit_responses()
