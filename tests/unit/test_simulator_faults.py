"""The one fault-injection API every tracker simulator shares (simulators/server.py)."""

from __future__ import annotations

from twinbridge_tools.simulators.server import Faults


def test_a_filtered_fault_waits_for_its_request_and_leaves_others_alone():
    faults = Faults()
    faults.fail(1, status=500, method="POST", path="/wit/workitems/$")
    faults.throttle(1, retry_after=7, method="GET")
    assert faults.next("PATCH", "/org/p/_apis/wit/workitems/1") is None  # matches neither: nothing taken
    throttled = faults.next("GET", "/org/p/_apis/wit/workitems/1")
    assert throttled is not None and (throttled.status, throttled.headers) == (429, {"Retry-After": "7"})
    assert faults.next("GET", "/org/p/_apis/wit/workitems/1") is None
    failed = faults.next("POST", "/org/p/_apis/wit/workitems/$Task")
    assert failed is not None and failed.status == 500
    assert faults.next("POST", "/org/p/_apis/wit/workitems/$Task") is None


def test_unfiltered_faults_hit_the_next_requests_in_order():
    faults = Faults()
    faults.fail(2, status=502)
    faults.throttle(1, retry_after=None, reset="2025-01-01T12:00:12.000Z")
    taken = [faults.next("GET", "/a"), faults.next("DELETE", "/b"), faults.next("PUT", "/c"), faults.next("GET", "/d")]
    assert [f.status if f else None for f in taken] == [502, 502, 429, None]
    assert taken[2] is not None and taken[2].headers == {"X-RateLimit-Reset": "2025-01-01T12:00:12.000Z"}


def test_stopping_releases_every_held_request():
    faults = Faults()
    first, second = faults.hold(1, method="GET"), faults.hold(1)
    faults.release_holds()
    assert first.is_set() and second.is_set()
