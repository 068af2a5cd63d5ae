"""Script-mode rules: stored versions per connection and direction, their history, and the admin API bodies."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field, field_validator, model_validator

from twinbridge.models.base import StrictModel

RuleDirection = Literal["outgoing", "incoming"]
RULE_DIRECTIONS: tuple[RuleDirection, ...] = get_args(RuleDirection)
RuleStatus = Literal["draft", "published", "retired"]
RuleAction = Literal["saved", "published", "rolled back"]

SOURCE_LIMIT = 64 * 1024  # bytes of UTF-8; the same as scripting.engine.SOURCE_LIMIT (a test keeps them equal)
MAX_VERSION = 999_999  # the sort key holds six digits
MAX_NOTE_CHARS = 500
MAX_DIAGNOSTICS = 200
MAX_AUTHOR_CHARS = 256
GENERATED_VERSION = 0  # the generated default rules, never stored


def source_digest(source: str) -> str:
    """The hex SHA-256 of the source's UTF-8 bytes: what workers cache a compiled script by."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


class RuleDiagnostic(BaseModel):
    """One save-time finding, where it is (1-based). Errors block publishing, warnings do not."""

    severity: Literal["error", "warning"]
    line: int = Field(ge=1)
    column: int = Field(ge=1)
    code: str = Field(max_length=64)
    message: str = Field(max_length=4000)

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.severity}: {self.message}"


class RuleDraft(BaseModel):
    """What a save stores; the repository gives it the next version number."""

    connection_id: str = Field(max_length=128)
    direction: RuleDirection
    source: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    author: str = Field(max_length=MAX_AUTHOR_CHARS)
    created_at: dt.datetime
    note: str = Field(default="", max_length=MAX_NOTE_CHARS)
    based_on: int | None = Field(default=None, ge=0, le=MAX_VERSION)
    engine: str = Field(max_length=64)
    diagnostics: list[RuleDiagnostic] = Field(default_factory=list, max_length=MAX_DIAGNOSTICS)

    @property
    def errors(self) -> list[RuleDiagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[RuleDiagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]


class RuleVersion(RuleDraft):
    """One stored version of a connection's rules for one direction."""

    version: int = Field(ge=1, le=MAX_VERSION)
    status: RuleStatus = "draft"


class RuleVersionSummary(BaseModel):
    """A version without its source (history listings)."""

    version: int = Field(ge=1, le=MAX_VERSION)
    status: RuleStatus
    sha256: str
    author: str
    created_at: dt.datetime
    note: str
    based_on: int | None
    errors: int = Field(ge=0)
    warnings: int = Field(ge=0)


class RuleHistoryEntry(BaseModel):
    """What happened to a connection's rules: a save, a publish or a rollback; who and when."""

    connection_id: str
    direction: RuleDirection
    action: RuleAction
    version: int = Field(ge=0, description="the version saved or made active (0: the generated defaults)")
    previous: int | None = Field(default=None, description="the version active before a publish or rollback")
    author: str
    at: dt.datetime
    note: str = ""


class ActiveRules(BaseModel):
    """The active pointer of one direction: which version runs in production (0: the generated defaults)."""

    version: int = Field(ge=0, le=MAX_VERSION)
    sha256: str


# --- admin API bodies ---------------------------------------------------------------------------------------------
class SaveRulesRequest(StrictModel):
    source: str = Field(min_length=1, max_length=SOURCE_LIMIT, description="the Starlark script, at most 64 KiB")
    note: str = Field(default="", max_length=MAX_NOTE_CHARS, description="what changed, for the history")
    based_on: int | None = Field(default=None, ge=0, le=MAX_VERSION,
                                 description="the version this edit started from (default: the active one)")

    @field_validator("source")
    @classmethod
    def _size(cls, value: str) -> str:
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > SOURCE_LIMIT:
            raise ValueError(f"the script is {size} bytes; at most {SOURCE_LIMIT} (64 KiB)")
        return value


class PublishRulesRequest(StrictModel):
    version: int | None = Field(default=None, ge=1, le=MAX_VERSION,
                                description="the version to make active (default: the newest, when it is a draft)")


class RollbackRulesRequest(StrictModel):
    version: int = Field(ge=0, le=MAX_VERSION,
                         description="a version that was published before (0: the generated defaults)")


class RulesView(BaseModel):
    """One version as admins see it, or the generated defaults (version 0, status 'generated')."""

    connection_id: str
    direction: RuleDirection
    version: int = Field(ge=0, le=MAX_VERSION)
    status: Literal["draft", "published", "retired", "generated"]
    active: bool = Field(description="this is the version that runs in production for this direction")
    active_version: int = Field(ge=0, description="the version that runs now (0: the generated defaults)")
    connection_mode: Literal["basic", "script"] = Field(
        description="the rules take effect only while the connection is in script mode")
    source: str
    sha256: str
    author: str | None = None
    created_at: dt.datetime | None = None
    note: str = ""
    based_on: int | None = None
    engine: str
    diagnostics: list[RuleDiagnostic] = Field(default_factory=list)
    requeued: int = Field(default=0, ge=0, description="twins that had failed on the rules before this publish and "
                          "were queued again")


class RulesResponse(BaseModel):
    rules: RulesView


class RulesHistoryResponse(BaseModel):
    connection_id: str
    direction: RuleDirection
    active_version: int = Field(ge=0, description="the version that runs now (0: the generated defaults)")
    versions: list[RuleVersionSummary] = Field(description="newest first")
    next_before: int | None = Field(default=None, description="pass as ?before= for older versions")
    events: list[RuleHistoryEntry] = Field(description="saves, publishes and rollbacks, newest first")


class DryRunRequest(StrictModel):
    """Run one version of the rules on a real item without writing anything anywhere."""

    item: str | None = Field(default=None, min_length=1, max_length=255,
                             description="a local item key or id: the item sent (outgoing) or written (incoming)")
    twin_id: str | None = Field(default=None, min_length=1, max_length=200,
                                description="incoming: the twin whose pending replica is applied (or use item)")
    version: Literal["active", "draft"] | Annotated[int, Field(ge=0, le=MAX_VERSION)] = Field(
        default="active", description="'active', 'draft' or a version number (0: the generated defaults)")
    replica: dict[str, Any] | None = Field(
        default=None, description="incoming: a replica to apply instead of the pending one (as the partner sends it)")

    @model_validator(mode="after")
    def _something_to_run_on(self) -> DryRunRequest:
        if self.item is None and self.twin_id is None:
            raise ValueError("name the item (item) or the twin (twin_id) to run the rules on")
        if self.replica is not None and len(json.dumps(self.replica, default=str)) > 350_000:
            raise ValueError("the replica is larger than 350000 bytes of JSON")
        return self


class DryRunRequestView(BaseModel):
    """A tracker request the sync would send, built by the real client and not sent."""

    method: str
    url: str
    content_type: str
    body: Any = None


class DryRunResponse(BaseModel):
    """What the rules would do: outgoing, the replica (and whether it would be sent); incoming, what the rules asked
    for and the exact tracker requests. Nothing is sent to the tracker or the partner."""

    connection_id: str
    direction: RuleDirection
    version: int = Field(ge=0, description="the rules' version that ran (0: the generated defaults)")
    item: dict[str, Any] | None = Field(default=None, description="the local item (id, key, url); None: not created")
    shared: bool | None = Field(default=None, description="outgoing: the rules share this item")
    would_send: bool | None = Field(default=None, description="outgoing: the replica differs from the last one sent")
    replica: dict[str, Any] | None = Field(default=None, description="outgoing: the replica; incoming: the input")
    writes: dict[str, Any] | None = Field(default=None, description="incoming: what the rules asked to write")
    requests: list[DryRunRequestView] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    losses: list[str] = Field(default_factory=list, description="rich text the target format cannot hold")
    logs: list[str] = Field(default_factory=list, description="the script's log() lines")
    error: dict[str, Any] | None = Field(default=None,
                                         description="the script error: kind, message, line, column, frame")
