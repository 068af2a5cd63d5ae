"""The guarded script worker: ``python -m twinbridge.scripting.worker --memory-mib 256``, started by ``runner``.

It caps its own address space (``RLIMIT_AS``: its size at start plus the budget), then answers the parent's
requests on its stdin/stdout pipes (``protocol`` frames) until the parent hangs up:

- ``{"op": "check", "source", "direction"}`` -> ``{"diagnostics": [...]}``;
- ``{"op": "call", "source", "sha256", "direction", "args", "deadline"}`` -> ``{"value", "logs", "helper_calls"}``
  or ``{"error": ScriptError.to_json()}``. A host helper the script calls is asked of the parent in between:
  ``{"helper", "args"}`` -> ``{"result"}`` or ``{"refused": message}``.

Every failure of a script is an answer, in words that name nothing of the host; running out of memory is
``exceeded memory`` and the worker goes on serving (or, if the memory stays taken, says ``retire``).
"""

from __future__ import annotations

import os
import resource
import sys
from collections import OrderedDict
from dataclasses import asdict
from typing import Any

from twinbridge.scripting import protocol
from twinbridge.scripting.contract import MEMORY_MIB, HelperError, ScriptError
from twinbridge.scripting.engine import Script, check

CACHE_SIZE = 32
RSS_EVERY = 64  # check_cancelled calls between two reads of the resident size
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _exceeded_memory() -> ScriptError:
    return ScriptError("exceeded memory", kind="limit")


class MemoryWatch:
    """The ``check=`` of a call: cancels it once the resident size passes ``ceiling`` (read every RSS_EVERY calls).
    It catches growth made of many small steps; one huge allocation meets ``RLIMIT_AS`` instead."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self.calls = 0
        self.exceeded = False
        self._statm = os.open("/proc/self/statm", os.O_RDONLY)  # opened once: under the rlimit, open() may fail

    def resident(self) -> int:
        return int(os.pread(self._statm, 128, 0).split()[1]) * _PAGE

    def reset(self) -> None:
        self.calls, self.exceeded = 0, False

    def __call__(self) -> bool:
        self.calls += 1
        if self.calls % RSS_EVERY == 0 and self.resident() > self.ceiling:
            self.exceeded = True
        return self.exceeded


def limit_memory(budget: int) -> int:
    """Caps the address space at its current size plus ``budget`` bytes; returns the resident-size ceiling."""
    with open("/proc/self/statm", "rb") as statm:
        size, resident = (int(pages) * _PAGE for pages in statm.read().split()[:2])
    resource.setrlimit(resource.RLIMIT_AS, (size + budget, size + budget))
    return resident + budget


class ParentHelpers:
    """The script's host helpers, answered by the parent over the pipes (the worker holds no data and no rights)."""

    def __init__(self, reader: int, writer: int) -> None:
        self._reader, self._writer = reader, writer

    def call(self, name: str, args: list[Any]) -> Any:
        protocol.send(self._writer, protocol.encode({"helper": name, "args": args}))
        answer = protocol.receive(self._reader)
        if "result" in answer:
            return answer["result"]
        raise HelperError(str(answer.get("refused", "refused")))


class Worker:
    """The request handlers, with the compiled scripts cached by sha256 (least recently used first out)."""

    def __init__(self, helpers: ParentHelpers, watch: MemoryWatch) -> None:
        self.helpers = helpers
        self.watch = watch
        self._scripts: OrderedDict[tuple[str, str], Script] = OrderedDict()

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "check":
            return self._guarded(lambda: {"diagnostics": [asdict(d) for d in check(request["source"],
                                                                                   request["direction"])]})
        if op == "call":
            return self._guarded(lambda: self._call(request))
        return {"error": ScriptError("unknown request").to_json()}

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        script = self._script(str(request["sha256"]), request["source"], request["direction"])
        self.watch.reset()
        try:
            outcome = script.call(list(request["args"]), self.helpers, deadline=float(request["deadline"]),
                                  check=self.watch)
        except ScriptError:
            if self.watch.exceeded:
                raise _exceeded_memory() from None
            raise
        return {"value": outcome.value, "logs": outcome.logs, "helper_calls": outcome.helper_calls}

    def _script(self, sha256: str, source: str, direction: Any) -> Script:
        key = (sha256, direction)
        if key in self._scripts:
            self._scripts.move_to_end(key)
        else:
            self._scripts[key] = Script(source, direction)
            if len(self._scripts) > CACHE_SIZE:
                self._scripts.popitem(last=False)
        return self._scripts[key]

    def _guarded(self, handler: Any) -> dict[str, Any]:
        try:
            return dict(handler())
        except ScriptError as error:
            return {"error": error.to_json()}
        except MemoryError:
            return self._after_memory_error()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # pyo3's PanicException is a BaseException; its text is the engine's own
            if "out of memory" in str(error):
                return self._after_memory_error()
            return {"error": ScriptError("the script could not be run").to_json()}

    def _after_memory_error(self) -> dict[str, Any]:
        self._scripts.clear()  # a script interrupted by a panic is not reused
        answer: dict[str, Any] = {"error": _exceeded_memory().to_json()}
        if self.watch.resident() > self.watch.ceiling:
            answer["retire"] = True  # the memory stayed taken: the parent starts a fresh worker
        return answer


def _answer(worker: Worker, request: Any) -> bytes:
    if isinstance(request, dict):
        answer = worker.handle(request)
    else:
        answer = {"error": ScriptError("unknown request").to_json()}
    try:
        return protocol.encode(answer)
    except protocol.FrameTooLargeError:
        failed = ScriptError(f"the result is larger than {protocol.FRAME_LIMIT // (1024 * 1024)} MiB")
    except (TypeError, ValueError, RecursionError):
        failed = ScriptError("the result is not JSON data")
    return protocol.encode({"error": failed.to_json()})


def serve(reader: int, writer: int, budget: int) -> None:
    watch = MemoryWatch(limit_memory(budget))
    worker = Worker(ParentHelpers(reader, writer), watch)
    protocol.send(writer, protocol.encode({"ready": True}))
    while True:
        try:
            request = protocol.receive(reader)
        except protocol.ChannelError:
            return  # the parent hung up (or broke the protocol): nothing more to do
        protocol.send(writer, _answer(worker, request))


def _budget(argv: list[str]) -> int:
    mib = argv[argv.index("--memory-mib") + 1] if "--memory-mib" in argv[:-1] else MEMORY_MIB
    return int(mib) * 1024 * 1024


def main(argv: list[str]) -> None:
    # The pipes move to private descriptors; 0 and 1 become /dev/null, so a stray print cannot corrupt a frame.
    reader, writer = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    serve(reader, writer, _budget(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
