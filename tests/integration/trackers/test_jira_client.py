"""The Jira Cloud and Data Center clients against the loopback Jira simulator: every operation, paging, retries."""

from __future__ import annotations

import io
import random
import re
import tempfile
from datetime import UTC, datetime, timedelta

import pytest
import requests

from twinbridge.errors import (
    TrackerAuthError,
    TrackerPermissionError,
    TrackerRejectedError,
    TrackerThrottledError,
    TrackerUnavailableError,
)
from twinbridge.models.tracker import ItemFields, NativeText
from twinbridge.trackers.credentials import TrackerCredentials
from twinbridge.trackers.http import RetryPolicy
from twinbridge.trackers.jira import JiraCloudClient, JiraDcClient
from twinbridge_tools.simulators.jira import ALL_PERMISSIONS, JiraSimulator

try:  # every request and simulator response checked against the vendored OpenAPI documents, once available
    from tests.contract.plugin import ContractAdapter, contract_session
except ImportError:  # pragma: no cover - the contract checker is not in this tree yet
    contract_session = None

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, max_wait=60, connect_timeout=2, read_timeout=10)
SECRET = "tok-Zq81-secret"


@pytest.fixture(params=["cloud", "dc"])
def flavour(request):
    return request.param


@pytest.fixture
def sim(flavour):
    with JiraSimulator(flavour, webhook_secret="hook-secret") as simulator:
        simulator.add_user("bot", "Sync Bot", "bot@example.com", SECRET, admin=True)
        simulator.add_user("noattach", "No Attach", "noattach@example.com", "tok-2",
                           permissions=ALL_PERMISSIONS - {"CREATE_ATTACHMENTS"})
        simulator.add_user("reader", "Reader", "reader@example.com", "tok-3", permissions={"BROWSE_PROJECTS"})
        simulator.add_project("PRJ", default_type="Bug")
        yield simulator


# What the documents cannot describe: statuses the simulator injects on purpose (throttling, outages), and Jira
# DC's attachment download, which is the servlet ``/secure/attachment/{id}/{name}`` outside the REST API.
# Atlassian's OAuth site discovery (GET /oauth/token/accessible-resources) is not part of the Jira document either.
TOLERATED = re.compile(r"response (429|5\d\d): undocumented status|GET /secure/attachment/\d+/[^:]+: unknown path"
                       r"|GET /oauth/token/accessible-resources: unknown path")


@pytest.fixture
def session(request, flavour):
    """A session checked against the flavour's OpenAPI document; violations fail the test at teardown."""
    if contract_session is None:
        yield requests.Session()
        return
    sessions = request.getfixturevalue("contract_session")
    yield sessions("jira-cloud" if flavour == "cloud" else "jira-dc", strict=False)
    unexpected = [str(v) for v in sessions.take_violations() if not TOLERATED.search(str(v))]
    assert unexpected == []


@pytest.fixture
def make(request, sim, session, flavour):
    """A client for one of the simulator's users; ``sleeps`` records every wait the client asked for."""
    sleeps: list[float] = []

    def build(user: str = "bot", secret: str | None = None, *, bearer: bool = False, policy: RetryPolicy = FAST,
              base_url: str | None = None, alt_base_url: str | None = None, page_size: int = 100):
        simulated = sim.users[user]
        secret = secret or simulated.secret
        extra: dict = {}
        if flavour == "cloud":  # an OAuth 2.0 token goes through the API gateway, which the simulator also plays
            creds = TrackerCredentials(oauth_token=secret) if bearer else TrackerCredentials(
                email=simulated.email, api_token=secret)
            cls = JiraCloudClient
            extra = {"oauth_gateway": sim.gateway_url} if bearer else {}
            if bearer and contract_session is not None:  # gateway calls are the document's paths under a mount
                mount = f"/ex/jira/{sim.cloud_id}"
                session.mount(sim.gateway_url + mount + "/", ContractAdapter(
                    "jira-cloud", request.getfixturevalue("contract_session"), prefix=mount, strict=False))
        else:
            creds = TrackerCredentials(pat=secret) if bearer else TrackerCredentials(username=user, password=secret)
            cls = JiraDcClient
        client = cls(base_url or sim.url, session, auth=creds.auth_for(cls.kind), http_policy=policy,
                     alt_base_url=alt_base_url, sleep=sleeps.append, page_size=page_size, **extra)
        client._http.rng = random.Random(7)
        return client

    build.sleeps = sleeps
    return build


def text(client, words: str) -> NativeText:
    if client.text_format == "adf":
        return NativeText(format="adf", content={"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": words}]}]})
    return NativeText(format="wiki", content=f"*{words}*")


def calls(sim, method: str, fragment: str) -> int:
    return sum(1 for r in sim.requests if r.method == method and fragment in r.path)


# ----------------------------------------------------------------------------------------------- identity / access


@pytest.mark.parametrize("bearer", [False, True], ids=["basic", "bearer"])
def test_whoami_with_either_auth_returns_the_user(make, bearer):
    me = make(bearer=bearer).whoami()
    assert me.account_id == "bot" and me.display_name == "Sync Bot" and me.email == "bot@example.com"


def test_wrong_token_raises_auth_error_without_the_secret(make, sim, flavour):
    client = make(secret="wrong-" + SECRET)
    with pytest.raises(TrackerAuthError) as caught:
        client.whoami()
    error = caught.value
    assert (error.tracker, error.operation, error.status) == (client.kind, "whoami", 401)
    assert SECRET not in str(error) and SECRET not in repr(client) and "wrong" not in str(error)
    assert calls(sim, "GET", "/myself") == 1  # a 401 is not retried


def test_check_access_for_a_full_user_grants_everything(make, sim, flavour):
    report = make().check_access("PRJ")
    assert report.reachable and report.authenticated and report.user.account_id == "bot"
    assert report.permissions == {p: True for p in ("browse", "create", "edit", "comment", "attach")}
    assert report.problems == {}
    probe = next(r for r in sim.requests if r.path.endswith("/mypermissions"))
    assert probe.query["projectKey"] == ["PRJ"]
    if flavour == "cloud":  # Cloud requires the filter; DC 10.3 documents none and lists every permission
        wanted = "BROWSE_PROJECTS,CREATE_ISSUES,EDIT_ISSUES,ADD_COMMENTS,CREATE_ATTACHMENTS"
        assert probe.query["permissions"] == [wanted]


def test_check_access_reports_each_missing_permission_separately(make):
    report = make("noattach").check_access("PRJ")
    assert report.permissions == {"browse": True, "create": True, "edit": True, "comment": True, "attach": False}
    assert list(report.problems) == ["attach"] and "Create Attachments" in report.problems["attach"]

    reader = make("reader").check_access("PRJ")
    assert [p for p, ok in reader.permissions.items() if not ok] == ["create", "edit", "comment", "attach"]
    assert set(reader.problems) == {"create", "edit", "comment", "attach"}


def test_check_access_reports_bad_credentials_and_unreachable_instead_of_raising(make):
    refused = make(secret="nope").check_access("PRJ")
    assert (refused.reachable, refused.authenticated) == (True, False) and "authentication" in refused.problems

    with socketless_port() as port:
        down = make(base_url=f"http://127.0.0.1:{port}", policy=RetryPolicy(attempts=1)).check_access("PRJ")
    assert (down.reachable, down.authenticated) == (False, False) and "reachable" in down.problems


def test_check_access_for_an_unknown_project_names_the_project(make):
    report = make().check_access("NOPE")
    assert report.authenticated and not any(report.permissions.values()) and "NOPE" in report.problems["project"]


class socketless_port:
    """A loopback port with nothing listening (bound then closed)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def __exit__(self, *exc: object) -> None:
        pass


# ----------------------------------------------------------------------------------------------- items


def test_create_get_and_update_item_round_trip(make, sim, flavour):
    client = make()
    created = client.create_item("PRJ", ItemFields(summary="Printer on fire", description=text(client, "smoke"),
                                                   labels=["hw", "urgent"], priority="High",
                                                   assignee_account_id="noattach"))
    assert created.key == "PRJ-1" and created.url == f"{sim.url}/browse/PRJ-1"
    assert created.type == ("Bug" if flavour == "cloud" else "Task")  # the default type (see issue types test)
    assert created.description == text(client, "smoke") and created.labels == ["hw", "urgent"]
    assert created.status == "To Do" and created.priority == "High" and created.assignee.account_id == "noattach"
    assert created.reporter.account_id == "bot" and created.updated.tzinfo is not None

    client.update_item("PRJ-1", ItemFields(summary="Printer fixed", labels=[], type="Task",
                                           description=text(client, "no smoke"), assignee_account_id=""))
    item = client.get_item("PRJ-1")
    assert (item.summary, item.labels, item.type, item.assignee) == ("Printer fixed", [], "Task", None)
    assert item.description == text(client, "no smoke") and item.project == "PRJ" and item.id == created.id
    body = sim.issues["PRJ-1"].description
    assert isinstance(body, dict if flavour == "cloud" else str)  # ADF on Cloud, wiki markup on DC


def test_create_item_with_an_unknown_type_is_rejected(make):
    with pytest.raises(TrackerRejectedError) as caught:
        make().create_item("PRJ", ItemFields(type="Saga", summary="x"))
    assert caught.value.status == 400 and "issuetype" in caught.value.detail


def test_get_unknown_item_raises_not_found(make):
    from twinbridge.errors import TrackerNotFoundError

    with pytest.raises(TrackerNotFoundError):
        make().get_item("PRJ-999")


def test_change_status_follows_the_transition_to_the_named_status(make, sim):
    client = make()
    client.create_item("PRJ", ItemFields(summary="s"))
    client.change_status("PRJ-1", "in progress")
    assert client.get_item("PRJ-1").status == "In Progress"
    client.change_status("PRJ-1", "In Progress")  # already there: nothing to do
    assert calls(sim, "POST", "/transitions") == 1


def test_change_status_without_a_transition_there_is_rejected_clearly(make, sim):
    make().create_item("PRJ", ItemFields(summary="s"))
    with pytest.raises(TrackerRejectedError) as caught:
        make("reader").change_status("PRJ-1", "Done")
    assert "'To Do' to 'Done'" in caught.value.detail and caught.value.operation == "change_status"
    with pytest.raises(TrackerRejectedError):
        make().change_status("PRJ-1", "Shipped")


def test_search_changed_since_pages_to_the_end_in_the_users_time_zone(make, sim, flavour):
    sim.users["bot"].time_zone = "Europe/Berlin"
    start = datetime(2025, 3, 1, 8, 0, 30, tzinfo=UTC)
    for n in range(130):
        sim.seed_issue("PRJ", f"issue {n}", reporter="bot", updated=start + timedelta(seconds=20 * n))
    client = make(page_size=50)
    since = start + timedelta(minutes=10, seconds=5)  # issue 30 is the first at or after it
    refs = list(client.search_changed_since("PRJ", since))
    keys = [r.key for r in refs]
    assert len(keys) == len(set(keys))
    assert {f"PRJ-{n + 1}" for n in range(30, 130)} <= set(keys)  # nothing missed
    assert all(r.updated >= since - timedelta(minutes=2) for r in refs)  # overlap bounded by the minute rule
    assert [r.updated for r in refs] == sorted(r.updated for r in refs)
    jql = client.changed_since_jql("PRJ", since)
    assert jql == 'project = "PRJ" AND updated >= "2025/03/01 09:09" ORDER BY updated ASC'  # 08:10 UTC = 09:10 CET
    searches = [r for r in sim.requests if "/search" in r.path]
    assert len(searches) == 3  # 103 matches at 50 a page
    assert all("/search/jql" in r.path and r.method == "POST" for r in searches) if flavour == "cloud" else all(
        r.path == "/rest/api/2/search" for r in searches)


# ----------------------------------------------------------------------------------------------- comments


def test_comments_list_pages_add_update_delete(make, sim):
    client = make(page_size=3)
    client.create_item("PRJ", ItemFields(summary="s"))
    added = [client.add_comment("PRJ-1", text(client, f"c{n}")) for n in range(7)]
    assert [c.body for c in client.list_comments("PRJ-1")] == [text(client, f"c{n}") for n in range(7)]
    assert calls(sim, "GET", "/comment") == 3

    updated = client.update_comment("PRJ-1", added[2].id, text(client, "edited"))
    assert updated.id == added[2].id and updated.body == text(client, "edited") and updated.author.account_id == "bot"
    client.delete_comment("PRJ-1", added[0].id)
    remaining = client.list_comments("PRJ-1")
    assert [c.id for c in remaining] == [c.id for c in added[1:]] and remaining[1].body == text(client, "edited")


def test_comment_in_the_wrong_text_format_fails_before_calling(make, sim):
    client = make()
    client.create_item("PRJ", ItemFields(summary="s"))
    other = NativeText(format="html", content="<p>x</p>")
    with pytest.raises(ValueError):
        client.add_comment("PRJ-1", other)
    assert calls(sim, "POST", "/comment") == 0


# ----------------------------------------------------------------------------------------------- attachments


class CountingReader(io.RawIOBase):
    """A file that records the largest read, to prove the upload streams."""

    def __init__(self, inner) -> None:
        self.inner, self.largest = inner, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.inner.tell()

    def seek(self, *args) -> int:
        return self.inner.seek(*args)

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size)
        self.largest = max(self.largest, len(data))
        return data


class CountingSink(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.largest = 0

    def write(self, data) -> int:
        self.largest = max(self.largest, len(data))
        return super().write(data)


def test_multi_megabyte_attachment_streams_up_and_down(make, sim):
    client = make()
    client.create_item("PRJ", ItemFields(summary="s"))
    payload = random.Random(1).randbytes(6 * 1024 * 1024 + 17)
    with tempfile.TemporaryFile() as handle:
        handle.write(payload)
        handle.seek(0)
        source = CountingReader(handle)
        attachment = client.upload_attachment("PRJ-1", "dump \"1\".bin", source)
    assert source.largest <= 64 * 1024  # read in chunks, never whole
    assert attachment.size == len(payload) and attachment.filename == "dump %221%22.bin"
    upload = next(r for r in sim.requests if r.path.endswith("/attachments"))
    assert upload.headers["X-Atlassian-Token"] == "no-check"
    assert upload.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert int(upload.headers["Content-Length"]) > len(payload)

    listed = client.list_attachments("PRJ-1")
    assert [a.id for a in listed] == [attachment.id] and client.get_item("PRJ-1").attachments == listed
    sink = CountingSink()
    assert client.download_attachment(listed[0], sink) == len(payload)
    assert sink.getvalue() == payload and sink.largest <= 64 * 1024

    client.delete_attachment("PRJ-1", attachment.id)
    assert client.list_attachments("PRJ-1") == []


def test_upload_without_create_attachments_is_forbidden(make):
    make().create_item("PRJ", ItemFields(summary="s"))
    with pytest.raises(TrackerPermissionError) as caught:
        make("noattach").upload_attachment("PRJ-1", "a.txt", io.BytesIO(b"hello"))
    assert (caught.value.status, caught.value.operation) == (403, "upload_attachment")


def test_upload_of_an_unseekable_stream_uses_chunked_encoding(make, sim):
    client = make()
    client.create_item("PRJ", ItemFields(summary="s"))

    class Pipe(io.RawIOBase):
        def __init__(self) -> None:
            self.left = [b"abc" * 1000, b"def"]

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            return self.left.pop(0) if self.left else b""

    attachment = client.upload_attachment("PRJ-1", "pipe.txt", Pipe())
    assert attachment.size == 3003 and sim.attachments[attachment.id].data.endswith(b"cdef")


# ----------------------------------------------------------------------------------------------- metadata / users


def test_issue_types_and_the_default_type(make, sim, flavour):
    client = make()
    assert client.issue_types("PRJ") == ["Task", "Bug", "Story", "Sub-task"]
    # Cloud reads the scheme's default (admin only); DC has no such API: the first standard type
    assert client.default_issue_type("PRJ") == ("Bug" if flavour == "cloud" else "Task")
    sim.users["bot"].admin = False
    assert client.default_issue_type("PRJ") == "Task"


def test_find_user_by_email_and_account_id(make):
    client = make()
    assert client.find_user(email="NOATTACH@example.com").account_id == "noattach"
    assert client.find_user(account_id="reader").display_name == "Reader"
    assert client.find_user(email="ghost@example.com") is None
    assert client.find_user() is None


# ----------------------------------------------------------------------------------------------- retries and faults


def test_429_waits_for_the_retry_after_hint_then_succeeds(make, sim):
    client = make()
    sim.faults.throttle(2, retry_after="7")
    assert client.whoami().account_id == "bot"
    assert make.sleeps == [7.0, 7.0] and calls(sim, "GET", "/myself") == 3


def test_429_with_only_x_ratelimit_reset_waits_until_the_reset(make, sim):
    client = make()
    fixed = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    client._http.clock = lambda: fixed
    sim.faults.throttle(1, retry_after=None, reset="2025-01-01T12:00:12.000Z")
    client.whoami()
    assert make.sleeps == [12.0]


def test_throttling_beyond_the_budget_raises_throttled_naming_the_call(make, sim):
    client = make()
    sim.faults.throttle(5, retry_after="3")
    with pytest.raises(TrackerThrottledError) as caught:
        client.get_item("PRJ-1")
    error = caught.value
    assert (error.tracker, error.operation, error.status, error.retry_after) == (client.kind, "get_item", 429, 3.0)
    assert make.sleeps == [3.0, 3.0] and calls(sim, "GET", "/issue/") == FAST.attempts


def test_a_5xx_burst_on_a_read_is_retried_with_backoff(make, sim):
    client = make()
    sim.faults.fail(2, status=502)
    assert client.whoami().account_id == "bot"
    assert len(make.sleeps) == 2 and all(0 < s <= FAST.max_delay for s in make.sleeps)


def test_persistent_5xx_raises_unavailable_after_bounded_attempts(make, sim):
    client = make()
    sim.faults.fail(10, status=500)
    with pytest.raises(TrackerUnavailableError) as caught:
        client.issue_types("PRJ")
    assert (caught.value.status, caught.value.operation) == (500, "issue_types")
    assert calls(sim, "GET", "/createmeta/") == FAST.attempts
    sim.faults.clear()


def test_a_create_that_got_a_500_is_not_retried(make, sim):
    client = make()
    sim.faults.fail(1, status=500)
    with pytest.raises(TrackerUnavailableError) as caught:
        client.create_item("PRJ", ItemFields(type="Task", summary="once"))
    assert (caught.value.status, caught.value.operation) == (500, "create_item")
    assert calls(sim, "POST", "/issue") == 1 and make.sleeps == []


def test_a_slow_tracker_times_out_into_unavailable(make, sim):
    client = make(policy=RetryPolicy(attempts=2, base_delay=0.01, read_timeout=0.2))
    release = sim.faults.hold(2)
    try:
        with pytest.raises(TrackerUnavailableError) as caught:
            client.whoami()
    finally:
        release.set()
    assert caught.value.status is None and "timed out" in caught.value.detail and len(make.sleeps) == 1


# ----------------------------------------------------------------------------------------------- alternative base URL


def test_alt_base_url_is_called_while_people_get_public_links(flavour, session):
    public = "https://jira.example.com"
    with JiraSimulator(flavour, public_base_url=public) as sim:
        sim.add_user("bot", "Sync Bot", "bot@example.com", SECRET)
        sim.add_project("PRJ")
        cls = JiraCloudClient if flavour == "cloud" else JiraDcClient
        creds = (TrackerCredentials(pat=SECRET) if flavour == "dc" else
                 TrackerCredentials(email="bot@example.com", api_token=SECRET))
        client = cls(public, session, auth=creds.auth_for(cls.kind), alt_base_url=sim.url, http_policy=FAST)
        item = client.create_item("PRJ", ItemFields(summary="via the back door"))
        attachment = client.upload_attachment(item.key, "a.txt", io.BytesIO(b"payload"))
        sink = io.BytesIO()
        client.download_attachment(attachment, sink)
    assert item.url == f"{public}/browse/{item.key}"
    assert attachment.content_url.startswith(public + "/") and sink.getvalue() == b"payload"
    assert len(sim.requests) >= 4  # every call reached the simulator through the alternative URL
