"""Reconciliation scan: finds items changed since a stored watermark through the tracker's search (JQL/WIQL)
and queues them like webhook changes, so a lost webhook never means a lost change — and a tracker with no
webhooks configured works on the scan alone.

The search window starts ``OVERLAP`` before the watermark: Jira's JQL has minute precision and trackers'
search indexes lag a little. The versions (item id + ``updated``) queued inside that window are remembered,
so a re-found version is not queued again while a late-indexed one still is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from twinbridge.errors import TrackerError
from twinbridge.models.change import ChangeEvent, ChangeKind
from twinbridge.models.jobs import TrackerChangeJob
from twinbridge.observability import logger
from twinbridge.services.deps import Deps
from twinbridge.store.watermarks import ScanState, iso
from twinbridge.trackers.base import TrackerClient

OVERLAP = timedelta(minutes=2)
SCAN_SOURCE_EVENT = "twinbridge:reconcile"
SWEEP_SOURCE_EVENT = "twinbridge:sweep"


@dataclass
class ReconcileSummary:
    projects: int = 0
    queued: int = 0
    errors: dict[str, str] = field(default_factory=dict)


def scanned_projects(deps: Deps) -> list[str]:
    """The projects of this node's active and paused connections (a paused one keeps collecting changes)."""
    return sorted({conn.project for conn in deps.connections.list() if conn.project and conn.collects_changes})


def reconcile(
    deps: Deps, client: TrackerClient, projects: Iterable[str], now: datetime | None = None
) -> ReconcileSummary:
    """Queue every item changed since each project's watermark, then move the watermark to the newest seen."""
    now = now or datetime.now(UTC)
    summary = ReconcileSummary()
    for project in projects:
        summary.projects += 1
        try:
            summary.queued += _reconcile_project(deps, client, project, now)
        except TrackerError as exc:
            summary.errors[project] = exc.message
            logger.warning("reconciliation failed for a project", extra={"project": project, "error": exc.message})
    return summary


def _reconcile_project(deps: Deps, client: TrackerClient, project: str, now: datetime) -> int:
    state = deps.watermarks.get(client.kind, project)
    if state is None:  # first scan: changes from now on are synced, not the project's whole history
        deps.watermarks.save(client.kind, project, ScanState(since=now - OVERLAP))
        logger.info("reconciliation watermark initialised", extra={"project": project})
        return 0
    queued = 0
    for ref in client.search_changed_since(project, state.since - OVERLAP):
        version = iso(ref.updated)
        if state.seen.get(ref.id) == version:
            continue  # this version was queued by an earlier scan
        _queue_reread(
            deps, client, ref.id, ref.key, project, ref.updated, f"scan:{ref.id}:{version}", SCAN_SOURCE_EVENT
        )
        state.seen[ref.id] = version
        state.since = max(state.since, ref.updated)
        queued += 1
    state.prune(older_than=state.since - OVERLAP)
    if not deps.watermarks.save(client.kind, project, state):
        logger.info(
            "reconciliation state saved by an overlapping scan; its window is re-read next time",
            extra={"project": project},
        )
    if queued:
        logger.info("reconciliation queued changes", extra={"project": project, "queued": queued})
    return queued


def _queue_reread(
    deps: Deps,
    client: TrackerClient,
    item_id: str,
    item_key: str,
    project: str | None,
    at: datetime,
    delivery_id: str,
    source: str,
) -> None:
    """Queue an "updated" change for an item, so the sync worker re-reads it (it sends only if it changed)."""
    instance = getattr(client, "base_url", "") or client.kind
    deps.queue.send(
        TrackerChangeJob(
            change=ChangeEvent(
                tracker=client.kind,
                instance=instance,
                item_id=item_id,
                item_key=item_key,
                project=project,
                kind=ChangeKind.UPDATED,
                occurred_at=at,
                delivery_id=delivery_id,
                source_event=source,
            )
        )
    )


SWEEP_WINDOW = timedelta(hours=1)


def needs_sweep(tracker_kind: str) -> bool:
    """Azure DevOps sends no service-hook event when a comment is edited or deleted (and such edits do not
    change the work item's ChangedDate), so recently active twins are re-read on a short period instead."""
    return tracker_kind == "azure-devops"


def sweep_recent_twins(deps: Deps, client: TrackerClient, now: datetime | None = None) -> int:
    """Queue a re-read of every twin synced in the last hour; the engine sends only if something changed."""
    now = now or datetime.now(UTC)
    bucket = int(now.timestamp() // max(deps.settings.comment_sweep_seconds, 1))
    queued = 0
    for conn in deps.connections.list():
        if not conn.collects_changes:
            continue
        for twin in deps.twins.list(conn.id):
            last = max((t for t in (twin.last_sent_at, twin.last_received_at) if t is not None), default=None)
            if twin.local is None or last is None or now - last > SWEEP_WINDOW:
                continue
            _queue_reread(
                deps,
                client,
                twin.local.id,
                twin.local.key,
                conn.project,
                now,
                f"sweep:{twin.local.id}:{bucket}",
                SWEEP_SOURCE_EVENT,
            )
            queued += 1
    return queued
