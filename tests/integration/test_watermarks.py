"""Reconciliation state is stored per tracker and project, exactly, and overlapping scans cannot clobber it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from twinbridge.store.watermarks import ScanState, WatermarkRepository, iso

T0 = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)


def test_unknown_project_has_no_state(table):
    assert WatermarkRepository(table).get("jira-cloud", "ACME") is None


def test_state_reads_back_exactly(table):
    marks = WatermarkRepository(table)
    assert marks.save("jira-cloud", "ACME", ScanState(since=T0, seen={"10001": iso(T0)}))
    state = marks.get("jira-cloud", "ACME")
    assert (state.since, state.seen, state.version) == (T0, {"10001": iso(T0)}, 1)


def test_a_second_scan_working_from_the_same_read_loses(table):
    marks = WatermarkRepository(table)
    marks.save("jira-cloud", "ACME", ScanState(since=T0))
    first, second = marks.get("jira-cloud", "ACME"), marks.get("jira-cloud", "ACME")
    first.since = T0 + timedelta(minutes=1)
    second.since = T0 + timedelta(minutes=2)
    assert marks.save("jira-cloud", "ACME", first)
    assert not marks.save("jira-cloud", "ACME", second)
    assert marks.get("jira-cloud", "ACME").since == T0 + timedelta(minutes=1)


def test_two_first_scans_cannot_both_create_the_state(table):
    marks = WatermarkRepository(table)
    assert marks.save("jira-dc", "ACME", ScanState(since=T0))
    assert not marks.save("jira-dc", "ACME", ScanState(since=T0 + timedelta(hours=1)))


def test_states_are_per_project_and_tracker(table):
    marks = WatermarkRepository(table)
    marks.save("jira-cloud", "ACME", ScanState(since=T0))
    assert marks.get("jira-cloud", "BETA") is None
    assert marks.get("azure-devops", "ACME") is None


def test_other_timezones_are_stored_in_utc(table):
    marks = WatermarkRepository(table)
    marks.save("jira-dc", "ACME", ScanState(since=T0.astimezone(ZoneInfo("Europe/Madrid"))))
    assert marks.get("jira-dc", "ACME").since == T0


def test_prune_keeps_only_versions_inside_the_window():
    state = ScanState(since=T0, seen={"old": iso(T0 - timedelta(minutes=5)), "new": iso(T0 - timedelta(seconds=30))})
    state.prune(T0 - timedelta(minutes=2))
    assert state.seen == {"new": iso(T0 - timedelta(seconds=30))}
