"""The embedded AWS of a local node: moto in server mode on loopback, resources created from template.yaml."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass

from twinbridge_tools.local.template import resource

REGION = "eu-west-1"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalResources:
    endpoint: str
    table_name: str
    sync_queue_url: str
    dead_letter_queue_url: str
    bucket: str
    secret_arn: str  # the tracker secret (TrackerSecretArn)
    webhook_secret_arn: str  # the webhook secret (WebhookSecretArn), the only one the webhook function reads


class EmbeddedAws:
    """Starts moto's ThreadedMotoServer; boto3 reaches it through AWS_ENDPOINT_URL."""

    def __init__(self, port: int | None = None) -> None:
        from moto.server import ThreadedMotoServer

        self.port = port or free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per AWS call is noise
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def provision(
        self, node_name: str, tracker_secret: dict[str, str] | None = None, webhook_secret: dict[str, str] | None = None
    ) -> LocalResources:
        """Create what template.yaml declares, with the template's own key schema and queue settings, and the node's
        two secrets: the tracker credentials and the webhook secret."""
        import boto3

        session = boto3.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION)
        kwargs = {"endpoint_url": self.endpoint}
        table_spec = resource("NodeTable")["Properties"]
        table_name = f"{node_name}-NodeTable"
        dynamodb = session.client("dynamodb", **kwargs)
        dynamodb.create_table(
            TableName=table_name,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=table_spec["KeySchema"],
            AttributeDefinitions=table_spec["AttributeDefinitions"],
            GlobalSecondaryIndexes=table_spec.get("GlobalSecondaryIndexes", []),
        )
        dynamodb.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={
                "Enabled": True,
                "AttributeName": table_spec["TimeToLiveSpecification"]["AttributeName"],
            },
        )
        sqs = session.client("sqs", **kwargs)
        dlq_spec = resource("SyncDeadLetterQueue")["Properties"]
        dlq_url = sqs.create_queue(
            QueueName=f"{node_name}-SyncDeadLetterQueue.fifo",
            Attributes={"FifoQueue": "true", "MessageRetentionPeriod": str(dlq_spec["MessageRetentionPeriod"])},
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_spec = resource("SyncQueue")["Properties"]
        queue_url = sqs.create_queue(
            QueueName=f"{node_name}-SyncQueue.fifo",
            Attributes={
                "FifoQueue": "true",
                "ContentBasedDeduplication": str(queue_spec["ContentBasedDeduplication"]).lower(),
                "VisibilityTimeout": str(queue_spec["VisibilityTimeout"]),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": queue_spec["RedrivePolicy"]["maxReceiveCount"]}
                ),
            },
        )["QueueUrl"]
        bucket = f"{node_name.lower()}-attachments"
        session.client("s3", **kwargs).create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        secrets = session.client("secretsmanager", **kwargs)
        secret_arn = secrets.create_secret(
            Name=f"{node_name}/tracker-credentials",
            SecretString=json.dumps(tracker_secret or {}),  # TrackerCredentials JSON; {} = no tracker configured
        )["ARN"]
        webhook_secret_arn = secrets.create_secret(
            Name=f"{node_name}/webhook-secret",
            SecretString=json.dumps(webhook_secret or {}),  # WebhookCredentials JSON; {} = every delivery refused
        )["ARN"]
        return LocalResources(
            endpoint=self.endpoint,
            table_name=table_name,
            sync_queue_url=queue_url,
            dead_letter_queue_url=dlq_url,
            bucket=bucket,
            secret_arn=secret_arn,
            webhook_secret_arn=webhook_secret_arn,
        )
