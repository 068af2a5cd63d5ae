"""The composition root: builds the node's Deps once per process from settings (handlers call ``wiring()``)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from twinbridge.models.jobs import Job
from twinbridge.services.deps import Deps, JobQueue
from twinbridge.settings import settings

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from twinbridge.services.routing import InlineJobQueue


class SqsJobQueue:
    """The sync queue on SQS (FIFO): each job is sent with its own message group and de-duplication id."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, job: Job) -> None:
        self._client.send_message(QueueUrl=self._url, MessageBody=job.model_dump_json(), MessageGroupId=job.group,
                                  MessageDeduplicationId=job.dedup_id)


@functools.cache
def wiring() -> Deps:
    """The process-wide dependencies (cached; ``wiring.cache_clear()`` in tests).

    The sync queue is SQS when SYNC_QUEUE_URL is set, as it always is in Lambda (settings refuse to start without
    it there) and in the local runtime; without it (unit and integration tests) jobs run in this process.
    """
    import boto3

    from twinbridge.peers.partner import PeerClient

    config = settings()
    queue: JobQueue
    inline: InlineJobQueue | None = None
    if config.sync_queue_url:
        queue = SqsJobQueue(boto3.client("sqs"), config.sync_queue_url)
    else:
        from twinbridge.services.routing import InlineJobQueue

        queue = inline = InlineJobQueue()
    deps = Deps(
        settings=config,
        table=boto3.resource("dynamodb").Table(config.table_name),
        peer_client=PeerClient(timeout=config.peer_timeout_seconds, user_agent=f"twinbridge/{config.node_name}"),
        queue=queue,
    )
    if inline is not None:
        inline.bind(deps)
    return deps
