"""Dry runs (issue 12, acceptance 4): a version of the rules runs on a real item and answers with the exact tracker
requests an apply would send, for Jira Cloud, Jira Data Center and Azure DevOps, and sends nothing: the simulator's
request log shows reads only. "Exact" is checked literally: the real apply that follows sends the same requests
(method, URL and body), recorded on the node's own tracker session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from twinbridge.models.rules import DryRunRequest, SaveRulesRequest
from twinbridge.models.tracker import ItemFields, TrackerItem
from twinbridge.services import rules
from twinbridge.services.rules_dry_run import dry_run
from twinbridge.services.sync_in import find_by_marker
from twinbridge.sync.basic_rules import marker_for
from twinbridge_tools.convergence.pair import CONNECTION_ID, PROJECT, Pair, converging_pair

RULES = '''
STATES = {states}
PRIORITIES = {priorities}

def incoming(replica, local, ctx):
    log("applying", replica["item"]["key"])
    return {
        "summary": "[%s] %s" % (replica["item"]["key"], replica["summary"]),
        "description": replica["description"],
        "labels": replica["labels"],
        "status": STATES.get(replica["status"], replica["status"]),
        "priority": PRIORITIES.get(replica["priority"] or "", "Medium"),
        "comments": "merge",
    }
'''
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class Recorder(HTTPAdapter):
    """Passes every request through and keeps the writes (method, URL, JSON body)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, str, Any]] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        if request.method in WRITES:
            body = request.body.decode() if isinstance(request.body, bytes) else request.body
            import json

            self.writes.append((request.method, request.url, json.loads(body) if body else None))
        return super().send(request, *args, **kwargs)


@pytest.fixture(params=["jira-cloud/jira-dc", "jira-cloud/azure-devops"])
def pair(request) -> Iterator[Pair]:
    with converging_pair(request.param, mode="script") as made:
        yield made


def copy_of(pair: Pair, item: TrackerItem) -> TrackerItem:
    found = find_by_marker(pair.nodes["b"].person, PROJECT, marker_for(CONNECTION_ID, f"alpha:{item.id}"),
                           datetime(2000, 1, 1, tzinfo=UTC))
    assert found is not None
    return found


def publish(pair: Pair, side: str, source: str) -> int:
    deps = pair.nodes[side].deps
    saved = rules.save(deps, CONNECTION_ID, "incoming", SaveRulesRequest(source=source), author="admin")
    return rules.publish(deps, CONNECTION_ID, "incoming", saved.version, author="admin").version


@pytest.mark.parametrize("receiving", ["a", "b"])
def test_incoming_dry_run_shows_the_exact_requests_and_sends_nothing(pair, receiving):
    sending = "b" if receiving == "a" else "a"
    to_ado = pair.nodes[receiving].deps.tracker.kind == "azure-devops"
    states = {"To Do": "New", "In Progress": "Active", "Done": "Closed"} if to_ado else \
        {"New": "To Do", "Active": "In Progress", "Closed": "Done"}
    priorities = {"High": "2", "Medium": "3"} if to_ado else {"2": "High", "3": "Medium"}
    publish(pair, receiving, RULES.replace("{states}", repr(states)).replace("{priorities}", repr(priorities)))
    item = pair.create(sending, "Printer on fire", ["hardware"])
    pair.quiesce()
    origin = item
    copy = find_by_marker(pair.nodes[receiving].person, PROJECT,
                          marker_for(CONNECTION_ID, f"{pair.nodes[sending].spec.short}:{origin.id}"),
                          datetime(2000, 1, 1, tzinfo=UTC))
    assert copy is not None
    person = pair.nodes[sending].person
    person.update_item(origin.key, ItemFields(summary="Printer still on fire", labels=["hardware", "urgent"],
                                              priority="High" if person.kind != "azure-devops" else "2"))
    person.change_status(origin.key, "In Progress" if person.kind != "azure-devops" else "Active")
    person.add_comment(origin.key, pair.text(sending, "Fire brigade called"))
    pair.notify(sending, origin.key)
    pair.run_changes(sending)
    pair.deliver(sending)  # the replica waits on the receiving side: not applied yet

    sim = pair.nodes[receiving].sim
    seen = len(sim.requests)
    answer = dry_run(pair.nodes[receiving].deps, CONNECTION_ID, "incoming", DryRunRequest(item=copy.key))
    assert {r.method for r in sim.requests[seen:]} <= {"GET"}, "a dry run sent a write"
    assert answer.error is None and answer.version == 1
    assert answer.logs == [f"applying {origin.key}"]
    assert answer.writes["status"] in ("Active", "In Progress") and answer.requests
    assert pair.nodes[receiving].person.get_item(copy.key).summary == f"[{origin.key}] Printer on fire"

    recorder = Recorder()
    pair.nodes[receiving].deps.tracker._http.session.mount("http://", recorder)  # the node's own session
    pair.run_applies(receiving)
    shown = [(r.method, r.url, r.body) for r in answer.requests]
    assert shown == recorder.writes  # the same requests, byte for byte in JSON terms, in the same order
    applied = pair.nodes[receiving].person.get_item(copy.key)
    assert applied.summary == f"[{origin.key}] Printer still on fire"
    assert applied.status in ("Active", "In Progress")


def test_outgoing_dry_run_of_a_draft_shows_the_replica_and_sends_nothing(pair):
    deps = pair.nodes["a"].deps
    item = pair.create("a", "Printer on fire", ["hardware", "internal-audit"])
    pair.quiesce()
    rules.save(deps, CONNECTION_ID, "outgoing", SaveRulesRequest(source='''
def outgoing(item, replica, ctx):
    replica["labels"] = [l for l in replica["labels"] if not l.startswith("internal-")]
    return replica
'''), author="admin")
    seen_a, seen_b = len(pair.nodes["a"].sim.requests), len(pair.nodes["b"].sim.requests)
    answer = dry_run(deps, CONNECTION_ID, "outgoing", DryRunRequest(item=item.key, version="draft"))
    assert answer.shared and answer.would_send and answer.replica["labels"] == ["hardware"]
    assert answer.version == 1
    assert {r.method for r in pair.nodes["a"].sim.requests[seen_a:]} <= {"GET"}
    assert len(pair.nodes["b"].sim.requests) == seen_b
    assert deps.outbox.pending(CONNECTION_ID, 0, 100)[0] == []  # nothing queued for the partner

    active = dry_run(deps, CONNECTION_ID, "outgoing", DryRunRequest(item=item.key))  # the generated defaults
    assert active.version == 0 and not active.would_send  # the same as the last one sent


def test_a_script_error_is_the_answer_with_its_line(pair):
    deps = pair.nodes["b"].deps
    item = pair.create("a", "Printer on fire", [])
    pair.quiesce()
    rules.save(deps, CONNECTION_ID, "incoming", SaveRulesRequest(
        source='def incoming(replica, local, ctx):\n    return {"status": lookup({}, replica["status"])}\n'),
        author="admin")
    answer = dry_run(deps, CONNECTION_ID, "incoming",
                     DryRunRequest(item=copy_of(pair, item).key, version="draft",
                                   replica=_replica_of(pair, item)))
    assert answer.error is not None and answer.error["line"] == 2 and "no mapping for 'To Do'" in answer.error["message"]
    assert answer.requests == []


def _replica_of(pair: Pair, item: TrackerItem) -> dict:
    from twinbridge.sync import basic_rules

    twin = pair.nodes["a"].deps.twins.find_by_local(CONNECTION_ID, item.id)
    fresh = pair.nodes["a"].person.get_item(item.key)
    return basic_rules.outgoing(fresh, [], twin).model_dump(mode="json")
