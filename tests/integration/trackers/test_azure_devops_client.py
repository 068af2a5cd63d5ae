"""AzureDevOpsClient against the loopback Azure DevOps simulator, every exchange checked against the wit 7.1 spec."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth

from tests.support import CORPORA
from twinbridge.errors import (
    TrackerAuthError,
    TrackerPermissionError,
    TrackerRejectedError,
    TrackerThrottledError,
    TrackerUnavailableError,
)
from twinbridge.models.tracker import ItemFields, NativeText
from twinbridge.trackers.azure_devops import AzureDevOpsClient
from twinbridge.trackers.http import RetryPolicy
from twinbridge_tools.simulators.azure_devops import AzureDevOpsSimulator

PROJECT = "Fabrikam"
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, max_wait=60)
HOOKS = CORPORA / "ado-webhooks"


@pytest.fixture
def sim():
    with AzureDevOpsSimulator(organization="fabrikam", project=PROJECT) as simulator:
        simulator.add_user("Twinbridge Bot", "bot@fabrikam.example", "pat-full")
        simulator.add_user("Read Only", "reader@fabrikam.example", "pat-read", {"browse", "create"})
        simulator.add_user("Outsider", "outsider@fabrikam.example", "pat-outsider", set())
        yield simulator
        assert simulator.errors == []


@pytest.fixture
def session(sim, contract_session):
    """A session checked against the wit spec; error statuses the spec does not list are the only accepted finding.

    ``_apis/connectionData`` (whoami) is the location service, not in the wit document: it goes unchecked.
    """
    checked = contract_session("azure-devops", strict=False)
    checked.mount(f"{sim.url}/_apis/connectionData", HTTPAdapter())
    yield checked
    exchanges = [e for e in contract_session.exchanges if e.violation is not None]
    contract_session.take_violations()
    unexpected = [e.violation for e in exchanges
                  if e.status is None or e.status < 400
                  or not all("undocumented status" in problem for problem in e.violation.problems)]
    assert unexpected == []


@pytest.fixture
def sleeps():
    return []


def make_client(sim, session, sleeps, pat="pat-full", **kwargs) -> AzureDevOpsClient:
    return AzureDevOpsClient(sim.url, session, auth=HTTPBasicAuth("", pat), project=PROJECT,
                             http_policy=kwargs.pop("policy", FAST), sleep=sleeps.append, **kwargs)


@pytest.fixture
def client(sim, session, sleeps):
    return make_client(sim, session, sleeps)


def html(text: str) -> NativeText:
    return NativeText(format="html", content=text)


# ----------------------------------------------------------------------------------------------- identity, access


def test_whoami_names_the_pat_identity(client):
    me = client.whoami()
    assert (me.display_name, me.email) == ("Twinbridge Bot", "bot@fabrikam.example")
    assert client.find_user(email="BOT@fabrikam.example") == me
    assert client.find_user(account_id=me.account_id) == me
    assert client.find_user(email="nobody@fabrikam.example") is None


def test_wrong_pat_is_an_auth_error_without_the_secret(sim, session, sleeps):
    client = make_client(sim, session, sleeps, pat="pat-wrong")
    with pytest.raises(TrackerAuthError) as caught:
        client.get_item("1")
    assert caught.value.status == 401 and "TF400813" in caught.value.detail
    assert "pat-wrong" not in str(caught.value) and "pat-wrong" not in repr(client)
    assert "pat-full" not in repr(sim.users[0])


def test_anonymous_request_gets_the_sign_in_page_unless_suppressed(sim):
    url = f"{sim.url}/{PROJECT}/_apis/wit/workitemtypes?api-version=7.1"
    assert requests.get(url, timeout=5).status_code == 203
    assert requests.get(url, headers={"X-TFS-FedAuthRedirect": "Suppress"}, timeout=5).status_code == 401


def test_access_check_with_full_permissions_reports_every_check(client, sim):
    sim.seed_items(1, changed=datetime(2024, 1, 1, tzinfo=UTC))
    report = client.check_access(PROJECT)
    assert report.reachable and report.authenticated and report.user.display_name == "Twinbridge Bot"
    assert report.permissions == {"browse": True, "create": True, "edit": True, "comment": True, "attach": True}
    assert report.problems == {}
    assert sim.items[1].rev == 1 and len(sim.items) == 1 and sim.attachments == {}  # probes changed nothing


def test_access_check_reports_each_missing_permission_separately(sim, session, sleeps):
    sim.seed_items(1, changed=datetime(2024, 1, 1, tzinfo=UTC))
    report = make_client(sim, session, sleeps, pat="pat-read").check_access(PROJECT)
    assert report.permissions == {"browse": True, "create": True, "edit": False, "comment": False, "attach": False}
    assert set(report.problems) == {"edit", "comment", "attach"}
    assert all("Edit work items in this node" in text for text in report.problems.values())


def test_access_check_for_an_outsider_and_for_a_bad_pat(sim, session, sleeps):
    outsider = make_client(sim, session, sleeps, pat="pat-outsider").check_access(PROJECT)
    assert outsider.authenticated and outsider.permissions["browse"] is False
    assert PROJECT in outsider.problems["browse"] and set(outsider.problems) == set(outsider.permissions)
    assert not any(outsider.permissions.values())
    bad = make_client(sim, session, sleeps, pat="nope").check_access(PROJECT)
    assert bad.reachable and not bad.authenticated and "personal access token" in bad.problems["authenticated"]


def test_update_without_edit_permission_is_a_permission_error(sim, session, sleeps):
    [item_id] = sim.seed_items(1, changed=datetime(2024, 1, 1, tzinfo=UTC))
    with pytest.raises(TrackerPermissionError) as caught:
        make_client(sim, session, sleeps, pat="pat-read").update_item(str(item_id), ItemFields(summary="x"))
    assert (caught.value.tracker, caught.value.operation, caught.value.status) == ("azure-devops", "update_item", 403)
    assert sim.items[item_id].rev == 1


# ----------------------------------------------------------------------------------------------- items


def test_create_get_and_update_round_trip(client, sim, contract_session):
    me = client.whoami()
    created = client.create_item(PROJECT, ItemFields(
        summary="Login fails", description=html("<p>Steps</p>"), labels=["customer", "p1"], priority="1",
        custom_fields={"Microsoft.VSTS.Common.ValueArea": "Business"}))
    assert (created.type, created.status, created.revision) == ("User Story", "New", "1")  # Requirement default
    assert created.labels == ["customer", "p1"] and created.priority == "1"
    assert created.reporter.account_id == me.account_id
    assert created.custom_fields["Microsoft.VSTS.Common.ValueArea"] == "Business"

    client.update_item(created.key, ItemFields(summary="Login fails on Safari", labels=[],
                                               assignee_account_id=me.account_id, description=html("<p>New</p>")))
    item = client.get_item(created.key)
    assert item.summary == "Login fails on Safari" and item.labels == [] and item.revision == "2"
    assert item.assignee.email == "bot@fabrikam.example" and item.description.content == "<p>New</p>"
    assert item.updated >= created.updated and item.url.startswith(sim.url)
    assert {"Work Items_Create", "Work Items_Update", "Work Items_Get Work Item"} <= set(contract_session.operations())


def test_create_with_an_explicit_type_and_a_bad_field_is_rejected(client):
    assert client.create_item(PROJECT, ItemFields(type="Bug", summary="Crash")).type == "Bug"
    with pytest.raises(TrackerRejectedError) as caught:
        client.create_item(PROJECT, ItemFields(type="Bug", summary="   "))
    assert caught.value.status == 400 and "Title" in caught.value.detail


def test_change_status_moves_the_state_and_a_refused_state_is_named(client, sim):
    item = client.create_item(PROJECT, ItemFields(type="Task", summary="Do it"))
    client.change_status(item.key, "Active")
    assert client.get_item(item.key).status == "Active"
    with pytest.raises(TrackerRejectedError) as caught:
        client.change_status(item.key, "Resolved")  # not a Task state in the Agile process
    assert caught.value.operation == "change_status" and "'Resolved'" in caught.value.detail


def test_missing_item_is_not_found(client):
    from twinbridge.errors import TrackerNotFoundError

    with pytest.raises(TrackerNotFoundError) as caught:
        client.get_item("4242")
    assert "TF401232" in caught.value.detail


def test_issue_types_and_default_type(client):
    assert client.issue_types(PROJECT) == ["Bug", "Epic", "Feature", "Task", "Test Case", "User Story"]
    assert client.default_issue_type(PROJECT) == "User Story"


# ----------------------------------------------------------------------------------------------- search


def _wiql_calls(sim) -> list[dict[str, str]]:
    return [{key: values[-1] for key, values in r.query.items()} for r in sim.requests
            if r.method == "POST" and r.path.endswith("/wit/wiql")]


def _batch_calls(sim) -> int:
    return sum(1 for r in sim.requests if r.path.endswith("/wit/workitemsbatch"))


def test_search_batches_field_reads_by_200(client, sim):
    since = datetime(2024, 3, 1, tzinfo=UTC)
    sim.seed_items(5, changed=since - timedelta(days=1), step=timedelta(minutes=1))  # before the watermark
    wanted = sim.seed_items(450, changed=since, step=timedelta(seconds=1))
    refs = list(client.search_changed_since(PROJECT, since))
    assert [int(ref.id) for ref in refs] == wanted
    assert refs[0].updated == since and refs[-1].updated == since + timedelta(seconds=449)
    assert _batch_calls(sim) == 3  # 200 + 200 + 50
    [query] = _wiql_calls(sim)
    assert query["timePrecision"] == "true"


def test_search_pages_wiql_across_equal_timestamps(sim, session, sleeps):
    since = datetime(2024, 3, 1, tzinfo=UTC)
    ids = []
    for group in range(3):  # 3 x 150 items sharing one ChangedDate: page borders fall inside the ties
        ids += sim.seed_items(150, changed=since + timedelta(hours=group))
    client = make_client(sim, session, sleeps, wiql_page=100, batch_size=40)
    refs = list(client.search_changed_since(None, since))
    assert [int(ref.id) for ref in refs] == ids  # each once, in (ChangedDate, Id) order
    assert len(_wiql_calls(sim)) == 5 and _batch_calls(sim) == 4 * 3 + 2


def test_search_pages_items_created_in_one_millisecond_each_exactly_once(session, sleeps):
    # Items written through the API at one instant with sub-millisecond digits: the service returns ChangedDate to
    # the millisecond, and the product's tie-break `> when OR (= when AND Id > last)` must still see each item once.
    instant = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    with AzureDevOpsSimulator(organization="fabrikam", project=PROJECT, clock=lambda: instant) as sim:
        sim.add_user("Twinbridge Bot", "bot@fabrikam.example", "pat-full")
        client = make_client(sim, session, sleeps, wiql_page=3)
        created = [client.create_item(PROJECT, ItemFields(type="Task", summary=f"tie {n}")).id for n in range(7)]
        refs = list(client.search_changed_since(PROJECT, instant - timedelta(seconds=1)))
        assert [ref.id for ref in refs] == created  # each exactly once, in Id order within the shared timestamp
        assert {ref.updated for ref in refs} == {instant.replace(microsecond=123000)}
        assert len(_wiql_calls(sim)) == 3  # 3 + 3 + 1: both page borders fall inside the tie
        assert sim.errors == []


def test_search_reports_changed_dates_as_of_the_query(client, sim):
    since = datetime(2024, 3, 1, tzinfo=UTC)
    [item_id] = sim.seed_items(1, changed=since)
    [ref] = client.search_changed_since(PROJECT, since)
    client.update_item(ref.id, ItemFields(summary="changed after the query"))
    [again] = client.search_changed_since(PROJECT, ref.updated + timedelta(milliseconds=1))
    assert again.id == str(item_id) and again.updated > ref.updated


# ----------------------------------------------------------------------------------------------- comments


def test_comments_add_list_paged_update_delete(client, sim):
    item = client.create_item(PROJECT, ItemFields(summary="Chatty"))
    sim.comments_page_size = 2
    added = [client.add_comment(item.key, html(f"<p>note {n}</p>")) for n in range(5)]
    listed = client.list_comments(item.key)
    assert [c.id for c in listed] == [c.id for c in added]
    assert listed[0].body == html("<p>note 0</p>") and listed[0].author.display_name == "Twinbridge Bot"
    pages = [r for r in sim.requests if r.method == "GET" and r.path.endswith("/comments")]
    assert len(pages) == 3 and pages[0].param("api-version") == "7.1-preview.4" and pages[1].param("continuationToken")

    edited = client.update_comment(item.key, added[1].id, html("<p>edited</p>"))
    assert edited.body.content == "<p>edited</p>" and edited.updated >= edited.created
    client.delete_comment(item.key, added[0].id)
    assert [c.body.content for c in client.list_comments(item.key)][:1] == ["<p>edited</p>"]


# ----------------------------------------------------------------------------------------------- attachments


class CountingSource(io.BytesIO):
    """A source that records how much each read asked for (the client must never read it whole)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.reads.append(-1 if size is None else size)
        return super().read(size)


class CountingSink(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[int] = []

    def write(self, data) -> int:  # type: ignore[override]
        self.writes.append(len(data))
        return super().write(data)


def test_multi_megabyte_attachment_is_streamed_up_and_down(sim, sleeps):
    # A plain session here: the contract adapter reads request bodies whole to check them, which would hide streaming.
    client = make_client(sim, requests.Session(), sleeps, chunk_size=256 * 1024)
    item = client.create_item(PROJECT, ItemFields(summary="With a file"))
    payload = bytes(range(256)) * (6 * 4096)  # 6 MiB
    source = CountingSource(payload)

    uploaded = client.upload_attachment(item.key, "trace.bin", source, size=len(payload))
    assert uploaded.filename == "trace.bin" and uploaded.size == len(payload)
    assert source.reads and -1 not in source.reads and max(source.reads) <= 1024 * 1024
    assert sim.attachment_bytes(uploaded.id) == payload

    [listed] = client.list_attachments(item.key)
    sink = CountingSink()
    assert client.download_attachment(listed, sink) == len(payload)
    assert sink.getvalue() == payload and len(sink.writes) > 1 and max(sink.writes) <= 256 * 1024

    client.delete_attachment(item.key, uploaded.id)
    assert client.list_attachments(item.key) == []
    client.delete_attachment(item.key, uploaded.id)  # gone already: nothing to do


def test_attachment_round_trip_is_spec_checked(client):
    item = client.create_item(PROJECT, ItemFields(summary="Small file"))
    uploaded = client.upload_attachment(item.key, "notes.txt", io.BytesIO(b"hello"))
    sink = io.BytesIO()
    client.download_attachment(uploaded, sink)
    assert sink.getvalue() == b"hello"
    client.delete_attachment(item.key, uploaded.id)
    assert client.get_item(item.key).attachments == []


def test_attachment_url_on_another_host_gets_no_credentials(client):
    from twinbridge.models.tracker import TrackerAttachment

    foreign = TrackerAttachment(id="x", filename="x", content_url="https://evil.example/_apis/wit/attachments/x")
    with pytest.raises(TrackerRejectedError):
        client.download_attachment(foreign, io.BytesIO())


# ----------------------------------------------------------------------------------------------- retries, faults


def test_throttled_call_waits_the_retry_after_hint_then_succeeds(client, sim, sleeps):
    [item_id] = sim.seed_items(1, changed=datetime(2024, 1, 1, tzinfo=UTC))
    sim.faults.throttle(2, retry_after=7, method="GET")
    assert client.get_item(str(item_id)).id == str(item_id)
    assert sleeps == [7.0, 7.0]


def test_throttling_past_the_budget_is_a_typed_error(client, sim, sleeps):
    [item_id] = sim.seed_items(1, changed=datetime(2024, 1, 1, tzinfo=UTC))
    sim.faults.throttle(10, retry_after=2)
    with pytest.raises(TrackerThrottledError) as caught:
        client.get_item(str(item_id))
    error = caught.value
    assert (error.tracker, error.operation, error.status, error.retry_after) == ("azure-devops", "get_item", 429, 2.0)
    assert "TF400733" in error.detail and sleeps == [2.0, 2.0]


def test_a_create_is_not_retried_after_a_500(client, sim, sleeps):
    sim.faults.fail(1, status=500, method="POST", path="/wit/workitems/$")
    with pytest.raises(TrackerUnavailableError) as caught:
        client.create_item(PROJECT, ItemFields(type="Task", summary="Once only"))
    assert (caught.value.operation, caught.value.status) == ("create_item", 500)
    assert sum(1 for r in sim.requests if r.method == "POST" and "/workitems/$" in r.path) == 1
    assert sim.items == {} and sleeps == []


def test_a_read_rides_out_a_5xx_burst(client, sim, sleeps):
    sim.faults.fail(2, status=503, method="GET")
    assert "User Story" in client.issue_types(PROJECT)
    assert len(sleeps) == 2 and all(0 < s <= FAST.max_delay for s in sleeps)


def test_a_slow_answer_times_out_into_a_typed_error(sim, session, sleeps):
    policy = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.01, read_timeout=0.3)
    client = make_client(sim, session, sleeps, policy=policy)
    release = sim.faults.hold(2, method="GET")
    try:
        with pytest.raises(TrackerUnavailableError) as caught:
            client.issue_types(PROJECT)
    finally:
        release.set()
    assert caught.value.status is None and caught.value.detail == "timed out" and len(sleeps) == 1


# ----------------------------------------------------------------------------------------------- service hooks


class Receiver:
    """A loopback endpoint recording the service hook deliveries it gets."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], dict]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((dict(self.headers), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/c-1/azure-devops"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


def _keys(node: dict) -> set[str]:
    return set(node)


def test_service_hooks_are_delivered_in_the_recorded_shapes(client, sim, session, receiver):
    sim.hooks.subscribe(receiver.url, basic=("twinbridge", "hook-secret"))
    item = client.create_item(PROJECT, ItemFields(type="Bug", summary="Some great new idea!"))
    client.change_status(item.key, "Active")
    client.add_comment(item.key, html("This is a great new idea"))
    api = f"{sim.url}/{PROJECT}/_apis/wit"
    auth = HTTPBasicAuth("", "pat-full")
    assert session.delete(f"{api}/workitems/{item.key}?api-version=7.1", auth=auth, timeout=5).status_code == 200
    restored = session.patch(f"{api}/recyclebin/{item.key}?api-version=7.1", json={"IsDeleted": False}, auth=auth,
                             timeout=5)
    assert restored.status_code == 200
    sim.hooks.flush()

    events = [body for _, body in receiver.received]
    assert [e["eventType"] for e in events] == ["workitem.created", "workitem.updated", "workitem.updated",
                                                "workitem.commented", "workitem.deleted", "workitem.restored"]
    assert all(h["Authorization"] == "Basic dHdpbmJyaWRnZTpob29rLXNlY3JldA==" for h, _ in receiver.received)
    docs = HOOKS / "msdocs-service-hooks-events"
    for event in events:
        name = event["eventType"].split(".")[1]
        sample = json.loads((docs / f"ado-workitem-{name}-docs-sample.json").read_text())
        assert _keys(sample) <= _keys(event), name
        assert _keys(sample["message"]) == _keys(event["message"]) and event["publisherId"] == "tfs"
        assert _keys(sample["resourceContainers"]) == _keys(event["resourceContainers"])
        if name != "updated":  # the docs' updated sample is a copy of created (PROVENANCE.md): compared below
            assert _keys(sample["resource"]) <= _keys(event["resource"]), name
            assert _keys(sample["resource"]["_links"]) <= _keys(event["resource"]["_links"]), name
            assert set(sample["resource"]["fields"]) - set(event["resource"]["fields"]) <= {
                "Microsoft.Azure DevOps Services.Common.Severity", "WEF_EB329F44FE5F4A94ACB1DA153FDF38BA_Kanban.Column"}
            assert isinstance(event["resource"]["fields"]["System.CreatedBy"], str)  # "Name <unique name>"

    real = json.loads((HOOKS / "tfsaggregator" / "ado-vsts-workitem-updated-resource-details-all-messages-none.json")
                      .read_text())
    updated = events[1]
    assert _keys(real) | {"scope"} == _keys(updated)
    assert _keys(real["resource"]) == _keys(updated["resource"])
    assert _keys(real["resource"]["revisedBy"]) == _keys(updated["resource"]["revisedBy"])
    assert _keys(real["resource"]["revision"]) == _keys(updated["resource"]["revision"])
    assert _keys(real["resource"]["_links"]) == _keys(updated["resource"]["_links"])
    assert updated["resource"]["fields"]["System.State"] == {"oldValue": "New", "newValue": "Active"}
    assert updated["resource"]["fields"]["System.Rev"] == {"oldValue": 1, "newValue": 2}
    assert updated["resource"]["revision"]["rev"] == 2 and updated["resource"]["workItemId"] == int(item.key)
    assert events[3]["resource"]["fields"]["System.History"] == "This is a great new idea"
    assert events[4]["resource"]["url"].endswith(f"/recyclebin/{item.key}")


def test_dropped_service_hooks_never_arrive_and_custom_headers_are_sent(client, sim, receiver):
    sim.hooks.subscribe(receiver.url, headers={"X-Twinbridge-Token": "hook-secret"})
    sim.faults.drop_webhooks(1)
    first = client.create_item(PROJECT, ItemFields(summary="lost"))
    second = client.create_item(PROJECT, ItemFields(summary="kept"))
    sim.hooks.flush()
    assert [body["resource"]["id"] for _, body in receiver.received] == [int(second.id)]
    assert [event["resource"]["id"] for event in sim.hooks.dropped] == [int(first.id)]
    assert receiver.received[0][0]["X-Twinbridge-Token"] == "hook-secret"
