"""The sync queue on SQS (FIFO): each job is sent with its own message group and de-duplication id."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twinbridge.models.jobs import Job

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsJobQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def send(self, job: Job) -> None:
        self._client.send_message(
            QueueUrl=self._url, MessageBody=job.model_dump_json(), MessageGroupId=job.group,
            MessageDeduplicationId=job.dedup_id,
        )
