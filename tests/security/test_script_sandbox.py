"""A script is hostile input: each escape and resource attempt of the script-mode brief (§2.2, A1-A12) runs
through one GuardedRunner and must end as a ScriptError on that call, within the limits, saying nothing of the
host (paths, file contents, environment); the same runner then runs the mapping script correctly."""

from __future__ import annotations

import re
import time

import pytest

from tests.script_samples import EXPECTED, MAPPING, DirectoryHelpers, mapping_args
from twinbridge.scripting.engine import ScriptError
from twinbridge.scripting.runner import GuardedRunner

SOFT, HARD = 0.2, 0.6  # small deadlines keep this file quick; production uses 0.2 s and 1 s
SECRET = "sandbox-test-secret-value-7f3a"
# Host paths, file contents, Python tracebacks (Starlark's own name only the script), the parent's environment.
HOST_WORDS = re.compile(r"root:|/etc/|/proc/|/work/|/home/|/root|/var/|/tmp/|site-packages|\.py\b|File \"|AKIA|"
                        + SECRET)


def _leaks(error: object, source: str) -> list[str]:
    """Host words in an error's text, once the script's own lines (quoted in its code frame) are taken out."""
    text = str(error)
    for line in source.splitlines():
        if line.strip():
            text = text.replace(repr(line.strip())[1:-1], "").replace(line.strip(), "")
    return HOST_WORDS.findall(text)


@pytest.fixture(scope="module")
def runner():
    with GuardedRunner(soft_deadline=SOFT, hard_deadline=HARD) as guarded:
        yield guarded


@pytest.fixture(autouse=True)
def secret_in_environment(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)


def _entry(body: str, prelude: str = "") -> str:
    lines = "".join(f"    {line}\n" for line in body.splitlines())
    return f"{prelude}def incoming(replica, local, ctx):\n{lines}"


ATTEMPTS = {
    "A1 object graph from a tuple": _entry("return ().__class__.__bases__[0].__subclasses__()"),
    "A1 object graph from a dict": _entry("return replica.__class__.__init__.__globals__"),
    "A2 import": "import os\n" + _entry("return os.environ"),
    "A2 load": 'load("os", "environ")\n' + _entry("return environ"),
    "A2b __import__": _entry('return __import__("os").environ'),
    "A3 open": _entry('return open("/etc/passwd").read()'),
    "A3 read through a helper's module": _entry('return users.by_email.__module__'),
    "A4 helper globals": _entry("return users.by_email.__globals__"),
    "A4 log's globals": _entry("return log.__globals__['__builtins__']"),
    "A4b getattr": _entry('return getattr(users.by_email, "__glo" + "bals__")'),
    "A4b getattr on the namespace": _entry('return getattr(users, "__dict__")'),
    "A5 format a helper": _entry('return "{0.__globals__}".format(users.by_email)'),
    "A5b format the replica": _entry('return "{0.__class__.__mro__}".format(replica)'),
    "A6 huge string": _entry('return "x" * 10000000000'),
    "A6 huge string by steps": _entry('s = "x" * 1000000\nfor i in range(40):\n    s = s + s\nreturn len(s)'),
    "A7 list doubling": _entry("x = [1]\nfor i in range(40):\n    x = x + x\nreturn len(x)"),
    "A7 comprehension blowup": _entry('return len([[i] * 1000 for i in range(10000000)])'),
    "A8 endless nested loops": _entry("for i in range(2147483647):\n    for j in range(2147483647):\n        pass"),
    "A9 deep recursion": _entry("return incoming(replica, local, ctx)"),
    "A9 recursion through a helper": _entry("return f(1)", prelude="def f(n):\n    return f(n + 1)\n"),
    "A10 big integer": _entry("x = 7\nfor i in range(40):\n    x = x * x\nreturn x"),
    "A12 type walk": _entry("return type(replica).__mro__"),
    "A12 type of type": _entry("return type(type(replica)).__subclasses__()"),
    "top level loops at compile time": "X = [i for i in range(2147483647) for j in range(2147483647)]\n" + _entry(
        "return X"),
}
LIMITS = {"A6 huge string by steps", "A7 list doubling", "A7 comprehension blowup", "A8 endless nested loops",
          "A10 big integer"}


@pytest.mark.parametrize("name", ATTEMPTS)
def test_an_escape_or_resource_attempt_fails_that_call_and_the_runner_goes_on(runner, name):
    started = time.monotonic()
    with pytest.raises(ScriptError) as caught:
        runner.run(ATTEMPTS[name], "incoming", mapping_args(), DirectoryHelpers())
    elapsed = time.monotonic() - started

    error = caught.value
    assert elapsed < HARD + 0.5, f"{name} took {elapsed:.2f} s"
    if name in LIMITS:
        assert error.kind == "limit", error.to_json()
    assert _leaks(error.to_json(), ATTEMPTS[name]) == [], error.to_json()
    assert runner.run(MAPPING, "incoming", mapping_args(), DirectoryHelpers()).value == EXPECTED


@pytest.mark.parametrize(("name", "message"), [
    ("A7 list doubling", "exceeded memory"),
    ("A8 endless nested loops", f"exceeded {SOFT:g} s"),
    ("A10 big integer", f"exceeded {HARD:g} s"),
])
def test_each_limit_says_which_one_was_hit(runner, name, message):
    with pytest.raises(ScriptError) as caught:
        runner.run(ATTEMPTS[name], "incoming", mapping_args(), DirectoryHelpers())

    assert (caught.value.kind, caught.value.message) == ("limit", message)


def test_memory_exhaustion_does_not_kill_the_worker(runner):
    runner.run(MAPPING, "incoming", mapping_args(), DirectoryHelpers())
    before = (runner.pid, runner.spawns)

    with pytest.raises(ScriptError, match="exceeded memory"):
        runner.run(ATTEMPTS["A7 list doubling"], "incoming", mapping_args(), DirectoryHelpers())

    assert runner.run(MAPPING, "incoming", mapping_args(), DirectoryHelpers()).value == EXPECTED
    assert (runner.pid, runner.spawns) == before


def test_the_hard_deadline_kills_and_the_next_call_gets_a_new_worker(runner):
    runner.run(MAPPING, "incoming", mapping_args(), DirectoryHelpers())
    before = (runner.pid, runner.spawns)

    with pytest.raises(ScriptError, match=f"exceeded {HARD:g} s"):
        runner.run(ATTEMPTS["A10 big integer"], "incoming", mapping_args(), DirectoryHelpers())

    assert runner.run(MAPPING, "incoming", mapping_args(), DirectoryHelpers()).value == EXPECTED
    assert runner.pid != before[0] and runner.spawns == before[1] + 1


def test_a_script_mutating_its_inputs_leaves_the_hosts_dicts_intact(runner):
    args = mapping_args()
    source = _entry('replica["summary"] = "pwned"\nreplica["labels"].clear()\nctx["first_sync"] = False\n'
                    "return replica")

    outcome = runner.run(source, "incoming", args, DirectoryHelpers())

    assert outcome.value["summary"] == "pwned" and outcome.value["labels"] == []
    assert args == mapping_args()


def test_a_saved_attack_is_only_diagnosed(runner):
    for name in ("A2 import", "A3 open", "A7 list doubling", "top level loops at compile time"):
        diagnostics = runner.check(ATTEMPTS[name], "incoming")
        assert _leaks(diagnostics, ATTEMPTS[name]) == [], diagnostics
    assert runner.check(ATTEMPTS["A3 open"], "incoming")[0].code == "eval"
    grows = "def grow():\n    x = 7\n    for i in range(40):\n        x = x * x\n    return x\nX = grow()\n"
    [slow] = runner.check(grows + _entry("return X"), "incoming")
    assert (slow.severity, slow.code, slow.message) == ("error", "limit", f"exceeded {HARD:g} s")
    assert runner.run(MAPPING, "incoming", mapping_args(), DirectoryHelpers()).value == EXPECTED
