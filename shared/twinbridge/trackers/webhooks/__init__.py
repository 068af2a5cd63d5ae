"""Tracker webhook payloads -> one normalized ChangeEvent (sans-I/O: no HTTP, no AWS)."""

from __future__ import annotations

from collections.abc import Mapping

from twinbridge.models.change import ChangeEvent
from twinbridge.trackers.webhooks import azure_devops, jira

__all__ = ["parse_webhook"]

PARSERS = {"jira-cloud": jira.parse, "jira-dc": jira.parse, "azure-devops": azure_devops.parse}


def parse_webhook(tracker: str, body: bytes, headers: Mapping[str, str] | None = None) -> ChangeEvent:
    """Normalize the raw ``body`` of a webhook from ``tracker`` (jira-cloud, jira-dc, azure-devops).

    Raises:
        InvalidRequestError: empty or non-JSON body.
        NotATrackerEventError: JSON that is not an event of this tracker (a REST response, a stray POST).
        UnsupportedEventError: a real event of a type that is not synced.
    """
    try:
        parser = PARSERS[tracker]
    except KeyError:
        raise ValueError(f"unknown tracker {tracker!r}; expected one of {', '.join(PARSERS)}") from None
    return parser(tracker, body, headers)
