"""Concurrent edits: only fields the partner changed are written, and a field both sides changed at once
ends with the origin side's value on both sides."""

from __future__ import annotations

from datetime import UTC, datetime

from twinbridge.models.replica import ItemIdentity, Replica, field_versions
from twinbridge.models.tracker import TrackerItem
from twinbridge.models.twin import Twin
from twinbridge.sync.basic_rules import Target, fields_to_take, plan

T = datetime(2026, 11, 23, tzinfo=UTC)
TARGET = Target(text_format="html", issue_types=["Task", "Bug"], default_type="Task", remote_short_name="acme",
                labels_allow_spaces=True)


def _replica(summary: str, labels: list[str]) -> Replica:
    return Replica(
        item=ItemIdentity(id="1", key="A-1"), project="A", type="Task", summary=summary, labels=labels, updated=T
    )


def _local(summary: str, labels: list[str]) -> TrackerItem:
    return TrackerItem(id="9", key="9", url="", project="B", type="Task", summary=summary, labels=labels, updated=T)


def _twin(origin: str, received: Replica, sent: Replica | None = None, sent_seq: dict[str, int] | None = None) -> Twin:
    twin = Twin(connection_id="c-1", twin_id="acme:1", origin=origin, local=ItemIdentity(id="9", key="9"))
    twin.received_fields = field_versions(received)
    if sent is not None:
        twin.sent_fields = field_versions(sent)
    twin.sent_field_seq = sent_seq or {}
    return twin


def test_only_the_field_the_partner_changed_is_written():
    before = _replica("Old", ["a"])
    twin = _twin("remote", received=before)
    result = plan(_replica("Old", ["a", "b"]), twin, TARGET, _local("Mine now", ["a"]), based_on=0)
    assert result.update is not None and result.update.labels == ["a", "b"] and result.update.summary is None


def test_different_fields_changed_at_once_on_both_sides_both_survive():
    base = _replica("Old", ["a"])
    # origin changed the summary (its seq 2); the copy changed the labels without having seen seq 2
    origin_twin = _twin("local", received=base, sent_seq={"summary": 2, "labels": 1, "type": 1, "description": 1})
    assert fields_to_take(_replica("Old", ["a", "b"]), origin_twin, based_on=1) == {"labels"}
    copy_twin = _twin("remote", received=base)
    assert fields_to_take(_replica("New", ["a"]), copy_twin, based_on=1) == {"summary"}


def test_same_field_changed_at_once_on_both_sides_ends_with_the_origin_value():
    base = _replica("Old", ["a"])
    origin_twin = _twin("local", received=base, sent_seq={"summary": 2})
    from_copy = _replica("Copy's", ["a"])  # built when the copy had applied only seq 1
    assert "summary" not in fields_to_take(from_copy, origin_twin, based_on=1)  # origin keeps "Origin's"
    copy_twin = _twin("remote", received=base, sent_seq={"summary": 5})
    from_origin = _replica("Origin's", ["a"])
    assert "summary" in fields_to_take(from_origin, copy_twin, based_on=0)  # the copy yields


def test_a_later_change_from_the_copy_is_taken_by_the_origin():
    base = _replica("Old", ["a"])
    origin_twin = _twin("local", received=base, sent_seq={"summary": 2})
    assert "summary" in fields_to_take(_replica("Copy's later", ["a"]), origin_twin, based_on=2)
