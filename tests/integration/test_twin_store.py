"""TwinRepository against moto's node table: round trips, the local-item index, optimistic locking, the error GSI."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from twinbridge.errors import ConcurrentModificationError, StoreBusyError
from twinbridge.models.connection import Connection, Origin
from twinbridge.models.replica import ItemIdentity, Replica, ReplicaComment, ReplicaMessage
from twinbridge.models.twin import AttachmentLink, CommentLink, CreateClaim, StagedAttachment, Twin, TwinError
from twinbridge.store import keys as k
from twinbridge.store.connections import ConnectionRepository
from twinbridge.store.twins import ApplyState, TwinRepository

T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
CANONICAL_HELLO = {"v": 1, "t": "Document",
                   "blocks": [{"t": "Paragraph", "children": [{"t": "Text", "text": "Hello"}]}]}


@pytest.fixture
def twins(table) -> TwinRepository:
    return TwinRepository(table)


def make_twin(twin_id: str = "acme:10001", connection_id: str = "conn-1", local_id: str | None = "900",
              **overrides) -> Twin:
    local = ItemIdentity(id=local_id, key=f"L-{local_id}", url=f"https://local.test/{local_id}") if local_id else None
    return Twin(connection_id=connection_id, twin_id=twin_id, origin="remote", local=local,
                remote=ItemIdentity(id="10001", key="ACME-1", url="https://acme.atlassian.net/browse/ACME-1"),
                **overrides)


def pending_message() -> ReplicaMessage:
    replica = Replica(item=ItemIdentity(id="10001", key="ACME-1"), project="ACME", type="Bug", summary="Login fails",
                      description=CANONICAL_HELLO, labels=["backend"], updated=T0,
                      comments=[ReplicaComment(id="c1", body=CANONICAL_HELLO, created=T0)])
    return ReplicaMessage(twin_id="acme:10001", seq=4, origin="acme", replica=replica)


def an_error(reason: str = "tracker_rejected: summary too long") -> TwinError:
    return TwinError(direction="incoming", reason=reason, at=T0, attempts=2)


def test_saved_twin_reads_back_equal_with_its_maps(twins):
    twin = make_twin(
        out_seq=3, in_seq=2, last_sent_digest="d" * 64, last_sent_at=T0, last_received_at=T0,
        comment_map={"c1": CommentLink(local_id="L1", digest="x" * 64)},
        attachment_map={"a1": AttachmentLink(local_id="LA1", sha256="ab" * 32)},
        staged={"LA9": StagedAttachment(object_key="staged/conn-1/LA9", sha256="cd" * 32, size=2048)},
        claim=CreateClaim(marker="twinbridge-0123456789abcdef", claimed_at=T0),
    )

    saved = twins.save(twin)
    loaded = twins.get("conn-1", "acme:10001")

    assert saved.version == 1
    assert loaded == twin


def test_a_held_replica_reads_back_whole_and_is_pending_until_the_twin_applied_it(twins):
    twin = twins.save(make_twin(in_seq=3))
    assert twins.hold("conn-1", pending_message())

    state = twins.get_for_apply("conn-1", "acme:10001")
    assert state.twin == twin and state.connection is None  # no connection record in this test's partition
    held = state.pending
    assert held is not None
    assert held.replica.comments[0].body == CANONICAL_HELLO  # rich text kept exactly (JSON text, no Decimals)
    assert held.replica.digest() == pending_message().replica.digest()
    assert twins.received_seqs("conn-1") == {"acme:10001": 4}

    twin.in_seq = 4  # what the apply records
    twins.save(twin)
    assert twins.get_for_apply("conn-1", "acme:10001") == ApplyState(None, twin, None)
    assert twins.last_received("conn-1", "acme:10001").seq == 4  # kept as the last replica received


def test_an_apply_reads_its_connection_with_the_twin_and_the_replica(twins, table):
    conn = Connection(id="c-" + "ab" * 16, name="Acme", local_short_name="we", remote_short_name="acme",
                      origin=Origin.MANUAL, created_at=T0, updated_at=T0)
    ConnectionRepository(table).create(conn)
    twin = twins.save(make_twin(connection_id=conn.id, in_seq=3))
    twins.hold(conn.id, pending_message())

    state = twins.get_for_apply(conn.id, "acme:10001")

    assert state.connection == conn and state.twin == twin and state.pending == pending_message()
    assert twins.get_for_apply(conn.id, "acme:404") == ApplyState(conn, None, None)


def _unprocessed(table, monkeypatch, rounds: int) -> list[int]:
    """DynamoDB (throttled) leaves the last key of the first ``rounds`` BatchGetItem calls unprocessed."""
    client, real, asked = table.meta.client, table.meta.client.batch_get_item, []

    def throttled(RequestItems):
        (name, request), = RequestItems.items()
        asked.append(len(request["Keys"]))
        if len(asked) > rounds:
            return real(RequestItems=RequestItems)
        served = request["Keys"][:-1]
        answer = real(RequestItems={name: {**request, "Keys": served}}) if served else {"Responses": {}}
        answer["UnprocessedKeys"] = {name: {**request, "Keys": request["Keys"][-1:]}}
        return answer

    monkeypatch.setattr(client, "batch_get_item", throttled)
    return asked


def test_keys_left_unprocessed_are_asked_for_again(twins, table, monkeypatch):
    twin = twins.save(make_twin(in_seq=3))
    twins.hold("conn-1", pending_message())
    asked = _unprocessed(table, monkeypatch, rounds=1)

    state = twins.get_for_apply("conn-1", "acme:10001")

    assert asked == [3, 1]  # the inbox key was asked for again, alone
    assert state.twin == twin and state.pending == pending_message()


def test_keys_still_unprocessed_fail_the_read_instead_of_reading_as_missing(twins, table, monkeypatch):
    twins.save(make_twin(in_seq=3))
    twins.hold("conn-1", pending_message())
    _unprocessed(table, monkeypatch, rounds=10)

    with pytest.raises(StoreBusyError):
        twins.get_for_apply("conn-1", "acme:10001")  # not "nothing pending": the queue retries the apply


def test_the_inbox_keeps_the_newest_replica(twins):
    newest = pending_message().model_copy(update={"seq": 6})
    assert twins.hold("conn-1", newest)

    assert not twins.hold("conn-1", pending_message())  # seq 4 arrives late: refused
    assert twins.hold("conn-1", newest)  # the same one again (a redelivery): kept, so its apply is queued again
    assert twins.last_received("conn-1", "acme:10001").seq == 6


def test_receiving_never_conflicts_with_saving_the_twin(twins):
    twin = twins.save(make_twin())
    twins.hold("conn-1", pending_message())

    twin.in_seq = 3
    assert twins.save(twin).version == 2  # the held replica did not move the twin's version


def test_missing_twin_reads_as_none(twins):
    assert twins.get("conn-1", "nope:1") is None
    assert twins.find_by_local("conn-1", "nope") is None


def test_twin_created_with_local_item_is_found_by_local_id(twins):
    twins.save(make_twin(local_id="900"))

    found = twins.find_by_local("conn-1", "900")

    assert found is not None and found.twin_id == "acme:10001" and found.version == 1
    assert twins.find_by_local("conn-2", "900") is None


def test_local_item_assigned_later_is_indexed_when_saved(twins, table_snapshot):
    twin = twins.save(make_twin(local_id=None))
    twin.local = ItemIdentity(id="901", key="L-901")

    twins.save(twin)
    found = twins.find_by_local("conn-1", "901")
    assert found is not None and found.twin_id == "acme:10001" and found.version == 2

    found.in_seq = 1
    twins.save(found)  # read back, unchanged local item: no second index write
    assert [item["SK"] for item in table_snapshot()] == [k.twin_sk("acme:10001"), k.twin_local_sk("901")]


def test_update_with_current_version_bumps_it(twins):
    twin = twins.save(make_twin())
    twin.out_seq = 5

    twins.save(twin)

    stored = twins.get("conn-1", "acme:10001")
    assert (stored.version, stored.out_seq) == (2, 5)


def test_concurrent_save_raises_and_leaves_the_stored_twin_intact(twins):
    twins.save(make_twin())
    mine = twins.get("conn-1", "acme:10001")
    theirs = twins.get("conn-1", "acme:10001")
    theirs.out_seq = 7
    twins.save(theirs)

    mine.in_seq = 9
    with pytest.raises(ConcurrentModificationError):
        twins.save(mine)

    assert mine.version == 1  # restored, so the caller can re-read and retry
    stored = twins.get("conn-1", "acme:10001")
    assert (stored.version, stored.out_seq, stored.in_seq) == (2, 7, 0)


def test_creating_a_twin_that_already_exists_raises_and_keeps_the_first(twins):
    twins.save(make_twin(out_seq=1))

    with pytest.raises(ConcurrentModificationError):
        twins.save(make_twin(out_seq=2))

    stored = twins.get("conn-1", "acme:10001")
    assert (stored.version, stored.out_seq) == (1, 1)


def test_twin_with_error_is_listed_until_the_error_is_cleared(twins):
    failing = twins.save(make_twin("acme:1", last_error=an_error()))
    twins.save(make_twin("acme:2", local_id="902"))
    twins.save(make_twin("acme:3", connection_id="conn-2", local_id="903", last_error=an_error("tracker_unavailable")))

    listed = {(t.connection_id, t.twin_id): t.last_error.reason for t in twins.with_errors()}
    assert listed == {("conn-1", "acme:1"): "tracker_rejected: summary too long",
                      ("conn-2", "acme:3"): "tracker_unavailable"}

    failing.last_error = None
    twins.save(failing)

    assert [(t.connection_id, t.twin_id) for t in twins.with_errors()] == [("conn-2", "acme:3")]


def test_deleting_a_twin_removes_it_its_local_index_and_its_inbox(twins, table_snapshot):
    twins.save(make_twin("acme:1", local_id="901"))
    keep = twins.save(make_twin("acme:2", local_id="902"))
    twins.hold("conn-1", pending_message().model_copy(update={"twin_id": "acme:1"}))
    doomed = twins.get("conn-1", "acme:1")

    twins.delete(doomed)

    assert twins.get("conn-1", "acme:1") is None
    assert twins.find_by_local("conn-1", "901") is None
    assert twins.find_by_local("conn-1", "902") == keep
    assert [item["SK"] for item in table_snapshot()] == [k.twin_sk("acme:2"), k.twin_local_sk("902")]


def test_list_returns_the_twins_of_one_connection_only(twins):
    for number in range(3):
        twins.save(make_twin(f"acme:{number}", local_id=f"90{number}"))
    twins.save(make_twin("acme:9", connection_id="conn-2", local_id="999"))

    listed = twins.list("conn-1")

    assert sorted(t.twin_id for t in listed) == ["acme:0", "acme:1", "acme:2"]
    assert all(t.connection_id == "conn-1" and t.version == 1 for t in listed)
    assert [t.twin_id for t in twins.list("conn-2")] == ["acme:9"]
    assert twins.list("conn-3") == []


def test_list_pages_through_many_twins(twins):
    big_map = {f"c{n}": CommentLink(local_id=f"L{n}", digest="x" * 64) for n in range(400)}
    for number in range(60):  # ~30 KB each: more than one 1 MB query page
        twins.save(make_twin(f"acme:{number}", local_id=f"9{number:03d}", comment_map=big_map))

    assert len(twins.list("conn-1")) == 60


def test_update_re_reads_and_reapplies_after_a_concurrent_save(twins):
    twins.save(Twin(connection_id="c-1", twin_id="acme:1", origin="remote"))
    calls = []

    def change(twin: Twin) -> bool:
        calls.append(twin.version)
        if len(calls) == 1:  # someone else saves while this change is being made
            twins.save(twins.get("c-1", "acme:1").model_copy(update={"in_seq": 7}))
        twin.out_seq = 3
        return True

    saved = twins.update("c-1", "acme:1", change)
    assert calls == [1, 2]  # applied again to the fresher record
    stored = twins.get("c-1", "acme:1")
    assert (saved.version, stored.in_seq, stored.out_seq) == (3, 7, 3)


def test_update_saves_nothing_when_the_change_declines_or_the_twin_is_missing(twins, table_snapshot):
    twins.save(Twin(connection_id="c-1", twin_id="acme:1", origin="remote"))
    before = table_snapshot()
    assert twins.update("c-1", "acme:1", lambda twin: False) is None
    assert twins.update("c-1", "acme:2", lambda twin: True) is None
    assert table_snapshot() == before
    made = twins.update("c-1", "acme:2", lambda twin: True,
                        new=lambda: Twin(connection_id="c-1", twin_id="acme:2", origin="remote"))
    assert made is not None and twins.get("c-1", "acme:2").version == 1


def test_update_starts_from_the_callers_twin_and_reads_only_after_a_conflict(twins):
    mine = twins.save(Twin(connection_id="c-1", twin_id="acme:1", origin="remote"))
    theirs = twins.get("c-1", "acme:1")
    theirs.in_seq = 7
    twins.save(theirs)

    def bump(twin: Twin) -> None:
        twin.out_seq += 1

    saved = twins.update("c-1", "acme:1", bump, current=mine)

    assert saved is not mine  # the stale copy lost; the change went onto the fresh one
    assert (saved.version, saved.in_seq, saved.out_seq) == (3, 7, 1)
    assert twins.update("c-1", "acme:1", bump, current=saved) is saved  # no conflict: no read, the same object
