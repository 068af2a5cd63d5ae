"""Starlark sync rules, compiled, checked and called in this process (``starlark-pyo3``, the Buck2 interpreter).

A script is data from the admin API, never code with this process's rights: Starlark has no imports, no I/O, no
clock and no object graph to walk, and values are copied into and out of its own heap. What Starlark does not bound
(memory, big integers, builtins that run long) is bounded by the process around it (``runner``), which is the only
place scripts run in production. This module is that process's engine, and the save-time checker.

The script sees these names besides Starlark's own (``struct``, ``json``, ``fail`` ...):

- ``lookup(table, key)``: the strict map; an unknown key fails with the known keys, at the caller's line;
- ``log(message)``: a line for dry runs and the twin's trace;
- ``defer(reason)``: not an error: the twin is tried again later (a parent not synced yet);
- ``users.by_email(email)``, ``users.by_id(id)``, ``links.local(remote_id)``, ``links.remote(local_id)``:
  answered by the host (``Helpers``), read-only, with sanitized errors.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import starlark as sl

from twinbridge.scripting.contract import (  # re-exported: the engine's API names them
    CALLSTACK,
    DIRECTIONS,
    ENGINE,
    ENTRY_PARAMETERS,
    HELPER_CALLS,
    HOST_HELPERS,
    LOG_LINE_LIMIT,
    LOG_LINES,
    MESSAGE_LIMIT,
    SOFT_DEADLINE,
    SOURCE_LIMIT,
    Deferred,
    Diagnostic,
    Direction,
    HelperError,
    Helpers,
    NoHelpers,
    Outcome,
    ScriptError,
)

__all__ = [
    "CALLSTACK",
    "DIRECTIONS",
    "Deferred",
    "Diagnostic",
    "Direction",
    "ENGINE",
    "ENTRY_PARAMETERS",
    "HELPER_CALLS",
    "HOST_HELPERS",
    "HelperError",
    "Helpers",
    "LOG_LINES",
    "LOG_LINE_LIMIT",
    "MESSAGE_LIMIT",
    "NoHelpers",
    "Outcome",
    "SOFT_DEADLINE",
    "SOURCE_LIMIT",
    "Script",
    "ScriptError",
    "check",
    "filename_for",
    "from_starlark",
]

_PRELUDE = """
users = struct(by_email = _users_by_email, by_id = _users_by_id)
links = struct(local = _links_local, remote = _links_remote)
"""
_GLOBALS_EXTENSIONS = [sl.LibraryExtension.StructType, sl.LibraryExtension.Json, sl.LibraryExtension.Map,
                       sl.LibraryExtension.Filter]
_LOCATION = re.compile(r"-->\s*(?P<file>[^:\n]+):(?P<line>\d+):(?P<column>\d+)")
_MESSAGE = re.compile(r"^error: (?P<message>.*)$", re.MULTILINE)


def from_starlark(error: sl.StarlarkError, filename: str) -> ScriptError:
    """The interpreter's error as a ScriptError: the message line, the location in the script (not in a prelude)."""
    text = str(error)
    located = [m for m in _LOCATION.finditer(text) if m["file"].strip() == filename]
    line, column = (int(located[-1]["line"]), int(located[-1]["column"])) if located else (0, 0)
    messages = _MESSAGE.findall(text)
    return ScriptError(messages[-1] if messages else text.strip().splitlines()[-1] if text.strip() else "error",
                       line=line, column=column, frame=text)


class _Call:
    """The state of the call in progress, read by the helper trampolines bound into the module."""

    def __init__(self) -> None:
        self.helpers: Helpers = NoHelpers()
        self.logs: list[str] = []
        self.helper_calls = 0
        self.deferred: str | None = None

    def reset(self, helpers: Helpers) -> None:
        self.helpers, self.logs, self.helper_calls, self.deferred = helpers, [], 0, None

    def log(self, *parts: Any) -> None:
        if len(self.logs) < LOG_LINES:
            self.logs.append(" ".join(str(part) for part in parts)[:LOG_LINE_LIMIT])

    def lookup(self, table: Any, key: Any) -> Any:
        if not isinstance(table, dict):
            raise ValueError("lookup(table, key) needs a dict as its table")
        if key not in table:
            known = ", ".join(sorted(str(k) for k in table))
            raise ValueError(f"no mapping for {key!r} (known: {known})"[:MESSAGE_LIMIT])
        return table[key]

    def defer(self, reason: Any = "") -> None:
        self.deferred = str(reason)[:LOG_LINE_LIMIT] or "deferred"
        raise ValueError(f"deferred: {self.deferred}")

    def host(self, name: str) -> Callable[..., Any]:
        def helper(*args: Any) -> Any:
            self.helper_calls += 1
            if self.helper_calls > HELPER_CALLS:
                raise ValueError(f"more than {HELPER_CALLS} helper calls in one run")
            try:
                return self.helpers.call(name, list(args))
            except HelperError as refused:
                raise ValueError(f"{name}: {refused}"[:MESSAGE_LIMIT]) from None
            except Exception:  # never the host's own words: they may name paths or secrets
                raise ValueError(f"{name} failed") from None
        return helper


def _globals() -> sl.Globals:
    return sl.Globals.extended_by(_GLOBALS_EXTENSIONS)


def _module(call: _Call) -> sl.Module:
    module = sl.Module()
    module.add_callable("log", call.log)
    module.add_callable("lookup", call.lookup)
    module.add_callable("defer", call.defer)
    for name in HOST_HELPERS:
        module.add_callable("_" + name.replace(".", "_"), call.host(name))
    sl.eval(module, sl.parse("prelude.star", _PRELUDE), _globals())
    return module


def filename_for(direction: Direction) -> str:
    return f"{direction}.star"


class Script:
    """One compiled, frozen script: evaluated once, then called per item."""

    def __init__(self, source: str, direction: Direction) -> None:
        if len(source.encode()) > SOURCE_LIMIT:
            raise ScriptError(f"the script is larger than {SOURCE_LIMIT // 1024} KiB")
        self.direction = direction
        self.filename = filename_for(direction)
        self._call = _Call()
        module = _module(self._call)
        try:
            sl.eval_with(sl.EvalOptions(check_cancelled=_deadline(SOFT_DEADLINE), max_callstack_size=CALLSTACK),
                         module, sl.parse(self.filename, source), _globals())
        except sl.StarlarkError as error:
            raise from_starlark(error, self.filename) from None
        if not _defines(module, direction):
            entry = ENTRY_PARAMETERS[direction]
            raise ScriptError(f"the script must define the function {direction}({', '.join(entry)})")
        self._frozen = module.freeze()

    def call(self, args: list[Any], helpers: Helpers | None = None, *,
             deadline: float = SOFT_DEADLINE, check: Callable[[], bool] | None = None) -> Outcome:
        """Run the entry function on ``args`` (plain JSON data). ``check`` is an extra cancellation test (the
        worker's memory check); the soft ``deadline`` is seconds from now."""
        self._call.reset(helpers or NoHelpers())
        timed_out = _deadline(deadline)
        cancelled = (lambda: timed_out() or check()) if check else timed_out
        options = sl.EvalOptions(check_cancelled=cancelled, max_callstack_size=CALLSTACK)
        try:
            result = self._frozen.call_with(options, self.direction, *args)
        except sl.StarlarkError as error:
            failed = from_starlark(error, self.filename)
            if self._call.deferred is not None:
                raise Deferred(self._call.deferred, kind="defer", line=failed.line, column=failed.column,
                               frame=failed.frame) from None
            if "cancelled" in failed.message.lower():
                raise ScriptError(f"exceeded {deadline:g} s", kind="limit", line=failed.line,
                                  column=failed.column, frame=failed.frame) from None
            raise failed from None
        except (ValueError, RecursionError):  # the result comes back through JSON text, which refuses some values
            raise ScriptError("the result is not JSON data") from None
        return Outcome(value=result.value, logs=self._call.logs, helper_calls=self._call.helper_calls)


def _defines(module: sl.Module, name: str) -> bool:
    """True when the module defines function ``name`` (reading a function out of a module is not supported)."""
    try:
        return sl.eval(module, sl.parse("probe.star", f"type({name})"), _globals()) == "function"
    except sl.StarlarkError:
        return False


def _deadline(seconds: float) -> Callable[[], bool]:
    until = time.monotonic() + seconds
    return lambda: time.monotonic() > until


def check(source: str, direction: Direction) -> list[Diagnostic]:
    """Save-time diagnostics: parse errors, undefined names and top-level errors (by evaluating the module with
    helpers that answer nothing), a missing entry function (errors, which block publishing), and lint findings
    (warnings). Runs the module's top level, so in production it runs in the guarded worker too."""
    filename = filename_for(direction)
    if len(source.encode()) > SOURCE_LIMIT:
        return [Diagnostic("error", 1, 1, "too-large", f"the script is larger than {SOURCE_LIMIT // 1024} KiB")]
    try:
        ast = sl.parse(filename, source)
    except sl.StarlarkError as error:
        return [from_starlark(error, filename).as_diagnostic("parse")]
    found = [Diagnostic("warning", lint.resolved_location.span.begin.line + 1,  # the span counts from 0
                        lint.resolved_location.span.begin.column + 1, lint.short_name, lint.problem)
             for lint in ast.lint() if lint.short_name not in _QUIET_LINTS]
    try:
        Script(source, direction)
    except ScriptError as error:
        found.insert(0, error.as_diagnostic("entry" if error.line == 0 else "eval"))
    return found


_QUIET_LINTS = {"unused-argument"}  # an entry function need not use all three of its parameters

