"""Secrets Manager: the node's tracker secret (a JSON document), read when first needed."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


def read_secret(arn: str, client: SecretsManagerClient | None = None) -> str:
    """The secret's current string value. Raises botocore's errors (access denied, not found) unchanged."""
    if client is None:
        import boto3

        client = boto3.client("secretsmanager")
    return client.get_secret_value(SecretId=arn)["SecretString"]
