"""The worker's request handling in this process (no rlimit, no pipes): answers, the memory check, and failures
that become generic script errors."""

from __future__ import annotations

import pytest

from tests.script_samples import EXPECTED, MAPPING, mapping_args
from twinbridge.scripting import worker as worker_module
from twinbridge.scripting.engine import Script
from twinbridge.scripting.worker import CACHE_SIZE, MemoryWatch, Worker


class DirectHelpers:
    """Stands in for the parent on the other end of the pipes."""

    def call(self, name, args):
        return {"dana@fabrikam.example": "5b10ac8d82e05b22cc7d4ef5"}.get(args[0])


def _worker(ceiling: int = 1 << 40) -> Worker:
    return Worker(DirectHelpers(), MemoryWatch(ceiling))  # type: ignore[arg-type]


def _call(source: str = MAPPING, sha256: str = "a", args: list | None = None) -> dict:
    return {"op": "call", "source": source, "sha256": sha256, "direction": "incoming",
            "args": mapping_args() if args is None else args, "deadline": 0.2}


def test_a_call_answers_value_logs_and_helper_calls():
    answer = _worker().handle(_call())

    assert answer == {"value": EXPECTED, "logs": ["assignee 5b10ac8d82e05b22cc7d4ef5"], "helper_calls": 1}


def test_a_check_answers_diagnostics():
    answer = _worker().handle({"op": "check", "source": "def incoming(r, l, c):\n    return X\n",
                               "direction": "incoming"})

    assert [(d["code"], d["line"], d["column"]) for d in answer["diagnostics"]] == [("eval", 2, 12)]


def test_an_unknown_request_is_an_error_answer():
    assert _worker().handle({"op": "exec"})["error"]["message"] == "unknown request"


def test_a_resident_size_over_the_ceiling_cancels_the_call_as_exceeded_memory():
    loop = "def incoming(r, l, c):\n    for i in range(2147483647):\n        pass\n"

    answer = _worker(ceiling=0).handle(_call(loop))

    assert (answer["error"]["kind"], answer["error"]["message"]) == ("limit", "exceeded memory")


def test_compiled_scripts_are_cached_by_sha256_up_to_the_bound():
    worker = _worker()
    for n in range(CACHE_SIZE + 5):
        assert "value" in worker.handle(_call(sha256=str(n)))

    assert len(worker._scripts) == CACHE_SIZE and ("0", "incoming") not in worker._scripts


class PanicException(BaseException):
    """What pyo3 raises for a Rust panic: a BaseException, so `except Exception` misses it."""


@pytest.mark.parametrize(("raised", "message"), [
    (MemoryError(), "exceeded memory"),
    (PanicException("out of memory"), "exceeded memory"),
    (PanicException("index out of bounds at /root/.cargo/registry/src/starlark-0.13/src/eval.rs:12"),
     "the script could not be run"),
    (RuntimeError("/secret/path"), "the script could not be run"),
])
def test_a_failure_outside_the_script_is_a_generic_error_and_the_worker_goes_on(monkeypatch, raised, message):
    worker = _worker()

    def explode(self, *args, **kwargs):
        raise raised

    with monkeypatch.context() as patched:
        patched.setattr(Script, "call", explode)
        answer = worker.handle(_call())

    assert answer["error"]["message"] == message and answer["error"]["frame"] == ""
    assert worker.handle(_call())["value"] == EXPECTED


def test_memory_still_taken_after_an_out_of_memory_asks_the_parent_to_retire_the_worker(monkeypatch):
    worker = _worker(ceiling=0)

    def explode(self, *args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(Script, "call", explode)

    assert worker.handle(_call())["retire"] is True


def test_a_result_that_is_not_json_data_is_answered_as_an_error():
    huge = "def incoming(r, l, c):\n    x = 7\n    for i in range(14):\n        x = x * x\n    return x\n"

    frame = worker_module._answer(_worker(), _call(huge))

    assert b'"message":"the result is not JSON data"' in frame
