"""Runs scripts in a guarded worker process (``worker``): never in this process, which holds the Lambda role's
credentials. The worker is a fresh interpreter (spawned, not forked: this process runs boto3 and Powertools
threads) with a minimal environment and a memory cap; each call has the engine's soft deadline inside and a hard
deadline here, after which the worker is killed and started again on the next call (docs/decisions.md)."""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import twinbridge
from twinbridge.scripting import protocol
from twinbridge.scripting.contract import (
    HELPER_CALLS,
    HOST_HELPERS,
    LOG_LINES,
    MEMORY_MIB,
    MESSAGE_LIMIT,
    SOFT_DEADLINE,
    Diagnostic,
    Direction,
    HelperError,
    Helpers,
    NoHelpers,
    Outcome,
    ScriptError,
)

HARD_DEADLINE = 1.0  # seconds of one call, helper round trips included
START_TIMEOUT = 10.0  # seconds from spawning a worker to its first answer
WORKER_MODULE = "twinbridge.scripting.worker"


def worker_env() -> dict[str, str]:
    """All the worker gets of an environment: where Python finds twinbridge and starlark, and no Rust backtraces.
    Nothing of this process's own (AWS_* credentials, table names, secrets' ARNs) reaches it."""
    found = importlib.util.find_spec("starlark")  # located, not loaded: this process never runs a script
    packages = [Path(origin).resolve().parents[1] for origin in (twinbridge.__file__, found and found.origin) if origin]
    paths = dict.fromkeys(str(path) for path in [*packages, *map(Path, filter(None, sys.path))] if path.exists())
    return {"PYTHONPATH": os.pathsep.join(paths), "PYTHONSAFEPATH": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "RUST_BACKTRACE": "0"}


class GuardedRunner:
    """One worker process, started on first use, used by one call at a time (thread-safe), replaced when it dies,
    is killed at the hard deadline, or asks to retire. ``spawns`` and ``started_at`` (``time.monotonic()`` of the
    current worker's start) and ``start_seconds`` (spawn until its first answer) are for metrics."""

    def __init__(self, *, hard_deadline: float = HARD_DEADLINE, soft_deadline: float = SOFT_DEADLINE,
                 memory_mib: int = MEMORY_MIB) -> None:
        self.hard_deadline = hard_deadline
        self.soft_deadline = soft_deadline
        self.memory_mib = memory_mib
        self.spawns = 0
        self.started_at: float | None = None
        self.start_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """The current worker's process id (None before the first call and after close)."""
        return self._process.pid if self._process else None

    def check(self, source: str, direction: Direction) -> list[Diagnostic]:
        """Save-time diagnostics (``engine.check``), computed in the worker: checking runs the module's top level."""
        try:
            answer = self._exchange({"op": "check", "source": source, "direction": direction}, NoHelpers())
            if "error" in answer:
                raise ScriptError.from_json(answer["error"])
        except ScriptError as failed:  # a limit hit by the module's top level is a finding too
            return [failed.as_diagnostic(failed.kind)]
        return [Diagnostic(**diagnostic) for diagnostic in answer["diagnostics"]]

    def run(self, source: str, direction: Direction, args: list[Any], helpers: Helpers,
            deadline: float | None = None) -> Outcome:
        """Call the script's entry function on ``args`` (plain JSON data). Raises ScriptError (``Deferred`` for
        ``defer()``); ``deadline`` is the soft one (seconds), the runner's default when None."""
        request = {"op": "call", "source": source, "sha256": hashlib.sha256(source.encode()).hexdigest(),
                   "direction": direction, "args": args,
                   "deadline": self.soft_deadline if deadline is None else deadline}
        answer = self._exchange(request, helpers)
        if "error" in answer:
            raise ScriptError.from_json(answer["error"])
        logs = [str(line) for line in answer.get("logs", [])][:LOG_LINES]
        return Outcome(value=answer.get("value"), logs=logs, helper_calls=int(answer.get("helper_calls", 0)))

    def close(self) -> None:
        with self._lock:
            self._stop()

    def __enter__(self) -> GuardedRunner:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def _exchange(self, request: dict[str, Any], helpers: Helpers) -> dict[str, Any]:
        try:
            frame = protocol.encode(request)
        except protocol.FrameTooLargeError:
            raise ScriptError(f"the script's input is larger than {protocol.FRAME_LIMIT // (1024 * 1024)} MiB",
                              kind="limit") from None
        with self._lock:
            reader, writer = self._ensure()
            until = time.monotonic() + self.hard_deadline
            try:
                protocol.send(writer, frame)
                answer = protocol.receive(reader, until)
                for calls in range(1, 2 * HELPER_CALLS + 2):
                    if not (isinstance(answer, dict) and "helper" in answer):
                        break
                    protocol.send(writer, _helper_answer(helpers, answer, calls))
                    answer = protocol.receive(reader, until)
            except protocol.ChannelTimeoutError:
                self._stop()
                raise ScriptError(f"exceeded {self.hard_deadline:g} s", kind="limit") from None
            except (protocol.ChannelError, OSError):
                self._stop()
                raise ScriptError("the script worker stopped", kind="limit") from None
            if not isinstance(answer, dict) or "helper" in answer:
                self._stop()
                raise ScriptError("the script worker stopped", kind="limit")
            if answer.get("retire"):
                self._stop()
            return answer

    def _ensure(self) -> tuple[int, int]:
        """The pipes of a live worker, starting one if there is none (or it died since the last call)."""
        if self._process is None or self._process.poll() is not None:
            self._stop()
            self._spawn()
        assert self._process and self._process.stdout and self._process.stdin
        return self._process.stdout.fileno(), self._process.stdin.fileno()

    def _spawn(self) -> None:
        started = time.monotonic()
        command = [sys.executable, "-m", WORKER_MODULE, "--memory-mib", str(self.memory_mib)]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, env=worker_env(), cwd="/", bufsize=0)
        self.spawns += 1
        assert self._process.stdout
        try:
            ready = protocol.receive(self._process.stdout.fileno(), started + START_TIMEOUT)
        except (protocol.ChannelError, protocol.ChannelTimeoutError, OSError):
            ready = None
        if not (isinstance(ready, dict) and ready.get("ready")):
            self._stop()
            raise ScriptError("the script worker did not start", kind="limit")
        self.started_at = started
        self.start_seconds = time.monotonic() - started

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        for pipe in (process.stdin, process.stdout):
            if pipe:
                pipe.close()
        process.wait()


def _helper_answer(helpers: Helpers, request: dict[str, Any], calls: int) -> bytes:
    """The parent's answer to a helper call from the worker: a result, or a refusal in words safe for the script."""
    name, args = request.get("helper"), request.get("args")
    if calls > HELPER_CALLS:
        return protocol.encode({"refused": f"more than {HELPER_CALLS} helper calls in one run"})
    if name not in HOST_HELPERS or not isinstance(args, list):
        return protocol.encode({"refused": "no such helper"})
    try:
        return protocol.encode({"result": helpers.call(str(name), args)})
    except HelperError as refused:
        return protocol.encode({"refused": str(refused)[:MESSAGE_LIMIT]})
    except Exception:  # never the host's own words: they may name paths or secrets
        return protocol.encode({"refused": f"{name} failed"})


_default: GuardedRunner | None = None
_default_lock = threading.Lock()


def default_runner() -> GuardedRunner:
    """The process-wide runner (created on first use, its worker closed at exit)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = GuardedRunner()
            atexit.register(_default.close)
        return _default
