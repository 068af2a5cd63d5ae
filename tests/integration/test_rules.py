"""Script-mode rules, versioned per connection and direction: the service on moto's table, and the admin routes
through the real handler (save, show, publish, rollback, history)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from tests.support import http_event

GOOD = "def outgoing(item, replica, ctx):\n    return replica\n"
BETTER = "def outgoing(item, replica, ctx):\n    replica[\"labels\"] = []\n    return replica\n"
BROKEN = "def outgoing(item, replica, ctx):\n    x = 1\n    return undefined_name\n"
INCOMING_GOOD = "def incoming(replica, local, ctx):\n    return {\"summary\": replica[\"summary\"]}\n"
ADMIN_ARN = "arn:aws:iam::123456789012:user/ana"


def _admin(lambda_context, method: str, path: str, body: dict | None = None, *, caller: str | None = ADMIN_ARN,
           **query: str) -> tuple[int, dict]:
    from functions.admin_api.app import lambda_handler

    event = http_event(method, path, body, query=urlencode(query))
    if caller:  # what API Gateway's AWS_IAM authorizer adds
        event["requestContext"]["authorizer"] = {"iam": {"userArn": caller, "accountId": "123456789012"}}
    response = lambda_handler(event, lambda_context)
    return response["statusCode"], json.loads(response["body"])


def _connection(deps, name: str = "Acme", remote: str = "beta", mode: str = "script"):
    from twinbridge.models.admin import ManualConnectionRequest
    from twinbridge.peers.keys import new_manual_key
    from twinbridge.services import connections

    return connections.add_manual(deps, ManualConnectionRequest(
        name=name, local_short_name="acme", remote_short_name=remote, project=f"P{remote.upper()}", mode=mode,
        local_key=new_manual_key(), remote_key=new_manual_key(), remote_url=f"http://127.0.0.1:1/{remote}",
    ))


def _rules(conn_id: str, direction: str = "outgoing", tail: str = "") -> str:
    return f"/admin/v1/connections/{conn_id}/rules/{direction}{tail}"


def _save(deps, conn_id: str, source: str, direction: str = "outgoing", author: str = "ana", note: str = ""):
    from twinbridge.models.rules import SaveRulesRequest
    from twinbridge.services import rules

    return rules.save(deps, conn_id, direction, SaveRulesRequest(source=source, note=note), author)


# --- the service -----------------------------------------------------------------------------------------------
def test_a_connection_without_rules_shows_and_runs_the_generated_defaults(deps):
    from twinbridge.scripting.defaults import SOURCES
    from twinbridge.services import rules

    conn = _connection(deps)
    for direction in ("outgoing", "incoming"):
        view = rules.show(deps, conn.id, direction)
        assert (view.version, view.status, view.active, view.source) == (0, "generated", True, SOURCES[direction])
        assert deps.rules_source.active_source(conn.id, direction) == (0, SOURCES[direction])


def test_two_saves_get_distinct_versions_and_the_second_is_based_on_the_active_one(deps):
    conn = _connection(deps)
    first, second = _save(deps, conn.id, GOOD), _save(deps, conn.id, BETTER)
    assert (first.version, second.version) == (1, 2)
    assert first.status == second.status == "draft" and first.based_on == 0
    assert deps.rules.get(conn.id, "outgoing", 1).source == GOOD


def test_a_save_that_loses_the_race_for_a_number_takes_the_next_one(deps, monkeypatch):
    """Two admins save at once: both read 'newest is 1'; the conditional put makes the second one take 3."""
    from twinbridge.store.rules import RulesRepository

    conn = _connection(deps)
    _save(deps, conn.id, GOOD)
    real_latest, raced = RulesRepository.latest, []

    def stale_latest(self, connection_id, direction):
        seen = real_latest(self, connection_id, direction)
        if not raced:  # the other admin's save lands between our read and our write
            raced.append(True)
            _save(deps, conn.id, BETTER, author="bob")
        return seen

    monkeypatch.setattr(RulesRepository, "latest", stale_latest)
    mine = _save(deps, conn.id, GOOD, author="ana")
    monkeypatch.undo()
    assert mine.version == 3
    versions, _ = deps.rules.list(conn.id, "outgoing")
    assert [(v.version, v.author) for v in versions] == [(3, "ana"), (2, "bob"), (1, "ana")]


def test_publish_refuses_a_version_with_errors_naming_line_and_column(deps):
    from twinbridge.errors import InvalidRequestError
    from twinbridge.services import rules

    conn = _connection(deps)
    saved = _save(deps, conn.id, BROKEN)
    assert [(d.severity, d.line, d.column) for d in saved.diagnostics][0] == ("error", 3, 12)
    with pytest.raises(InvalidRequestError) as refused:
        rules.publish(deps, conn.id, "outgoing", saved.version, "ana")
    assert "3:12: error: Variable `undefined_name` not found" in refused.value.message
    assert deps.rules_source.active_source(conn.id, "outgoing")[0] == 0  # still the defaults


def test_warnings_do_not_block_publishing(deps):
    from twinbridge.services import rules

    conn = _connection(deps)
    source = "def outgoing(item, replica, ctx):\n    unused = 1\n    return replica\n"
    saved = _save(deps, conn.id, source)
    assert saved.diagnostics and {d.severity for d in saved.diagnostics} == {"warning"}
    assert rules.publish(deps, conn.id, "outgoing", None, "ana").active


def test_publish_moves_the_pointer_retires_the_previous_and_rollback_reactivates_it(deps):
    from twinbridge.services import rules

    conn = _connection(deps)
    _save(deps, conn.id, GOOD)
    rules.publish(deps, conn.id, "outgoing", None, "ana")  # the newest draft: 1
    _save(deps, conn.id, BETTER)
    published = rules.publish(deps, conn.id, "outgoing", 2, "bob")
    assert (published.version, published.status, published.active) == (2, "published", True)
    assert deps.rules.get(conn.id, "outgoing", 1).status == "retired"
    assert deps.rules_source.active_source(conn.id, "outgoing") == (2, BETTER)

    back = rules.rollback(deps, conn.id, "outgoing", 1, "carla")
    assert (back.version, back.active) == (1, True)
    assert deps.rules_source.active_source(conn.id, "outgoing") == (1, GOOD)
    assert deps.rules.get(conn.id, "outgoing", 2).status == "retired"
    assert rules.show(deps, conn.id, "outgoing").version == 1

    defaults = rules.rollback(deps, conn.id, "outgoing", 0, "carla")
    assert (defaults.status, defaults.active) == ("generated", True)
    assert deps.rules_source.active_source(conn.id, "outgoing")[0] == 0


def test_rollback_to_a_draft_is_refused_and_publishing_the_active_version_again_changes_nothing(deps, table_snapshot):
    from twinbridge.errors import InvalidRequestError
    from twinbridge.services import rules

    conn = _connection(deps)
    _save(deps, conn.id, GOOD)
    rules.publish(deps, conn.id, "outgoing", 1, "ana")
    _save(deps, conn.id, BETTER)
    before = table_snapshot()
    with pytest.raises(InvalidRequestError, match="never published"):
        rules.rollback(deps, conn.id, "outgoing", 2, "ana")
    assert rules.publish(deps, conn.id, "outgoing", 1, "ana").active
    assert table_snapshot() == before


def test_a_publish_against_a_stale_pointer_is_a_conflict(deps):
    from twinbridge.errors import ConcurrentModificationError
    from twinbridge.models.connection import utcnow
    from twinbridge.models.rules import ActiveRules
    from twinbridge.services import rules

    conn = _connection(deps)
    one, two = _save(deps, conn.id, GOOD), _save(deps, conn.id, BETTER)
    rules.publish(deps, conn.id, "outgoing", 1, "ana")
    with pytest.raises(ConcurrentModificationError):  # bob still saw "no rules published"
        deps.rules.publish(conn.id, "outgoing", ActiveRules(version=2, sha256=two.sha256), None, author="bob",
                           at=utcnow())
    assert deps.rules_source.active_source(conn.id, "outgoing") == (1, one.source)


def test_history_says_who_did_what_when_newest_first(deps):
    from twinbridge.services import rules

    conn = _connection(deps)
    _save(deps, conn.id, GOOD, author="ana", note="first try")
    rules.publish(deps, conn.id, "outgoing", 1, "bob")
    _save(deps, conn.id, BETTER, author="ana")
    rules.publish(deps, conn.id, "outgoing", 2, "bob")
    rules.rollback(deps, conn.id, "outgoing", 1, "carla")

    found = rules.history(deps, conn.id, "outgoing")
    assert found.active_version == 1
    assert [(v.version, v.status, v.author) for v in found.versions] == [(2, "retired", "ana"), (1, "published", "ana")]
    assert [(e.action, e.version, e.previous, e.author) for e in found.events] == [
        ("rolled back", 1, 2, "carla"), ("published", 2, 1, "bob"), ("saved", 2, None, "ana"),
        ("published", 1, None, "bob"), ("saved", 1, None, "ana"),
    ]
    assert found.events[-1].note == "first try" and found.events[0].at >= found.events[-1].at


def test_history_pages_through_versions(deps):
    from twinbridge.services import rules

    conn = _connection(deps)
    for _ in range(5):
        _save(deps, conn.id, GOOD)
    first = rules.history(deps, conn.id, "outgoing", limit=2)
    assert [v.version for v in first.versions] == [5, 4] and first.next_before == 4
    second = rules.history(deps, conn.id, "outgoing", limit=2, before=first.next_before)
    third = rules.history(deps, conn.id, "outgoing", limit=2, before=second.next_before)
    assert [v.version for v in second.versions + third.versions] == [3, 2, 1] and third.next_before is None


def test_directions_and_connections_keep_their_own_rules(deps):
    from twinbridge.errors import NotFoundError
    from twinbridge.services import rules

    acme, other = _connection(deps), _connection(deps, name="Other", remote="gamma")
    _save(deps, acme.id, GOOD)
    rules.publish(deps, acme.id, "outgoing", 1, "ana")
    assert rules.show(deps, acme.id, "incoming").status == "generated"
    assert rules.show(deps, other.id, "outgoing").status == "generated"
    with pytest.raises(NotFoundError):
        rules.show(deps, other.id, "outgoing", 1)
    assert rules.history(deps, other.id, "outgoing").versions == []
    assert _save(deps, other.id, BETTER).version == 1  # numbering is per connection


def test_deleting_the_connection_deletes_its_rules_and_a_late_save_creates_nothing(deps, table_snapshot):
    from twinbridge.errors import NotFoundError
    from twinbridge.models.connection import utcnow
    from twinbridge.models.rules import RuleDraft, source_digest
    from twinbridge.services import connections, rules

    conn = _connection(deps)
    _save(deps, conn.id, GOOD)
    rules.publish(deps, conn.id, "outgoing", 1, "ana")
    connections.delete(deps, conn.id)
    assert not [item for item in table_snapshot() if item["PK"] == f"CONN#{conn.id}"]
    with pytest.raises(NotFoundError):  # a save racing the delete: the connection check fails the transaction
        deps.rules.save_draft(RuleDraft(connection_id=conn.id, direction="outgoing", source=GOOD,
                                        sha256=source_digest(GOOD), author="ana", created_at=utcnow(),
                                        engine="x"))
    assert not [item for item in table_snapshot() if item["PK"] == f"CONN#{conn.id}"]


def test_the_checker_is_injected(deps):
    from twinbridge.scripting.engine import Diagnostic

    conn = _connection(deps)
    calls = []

    def guarded(source, direction):
        calls.append(direction)
        return [Diagnostic("error", 1, 1, "limit", "exceeded 1 s")]

    deps.rule_checker = guarded
    saved = _save(deps, conn.id, GOOD)
    assert calls == ["outgoing"] and [str(d) for d in saved.diagnostics] == ["1:1: error: exceeded 1 s"]


def test_the_source_limit_matches_the_engine():
    from twinbridge.models import rules
    from twinbridge.scripting import engine

    assert rules.SOURCE_LIMIT == engine.SOURCE_LIMIT
    assert rules.RULE_DIRECTIONS == engine.DIRECTIONS


# --- the admin routes -------------------------------------------------------------------------------------------
def test_routes_save_show_publish_rollback_and_history(deps, lambda_context):
    conn = _connection(deps)
    status, shown = _admin(lambda_context, "GET", _rules(conn.id))
    assert status == 200 and shown["rules"]["status"] == "generated" and shown["rules"]["connection_mode"] == "script"

    status, saved = _admin(lambda_context, "POST", _rules(conn.id), {"source": GOOD, "note": "start"})
    assert status == 201 and saved["rules"]["version"] == 1 and saved["rules"]["author"] == ADMIN_ARN
    status, draft = _admin(lambda_context, "GET", _rules(conn.id), version="draft")
    assert status == 200 and draft["rules"]["source"] == GOOD

    status, published = _admin(lambda_context, "POST", _rules(conn.id, tail="/publish"), {})
    assert status == 200 and published["rules"]["active"] and published["rules"]["version"] == 1
    _admin(lambda_context, "POST", _rules(conn.id), {"source": BETTER})
    assert _admin(lambda_context, "POST", _rules(conn.id, tail="/publish"), {"version": 2})[0] == 200
    status, back = _admin(lambda_context, "POST", _rules(conn.id, tail="/rollback"), {"version": 1})
    assert status == 200 and back["rules"]["version"] == 1

    status, history = _admin(lambda_context, "GET", _rules(conn.id, tail="/history"), limit="10")
    assert status == 200 and history["active_version"] == 1
    assert [e["action"] for e in history["events"]][:2] == ["rolled back", "published"]
    assert {e["author"] for e in history["events"]} == {ADMIN_ARN}


def test_route_publish_of_a_version_with_errors_is_400_with_the_diagnostics(deps, lambda_context, table_snapshot):
    conn = _connection(deps)
    status, saved = _admin(lambda_context, "POST", _rules(conn.id), {"source": BROKEN})
    assert status == 201 and saved["rules"]["diagnostics"][0]["line"] == 3
    before = table_snapshot()
    status, refused = _admin(lambda_context, "POST", _rules(conn.id, tail="/publish"), {"version": 1})
    assert status == 400 and "3:12: error:" in refused["message"] and "undefined_name" in refused["message"]
    assert table_snapshot() == before


@pytest.mark.parametrize(("method", "path", "body", "query", "expected", "words"), [
    ("GET", _rules("c-unknown"), None, {}, 404, "does not exist"),
    ("GET", _rules("{conn}", "sideways"), None, {}, 400, "'outgoing' or 'incoming'"),
    ("GET", _rules("{conn}"), None, {"version": "latest"}, 400, "version must be"),
    ("GET", _rules("{conn}"), None, {"version": "7"}, 404, "version 7"),
    ("GET", _rules("{conn}"), None, {"version": "draft"}, 404, "no outgoing draft"),
    ("POST", _rules("{conn}"), {"source": "x" * (64 * 1024 + 1)}, {}, 400, "source"),
    ("POST", _rules("{conn}"), {"source": "\u00e9" * (33 * 1024)}, {}, 400, "at most 65536"),
    ("POST", _rules("{conn}"), {"source": GOOD, "extra": 1}, {}, 400, "extra"),
    ("POST", _rules("c-unknown"), {"source": GOOD}, {}, 404, "does not exist"),
    ("POST", _rules("{conn}", tail="/publish"), {}, {}, 400, "no outgoing draft to publish"),
    ("POST", _rules("{conn}", tail="/publish"), {"version": 9}, {}, 404, "version 9"),
    ("POST", _rules("{conn}", tail="/rollback"), {"version": 9}, {}, 404, "version 9"),
    ("GET", _rules("{conn}", tail="/history"), None, {"limit": "0"}, 400, "'limit'"),
])
def test_route_refusals_are_4xx_with_a_message_and_change_nothing(deps, lambda_context, table_snapshot, method, path,
                                                                   body, query, expected, words):
    conn = _connection(deps)
    before = table_snapshot()
    status, answer = _admin(lambda_context, method, path.replace("{conn}", conn.id), body, **query)
    assert (status, answer["error"] != "") == (expected, True) and words in answer["message"], answer
    assert table_snapshot() == before


def test_items_follow_the_documented_layout(deps, table_snapshot):
    from twinbridge.services import rules

    conn = _connection(deps)
    _save(deps, conn.id, GOOD)
    rules.publish(deps, conn.id, "outgoing", 1, "ana")
    _save(deps, conn.id, INCOMING_GOOD, direction="incoming")
    keys = sorted(item["SK"] for item in table_snapshot() if item["PK"] == f"CONN#{conn.id}" and
                  item["SK"].startswith("RULES#"))
    assert [k for k in keys if "#LOG#" not in k] == ["RULES#in#v000001", "RULES#out#ACTIVE", "RULES#out#v000001"]
    assert sum("#LOG#" in k for k in keys) == 3


def test_route_another_connections_version_is_not_found(deps, lambda_context):
    acme, other = _connection(deps), _connection(deps, name="Other", remote="gamma")
    assert _admin(lambda_context, "POST", _rules(acme.id), {"source": GOOD})[0] == 201
    status, answer = _admin(lambda_context, "GET", _rules(other.id), version="1")
    assert status == 404 and other.id in answer["message"]
    status, answer = _admin(lambda_context, "POST", _rules(other.id, tail="/publish"), {"version": 1})
    assert status == 404
    assert _admin(lambda_context, "GET", _rules(acme.id), version="1")[1]["rules"]["source"] == GOOD
