"""The script-mode contract shared by the engine (which runs in the guarded worker) and the host side (runner,
sync engine, admin API): names, limits, errors and results. It imports no interpreter, so a Lambda process that
only hands scripts to the worker never loads one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from twinbridge.errors import TwinbridgeError

Direction = Literal["outgoing", "incoming"]
DIRECTIONS: tuple[Direction, ...] = ("outgoing", "incoming")
ENTRY_PARAMETERS = {"outgoing": ("item", "replica", "ctx"), "incoming": ("replica", "local", "ctx")}
HOST_HELPERS = ("users.by_email", "users.by_id", "links.local", "links.remote")
ENGINE = "starlark-pyo3@2026.1.3"

SOURCE_LIMIT = 64 * 1024
LOG_LINES = 50
LOG_LINE_LIMIT = 500
HELPER_CALLS = 50
CALLSTACK = 64
SOFT_DEADLINE = 0.2  # seconds of one call; the runner's hard deadline is above it
MESSAGE_LIMIT = 2000
MEMORY_MIB = 256  # the worker's address space above its size at start

class Helpers(Protocol):
    """What the host answers for a script: ``name`` is one of HOST_HELPERS. It raises only ``HelperError``."""

    def call(self, name: str, args: list[Any]) -> Any: ...


class HelperError(Exception):
    """A host helper's refusal, in words safe to show the script's author (no paths, no secrets, no internals)."""


class NoHelpers:
    """For checks and tests: every helper answers None."""

    def call(self, name: str, args: list[Any]) -> Any:
        return None


@dataclass(frozen=True)
class Diagnostic:
    """One problem found at save time, where it is (1-based line and column) and how bad."""

    severity: Literal["error", "warning"]
    line: int
    column: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.severity}: {self.message} [{self.code}]"


class ScriptError(TwinbridgeError):
    """A script that failed on one item: its error, a ``fail()``, a limit hit or an unmapped value. It fails that
    twin only, and says where: ``line``/``column`` (0 when unknown) and ``frame``, the code frame and traceback."""

    code = "script_error"

    def __init__(self, message: str, *, kind: str = "error", line: int = 0, column: int = 0,
                 frame: str = "") -> None:
        super().__init__(message[:MESSAGE_LIMIT])
        self.kind = kind  # error | limit | defer
        self.line = line
        self.column = column
        self.frame = frame[:4 * MESSAGE_LIMIT]
        self.rules_version = 0  # set by the sync engine: which published version of the rules failed

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "line": self.line, "column": self.column,
                "frame": self.frame}

    def as_diagnostic(self, code: str) -> Diagnostic:
        """This failure as a save-time finding (an error at its place, 1:1 when it has none)."""
        return Diagnostic("error", max(self.line, 1), max(self.column, 1), code, self.message)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScriptError:
        kind = str(data.get("kind", "error"))
        made = Deferred if kind == "defer" else cls
        return made(str(data.get("message", "")), kind=kind, line=int(data.get("line", 0)),
                    column=int(data.get("column", 0)), frame=str(data.get("frame", "")))


class Deferred(ScriptError):
    """``defer(reason)``: not an error yet: the twin is tried again later."""

    code = "script_deferred"


@dataclass
class Outcome:
    """A script call's result: ``value`` (plain JSON data), the ``log()`` lines and the host helper calls made."""

    value: Any
    logs: list[str] = field(default_factory=list)
    helper_calls: int = 0
