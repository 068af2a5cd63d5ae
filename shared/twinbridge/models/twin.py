"""A twin: the link between a local item and its copy on the partner's side, per connection, with what each
side has already seen (sequence numbers, digests) and the id maps for comments and attachments."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from twinbridge.models.replica import ItemIdentity


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


class CreateClaim(BaseModel):
    """Fences the tracker create: claimed before, resolved after; ``marker`` finds an item made just before a crash."""

    model_config = ConfigDict(extra="forbid")
    marker: str
    claimed_at: datetime


class TwinError(BaseModel):
    model_config = ConfigDict(extra="forbid")
    direction: Literal["incoming", "outgoing"]
    reason: str
    at: datetime
    attempts: int = 1


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
    sent_fields: dict[str, str] = Field(default_factory=dict, description="field versions in the last replica sent")
    sent_field_seq: dict[str, int] = Field(
        default_factory=dict, description="seq of the replica that last changed each field"
    )
    received_fields: dict[str, str] = Field(
        default_factory=dict, description="field versions of the last replica applied"
    )
    last_sent_at: datetime | None = None
    last_received_at: datetime | None = None
    comment_map: dict[str, CommentLink] = Field(default_factory=dict)
    attachment_map: dict[str, AttachmentLink] = Field(default_factory=dict)
    staged: dict[str, StagedAttachment] = Field(default_factory=dict)
    claim: CreateClaim | None = None
    last_error: TwinError | None = None
    unlinked: str | None = Field(default=None, description="why the link ended (origin item deleted)")
    version: int = 0
    # The local item id whose index item is stored (the repository's bookkeeping: indexed when the local item is new).
    _indexed_local_id: str | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _drop_legacy_pending(cls, data: Any) -> Any:
        """Records written before 2026-12-01 held the pending replica; it lives in the twin's inbox item now."""
        if isinstance(data, dict) and "pending" in data:
            data = {name: value for name, value in data.items() if name != "pending"}
        return data

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
