"""The guarded runner with real worker processes: the same answers as the engine in this process, host helpers
over the pipes, a worker that holds nothing of this process's environment, respawns, and calls from many threads."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from tests.script_samples import EXPECTED, MAPPING, STATUS_LINE, DirectoryHelpers, LeakyHelpers, mapping_args
from twinbridge.scripting.engine import HELPER_CALLS, Deferred, NoHelpers, Script, ScriptError, check
from twinbridge.scripting.runner import GuardedRunner, default_runner, worker_env

ALLOWED_ENV = {"PYTHONPATH", "PYTHONSAFEPATH", "PYTHONDONTWRITEBYTECODE", "RUST_BACKTRACE"}


@pytest.fixture
def runner():
    with GuardedRunner() as guarded:
        yield guarded


def _incoming(body: str) -> str:
    return "def incoming(replica, local, ctx):\n" + body


def _wait_dead(pid: int) -> None:
    """Blocks until the process has exited, leaving it for its Popen to reap."""
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)


def test_the_mapping_script_answers_as_in_process(runner):
    in_process = Script(MAPPING, "incoming").call(mapping_args(), DirectoryHelpers())

    guarded = runner.run(MAPPING, "incoming", mapping_args(), DirectoryHelpers())

    assert guarded == in_process and guarded.value == EXPECTED
    assert runner.spawns == 1 and runner.start_seconds is not None and runner.start_seconds > 0


def test_a_script_error_is_the_same_error_as_in_process(runner):
    with pytest.raises(ScriptError) as in_process:
        Script(MAPPING, "incoming").call(mapping_args(status="Blocked"), DirectoryHelpers())
    with pytest.raises(ScriptError) as guarded:
        runner.run(MAPPING, "incoming", mapping_args(status="Blocked"), DirectoryHelpers())

    assert guarded.value.to_json() == in_process.value.to_json()
    assert guarded.value.line == STATUS_LINE and type(guarded.value) is ScriptError


def test_defer_comes_back_as_deferred(runner):
    with pytest.raises(Deferred, match="parent PROJ-7 is not synced yet"):
        runner.run(_incoming('    defer("parent PROJ-7 is not synced yet")\n'), "incoming", [{}, None, {}],
                   NoHelpers())


def test_check_answers_as_in_process(runner):
    for source in (MAPPING, _incoming("    return STATUS\n"), _incoming("    x = 1 +\n"),
                   _incoming('    return {"a": 1, "a": 2}\n')):
        assert runner.check(source, "incoming") == check(source, "incoming")


def test_helper_calls_go_to_the_parents_helpers(runner):
    helpers = DirectoryHelpers()

    outcome = runner.run(MAPPING, "incoming", mapping_args(), helpers)

    assert helpers.calls == [("users.by_email", ["dana@fabrikam.example"])] and outcome.helper_calls == 1


def test_a_helper_failure_is_refused_without_the_hosts_words(runner):
    with pytest.raises(ScriptError) as caught:
        runner.run(MAPPING, "incoming", mapping_args(), LeakyHelpers())

    assert "users.by_email failed" in caught.value.message
    assert "secret" not in str(caught.value.to_json()).lower()


def test_helper_calls_are_bounded_per_run(runner):
    helpers = DirectoryHelpers()
    source = _incoming('    for i in range(1000):\n        users.by_id("x")\n    return 1\n')

    with pytest.raises(ScriptError, match=f"more than {HELPER_CALLS} helper calls"):
        runner.run(source, "incoming", [{}, None, {}], helpers)

    assert len(helpers.calls) == HELPER_CALLS


def test_the_worker_gets_no_variable_of_this_process(runner, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-worker-must-not-see")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-worker-must-not-see")
    monkeypatch.setenv("TRACKER_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:t")

    runner.run(MAPPING, "incoming", mapping_args(), DirectoryHelpers())

    with open(f"/proc/{runner.pid}/environ", "rb") as environ:
        variables = dict(entry.split(b"=", 1) for entry in environ.read().split(b"\0") if entry)
    assert {name.decode() for name in variables} == ALLOWED_ENV
    assert variables[b"RUST_BACKTRACE"] == b"0"
    assert b"must-not-see" not in b"".join(variables.values()) and b"secretsmanager" not in b"".join(variables.values())
    assert os.readlink(f"/proc/{runner.pid}/cwd") == "/"


def test_worker_env_finds_the_packages_and_nothing_else():
    env = worker_env()

    assert set(env) == ALLOWED_ENV
    assert all(os.path.isabs(path) for path in env["PYTHONPATH"].split(os.pathsep))


def test_a_worker_killed_between_calls_is_replaced(runner):
    runner.run(MAPPING, "incoming", mapping_args(), DirectoryHelpers())
    first = runner.pid
    os.kill(first, signal.SIGKILL)
    _wait_dead(first)

    outcome = runner.run(MAPPING, "incoming", mapping_args(), DirectoryHelpers())

    assert outcome.value == EXPECTED and runner.pid != first and runner.spawns == 2


def test_a_worker_dying_during_a_call_fails_that_call_only(runner):
    class Killing:
        def call(self, name, args):
            pid = runner.pid
            os.kill(pid, signal.SIGKILL)
            _wait_dead(pid)
            return None

    with pytest.raises(ScriptError) as caught:
        runner.run(MAPPING, "incoming", mapping_args(), Killing())

    assert (caught.value.kind, caught.value.message) == ("limit", "the script worker stopped")
    assert runner.run(MAPPING, "incoming", mapping_args(), DirectoryHelpers()).value == EXPECTED
    assert runner.spawns == 2


def test_an_input_over_the_frame_limit_is_refused_before_the_worker(runner):
    runner.run(MAPPING, "incoming", mapping_args(), DirectoryHelpers())
    args = mapping_args()
    args[0]["summary"] = "x" * (9 * 1024 * 1024)

    with pytest.raises(ScriptError, match="input is larger than 8 MiB"):
        runner.run(MAPPING, "incoming", args, DirectoryHelpers())

    assert runner.run(MAPPING, "incoming", mapping_args(), DirectoryHelpers()).value == EXPECTED
    assert runner.spawns == 1


def test_a_result_that_is_not_json_data_is_a_script_error(runner):
    with pytest.raises(ScriptError):
        runner.run(_incoming("    return incoming\n"), "incoming", [{}, None, {}], NoHelpers())

    assert runner.run(MAPPING, "incoming", mapping_args(), DirectoryHelpers()).value == EXPECTED


def test_calls_from_many_threads_each_get_their_own_answer(runner):
    states = {"New": "To Do", "Active": "In Progress", "Resolved": "In Review", "Closed": "Done"}
    failures: list[str] = []

    def work(state: str) -> None:
        for _ in range(25):
            value = runner.run(MAPPING, "incoming", mapping_args(status=state), DirectoryHelpers()).value
            if value["status"] != states[state]:
                failures.append(f"{state} -> {value['status']}")

    threads = [threading.Thread(target=work, args=(state,)) for state in states for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == [] and runner.spawns == 1


def test_the_default_runner_is_one_per_process():
    assert default_runner() is default_runner()
