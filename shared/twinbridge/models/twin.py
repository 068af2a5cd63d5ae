"""A twin: the link between a local item and its copy on the partner's side, per connection, with what each
side has already seen (sequence numbers, digests) and the id maps for comments and attachments."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from twinbridge.models.replica import FIELDS, FieldClock, ItemIdentity, Role


class CommentLink(BaseModel):
    """A remote comment and the local comment we created for it (``digest`` of the body we wrote)."""

    model_config = ConfigDict(extra="forbid")
    local_id: str
    digest: str


class AttachmentLink(BaseModel):
    """A remote attachment and the local one standing for it. ``owned``: this side uploaded it for the partner
    (only those are ever deleted on the partner's word); False: an attachment this side already had, linked by hash."""

    model_config = ConfigDict(extra="forbid")
    local_id: str
    sha256: str
    owned: bool = True


class StagedAttachment(BaseModel):
    """A local attachment copied to this node's bucket for the partner to fetch."""

    model_config = ConfigDict(extra="forbid")
    object_key: str
    sha256: str
    size: int


class FieldState(BaseModel):
    """One synced field of a twin: who wrote its current value (``clock``) and that value as this side's outgoing
    rules see it (``digest``). The local value differing from ``digest`` is a local edit not yet counted."""

    model_config = ConfigDict(extra="forbid")
    clock: FieldClock = Field(default_factory=FieldClock)
    digest: str | None = None


class CreateClaim(BaseModel):
    """Fences the tracker create: claimed before, resolved after; ``marker`` finds an item made just before a crash."""

    model_config = ConfigDict(extra="forbid")
    marker: str
    claimed_at: datetime


class ScriptFailure(BaseModel):
    """Where a script-mode rule failed: the rules' version, the line and column in it, and the code frame."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["error", "limit", "defer"] = "error"
    rules_version: int = 0
    line: int = 0
    column: int = 0
    frame: str = Field(default="", max_length=8000)


class TwinError(BaseModel):
    model_config = ConfigDict(extra="forbid")
    direction: Literal["incoming", "outgoing"]
    reason: str
    at: datetime
    attempts: int = 1
    script: ScriptFailure | None = Field(default=None, description="set when the connection's rules failed")


class Twin(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    connection_id: str
    twin_id: str = Field(description="<origin side's short name>:<origin item id>; the same on both sides")
    origin: Literal["local", "remote"]
    local: ItemIdentity | None = None
    remote: ItemIdentity | None = None
    out_seq: int = 0
    in_seq: int = Field(default=0, description="highest replica seq applied from the partner")
    last_sent_digest: str | None = None
    fields: dict[str, FieldState] = Field(
        default_factory=dict, description="per synced field: who wrote the value both sides are to hold"
    )
    last_sent_at: datetime | None = None
    last_received_at: datetime | None = None
    comment_map: dict[str, CommentLink] = Field(default_factory=dict)
    attachment_map: dict[str, AttachmentLink] = Field(default_factory=dict)
    staged: dict[str, StagedAttachment] = Field(default_factory=dict)
    claim: CreateClaim | None = None
    comment_claims: dict[str, datetime] = Field(
        default_factory=dict, description="remote comment id -> when a post of its copy was claimed (not linked yet)"
    )
    attachment_claims: dict[str, datetime] = Field(
        default_factory=dict, description="remote attachment id -> when an upload of its copy was claimed"
    )
    last_error: TwinError | None = None
    rules_versions: dict[Literal["outgoing", "incoming"], int] = Field(
        default_factory=dict, description="script mode: the rules' versions that made the last replica sent and "
        "the last apply (0: the generated defaults)")
    unlinked: str | None = Field(default=None, description="why the link ended (origin item deleted)")
    version: int = 0
    # The local item id whose index item is stored (the repository's bookkeeping: indexed when the local item is new).
    _indexed_local_id: str | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _upgrade_legacy(cls, data: Any) -> Any:
        """Records written before 2026-12-01 held the pending replica (it lives in the twin's inbox item now) and
        kept field digests without clocks: the digests of the last replica sent become the field states."""
        if not isinstance(data, dict):
            return data
        legacy = {"pending", "sent_fields", "sent_field_seq", "received_fields"}
        if legacy.isdisjoint(data):
            return data
        sent = data.get("sent_fields") or {}
        upgraded = {name: value for name, value in data.items() if name not in legacy}
        upgraded.setdefault("fields", {name: {"digest": sent[name]} for name in FIELDS if name in sent})
        return upgraded

    @property
    def role(self) -> Role:
        """This side's part in the twin: ``origin`` when the item was created here, else ``copy``."""
        return "origin" if self.origin == "local" else "copy"

    def field(self, name: str) -> FieldState:
        return self.fields.get(name) or FieldState()

    def absorb(self, name: str, state: FieldState) -> None:
        """Record ``state`` for field ``name``; when this twin already knows a newer edit (a send or an apply saved
        meanwhile), its own state stands and only its clock takes in ``state``'s."""
        current = self.field(name)
        if current.clock.order(state.clock) in ("same", "older"):
            self.fields[name] = state
        else:
            self.fields[name] = current.model_copy(update={"clock": current.clock.merged(state.clock)})

    @property
    def indexed_local_id(self) -> str | None:
        return self._indexed_local_id

    @indexed_local_id.setter
    def indexed_local_id(self, value: str | None) -> None:
        self._indexed_local_id = value

    @property
    def local_comment_ids_from_partner(self) -> set[str]:
        return {link.local_id for link in self.comment_map.values()}

    @property
    def local_attachment_ids_from_partner(self) -> set[str]:
        return {link.local_id for link in self.attachment_map.values()}
