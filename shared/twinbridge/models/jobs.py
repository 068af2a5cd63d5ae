"""Everything the sync queue carries, as one discriminated union. Each job names its FIFO group (what must run in
order, one at a time) and its de-duplication id (what makes it the same job), under one rule: the group is the
SQS-safe form of its key and the de-duplication id the SHA-256 of its key."""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from twinbridge.models.base import FrozenModel
from twinbridge.models.change import ChangeEvent

_SQS_ID = re.compile(r"^[A-Za-z0-9!-/:-@\[-`{-~]{1,128}$")  # SQS: 1-128 alphanumerics and punctuation


def sqs_id(value: str) -> str:
    """``value`` when SQS accepts it as a group id, else its SHA-256 (64 hex characters)."""
    return value if _SQS_ID.match(value) else hashlib.sha256(value.encode()).hexdigest()


class _Job(FrozenModel):
    def group_key(self) -> str:
        raise NotImplementedError

    def dedup_key(self) -> str:
        raise NotImplementedError

    @property
    def group(self) -> str:
        return sqs_id(self.group_key())

    @property
    def dedup_id(self) -> str:
        return hashlib.sha256(self.dedup_key().encode()).hexdigest()


class TrackerChangeJob(_Job):
    """A change to one local tracker item: re-read it and send its replica to every connection of its project."""

    type: Literal["tracker.change"] = "tracker.change"
    change: ChangeEvent

    def group_key(self) -> str:  # one item's changes in order
        return f"{self.change.tracker}:{self.change.item_id}"

    def dedup_key(self) -> str:  # a tracker's redelivery of the same webhook
        return f"{self.change.tracker}:{self.change.delivery_id}"


class DeliverJob(_Job):
    """Push a connection's outbox to its (callable) partner, in order."""

    type: Literal["deliver"] = "deliver"
    connection_id: str
    reason: str = Field(default="", description="the message id that asked for it, or why (re-activation)")

    def group_key(self) -> str:  # one connection's messages in order
        return self.connection_id

    def dedup_key(self) -> str:
        return f"deliver:{self.connection_id}:{self.reason}"


class _TwinJob(_Job):
    connection_id: str
    twin_id: str

    def group_key(self) -> str:  # one twin's applies and unlinks in order, one at a time
        return f"twin:{self.connection_id}:{self.twin_id}"


class ApplyJob(_TwinJob):
    """Write a twin's received replica into the local tracker."""

    type: Literal["sync.apply"] = "sync.apply"
    seq: int = Field(default=0, ge=0, description="the replica to apply (de-duplication only: the newest is applied)")
    attempt: str = Field(default="", description="a manual retry's id: SQS would drop it as a duplicate otherwise")

    def dedup_key(self) -> str:
        return f"apply:{self.connection_id}:{self.twin_id}:{self.seq}:{self.attempt}"


class UnlinkJob(_TwinJob):
    """The partner deleted its item: mark our copy and forget the twin."""

    type: Literal["sync.unlink"] = "sync.unlink"
    reason: str = Field(default="", description="not used: the note on our copy never shows partner text")
    message_id: str = Field(default="", description="the partner message that asked for it")

    def dedup_key(self) -> str:
        return f"unlink:{self.connection_id}:{self.twin_id}:{self.message_id}"


Job = Annotated[TrackerChangeJob | DeliverJob | ApplyJob | UnlinkJob, Field(discriminator="type")]
JOBS: TypeAdapter[Job] = TypeAdapter(Job)


def parse_job(body: str | bytes) -> Job:
    """A queued job from its JSON body (raises pydantic's ValidationError naming what is wrong)."""
    return JOBS.validate_json(body)
