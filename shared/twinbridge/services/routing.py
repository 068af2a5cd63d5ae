"""Where work goes, in two explicit tables: each kind of queued job to the use case that runs it (``handle``, the
sync worker's one dispatch point), and each kind of message a partner sends to its handler (``MESSAGE_KINDS``,
passed to the message channel by the peer API and the poller)."""

from __future__ import annotations

import functools
import threading
from collections import deque
from collections.abc import Callable, Mapping
from typing import assert_never

from twinbridge.errors import NotFoundError
from twinbridge.models.jobs import ApplyJob, DeliverJob, Job, TrackerChangeJob, UnlinkJob
from twinbridge.models.messages import NOTE_KIND, ROTATE_KIND
from twinbridge.models.replica import LINKED_KIND, REPLICA_KIND, UNLINKED_KIND
from twinbridge.observability import logger
from twinbridge.services import connections, messaging, rotation, sync_in, sync_out
from twinbridge.services.deps import Deps
from twinbridge.services.messaging import MessageHandler

MESSAGE_KINDS: Mapping[str, MessageHandler] = {
    NOTE_KIND: connections.receive_note,
    ROTATE_KIND: rotation.answer_polled_offer,
    REPLICA_KIND: sync_in.receive_replica,
    LINKED_KIND: sync_in.receive_linked,
    UNLINKED_KIND: sync_in.receive_unlinked,
}


def handle(deps: Deps, job: Job) -> None:
    """Run one queued job; raising makes the queue redeliver it (SQS: then the DLQ after maxReceiveCount)."""
    match job:
        case TrackerChangeJob(change=change):
            logger.append_keys(item=f"{change.tracker}:{change.item_id}")
            sync_out.handle_change(deps, change)
        case DeliverJob(connection_id=connection_id):
            try:
                messaging.deliver_outbox(deps, connection_id)
            except NotFoundError:
                logger.info("delivery dropped: the connection was deleted", extra={"connection_id": connection_id})
        case ApplyJob(connection_id=connection_id, twin_id=twin_id):
            sync_in.apply_pending(deps, connection_id, twin_id)
        case UnlinkJob(connection_id=connection_id, twin_id=twin_id):
            sync_in.unlink(deps, connection_id, twin_id)
        case _:
            assert_never(job)


class InlineJobQueue:
    """The sync queue in one process (unit and integration tests, benchmarks): a job sent while none is running
    runs at once; a job sent by a running job runs after it, as SQS would order them. A failing job is logged and
    kept in ``failed`` (SQS would retry it), never raised to the sender.

    ``hold()`` keeps jobs queued until ``run()`` is called, for callers that step through the pipeline.
    """

    def __init__(self, runner: Callable[[Job], None] | None = None) -> None:
        self.runner = runner
        self.failed: list[tuple[Job, Exception]] = []
        self.sent = 0
        self._held = False
        self._local = threading.local()
        self._waiting: deque[Job] = deque()

    def bind(self, deps: Deps) -> InlineJobQueue:
        """Run every job through ``handle`` with ``deps`` (the Deps this queue serves)."""
        self.runner = functools.partial(handle, deps)
        return self

    def send(self, job: Job) -> None:
        self.sent += 1
        if self._held:
            self._waiting.append(job)
            return
        pending = self._pending()
        pending.append(job)
        if getattr(self._local, "running", False):
            return  # the running job's loop picks it up next
        self._drain(pending)

    def hold(self) -> None:
        self._held = True

    def held(self, kind: str | None = None) -> int:
        """How many jobs (of one ``type`` when given) wait for ``run()``."""
        return sum(1 for job in self._waiting if kind is None or job.type == kind)

    def take(self, kind: str | None = None) -> list[Job]:
        """Remove and return the held jobs (of one ``type`` when given); the others stay."""
        taken = [job for job in self._waiting if kind is None or job.type == kind]
        self._waiting = deque(job for job in self._waiting if kind is not None and job.type != kind)
        return taken

    def run(self, kind: str | None = None) -> int:
        """Run the held jobs (of one ``type`` when given) and what they send; returns how many were held."""
        jobs = self.take(kind)
        pending = self._pending()
        pending.extend(jobs)
        self._drain(pending)
        return len(jobs)

    def _pending(self) -> deque[Job]:
        pending: deque[Job] | None = getattr(self._local, "pending", None)
        if pending is None:
            pending = self._local.pending = deque()
        return pending

    def _drain(self, pending: deque[Job]) -> None:
        if self.runner is None:
            raise RuntimeError("InlineJobQueue has no runner: bind(deps) it first")
        self._local.running = True
        try:
            while pending:
                job = pending.popleft()
                try:
                    self.runner(job)
                except Exception as exc:  # what SQS would retry; the test or benchmark looks at ``failed``
                    logger.warning("inline job failed", extra={"job": job.type, "error": str(exc)[:300]})
                    self.failed.append((job, exc))
        finally:
            self._local.running = False
