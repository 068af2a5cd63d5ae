"""Admin API bodies for sync status, errors and retries (the ``twinbridge sync`` commands)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twinbridge.models.replica import ItemIdentity
from twinbridge.models.twin import ScriptFailure, TwinError


class SyncRetryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    twin_ids: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=200, description="twins to retry")
    all: bool = Field(default=False, description="retry every twin with an error")
    connection_id: str | None = Field(default=None, max_length=128, description="only twins of this connection")

    @model_validator(mode="after")
    def _one_selection(self) -> SyncRetryRequest:
        if self.all and self.twin_ids:
            raise ValueError("give either twin_ids or all=true, not both")
        if not self.all and not self.twin_ids:
            raise ValueError("give the twin_ids to retry, or all=true for every twin with an error")
        return self


class ConnectionSyncSummaryItem(BaseModel):
    connection_id: str
    name: str
    status: str
    twins: int
    with_errors: int
    pending: int = Field(description="twins with a received replica not applied yet")
    queued_for_partner: int = Field(description="outbox messages not acknowledged by the partner (capped)")
    queued_for_partner_more: bool = Field(description="more are waiting than queued_for_partner counts")


class SyncSummaryResponse(BaseModel):
    connections: list[ConnectionSyncSummaryItem]


class TwinStatusItem(BaseModel):
    connection_id: str
    connection_name: str
    twin_id: str
    origin: Literal["local", "remote"]
    local: ItemIdentity | None
    remote: ItemIdentity | None
    last_sent_at: datetime | None
    last_received_at: datetime | None
    out_seq: int
    in_seq: int
    pending_seq: int | None = Field(description="seq of the received replica not applied yet")
    create_claimed_at: datetime | None = Field(description="a create of the local copy was started then")
    unlinked: str | None
    last_error: TwinError | None
    rules_versions: dict[str, int] = Field(default_factory=dict, description="script mode: the rules' versions "
                                           "that made the last replica sent (outgoing) and the last apply (incoming)")
    queued_for_partner: int = Field(description="the connection's outbox messages not acknowledged yet (capped)")
    queued_for_partner_more: bool


class TwinStatusResponse(BaseModel):
    item: str = Field(description="what was looked up")
    twins: list[TwinStatusItem]


class SyncErrorItem(BaseModel):
    connection_id: str
    twin_id: str
    local: ItemIdentity | None
    remote: ItemIdentity | None
    direction: Literal["incoming", "outgoing"]
    reason: str
    attempts: int
    at: datetime
    pending_seq: int | None
    script: ScriptFailure | None = None


class SyncErrorsResponse(BaseModel):
    errors: list[SyncErrorItem]


class RetryQueuedItem(BaseModel):
    connection_id: str
    twin_id: str
    action: Literal["apply", "change"] = Field(
        description="apply: the pending replica is applied again; change: the local item is sent again")
    status: Literal["queued", "failed"] = Field(
        description="queued for the sync worker, or failed before it could be queued (detail says why)")
    seq: int | None = Field(default=None, description="the pending replica's seq (apply)")
    item_key: str | None = Field(default=None, description="the local item (change)")
    delivery_id: str | None = Field(default=None, description="the queued change's delivery id (change)")
    detail: str = ""


class RetrySkippedItem(BaseModel):
    connection_id: str
    twin_id: str
    reason: str


class SyncRetryResponse(BaseModel):
    queued: list[RetryQueuedItem]
    skipped: list[RetrySkippedItem]
