"""The Jira simulator's JQL subset: what it matches, how it orders, and that JQL outside it is refused, not guessed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from twinbridge_tools.simulators.jira.jql import JqlError, parse


@dataclass
class Issue:
    key: str
    summary: str
    labels: list[str] = field(default_factory=list)
    status: str = "To Do"
    assignee: str | None = None
    updated: datetime = datetime(2026, 3, 1, 12, 30, 45, tzinfo=UTC)


FIELDS = {"key": lambda i: i.key, "summary": lambda i: i.summary, "labels": lambda i: i.labels,
          "status": lambda i: i.status, "assignee": lambda i: i.assignee, "updated": lambda i: i.updated}
ISSUES = [Issue("A-1", "Login fails", ["bug", "ui"]), Issue("A-2", "Add export", ["feature"], "Done", "ana"),
          Issue("A-3", "Export is slow", [], "In Progress", "ben", datetime(2026, 3, 1, 12, 31, tzinfo=UTC))]


def keys(jql: str, zone: str = "UTC") -> list[str]:
    query = parse(jql, FIELDS, ZoneInfo(zone))
    return [i.key for i in ISSUES if query.matches(i)]


@pytest.mark.parametrize(("jql", "expected"), [
    ("labels = bug", ["A-1"]),
    ("LABELS = BUG", ["A-1"]),
    ('summary ~ "export"', ["A-2", "A-3"]),
    ("summary !~ export", ["A-1"]),
    ("status in (Done, 'In Progress')", ["A-2", "A-3"]),
    ("status not in (Done)", ["A-1", "A-3"]),
    ("assignee is EMPTY", ["A-1"]),
    ("assignee is not empty and labels is empty", ["A-3"]),
    ("labels = bug OR labels = feature AND status = Done", ["A-1", "A-2"]),
    ("(labels = bug OR labels = feature) AND status = Done", ["A-2"]),
    ("NOT status = Done", ["A-1", "A-3"]),
    ("status != Done", ["A-1", "A-3"]),
    ('updated >= "2026/03/01 12:31"', ["A-3"]),
    ('updated < "2026-03-01 12:31"', ["A-1", "A-2"]),
    ('updated >= "2026/03/01 13:31"', []),
    ("", ["A-1", "A-2", "A-3"]),
])
def test_clauses_match_like_jira(jql, expected):
    assert keys(jql) == expected


def test_dates_are_read_in_the_searching_users_time_zone():
    assert keys('updated >= "2026/03/01 13:31"', "Europe/Madrid") == ["A-3"]  # 13:31 in Madrid is 12:31 UTC


def test_order_by_lists_fields_and_directions():
    assert parse("labels = x ORDER BY updated DESC, key", FIELDS, UTC).order == [("updated", True), ("key", False)]
    assert parse("ORDER BY created ASC", FIELDS, UTC).order == [("created", False)]


@pytest.mark.parametrize(("jql", "message"), [
    ("nosuchfield = 1", "Field 'nosuchfield' does not exist"),
    ("labels = ", "ends unexpectedly"),
    ("labels bug", "Expecting operator"),
    ('updated >= "yesterday"', "Date value 'yesterday'"),
    ("labels = a b", "Expecting either 'OR' or 'AND'"),
    ("(labels = a", "ends unexpectedly"),
    ("labels = a ORDER BY nosuch", "Field 'nosuch' does not exist"),
    ("assignee is bob", "Expecting 'EMPTY' or 'NULL'"),
])
def test_jql_outside_the_subset_is_refused_with_jiras_wording(jql, message):
    with pytest.raises(JqlError, match=message):
        parse(jql, FIELDS, UTC)
