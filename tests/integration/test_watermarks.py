"""Reconciliation watermarks only move forward, per tracker and project."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from twinbridge.store.watermarks import WatermarkRepository

T0 = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)


def test_unknown_project_has_no_watermark(table):
    assert WatermarkRepository(table).get("jira-cloud", "ACME") is None


def test_watermark_advances_and_reads_back_exactly(table):
    marks = WatermarkRepository(table)
    assert marks.advance("jira-cloud", "ACME", T0)
    assert marks.get("jira-cloud", "ACME") == T0
    assert marks.advance("jira-cloud", "ACME", T0 + timedelta(seconds=1))
    assert marks.get("jira-cloud", "ACME") == T0 + timedelta(seconds=1)


def test_watermark_never_moves_backwards(table):
    marks = WatermarkRepository(table)
    marks.advance("jira-cloud", "ACME", T0)
    assert not marks.advance("jira-cloud", "ACME", T0 - timedelta(microseconds=1))
    assert not marks.advance("jira-cloud", "ACME", T0)
    assert marks.get("jira-cloud", "ACME") == T0


def test_watermarks_are_per_project_and_tracker(table):
    marks = WatermarkRepository(table)
    marks.advance("jira-cloud", "ACME", T0)
    assert marks.get("jira-cloud", "BETA") is None
    assert marks.get("azure-devops", "ACME") is None


def test_other_timezones_are_stored_in_utc(table):
    marks = WatermarkRepository(table)
    local = T0.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Madrid"))
    marks.advance("jira-dc", "ACME", local)
    assert marks.get("jira-dc", "ACME") == T0
