"""The per-connection token bucket against moto's table: what it grants, and that processes sharing it (warm
containers of one function) never spend the same tokens twice although each remembers what it wrote last."""

from __future__ import annotations

import pytest

from twinbridge.store.quotas import QuotaRepository

T = 1_900_000_000.0


@pytest.fixture
def calls(table, monkeypatch) -> list[str]:
    """The DynamoDB operations the table's client makes."""
    seen: list[str] = []
    table.meta.client.meta.events.register("before-call.dynamodb", lambda model, **_: seen.append(model.name))
    return seen


def test_a_burst_then_the_steady_rate(table):
    bucket = QuotaRepository(table)

    assert bucket.take_tokens("c-1", "replicas", 15, 10, 2.0, now=T) == (10, 0.5)
    assert bucket.take_tokens("c-1", "replicas", 5, 10, 2.0, now=T + 0.25)[0] == 0
    assert bucket.take_tokens("c-1", "replicas", 5, 10, 2.0, now=T + 1.5)[0] == 3  # 1.5 s at 2/s
    assert bucket.take_tokens("c-2", "replicas", 5, 10, 2.0, now=T + 1.5)[0] == 5  # another connection: its own


def test_a_process_that_wrote_the_bucket_last_takes_with_one_write(table, calls):
    bucket = QuotaRepository(table)
    bucket.take_tokens("c-1", "replicas", 1, 10, 2.0, now=T)
    calls.clear()

    for n in range(1, 6):
        assert bucket.take_tokens("c-1", "replicas", 1, 10, 2.0, now=T + n)[0] == 1

    assert calls == ["UpdateItem"] * 5


def test_two_processes_never_spend_the_same_tokens(table, calls):
    first, second = QuotaRepository(table), QuotaRepository(table)
    granted = first.take_tokens("c-1", "replicas", 6, 10, 1.0, now=T)[0]
    granted += second.take_tokens("c-1", "replicas", 6, 10, 1.0, now=T)[0]  # reads what the first left: 4
    calls.clear()

    granted += first.take_tokens("c-1", "replicas", 6, 10, 1.0, now=T)[0]  # its memory is stale: write refused

    assert granted == 10
    assert calls == ["UpdateItem", "GetItem", "UpdateItem"]


def test_a_bucket_expired_by_ttl_starts_full_again(table):
    bucket = QuotaRepository(table)
    bucket.take_tokens("c-1", "replicas", 10, 10, 1.0, now=T)
    table.delete_item(Key={"PK": "CONN#c-1", "SK": "BUCKET#replicas"})

    assert bucket.take_tokens("c-1", "replicas", 10, 10, 1.0, now=T + 1)[0] == 10
