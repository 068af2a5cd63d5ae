"""Field clocks decide what an apply writes: the partner's value when its clock has seen every edit ours has, the
origin side's value when both sides edited the same field at once, nothing for an echo. Undos are edits too."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from twinbridge.models.replica import FieldClock, ItemIdentity, Replica, field_digest
from twinbridge.models.tracker import TrackerItem
from twinbridge.models.twin import FieldState, Twin
from twinbridge.sync.basic_rules import Target, decide_field, outgoing, outgoing_clocks, plan

T = datetime(2026, 11, 23, tzinfo=UTC)
TARGET = Target(text_format="html", issue_types=["Task", "Bug"], default_type="Task", remote_short_name="acme",
                labels_allow_spaces=True)


def clock(by_origin: int, by_copy: int) -> FieldClock:
    return FieldClock(by_origin=by_origin, by_copy=by_copy)


def _replica(summary: str, labels: list[str]) -> Replica:
    return Replica(
        item=ItemIdentity(id="1", key="A-1"), project="A", type="Task", summary=summary, labels=labels, updated=T
    )


def _local(summary: str, labels: list[str]) -> TrackerItem:
    return TrackerItem(id="9", key="9", url="", project="B", type="Task", summary=summary, labels=labels, updated=T)


def _twin(origin: str, **fields: tuple[FieldClock, object]) -> Twin:
    """A twin whose fields were last synced at ``(clock, value)``."""
    twin = Twin(connection_id="c-1", twin_id="acme:1", origin=origin, local=ItemIdentity(id="9", key="9"))
    twin.fields = {name: FieldState(clock=at, digest=field_digest(name, value)) for name, (at, value) in fields.items()}
    return twin


def test_only_the_field_the_partner_changed_is_written():
    twin = _twin("remote", summary=(clock(1, 0), "Old"), labels=(clock(1, 0), ["a"]))
    clocks = {"summary": clock(1, 0), "labels": clock(2, 0)}
    result = plan(_replica("Old", ["a", "b"]), twin, TARGET, _local("Old", ["a"]), clocks=clocks)
    assert result.update is not None and result.update.labels == ["a", "b"] and result.update.summary is None
    assert result.fields["labels"] == FieldState(clock=clock(2, 0), digest=field_digest("labels", ["a", "b"]))


def test_an_undo_is_a_new_edit_and_is_taken():
    # In sync at "A" (1,0); the copy changed it to "B" (1,1) and the origin took it; the origin puts "A" back.
    origin = _twin("local", summary=(clock(1, 1), "B"))
    sent = outgoing_clocks(outgoing(_local("A", []), [], origin), origin)
    assert sent["summary"].clock == clock(2, 1)  # counted as an edit, though "A" was sent once before
    copy = _twin("remote", summary=(clock(1, 1), "B"))
    result = plan(_replica("A", []), copy, TARGET, _local("B", []), clocks={"summary": sent["summary"].clock})
    assert result.update is not None and result.update.summary == "A"


def test_an_apply_is_not_mistaken_for_a_local_edit():
    copy = _twin("remote", summary=(clock(1, 0), "A"))
    result = plan(_replica("B", []), copy, TARGET, _local("A", []), clocks={"summary": clock(2, 0)})
    copy.fields = result.fields
    # the copy now reads "B" back from its tracker: not an edit of its own, so nothing is counted or echoed
    assert outgoing_clocks(outgoing(_local("B", []), [], copy), copy)["summary"].clock == clock(2, 0)


@pytest.mark.parametrize("order", ["same", "newer"])
def test_an_echo_or_an_older_replica_changes_nothing(order):
    origin = _twin("local", summary=(clock(3, 1), "Mine"))
    theirs = clock(3, 1) if order == "same" else clock(2, 1)
    decision = decide_field("summary", origin, theirs, _local("Mine", []))
    assert not decision.take and decision.state == origin.field("summary")


def test_different_fields_changed_at_once_on_both_sides_both_survive():
    origin = _twin("local", summary=(clock(2, 0), "New"), labels=(clock(1, 0), ["a"]))
    from_copy = {"summary": clock(1, 0), "labels": clock(1, 1)}  # the copy had not seen the summary edit
    result = plan(_replica("Old", ["a", "b"]), origin, TARGET, _local("New", ["a"]), clocks=from_copy)
    assert result.update is not None and result.update.labels == ["a", "b"] and result.update.summary is None


def test_same_field_changed_at_once_on_both_sides_ends_with_the_origin_value():
    origin = _twin("local", summary=(clock(2, 0), "Origin's"))
    copy = _twin("remote", summary=(clock(1, 1), "Copy's"))
    at_origin = decide_field("summary", origin, clock(1, 1), _local("Origin's", []))
    at_copy = decide_field("summary", copy, clock(2, 0), _local("Copy's", []))
    assert not at_origin.take and at_copy.take
    assert at_origin.state.clock == at_copy.state.clock == clock(2, 1)  # both sides end on one clock


def test_a_local_edit_not_sent_yet_is_concurrent_with_the_partners():
    # The origin's person changed the summary; its webhook is not processed yet when the copy's edit arrives.
    origin = _twin("local", summary=(clock(1, 0), "Old"))
    decision = decide_field("summary", origin, clock(1, 1), _local("Origin's new", []))
    assert not decision.take  # the origin keeps its unsent edit ...
    assert decision.state == FieldState(clock=clock(2, 1), digest=field_digest("summary", "Origin's new"))
    # ... while on the copy the same situation yields
    copy = _twin("remote", summary=(clock(1, 0), "Old"))
    assert decide_field("summary", copy, clock(2, 0), _local("Copy's new", [])).take


def test_a_later_change_from_the_copy_is_taken_by_the_origin():
    origin = _twin("local", summary=(clock(2, 0), "Origin's"))
    assert decide_field("summary", origin, clock(2, 1), _local("Origin's", [])).take
