"""What every model shares: the strict base class for our own bodies, and the tracker and text-format names."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

TrackerKind = Literal["jira-cloud", "jira-dc", "azure-devops"]
TRACKER_KINDS: tuple[TrackerKind, ...] = get_args(TrackerKind)
TextFormat = Literal["adf", "wiki", "html"]
TEXT_FORMATS: tuple[TextFormat, ...] = get_args(TextFormat)
TEXT_FORMAT_BY_KIND: dict[TrackerKind, TextFormat] = {"jira-cloud": "adf", "jira-dc": "wiki", "azure-devops": "html"}


class StrictModel(BaseModel):
    """Our own bodies and records: an unknown field is an error (a typo or a newer peer), never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class FrozenModel(BaseModel):
    """Strict and immutable: values that are passed around and must not change on the way (changes, jobs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
