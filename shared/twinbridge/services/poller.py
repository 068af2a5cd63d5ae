"""The scheduled poller. First it runs the reconciliation scan of the node's tracker (changes a webhook may
have missed). On a private node it is then the only thing that talks to public partners: it fetches
pending acceptances, long-polls each active partner (one worker per connection) and retries pushes,
looping until shortly before its own deadline so the node reacts within about a second.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from twinbridge.errors import TwinbridgeError
from twinbridge.models.connection import Connection, ConnectionStatus, Origin, utcnow
from twinbridge.models.messages import PollRequest
from twinbridge.observability import logger
from twinbridge.services import invitations, messaging, reconcile, routing
from twinbridge.services.deps import Deps
from twinbridge.trackers.base import TrackerClient

SAFETY_MARGIN_SECONDS = 5.0
RESCAN_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0


@dataclass
class PollSummary:
    connections_polled: set[str] = field(default_factory=set)
    messages_applied: int = 0
    handshakes_completed: int = 0
    changes_queued: int = 0
    errors: int = 0


def should_poll(deps: Deps, conn: Connection) -> bool:
    """This node long-polls a partner when it is private and may call it."""
    return not deps.settings.node_public and conn.can_call_remote and conn.status == ConnectionStatus.ACTIVE


def awaits_acceptance(conn: Connection, now: datetime) -> bool:
    """An invitation this (private) node issued to a public partner, still valid: its acceptance is fetched."""
    expired = conn.invitation_expires_at is not None and now >= conn.invitation_expires_at
    return (conn.origin == Origin.INITIATOR and conn.status == ConnectionStatus.PENDING and conn.remote_url is not None
            and not expired)


def poll_once(deps: Deps, conn: Connection, wait_seconds: float) -> messaging.Received:
    """One long-poll round trip: ack what we applied, apply what arrives (within the partner's replica quota)."""
    request = PollRequest(connection_id=conn.id, ack_seq=conn.in_seq, wait_seconds=wait_seconds)
    answer = deps.partner(conn).poll(request, timeout=wait_seconds + deps.settings.peer_timeout_seconds)
    conn = deps.connections.get(conn.id)  # paused or changed while the poll was held open?
    if conn.status != ConnectionStatus.ACTIVE:
        return messaging.Received(conn.in_seq)  # not applied, not acknowledged: kept until active again
    return messaging.receive(deps, conn, answer.messages, routing.MESSAGE_KINDS)


class Poller:
    """Runs one scheduled invocation: until ``remaining_seconds()`` drops below the safety margin."""

    def __init__(self, deps: Deps, remaining_seconds: Callable[[], float]) -> None:
        self._deps = deps
        self._remaining = remaining_seconds
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers: dict[str, threading.Thread] = {}
        self.summary = PollSummary()

    def _time_left(self) -> float:
        return self._remaining() - SAFETY_MARGIN_SECONDS

    def run(self) -> PollSummary:
        client = self._reconcile()
        sweeping = client is not None and reconcile.needs_sweep(client.kind)
        public = self._deps.settings.node_public
        if public:
            self._scan()  # a public node only completes handshakes and retries pushes; partners poll it
            if not sweeping:
                return self.summary
        next_sweep = 0.0
        try:
            while self._time_left() > 0 and not self._stop.is_set():
                if not public:
                    self._scan()
                if sweeping and client is not None and time.monotonic() >= next_sweep:
                    self._sweep(client)
                    next_sweep = time.monotonic() + self._deps.settings.comment_sweep_seconds
                self._stop.wait(min(RESCAN_SECONDS, max(self._time_left(), 0)))
        finally:
            self._stop.set()
            for worker in list(self._workers.values()):
                worker.join(timeout=max(self._remaining(), 0.1))
        return self.summary

    def _reconcile(self) -> TrackerClient | None:
        """Once per invocation: queue tracker changes a webhook may have missed (see services.reconcile).
        Returns the tracker client (None when the tracker is not configured)."""
        try:
            client = self._deps.tracker
        except Exception as exc:  # an unreadable secret or incomplete credentials: say so, keep polling partners
            self.summary.errors += 1
            logger.warning(
                "reconciliation skipped: the tracker client cannot be built", extra={"error": str(exc)[:300]}
            )
            return None
        if client is None:
            return None
        projects = reconcile.scanned_projects(self._deps)
        if projects:
            result = reconcile.reconcile(self._deps, client, projects)
            self.summary.changes_queued += result.queued
            self.summary.errors += len(result.errors)
        return client

    def _sweep(self, client: TrackerClient) -> None:
        try:
            self.summary.changes_queued += reconcile.sweep_recent_twins(self._deps, client)
        except TwinbridgeError as exc:  # the next sweep tries again
            self.summary.errors += 1
            logger.warning("comment sweep failed", extra={"error": exc.message})

    def _scan(self) -> None:
        now = utcnow()
        for conn in self._deps.connections.list():
            if awaits_acceptance(conn, now):
                self._guarded(conn.id, self._fetch_acceptance, conn)
            elif conn.can_call_remote and conn.status == ConnectionStatus.ACTIVE:
                if should_poll(self._deps, conn):
                    self._ensure_worker(conn.id)
                else:
                    self._guarded(conn.id, messaging.deliver_outbox, self._deps, conn.id)

    def _fetch_acceptance(self, conn: Connection) -> None:
        if invitations.fetch_acceptance(self._deps, conn):
            self.summary.handshakes_completed += 1

    def _guarded(self, connection_id: str, func: Callable[..., object], *args: object) -> None:
        """One connection's step: whatever it raises is that connection's problem, never the run's."""
        try:
            func(*args)
        except TwinbridgeError as exc:
            self.summary.errors += 1
            logger.warning("poller step failed", extra={"connection_id": connection_id, "error": exc.message})
        except Exception:  # a bug, or a partner answer nobody foresaw: logged with its stack, the others go on
            self.summary.errors += 1
            logger.exception("poller step crashed", extra={"connection_id": connection_id})

    def _ensure_worker(self, connection_id: str) -> None:
        with self._lock:
            worker = self._workers.get(connection_id)
            if worker is not None and worker.is_alive():
                return
            worker = threading.Thread(
                target=self._work, args=(connection_id,), name=f"poll-{connection_id}", daemon=True
            )
            self._workers[connection_id] = worker
            worker.start()

    def _work(self, connection_id: str) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            wait = min(
                self._deps.settings.long_poll_seconds, self._time_left() - self._deps.settings.peer_timeout_seconds
            )
            if wait < 1.0:
                return
            try:
                conn = self._deps.connections.get(connection_id)
                if not should_poll(self._deps, conn):
                    return
                messaging.deliver_outbox(self._deps, connection_id)
                received = poll_once(self._deps, conn, wait)
                self.summary.messages_applied += received.acked - conn.in_seq
                self.summary.connections_polled.add(connection_id)
                backoff = 1.0
                if received.retry_after is not None and self._stop.wait(received.retry_after):
                    return  # over its replica quota: the partner keeps the rest until the window turns
            except TwinbridgeError as exc:
                self.summary.errors += 1
                logger.warning(
                    "long-poll failed",
                    extra={"connection_id": connection_id, "error": exc.message, "retry_in": backoff},
                )
                if self._stop.wait(backoff):
                    return
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            except Exception:  # keep polling other rounds; the failure is logged with its stack
                self.summary.errors += 1
                logger.exception("long-poll crashed", extra={"connection_id": connection_id})
                if self._stop.wait(backoff):
                    return
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
